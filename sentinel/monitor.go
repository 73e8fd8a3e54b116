package sentinel

import (
	"strconv"
	"strings"
	"time"
)

// helloChannel is the channel sentinels use to discover each other.
const helloChannel = "__sentinel__:hello"

// Tick runs the sentinel timer: TILT detection, periodic PING/INFO/hello,
// SDOWN/ODOWN checks, peer queries and the failover state machines. The
// runner calls it every 100 ms (the harness more often).
func (s *Sentinel) Tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkTilt(now)
	for _, m := range s.sortedMasters() {
		s.handleMaster(m, now)
	}
}

func (s *Sentinel) checkTilt(now time.Time) {
	if !s.prevTick.IsZero() {
		delta := now.Sub(s.prevTick)
		wall := now.Round(0).Sub(s.prevTick.Round(0))
		jump := delta < 0 || delta > s.tm.TiltTrigger || wall-delta > s.tm.TiltTrigger || delta-wall > s.tm.TiltTrigger
		if jump {
			if !s.tilt {
				s.emit(now, "+tilt", "#tilt mode entered")
			}
			s.tilt, s.tiltAt = true, now
		}
	}
	s.prevTick = now
	if s.tilt && now.Sub(s.tiltAt) > s.tm.Tilt {
		s.tilt = false
		s.emit(now, "-tilt", "#tilt mode exited")
	}
}

func (s *Sentinel) handleMaster(m *master, now time.Time) {
	s.periodic(&m.instance, m, now)
	for _, r := range sortedInstances(m.replicas) {
		s.periodic(r, m, now)
	}
	for _, p := range sortedInstances(m.sentinels) {
		s.periodic(p, m, now)
	}
	if s.tilt {
		return
	}
	s.checkSdown(&m.instance, m, now)
	for _, r := range m.replicas {
		s.checkSdown(r, m, now)
		s.checkReplicaRole(r, m, now)
	}
	for _, p := range m.sentinels {
		s.checkSdown(p, m, now)
	}
	s.checkOdown(m, now)
	if m.sdown {
		s.askPeers(m, now, false)
	} else {
		for _, p := range m.sentinels {
			p.downReply = false
		}
	}
	s.maybeStartFailover(m, now)
	s.runFailover(m, now)
}

// periodic sends PING, INFO and hello to one instance when due.
func (s *Sentinel) periodic(i *instance, m *master, now time.Time) {
	auth := m.auth()
	if i.kind == kindSentinel {
		auth = s.peerAuth()
	} else {
		s.tr.Subscribe(i.addr, auth, func(p string) { s.Hello(p, s.clock(), false) })
	}
	if now.Sub(i.lastPingSent) >= s.tm.Ping && now.Sub(i.lastOKPing) >= s.tm.Ping/2 {
		s.sendPing(i, m, auth, now)
	}
	if i.kind != kindSentinel && !i.infoPending && now.Sub(i.lastInfoSent) >= s.infoPeriod(i, m) {
		s.sendInfo(i, m, now)
	}
	if now.Sub(i.helloSent) >= s.tm.Hello {
		s.sendHello(i, m, now)
	}
}

func (s *Sentinel) infoPeriod(i *instance, m *master) time.Duration {
	switch {
	case m.inFailover() && i.kind == kindSlave:
		return s.tm.InfoFailover
	case m.sdown || m.odown || (i.kind == kindSlave && !i.masterLinkUp && i.roleReported == kindSlave):
		return s.tm.InfoFast
	case i.kind == kindSlave && i.roleReported == kindMaster && !i.roleReportedAt.IsZero():
		return s.tm.InfoFast // a returning master: convert it soon
	}
	return s.tm.Info
}

