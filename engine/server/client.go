package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// Client is one connection.
type Client struct {
	srv   *Server
	conn  net.Conn
	id    int64
	addr  string
	laddr string

	// Guarded by srv.mu.
	name           string
	libName        string
	libVer         string
	db             int
	authenticated  bool
	user           string
	lastCmd        string
	closeAfter     bool
	isMonitor      bool
	subChannels    map[string]struct{}
	subPatterns    map[string]struct{}
	inExec         bool // running the commands queued by MULTI
	inMulti        bool
	multiErr       bool // a command failed to queue: EXEC aborts
	multiQueue     [][][]byte
	watched        []watchedKey
	dirtyCAS       bool // a watched key was modified
	outClosed      bool // disconnected for overcoming output limits
	softLimitSince time.Time
	noEvict        bool
	created        time.Time
	qbuf           int
	argvMem        int

	blk     *blockState // non-nil while blocked (BLPOP...)
	curCmd  *command    // the command being executed
	curArgs [][]byte
	repl    *replicaInfo // set when this connection is a replica of ours
	woff    int64        // replication offset after this client's last write (WAIT)
	wait    *waitState   // pending WAIT or hactl-sync-replicas
	// propArgs replaces the current command in the write stream when
	// propRewritten is set (rewriteCommand).
	propArgs      [][]byte
	propRewritten bool
	pendingIn     []byte // input read while blocked

	w      resp.Writer
	parser resp.Parser

	lastInteraction atomic.Int64

	// out carries replies produced by other clients (MONITOR feed, later
	// pub/sub); it is written by a dedicated goroutine.
	outMu   sync.Mutex
	out     []byte
	outWake chan struct{}
}

const (
	readBufInitial = 16 << 10
	readBufIdle    = 16 << 10
)

func newClient(s *Server, conn net.Conn) *Client {
	c := &Client{
		srv:     s,
		conn:    conn,
		id:      s.nextClientID.Add(1),
		addr:    conn.RemoteAddr().String(),
		laddr:   conn.LocalAddr().String(),
		user:    "default",
		created: s.clock(),
	}
	c.w.Proto = 2
	c.authenticated = s.defaultAuthenticated()
	c.lastInteraction.Store(c.created.UnixMilli())
	return c
}

func (c *Client) blockedOrSubscribed() bool { return false }

// inState is a connection's input: the read buffer and the requests
// parsed from it (argv aliases buf). The goroutine path and the event loop
// share it, so a client handed from the loop to a goroutine keeps its
// unparsed input and the rest of its batch.
type inState struct {
	buf        []byte
	start, end int
	argv       [][]byte
	bounds     []int // end index in argv of each parsed command
	perr       error
}

func newInState() *inState { return &inState{buf: make([]byte, readBufInitial)} }

// makeRoom ensures buf has free space after end, compacting or growing it
// up to the query buffer limit; false means the limit is reached.
func (c *Client) makeRoom(in *inState) bool {
	if in.end < len(in.buf) {
		return true
	}
	if in.start > 0 {
		in.end = copy(in.buf, in.buf[in.start:in.end])
		in.start = 0
		return true
	}
	limit := c.srv.queryBufferLimit()
	if int64(len(in.buf)) >= limit {
		c.srv.log.Warn("closing client that reached max query buffer length", "id", c.id, "addr", c.addr, "qbuf", len(in.buf))
		return false
	}
	nb := make([]byte, min(int64(len(in.buf))*2, limit))
	copy(nb, in.buf[:in.end])
	in.buf = nb
	return true
}

// takePending appends the bytes read while the client was blocked.
func (c *Client) takePending(in *inState) {
	if in.start > 0 {
		in.end = copy(in.buf, in.buf[in.start:in.end])
		in.start = 0
	}
	if in.end+len(c.pendingIn) > len(in.buf) {
		nb := make([]byte, in.end+len(c.pendingIn))
		copy(nb, in.buf[:in.end])
		in.buf = nb
	}
	in.end += copy(in.buf[in.end:], c.pendingIn)
	c.pendingIn = nil
}

// parse parses every complete request in the buffer (one at a time while
// the client is not authenticated, as the limits depend on it). It reports
// whether there is something to run: requests or a protocol error.
func (c *Client) parse(in *inState) bool {
	in.perr = nil
	in.argv, in.bounds = in.argv[:0], in.bounds[:0]
	unauth := !c.authenticatedFast()
	for in.start < in.end {
		c.parser.MaxBulk = c.srv.protoMaxBulk()
		c.parser.Unauthenticated = unauth
		var m int
		in.argv, m, in.perr = c.parser.Parse(in.buf[in.start:in.end], in.argv)
		if in.perr != nil {
			break
		}
		in.start += m
		in.bounds = append(in.bounds, len(in.argv))
		if unauth {
			// Authentication may change with this command: run it
			// before parsing the next one with the right limits.
			break
		}
	}
	if len(in.bounds) > 0 || (in.perr != nil && in.perr != resp.ErrIncomplete) {
		c.qbuf = in.end - in.start
		return true
	}
	return false
}

// consumed resets the buffer once every byte was used and reports whether
// more complete requests may already be buffered (the unauthenticated path
// parses one at a time).
func (in *inState) consumed() (more bool) {
	if in.start == in.end {
		in.start, in.end = 0, 0
		if len(in.buf) > readBufIdle*4 {
			in.buf = make([]byte, readBufInitial)
		}
		return false
	}
	return len(in.bounds) > 0 && in.perr == nil
}

