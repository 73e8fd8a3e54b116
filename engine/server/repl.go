package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// Replication, master side and shared state (replication.c).
//
// The write stream (propagate.go) feeds the replication backlog and every
// attached replica. A replica first gets +FULLRESYNC and a point-in-time
// RDB (a forkless snapshot, streamed with the $EOF: framing when the
// replica announced capa eof, else written to a temp file and sent with
// its size), then the stream bytes that accumulated meanwhile, then the
// live stream; or +CONTINUE and the missing part of the backlog. On a
// replica the master's stream is applied and proxied byte for byte to
// its own replicas (chained replication), so offsets agree everywhere.

// ReplSettings are the replication directives.
type ReplSettings struct {
	ReplicaOfHost         string
	ReplicaOfPort         int
	MasterAuth            string
	MasterUser            string
	ReplicaReadOnly       bool
	ReplicaServeStaleData bool
	ReplicaPriority       int
	ReplicaAnnounceIP     string
	ReplicaAnnouncePort   int
	Timeout               time.Duration // repl-timeout
	PingPeriod            time.Duration // repl-ping-replica-period
	BacklogSize           int64
	BacklogTTL            time.Duration
	DisklessSync          bool
	DisklessSyncDelay     time.Duration
	MinReplicasToWrite    int
	MinReplicasMaxLag     time.Duration
	ReplicaOutputLimit    OutputLimit
	// SyncReplicas is hactl-sync-replicas: a write is acknowledged only
	// after that many replicas confirmed it (0: off, Redis behaviour).
	SyncReplicas int
	// SyncReplicasTimeout bounds that wait; on timeout the client gets
	// an -NOREPLICAS error (the write is applied on the master but not
	// confirmed durable on replicas).
	SyncReplicasTimeout time.Duration
}

// replState is guarded by the server lock.
type replState struct {
	replid, replid2 string
	offset          int64 // master_repl_offset
	secondOffset    int64 // second_repl_offset, -1 when unset
	backlog         *backlog
	replicas        []*Client
	noReplicasSince time.Time
	lastPing        time.Time
	fullSyncs       int64
	partialOK       int64
	partialErr      int64
	// replica side
	link *masterLink
	// waiters blocked in WAIT or on hactl-sync-replicas.
	waiters []*Client
}

// Replica link states (ROLE, INFO).
const (
	replWaitBgsave = "wait_bgsave"
	replSendBulk   = "send_bulk"
	replOnline     = "online"
)

// replicaInfo is what a master knows of an attached replica; stored on its
// Client.
type replicaInfo struct {
	state        string
	listenPort   int
	ip           string
	capaEOF      bool
	capaPSYNC2   bool
	ackOffset    int64
	ackTime      time.Time
	buffering    bool   // stream bytes go to pending until the RDB is sent
	pending      []byte // stream accumulated during the full sync
	waitFirstAck bool   // diskless: stream only after the first ACK
}

func newReplID() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// backlog is the circular buffer of the last stream bytes.
type backlog struct {
	buf     []byte
	idx     int   // next write position
	histlen int64 // valid bytes
	first   int64 // offset of the first valid byte (1-based)
}

func newBacklog(size int64, nextOffset int64) *backlog {
	if size < 16*1024 {
		size = 16 * 1024
	}
	return &backlog{buf: make([]byte, size), first: nextOffset}
}

func (b *backlog) write(p []byte) {
	n := len(b.buf)
	for len(p) > 0 {
		c := copy(b.buf[b.idx:], p)
		p = p[c:]
		b.idx = (b.idx + c) % n
		b.histlen += int64(c)
	}
	if b.histlen > int64(n) {
		b.first += b.histlen - int64(n)
		b.histlen = int64(n)
	}
}

// from returns the bytes from offset off (the first missing byte) to the
// end, and whether off is inside the backlog.
func (b *backlog) from(off int64) ([]byte, bool) {
	if off < b.first || off > b.first+b.histlen {
		return nil, false
	}
	skip := off - b.first
	n := b.histlen - skip
	out := make([]byte, 0, n)
	start := (b.idx - int(b.histlen) + int(skip) + 2*len(b.buf)) % len(b.buf)
	for n > 0 {
		c := min(int(n), len(b.buf)-start)
		out = append(out, b.buf[start:start+c]...)
		start = (start + c) % len(b.buf)
		n -= int64(c)
	}
	return out, true
}

// ensureBacklog creates the backlog when the first replica attaches; a
// master without one picks a new replid then (3.3).
func (s *Server) ensureBacklog() {
	r := &s.repl
	if r.backlog != nil {
		return
	}
	if !s.isReplica() {
		r.replid = newReplID()
		r.replid2 = strings.Repeat("0", 40)
		r.secondOffset = -1
	}
	r.backlog = newBacklog(s.set.Repl.BacklogSize, r.offset+1)
}

