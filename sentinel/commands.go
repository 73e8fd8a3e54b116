package sentinel

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/engine/glob"
	"github.com/hactl/hactl/engine/resp"
	"github.com/hactl/hactl/sentinel/state"
)

// Redis's error strings for sentinel commands.
const (
	errNoSuchMaster = "ERR No such master with that name"
	errInprog       = "INPROG Failover already in progress"
	errNoGoodSlave  = "NOGOODSLAVE No suitable replica to promote"
)

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func sinceMs(now, t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return ms(now.Sub(t))
}

// flags renders an instance's flags in Redis's order.
func (s *Sentinel) flags(i *instance, m *master) string {
	var f []string
	if i.sdown {
		f = append(f, "s_down")
	}
	if i.kind == kindMaster && m.odown {
		f = append(f, "o_down")
	}
	f = append(f, i.kind.String())
	if !i.connected {
		f = append(f, "disconnected")
	}
	if i.kind == kindSlave && i.roleReported == kindSlave && !i.masterLinkUp && !i.infoRefresh.IsZero() {
		f = append(f, "master_down")
	}
	if i.kind == kindMaster && m.inFailover() {
		f = append(f, "failover_in_progress")
	}
	if i.promoted {
		f = append(f, "promoted")
	}
	switch i.reconf {
	case reconfSent:
		f = append(f, "reconf_sent")
	case reconfInprog:
		f = append(f, "reconf_inprog")
	case reconfDone:
		f = append(f, "reconf_done")
	}
	if i.kind == kindMaster && m.fo.force {
		f = append(f, "force_failover")
	}
	return strings.Join(f, ",")
}

// record builds the field/value list of SENTINEL MASTER(S)/REPLICAS/SENTINELS;
// every value is a string, as in Redis.
func (s *Sentinel) record(i *instance, m *master, now time.Time) []string {
	pending := "0"
	if i.pingPending {
		pending = "1"
	}
	r := []string{"name", i.name, "ip", i.addr.IP, "port", itoa(i.addr.Port), "runid", i.runID,
		"flags", s.flags(i, m), "link-pending-commands", pending, "link-refcount", "1"}
	if i.kind == kindMaster && m.inFailover() {
		r = append(r, "failover-state", m.fo.state.String())
	}
	lastPing := "0"
	if !i.actPing.IsZero() {
		lastPing = sinceMs(now, i.actPing)
	}
	r = append(r, "last-ping-sent", lastPing, "last-ok-ping-reply", sinceMs(now, i.lastOKPing),
		"last-ping-reply", sinceMs(now, i.lastReply))
	if i.sdown {
		r = append(r, "s-down-time", sinceMs(now, i.sdownSince))
	}
	if i.kind == kindMaster && m.odown {
		r = append(r, "o-down-time", sinceMs(now, m.odownSince))
	}
	r = append(r, "down-after-milliseconds", ms(m.cfg.DownAfter))
	if i.kind != kindSentinel {
		role := "master"
		if i.roleReported == kindSlave {
			role = "slave"
		}
		r = append(r, "info-refresh", sinceMs(now, i.infoRefresh), "role-reported", role,
			"role-reported-time", sinceMs(now, i.roleReportedAt))
	}
	switch i.kind {
	case kindMaster:
		r = append(r, "config-epoch", strconv.FormatUint(m.configEpoch, 10),
			"num-slaves", itoa(len(m.replicas)), "num-other-sentinels", itoa(len(m.sentinels)),
			"quorum", itoa(m.cfg.Quorum), "failover-timeout", ms(m.cfg.FailoverTimeout),
			"parallel-syncs", itoa(m.cfg.ParallelSyncs))
	case kindSlave:
		status, host := "err", i.slaveMaster.IP
		if i.masterLinkUp {
			status = "ok"
		}
		if host == "" {
			host = "?"
		}
		announced := "1"
		if !i.announced {
			announced = "0"
		}
		r = append(r, "master-link-down-time", ms(i.linkDownFor), "master-link-status", status,
			"master-host", host, "master-port", itoa(i.slaveMaster.Port),
			"slave-priority", itoa(i.priority), "slave-repl-offset", strconv.FormatInt(i.offset, 10),
			"replica-announced", announced)
	case kindSentinel:
		leader := i.leader
		if leader == "" {
			leader = "?"
		}
		r = append(r, "last-hello-message", sinceMs(now, i.lastHello), "voted-leader", leader,
			"voted-leader-epoch", strconv.FormatUint(i.leaderEpoch, 10))
	}
	return r
}