func (s *Sentinel) sendPing(i *instance, m *master, auth Auth, now time.Time) {
	i.lastPingSent = now
	if i.actPing.IsZero() {
		i.actPing = now
	}
	i.pingPending = true
	to := i.addr
	s.tr.Do(to, auth, [][]string{{m.cmdName("ping")}}, func(r []Reply, err error) {
		s.pingReply(i, to, r, err, s.clock())
	})
}

// pingReply handles a PING reply sent to addr. A master entry is reused in
// place by a switch, so replies from its previous address are dropped.
func (s *Sentinel) pingReply(i *instance, addr Addr, r []Reply, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i.addr != addr {
		return
	}
	i.pingPending = false
	if err != nil {
		if err != ErrBusy {
			s.markDisconnected(i, now)
		}
		return
	}
	if !i.connected {
		// A new link: refresh INFO at once, as Redis does on connect.
		i.lastInfoSent = time.Time{}
	}
	i.connected = true
	i.lastReply = now
	rep := r[0]
	if (rep.Kind == '+' || rep.Kind == '-') && (strings.HasPrefix(rep.Str, "PONG") ||
		strings.HasPrefix(rep.Str, "LOADING") || strings.HasPrefix(rep.Str, "MASTERDOWN")) {
		i.lastOKPing = now
		i.actPing = time.Time{}
	}
}

func (s *Sentinel) markDisconnected(i *instance, now time.Time) {
	if i.connected {
		// Reconnect and ping at once: a live instance answers within
		// milliseconds, so a killed connection (CLIENT KILL after a
		// promotion) never looks like a down instance.
		i.lastPingSent = time.Time{}
		i.lastInfoSent = time.Time{}
	}
	i.connected = false
	if i.actPing.IsZero() {
		i.actPing = now
	}
}

// linkDown is called by the transport when a command link drops.
func (s *Sentinel) linkDown(a Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	for _, m := range s.masters {
		for _, i := range m.all() {
			if i.addr == a {
				s.markDisconnected(i, now)
			}
		}
	}
}

func (m *master) all() []*instance {
	out := []*instance{&m.instance}
	for _, r := range m.replicas {
		out = append(out, r)
	}
	for _, p := range m.sentinels {
		out = append(out, p)
	}
	return out
}

func (s *Sentinel) sendInfo(i *instance, m *master, now time.Time) {
	i.lastInfoSent = now
	i.infoPending = true
	to := i.addr
	s.tr.Do(to, m.auth(), [][]string{{m.cmdName("info")}}, func(r []Reply, err error) {
		s.infoReply(i, to, r, err, s.clock())
	})
}

func (s *Sentinel) infoReply(i *instance, addr Addr, r []Reply, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i.addr != addr {
		return // an answer from the previous address of a switched master
	}
	i.infoPending = false
	if err != nil || r[0].Kind != '$' {
		return
	}
	if s.masters[i.masterName()] == nil {
		return // removed meanwhile
	}
	s.refreshInfo(i, r[0].Str, now)
}

func (i *instance) masterName() string {
	if i.master != nil {
		return i.master.name
	}
	return i.name
}

