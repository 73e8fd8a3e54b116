package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Server is one redis-server-compatible process listening on 127.0.0.1
// without persistence. Start it with StartServer and always call Stop.
type Server struct {
	// Name labels the server in logs and tables ("redis", "hactl").
	Name string
	// Bin is the binary that was started.
	Bin string
	// Port is the TCP port on 127.0.0.1.
	Port int

	cmd   *exec.Cmd
	log   *os.File
	done  chan struct{} // closed when the process has exited
	err   error         // exit status; valid once done is closed
	probe func(context.Context, string) error
}

// ServerArgs returns the redis-server-style arguments both servers get:
// loopback only, no RDB snapshots, no AOF.
func ServerArgs(port int) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
	}
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// free when FreePort returns; another process may take it before it is used.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartServer starts bin with ServerArgs(port) in dir, writes its output to
// dir/NAME.log, and waits up to readyTimeout for it to answer PING.
// The process is killed if the benchmark process dies (Pdeathsig).
func StartServer(ctx context.Context, name, bin, dir string, port int, readyTimeout time.Duration) (*Server, error) {
	return startServer(ctx, name, bin, dir, port, readyTimeout, ServerArgs(port), ping)
}

// startServer is StartServer with the arguments and the readiness probe.
func startServer(ctx context.Context, name, bin, dir string, port int, readyTimeout time.Duration, args []string,
	probe func(context.Context, string) error) (*Server, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	s := &Server{Name: name, Bin: bin, Port: port, cmd: cmd, log: logf, done: make(chan struct{}), probe: probe}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, readyTimeout); err != nil {
		s.Stop(5 * time.Second)
		return nil, fmt.Errorf("start %s: %w (log: %s)", name, err, logf.Name())
	}
	return s, nil
}

// Addr is the server's address, "127.0.0.1:PORT".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
}

// PID is the server's process id.
func (s *Server) PID() int {
	return s.cmd.Process.Pid
}

// Alive reports whether the process has not exited.
func (s *Server) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// ExitErr is the process's exit status once it has exited, else nil.
func (s *Server) ExitErr() error {
	if s.Alive() {
		return nil
	}
	return s.err
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		if !s.Alive() {
			return fmt.Errorf("exited before answering PING: %v", s.err)
		}
		lastErr = s.probe(ctx, s.Addr())
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING within %v: %w", timeout, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, addr string) error {
	r, err := Do(ctx, addr, "PING")
	if err != nil {
		return err
	}
	if r.Str != "PONG" {
		return fmt.Errorf("ping answered %q", r.Str)
	}
	return nil
}

// Stop sends SIGTERM, waits up to timeout for the process to exit, then
// sends SIGKILL and waits for it. It is safe to call more than once.
func (s *Server) Stop(timeout time.Duration) {
	defer s.log.Close()
	if !s.Alive() {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
		return
	case <-time.After(timeout):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
