package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
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
	// (the arguments after "user"); ACLLogMaxLen is acllog-max-len, 0
	// meaning the default (128) so that a zero Settings works, ACLLogNone
	// meaning acllog-max-len 0 (no entry is kept).
	ACLFile      string
	Users        [][]string
	ACLLogMaxLen int
	// IOModel is hactl-io-model: "goroutine" (default: one goroutine per
	// connection) or "eventloop" (plain TCP clients served from one epoll
	// loop, see eventloop_linux.go).
	IOModel string
}

// ACLLogNone is the Settings.ACLLogMaxLen of acllog-max-len 0: the ACL LOG
// keeps no entry.
const ACLLogNone = -1

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

// ChangeHooker is implemented by a Config whose Set calls back into the
// server for each directive whose value changed, once every new value is
// in place and before Set returns; an error from the hook makes Set restore
// the old values, call the hook again for the directives already reported
// and fail with the hook's text (engine/config's OnChange). The server
// opens the listeners of a new port or tls-port there. Without it, CONFIG
// SET of port and tls-port changes no listener.
type ChangeHooker interface {
	SetChangeHook(hook func(name string) error)
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
	failover failoverState
	snapJob  *snapshotJob // the snapshot being written, if any
	aofW     atomic.Pointer[aof.Writer]
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
	listeners    []net.Listener // open listeners; TLS ones are tlsListener
	ports        [numListenerKinds]portState
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
	if h, ok := cfg.(ChangeHooker); ok {
		h.SetChangeHook(s.applyChange)
	}
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
	s.maxBulk.Store(set.ProtoMaxBulkLen)
	s.applyEvictionSettings()
	s.aofAlwaysFlag.Store(strings.EqualFold(set.Persist.AppendFsync, "always"))
	for len(s.dbs) < set.Databases {
		s.dbs = append(s.dbs, keyspace.NewDB(len(s.dbs)))
	}
	s.syncRequirePass()
}

// Listen opens the configured listeners. It fails, naming the address,
// when any of them cannot be opened. Port 0 without a tls-port listens on
// an ephemeral port (tests); with one, it means TLS only.
func (s *Server) Listen(ctx context.Context) error {
	if s.initErr != nil {
		return s.initErr
	}
	binds := bindAddrs(s.set)
	if err := s.listenTLS(ctx, binds); err != nil {
		s.closeListeners()
		return err
	}
	s.ports[lnTLS].port = s.set.TLS.Port
	s.ports[lnPlain].port = s.set.Port
	if s.set.Port == 0 && s.set.TLS.Port > 0 {
		return nil // port 0: TLS only
	}
	lns, err := s.openListeners(ctx, binds, s.set.Port, nil)
	if err != nil {
		s.closeListeners()
		return err
	}
	s.listeners = append(s.listeners, lns...)
	return nil
}

// bindAddrs is bind, or Redis's default "* -::*".
func bindAddrs(set Settings) []string {
	if len(set.Bind) == 0 {
		return []string{"*", "-::*"}
	}
	return set.Bind
}

// Listener kinds: indexes of Server.ports.
const (
	lnPlain = iota
	lnTLS
	numListenerKinds
)

// tlsListener marks the TLS listeners in Server.listeners.
type tlsListener struct{ net.Listener }

func listenerKind(ln net.Listener) int {
	if _, ok := ln.(tlsListener); ok {
		return lnTLS
	}
	return lnPlain
}

// portState is the port of one kind of listener, and the listeners a
// CONFIG SET in progress opened for a new one (Redis's changeListenPort,
// made atomic: the new port is bound before the old one is closed, and
// only once the whole CONFIG SET has succeeded).
type portState struct {
	port       int // the port the open listeners were asked for
	staged     bool
	stagedPort int
	stagedLns  []net.Listener
}

// dropStaged closes the listeners staged for a new port.
func (p *portState) dropStaged() {
	for _, ln := range p.stagedLns {
		ln.Close()
	}
	p.staged, p.stagedPort, p.stagedLns = false, 0, nil
}

// openListeners binds port on every bind address ("-" marks an optional
// one), wrapping the listeners in TLS when cfg is not nil. On failure it
// closes what it opened.
func (s *Server) openListeners(ctx context.Context, binds []string, port int, cfg *tls.Config) ([]net.Listener, error) {
	proto := "tcp"
	if cfg != nil {
		proto = "tls"
	}
	var lc net.ListenConfig
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, fmt.Errorf("Failed listening on port %d (%s), aborting: %w", port, proto, err)
	}
	for _, b := range binds {
		optional := strings.HasPrefix(b, "-")
		b = strings.TrimPrefix(b, "-")
		host, network := b, "tcp"
		switch b {
		case "*":
			host, network = "0.0.0.0", "tcp4"
		case "::*":
			host, network = "::", "tcp6"
		}
		ln, err := lc.Listen(ctx, network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if optional {
				s.log.Warn("optional bind address unavailable", "err", err)
				continue
			}
			return fail(err)
		}
		if cfg != nil {
			ln = tlsListener{tls.NewListener(ln, cfg)}
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return fail(errors.New("no usable bind address"))
	}
	return lns, nil
}

