package persisttest

import (
	"context"
	"fmt"
	"time"

	"github.com/hactl/hactl/engine/difftest"
	"github.com/hactl/hactl/internal/testproc"
)

// ReadyTimeout bounds the wait for a started server to answer PING with
// +PONG (a server answering -LOADING is not ready yet).
const ReadyTimeout = 60 * time.Second

// Proc is a redis-server or hactl-engine process whose data directory
// outlives it (see testproc.Proc).
type Proc = testproc.Proc

// NewProc describes a process listening on a free loopback port, ready
// when it answers PING with +PONG; nothing is started yet.
func NewProc(name, bin, dir string, args ...string) (*Proc, error) {
	port, err := testproc.FreePort()
	if err != nil {
		return nil, err
	}
	return &Proc{Name: name, Bin: bin, Dir: dir, Port: port, Args: args,
		Ready: ping, ReadyTimeout: ReadyTimeout}, nil
}

// ping succeeds when the server at addr answers PING with +PONG.
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