// refreshInfo parses INFO as sentinelRefreshInstanceInfo does.
func (s *Sentinel) refreshInfo(i *instance, info string, now time.Time) {
	m := i.master
	if i.kind == kindMaster {
		m = s.masters[i.name]
		if m == nil || &m.instance != i {
			return
		}
	}
	i.info = info
	i.infoRefresh = now
	i.connected = true
	role := kindMaster
	roleSeen := false
	i.linkDownFor = 0
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case k == "run_id" && len(v) == 40:
			if i.runID != "" && i.runID != v {
				s.emitI(now, "+reboot", i, "")
			}
			i.runID = v
		case k == "role":
			roleSeen = true
			if v == "slave" {
				role = kindSlave
			}
		case i.kind == kindMaster && strings.HasPrefix(k, "slave") && role == kindMaster:
			if _, err := strconv.Atoi(k[5:]); err == nil {
				if a, ok := parseSlaveLine(v); ok && a != m.addr {
					if m.replicas[a.String()] == nil {
						r := s.addReplica(m, a, now)
						s.emitI(now, "+slave", r, "")
						s.save()
					}
				}
			}
		case k == "master_host":
			i.slaveMaster.IP = v
		case k == "master_port":
			i.slaveMaster.Port, _ = strconv.Atoi(v)
		case k == "master_link_status":
			i.masterLinkUp = v == "up"
		case k == "master_link_down_since_seconds":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				i.linkDownFor = time.Duration(n) * time.Second
			}
		case k == "slave_priority" || k == "replica_priority":
			i.priority, _ = strconv.Atoi(v)
		case k == "slave_repl_offset":
			i.offset, _ = strconv.ParseInt(v, 10, 64)
		case k == "replica_announced":
			i.announced = v != "0"
		}
	}
	if !roleSeen {
		return
	}
	if role != i.roleReported || i.roleReportedAt.IsZero() {
		i.roleReported = role
		i.roleReportedAt = now
	}
	if s.tilt {
		return
	}
	switch {
	case i.kind == kindSlave && role == kindMaster:
		if i.promoted && m.fo.state == foWaitPromotion && m.fo.promoted == i {
			s.promotionConfirmed(m, i, now)
		}
	case i.kind == kindSlave && role == kindSlave && m.fo.state == foReconfSlaves && !i.promoted:
		target := m.fo.promoted.addr
		if i.reconf == reconfSent && i.slaveMaster == target {
			i.reconf = reconfInprog
			s.emitI(now, "+slave-reconf-inprog", i, "")
		}
		if i.reconf == reconfInprog && i.masterLinkUp {
			i.reconf = reconfDone
			s.emitI(now, "+slave-reconf-done", i, "")
		}
	}
}

func parseSlaveLine(v string) (Addr, bool) {
	var a Addr
	for _, f := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(f, "=")
		switch k {
		case "ip":
			a.IP = val
		case "port":
			a.Port, _ = strconv.Atoi(val)
		}
	}
	return a, a.IP != "" && a.Port > 0
}

// checkReplicaRole converts a known replica that reports role:master (a
// returning old master) and fixes replicas following the wrong master.
func (s *Sentinel) checkReplicaRole(r *instance, m *master, now time.Time) {
	if m.inFailover() || r.sdown || !r.connected || r.infoRefresh.IsZero() || r.promoted {
		return
	}
	masterSane := !m.sdown && m.roleReported == kindMaster && now.Sub(m.infoRefresh) < 2*s.tm.Info
	switch {
	case r.roleReported == kindMaster:
		if !masterSane || !(r.demoteNow || now.Sub(r.roleReportedAt) > s.tm.ConvertDelay) {
			return
		}
		if now.Sub(r.reconfSent) < s.tm.ConvertDelay {
			return
		}
		s.emitI(now, "+convert-to-slave", r, "")
		r.demoteNow = false
		r.reconfSent = now
		s.reconfigure(r, m, &m.addr, now)
	case r.roleReported == kindSlave && r.slaveMaster != m.addr && r.slaveMaster.IP != "":
		if !masterSane || now.Sub(r.roleReportedAt) < m.cfg.FailoverTimeout || now.Sub(r.reconfSent) < m.cfg.FailoverTimeout {
			return
		}
		s.emitI(now, "+fix-slave-config", r, "")
		r.reconfSent = now
		s.reconfigure(r, m, &m.addr, now)
	}
}

