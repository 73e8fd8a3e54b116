package difftest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// DefaultReplyTimeout bounds the wait for one reply when the context has no
// earlier deadline.
const DefaultReplyTimeout = 10 * time.Second

// Conn is a raw RESP client connection. It is not safe for concurrent use.
type Conn struct {
	nc net.Conn
	br *bufio.Reader
}

// Dial connects to a loopback address such as "127.0.0.1:6379".
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// A large buffer lets ReadSlice accept any reply line the servers send.
	return &Conn{nc: nc, br: bufio.NewReaderSize(nc, 1<<20)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// EncodeCommand returns args as a RESP multibulk request.
func EncodeCommand(args [][]byte) []byte {
	b := make([]byte, 0, 16+16*len(args))
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// Do sends args as one multibulk request and reads one reply.
func (c *Conn) Do(ctx context.Context, args ...[]byte) (Reply, error) {
	if err := c.Send(ctx, EncodeCommand(args)); err != nil {
		return Reply{}, err
	}
	return c.Read(ctx)
}

// Send writes raw bytes to the server.
func (c *Conn) Send(ctx context.Context, raw []byte) error {
	if err := c.nc.SetWriteDeadline(deadline(ctx)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if _, err := c.nc.Write(raw); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	return nil
}

// Read reads exactly one reply.
func (c *Conn) Read(ctx context.Context) (Reply, error) {
	if err := c.nc.SetReadDeadline(deadline(ctx)); err != nil {
		return Reply{}, fmt.Errorf("set read deadline: %w", err)
	}
	r, err := ReadReply(c.br)
	if err != nil {
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
	return r, nil
}

// PeerState tells what the server did after its last reply.
type PeerState string

// Values of PeerState.
const (
	PeerOpen      PeerState = "open"
	PeerClosed    PeerState = "closed"
	PeerSentExtra PeerState = "sent-extra-bytes"
)

// CheckClosed waits up to wait for the server to close the connection. It
// returns PeerClosed on EOF or reset, PeerOpen when nothing arrived, and
// PeerSentExtra when unexpected bytes arrived.
func (c *Conn) CheckClosed(wait time.Duration) (PeerState, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return "", fmt.Errorf("set read deadline: %w", err)
	}
	_, err := c.br.ReadByte()
	switch {
	case err == nil:
		return PeerSentExtra, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return PeerOpen, nil
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), isReset(err):
		return PeerClosed, nil
	default:
		return "", fmt.Errorf("check close: %w", err)
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultReplyTimeout)
}
