package difftest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hactl/hactl/internal/testproc"
)

// RedisServerPath is the reference server.
const RedisServerPath = "/usr/bin/redis-server"

// EngineBinEnv names an environment variable that, when set, points at a
// prebuilt hactl-engine binary to use instead of building ./cmd/hactl-engine.
const EngineBinEnv = "HACTL_ENGINE_BIN"

// logCap bounds the end of a server's log that a failing test prints.
const logCap = 1 << 20

// startTimeout bounds the wait for a started server to answer PING.
const startTimeout = 15 * time.Second

// Server is a redis-server or hactl-engine child process (a testproc.Proc)
// listening on a loopback port, its log in the test's temporary directory.
// It is stopped by the test's cleanup.
type Server struct {
	// Name is "redis" or "engine".
	Name string
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Args are the whole command line the process was started with
	// (testproc's port, bind and dir first, the extra arguments last).
	Args []string

	proc *testproc.Proc
}

// Log returns what the process has written to stdout and stderr so far.
func (s *Server) Log() string { return s.proc.Log() }

// Dial opens a raw connection to the server; it is closed at test end.
func (s *Server) Dial(t testing.TB) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.Addr)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RequireRedis skips the test when redis-server is not installed, except when
// the environment has CI=true, where a missing reference is a failure.
func RequireRedis(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(RedisServerPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference server missing (CI=true): %v", err)
		}
		t.Skipf("reference server missing: %v", err)
	}
}

// StartRedis starts /usr/bin/redis-server on a free port with persistence off
// and DEBUG enabled; extraArgs are appended (redis-server `--name value`
// form).
func StartRedis(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	RequireRedis(t)
	return start(t, "redis", RedisServerPath, extraArgs)
}

// StartEngine builds ./cmd/hactl-engine once per test binary (or uses
// $HACTL_ENGINE_BIN) and starts it with the same arguments as StartRedis.
// When the engine has no source yet the test is skipped, except under CI=true.
func StartEngine(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	bin, err := EngineBinary()
	if errors.Is(err, ErrNoEngine) && os.Getenv("CI") != "true" {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	return start(t, "engine", bin, extraArgs)
}

// ErrNoEngine means ./cmd/hactl-engine has no Go source to build.
var ErrNoEngine = errors.New("difftest: cmd/hactl-engine has no source yet")

// engineBuild caches the one build of the engine per test binary; the
// sync.Once makes it safe for parallel tests.
var engineBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// EngineBinary returns the path of the hactl-engine binary, building it on the
// first call. Call RemoveEngineBinary from TestMain to delete the build.
func EngineBinary() (string, error) {
	engineBuild.once.Do(func() {
		if p := os.Getenv(EngineBinEnv); p != "" {
			engineBuild.path = p
			return
		}
		engineBuild.dir, engineBuild.path, engineBuild.err = buildEngine()
	})
	return engineBuild.path, engineBuild.err
}

// RemoveEngineBinary deletes the directory of a binary built by EngineBinary.
func RemoveEngineBinary() {
	if engineBuild.dir != "" {
		_ = os.RemoveAll(engineBuild.dir)
	}
}

func buildEngine() (dir, path string, err error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", "", errors.New("difftest: not inside a go module")
	}
	root := filepath.Dir(gomod)
	srcs, _ := filepath.Glob(filepath.Join(root, "cmd", "hactl-engine", "*.go"))
	if len(srcs) == 0 {
		return "", "", ErrNoEngine
	}
	dir, err = os.MkdirTemp("", "difftest-engine-")
	if err != nil {
		return "", "", fmt.Errorf("make build dir: %w", err)
	}
	path = filepath.Join(dir, "hactl-engine")
	build := exec.Command("go", "build", "-o", path, "./cmd/hactl-engine")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("go build ./cmd/hactl-engine: %w\n%s", err, out)
	}
	return dir, path, nil
}

func start(t testing.TB, name, bin string, extraArgs []string) *Server {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--save", "", "--appendonly", "no", "--enable-debug-command", "yes"}, extraArgs...)
	var lastErr error
	for range 3 {
		port, err := testproc.FreePort()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := &testproc.Proc{Name: name, Bin: bin, Dir: dir, Port: port, Args: args, Ready: ping, ReadyTimeout: startTimeout}
		// Each try starts a fresh log: an earlier try's "in use" must not
		// decide this one.
		_ = os.Remove(p.LogPath())
		lastErr = p.Start(context.Background())
		if lastErr == nil {
			s := &Server{Name: name, Addr: p.Addr(), Args: p.CommandArgs(), proc: p}
			t.Cleanup(func() { s.stop(t) })
			return s
		}
		if !strings.Contains(p.Log(), "in use") {
			t.Fatalf("%s %q: %v", name, p.CommandArgs(), lastErr)
		}
	}
	t.Fatalf("%s: no free port after 3 tries: %v", name, lastErr)
	return nil
}

func ping(ctx context.Context, addr string) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := Dial(pctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Do(pctx, []byte("PING"))
	// While the dataset loads, ask again on the same connection: a new
	// connection per attempt would shift the client ids the scripts
	// compare (HELLO, CLIENT ID).
	for err == nil && strings.HasPrefix(string(r.Raw), "-LOADING") {
		select {
		case <-pctx.Done():
			return pctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		r, err = c.Do(pctx, []byte("PING"))
	}
	if err != nil {
		return err
	}
	// With requirepass the server is ready when it asks for AUTH.
	if string(r.Raw) != "+PONG\r\n" && !strings.HasPrefix(string(r.Raw), "-NOAUTH ") {
		return fmt.Errorf("PING answered %q", r.Raw)
	}
	return nil
}

// stop kills the server at test end; a server that exited by itself
// during a passing test fails it.
func (s *Server) stop(t testing.TB) {
	if s.proc.Crashed() && !t.Failed() {
		t.Errorf("%s exited during the test (%s)\nlog:\n%s", s.Name, s.proc.ExitState(), testproc.Tail(s.Log(), logCap))
		return
	}
	s.proc.Kill()
	if t.Failed() {
		t.Logf("%s %s log:\n%s", s.Name, s.Addr, testproc.Tail(s.Log(), logCap))
	}
}