// serve runs the connection until it closes.
func (c *Client) serve() {
	defer c.srv.wg.Done()
	defer c.cleanup()
	c.serveInput(newInState(), true)
}

// serveInput is the goroutine path's read-parse-run loop.
func (c *Client) serveInput(in *inState, needRead bool) {
	s := c.srv
	for {
		if len(c.pendingIn) > 0 {
			c.takePending(in)
			needRead = false
		}
		if needRead {
			if !c.makeRoom(in) {
				return
			}
			n, err := c.conn.Read(in.buf[in.end:])
			if n > 0 {
				in.end += n
				s.stats.netInput.Add(int64(n))
				// (the batch below stamps lastInteraction with the cached
				// command time: no clock read per read)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					s.log.Debug("client read error", "id", c.id, "addr", c.addr, "err", err)
				}
				// TLS returns the last requests with the close_notify
				// behind them: run them first, as the event loop does.
				if n > 0 && c.parse(in) {
					c.runBatch(in, 0)
				}
				return
			}
		}
		needRead = true
		if c.parse(in) && !c.runBatch(in, 0) {
			return
		}
		if in.consumed() {
			needRead = false
		}
	}
}

// runBatch executes the parsed requests from bounds[from] on with the
// execution lock held, waits out blocking commands, then writes the
// replies. It returns false when the connection must close.
func (c *Client) runBatch(in *inState, from int) bool {
	s := c.srv
	s.mu.Lock()
	s.refreshCtx()
	c.lastInteraction.Store(s.ctx.Now)
	if r := c.execBatch(in, from, false); r == batchGone {
		s.mu.Unlock()
		return false
	}
	if c.outWake != nil {
		c.queueOwnOutput()
	}
	s.mu.Unlock()
	// Acknowledge only what the AOF holds (written; fsynced under
	// appendfsync always). Concurrent batches share one write.
	if err := s.flushAOF(); err != nil && s.aofAlways() {
		s.log.Error("can't persist the AOF: not acknowledging the batch", "err", err)
		return false
	}
	if c.w.Len() > 0 && !c.flush() {
		return false
	}
	return !c.closeAfter
}

// execBatch results (besides an index to resume from).
const (
	batchDone = -1 // every request ran
	batchGone = -2 // the connection closed while blocked
)

// execBatch runs bounds[from:] with s.mu held. In the goroutine path
// (inLoop false) a blocking command is waited out here. In the event loop
// it returns the index of the next request as soon as the client needs a
// goroutine of its own (blocked, async output, replica): the caller hands
// the client over and the goroutine resumes there.
func (c *Client) execBatch(in *inState, from int, inLoop bool) int {
	prev := 0
	if from > 0 {
		prev = in.bounds[from-1]
		// Resumed after a hand-over: finish the wait first.
		if c.blk != nil && !c.waitUnblocked() {
			return batchGone
		}
	}
	for i := from; i < len(in.bounds); i++ {
		b := in.bounds[i]
		if b > prev {
			c.exec(in.argv[prev:b])
		}
		prev = b
		if c.closeAfter {
			break
		}
		if inLoop && c.needsGoroutine() {
			return i + 1
		}
		if c.blk != nil && !c.waitUnblocked() {
			return batchGone
		}
	}
	var pe resp.ProtocolError
	if errors.As(in.perr, &pe) && !c.closeAfter {
		c.srv.log.Info("protocol error from client", "id", c.id, "addr", c.addr, "err", pe.Error())
		c.replyError("ERR " + pe.Error())
		c.closeAfter = true
	}
	return batchDone
}

// needsGoroutine reports whether the client left the plain
// request/response state the event loop serves; s.mu is held.
func (c *Client) needsGoroutine() bool {
	return c.blk != nil || c.outWake != nil || c.repl != nil || c.isMonitor || c.wait != nil
}

// authenticatedFast reads the auth state; it is only written by this
// client's own goroutine, under srv.mu.
func (c *Client) authenticatedFast() bool { return c.authenticated }

func (c *Client) flush() bool {
	b := c.w.B
	n, err := c.conn.Write(b)
	c.srv.stats.netOutput.Add(int64(n))
	c.w.Reset()
	return err == nil
}

func (c *Client) cleanup() {
	s := c.srv
	s.mu.Lock()
	delete(s.clients, c.id)
	if c.isMonitor {
		delete(s.monitors, c)
	}
	c.unsubscribeAll()
	c.unwatchAll()
	if c.repl != nil && c.repl.state != "" {
		s.detachReplica(c)
	}
	if c.blk != nil {
		s.unblock(c)
	}
	s.mu.Unlock()
	c.conn.Close()
	if c.outWake != nil {
		close(c.outWake)
	}
}

func (s *Server) queryBufferLimit() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set.ClientQueryBufferLimit <= 0 {
		return 1 << 30
	}
	return s.set.ClientQueryBufferLimit
}

// protoMaxBulk is read without the lock by the parsing goroutine; it is an
// atomic copy of the setting.
func (s *Server) protoMaxBulk() int64 { return s.maxBulk.Load() }

// replyError writes an error reply and counts it for INFO stats and
// errorstats.
func (c *Client) replyError(msg string) {
	c.w.Error(msg)
	s := c.srv
	s.stats.errorReplies++
	code := msg
	for i := 0; i < len(msg); i++ {
		if msg[i] == ' ' {
			code = msg[:i]
			break
		}
	}
	if len(s.stats.errorCodes) < 128 || s.stats.errorCodes[code] > 0 {
		s.stats.errorCodes[code]++
	}
}