func writeRecord(w *resp.Writer, rec []string) {
	w.Map(len(rec) / 2)
	for _, v := range rec {
		w.BulkString(v)
	}
}

// sentinelCommand runs SENTINEL <sub> ... .
func (s *Sentinel) sentinelCommand(w *resp.Writer, args []string, now time.Time) {
	if len(args) < 2 {
		w.Error("ERR wrong number of arguments for 'sentinel' command")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := strings.ToLower(args[1])
	a := args[2:]
	arity := func(n int) bool {
		if len(a) != n {
			w.Error(fmt.Sprintf("ERR wrong number of arguments for 'sentinel|%s' command", sub))
			return false
		}
		return true
	}
	lookup := func(name string) *master {
		m := s.masters[name]
		if m == nil {
			w.Error(errNoSuchMaster)
		}
		return m
	}
	switch sub {
	case "masters":
		ms := s.sortedMasters()
		w.Array(len(ms))
		for _, m := range ms {
			writeRecord(w, s.record(&m.instance, m, now))
		}
	case "master":
		if arity(1) {
			if m := lookup(a[0]); m != nil {
				writeRecord(w, s.record(&m.instance, m, now))
			}
		}
	case "replicas", "slaves", "sentinels":
		if !arity(1) {
			return
		}
		m := lookup(a[0])
		if m == nil {
			return
		}
		var list []*instance
		if sub == "sentinels" {
			list = sortedInstances(m.sentinels)
		} else {
			for _, r := range sortedInstances(m.replicas) {
				if r.announced {
					list = append(list, r)
				}
			}
		}
		w.Array(len(list))
		for _, i := range list {
			writeRecord(w, s.record(i, m, now))
		}
	case "get-master-addr-by-name":
		if !arity(1) {
			return
		}
		m := s.masters[a[0]]
		if m == nil {
			w.NullArray()
			return
		}
		addr := m.currentAddr()
		w.Array(2)
		w.BulkString(addr.IP)
		w.BulkString(itoa(addr.Port))
	case "myid":
		w.BulkString(s.myID)
	case "ckquorum":
		if arity(1) {
			if m := lookup(a[0]); m != nil {
				s.ckquorum(w, m)
			}
		}
	case "failover":
		if !arity(1) {
			return
		}
		m := lookup(a[0])
		switch {
		case m == nil:
		case m.inFailover():
			w.Error(errInprog)
		case s.selectReplica(m, now) == nil:
			w.Error(errNoGoodSlave)
		default:
			s.startFailover(m, now, true)
			w.OK()
		}
	case "reset":
		if !arity(1) {
			return
		}
		n := 0
		for _, m := range s.sortedMasters() {
			if glob.MatchString(a[0], m.name, false) {
				s.resetMaster(m, now)
				n++
			}
		}
		w.Int(int64(n))
	case "monitor":
		if arity(4) {
			s.cmdMonitor(w, a, now)
		}
	case "remove":
		if !arity(1) {
			return
		}
		if m := lookup(a[0]); m != nil {
			s.emitI(now, "-monitor", &m.instance, "")
			for _, i := range m.all() {
				s.tr.Drop(i.addr)
			}
			delete(s.masters, m.name)
			if !m.dynamic {
				s.removed[m.name] = true
			}
			s.save()
			w.OK()
		}
	case "set":
		if len(a) < 3 {
			w.Error("ERR wrong number of arguments for 'sentinel|set' command")
			return
		}
		if m := lookup(a[0]); m != nil {
			s.cmdSet(w, m, a[1:], now)
		}
	case "config":
		s.cmdConfig(w, a)
	case "is-master-down-by-addr":
		if arity(4) {
			s.isMasterDown(w, a, now)
		}
	case "info-cache":
		s.infoCache(w, a, now)
	case "simulate-failure":
		for _, f := range a {
			switch strings.ToLower(f) {
			case "crash-after-election":
				s.simFail |= SimCrashAfterElection
			case "crash-after-promotion":
				s.simFail |= SimCrashAfterPromotion
			case "help":
				w.Array(2)
				w.Simple("crash-after-election")
				w.Simple("crash-after-promotion")
				return
			default:
				w.Error("ERR Unknown failure simulation specified")
				return
			}
		}
		w.OK()
	case "flushconfig":
		if err := s.saveLocked(); err != nil {
			w.Error("ERR " + err.Error())
			return
		}
		w.OK()
	case "pending-scripts":
		w.Array(0)
	default:
		w.Error(fmt.Sprintf("ERR unknown subcommand '%s'. Try SENTINEL HELP.", args[1]))
	}
}

func (s *Sentinel) ckquorum(w *resp.Writer, m *master) {
	usable := 1
	for _, p := range m.sentinels {
		if !p.sdown {
			usable++
		}
	}
	majority := m.voters()/2 + 1
	if usable < m.cfg.Quorum || usable < majority {
		msg := fmt.Sprintf("NOQUORUM %d usable Sentinels. ", usable)
		if usable < m.cfg.Quorum {
			msg += "Not enough available Sentinels to reach the specified quorum for this master"
		}
		if usable < majority {
			if usable < m.cfg.Quorum {
				msg += ". "
			}
			msg += "Not enough available Sentinels to reach the majority and authorize a failover"
		}
		w.Error(msg)
		return
	}
	w.Simple(fmt.Sprintf("OK %d usable Sentinels. Quorum and failover authorization can be reached", usable))
}

func (s *Sentinel) resetMaster(m *master, now time.Time) {
	s.emitI(now, "+reset-master", &m.instance, "")
	for _, i := range m.all() {
		if i != &m.instance {
			s.tr.Drop(i.addr)
		}
	}
	m.replicas = map[string]*instance{}
	m.sentinels = map[string]*instance{}
	next := m.fo.nextAttempt
	m.fo = failover{nextAttempt: next}
	m.odown = false
	s.save()
}

func (s *Sentinel) cmdMonitor(w *resp.Writer, a []string, now time.Time) {
	if s.masters[a[0]] != nil {
		w.Error("ERR Duplicate master name.")
		return
	}
	port, err := strconv.Atoi(a[2])
	if err != nil || port <= 0 || port > 65535 {
		w.Error("ERR Invalid port")
		return
	}
	q, err := strconv.Atoi(a[3])
	if err != nil {
		w.Error("ERR Invalid quorum")
		return
	}
	if q <= 0 {
		w.Error("ERR Quorum must be 1 or greater.")
		return
	}
	if net.ParseIP(a[1]) == nil {
		w.Error("ERR Invalid IP address or hostname specified")
		return
	}
	delete(s.removed, a[0])
	m := s.addMaster(NewMasterConfig(a[0], a[1], port, q), state.Master{}, true, now)
	s.save()
	s.emitI(now, "+monitor", &m.instance, "quorum "+a[3])
	w.OK()
}

func (s *Sentinel) cmdSet(w *resp.Writer, m *master, a []string, now time.Time) {
	for len(a) > 0 {
		opt := strings.ToLower(a[0])
		n := 1
		if opt == "rename-command" {
			n = 2
		}
		if len(a) < 1+n {
			w.Error(fmt.Sprintf("ERR Unknown option or number of arguments for SENTINEL SET '%s'", a[0]))
			return
		}
		vals := a[1 : 1+n]
		if err := m.cfg.SetOption(opt, vals); err != nil {
			if err == ErrUnknownOption {
				w.Error(fmt.Sprintf("ERR Unknown option or number of arguments for SENTINEL SET '%s'", a[0]))
			} else {
				w.Error(fmt.Sprintf("ERR Invalid argument '%s' for SENTINEL SET '%s'", vals[0], a[0]))
			}
			return
		}
		m.settings = append(m.settings, [2]string{opt, strings.Join(vals, " ")})
		shown := strings.Join(vals, " ")
		if opt == "auth-pass" {
			shown = "******"
		}
		s.emitI(now, "+set", &m.instance, a[0]+" "+shown)
		a = a[1+n:]
	}
	s.save()
	w.OK()
}

func (s *Sentinel) cmdConfig(w *resp.Writer, a []string) {
	if len(a) < 2 {
		w.Error("ERR wrong number of arguments for 'sentinel|config' command")
		return
	}
	params := map[string]*string{"announce-ip": &s.cfg.AnnounceIP, "sentinel-user": &s.cfg.SentinelUser,
		"sentinel-pass": &s.cfg.SentinelPass}
	get := func(p string) (string, bool) {
		switch p {
		case "announce-port":
			return itoa(s.cfg.AnnouncePort), true
		case "resolve-hostnames":
			return yesno(s.cfg.ResolveHostnames), true
		case "announce-hostnames":
			return yesno(s.cfg.AnnounceHostnames), true
		}
		if v, ok := params[p]; ok {
			return *v, true
		}
		return "", false
	}
	switch strings.ToLower(a[0]) {
	case "get":
		var out []string
		for _, p := range []string{"resolve-hostnames", "announce-hostnames", "announce-ip", "announce-port", "sentinel-user", "sentinel-pass"} {
			if glob.MatchString(a[1], p, true) {
				v, _ := get(p)
				out = append(out, p, v)
			}
		}
		w.Map(len(out) / 2)
		for _, v := range out {
			w.BulkString(v)
		}
	case "set":
		if len(a) != 3 {
			w.Error("ERR wrong number of arguments for 'sentinel|config' command")
			return
		}
		p, v := strings.ToLower(a[1]), a[2]
		badValue := fmt.Sprintf("ERR Invalid value '%s' to SENTINEL CONFIG SET '%s'", v, a[1])
		switch p {
		case "announce-port":
			n, err := parsePort(v)
			if err != nil {
				w.Error(badValue)
				return
			}
			s.cfg.AnnouncePort = n
		case "resolve-hostnames", "announce-hostnames":
			b, err := parseYesNo(v)
			if err != nil {
				w.Error(badValue)
				return
			}
			if p == "resolve-hostnames" {
				s.cfg.ResolveHostnames = b
			} else {
				s.cfg.AnnounceHostnames = b
			}
		default:
			ptr, ok := params[p]
			if !ok {
				w.Error(fmt.Sprintf("ERR Invalid argument '%s' to SENTINEL CONFIG SET", a[1]))
				return
			}
			*ptr = v
		}
		w.OK()
	default:
		w.Error("ERR Only SENTINEL CONFIG GET <param> / SET <param> <value> are supported.")
	}
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// isMasterDown answers SENTINEL is-master-down-by-addr ip port epoch runid.
func (s *Sentinel) isMasterDown(w *resp.Writer, a []string, now time.Time) {
	port, err1 := strconv.Atoi(a[1])
	epoch, err2 := strconv.ParseUint(a[2], 10, 64)
	if err1 != nil || err2 != nil {
		w.Error("ERR value is not an integer or out of range")
		return
	}
	var m *master
	for _, c := range s.masters {
		if c.addr == (Addr{a[0], port}) {
			m = c
		}
	}
	down := int64(0)
	if m != nil && !s.tilt && m.sdown {
		down = 1
	}
	leader, lepoch := "*", uint64(0)
	if m != nil && a[3] != "*" {
		l, e := s.vote(m, epoch, a[3], now)
		if l != "" {
			leader, lepoch = l, e
		}
	}
	w.Array(3)
	w.Int(down)
	w.BulkString(leader)
	w.Int(int64(lepoch))
}

func (s *Sentinel) infoCache(w *resp.Writer, names []string, now time.Time) {
	var list []*master
	for _, m := range s.sortedMasters() {
		if len(names) == 0 || contains(names, m.name) {
			list = append(list, m)
		}
	}
	w.Array(2 * len(list))
	for _, m := range list {
		w.BulkString(m.name)
		nodes := append([]*instance{&m.instance}, sortedInstances(m.replicas)...)
		w.Array(len(nodes))
		for _, i := range nodes {
			w.Array(2)
			w.Int(now.Sub(i.infoRefresh).Milliseconds())
			if i.info == "" {
				w.Null()
			} else {
				w.BulkString(i.info)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// infoSentinel renders the "# Sentinel" INFO section.
func (s *Sentinel) infoSentinel(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	tilt, since := "0", "-1"
	if s.tilt {
		tilt, since = "1", strconv.FormatInt(int64(now.Sub(s.tiltAt).Seconds()), 10)
	}
	fmt.Fprintf(&b, "# Sentinel\r\nsentinel_masters:%d\r\nsentinel_tilt:%s\r\nsentinel_tilt_since_seconds:%s\r\n"+
		"sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:%d\r\n",
		len(s.masters), tilt, since, s.simFail)
	for n, m := range s.sortedMasters() {
		status := "ok"
		if m.odown {
			status = "odown"
		} else if m.sdown {
			status = "sdown"
		}
		a := m.currentAddr()
		fmt.Fprintf(&b, "master%d:name=%s,status=%s,address=%s,slaves=%d,sentinels=%d\r\n",
			n, m.name, status, a.String(), len(m.replicas), len(m.sentinels)+1)
	}
	return b.String()
}

// masterNames lists the monitored masters (ROLE).
func (s *Sentinel) masterNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.sortedMasters() {
		out = append(out, m.name)
	}
	return out
}
