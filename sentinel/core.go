package sentinel

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hactl/hactl/sentinel/state"
)

// Timing holds the sentinel's periods. DefaultTiming matches Redis where the
// period is part of the protocol (PING, INFO, hello) and is faster where it
// only delays a failover (asking peers, polling during a failover).
type Timing struct {
	Ping           time.Duration // PING every instance
	Info           time.Duration // INFO to masters and replicas
	InfoFast       time.Duration // INFO while the master is SDOWN/ODOWN
	InfoFailover   time.Duration // INFO to replicas while a failover runs
	Hello          time.Duration // hello PUBLISH period
	Ask            time.Duration // is-master-down-by-addr while SDOWN
	AskValidity    time.Duration // peer down replies older than this are ignored
	Tilt           time.Duration // TILT duration
	TiltTrigger    time.Duration // clock jump that enters TILT
	Election       time.Duration // max wait for votes (capped by failover-timeout)
	ConvertDelay   time.Duration // before converting a returning master
	ReconfTimeout  time.Duration // a replica stuck in reconf-sent counts as done
	PeerSilence    time.Duration // unused links to peers are dropped after this
	VoteRetryJitte time.Duration // random push-back after voting for another
}

// DefaultTiming is the production timing.
var DefaultTiming = Timing{
	Ping: time.Second, Info: 10 * time.Second, InfoFast: time.Second,
	InfoFailover: 50 * time.Millisecond, Hello: 2 * time.Second,
	Ask: 100 * time.Millisecond, AskValidity: 5 * time.Second,
	Tilt: 30 * time.Second, TiltTrigger: 2 * time.Second, Election: 10 * time.Second,
	ConvertDelay: 4 * time.Second, ReconfTimeout: 10 * time.Second,
	VoteRetryJitte: time.Second,
}

// Options are the Sentinel's collaborators.
type Options struct {
	Timing Timing
	// Save persists the state; nil disables persistence.
	Save func(state.State) error
	// Rand seeds the sentinel's randomness (tests); zero means random.
	Rand uint64
	// Crash is called by SIMULATE-FAILURE crash points; nil means os.Exit.
	Crash func()
	// Now is the clock used by callbacks and commands; nil means time.Now.
	Now func() time.Time
	// Logf receives operational errors (not events); nil discards them.
	Logf func(format string, args ...any)
}

type kind int

const (
	kindMaster kind = iota
	kindSlave
	kindSentinel
)

func (k kind) String() string {
	switch k {
	case kindMaster:
		return "master"
	case kindSlave:
		return "slave"
	}
	return "sentinel"
}

// reconf is a replica's reconfiguration progress during a failover.
type reconf int

const (
	reconfNone reconf = iota
	reconfSent
	reconfInprog
	reconfDone
)

// instance is a monitored master, replica or peer sentinel.
type instance struct {
	kind   kind
	name   string
	addr   Addr
	runID  string
	master *master // owner; nil for a master
	// command link
	connected    bool
	actPing      time.Time // start of the down clock (first unanswered ping or link loss); zero when healthy
	lastPingSent time.Time
	lastOKPing   time.Time
	lastReply    time.Time
	pingPending  bool
	infoPending  bool
	lastInfoSent time.Time
	infoRefresh  time.Time
	helloSent    time.Time
	created      time.Time
	sdown        bool
	sdownSince   time.Time
	// INFO
	info           string
	roleReported   kind
	roleReportedAt time.Time
	slaveMaster    Addr
	masterLinkUp   bool
	linkDownFor    time.Duration
	priority       int
	offset         int64
	announced      bool
	// failover progress of a replica
	reconf     reconf
	reconfSent time.Time
	promoted   bool
	demoteNow  bool
	// peer sentinel
	lastHello   time.Time
	leader      string
	leaderEpoch uint64
	downReply   bool
	downReplyAt time.Time
	askPending  bool
	lastAsk     time.Time
}

// failoverState is the state of a master's failover.
type failoverState int

const (
	foNone failoverState = iota
	foWaitStart
	foSelectSlave
	foSendSlaveofNoOne
	foWaitPromotion
	foReconfSlaves
	foUpdateConfig
)

var failoverStateNames = [...]string{"none", "wait_start", "select_slave", "send_slaveof_noone",
	"wait_promotion", "reconf_slaves", "update_config"}

func (s failoverState) String() string { return failoverStateNames[s] }

type failover struct {
	state       failoverState
	epoch       uint64
	start       time.Time
	stateChange time.Time
	force       bool
	promoted    *instance
	nextAttempt time.Time // no new failover before this
}

