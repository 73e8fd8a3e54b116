package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// The replica side: the link to the master (connect, handshake, PSYNC,
// full or partial sync, then applying and proxying the stream).

type linkState int

const (
	linkConnect linkState = iota
	linkConnecting
	linkHandshake
	linkTransfer
	linkConnected
)

// masterLink is this server's connection to its master; its fields are
// guarded by the server lock, except conn/wmu used by the link goroutine.
type masterLink struct {
	host       string
	port       int
	state      linkState
	lastIO     time.Time
	downSince  time.Time
	readOffset int64
	syncTotal  int64
	syncRead   int64
	cancel     context.CancelFunc
	done       chan struct{}
	wmu        sync.Mutex // serializes writes to conn (ACKs)
	failover   bool       // send PSYNC ... FAILOVER (coordinated switchover)
	conn       net.Conn
}

func (l *masterLink) roleState() string {
	switch l.state {
	case linkConnecting:
		return "connecting"
	case linkHandshake:
		return "handshake"
	case linkTransfer:
		return "sync"
	case linkConnected:
		return "connected"
	}
	return "connect"
}

// isReplica reports whether this server replicates from a master.
func (s *Server) isReplica() bool { return s.repl.link != nil }

func (s *Server) linkUp() bool { return s.repl.link != nil && s.repl.link.state == linkConnected }

func (s *Server) roleName() string {
	if s.isReplica() {
		return "replica"
	}
	return "master"
}

func splitHostPort(addr string) (string, string, error) { return net.SplitHostPort(addr) }

func cmdReplicaof(c *Client, args [][]byte) {
	s := c.srv
	if c.repl != nil && c.repl.state != "" {
		c.replyError("ERR Command is not valid when client is a replica.")
		return
	}
	if strings.EqualFold(string(args[1]), "no") && strings.EqualFold(string(args[2]), "one") {
		if s.isReplica() {
			s.stopLink()
			s.shiftReplID()
			s.disconnectReplicas()
			s.str.lastDB = -1
			s.log.Info("MASTER MODE enabled (user request from '" + c.addr + "')")
		}
		c.w.OK()
		return
	}
	port, ok := parseInt64(args[2])
	if !ok || port < 0 || port > 65535 {
		c.replyError(errNotInt)
		return
	}
	host := string(args[1])
	if l := s.repl.link; l != nil && l.host == host && l.port == int(port) {
		c.w.Simple("OK Already connected to specified master")
		return
	}
	s.startLink(host, int(port))
	s.log.Info(fmt.Sprintf("REPLICAOF %s:%d enabled (user request from '%s')", host, port, c.addr))
	c.w.OK()
}

// startLink points this server at a master; s.mu is held.
func (s *Server) startLink(host string, port int) {
	s.stopLink()
	if s.repl.replid == "" {
		s.repl.replid = newReplID()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &masterLink{host: host, port: port, cancel: cancel, done: make(chan struct{}), downSince: s.clock()}
	s.repl.link = l
	s.refreshCtx()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(l.done)
		s.runLink(ctx, l)
	}()
}

// stopLink drops the master link; s.mu is held.
func (s *Server) stopLink() {
	l := s.repl.link
	if l == nil {
		return
	}
	l.cancel()
	l.wmu.Lock()
	if l.conn != nil {
		l.conn.Close()
	}
	l.wmu.Unlock()
	s.repl.link = nil
	s.refreshCtx()
}

