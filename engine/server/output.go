package server

import (
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// frameWriter builds one out-of-band frame (pub/sub message, MONITOR line).
type frameWriter = resp.Writer

// OutputLimit is one class of client-output-buffer-limit.
type OutputLimit struct {
	Hard, Soft  int64
	SoftSeconds int64
}

// pushAsync queues a frame produced by another client (PUBLISH, MONITOR)
// for this connection; s.mu is held by the caller. A subscriber whose
// pending output passes the pubsub output buffer limit is disconnected, as
// Redis does, so a slow subscriber never exhausts memory.
func (c *Client) pushAsync(b []byte) {
	if c.outClosed {
		return
	}
	c.outMu.Lock()
	c.out = append(c.out, b...)
	pending := int64(len(c.out))
	c.outMu.Unlock()
	if c.overOutputLimit(pending) {
		c.srv.log.Warn("client scheduled to be closed ASAP for overcoming of output buffer limits", "id", c.id, "addr", c.addr, "pending", pending)
		c.outClosed = true
		c.conn.Close()
		return
	}
	select {
	case c.outWake <- struct{}{}:
	default:
	}
}

// overOutputLimit applies the pubsub class limits; s.mu is held.
func (c *Client) overOutputLimit(pending int64) bool {
	lim := c.srv.set.PubsubOutputLimit
	if c.repl != nil && c.repl.state != "" {
		lim = c.srv.set.Repl.ReplicaOutputLimit
	}
	if c.isMonitor || (lim.Hard == 0 && lim.Soft == 0) {
		return false
	}
	if lim.Hard > 0 && pending >= lim.Hard {
		return true
	}
	if lim.Soft > 0 && pending >= lim.Soft {
		now := c.srv.clock()
		if c.softLimitSince.IsZero() {
			c.softLimitSince = now
			return false
		}
		return now.Sub(c.softLimitSince) >= time.Duration(lim.SoftSeconds)*time.Second
	}
	c.softLimitSince = time.Time{}
	return false
}

// queueOwnOutput moves this client's batch replies into the async queue so
// they keep their order with pushed frames; s.mu is held.
func (c *Client) queueOwnOutput() {
	if c.w.Len() == 0 {
		return
	}
	c.pushAsync(c.w.B)
	c.w.Reset()
}

// startAsyncWriter switches the client to asynchronous output: from now on
// every byte for it goes through c.out, written by one goroutine.
func (c *Client) startAsyncWriter() {
	if c.outWake != nil {
		return
	}
	wake := make(chan struct{}, 1)
	c.outWake = wake
	go func() {
		for range wake {
			c.outMu.Lock()
			b := c.out
			c.out = nil
			c.outMu.Unlock()
			if len(b) > 0 {
				n, err := c.conn.Write(b)
				c.srv.stats.netOutput.Add(int64(n))
				if err != nil {
					c.conn.Close()
				}
			}
		}
	}()
}
