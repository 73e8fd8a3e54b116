package server

import (
	"errors"
	"os"
	"sync"
	"time"
)

// Blocking commands (BLPOP, BZPOPMIN, ...): a client that cannot be served
// is parked on its keys in arrival order. When a write makes a key ready,
// the server re-runs the parked command of each waiting client, first come
// first served, right after the write, with the lock held, exactly like
// Redis's handleClientsBlockedOnKeys. The parked client's goroutine waits
// outside the lock for being served, for its timeout, or for its
// connection to close.

// blockState is a parked command.
type blockState struct {
	keys      []dbKey
	args      [][]byte
	cmd       *command
	deadline  time.Time // zero: wait forever
	onTimeout func(c *Client)
	wake      chan struct{}
	rerun     bool // being re-run by serveReady
	// pausedArgs is the command waiting for CLIENT PAUSE / FAILOVER.
	pausedArgs [][]byte
	reblocked  bool // the re-run could not serve it either
}

// block parks the client on keys; the handler has written no reply. timeout
// 0 waits forever. Inside MULTI/EXEC the client cannot wait: onTimeout
// answers at once, as in Redis. s.mu is held.
func (c *Client) block(keys [][]byte, timeout time.Duration, onTimeout func(c *Client)) {
	if c.inExec {
		onTimeout(c)
		return
	}
	if c.blk != nil && c.blk.rerun {
		c.blk.reblocked = true
		return
	}
	s := c.srv
	b := &blockState{cmd: c.curCmd, onTimeout: onTimeout, wake: make(chan struct{}, 1)}
	for _, a := range c.curArgs {
		b.args = append(b.args, append([]byte(nil), a...))
	}
	if timeout > 0 {
		b.deadline = s.clock().Add(timeout)
	}
	for _, k := range keys {
		dk := dbKey{c.db, string(k)}
		b.keys = append(b.keys, dk)
		s.blocked[dk] = append(s.blocked[dk], c)
	}
	c.blk = b
	s.stats.blockedClients++
}

// unblock removes the client from every key queue; s.mu is held.
func (s *Server) unblock(c *Client) {
	b := c.blk
	if b == nil {
		return
	}
	for _, k := range b.keys {
		list := s.blocked[k]
		for i, cl := range list {
			if cl == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.blocked, k)
		} else {
			s.blocked[k] = list
		}
	}
	c.blk = nil
	s.stats.blockedClients--
	if c.wait != nil {
		s.dropWaiter(c)
	}
	if b.pausedArgs != nil {
		s.dropPaused(c)
	}
}

// signalKeyReady queues key for serving blocked clients (signalKeyAsReady).
func (s *Server) signalKeyReady(db int, key []byte) {
	if len(s.blocked) == 0 {
		return
	}
	dk := dbKey{db, string(key)}
	if _, ok := s.blocked[dk]; !ok || s.readySet[dk] {
		return
	}
	s.readySet[dk] = true
	s.ready = append(s.ready, dk)
}

// serveReady serves clients blocked on keys made ready by the last
// command, in arrival order; s.mu is held.
func (s *Server) serveReady() {
	for len(s.ready) > 0 {
		ready := s.ready
		s.ready = nil
		clear(s.readySet)
		for _, k := range ready {
			waiters := append([]*Client(nil), s.blocked[k]...)
			for _, cl := range waiters {
				b := cl.blk
				if b == nil {
					continue
				}
				b.rerun, b.reblocked = true, false
				saved := cl.db
				cl.db = k.db
				cl.curCmd, cl.curArgs = b.cmd, b.args
				cl.propRewritten = false
				dirty := s.dirty
				b.cmd.run(cl, b.args)
				if s.dirty != dirty && cl.propRewritten && len(cl.propArgs) > 0 {
					s.propagate(k.db, cl.propArgs...)
				}
				cl.db = saved
				b.rerun = false
				if b.reblocked {
					continue
				}
				s.unblock(cl)
				select {
				case b.wake <- struct{}{}:
				default:
				}
			}
		}
	}
}

// waitUnblocked is called by the connection goroutine with s.mu held right
// after its command blocked. It releases the lock, flushes earlier
// replies, waits, and returns with the lock held; false means the
// connection is gone.
func (c *Client) waitUnblocked() bool {
	s := c.srv
	b := c.blk
	if c.outWake != nil {
		c.queueOwnOutput()
	}
	// Take the replies so far out of c.w while the lock is held: once it
	// is released, whoever serves this client writes into c.w.
	earlier := append([]byte(nil), c.w.B...)
	c.w.B = c.w.B[:0]
	s.mu.Unlock()
	ok := true
	if len(earlier) > 0 {
		n, err := c.conn.Write(earlier)
		s.stats.netOutput.Add(int64(n))
		ok = err == nil
	}
	// Watch the connection while parked: a reader goroutine keeps what
	// arrives (pipelined commands) and notices a hang-up.
	closed := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(1)
	var got []byte
	go func() {
		defer rwg.Done()
		tmp := make([]byte, 4096)
		for {
			n, err := c.conn.Read(tmp)
			got = append(got, tmp[:n]...)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					close(closed)
				}
				return
			}
		}
	}()
	var timer <-chan time.Time
	if !b.deadline.IsZero() {
		t := time.NewTimer(time.Until(b.deadline))
		defer t.Stop()
		timer = t.C
	}
	alive := ok
	if ok {
		select {
		case <-b.wake:
		case <-timer:
		case <-closed:
			alive = false
		}
	}
	// Stop the reader and keep what it read.
	c.conn.SetReadDeadline(time.Unix(1, 0))
	rwg.Wait()
	c.conn.SetReadDeadline(time.Time{})
	select {
	case <-closed:
		alive = false
	default:
	}
	c.pendingIn = append(c.pendingIn, got...)
	s.mu.Lock()
	s.refreshCtx()
	if c.blk == b {
		// Not served: timed out or the connection closed.
		s.unblock(c)
		if alive {
			b.onTimeout(c)
		}
	}
	return alive
}
