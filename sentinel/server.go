package sentinel

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hactl/hactl/engine/glob"
	"github.com/hactl/hactl/engine/resp"
)

// Server serves the sentinel port: client commands and event pub/sub. It
// is also the EventSink that publishes every event on its channel.
type Server struct {
	s       *Sentinel
	runID   string
	start   time.Time
	mu      sync.Mutex
	clients map[*client]struct{}
	lns     []net.Listener
	wg      sync.WaitGroup
}

// NewServer returns a Server for s. Call SetSink-style wiring by passing
// the server as (part of) the sentinel's EventSink.
func NewServer() *Server {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return &Server{runID: hex.EncodeToString(b[:]), start: time.Now(), clients: map[*client]struct{}{}}
}

// Attach sets the sentinel served.
func (srv *Server) Attach(s *Sentinel) { srv.s = s }

// client is one connection on the sentinel port.
type client struct {
	c        net.Conn
	wmu      sync.Mutex // guards w and writes to c
	w        resp.Writer
	authed   bool
	name     string
	channels map[string]bool // guarded by Server.mu
	patterns map[string]bool // guarded by Server.mu
	qmu      sync.Mutex      // guards queue; never held while taking another lock
	queue    [][4]string     // pending pub/sub messages: pattern, channel, message
	wake     chan struct{}
}

// Serve accepts connections on ln until ctx is done.
func (srv *Server) Serve(ctx context.Context, ln net.Listener) {
	srv.mu.Lock()
	srv.lns = append(srv.lns, ln)
	srv.mu.Unlock()
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			srv.mu.Lock()
			for cl := range srv.clients {
				cl.c.Close()
			}
			srv.mu.Unlock()
			srv.wg.Wait()
			return
		}
		cl := &client{c: c, w: resp.Writer{Proto: 2}, authed: srv.s.cfg.RequirePass == "", wake: make(chan struct{}, 1)}
		srv.mu.Lock()
		srv.clients[cl] = struct{}{}
		srv.mu.Unlock()
		srv.wg.Add(1)
		go srv.handle(cl)
	}
}

func (srv *Server) handle(cl *client) {
	defer srv.wg.Done()
	done := make(chan struct{})
	defer close(done)
	go cl.pusher(done)
	defer func() {
		srv.mu.Lock()
		delete(srv.clients, cl)
		srv.mu.Unlock()
		cl.c.Close()
	}()
	buf := make([]byte, 0, 16<<10)
	var p resp.Parser
	var argv [][]byte
	tmp := make([]byte, 16<<10)
	for {
		n, err := cl.c.Read(tmp)
		if n > 0 {
			buf = append(buf, tmp[:n]...)
		}
		for len(buf) > 0 {
			p.Unauthenticated = !cl.authed
			var used int
			var perr error
			argv, used, perr = p.Parse(buf, argv[:0])
			if errors.Is(perr, resp.ErrIncomplete) {
				break
			}
			if perr != nil {
				cl.wmu.Lock()
				cl.w.Error("ERR " + perr.Error())
				cl.flushLocked()
				cl.wmu.Unlock()
				return
			}
			args := make([]string, len(argv))
			for i, a := range argv {
				args[i] = string(a)
			}
			buf = buf[used:]
			if len(args) == 0 {
				continue
			}
			quit := srv.exec(cl, args)
			if quit {
				return
			}
		}
		buf = append(buf[:0], buf...)
		if err != nil {
			return
		}
	}
}

func (cl *client) flushLocked() {
	if len(cl.w.B) > 0 {
		_ = cl.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = cl.c.Write(cl.w.B)
		cl.w.Reset()
	}
}

