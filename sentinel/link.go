package sentinel

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// NetTransport is the Transport over TCP: per address one command link
// (pipelined, replies matched in order by a reader goroutine that also
// notices a dropped connection at once) and, for data nodes, one link
// subscribed to __sentinel__:hello.
type NetTransport struct {
	// Name prefixes CLIENT SETNAME: "<Name>-cmd" / "<Name>-pubsub".
	Name        string
	DialTimeout time.Duration
	// MaxPending caps commands waiting for a reply on one link.
	MaxPending int
	// TLS, when set, wraps every link in TLS (sentinel.conf's
	// tls-replication yes): it returns the client configuration for the
	// instance's address.
	TLS func(serverName string) (*tls.Config, error)

	ctx    context.Context
	mu     sync.Mutex
	cmd    map[Addr]*cmdLink
	subs   map[Addr]context.CancelFunc
	onDown func(Addr)
}

// NewNetTransport returns a transport whose links live until ctx is done.
func NewNetTransport(ctx context.Context, name string) *NetTransport {
	return &NetTransport{Name: name, DialTimeout: time.Second, MaxPending: 100, ctx: ctx,
		cmd: map[Addr]*cmdLink{}, subs: map[Addr]context.CancelFunc{}}
}

// OnLinkDown implements Transport.
func (t *NetTransport) OnLinkDown(fn func(Addr)) {
	t.mu.Lock()
	t.onDown = fn
	t.mu.Unlock()
}

type request struct {
	auth Auth
	cmds [][]string
	done func([]Reply, error)
}

type pendingReply struct {
	n       int
	replies []Reply
	done    func([]Reply, error)
}

// cmdLink is one command connection. A writer goroutine dials and writes;
// a reader goroutine per connection reads replies.
type cmdLink struct {
	t       *NetTransport
	addr    Addr
	reqs    chan request
	quit    chan struct{} // closed by Drop
	mu      sync.Mutex
	conn    net.Conn
	pending []*pendingReply
	local   string
	queued  int
}

// Do implements Transport.
func (t *NetTransport) Do(addr Addr, auth Auth, cmds [][]string, done func([]Reply, error)) {
	t.mu.Lock()
	l := t.cmd[addr]
	if l == nil {
		l = &cmdLink{t: t, addr: addr, reqs: make(chan request, t.MaxPending), quit: make(chan struct{})}
		t.cmd[addr] = l
		go l.writer()
	}
	t.mu.Unlock()
	select {
	case l.reqs <- request{auth, cmds, done}:
	default:
		go done(nil, ErrBusy)
	}
}

// LocalIP implements Transport.
func (t *NetTransport) LocalIP(addr Addr) string {
	t.mu.Lock()
	l := t.cmd[addr]
	t.mu.Unlock()
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.local
}

// Drop implements Transport.
func (t *NetTransport) Drop(addr Addr) {
	t.mu.Lock()
	l := t.cmd[addr]
	delete(t.cmd, addr)
	cancel := t.subs[addr]
	delete(t.subs, addr)
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if l != nil {
		close(l.quit)
	}
}

func (l *cmdLink) writer() {
	for {
		var req request
		select {
		case <-l.t.ctx.Done():
			l.closeConn(l.t.ctx.Err())
			return
		case <-l.quit:
			l.closeConn(errors.New("link dropped"))
			return
		case req = <-l.reqs:
		}
		if err := l.send(req); err != nil {
			req.done(nil, err)
		}
	}
}

func (l *cmdLink) send(req request) error {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c == nil {
		var err error
		if c, err = l.dial(req.auth); err != nil {
			return err
		}
	}
	var buf []byte
	for _, cmd := range req.cmds {
		buf = appendCmd(buf, cmd)
	}
	l.mu.Lock()
	if l.conn != c {
		l.mu.Unlock()
		return errors.New("link closed")
	}
	l.pending = append(l.pending, &pendingReply{n: len(req.cmds), done: req.done})
	l.mu.Unlock()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(buf); err != nil {
		l.failConn(c, err)
	}
	return nil
}

func appendCmd(b []byte, cmd []string) []byte {
	args := make([][]byte, len(cmd))
	for i, a := range cmd {
		args[i] = []byte(a)
	}
	return resp.AppendCommand(b, args...)
}

// handshake returns the AUTH and CLIENT SETNAME commands for a new link.
func handshake(auth Auth, name string) [][]string {
	var cmds [][]string
	if auth.Pass != "" {
		if auth.User != "" {
			cmds = append(cmds, []string{"AUTH", auth.User, auth.Pass})
		} else {
			cmds = append(cmds, []string{"AUTH", auth.Pass})
		}
	}
	return append(cmds, []string{"CLIENT", "SETNAME", name})
}