// runLink keeps the link up until ctx ends, reconnecting with backoff.
func (s *Server) runLink(ctx context.Context, l *masterLink) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := s.linkOnce(ctx, l)
		s.mu.Lock()
		if s.repl.link == l {
			if l.state == linkConnected {
				s.log.Info("Connection with master lost.", "err", err)
			} else if err != nil {
				s.log.Warn("Unable to sync with MASTER "+net.JoinHostPort(l.host, strconv.Itoa(l.port)), "err", err)
			}
			l.state = linkConnect
			if l.downSince.IsZero() || err != nil {
				l.downSince = s.clock()
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

type linkConfig struct {
	tls                    bool
	auth, user, announceIP string
	listenPort             int
	timeout                time.Duration
	dir                    string
}

// linkOnce runs one connection to the master, until it fails.
func (s *Server) linkOnce(ctx context.Context, l *masterLink) error {
	s.mu.Lock()
	cfg := linkConfig{tls: s.set.TLS.Replication, auth: s.set.Repl.MasterAuth, user: s.set.Repl.MasterUser, announceIP: s.set.Repl.ReplicaAnnounceIP,
		listenPort: s.set.Port, timeout: s.set.Repl.Timeout, dir: s.set.Persist.Dir}
	if cfg.tls && s.set.TLS.Port > 0 {
		cfg.listenPort = s.set.TLS.Port
	}
	if s.set.Repl.ReplicaAnnouncePort > 0 {
		cfg.listenPort = s.set.Repl.ReplicaAnnouncePort
	}
	if cfg.listenPort == 0 && len(s.listeners) > 0 {
		if a, ok := s.listeners[0].Addr().(*net.TCPAddr); ok {
			cfg.listenPort = a.Port
		}
	}
	if cfg.timeout <= 0 {
		cfg.timeout = 60 * time.Second
	}
	l.state = linkConnecting
	addr := net.JoinHostPort(l.host, strconv.Itoa(l.port))
	s.log.Info("Connecting to MASTER " + addr)
	s.mu.Unlock()

	d := net.Dialer{Timeout: cfg.timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("Error condition on socket for SYNC: %w", err)
	}
	if cfg.tls {
		tcfg, terr := s.clientTLSConfig(l.host)
		if terr != nil {
			conn.Close()
			return terr
		}
		tc := tls.Client(conn, tcfg)
		hctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return fmt.Errorf("TLS handshake with MASTER %s failed: %w", addr, err)
		}
		conn = tc
	}
	defer conn.Close()
	l.wmu.Lock()
	l.conn = conn
	l.wmu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.Info("MASTER <-> REPLICA sync started")
	br := bufio.NewReaderSize(conn, 64<<10)
	deadline := func() { conn.SetDeadline(time.Now().Add(cfg.timeout)) }
	deadline()
	s.setLinkState(l, linkHandshake)

	// PING, then the rest of the handshake pipelined (3.1).
	if _, err := conn.Write(resp.AppendCommand(nil, []byte("PING"))); err != nil {
		return err
	}
	line, err := readLine(br)
	if err != nil {
		return fmt.Errorf("reading PING reply: %w", err)
	}
	if !strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "-NOAUTH") && !strings.HasPrefix(line, "-NOPERM") && !strings.HasPrefix(line, "-ERR operation not permitted") {
		return fmt.Errorf("Error reply to PING from master: '%s'", line)
	}
	var hs []byte
	n := 0
	if cfg.auth != "" {
		if cfg.user != "" {
			hs = resp.AppendCommand(hs, []byte("AUTH"), []byte(cfg.user), []byte(cfg.auth))
		} else {
			hs = resp.AppendCommand(hs, []byte("AUTH"), []byte(cfg.auth))
		}
		n++
	}
	hs = resp.AppendCommand(hs, []byte("REPLCONF"), []byte("listening-port"), []byte(strconv.Itoa(cfg.listenPort)))
	if cfg.announceIP != "" {
		hs = resp.AppendCommand(hs, []byte("REPLCONF"), []byte("ip-address"), []byte(cfg.announceIP))
	}
	hs = resp.AppendCommand(hs, []byte("REPLCONF"), []byte("capa"), []byte("eof"), []byte("capa"), []byte("psync2"))
	if _, err := conn.Write(hs); err != nil {
		return err
	}
	if cfg.auth != "" {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "-") {
			// The password is never logged, only the master's answer.
			return fmt.Errorf("Unable to AUTH to MASTER: %s", line)
		}
	}
	for i := 0; i < 2 && err == nil; i++ {
		if cfg.announceIP == "" && i == 1 {
			break
		}
		if line, err = readLine(br); err == nil && strings.HasPrefix(line, "-") {
			s.log.Info("(Non critical) Master does not understand REPLCONF: " + line)
		}
	}
	if line, err = readLine(br); err != nil { // capa
		return err
	}

	// PSYNC with our history, if any.
	s.mu.Lock()
	replid, psyncOff := "?", int64(-1)
	if s.repl.replid != "" && (s.repl.backlog != nil || s.repl.offset > 0) {
		replid, psyncOff = s.repl.replid, s.repl.offset+1
	}
	psync := [][]byte{[]byte("PSYNC"), []byte(replid), []byte(strconv.FormatInt(psyncOff, 10))}
	if l.failover {
		psync = append(psync, []byte("FAILOVER"))
	}
	s.mu.Unlock()
	if _, err := conn.Write(resp.AppendCommand(nil, psync...)); err != nil {
		return err
	}
	for {
		deadline()
		line, err = readLine(br)
		if err != nil {
			return err
		}
		if line != "" {
			break // empty lines are keepalives
		}
	}
	switch {
	case strings.HasPrefix(line, "+FULLRESYNC"):
		f := strings.Fields(line)
		if len(f) != 3 || len(f[1]) != 40 {
			return fmt.Errorf("Master replied with wrong +FULLRESYNC syntax: %q", line)
		}
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("Master replied with wrong +FULLRESYNC syntax: %q", line)
		}
		s.log.Info("Full resync from master: " + f[1] + ":" + f[2])
		eof, err := s.receiveRDB(ctx, l, br, conn, cfg, f[1], off)
		if err != nil {
			return err
		}
		if eof {
			l.sendACK(s.currentOffset())
		}
	case strings.HasPrefix(line, "+CONTINUE"):
		f := strings.Fields(line)
		s.mu.Lock()
		if len(f) == 2 && f[1] != s.repl.replid {
			s.repl.replid2 = s.repl.replid
			s.repl.secondOffset = s.repl.offset + 1
			s.repl.replid = f[1]
			s.disconnectReplicas()
		}
		if s.repl.backlog == nil {
			s.repl.backlog = newBacklog(s.set.Repl.BacklogSize, s.repl.offset+1)
		}
		l.readOffset = s.repl.offset
		s.mu.Unlock()
		s.log.Info("Successful partial resynchronization with master.")
	default:
		if l.failover {
			s.mu.Lock()
			s.abortFailover("the target refused the FAILOVER PSYNC: " + line)
			s.mu.Unlock()
		}
		return fmt.Errorf("Unexpected reply to PSYNC from master: %q", line)
	}
	s.mu.Lock()
	l.state = linkConnected
	l.lastIO = s.clock()
	l.downSince = time.Time{}
	s.refreshCtx()
	if l.failover {
		s.failoverDone(l)
	}
	s.mu.Unlock()
	s.log.Info("MASTER <-> REPLICA sync: Finished with success")
	return s.streamFromMaster(ctx, l, br, conn, cfg.timeout)
}

