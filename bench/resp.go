package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// ioTimeout bounds every read and write of Conn when the context has no
// earlier deadline.
const ioTimeout = 30 * time.Second

// Reply is one decoded RESP reply. Kind is the RESP type byte
// ('+', '-', ':', '$', '*'); Null is set for a null bulk string or array.
type Reply struct {
	Kind  byte
	Str   string
	Int   int64
	Elems []Reply
	Null  bool
}

// ErrorReply is a RESP error reply ("-ERR unknown command ...").
type ErrorReply string

func (e ErrorReply) Error() string { return string(e) }

// Conn is a minimal RESP2 client over one TCP connection, enough to load
// keys and read INFO. It is not safe for concurrent use.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

// Dial connects to addr, which must be a loopback address.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	if _, _, err := splitLoopback(addr); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10)}, nil
}

// ErrNotLoopback is returned for an address outside 127.0.0.0/8 and ::1:
// the benchmark never sends traffic anywhere else.
var ErrNotLoopback = errors.New("bench: not a loopback address")

// splitLoopback splits addr into host and port and checks that the host is
// a loopback IP address.
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

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

func (c *Conn) setDeadline(ctx context.Context) {
	dl := time.Now().Add(ioTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = c.nc.SetDeadline(dl)
}

// Do sends one command and reads its reply. A RESP error reply is returned
// as an ErrorReply error.
func (c *Conn) Do(ctx context.Context, args ...string) (Reply, error) {
	c.setDeadline(ctx)
	c.w.Write(AppendCommand(nil, args...))
	if err := c.w.Flush(); err != nil {
		return Reply{}, fmt.Errorf("send %s: %w", args[0], err)
	}
	r, err := c.readReply()
	if err != nil {
		return Reply{}, fmt.Errorf("read reply to %s: %w", args[0], err)
	}
	if r.Kind == '-' {
		return r, ErrorReply(r.Str)
	}
	return r, nil
}

// AppendCommand appends args encoded as a RESP array of bulk strings.
func AppendCommand(b []byte, args ...string) []byte {
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

// maxBulk bounds the size of a bulk reply this client accepts.
const maxBulk = 64 << 20

func (c *Conn) readLine() (string, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("line %q does not end in CRLF", line)
	}
	return string(line[:len(line)-2]), nil
}

func (c *Conn) readReply() (Reply, error) {
	line, err := c.readLine()
	if err != nil {
		return Reply{}, err
	}
	if line == "" {
		return Reply{}, errors.New("empty reply line")
	}
	r := Reply{Kind: line[0]}
	body := line[1:]
	switch r.Kind {
	case '+', '-':
		r.Str = body
	case ':':
		r.Int, err = strconv.ParseInt(body, 10, 64)
	case '$':
		var n int64
		n, err = strconv.ParseInt(body, 10, 64)
		switch {
		case err != nil:
		case n < 0:
			r.Null = true
		case n > maxBulk:
			err = fmt.Errorf("bulk of %d bytes is over the %d limit", n, maxBulk)
		default:
			buf := make([]byte, n+2)
			if _, err = io.ReadFull(c.r, buf); err == nil {
				r.Str = string(buf[:n])
			}
		}
	case '*':
		var n int64
		n, err = strconv.ParseInt(body, 10, 64)
		if err == nil && n < 0 {
			r.Null = true
		}
		for i := int64(0); err == nil && i < n; i++ {
			var e Reply
			e, err = c.readReply()
			r.Elems = append(r.Elems, e)
		}
	default:
		err = fmt.Errorf("unknown reply type %q", r.Kind)
	}
	return r, err
}