// dial connects to addr within DialTimeout, with a TLS handshake when
// t.TLS is set.
func (t *NetTransport) dial(ctx context.Context, addr Addr) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.DialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if t.TLS == nil {
		return c, nil
	}
	cfg, err := t.TLS(addr.IP)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("tls to %s: %w", addr, err)
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}

func (l *cmdLink) dial(auth Auth) (net.Conn, error) {
	c, err := l.t.dial(l.t.ctx, l.addr)
	if err != nil {
		return nil, err
	}
	var buf []byte
	hs := handshake(auth, l.t.Name+"-cmd")
	for _, cmd := range hs {
		buf = appendCmd(buf, cmd)
	}
	ip, _, _ := net.SplitHostPort(c.LocalAddr().String())
	l.mu.Lock()
	l.conn, l.local = c, ip
	// Handshake replies are read and ignored, as Redis does.
	l.pending = append(l.pending, &pendingReply{n: len(hs), done: func([]Reply, error) {}})
	l.mu.Unlock()
	go l.reader(c)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(buf); err != nil {
		l.failConn(c, err)
		return nil, err
	}
	return c, nil
}

func (l *cmdLink) reader(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		r, err := readReply(br)
		if err != nil {
			l.failConn(c, err)
			return
		}
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.mu.Unlock()
			continue
		}
		p := l.pending[0]
		p.replies = append(p.replies, r)
		var done func([]Reply, error)
		if len(p.replies) == p.n {
			l.pending = l.pending[1:]
			done = p.done
		}
		l.mu.Unlock()
		if done != nil {
			done(p.replies, nil)
		}
	}
}

// failConn closes c if it is still the link's connection and fails the
// commands waiting on it.
func (l *cmdLink) failConn(c net.Conn, err error) {
	l.mu.Lock()
	if l.conn != c {
		l.mu.Unlock()
		return
	}
	l.conn = nil
	pend := l.pending
	l.pending = nil
	l.mu.Unlock()
	c.Close()
	for _, p := range pend {
		p.done(nil, err)
	}
	l.t.mu.Lock()
	fn := l.t.onDown
	l.t.mu.Unlock()
	if fn != nil {
		fn(l.addr)
	}
}

func (l *cmdLink) closeConn(err error) {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		l.failConn(c, err)
	}
}

// Subscribe implements Transport.
func (t *NetTransport) Subscribe(addr Addr, auth Auth, onMsg func(string)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs[addr] != nil {
		return
	}
	ctx, cancel := context.WithCancel(t.ctx)
	t.subs[addr] = cancel
	go t.subscriber(ctx, addr, auth, onMsg)
}

func (t *NetTransport) subscriber(ctx context.Context, addr Addr, auth Auth, onMsg func(string)) {
	for ctx.Err() == nil {
		_ = t.subscribeOnce(ctx, addr, auth, onMsg)
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (t *NetTransport) subscribeOnce(ctx context.Context, addr Addr, auth Auth, onMsg func(string)) error {
	c, err := t.dial(ctx, addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	var buf []byte
	for _, cmd := range append(handshake(auth, t.Name+"-pubsub"), []string{"SUBSCRIBE", helloChannel}) {
		buf = appendCmd(buf, cmd)
	}
	if _, err := c.Write(buf); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	for {
		r, err := readReply(br)
		if err != nil {
			return err
		}
		if r.Kind == '*' && len(r.Elems) == 3 && r.Elems[0].Str == "message" {
			onMsg(r.Elems[2].Str)
		}
	}
}

// ErrProtocol reports a malformed reply.
var ErrProtocol = errors.New("sentinel: protocol error in reply")

// readReply reads one RESP2/RESP3 reply.
func readReply(br *bufio.Reader) (Reply, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return Reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Reply{}, ErrProtocol
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-':
		return Reply{Kind: kind, Str: body}, nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return Reply{}, ErrProtocol
		}
		return Reply{Kind: ':', Int: n}, nil
	case '_':
		return Reply{Kind: '$', Null: true}, nil
	case '#', ',':
		return Reply{Kind: '+', Str: body}, nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil {
			return Reply{}, ErrProtocol
		}
		if n < 0 {
			return Reply{Kind: '$', Null: true}, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(br, b); err != nil {
			return Reply{}, err
		}
		if kind == '!' {
			return Reply{Kind: '-', Str: string(b[:n])}, nil
		}
		return Reply{Kind: '$', Str: string(b[:n])}, nil
	case '*', '%', '~', '>':
		n, err := strconv.Atoi(body)
		if err != nil {
			return Reply{}, ErrProtocol
		}
		if n < 0 {
			return Reply{Kind: '*', Null: true}, nil
		}
		if kind == '%' {
			n *= 2
		}
		r := Reply{Kind: '*', Elems: make([]Reply, 0, n)}
		for k := 0; k < n; k++ {
			e, err := readReply(br)
			if err != nil {
				return Reply{}, err
			}
			r.Elems = append(r.Elems, e)
		}
		return r, nil
	}
	return Reply{}, ErrProtocol
}