// reconfigure sends Redis's reconfiguration transaction: SLAVEOF NO ONE
// (to == nil) or SLAVEOF ip port, CONFIG REWRITE, CLIENT KILL TYPE normal
// and pubsub, inside MULTI/EXEC. Replies are ignored: INFO shows the effect.
func (s *Sentinel) reconfigure(i *instance, m *master, to *Addr, now time.Time) {
	slaveof := []string{m.cmdName("slaveof"), "NO", "ONE"}
	if to != nil {
		slaveof = []string{m.cmdName("slaveof"), to.IP, strconv.Itoa(to.Port)}
	}
	cmds := [][]string{
		{m.cmdName("multi")},
		slaveof,
		{m.cmdName("config"), "REWRITE"},
		{m.cmdName("client"), "KILL", "TYPE", "normal"},
		{m.cmdName("client"), "KILL", "TYPE", "pubsub"},
		{m.cmdName("exec")},
	}
	s.tr.Do(i.addr, m.auth(), cmds, func([]Reply, error) {})
	// Poll at once to see the effect.
	i.lastInfoSent = time.Time{}
}

// helloPayload is this sentinel's hello for m.
func (s *Sentinel) helloPayload(m *master, via Addr) string {
	ip := s.cfg.AnnounceIP
	if ip == "" {
		ip = s.tr.LocalIP(via)
	}
	if ip == "" {
		ip = "127.0.0.1"
	}
	port := s.cfg.AnnouncePort
	if port == 0 {
		port = s.cfg.Port
		if s.cfg.TLSReplication && s.cfg.TLSPort > 0 {
			port = s.cfg.TLSPort // Redis's sentinelSendHello
		}
	}
	a := m.currentAddr()
	return strings.Join([]string{ip, strconv.Itoa(port), s.myID, strconv.FormatUint(s.epoch, 10),
		m.name, a.IP, strconv.Itoa(a.Port), strconv.FormatUint(m.configEpoch, 10)}, ",")
}

func (s *Sentinel) sendHello(i *instance, m *master, now time.Time) {
	if !i.connected && !i.lastOKPing.IsZero() {
		return
	}
	i.helloSent = now
	auth := m.auth()
	if i.kind == kindSentinel {
		auth = s.peerAuth()
	}
	s.tr.Do(i.addr, auth, [][]string{{m.cmdName("publish"), helloChannel, s.helloPayload(m, i.addr)}},
		func([]Reply, error) {})
}

// broadcastHello sends the hello for m to every instance at once.
func (s *Sentinel) broadcastHello(m *master, now time.Time) {
	for _, i := range m.all() {
		i.helloSent = time.Time{}
		s.sendHello(i, m, now)
	}
}

