package repltest

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

	"github.com/redis/go-redis/v9"
)

// RedisServerPath is the reference server (Debian package).
const RedisServerPath = "/usr/bin/redis-server"

// ReadyTimeout bounds the wait for a started node to answer PING.
const ReadyTimeout = 30 * time.Second

// Node is one redis-server or hactl-engine process listening on
// 127.0.0.1 with persistence off unless Args turn it on. Its output goes
// to Dir/NAME.log. It is not safe for concurrent use, except Client, Do,
// Info and Alive.
type Node struct {
	// Name labels the node in logs ("m", "r1", ...); it names the log file.
	Name string
	// Bin is the executable.
	Bin string
	// Dir is the working and data directory.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Password is sent with AUTH by Client when not empty (requirepass).
	Password string
	// Args follow the port, bind, dir and no-persistence arguments.
	Args []string

	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	killed bool          // Kill was called
}

// StartNode starts bin as Name in dir with args on a free loopback port
// and waits until it answers PING. It retries on another port when the
// chosen one was taken meanwhile.
func StartNode(ctx context.Context, name, bin, dir string, args ...string) (*Node, error) {
	var last error
	for range 3 {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		n := &Node{Name: name, Bin: bin, Dir: dir, Port: port, Args: args}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--requirepass" {
				n.Password = args[i+1]
			}
		}
		if last = n.start(ctx); last == nil {
			return n, nil
		}
		if !strings.Contains(n.Log(), "in use") {
			return nil, last
		}
	}
	return nil, last
}

func (n *Node) start(ctx context.Context) error {
	logf, err := os.OpenFile(n.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	args := append([]string{"--port", strconv.Itoa(n.Port), "--bind", "127.0.0.1", "--dir", n.Dir,
		"--save", "", "--appendonly", "no"}, n.Args...)
	cmd := exec.Command(n.Bin, args...)
	cmd.Dir = n.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s (%s): %w", n.Name, n.Bin, err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(n.done)
	if err := n.waitReady(ctx); err != nil {
		n.Kill()
		return fmt.Errorf("start %s: %w\nlog:\n%s", n.Name, err, Tail(n.Log(), 2000))
	}
	return nil
}

func (n *Node) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	c := n.Client()
	defer c.Close()
	for {
		if !n.Alive() {
			return fmt.Errorf("exited before answering PING: %v", n.cmd.ProcessState)
		}
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no PONG within %v: %w", ReadyTimeout, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Addr is "127.0.0.1:PORT".
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// LogPath is the file the process's stdout and stderr go to.
func (n *Node) LogPath() string { return filepath.Join(n.Dir, n.Name+".log") }

// Log returns everything the process has logged so far.
func (n *Node) Log() string {
	b, err := os.ReadFile(n.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// PID is the process id, 0 before Start.
func (n *Node) PID() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Alive reports whether the process runs.
func (n *Node) Alive() bool {
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// ExitState describes how the process ended ("" while it runs).
func (n *Node) ExitState() string {
	if n.Alive() || n.cmd == nil || n.cmd.ProcessState == nil {
		return ""
	}
	return n.cmd.ProcessState.String()
}

// Crashed reports whether the process exited without Kill (a panic, a
// fatal error): the tests' "no crash" check.
func (n *Node) Crashed() bool { return n.done != nil && !n.Alive() && !n.killed }

// Kill sends SIGKILL and waits for the process to exit.
func (n *Node) Kill() {
	if !n.Alive() {
		return
	}
	n.killed = true
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// Client returns a go-redis client of database 0 (RESP2, no retries, so
// that an error is seen as it happens). Close it when done.
func (n *Node) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.Addr(), Password: n.Password, Protocol: 2,
		DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		MaxRetries: -1, PoolSize: 8})
}

// Do sends one command on a short-lived connection and returns its reply.
func (n *Node) Do(ctx context.Context, args ...any) (any, error) {
	c := n.Client()
	defer c.Close()
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		return v, fmt.Errorf("%s %v: %w", n.Name, args[0], err)
	}
	return v, nil
}

// ReplicaOf sends REPLICAOF host port, or REPLICAOF NO ONE when host is
// empty.
func (n *Node) ReplicaOf(ctx context.Context, host string, port int) error {
	args := []any{"REPLICAOF", host, strconv.Itoa(port)}
	if host == "" {
		args = []any{"REPLICAOF", "NO", "ONE"}
	}
	_, err := n.Do(ctx, args...)
	return err
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

// ErrTimeout is returned by the Wait helpers when the condition did not
// hold in time.
var ErrTimeout = errors.New("repltest: timed out")

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
