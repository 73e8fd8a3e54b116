package server

import (
	"strconv"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// WAIT and hactl-sync-replicas: clients waiting until replicas have
// acknowledged an offset.

// waitState is a client's pending wait.
type waitState struct {
	offset   int64
	replicas int
	// syncReply holds the held-back reply of a write under
	// hactl-sync-replicas; nil for WAIT.
	syncReply []byte
}

// ackedReplicas counts online replicas whose ACKed offset reached off.
func (s *Server) ackedReplicas(off int64) int {
	n := 0
	for _, c := range s.repl.replicas {
		if c.repl.state == replOnline && c.repl.ackOffset >= off {
			n++
		}
	}
	return n
}

func cmdWait(c *Client, args [][]byte) {
	s := c.srv
	if s.isReplica() {
		c.replyError("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	n, ok := parseInt64(args[1])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	ms, ok := parseInt64(args[2])
	if !ok {
		c.replyError("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.replyError("ERR timeout is negative")
		return
	}
	acked := s.ackedReplicas(c.woff)
	if acked >= int(n) || c.inExec {
		c.w.Int(int64(acked))
		return
	}
	c.wait = &waitState{offset: c.woff, replicas: int(n)}
	s.repl.waiters = append(s.repl.waiters, c)
	s.requestAcks()
	c.block(nil, time.Duration(ms)*time.Millisecond, func(c *Client) {
		c.srv.dropWaiter(c)
		c.w.Int(int64(c.srv.ackedReplicas(c.wait.offset)))
		c.wait = nil
	})
}

// requestAcks asks replicas for an immediate ACK (REPLCONF GETACK *).
func (s *Server) requestAcks() {
	if len(s.repl.replicas) > 0 {
		s.propagateRaw(resp.AppendCommand(nil, []byte("REPLCONF"), []byte("GETACK"), []byte("*")))
	}
}

// checkWaiters releases the clients whose wait is satisfied; s.mu held.
func (s *Server) checkWaiters() {
	kept := s.repl.waiters[:0]
	for _, c := range s.repl.waiters {
		w := c.wait
		if w == nil || c.blk == nil {
			continue
		}
		if n := s.ackedReplicas(w.offset); n >= w.replicas {
			if w.syncReply != nil {
				c.w.B = append(c.w.B, w.syncReply...)
			} else {
				c.w.Int(int64(n))
			}
			c.wait = nil
			b := c.blk
			s.unblock(c)
			select {
			case b.wake <- struct{}{}:
			default:
			}
			continue
		}
		kept = append(kept, c)
	}
	s.repl.waiters = kept
}

func (s *Server) dropWaiter(c *Client) {
	for i, x := range s.repl.waiters {
		if x == c {
			s.repl.waiters = append(s.repl.waiters[:i], s.repl.waiters[i+1:]...)
			return
		}
	}
}

// holdForSyncReplicas implements hactl-sync-replicas: after a write, the
// reply written since mark is held back until enough replicas ACKed the
// write, or replaced by -NOREPLICAS on timeout. s.mu is held.
func (c *Client) holdForSyncReplicas(mark int) {
	s := c.srv
	need := s.set.Repl.SyncReplicas
	if s.ackedReplicas(c.woff) >= need {
		return
	}
	reply := append([]byte(nil), c.w.B[mark:]...)
	c.w.B = c.w.B[:mark]
	c.wait = &waitState{offset: c.woff, replicas: need, syncReply: reply}
	s.repl.waiters = append(s.repl.waiters, c)
	s.requestAcks()
	timeout := s.set.Repl.SyncReplicasTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	c.block(nil, timeout, func(c *Client) {
		s := c.srv
		s.dropWaiter(c)
		c.replyError("NOREPLICAS the write was applied on the master but only " +
			strconv.Itoa(s.ackedReplicas(c.wait.offset)) + " of " + strconv.Itoa(c.wait.replicas) +
			" replicas required by hactl-sync-replicas acknowledged it within " + timeout.String())
		c.wait = nil
	})
}