// exec runs one command and writes its reply; it reports whether the
// connection must be closed.
func (srv *Server) exec(cl *client, args []string) bool {
	cl.wmu.Lock()
	defer func() { cl.flushLocked(); cl.wmu.Unlock() }()
	w := &cl.w
	cmd := strings.ToLower(args[0])
	now := srv.s.clock()
	if !cl.authed && cmd != "auth" && cmd != "hello" && cmd != "quit" {
		w.Error("NOAUTH Authentication required.")
		return false
	}
	subscribed := len(cl.channels)+len(cl.patterns) > 0
	if subscribed && w.Proto == 2 {
		switch cmd {
		case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ping", "quit", "reset":
		default:
			w.Error(fmt.Sprintf("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", cmd))
			return false
		}
	}
	switch cmd {
	case "ping":
		switch {
		case len(args) > 2:
			w.Error("ERR wrong number of arguments for 'ping' command")
		case subscribed && w.Proto == 2:
			w.Array(2)
			w.BulkString("pong")
			if len(args) == 2 {
				w.BulkString(args[1])
			} else {
				w.BulkString("")
			}
		case len(args) == 2:
			w.BulkString(args[1])
		default:
			w.Simple("PONG")
		}
	case "quit":
		w.OK()
		return true
	case "auth":
		srv.auth(cl, args[1:])
	case "hello":
		srv.hello(cl, args[1:])
	case "client":
		srv.clientCmd(cl, args)
	case "command":
		w.Array(0)
	case "info":
		srv.info(w, args[1:], now)
	case "role":
		names := srv.s.masterNames()
		w.Array(2)
		w.BulkString("sentinel")
		w.Array(len(names))
		for _, n := range names {
			w.BulkString(n)
		}
	case "sentinel":
		srv.s.sentinelCommand(w, args, now)
	case "publish":
		if len(args) != 3 {
			w.Error("ERR wrong number of arguments for 'publish' command")
		} else if args[1] != helloChannel {
			w.Error("ERR Only HELLO messages are accepted by Sentinel instances.")
		} else {
			srv.s.Hello(args[2], now, true)
			w.Int(1)
		}
	case "subscribe", "psubscribe", "unsubscribe", "punsubscribe":
		srv.subscribe(cl, cmd, args[1:])
	case "shutdown":
		w.Error("ERR SHUTDOWN is not supported by hactl-sentinel; stop the service instead")
	default:
		var b strings.Builder
		for _, a := range args[1:] {
			fmt.Fprintf(&b, "'%s' ", a)
		}
		w.Error(fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", args[0], b.String()))
	}
	return false
}

func (srv *Server) auth(cl *client, a []string) bool {
	w := &cl.w
	var user, pass string
	switch len(a) {
	case 1:
		pass = a[0]
	case 2:
		user, pass = a[0], a[1]
	default:
		w.Error("ERR wrong number of arguments for 'auth' command")
		return false
	}
	rp := srv.s.cfg.RequirePass
	if rp == "" {
		if user == "default" {
			cl.authed = true
			w.OK()
			return true
		}
		w.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return false
	}
	if (user == "" || user == "default") && subtle.ConstantTimeCompare([]byte(pass), []byte(rp)) == 1 {
		cl.authed = true
		w.OK()
		return true
	}
	// Peers authenticate with sentinel-user / sentinel-pass, which every
	// sentinel of the set has in its own configuration (Redis needs a
	// matching "user" line instead).
	if su, sp := srv.s.cfg.SentinelUser, srv.s.cfg.SentinelPass; su != "" && sp != "" && user == su &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(sp)) == 1 {
		cl.authed = true
		w.OK()
		return true
	}
	w.Error("WRONGPASS invalid username-password pair or user is disabled.")
	return false
}