// Redis's replies when a CONFIG SET of port or tls-port cannot be applied.
const (
	errListenPort = "Unable to listen on this port. Check server logs."
	errTLSConfig  = "Unable to update TLS configuration. Check server logs."
)

// applyChange is the Config's change hook (ChangeHooker): it runs inside
// CONFIG SET with s.mu held. A new port or tls-port is bound here and
// replaces the old listeners in commitListeners; port 0 and tls-port 0
// close them. Connections already accepted stay open.
func (s *Server) applyChange(name string) error {
	switch name {
	case "port":
		return s.stagePort(lnPlain, s.cfg.Settings())
	case "tls-port":
		return s.stagePort(lnTLS, s.cfg.Settings())
	}
	return nil
}

// stagePort opens the listeners of kind for the port in set (the new
// configuration); s.mu is held.
func (s *Server) stagePort(kind int, set Settings) error {
	p := &s.ports[kind]
	p.dropStaged()
	port := set.Port
	if kind == lnTLS {
		port = set.TLS.Port
	}
	if port == p.port {
		return nil // back to the open listeners (a CONFIG SET rolled back)
	}
	if port == 0 {
		p.staged, p.stagedPort = true, 0
		return nil
	}
	var cfg *tls.Config
	if kind == lnTLS {
		if s.tls.Load() == nil {
			if err := s.loadTLS(set.TLS); err != nil {
				s.log.Warn("CONFIG SET tls-port: can't configure TLS", "err", err)
				return errors.New(errTLSConfig)
			}
		}
		cfg = s.tls.ServerConfig()
	}
	// Binding a local address does not wait on the network.
	lns, err := s.openListeners(context.Background(), bindAddrs(set), port, cfg)
	if err != nil {
		s.log.Warn("CONFIG SET: the previous port stays in use", "err", err)
		return errors.New(errListenPort)
	}
	p.staged, p.stagedPort, p.stagedLns = true, port, lns
	return nil
}

// commitListeners replaces the listeners of each kind that CONFIG SET
// staged a new port for, once the whole CONFIG SET succeeded; s.mu is
// held.
func (s *Server) commitListeners() {
	for kind := range s.ports {
		p := &s.ports[kind]
		if !p.staged {
			continue
		}
		keep := make([]net.Listener, 0, len(s.listeners)+len(p.stagedLns))
		for _, ln := range s.listeners {
			if listenerKind(ln) == kind {
				ln.Close()
			} else {
				keep = append(keep, ln)
			}
		}
		s.listeners = keep
		if s.closing.Load() {
			p.dropStaged()
			continue
		}
		for _, ln := range p.stagedLns {
			s.listeners = append(s.listeners, ln)
			s.wg.Add(1)
			go s.acceptLoop(ln)
		}
		s.log.Info("listening port changed", "tls", kind == lnTLS, "from", p.port, "to", p.stagedPort)
		p.port = p.stagedPort
		p.staged, p.stagedPort, p.stagedLns = false, 0, nil
	}
}

// dropStagedListeners closes what a failed CONFIG SET staged; s.mu is
// held.
func (s *Server) dropStagedListeners() {
	for kind := range s.ports {
		s.ports[kind].dropStaged()
	}
}

// Addrs returns the listening addresses.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, ln := range s.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

// closeListeners closes every listener; s.mu is held once Serve runs.
func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		ln.Close()
	}
	s.listeners = nil
	s.dropStagedListeners()
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
	s.mu.Lock()
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go s.acceptLoop(ln)
	}
	s.mu.Unlock()
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
	s.mu.Lock()
	s.closeListeners()
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
	if s.closing.Load() {
		// Serve's shutdown sweep (under s.mu, after closing is set) has
		// closed every client or is about to: a client added after it would
		// keep wg.Wait waiting until its peer hangs up.
		s.mu.Unlock()
		conn.Close()
		return
	}
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
		conn, lc = s.loop.attach(conn, s.tls.ServerConfig)
	}
	c := newClient(s, conn)
	s.clients[c.id] = c
	s.stats.connectionsReceived++
	s.mu.Unlock()
	if lc != nil {
		s.loop.start(c, lc)
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