// replFeed appends stream bytes to the backlog and the replicas; s.mu is
// held.
func (s *Server) replFeed(b []byte) {
	r := &s.repl
	if r.backlog == nil {
		return
	}
	r.offset += int64(len(b))
	r.backlog.write(b)
	for _, c := range r.replicas {
		ri := c.repl
		if ri.buffering || ri.waitFirstAck {
			ri.pending = append(ri.pending, b...)
			continue
		}
		if ri.state == replOnline {
			c.pushAsync(b)
		}
	}
}

// shiftReplID is done on promotion: the old history stays reachable for
// PSYNC through replid2 (PSYNC2).
func (s *Server) shiftReplID() {
	r := &s.repl
	r.replid2 = r.replid
	r.secondOffset = r.offset + 1
	r.replid = newReplID()
	s.log.Info("Setting secondary replication ID", "replid2", r.replid2, "valid_up_to", r.secondOffset-1, "new_replid", r.replid)
}

// disconnectReplicas closes every attached replica (promotion, new
// history): they reconnect and resync.
func (s *Server) disconnectReplicas() {
	for _, c := range s.repl.replicas {
		c.kill()
	}
}

func replCommands() []*command {
	f := flagAdmin | flagNoScript | flagLoading | flagStale
	return []*command{
		{name: "replconf", arity: -1, flags: f, group: "server", run: cmdReplconf},
		{name: "psync", arity: -3, flags: flagAdmin | flagNoScript, group: "server", run: cmdPsync},
		{name: "sync", arity: 1, flags: flagAdmin | flagNoScript, group: "server", run: cmdSync},
		{name: "replicaof", arity: 3, flags: flagAdmin | flagNoScript | flagStale, group: "server", run: cmdReplicaof},
		{name: "slaveof", arity: 3, flags: flagAdmin | flagNoScript | flagStale, group: "server", run: cmdReplicaof},
		{name: "role", arity: 1, flags: flagNoScript | flagLoading | flagStale | flagFast, group: "server", run: cmdRole},
		{name: "wait", arity: 3, flags: flagNoScript, group: "generic", run: cmdWait},
		{name: "failover", arity: -1, flags: flagAdmin | flagNoScript | flagStale, group: "server", run: cmdFailover},
	}
}

func cmdReplconf(c *Client, args [][]byte) {
	if len(args)%2 == 0 {
		c.replyError(errSyntax)
		return
	}
	s := c.srv
	for j := 1; j < len(args); j += 2 {
		opt := strings.ToLower(string(args[j]))
		val := string(args[j+1])
		switch opt {
		case "listening-port":
			p, err := strconv.Atoi(val)
			if err != nil {
				c.replyError(errNotInt)
				return
			}
			c.replInfo().listenPort = p
		case "ip-address":
			if len(val) > 46 {
				c.replyError("ERR REPLCONF ip-address provided by replica instance is too long: " + strconv.Itoa(len(val)) + " bytes")
				return
			}
			c.replInfo().ip = val
		case "capa":
			switch strings.ToLower(val) {
			case "eof":
				c.replInfo().capaEOF = true
			case "psync2":
				c.replInfo().capaPSYNC2 = true
			}
		case "ack":
			// No reply: the replica reports its processed offset.
			if c.repl == nil || c.repl.state == "" {
				return
			}
			off, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return
			}
			ri := c.repl
			if off > ri.ackOffset {
				ri.ackOffset = off
			}
			ri.ackTime = s.clock()
			if ri.waitFirstAck {
				ri.waitFirstAck = false
				if len(ri.pending) > 0 {
					c.pushAsync(ri.pending)
					ri.pending = nil
				}
			}
			s.checkWaiters()
			if s.failover.state == "waiting-for-sync" {
				s.failoverCheck()
			}
			return
		case "getack":
			// Only meaningful on a replica's master link (replica.go).
			return
		case "rdb-only", "rdb-filter-only":
		default:
			c.replyError("ERR Unrecognized REPLCONF option: " + string(args[j]))
			return
		}
	}
	c.w.OK()
}

func (c *Client) replInfo() *replicaInfo {
	if c.repl == nil {
		c.repl = &replicaInfo{}
	}
	return c.repl
}

func cmdSync(c *Client, args [][]byte) { c.srv.startSync(c, "?", -1, false) }

