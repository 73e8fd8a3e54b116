package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hactl/hactl/engine/acl"
	"github.com/hactl/hactl/engine/aof"
	"github.com/hactl/hactl/engine/keyspace"
)

// Version is the Redis version hactl-engine reports so that clients enable
// the features they know from Redis 7.0.
const Version = "7.0.15"

// HactlVersion is hactl-engine's own version, reported as hactl_version.
var HactlVersion = "0.1.0-dev"

// Settings are the engine's runtime settings. The server reads them under
// its lock; New copies them from the configuration.
type Settings struct {
	Port                   int
	Bind                   []string
	ProtectedMode          bool
	RequirePass            string
	Databases              int
	MaxClients             int
	Timeout                time.Duration // 0: never close idle clients
	ProtoMaxBulkLen        int64
	ClientQueryBufferLimit int64
	Hz                     int
	ActiveExpireEffort     int
	EnableDebugCommand     string // no | yes | local
	ConfigFile             string
	MaxMemory              int64
	MaxMemoryPolicy        string
	// MaxMemorySamples is maxmemory-samples (0: 5); LFULogFactor and
	// LFUDecayTime are lfu-log-factor and lfu-decay-time.
	MaxMemorySamples int
	LFULogFactor     int
	LFUDecayTime     int
	// Encoding thresholds of hashes and sets (hash-max-listpack-entries,
	// hash-max-listpack-value, set-max-intset-entries).
	HashMaxListpackEntries int64
	HashMaxListpackValue   int64
	SetMaxIntsetEntries    int64
	// Encoding thresholds of sorted sets (zset-max-listpack-entries,
	// zset-max-listpack-value).
	ZsetMaxListpackEntries int64
	ZsetMaxListpackValue   int64
	// NotifyKeyspaceEvents holds the enabled notify-keyspace-events
	// letters (K, E, g, $, l, s, h, z, x, e, t, m, d, n, A).
	NotifyKeyspaceEvents string
	// PubsubOutputLimit is client-output-buffer-limit pubsub.
	PubsubOutputLimit OutputLimit
	// Persist holds the RDB and AOF directives.
	Persist PersistSettings
	// Repl holds the replication directives.
	Repl ReplSettings
	// TLS holds the TLS directives.
	TLS TLSSettings
	// ACLFile is aclfile; Users holds the config file's user directives
	// (the arguments after "user"); ACLLogMaxLen is acl-log-max-len.
	ACLFile      string
	Users        [][]string
	ACLLogMaxLen int
	// IOModel is hactl-io-model: "goroutine" (default: one goroutine per
	// connection) or "eventloop" (plain TCP clients served from one epoll
	// loop, see eventloop_linux.go).
	IOModel string
}

// Config is what the server needs from the configuration subsystem:
// settings plus CONFIG GET/SET/REWRITE. engine/config implements it.
type Config interface {
	Settings() Settings
	Get(patterns ...string) [][2]string
	Set(args []string) (changed []string, err error)
	// Rewrite is CONFIG REWRITE; rt is the runtime state that belongs in
	// the file (replicaof follows REPLICAOF, as in Redis: a node restarted
	// after a failover comes back as a replica of the new master).
	Rewrite(rt RuntimeState) error
}

// RuntimeState is what CONFIG REWRITE persists beyond CONFIG SET values.
type RuntimeState struct {
	ReplicaOfHost string // "" when this node is a master
	ReplicaOfPort int
}