func (srv *Server) hello(cl *client, a []string) {
	w := &cl.w
	proto := w.Proto
	if len(a) > 0 {
		n, err := strconv.Atoi(a[0])
		if err != nil {
			w.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if n < 2 || n > 3 {
			w.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = n
		a = a[1:]
	}
	for len(a) > 0 {
		switch strings.ToLower(a[0]) {
		case "auth":
			if len(a) < 3 {
				w.Error("ERR Syntax error in HELLO option 'auth'")
				return
			}
			var tmp resp.Writer
			saved := cl.w
			cl.w = tmp
			ok := srv.auth(cl, a[1:3])
			errText := cl.w.B
			cl.w = saved
			if !ok {
				w.Raw(errText)
				return
			}
			a = a[3:]
		case "setname":
			if len(a) < 2 {
				w.Error("ERR Syntax error in HELLO option 'setname'")
				return
			}
			cl.name = a[1]
			a = a[2:]
		default:
			w.Error(fmt.Sprintf("ERR Syntax error in HELLO option '%s'", a[0]))
			return
		}
	}
	if !cl.authed {
		w.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	w.Proto = proto
	w.Map(6)
	w.BulkString("server")
	w.BulkString("redis")
	w.BulkString("version")
	w.BulkString("7.0.15")
	w.BulkString("proto")
	w.Int(int64(proto))
	w.BulkString("id")
	w.Int(1)
	w.BulkString("mode")
	w.BulkString("sentinel")
	w.BulkString("modules")
	w.Array(0)
}

func (srv *Server) clientCmd(cl *client, args []string) {
	w := &cl.w
	if len(args) < 2 {
		w.Error("ERR wrong number of arguments for 'client' command")
		return
	}
	switch strings.ToLower(args[1]) {
	case "setname":
		if len(args) != 3 {
			w.Error("ERR wrong number of arguments for 'client|setname' command")
			return
		}
		cl.name = args[2]
		w.OK()
	case "getname":
		if cl.name == "" {
			w.Null()
		} else {
			w.BulkString(cl.name)
		}
	case "setinfo":
		w.OK()
	case "id":
		w.Int(1)
	case "list", "info":
		w.BulkString(fmt.Sprintf("id=1 addr=%s name=%s\n", cl.c.RemoteAddr(), cl.name))
	case "kill":
		w.OK()
	default:
		w.Error(fmt.Sprintf("ERR unknown subcommand '%s'. Try CLIENT HELP.", args[1]))
	}
}

func (srv *Server) info(w *resp.Writer, a []string, now time.Time) {
	sections := map[string]bool{}
	for _, s := range a {
		sections[strings.ToLower(s)] = true
	}
	all := len(a) == 0 || sections["all"] || sections["default"] || sections["everything"]
	// Each section ends with CRLF; sections are separated by an empty line.
	var out []string
	if all || sections["server"] {
		out = append(out, fmt.Sprintf("# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\nos:%s\r\narch_bits:64\r\nprocess_id:%d\r\nrun_id:%s\r\ntcp_port:%d\r\nuptime_in_seconds:%d\r\nexecutable:hactl-sentinel\r\n",
			runtime.GOOS, os.Getpid(), srv.runID, srv.s.cfg.Port, int64(time.Since(srv.start).Seconds())))
	}
	if all || sections["clients"] {
		srv.mu.Lock()
		n := len(srv.clients)
		srv.mu.Unlock()
		out = append(out, fmt.Sprintf("# Clients\r\nconnected_clients:%d\r\n", n))
	}
	if all || sections["sentinel"] {
		out = append(out, srv.s.infoSentinel(now))
	}
	w.BulkString(strings.Join(out, "\r\n"))
}

func (srv *Server) subscribe(cl *client, cmd string, names []string) {
	w := &cl.w
	if cl.channels == nil {
		cl.channels, cl.patterns = map[string]bool{}, map[string]bool{}
	}
	set := cl.channels
	if cmd[0] == 'p' {
		set = cl.patterns
	}
	unsub := strings.Contains(cmd, "unsub")
	if unsub && len(names) == 0 {
		for n := range set {
			names = append(names, n)
		}
		if len(names) == 0 {
			srv.mu.Lock()
			w.Push(3)
			w.BulkString(cmd)
			w.Null()
			w.Int(0)
			srv.mu.Unlock()
			return
		}
	} else if len(names) == 0 {
		w.Error(fmt.Sprintf("ERR wrong number of arguments for '%s' command", cmd))
		return
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, n := range names {
		if unsub {
			delete(set, n)
		} else {
			set[n] = true
		}
		w.Push(3)
		w.BulkString(cmd)
		w.BulkString(n)
		w.Int(int64(len(cl.channels) + len(cl.patterns)))
	}
}

// Event implements EventSink: publish on the event's channel. Debug-level
// events are not published, as in Redis.
func (srv *Server) Event(e Event) {
	if e.Level == LevelDebug {
		return
	}
	srv.mu.Lock()
	var targets []*client
	var pats []string
	for cl := range srv.clients {
		if cl.channels[e.Type] {
			targets = append(targets, cl)
			pats = append(pats, "")
		}
		for p := range cl.patterns {
			if glob.MatchString(p, e.Type, false) {
				targets = append(targets, cl)
				pats = append(pats, p)
			}
		}
	}
	srv.mu.Unlock()
	for k, cl := range targets {
		cl.qmu.Lock()
		cl.queue = append(cl.queue, [4]string{pats[k], e.Type, e.Message})
		cl.qmu.Unlock()
		select {
		case cl.wake <- struct{}{}:
		default:
		}
	}
}

// pusher writes queued pub/sub messages in order. It runs apart from the
// emitter because the sentinel lock is held while events are emitted.
func (cl *client) pusher(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-cl.wake:
		}
		cl.qmu.Lock()
		q := cl.queue
		cl.queue = nil
		cl.qmu.Unlock()
		cl.wmu.Lock()
		w := &cl.w
		for _, m := range q {
			if m[0] != "" {
				w.Push(4)
				w.BulkString("pmessage")
				w.BulkString(m[0])
			} else {
				w.Push(3)
				w.BulkString("message")
			}
			w.BulkString(m[1])
			w.BulkString(m[2])
		}
		cl.flushLocked()
		cl.wmu.Unlock()
	}
}