// Hello processes a hello payload received on a pubsub link or through
// PUBLISH on the sentinel port.
func (s *Sentinel) Hello(payload string, now time.Time, direct bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := strings.Split(payload, ",")
	if len(f) != 8 || f[2] == s.myID {
		return
	}
	m := s.masters[f[4]]
	if m == nil {
		return
	}
	port, err1 := strconv.Atoi(f[1])
	epoch, err2 := strconv.ParseUint(f[3], 10, 64)
	mport, err3 := strconv.Atoi(f[6])
	mepoch, err4 := strconv.ParseUint(f[7], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || len(f[2]) != 40 {
		return
	}
	addr, runid := Addr{f[0], port}, f[2]
	p := m.sentinels[runid]
	if p == nil {
		// Another runid at the same address is a restarted sentinel with a
		// new identity: forget it.
		for id, o := range m.sentinels {
			if o.addr == addr {
				delete(m.sentinels, id)
				s.tr.Drop(o.addr)
			}
		}
		p = &instance{kind: kindSentinel, name: runid, runID: runid, addr: addr, master: m, created: now}
		m.sentinels[runid] = p
		s.emitI(now, "+sentinel", p, "")
		s.save()
	} else if p.addr != addr {
		s.emit(now, "+sentinel-address-switch", "master "+m.name+" "+m.addr.IP+" "+strconv.Itoa(m.addr.Port)+
			" ip "+addr.IP+" port "+strconv.Itoa(port)+" for "+runid)
		p.addr = addr
		s.save()
	}
	p.lastHello = now
	if epoch > s.epoch {
		s.epoch = epoch
		s.save()
		s.emit(now, "+new-epoch", strconv.FormatUint(epoch, 10))
	}
	if mepoch > m.configEpoch {
		newAddr := Addr{f[5], mport}
		m.configEpoch = mepoch
		if newAddr != m.addr {
			s.emitI(now, "+config-update-from", p, "")
			s.switchMaster(m, newAddr, now, false)
		}
		s.save()
	}
}

// checkSdown flags an instance subjectively down.
func (s *Sentinel) checkSdown(i *instance, m *master, now time.Time) {
	down := !i.actPing.IsZero() && now.Sub(i.actPing) > m.cfg.DownAfter
	if i.kind == kindMaster && i.roleReported == kindSlave && !i.roleReportedAt.IsZero() &&
		now.Sub(i.roleReportedAt) > m.cfg.DownAfter+2*s.tm.Info {
		down = true
	}
	switch {
	case down && !i.sdown:
		i.sdown, i.sdownSince = true, now
		s.emitI(now, "+sdown", i, "")
		if i.kind == kindMaster {
			// Replica selection needs fresh INFO: ask now, not at the next tick.
			for _, r := range m.replicas {
				if !r.infoPending {
					s.sendInfo(r, m, now)
				}
			}
		}
	case !down && i.sdown:
		i.sdown = false
		s.emitI(now, "-sdown", i, "")
	}
}

func (s *Sentinel) checkOdown(m *master, now time.Time) {
	votes := 0
	if m.sdown {
		votes = 1
		for _, p := range m.sentinels {
			if p.downReply && now.Sub(p.downReplyAt) < s.tm.AskValidity {
				votes++
			}
		}
	}
	odown := m.sdown && votes >= m.cfg.Quorum
	switch {
	case odown && !m.odown:
		m.odown, m.odownSince = true, now
		s.emitI(now, "+odown", &m.instance, "#quorum "+itoa(votes)+"/"+itoa(m.cfg.Quorum))
		// Ask again at once: the election wants replies now.
		for _, p := range m.sentinels {
			p.lastAsk = time.Time{}
		}
	case !odown && m.odown:
		m.odown = false
		s.emitI(now, "-odown", &m.instance, "")
	}
}

// askPeers sends SENTINEL is-master-down-by-addr to every peer, asking for
// a vote when a failover of m is waiting to start.
func (s *Sentinel) askPeers(m *master, now time.Time, force bool) {
	runid := "*"
	if m.fo.state == foWaitStart && !m.fo.force {
		runid = s.myID
	}
	for _, p := range m.sentinels {
		if p.askPending || (!force && now.Sub(p.lastAsk) < s.tm.Ask) {
			continue
		}
		p.lastAsk, p.askPending = now, true
		cmd := []string{"sentinel", "is-master-down-by-addr", m.addr.IP, strconv.Itoa(m.addr.Port),
			strconv.FormatUint(s.epoch, 10), runid}
		s.tr.Do(p.addr, s.peerAuth(), [][]string{cmd}, func(r []Reply, err error) {
			s.askReply(m, p, r, err, s.clock())
		})
	}
}

func (s *Sentinel) askReply(m *master, p *instance, r []Reply, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.askPending = false
	if err != nil {
		return
	}
	rep := r[0]
	if rep.Kind != '*' || len(rep.Elems) != 3 || rep.Elems[0].Kind != ':' || rep.Elems[1].Kind != '$' || rep.Elems[2].Kind != ':' {
		return
	}
	p.downReply = rep.Elems[0].Int == 1
	p.downReplyAt = now
	if leader := rep.Elems[1].Str; leader != "*" {
		p.leader, p.leaderEpoch = leader, uint64(rep.Elems[2].Int)
	}
	if s.masters[m.name] == m && m.fo.state == foWaitStart {
		// Count the votes now rather than at the next tick.
		s.runFailover(m, now)
	}
}
