package persisttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hactl/hactl/engine/difftest"
)

// ReadyTimeout bounds the wait for a started server to answer PING with
// +PONG (a server answering -LOADING is not ready yet).
const ReadyTimeout = 60 * time.Second

// Proc is a redis-server or hactl-engine process whose data directory
// outlives it: it can be killed with SIGKILL, stopped with SIGTERM and
// started again on the same port, directory and arguments. Its output is
// appended to Dir/NAME.log across restarts. It is not safe for concurrent
// use.
type Proc struct {
	// Name labels the process ("redis" or "engine"); it names the log file.
	Name string
	// Bin is the executable.
	Bin string
	// Dir is the working and data directory (--dir).
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Args are the arguments after the port, bind and dir ones.
	Args []string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// NewProc describes a process listening on a free loopback port; nothing
// is started yet.
func NewProc(name, bin, dir string, args ...string) (*Proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &Proc{Name: name, Bin: bin, Dir: dir, Port: port, Args: args}, nil
}

// Addr is "127.0.0.1:PORT".
func (p *Proc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// LogPath is the file the process's stdout and stderr go to.
func (p *Proc) LogPath() string { return filepath.Join(p.Dir, p.Name+".log") }

// Log returns the log written so far (every run of the process).
func (p *Proc) Log() string {
	b, err := os.ReadFile(p.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// PID is the process id of the current run, 0 when never started.
func (p *Proc) PID() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Launch starts the process without waiting for it to be ready.
func (p *Proc) Launch() error {
	if p.Alive() {
		return fmt.Errorf("start %s: already running (pid %d)", p.Name, p.PID())
	}
	logf, err := os.OpenFile(p.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	fmt.Fprintf(logf, "==== %s start %s\n", p.Name, time.Now().Format(time.RFC3339Nano))
	args := append([]string{"--port", strconv.Itoa(p.Port), "--bind", "127.0.0.1", "--dir", p.Dir}, p.Args...)
	cmd := exec.Command(p.Bin, args...)
	cmd.Dir = p.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s (%s): %w", p.Name, p.Bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// Start launches the process and waits until it answers PING with +PONG.
func (p *Proc) Start(ctx context.Context) error {
	if err := p.Launch(); err != nil {
		return err
	}
	if err := p.WaitReady(ctx); err != nil {
		p.Kill()
		return fmt.Errorf("start %s: %w\nlog:\n%s", p.Name, err, tail(p.Log(), 4000))
	}
	return nil
}

// Alive reports whether the current run has not exited.
func (p *Proc) Alive() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// WaitReady polls with PING until the answer is +PONG, the process exits
// or ReadyTimeout passes.
func (p *Proc) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	var last error
	for {
		if !p.Alive() {
			return fmt.Errorf("exited before answering PING: %v", p.ExitState())
		}
		last = ping(ctx, p.Addr())
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no +PONG within %v: %w", ReadyTimeout, last)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := difftest.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Do(ctx, []byte("PING"))
	if err != nil {
		return err
	}
	if r.Type != '+' || r.Str != "PONG" {
		return fmt.Errorf("ping answered %q", r.Raw)
	}
	return nil
}

// Kill sends SIGKILL to the current run and waits for it to exit.
func (p *Proc) Kill() {
	if !p.Alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM (a clean shutdown) and waits up to timeout, then
// kills. It reports whether the process exited by itself.
func (p *Proc) Stop(timeout time.Duration) bool {
	if !p.Alive() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		p.Kill()
		return false
	}
}

// WaitExit waits up to timeout for the current run to exit by itself and
// returns its exit code (-1 when killed by a signal).
func (p *Proc) WaitExit(timeout time.Duration) (int, error) {
	if p.done == nil {
		return 0, errors.New("never started")
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running after %v", p.Name, timeout)
	}
}

// ExitState describes how the last run ended ("" while it runs).
func (p *Proc) ExitState() string {
	if p.Alive() || p.cmd == nil || p.cmd.ProcessState == nil {
		return ""
	}
	return p.cmd.ProcessState.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail is the end of a log, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		i += j + 1
	}
	return "..." + s[i:]
}