// master is a monitored master with its replicas and peers.
type master struct {
	instance
	cfg         MasterConfig
	dynamic     bool
	settings    [][2]string
	replicas    map[string]*instance // by ip:port
	sentinels   map[string]*instance // by runid
	configEpoch uint64
	leader      string
	leaderEpoch uint64
	leaderAt    time.Time
	odown       bool
	odownSince  time.Time
	fo          failover
}

// Sentinel is the monitoring and failover core. All its state is guarded
// by mu; time is always passed in by the caller (Tick and the callbacks
// take now), so tests drive it with a fake clock.
type Sentinel struct {
	mu       sync.Mutex
	cfg      Config
	tm       Timing
	opts     Options
	tr       Transport
	sink     EventSink
	rnd      *mrand.Rand
	myID     string
	epoch    uint64 // current epoch
	masters  map[string]*master
	removed  map[string]bool
	tilt     bool
	tiltAt   time.Time
	prevTick time.Time
	simFail  int
}

// Simulate-failure flags (SENTINEL SIMULATE-FAILURE).
const (
	SimCrashAfterElection  = 1
	SimCrashAfterPromotion = 2
)

// New builds a Sentinel from the static configuration and the persisted
// state. The master address, epochs and known instances of st win over
// cfg, so a re-rendered configuration never undoes a promotion.
func New(cfg *Config, st state.State, tr Transport, sink EventSink, opts Options, now time.Time) (*Sentinel, error) {
	if opts.Timing == (Timing{}) {
		opts.Timing = DefaultTiming
	}
	seed := opts.Rand
	if seed == 0 {
		seed = uint64(now.UnixNano())
	}
	s := &Sentinel{cfg: *cfg, tm: opts.Timing, opts: opts, tr: tr, sink: sink,
		rnd: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), myID: st.MyID,
		epoch: st.CurrentEpoch, masters: map[string]*master{}, removed: map[string]bool{}}
	if s.myID == "" {
		var b [20]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("generate myid: %w", err)
		}
		s.myID = hex.EncodeToString(b[:])
	}
	persisted := map[string]state.Master{}
	for _, pm := range st.Masters {
		persisted[pm.Name] = pm
		if pm.Removed {
			s.removed[pm.Name] = true
		}
	}
	for _, mc := range cfg.Masters {
		if s.removed[mc.Name] {
			continue
		}
		s.addMaster(mc, persisted[mc.Name], false, now)
	}
	for _, pm := range st.Masters {
		if pm.Dynamic && s.masters[pm.Name] == nil {
			mc := NewMasterConfig(pm.Name, pm.IP, pm.Port, pm.Quorum)
			s.addMaster(mc, pm, true, now)
		}
	}
	s.tr.OnLinkDown(s.linkDown)
	if err := s.saveLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sentinel) addMaster(mc MasterConfig, pm state.Master, dynamic bool, now time.Time) *master {
	m := &master{cfg: mc, dynamic: dynamic, replicas: map[string]*instance{}, sentinels: map[string]*instance{}}
	addr := Addr{mc.Host, mc.Port}
	if pm.Name != "" && !pm.Removed {
		addr = Addr{pm.IP, pm.Port}
		m.configEpoch, m.leaderEpoch = pm.ConfigEpoch, pm.LeaderEpoch
		for _, kv := range pm.Settings {
			vals := []string{kv[1]}
			if kv[0] == "rename-command" {
				vals = strings.Fields(kv[1])
			}
			if err := m.cfg.SetOption(kv[0], vals); err == nil {
				m.settings = append(m.settings, kv)
			}
		}
		if pm.Dynamic {
			m.cfg.Quorum = pm.Quorum
		}
	}
	m.instance = instance{kind: kindMaster, name: mc.Name, addr: addr, created: now, priority: 100, announced: true}
	for _, r := range pm.Replicas {
		if r.IP != addr.IP || r.Port != addr.Port {
			s.addReplica(m, Addr{r.IP, r.Port}, now)
		}
	}
	for _, p := range pm.Sentinels {
		if p.RunID != s.myID {
			m.sentinels[p.RunID] = &instance{kind: kindSentinel, name: p.RunID, runID: p.RunID,
				addr: Addr{p.IP, p.Port}, master: m, created: now}
		}
	}
	s.masters[mc.Name] = m
	return m
}

