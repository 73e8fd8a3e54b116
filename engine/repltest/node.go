package repltest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/internal/testproc"
	"github.com/redis/go-redis/v9"
)

// RedisServerPath is the reference server (Debian package).
const RedisServerPath = "/usr/bin/redis-server"

// ReadyTimeout bounds the wait for a started node to answer PING.
const ReadyTimeout = 30 * time.Second

// Node is one redis-server or hactl-engine process listening on
// 127.0.0.1 with persistence off unless Args turn it on. Its output goes
// to Dir/NAME.log (see testproc.Proc for the process methods). It is not
// safe for concurrent use, except Client, Do, Info and Alive.
type Node struct {
	*testproc.Proc
	// Password is sent with AUTH by Client when not empty (requirepass).
	Password string
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
		n := &Node{Proc: &testproc.Proc{Name: name, Bin: bin, Dir: dir, Port: port,
			Args:         append([]string{"--save", "", "--appendonly", "no"}, args...),
			ReadyTimeout: ReadyTimeout}}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--requirepass" {
				n.Password = args[i+1]
			}
		}
		n.Ready = n.ping
		if last = n.Start(ctx); last == nil {
			return n, nil
		}
		if !strings.Contains(n.Log(), "in use") {
			return nil, last
		}
	}
	return nil, last
}

// ping succeeds when the node answers PING (with AUTH when it has a
// password).
func (n *Node) ping(ctx context.Context, _ string) error {
	c := n.Client()
	defer c.Close()
	return c.Ping(ctx).Err()
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
func FreePort() (int, error) { return testproc.FreePort() }

// ErrTimeout is returned by the Wait helpers when the condition did not
// hold in time.
var ErrTimeout = errors.New("repltest: timed out")

// Tail is the end of a log, at most n bytes, starting at a line.
func Tail(s string, n int) string { return testproc.Tail(s, n) }
