package server

import (
	"strconv"
	"strings"
	"time"
)

// CLIENT PAUSE / UNPAUSE and FAILOVER (Redis 7.0's coordinated
// switchover from the master side).

// pauseState: while active, write commands (or all commands) of normal
// clients wait; replicas and the master link are never paused.
type pauseState struct {
	active   bool
	all      bool
	until    time.Time // zero: until unpaused (FAILOVER)
	byClient bool      // CLIENT PAUSE (vs FAILOVER)
	waiting  []*Client
}

// failoverState is the FAILOVER in progress, if any.
type failoverState struct {
	state    string // no-failover | waiting-for-sync | failover-in-progress
	host     string // target, "" for any caught-up replica
	port     int
	force    bool
	deadline time.Time
	link     *masterLink
}

// pausedFor reports whether cmd must wait for the pause to end.
func (s *Server) pausedFor(c *Client, cmd *command) bool {
	p := &s.pause
	if !p.active || c.id < 0 || (c.repl != nil && c.repl.state != "") {
		return false
	}
	if !p.until.IsZero() && !s.clock().Before(p.until) {
		s.unpause()
		return false
	}
	return p.all || cmd.flags&flagWrite != 0 || cmd.name == "publish"
}

// parkPaused makes c wait until the pause ends, then runs its command.
func (c *Client) parkPaused(args [][]byte) {
	s := c.srv
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = append([]byte(nil), a...)
	}
	s.pause.waiting = append(s.pause.waiting, c)
	var wait time.Duration
	if !s.pause.until.IsZero() {
		wait = max(time.Until(s.pause.until), time.Millisecond)
	}
	c.block(nil, wait, func(c *Client) {
		c.srv.dropPaused(c)
		c.exec(cp)
	})
	c.blk.pausedArgs = cp
}

func (s *Server) dropPaused(c *Client) {
	for i, x := range s.pause.waiting {
		if x == c {
			s.pause.waiting = append(s.pause.waiting[:i], s.pause.waiting[i+1:]...)
			return
		}
	}
}

