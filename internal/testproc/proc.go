// Package testproc runs a Redis-protocol server (redis-server or
// hactl-engine) as a child process for tests and benchmarks: on a loopback
// port, with its data directory outliving it, so that it can be killed with
// SIGKILL, stopped with SIGTERM and started again on the same port,
// directory and arguments.
//
// Pieces:
//   - Proc: one process; Launch, Start (launch and wait until Ready
//     answers), Kill, Stop, WaitExit, Alive, Crashed, PID, Log,
//     CommandArgs.
//   - FreePort: a free TCP port on 127.0.0.1.
//   - Tail: the end of a log, cut at a line start.
//
// The process gets Pdeathsig SIGKILL: it dies with the test binary.
package testproc

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
)

// DefaultReadyTimeout bounds the wait of Start when Proc.ReadyTimeout is 0.
const DefaultReadyTimeout = 60 * time.Second

// Proc is one server process. Its stdout and stderr are appended to
// Dir/NAME.log across restarts, each run starting with a "==== NAME start"
// line. It is not safe for concurrent use, except Alive, Addr and Log.
type Proc struct {
	// Name labels the process ("redis", "engine", "m", "r1", ...); it
	// names the log file.
	Name string
	// Bin is the executable.
	Bin string
	// Dir is the working and data directory (--dir).
	Dir string
	// Port is the TCP port on 127.0.0.1 (--port, --bind 127.0.0.1).
	Port int
	// Args follow the port, bind and dir arguments.
	Args []string
	// Ready reports whether the server at addr serves requests (for
	// example PING answered +PONG, not -LOADING). Start polls it.
	Ready func(ctx context.Context, addr string) error
	// ReadyTimeout bounds Start's wait; 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration

	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	killed bool          // Kill was called on the current run
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

// CommandArgs is the whole argument list Launch runs Bin with: port, bind
// and dir, then Args (a later argument overrides an earlier one).
func (p *Proc) CommandArgs() []string {
	return append([]string{"--port", strconv.Itoa(p.Port), "--bind", "127.0.0.1", "--dir", p.Dir}, p.Args...)
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
	cmd := exec.Command(p.Bin, p.CommandArgs()...)
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
	p.cmd, p.done, p.killed = cmd, done, false
	return nil
}

// Start launches the process and waits until Ready answers without error.
// On failure the process is killed and the error carries the log's end.
func (p *Proc) Start(ctx context.Context) error {
	if err := p.Launch(); err != nil {
		return err
	}
	if err := p.WaitReady(ctx); err != nil {
		p.Kill()
		return fmt.Errorf("start %s: %w\nlog:\n%s", p.Name, err, Tail(p.Log(), 4000))
	}
	return nil
}

// WaitReady polls Ready until it succeeds, the process exits or the ready
// timeout passes. Without Ready it only checks that the process runs.
func (p *Proc) WaitReady(ctx context.Context) error {
	timeout := p.ReadyTimeout
	if timeout == 0 {
		timeout = DefaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if !p.Alive() {
			return fmt.Errorf("exited before it was ready: %v", p.ExitState())
		}
		if p.Ready == nil {
			return nil
		}
		last := p.Ready(ctx, p.Addr())
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready within %v: %w", timeout, last)
		case <-time.After(5 * time.Millisecond):
		}
	}
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

// Crashed reports whether the current run exited without Kill or Stop (a
// panic, a fatal error): the tests' "no crash" check.
func (p *Proc) Crashed() bool { return p.done != nil && !p.Alive() && !p.killed }

// Kill sends SIGKILL to the current run and waits for it to exit.
func (p *Proc) Kill() {
	if !p.Alive() {
		return
	}
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM (a clean shutdown) and waits up to timeout, then
// kills. It reports whether the process exited by itself.
func (p *Proc) Stop(timeout time.Duration) bool {
	if !p.Alive() {
		return true
	}
	p.killed = true
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

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail is the end of a log, at most n bytes, starting at a line.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		i += j + 1
	}
	return "..." + s[i:]
}
