package lab

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/inventory"
)

// ping sends PING to addr:port and reports the first reply line.
func ping(addr string, port string) (string, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, port), 500*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// redisService is a redis-server node engine on the production port, the
// stand-in for what hactl up installs.
func redisService(h Host) Service {
	return Service{Name: "hactl-engine", Argv: []string{"/usr/bin/redis-server",
		"--bind", h.Address, "--port", "6379", "--save", "", "--appendonly", "no", "--dir", h.Root}}
}

// forkingService leaves a child behind its main process: Kill and Stop
// must end the whole process group.
func forkingService() Service {
	return Service{Name: "forker", Argv: []string{"/bin/sh", "-c", "sleep 300 & exec sleep 301"}}
}

func wantState(t *testing.T, l *Lab, node string, want NodeState) {
	t.Helper()
	sts, err := l.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Host.Name == node {
			if s.State != want {
				t.Fatalf("%s state = %s (%s), want %s", node, s.State, s.Detail, want)
			}
			return
		}
	}
	t.Fatalf("%s not in status", node)
}

func wantPong(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := ping(addr, "6379")
		if err == nil && got == "+PONG" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PING %s:6379 = %q, %v; want +PONG", addr, got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func wantNoAnswer(t *testing.T, addr string) {
	t.Helper()
	if got, err := ping(addr, "6379"); err == nil {
		t.Fatalf("PING %s:6379 = %q; want no answer", addr, got)
	}
}

// groupsOf returns the process groups of every service of every node.
func groupsOf(l *Lab) []procID {
	var ids []procID
	for i := range l.st.Nodes {
		svcs, _ := listServices(&l.st.Nodes[i])
		for _, s := range svcs {
			if p := serviceProc(&l.st.Nodes[i], s.Name); p.Pid != 0 {
				ids = append(ids, p)
			}
		}
	}
	return ids
}