func cmdPsync(c *Client, args [][]byte) {
	off, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		c.replyError(errNotInt)
		return
	}
	s := c.srv
	if len(args) == 4 && strings.EqualFold(string(args[3]), "failover") {
		// Our master hands over to us (FAILOVER TO): take over, then
		// answer as the new master.
		if !s.isReplica() {
			c.replyError("ERR PSYNC FAILOVER can't be sent to a master.")
			return
		}
		if string(args[1]) != s.repl.replid {
			c.replyError("ERR PSYNC FAILOVER replid must match my replid.")
			return
		}
		s.log.Info("Failover request received for replid " + string(args[1]) + ": promoting myself.")
		s.stopLink()
		s.shiftReplID()
		s.str.lastDB = -1
	} else if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	c.srv.startSync(c, string(args[1]), off, true)
}

// startSync serves SYNC/PSYNC; s.mu is held.
func (s *Server) startSync(c *Client, replid string, off int64, psync bool) {
	if c.repl != nil && c.repl.state != "" {
		return // already a replica link
	}
	if s.isReplica() && !s.linkUp() {
		c.replyError("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	if c.w.Len() > 0 {
		c.replyError("ERR SYNC and PSYNC are invalid with pending output")
		return
	}
	ri := c.replInfo()
	r := &s.repl
	addr := c.replicaAddr()
	s.log.Info("Replica " + addr + " asks for synchronization")
	if psync && r.backlog != nil && replid != "?" &&
		(replid == r.replid || (replid == r.replid2 && off <= r.secondOffset)) {
		if data, ok := r.backlog.from(off); ok {
			reply := "+CONTINUE\r\n"
			if ri.capaPSYNC2 {
				reply = "+CONTINUE " + r.replid + "\r\n"
			}
			ri.state = replOnline
			ri.ackTime = s.clock()
			ri.ackOffset = off - 1
			s.attachReplica(c)
			c.pushAsync([]byte(reply))
			if len(data) > 0 {
				c.pushAsync(data)
			}
			r.partialOK++
			s.log.Info("Partial resynchronization request from "+addr+" accepted", "offset", off, "bytes", len(data))
			return
		}
	}
	if psync && replid != "?" {
		r.partialErr++
	}
	s.fullSync(c, psync)
}

func (c *Client) replicaAddr() string {
	host := c.addr
	if h, _, err := splitHostPort(c.addr); err == nil {
		host = h
	}
	if c.repl != nil && c.repl.ip != "" {
		host = c.repl.ip
	}
	port := 0
	if c.repl != nil {
		port = c.repl.listenPort
	}
	return host + ":" + strconv.Itoa(port)
}

// attachReplica registers c as a replica; s.mu is held.
func (s *Server) attachReplica(c *Client) {
	s.repl.replicas = append(s.repl.replicas, c)
	s.repl.noReplicasSince = time.Time{}
	c.startAsyncWriter()
}

// detachReplica is called when a replica connection closes; s.mu is held.
func (s *Server) detachReplica(c *Client) {
	r := &s.repl
	for i, x := range r.replicas {
		if x == c {
			r.replicas = append(r.replicas[:i], r.replicas[i+1:]...)
			s.log.Info("Connection with replica " + c.replicaAddr() + " lost.")
			break
		}
	}
	if len(r.replicas) == 0 {
		r.noReplicasSince = s.clock()
	}
}

func cmdRole(c *Client, args [][]byte) {
	s := c.srv
	if l := s.repl.link; l != nil {
		c.w.Array(5)
		c.w.BulkString("slave")
		c.w.BulkString(l.host)
		c.w.Int(int64(l.port))
		c.w.BulkString(l.roleState())
		if l.state == linkConnected {
			c.w.Int(s.repl.offset)
		} else {
			c.w.Int(-1)
		}
		return
	}
	c.w.Array(3)
	c.w.BulkString("master")
	c.w.Int(s.repl.offset)
	var online []*Client
	for _, r := range s.repl.replicas {
		if r.repl.state == replOnline {
			online = append(online, r)
		}
	}
	c.w.Array(len(online))
	for _, r := range online {
		host, port := r.replicaHostPort()
		c.w.Array(3)
		c.w.BulkString(host)
		c.w.BulkString(strconv.Itoa(port))
		c.w.BulkString(strconv.FormatInt(r.repl.ackOffset, 10))
	}
}

func (c *Client) replicaHostPort() (string, int) {
	host := c.addr
	if h, _, err := splitHostPort(c.addr); err == nil {
		host = h
	}
	if c.repl.ip != "" {
		host = c.repl.ip
	}
	return host, c.repl.listenPort
}

// infoReplication renders the Replication section.
func (s *Server) infoReplication(ib *infoBuilder, now time.Time) {
	r := &s.repl
	ib.section("Replication")
	if l := r.link; l != nil {
		ib.kv("role", "slave")
		ib.kv("master_host", l.host)
		ib.kv("master_port", l.port)
		ib.kv("master_link_status", map[bool]string{true: "up", false: "down"}[l.state == linkConnected])
		lastIO := int64(-1)
		if !l.lastIO.IsZero() && l.state == linkConnected {
			lastIO = int64(now.Sub(l.lastIO).Seconds())
		}
		ib.kv("master_last_io_seconds_ago", lastIO)
		ib.kv("master_sync_in_progress", boolInt(l.state == linkTransfer))
		ib.kv("slave_read_repl_offset", l.readOffset)
		ib.kv("slave_repl_offset", r.offset)
		if l.state == linkTransfer {
			ib.kv("master_sync_total_bytes", l.syncTotal)
			ib.kv("master_sync_read_bytes", l.syncRead)
			left := l.syncTotal - l.syncRead
			if l.syncTotal <= 0 {
				left = 0
			}
			ib.kv("master_sync_left_bytes", left)
			perc := 0.0
			if l.syncTotal > 0 {
				perc = float64(l.syncRead) * 100 / float64(l.syncTotal)
			}
			ib.kv("master_sync_perc", perc)
			ib.kv("master_sync_last_io_seconds_ago", int64(now.Sub(l.lastIO).Seconds()))
		}
		if l.state != linkConnected {
			down := int64(-1)
			if !l.downSince.IsZero() {
				down = int64(now.Sub(l.downSince).Seconds())
			}
			ib.kv("master_link_down_since_seconds", down)
		}
		ib.kv("slave_priority", s.set.Repl.ReplicaPriority)
		ib.kv("slave_read_only", boolInt(s.set.Repl.ReplicaReadOnly))
		ib.kv("replica_announced", 1)
	} else {
		ib.kv("role", "master")
	}
	ib.kv("connected_slaves", len(r.replicas))
	if s.set.Repl.MinReplicasToWrite > 0 && s.set.Repl.MinReplicasMaxLag > 0 {
		ib.kv("min_slaves_good_slaves", s.goodReplicas())
	}
	for i, c := range r.replicas {
		host, port := c.replicaHostPort()
		lag := int64(0)
		if c.repl.state == replOnline {
			lag = int64(now.Sub(c.repl.ackTime).Seconds())
		}
		ib.kv("slave"+strconv.Itoa(i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d", host, port, c.repl.state, c.repl.ackOffset, lag))
	}
	ib.kv("master_failover_state", s.failoverStateName())
	ib.kv("master_replid", r.replid)
	ib.kv("master_replid2", r.replid2)
	ib.kv("master_repl_offset", r.offset)
	ib.kv("second_repl_offset", r.secondOffset)
	if b := r.backlog; b != nil {
		ib.kv("repl_backlog_active", 1)
		ib.kv("repl_backlog_size", int64(len(b.buf)))
		ib.kv("repl_backlog_first_byte_offset", b.first)
		ib.kv("repl_backlog_histlen", b.histlen)
	} else {
		ib.kv("repl_backlog_active", 0)
		ib.kv("repl_backlog_size", s.set.Repl.BacklogSize)
		ib.kv("repl_backlog_first_byte_offset", 0)
		ib.kv("repl_backlog_histlen", 0)
	}
}

// goodReplicas counts online replicas that ACKed within
// min-replicas-max-lag.
func (s *Server) goodReplicas() int {
	now := s.clock()
	n := 0
	for _, c := range s.repl.replicas {
		if c.repl.state == replOnline && now.Sub(c.repl.ackTime) <= s.set.Repl.MinReplicasMaxLag {
			n++
		}
	}
	return n
}

// replCron runs once per cron tick: stream pings, replica timeouts,
// backlog TTL; s.mu is held.
func (s *Server) replCron(now time.Time) {
	r := &s.repl
	set := s.set.Repl
	if r.link == nil && len(r.replicas) > 0 && set.PingPeriod > 0 && now.Sub(r.lastPing) >= set.PingPeriod {
		r.lastPing = now
		s.propagateRaw(resp.AppendCommand(nil, []byte("ping")))
	}
	for _, c := range r.replicas {
		if c.repl.state == replOnline && set.Timeout > 0 && now.Sub(c.repl.ackTime) > set.Timeout {
			s.log.Warn("Disconnecting timedout replica (streaming sync): " + c.replicaAddr())
			c.kill()
		}
	}
	if r.link == nil && r.backlog != nil && len(r.replicas) == 0 && set.BacklogTTL > 0 &&
		!r.noReplicasSince.IsZero() && now.Sub(r.noReplicasSince) > set.BacklogTTL {
		s.log.Info("Replication backlog freed after its TTL without replicas")
		r.backlog = nil
	}
	if len(r.waiters) > 0 {
		s.checkWaiters()
	}
}

// propagateRaw puts bytes into the replication stream only (the PING
// keepalive, GETACK): no SELECT, not in the AOF.
func (s *Server) propagateRaw(b []byte) { s.replFeed(b) }