// unpause ends the pause and runs the commands that waited, in order.
func (s *Server) unpause() {
	s.pause.active = false
	s.pause.until = time.Time{}
	waiting := s.pause.waiting
	s.pause.waiting = nil
	for _, c := range waiting {
		b := c.blk
		if b == nil || b.pausedArgs == nil {
			continue
		}
		s.unblock(c)
		c.exec(b.pausedArgs)
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

func cmdClientPause(c *Client, args [][]byte) {
	s := c.srv
	ms, ok := parseInt64(args[2])
	if !ok {
		c.replyError("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.replyError("ERR timeout is negative")
		return
	}
	all := true
	if len(args) == 4 {
		switch strings.ToLower(string(args[3])) {
		case "write":
			all = false
		case "all":
		default:
			c.replyError("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	} else if len(args) > 4 {
		c.replyError(errSyntax)
		return
	}
	until := s.clock().Add(time.Duration(ms) * time.Millisecond)
	// Like Redis: a new pause never shortens or weakens one in force.
	if s.pause.active && s.pause.until.After(until) {
		until = s.pause.until
	}
	s.pause.active = true
	s.pause.all = s.pause.all && s.pause.byClient || all
	s.pause.until = until
	s.pause.byClient = true
	c.w.OK()
}

func cmdClientUnpause(c *Client, args [][]byte) {
	if c.srv.failover.state == "" || c.srv.failover.state == "no-failover" {
		c.srv.unpause()
	}
	c.w.OK()
}

func cmdFailover(c *Client, args [][]byte) {
	s := c.srv
	var host string
	var port int64 = -1
	var timeout int64
	force, abort := false, false
	for j := 1; j < len(args); j++ {
		switch opt := strings.ToLower(string(args[j])); {
		case opt == "to" && j+2 < len(args) && host == "":
			host = string(args[j+1])
			p, ok := parseInt64(args[j+2])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			port = p
			j += 2
		case opt == "timeout" && j+1 < len(args) && timeout == 0:
			t, ok := parseInt64(args[j+1])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			if t <= 0 {
				c.replyError("ERR FAILOVER timeout must be greater than 0")
				return
			}
			timeout = t
			j++
		case opt == "force":
			force = true
		case opt == "abort" && len(args) == 2:
			abort = true
		default:
			c.replyError(errSyntax)
			return
		}
	}
	f := &s.failover
	if abort {
		if f.state == "" || f.state == "no-failover" {
			c.replyError("ERR No failover in progress.")
			return
		}
		s.abortFailover("failover aborted by user")
		c.w.OK()
		return
	}
	switch {
	case s.isReplica():
		c.replyError("ERR FAILOVER is not valid when server is a replica.")
		return
	case len(s.repl.replicas) == 0:
		c.replyError("ERR FAILOVER requires connected replicas.")
		return
	case f.state != "" && f.state != "no-failover":
		c.replyError("ERR FAILOVER already in progress.")
		return
	case force && (timeout == 0 || host == ""):
		c.replyError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
		return
	}
	if host != "" {
		r := s.replicaByAddr(host, int(port))
		if r == nil {
			c.replyError("ERR FAILOVER target HOST and PORT is not a replica.")
			return
		}
		if r.repl.state != replOnline {
			c.replyError("ERR FAILOVER target replica is not online.")
			return
		}
	}
	*f = failoverState{state: "waiting-for-sync", host: host, port: int(port), force: force}
	if timeout > 0 {
		f.deadline = s.clock().Add(time.Duration(timeout) * time.Millisecond)
	}
	s.pause = pauseState{active: true, waiting: s.pause.waiting}
	s.log.Info("FAILOVER requested to " + host + ":" + strconv.Itoa(int(port)))
	c.w.OK()
	s.failoverCheck()
}

func (s *Server) replicaByAddr(host string, port int) *Client {
	for _, r := range s.repl.replicas {
		h, p := r.replicaHostPort()
		if h == host && p == port {
			return r
		}
	}
	return nil
}

// failoverCheck advances a FAILOVER: when the target caught up, this
// master becomes its replica and asks it to take over (PSYNC ...
// FAILOVER). Called from the cron and on every ACK; s.mu is held.
func (s *Server) failoverCheck() {
	f := &s.failover
	if f.state != "waiting-for-sync" {
		if f.state == "failover-in-progress" && !f.deadline.IsZero() && s.clock().After(f.deadline) && !f.force {
			s.abortFailover("FAILOVER timed out")
		}
		return
	}
	var target *Client
	if f.host != "" {
		target = s.replicaByAddr(f.host, f.port)
		if target != nil && target.repl.ackOffset != s.repl.offset {
			target = nil
		}
	} else {
		for _, r := range s.repl.replicas {
			if r.repl.state == replOnline && r.repl.ackOffset == s.repl.offset {
				target = r
				break
			}
		}
	}
	timedOut := !f.deadline.IsZero() && s.clock().After(f.deadline)
	if target == nil {
		if !timedOut {
			return
		}
		if !f.force || f.host == "" {
			s.abortFailover("FAILOVER target did not catch up in time")
			return
		}
		target = s.replicaByAddr(f.host, f.port)
		if target == nil {
			s.abortFailover("FAILOVER target is gone")
			return
		}
	}
	host, port := target.replicaHostPort()
	f.state = "failover-in-progress"
	f.host, f.port = host, port
	s.log.Info("Failover target " + host + ":" + strconv.Itoa(port) + " is synced, failing over.")
	s.startLink(host, port)
	s.repl.link.failover = true
	f.link = s.repl.link
}

// failoverDone is called by the link when the target answered the
// FAILOVER PSYNC as a master; s.mu is held.
func (s *Server) failoverDone(l *masterLink) {
	if s.failover.link != l {
		return
	}
	s.log.Info("Failover target accepted: this node is now a replica.")
	s.failover = failoverState{state: "no-failover"}
	l.failover = false
	s.unpause()
}

// abortFailover rolls back: this node stays (or becomes again) a master.
func (s *Server) abortFailover(why string) {
	f := &s.failover
	if f.state == "failover-in-progress" && s.repl.link == f.link {
		s.stopLink()
	}
	s.log.Warn("FAILOVER aborted: " + why)
	*f = failoverState{state: "no-failover"}
	s.unpause()
}

func (s *Server) failoverStateName() string {
	if s.failover.state == "" {
		return "no-failover"
	}
	return s.failover.state
}