// Server is a running hactl-engine.
type Server struct {
	log *slog.Logger
	cfg Config
	// cmds is the command table; immutable after New.
	cmds commandTable
	// acl holds the users; aclCmds maps the table to the ACL catalog.
	acl     *acl.Store
	aclCmds map[*command]*acl.Command
	aclPass string // requirepass last applied to the default user
	initErr error  // startup failure (ACL), reported by Listen

	// mu is the execution lock: it guards everything below that is not
	// atomic, and every command runs with it held.
	mu       sync.Mutex
	set      Settings
	dbs      []*keyspace.DB
	clients  map[int64]*Client
	monitors map[*Client]struct{}
	ps       pubsub
	str      stream
	pst      persistState
	repl     replState
	pause    pauseState
	tls      tlsState
	// tlsAuthClients mirrors tls-auth-clients for handshakes (no lock).
	tlsAuthClients atomic.Value
	failover       failoverState
	snapJob        *snapshotJob // the snapshot being written, if any
	aofW           atomic.Pointer[aof.Writer]
	// aofAlwaysFlag mirrors appendfsync always for lock-free readers.
	aofAlwaysFlag atomic.Bool
	watchers      map[dbKey][]*Client
	// lastStat caches the stats entry of the last command (pipelines and
	// benchmarks repeat one command); reset with the stats.
	lastStat     *cmdStat
	lastStatName string
	blocked      map[dbKey][]*Client // clients parked on a key, in arrival order
	ready        []dbKey
	readySet     map[dbKey]bool
	rnd          *mrand.Rand
	ctx          keyspace.Ctx
	stats        stats
	dirty        int64 // changes since the last save
	// activeExpireOff is DEBUG SET-ACTIVE-EXPIRE 0.
	activeExpireOff bool
	ev              evictor // maxmemory state (evict.go)

	maxBulk      atomic.Int64 // copy of ProtoMaxBulkLen for the parsers
	nextClientID atomic.Int64
	listeners    []net.Listener
	loop         *eventLoop // nil unless hactl-io-model eventloop
	runID        string
	startTime    time.Time
	shutdownCh   chan shutdownRequest
	closing      atomic.Bool
	wg           sync.WaitGroup
	clock        func() time.Time
}

type shutdownRequest struct{ save, nosave, abort bool }

type stats struct {
	connectionsReceived int64
	commandsProcessed   int64
	rejectedConns       int64
	expiredKeys         int64
	evictedKeys         int64
	keyspaceHits        int64
	keyspaceMisses      int64
	errorReplies        int64
	blockedClients      int64
	errorCodes          map[string]int64
	netInput            atomic.Int64
	netOutput           atomic.Int64
	cmdStats            map[string]*cmdStat
}

type cmdStat struct {
	calls, usec, rejected, failed int64
}

// New creates a server from a configuration; it does not listen yet.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s := &Server{
		log:        log,
		cfg:        cfg,
		clients:    map[int64]*Client{},
		monitors:   map[*Client]struct{}{},
		ps:         newPubsub(),
		str:        stream{lastDB: -1},
		watchers:   map[dbKey][]*Client{},
		blocked:    map[dbKey][]*Client{},
		readySet:   map[dbKey]bool{},
		rnd:        mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid()))),
		runID:      newRunID(),
		startTime:  time.Now(),
		shutdownCh: make(chan shutdownRequest, 1),
		clock:      time.Now,
		cmds:       buildCommands(),
	}
	// Redis's first clients are internal (scripting, functions): the first
	// connection gets id 3. Matching it keeps CLIENT ID/HELLO identical.
	s.nextClientID.Store(2)
	s.pst.lastBgsaveOK = true
	s.pst.aofLastRewriteOK = true
	s.pst.lastSave = s.startTime
	// Bound once: a method value built per batch would allocate.
	s.ctx.OnExpire = s.onExpire
	s.repl.replid = newReplID()
	s.repl.replid2 = strings.Repeat("0", 40)
	s.repl.secondOffset = -1
	s.applySettings(cfg.Settings())
	if err := s.initACL(); err != nil {
		s.initErr = fmt.Errorf("ACL: %w", err)
	}
	s.stats.errorCodes = map[string]int64{}
	s.stats.cmdStats = map[string]*cmdStat{}
	return s
}