func TestProcessLab(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("needs redis-server (apt-get install redis-server)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "lab")
	var progress strings.Builder
	t0 := time.Now()
	l, err := Up(ctx, Spec{Driver: DriverProcess, StateDir: dir, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Down(context.Background(), dir, nil) })
	t.Logf("up in %s", time.Since(t0))

	wantAddrs := []string{"127.0.0.81", "127.0.0.82", "127.0.0.83"}
	if len(l.Hosts) != 3 {
		t.Fatalf("hosts = %d, want 3", len(l.Hosts))
	}
	for i, h := range l.Hosts {
		if h.Address != wantAddrs[i] || h.Name != NodeName(i) || h.Transport != TransportLocal {
			t.Errorf("host %d = %+v", i, h)
		}
		if fi, err := os.Stat(h.Root); err != nil || !fi.IsDir() {
			t.Errorf("%s root %s: %v", h.Name, h.Root, err)
		}
	}
	inv, _, err := inventory.Load(l.Inventory)
	if err != nil {
		t.Fatalf("inventory %s does not parse: %v", l.Inventory, err)
	}
	if inv.Provider != inventory.ProviderLab || len(inv.Hosts) != 3 || inv.Hosts[2].Address != "127.0.0.83" {
		t.Errorf("inventory = %+v", inv)
	}
	if fi, err := os.Stat(l.PasswordFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v %v", fi, err)
	}

	for _, h := range l.Hosts {
		if err := l.StartService(ctx, h.Name, redisService(h)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.StartService(ctx, "db01", forkingService()); err != nil {
		t.Fatal(err)
	}
	for _, a := range wantAddrs {
		wantPong(t, a)
	}
	// Same definition: left alone (same pid).
	before := serviceProc(&l.st.Nodes[0], "hactl-engine")
	if err := l.StartService(ctx, "db01", redisService(l.Hosts[0])); err != nil {
		t.Fatal(err)
	}
	if after := serviceProc(&l.st.Nodes[0], "hactl-engine"); after != before {
		t.Errorf("StartService with the same definition restarted it: %v -> %v", before, after)
	}

	// Another process sees the same lab.
	l2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := l2.Hosts[1].Address; got != "127.0.0.82" {
		t.Errorf("Open: db02 address %s", got)
	}

	// Power cut: every process of the node, children included, at once.
	forker := serviceProc(&l.st.Nodes[0], "forker")
	members := groupMembers(forker)
	if len(members) < 2 {
		t.Fatalf("forker group has %v, want the shell's child too", members)
	}
	t1 := time.Now()
	if err := l.Kill(ctx, "db01"); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill in %s", time.Since(t1))
	wantNoAnswer(t, "127.0.0.81")
	wantState(t, l, "db01", StateStopped)
	if left := groupMembers(forker); len(left) != 0 {
		t.Errorf("after kill, forker group still has %v", left)
	}
	wantPong(t, "127.0.0.82")
	log1, _ := os.ReadFile(serviceFile(&l.st.Nodes[0], "hactl-engine", ".log"))
	if strings.Contains(string(log1), "ready to exit") {
		t.Errorf("kill let redis shut down cleanly: not a power cut")
	}
	if err := l.StartService(ctx, "db01", redisService(l.Hosts[0])); err == nil {
		t.Errorf("StartService on a stopped node: want an error")
	}

	t1 = time.Now()
	if err := l.Start(ctx, "db01"); err != nil {
		t.Fatal(err)
	}
	t.Logf("start in %s", time.Since(t1))
	wantPong(t, "127.0.0.81")
	wantState(t, l, "db01", StateRunning)
	if svcs, _ := l.Services("db01"); len(svcs) != 2 || !svcs[0].Running || !svcs[1].Running {
		t.Errorf("after start, services = %+v", svcs)
	}

	// Clean stop: redis gets SIGTERM and says goodbye.
	if err := l.Stop(ctx, "db02"); err != nil {
		t.Fatal(err)
	}
	wantNoAnswer(t, "127.0.0.82")
	wantState(t, l, "db02", StateStopped)
	log2, _ := os.ReadFile(serviceFile(&l.st.Nodes[1], "hactl-engine", ".log"))
	if !strings.Contains(string(log2), "ready to exit") {
		t.Errorf("stop did not shut redis down cleanly; log:\n%s", log2)
	}
	if err := l.Start(ctx, "db02"); err != nil {
		t.Fatal(err)
	}
	wantPong(t, "127.0.0.82")

	// Up again resumes: a killed node comes back.
	if err := l.Kill(ctx, "db03"); err != nil {
		t.Fatal(err)
	}
	if _, err := Up(ctx, Spec{Driver: DriverProcess, StateDir: dir, Engine: "redis"}); err == nil || !strings.Contains(err.Error(), "with engine hactl") {
		t.Errorf("Up with another engine on an existing lab: %v, want a refusal", err)
	}
	if _, err := Up(ctx, Spec{Driver: DriverProcess, StateDir: dir}); err != nil {
		t.Fatal(err)
	}
	wantPong(t, "127.0.0.83")

	// StopService removes the definition.
	if err := l.StopService(ctx, "db01", "forker"); err != nil {
		t.Fatal(err)
	}
	if svcs, _ := l.Services("db01"); len(svcs) != 1 {
		t.Errorf("after StopService, services = %+v", svcs)
	}

	if err := l.Kill(ctx, "db09"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("Kill(db09) = %v, want ErrUnknownNode", err)
	}

	testIsolate(t, ctx, l)

	groups := groupsOf(l)
	t1 = time.Now()
	if err := Down(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("down in %s", time.Since(t1))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left behind: %v", err)
	}
	for _, g := range groups {
		if m := groupMembers(g); len(m) != 0 {
			t.Errorf("processes left behind: %v", m)
		}
	}
	for _, a := range wantAddrs {
		for _, port := range labPorts {
			if err := portFree(a, port); err != nil {
				t.Errorf("after down: %v", err)
			}
		}
	}
	if err := Down(ctx, dir, nil); err != nil {
		t.Errorf("second down: %v", err)
	}
	if !strings.Contains(progress.String(), "inventory:") {
		t.Errorf("progress lacks the inventory line:\n%s", progress.String())
	}
}

// dialFrom connects from source address src to dst.
func dialFrom(src, dst string) error {
	d := net.Dialer{Timeout: 500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", dst)
	if err != nil {
		return err
	}
	return c.Close()
}

// testIsolate cuts db03 off with iptables (root only) and heals it.
func testIsolate(t *testing.T, ctx context.Context, l *Lab) {
	if err := canFirewall(); err != nil {
		if err := l.Isolate(ctx, "db03"); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Isolate without root = %v, want ErrUnsupported", err)
		}
		return
	}
	if err := l.Isolate(ctx, "db03"); err != nil {
		t.Fatal(err)
	}
	wantState(t, l, "db03", StateIsolated)
	wantNoAnswer(t, "127.0.0.83")
	wantPong(t, "127.0.0.82")
	// From its own address the node reaches itself, and nobody else.
	if err := dialFrom("127.0.0.83", "127.0.0.83:6379"); err != nil {
		t.Errorf("db03 -> db03 while isolated: %v", err)
	}
	if err := dialFrom("127.0.0.83", "127.0.0.82:6379"); err == nil {
		t.Errorf("db03 -> db02 while isolated: connected")
	}
	if err := l.Heal(ctx, "db03"); err != nil {
		t.Fatal(err)
	}
	wantState(t, l, "db03", StateRunning)
	wantPong(t, "127.0.0.83")
	out, _ := exec.Command("iptables", "-w", "-S", "OUTPUT").CombinedOutput()
	if strings.Contains(string(out), "hactl-lab") {
		t.Errorf("rules left after heal:\n%s", out)
	}
	// Down heals too.
	if err := l.Isolate(ctx, "db02"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, _ := exec.Command("iptables", "-w", "-S", "OUTPUT").CombinedOutput()
		if strings.Contains(string(out), "hactl-lab") {
			t.Errorf("rules left after down:\n%s", out)
		}
	})
}

func TestUpRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Up(context.Background(), Spec{Driver: DriverProcess, StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Up in a non-empty dir = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("user file touched: %v", err)
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		sp   Spec
		want string // substring of the error; "" for none
	}{
		{"defaults", Spec{}, ""},
		{"too many", Spec{Nodes: 10}, "1 to 9"},
		{"negative", Spec{Nodes: -1}, "1 to 9"},
		{"engine", Spec{Engine: "valkey"}, "use hactl or redis"},
		{"prefix long", Spec{Prefix: "hactllab"}, "at most 7"},
		{"bridge chars", Spec{Bridge: "br_0"}, "bridge name"},
		{"public subnet", Spec{Driver: DriverNspawn, Subnet: "8.8.8"}, "private IPv4"},
		{"bad subnet", Spec{Driver: DriverNspawn, Subnet: "10.77"}, "private IPv4"},
		{"process: another loopback subnet", Spec{Subnet: "127.0.9"}, ""},
		{"process: not loopback", Spec{Subnet: "10.77.0"}, "loopback /24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := tc.sp
			if sp.Driver == "" {
				sp.Driver = DriverProcess
			}
			sp.fill()
			err := sp.validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		in    string
		state byte
		pgrp  int
		start uint64
		bad   bool
	}{
		{in: "42 (redis-server) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 4 0 12345 0 0", state: 'S', pgrp: 42, start: 12345},
		{in: "7 (a b) (c)) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0", state: 'Z', pgrp: 9, start: 99},
		{in: "7 no-paren S", bad: true},
		{in: "7 (x) S 1 2", bad: true},
	} {
		got, err := parseProcStat(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseProcStat(%q) = %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.state != tc.state || got.pgrp != tc.pgrp || got.start != tc.start {
			t.Errorf("parseProcStat(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
