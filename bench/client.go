package bench

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/hactl/hactl/engine/difftest"
)

// ErrNotLoopback is returned for an address outside 127.0.0.0/8 and ::1:
// the benchmark never sends traffic anywhere else.
var ErrNotLoopback = errors.New("bench: not a loopback address")

// ErrorReply is a RESP error reply ("ERR unknown command ...").
type ErrorReply string

func (e ErrorReply) Error() string { return string(e) }

// splitLoopback splits addr into host and port and checks that the host is
// a loopback IP address (a name such as localhost is refused too).
func splitLoopback(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", "", fmt.Errorf("address %q: %w", addr, ErrNotLoopback)
	}
	return host, port, nil
}

// Dial opens a raw RESP connection (engine/difftest's client) to addr,
// which must be a loopback address.
func Dial(ctx context.Context, addr string) (*difftest.Conn, error) {
	if _, _, err := splitLoopback(addr); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	return difftest.Dial(ctx, addr)
}

// Do opens a connection to addr, sends one command, and returns its reply;
// an error reply is returned as an ErrorReply error.
func Do(ctx context.Context, addr string, args ...string) (difftest.Reply, error) {
	c, err := Dial(ctx, addr)
	if err != nil {
		return difftest.Reply{}, err
	}
	defer c.Close()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	r, err := c.Do(ctx, bargs...)
	if err != nil {
		return r, fmt.Errorf("%s: %w", args[0], err)
	}
	if r.Type == '-' {
		return r, ErrorReply(r.Str)
	}
	return r, nil
}