func newRunID() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// applySettings installs new settings; s.mu must be held (or the server not
// yet running).
func (s *Server) applySettings(set Settings) {
	if set.Databases <= 0 {
		set.Databases = 16
	}
	if set.Hz <= 0 {
		set.Hz = 10
	}
	if set.ProtoMaxBulkLen <= 0 {
		set.ProtoMaxBulkLen = 512 << 20
	}
	if set.TLS.AuthClients == "" {
		set.TLS.AuthClients = "yes"
	}
	s.set = set
	s.tlsAuthClients.Store(set.TLS.AuthClients)
	s.maxBulk.Store(set.ProtoMaxBulkLen)
	s.applyEvictionSettings()
	s.aofAlwaysFlag.Store(strings.EqualFold(set.Persist.AppendFsync, "always"))
	for len(s.dbs) < set.Databases {
		s.dbs = append(s.dbs, keyspace.NewDB(len(s.dbs)))
	}
	s.syncRequirePass()
}

// Listen opens the configured listeners. It fails, naming the address,
// when any of them cannot be opened.
func (s *Server) Listen(ctx context.Context) error {
	if s.initErr != nil {
		return s.initErr
	}
	binds := s.set.Bind
	if len(binds) == 0 {
		binds = []string{"*", "-::*"}
	}
	if err := s.listenTLS(ctx, binds); err != nil {
		s.closeListeners()
		return err
	}
	if s.set.Port == 0 && s.set.TLS.Port > 0 {
		return nil // port 0: TLS only
	}
	var lc net.ListenConfig
	for _, b := range binds {
		optional := false
		if len(b) > 0 && b[0] == '-' {
			optional, b = true, b[1:]
		}
		host := b
		network := "tcp"
		switch b {
		case "*":
			host, network = "0.0.0.0", "tcp4"
		case "::*":
			host, network = "::", "tcp6"
		}
		addr := net.JoinHostPort(host, strconv.Itoa(s.set.Port))
		ln, err := lc.Listen(ctx, network, addr)
		if err != nil {
			if optional {
				s.log.Warn("optional bind address unavailable", "addr", addr, "err", err)
				continue
			}
			s.closeListeners()
			return fmt.Errorf("Failed listening on port %d (tcp), aborting: listen %s: %w", s.set.Port, addr, err)
		}
		s.listeners = append(s.listeners, ln)
	}
	if len(s.listeners) == 0 {
		return fmt.Errorf("Failed listening on port %d (tcp), aborting: no usable bind address", s.set.Port)
	}
	return nil
}

// Addrs returns the listening addresses.
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, ln := range s.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		ln.Close()
	}
}

// Serve accepts connections until ctx is cancelled or SHUTDOWN is called,
// then closes every client and returns.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ioModel := s.set.IOModel
	s.mu.Unlock()
	if ioModel == IOModelEventLoop {
		if l, err := newEventLoop(s); err != nil {
			s.log.Warn("event loop unavailable: serving clients with goroutines", "err", err)
		} else {
			s.loop = l
			s.wg.Add(1)
			go l.run()
		}
	}
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go s.acceptLoop(ln)
	}
	cronCtx, stopCron := context.WithCancel(ctx)
	defer stopCron()
	s.wg.Add(1)
	go s.cron(cronCtx)
	var req shutdownRequest
	select {
	case <-ctx.Done():
	case req = <-s.shutdownCh:
	}
	s.closing.Store(true)
	s.mu.Lock()
	s.stopLink()
	s.mu.Unlock()
	var perr error
	if !req.abort {
		s.mu.Lock()
		perr = s.shutdownPersist(req.save, req.nosave)
		s.mu.Unlock()
	}
	if perr != nil {
		s.log.Warn("Error trying to save the DB, can't exit.", "err", perr)
	}
	stopCron()
	s.closeListeners()
	s.mu.Lock()
	for _, c := range s.clients {
		c.conn.Close()
	}
	s.mu.Unlock()
	if s.loop != nil {
		s.loop.wake()
	}
	s.wg.Wait()
	s.mu.Lock()
	s.releaseMemoryLimit()
	s.mu.Unlock()
	s.log.Info("hactl-engine is now ready to exit, bye bye")
	return nil
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary failure (EMFILE...): back off like net/http.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			s.log.Warn("accept failed", "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.accept(conn)
	}
}

