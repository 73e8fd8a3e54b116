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

// serve runs the connection until it closes.
func (c *Client) serve() {
	s := c.srv
	defer s.wg.Done()
	defer c.cleanup()
	buf := make([]byte, readBufInitial)
	start, end := 0, 0
	var argv [][]byte
	var bounds []int // end index in argv of each parsed command
	needRead := true
	for {
		if len(c.pendingIn) > 0 {
			// Bytes read while the client was blocked.
			if start > 0 {
				end = copy(buf, buf[start:end])
				start = 0
			}
			if end+len(c.pendingIn) > len(buf) {
				nb := make([]byte, end+len(c.pendingIn))
				copy(nb, buf[:end])
				buf = nb
			}
			end += copy(buf[end:], c.pendingIn)
			c.pendingIn = nil
			needRead = false
		}
		if needRead {
			if end == len(buf) {
				if start > 0 {
					end = copy(buf, buf[start:end])
					start = 0
				} else {
					limit := s.queryBufferLimit()
					if int64(len(buf)) >= limit {
						s.log.Warn("closing client that reached max query buffer length", "id", c.id, "addr", c.addr, "qbuf", len(buf))
						return
					}
					nb := make([]byte, min(int64(len(buf))*2, limit))
					copy(nb, buf[:end])
					buf = nb
				}
			}
			n, err := c.conn.Read(buf[end:])
			if n > 0 {
				end += n
				s.stats.netInput.Add(int64(n))
				// (the batch below stamps lastInteraction with the cached
				// command time: no clock read per read)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					s.log.Debug("client read error", "id", c.id, "addr", c.addr, "err", err)
				}
				return
			}
		}
		needRead = true
		// Parse every complete request in the buffer.
		var perr error
		argv, bounds = argv[:0], bounds[:0]
		unauth := !c.authenticatedFast()
		for start < end {
			c.parser.MaxBulk = s.protoMaxBulk()
			c.parser.Unauthenticated = unauth
			var m int
			argv, m, perr = c.parser.Parse(buf[start:end], argv)
			if perr != nil {
				break
			}
			start += m
			bounds = append(bounds, len(argv))
			if unauth {
				// Authentication may change with this command: run it
				// before parsing the next one with the right limits.
				break
			}
		}
		if len(bounds) > 0 || (perr != nil && perr != resp.ErrIncomplete) {
			c.qbuf = end - start
			if !c.runBatch(argv, bounds, perr) {
				return
			}
		}
		if start == end {
			start, end = 0, 0
			if len(buf) > readBufIdle*4 {
				buf = make([]byte, readBufInitial)
			}
		} else if len(bounds) > 0 && perr == nil {
			// More complete requests may already be buffered (the
			// unauthenticated path parses one at a time).
			needRead = false
		}
	}
}

// runBatch executes the parsed requests with the execution lock held,
// waits out blocking commands, then writes the replies. It returns false
// when the connection must close.
func (c *Client) runBatch(argv [][]byte, bounds []int, perr error) bool {
	s := c.srv
	s.mu.Lock()
	s.refreshCtx()
	c.lastInteraction.Store(s.ctx.Now)
	prev := 0
	for _, b := range bounds {
		if b > prev {
			c.exec(argv[prev:b])
		}
		prev = b
		if c.closeAfter {
			break
		}
		if c.blk != nil && !c.waitUnblocked() {
			s.mu.Unlock()
			return false
		}
	}
	var pe resp.ProtocolError
	if errors.As(perr, &pe) && !c.closeAfter {
		s.log.Info("protocol error from client", "id", c.id, "addr", c.addr, "err", pe.Error())
		c.replyError("ERR " + pe.Error())
		c.closeAfter = true
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