func (s *Sentinel) addReplica(m *master, a Addr, now time.Time) *instance {
	r := &instance{kind: kindSlave, name: a.String(), addr: a, master: m, created: now, priority: 100, announced: true}
	m.replicas[a.String()] = r
	return r
}

// MyID returns the sentinel's 40-character id.
func (s *Sentinel) MyID() string { return s.myID }

// snapshot builds the persisted state. s.mu must be held.
func (s *Sentinel) snapshot() state.State {
	st := state.State{MyID: s.myID, CurrentEpoch: s.epoch}
	for name := range s.removed {
		st.Masters = append(st.Masters, state.Master{Name: name, Removed: true})
	}
	for _, m := range s.sortedMasters() {
		pm := state.Master{Name: m.name, IP: m.addr.IP, Port: m.addr.Port, Quorum: m.cfg.Quorum,
			ConfigEpoch: m.configEpoch, LeaderEpoch: m.leaderEpoch, Settings: m.settings, Dynamic: m.dynamic}
		for _, r := range sortedInstances(m.replicas) {
			pm.Replicas = append(pm.Replicas, state.Addr{IP: r.addr.IP, Port: r.addr.Port})
		}
		for _, p := range sortedInstances(m.sentinels) {
			pm.Sentinels = append(pm.Sentinels, state.Sentinel{Addr: state.Addr{IP: p.addr.IP, Port: p.addr.Port}, RunID: p.runID})
		}
		st.Masters = append(st.Masters, pm)
	}
	return st
}

// saveLocked persists the state. s.mu must be held.
func (s *Sentinel) saveLocked() error {
	if s.opts.Save == nil {
		return nil
	}
	if err := s.opts.Save(s.snapshot()); err != nil {
		return fmt.Errorf("persist sentinel state: %w", err)
	}
	return nil
}

// save persists and logs a failure (the sentinel keeps running, as Redis
// does when its config cannot be rewritten).
func (s *Sentinel) save() {
	if err := s.saveLocked(); err != nil {
		s.logf("%v", err)
	}
}

// clock returns the current time from Options.Now.
func (s *Sentinel) clock() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Sentinel) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

func (s *Sentinel) sortedMasters() []*master {
	out := make([]*master, 0, len(s.masters))
	for _, m := range s.masters {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func sortedInstances(in map[string]*instance) []*instance {
	out := make([]*instance, 0, len(in))
	for _, i := range in {
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// describe renders Redis's %@ instance description.
func describe(i *instance) string {
	if i.kind == kindMaster || i.master == nil {
		return fmt.Sprintf("master %s %s %d", i.name, i.addr.IP, i.addr.Port)
	}
	m := i.master
	return fmt.Sprintf("%s %s %s %d @ %s %s %d", i.kind, i.name, i.addr.IP, i.addr.Port, m.name, m.addr.IP, m.addr.Port)
}

// emit sends an event to the sink. s.mu must be held.
func (s *Sentinel) emit(now time.Time, typ, msg string) {
	lvl, ok := eventLevel[typ]
	if !ok {
		lvl = LevelWarning
	}
	if s.sink != nil {
		s.sink.Event(Event{Time: now, Level: lvl, Type: typ, Message: msg})
	}
}

func (s *Sentinel) emitI(now time.Time, typ string, i *instance, extra string) {
	msg := describe(i)
	if extra != "" {
		msg += " " + extra
	}
	s.emit(now, typ, msg)
}

// auth returns the credentials toward the instances of m.
func (m *master) auth() Auth { return Auth{User: m.cfg.AuthUser, Pass: m.cfg.AuthPass} }

// peerAuth returns the credentials toward other sentinels.
func (s *Sentinel) peerAuth() Auth {
	if s.cfg.SentinelPass != "" {
		return Auth{User: s.cfg.SentinelUser, Pass: s.cfg.SentinelPass}
	}
	return Auth{Pass: s.cfg.RequirePass}
}

// cmdName applies rename-command.
func (m *master) cmdName(c string) string {
	if r, ok := m.cfg.Renamed[c]; ok {
		return r
	}
	return c
}

// currentAddr is the address clients should use: the promoted replica's
// as soon as its promotion is confirmed.
func (m *master) currentAddr() Addr {
	if m.fo.state >= foReconfSlaves && m.fo.promoted != nil {
		return m.fo.promoted.addr
	}
	return m.addr
}

func (m *master) inFailover() bool { return m.fo.state != foNone }

// voters is the number of sentinels (self included) known for m.
func (m *master) voters() int { return len(m.sentinels) + 1 }

func itoa(n int) string { return strconv.Itoa(n) }
