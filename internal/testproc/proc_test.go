package testproc

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the server under test: with TESTPROC_SERVER=1 the
// test binary takes --port/--bind/--dir like redis-server, then listens
// (or, with --exit N, prints a line and exits with N).
func TestMain(m *testing.M) {
	if os.Getenv("TESTPROC_SERVER") == "1" {
		os.Exit(server(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func server(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	port := fs.Int("port", 0, "")
	bind := fs.String("bind", "", "")
	dir := fs.String("dir", "", "")
	exit := fs.Int("exit", -1, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if wd, _ := os.Getwd(); wd != *dir {
		fmt.Printf("wrong working dir %q, want %q\n", wd, *dir)
		return 2
	}
	if *exit >= 0 {
		fmt.Println("fatal: told to exit")
		return *exit
	}
	l, err := net.Listen("tcp", net.JoinHostPort(*bind, fmt.Sprint(*port)))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("listening")
	for {
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		_, _ = c.Write([]byte("+PONG\r\n"))
		c.Close()
	}
}

func dialReady(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func newProc(t *testing.T, args ...string) *Proc {
	t.Helper()
	t.Setenv("TESTPROC_SERVER", "1")
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{Name: "srv", Bin: bin, Dir: t.TempDir(), Port: port, Args: args,
		Ready: dialReady, ReadyTimeout: 10 * time.Second}
	t.Cleanup(p.Kill)
	return p
}

func TestStartKillRestart(t *testing.T) {
	ctx := context.Background()
	p := newProc(t)
	if p.Alive() || p.PID() != 0 || p.Crashed() {
		t.Fatalf("before start: alive=%v pid=%d crashed=%v", p.Alive(), p.PID(), p.Crashed())
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Launch(); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Launch: %v", err)
	}
	first := p.PID()
	p.Kill()
	if p.Alive() || p.Crashed() {
		t.Fatalf("after Kill: alive=%v crashed=%v", p.Alive(), p.Crashed())
	}
	if err := p.Start(ctx); err != nil {
		t.Fatalf("restart on the same port: %v", err)
	}
	if p.PID() == first {
		t.Fatal("restart kept the old pid")
	}
	if !p.Stop(5 * time.Second) {
		t.Fatal("Stop had to kill")
	}
	if got := strings.Count(p.Log(), "==== srv start"); got != 2 {
		t.Fatalf("log has %d start lines, want 2:\n%s", got, p.Log())
	}
	if p.ExitState() == "" {
		t.Fatal("no exit state after Stop")
	}
}

func TestStartFails(t *testing.T) {
	p := newProc(t, "--exit", "3")
	err := p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") ||
		!strings.Contains(err.Error(), "fatal: told to exit") {
		t.Fatalf("Start of a failing server: %v", err)
	}
	if !p.Crashed() {
		t.Fatal("a server that exited by itself is not reported crashed")
	}
	if code, err := p.WaitExit(time.Second); err != nil || code != 3 {
		t.Fatalf("WaitExit = %d, %v; want 3", code, err)
	}
}

func TestNotReady(t *testing.T) {
	p := newProc(t)
	p.ReadyTimeout = 200 * time.Millisecond
	p.Ready = func(context.Context, string) error { return fmt.Errorf("still loading") }
	err := p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not ready within 200ms: still loading") {
		t.Fatalf("Start: %v", err)
	}
	if p.Alive() {
		t.Fatal("a server that never got ready was left running")
	}
}

func TestWaitExitNeverStarted(t *testing.T) {
	p := &Proc{Name: "x"}
	if _, err := p.WaitExit(time.Millisecond); err == nil {
		t.Fatal("WaitExit of a never-started process succeeded")
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"line1\nline2\nline3\n", 8, "...line3\n"},
		{"abcdefgh", 3, "...fgh"},
	} {
		if got := Tail(tc.in, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestCommandArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--port 7 --bind 127.0.0.1 --dir /d"},
		{[]string{"--save", "", "--dir", "/e"}, "--port 7 --bind 127.0.0.1 --dir /d --save  --dir /e"},
	} {
		p := &Proc{Name: "x", Bin: "/bin/x", Dir: "/d", Port: 7, Args: tc.args}
		if got := strings.Join(p.CommandArgs(), " "); got != tc.want {
			t.Errorf("CommandArgs() with Args %q = %q, want %q", tc.args, got, tc.want)
		}
	}
}
