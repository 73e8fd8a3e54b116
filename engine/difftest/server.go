package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServerPath is the reference server.
const RedisServerPath = "/usr/bin/redis-server"

// EngineBinEnv names an environment variable that, when set, points at a
// prebuilt hactl-engine binary to use instead of building ./cmd/hactl-engine.
const EngineBinEnv = "HACTL_ENGINE_BIN"

// startTimeout bounds the wait for a started server to answer PING.
const startTimeout = 15 * time.Second

// logCap bounds the captured log of one server.
const logCap = 1 << 20

// Server is a redis-server or hactl-engine child process listening on a
// loopback port. It is stopped by the test's cleanup.
type Server struct {
	// Name is "redis" or "engine".
	Name string
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Args are the command line arguments the process was started with.
	Args []string

	cmd    *exec.Cmd
	log    *capBuffer
	done   chan struct{}
	killed bool
}

// Log returns what the process has written to stdout and stderr so far.
func (s *Server) Log() string { return s.log.String() }

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
	var lastLog string
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--enable-debug-command", "yes",
		}
		args = append(args, extraArgs...)
		s := &Server{
			Name: name,
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Args: args,
			log:  &capBuffer{limit: logCap},
			done: make(chan struct{}),
		}
		s.cmd = exec.Command(bin, args...)
		s.cmd.Dir = dir
		s.cmd.Stdout = s.log
		s.cmd.Stderr = s.log
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		go func() { _ = s.cmd.Wait(); close(s.done) }()
		t.Cleanup(func() { s.stop(t) })
		err = s.waitReady()
		if err == nil {
			return s
		}
		lastLog = s.Log()
		s.kill()
		if !strings.Contains(lastLog, "in use") {
			t.Fatalf("%s %q: %v\nlog:\n%s", name, args, err, lastLog)
		}
	}
	t.Fatalf("%s: no free port after 3 tries\nlog:\n%s", name, lastLog)
	return nil
}

// waitReady polls with PING until the server answers +PONG or exits.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-s.done:
			return fmt.Errorf("exited before answering PING (%v)", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("no +PONG within %v: last error %w", startTimeout, lastErr)
		case <-time.After(10 * time.Millisecond):
		}
		lastErr = ping(ctx, s.Addr)
		if lastErr == nil {
			return nil
		}
	}
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

func (s *Server) kill() {
	s.killed = true
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

func (s *Server) stop(t testing.TB) {
	if s.killed {
		return
	}
	select {
	case <-s.done:
		if !t.Failed() {
			t.Errorf("%s exited during the test (%v)\nlog:\n%s", s.Name, s.cmd.ProcessState, s.Log())
			return
		}
	default:
		s.kill()
	}
	if t.Failed() {
		t.Logf("%s %s log:\n%s", s.Name, s.Addr, s.Log())
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// capBuffer is an io.Writer that keeps the first limit bytes written to it.
type capBuffer struct {
	mu    sync.Mutex
	limit int
	buf   bytes.Buffer // guarded by mu
	lost  int          // guarded by mu
}

func (b *capBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - b.buf.Len()
	if room < len(p) {
		b.lost += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return n, nil
}

func (b *capBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lost > 0 {
		return fmt.Sprintf("%s\n[%d bytes dropped]", b.buf.String(), b.lost)
	}
	return b.buf.String()
}