func (s *Server) setLinkState(l *masterLink, st linkState) {
	s.mu.Lock()
	l.state = st
	s.mu.Unlock()
}

func (s *Server) currentOffset() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repl.offset
}

// sendACK writes REPLCONF ACK <offset> to the master.
func (l *masterLink) sendACK(off int64) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.conn != nil {
		l.conn.Write(resp.AppendCommand(nil, []byte("REPLCONF"), []byte("ACK"), []byte(strconv.FormatInt(off, 10))))
	}
}

// readLine reads a CRLF (or LF) terminated line without the terminator.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// receiveRDB reads the payload into a temp file, then replaces the
// dataset with it. It reports whether the EOF-marked form was used.
func (s *Server) receiveRDB(ctx context.Context, l *masterLink, br *bufio.Reader, conn net.Conn, cfg linkConfig, replid string, off int64) (bool, error) {
	var line string
	var err error
	for {
		conn.SetDeadline(time.Now().Add(cfg.timeout))
		if line, err = readLine(br); err != nil {
			return false, err
		}
		if line == "" {
			continue
		}
		if line[0] == '-' {
			return false, fmt.Errorf("MASTER aborted replication with an error: %s", line)
		}
		if line[0] != '$' {
			return false, fmt.Errorf("Bad protocol from MASTER, the first byte is not '$' (we received '%s')", line)
		}
		break
	}
	dir := cfg.dir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("temp-%d-*.rdb", os.Getpid()))
	if err != nil {
		return false, fmt.Errorf("Opening the temp file needed for MASTER <-> REPLICA synchronization: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	eof := strings.HasPrefix(line, "$EOF:")
	s.mu.Lock()
	l.state = linkTransfer
	l.syncRead = 0
	l.syncTotal = -1
	s.mu.Unlock()
	progress := func(n int) {
		s.mu.Lock()
		l.syncRead += int64(n)
		l.lastIO = s.clock()
		s.mu.Unlock()
		conn.SetDeadline(time.Now().Add(cfg.timeout))
	}
	if eof {
		mark := []byte(line[5:])
		if len(mark) != 40 {
			return false, fmt.Errorf("bad $EOF mark from master: %q", line)
		}
		s.mu.Lock()
		l.syncTotal = 0
		s.mu.Unlock()
		if err := copyUntilMark(f, br, mark, progress); err != nil {
			return false, err
		}
	} else {
		size, err := strconv.ParseInt(line[1:], 10, 64)
		if err != nil || size < 0 {
			return false, fmt.Errorf("bad bulk length from master: %q", line)
		}
		s.mu.Lock()
		l.syncTotal = size
		s.mu.Unlock()
		if err := copyN(f, br, size, progress); err != nil {
			return false, err
		}
	}
	if err := f.Sync(); err != nil {
		return false, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	s.log.Info("MASTER <-> REPLICA sync: Flushing old data")
	s.mu.Lock()
	for _, db := range s.dbs {
		s.dbFlushed(db.ID)
		db.Flush()
	}
	s.pst.loading = true
	s.mu.Unlock()
	s.log.Info("MASTER <-> REPLICA sync: Loading DB in memory")
	_, lerr := s.loadRDBStream(bufio.NewReaderSize(f, 1<<20))
	s.mu.Lock()
	s.pst.loading = false
	if lerr == nil {
		s.repl.replid = replid
		s.repl.replid2 = strings.Repeat("0", 40)
		s.repl.secondOffset = -1
		s.repl.offset = off
		s.repl.backlog = newBacklog(s.set.Repl.BacklogSize, off+1)
		l.readOffset = off
		s.disconnectReplicas()
	}
	s.mu.Unlock()
	if lerr != nil {
		return eof, fmt.Errorf("Failed trying to load the MASTER synchronization DB from disk: %w", lerr)
	}
	return eof, nil
}

func copyN(dst io.Writer, src io.Reader, n int64, progress func(int)) error {
	buf := make([]byte, 64<<10)
	for n > 0 {
		m, err := src.Read(buf[:min(int64(len(buf)), n)])
		if m > 0 {
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return werr
			}
			n -= int64(m)
			progress(m)
		}
		if err != nil && n > 0 {
			return fmt.Errorf("I/O error trying to sync with MASTER: %w", err)
		}
	}
	return nil
}

// copyUntilMark copies src to dst until the last 40 bytes read equal
// mark, which is not copied. The mark may be split across reads.
func copyUntilMark(dst io.Writer, src io.Reader, mark []byte, progress func(int)) error {
	buf := make([]byte, 64<<10)
	var tail []byte // bytes held back because they may start the mark
	for {
		m, err := src.Read(buf)
		if m > 0 {
			progress(m)
			tail = append(tail, buf[:m]...)
			if len(tail) >= len(mark) && bytes.Equal(tail[len(tail)-len(mark):], mark) {
				_, werr := dst.Write(tail[:len(tail)-len(mark)])
				return werr
			}
			if keep := len(mark); len(tail) > keep {
				if _, werr := dst.Write(tail[:len(tail)-keep]); werr != nil {
					return werr
				}
				tail = append(tail[:0], tail[len(tail)-keep:]...)
			}
		}
		if err != nil {
			return fmt.Errorf("I/O error trying to sync with MASTER: %w", err)
		}
	}
}

// streamFromMaster applies the master's stream and proxies it to our own
// replicas, byte for byte, until the link fails.
func (s *Server) streamFromMaster(ctx context.Context, l *masterLink, br *bufio.Reader, conn net.Conn, timeout time.Duration) error {
	mc := s.newMasterClient()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // REPLCONF ACK once per second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.sendACK(s.currentOffset())
			}
		}
	}()
	var p resp.Parser
	p.MaxBulk = 1 << 40
	buf := make([]byte, 0, 64<<10)
	tmp := make([]byte, 64<<10)
	var argv [][]byte
	for {
		conn.SetReadDeadline(time.Now().Add(timeout))
		n, err := br.Read(tmp)
		if n > 0 {
			buf = append(buf, tmp[:n]...)
			s.mu.Lock()
			l.lastIO = s.clock()
			l.readOffset += int64(n)
			s.refreshCtx()
			start := 0
			for start < len(buf) {
				var m int
				var perr error
				argv, m, perr = p.Parse(buf[start:], argv[:0])
				if perr == resp.ErrIncomplete {
					break
				}
				if perr != nil {
					s.mu.Unlock()
					return fmt.Errorf("protocol error in the master stream: %w", perr)
				}
				raw := buf[start : start+m]
				start += m
				if len(argv) == 0 {
					continue
				}
				if strings.EqualFold(string(argv[0]), "replconf") && len(argv) >= 2 && strings.EqualFold(string(argv[1]), "getack") {
					// Answered with the offset before this command.
					off := s.repl.offset
					go l.sendACK(off)
				} else {
					s.str.fromMaster = true
					mc.exec(argv)
					s.str.fromMaster = false
					mc.w.Reset()
				}
				s.replFeed(raw)
			}
			s.mu.Unlock()
			buf = append(buf[:0], buf[start:]...)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("MASTER timeout: no data nor PING received")
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// newMasterClient executes the master's stream: no replies, no read-only
// check, never blocked.
func (s *Server) newMasterClient() *Client {
	c := &Client{srv: s, id: -2, addr: "master", user: "default", authenticated: true, created: time.Now()}
	c.w.Proto = 2
	return c
}