func (s *Server) accept(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlivePeriod(300 * time.Second)
	}
	s.mu.Lock()
	if len(s.clients) >= s.set.MaxClients && s.set.MaxClients > 0 {
		s.stats.rejectedConns++
		s.mu.Unlock()
		conn.Write([]byte("-" + errMaxClients + "\r\n"))
		conn.Close()
		return
	}
	if s.set.ProtectedMode && s.set.RequirePass == "" && !isLoopback(conn.RemoteAddr()) {
		s.stats.rejectedConns++
		s.mu.Unlock()
		conn.Write([]byte("-" + errDenied + "\r\n"))
		conn.Close()
		return
	}
	var lc *loopConn
	if s.loop != nil {
		if l, err := s.loop.adopt(conn); err == nil {
			lc, conn = l, l
		}
	}
	c := newClient(s, conn)
	s.clients[c.id] = c
	s.stats.connectionsReceived++
	s.mu.Unlock()
	if lc != nil {
		if !s.loop.add(c, lc) {
			c.cleanup()
		}
		return
	}
	s.wg.Add(1)
	go c.serve()
}

// I/O models (hactl-io-model).
const (
	IOModelGoroutine = "goroutine"
	IOModelEventLoop = "eventloop"
)

func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// cron is Redis's serverCron: active expiry, idle client timeouts and
// incremental rehashing, hz times per second.
func (s *Server) cron(ctx context.Context) {
	defer s.wg.Done()
	s.mu.Lock()
	hz := s.set.Hz
	s.mu.Unlock()
	t := time.NewTicker(time.Second / time.Duration(hz))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		s.refreshCtx()
		if s.pause.active && !s.pause.until.IsZero() && !s.clock().Before(s.pause.until) {
			s.unpause()
		}
		if !s.activeExpireOff && !s.pause.active {
			keyspace.ActiveExpire(&s.ctx, s.dbs, keyspace.ExpireCycleConfig{Effort: s.set.ActiveExpireEffort, Hz: s.set.Hz}, s.clock)
		}
		for _, db := range s.dbs {
			db.Cron()
		}
		s.closeIdleClientsLocked()
		s.persistCron(s.clock())
		s.replCron(s.clock())
		s.failoverCheck()
		if s.set.Hz != hz {
			hz = s.set.Hz
			t.Reset(time.Second / time.Duration(hz))
		}
		s.mu.Unlock()
	}
}

// refreshCtx updates the cached command time; s.mu must be held.
func (s *Server) refreshCtx() {
	now := s.clock()
	s.ctx.Now = now.UnixMilli()
	s.ctx.LRU = uint32(now.Unix()) & (1<<24 - 1)
	s.ctx.Replica = s.repl.link != nil
}

func (s *Server) onExpire(db *keyspace.DB, key string) {
	s.stats.expiredKeys++
	s.propagateExpired(db.ID, key)
	s.keyModified(db.ID, []byte(key))
	s.notifyKeyspace(notifyExpired, "expired", []byte(key), db.ID)
}

func (s *Server) closeIdleClientsLocked() {
	if s.set.Timeout <= 0 {
		return
	}
	now := s.clock().UnixMilli()
	for _, c := range s.clients {
		if c.isMonitor || c.blockedOrSubscribed() {
			continue
		}
		if now-c.lastInteraction.Load() > s.set.Timeout.Milliseconds() {
			s.log.Debug("closing idle client", "id", c.id, "addr", c.addr)
			c.conn.Close()
		}
	}
}

// Abort stops Serve without saving anything (a failed start-up: saving
// would overwrite the files that could not be loaded).
func (s *Server) Abort() { s.shutdown(shutdownRequest{abort: true}) }

// Shutdown asks Serve to stop, saving as configured.
func (s *Server) Shutdown() { s.shutdown(shutdownRequest{}) }

func (s *Server) shutdown(req shutdownRequest) {
	select {
	case s.shutdownCh <- req:
	default:
	}
}
