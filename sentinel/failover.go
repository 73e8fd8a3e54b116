package sentinel

import (
	"os"
	"sort"
	"strconv"
	"time"
)

// maybeStartFailover starts a failover of an ODOWN master (sentinelStartFailoverIfNeeded).
func (s *Sentinel) maybeStartFailover(m *master, now time.Time) {
	if !m.odown || m.inFailover() || now.Before(m.fo.nextAttempt) {
		return
	}
	s.startFailover(m, now, false)
}

func (s *Sentinel) startFailover(m *master, now time.Time, force bool) {
	s.epoch++
	m.fo = failover{state: foWaitStart, epoch: s.epoch, start: now, stateChange: now, force: force,
		nextAttempt: now.Add(2 * m.cfg.FailoverTimeout)}
	s.save()
	s.emit(now, "+new-epoch", strconv.FormatUint(s.epoch, 10))
	s.emitI(now, "+try-failover", &m.instance, "")
	if !force {
		for _, p := range m.sentinels {
			p.askPending = false
		}
		s.askPeers(m, now, true)
	}
}

// runFailover is the failover state machine: one function per state,
// called until the state stops changing.
func (s *Sentinel) runFailover(m *master, now time.Time) {
	for {
		before := m.fo.state
		switch m.fo.state {
		case foNone:
			return
		case foWaitStart:
			s.foWaitStart(m, now)
		case foSelectSlave:
			s.foSelectSlave(m, now)
		case foSendSlaveofNoOne:
			s.foSendSlaveofNoOne(m, now)
		case foWaitPromotion:
			s.foWaitPromotion(m, now)
		case foReconfSlaves:
			s.foReconfSlaves(m, now)
		case foUpdateConfig:
			s.foUpdateConfig(m, now)
		}
		if m.fo.state == before || s.tilt {
			return
		}
	}
}

func (s *Sentinel) setState(m *master, st failoverState, now time.Time) {
	m.fo.state, m.fo.stateChange = st, now
}

func (s *Sentinel) abortFailover(m *master, event string, now time.Time) {
	s.emitI(now, event, &m.instance, "")
	if p := m.fo.promoted; p != nil {
		p.promoted = false
	}
	for _, r := range m.replicas {
		r.reconf = reconfNone
	}
	next := m.fo.nextAttempt
	m.fo = failover{nextAttempt: next}
}

// foWaitStart waits to be elected leader for the failover epoch.
func (s *Sentinel) foWaitStart(m *master, now time.Time) {
	leader, votes := s.leaderFor(m, m.fo.epoch, now)
	if leader != s.myID && !m.fo.force {
		limit := s.tm.Election
		if m.cfg.FailoverTimeout < limit {
			limit = m.cfg.FailoverTimeout
		}
		if now.Sub(m.fo.start) > limit {
			s.abortFailover(m, "-failover-abort-not-elected", now)
		}
		return
	}
	_ = votes
	s.emitI(now, "+elected-leader", &m.instance, "")
	if s.simFail&SimCrashAfterElection != 0 {
		s.crash()
	}
	s.emitI(now, "+failover-state-select-slave", &m.instance, "")
	s.setState(m, foSelectSlave, now)
}

func (s *Sentinel) crash() {
	if s.opts.Crash != nil {
		s.opts.Crash()
		return
	}
	os.Exit(99)
}

// leaderFor counts the votes for epoch (sentinelGetLeader) and returns the
// winner ("" if none has a majority) and its votes.
func (s *Sentinel) leaderFor(m *master, epoch uint64, now time.Time) (string, int) {
	counts := map[string]int{}
	for _, p := range m.sentinels {
		if p.leader != "" && p.leaderEpoch == epoch {
			counts[p.leader]++
		}
	}
	winner, max := "", 0
	for id, n := range counts {
		if n > max || (n == max && id < winner) {
			winner, max = id, n
		}
	}
	cand := s.myID
	if winner != "" {
		cand = winner
	}
	my, myEpoch := s.vote(m, epoch, cand, now)
	if my != "" && myEpoch == epoch {
		counts[my]++
		if counts[my] > max || (counts[my] == max && my < winner) {
			winner, max = my, counts[my]
		}
	}
	need := m.voters()/2 + 1
	if m.cfg.Quorum > need {
		need = m.cfg.Quorum
	}
	if max < need {
		return "", max
	}
	return winner, max
}

// vote is sentinelVoteLeader, plus hactl's vote lockout: after voting for a
// candidate, a sentinel does not vote for a different candidate of the
// same master for failover-timeout, whatever the epoch. Redis would vote
// again for any higher epoch, which lets a sentinel that missed the first
// election start a second failover (and a second promotion) while the
// first leader is still working.
func (s *Sentinel) vote(m *master, reqEpoch uint64, reqRunID string, now time.Time) (string, uint64) {
	if reqEpoch > s.epoch {
		s.epoch = reqEpoch
		s.save()
		s.emit(now, "+new-epoch", strconv.FormatUint(s.epoch, 10))
	}
	locked := m.leader != "" && m.leader != reqRunID && !m.leaderAt.IsZero() && now.Sub(m.leaderAt) < m.cfg.FailoverTimeout
	if m.leaderEpoch < reqEpoch && s.epoch <= reqEpoch && !locked {
		m.leader, m.leaderEpoch, m.leaderAt = reqRunID, s.epoch, now
		s.save()
		s.emit(now, "+vote-for-leader", reqRunID+" "+strconv.FormatUint(m.leaderEpoch, 10))
		if reqRunID != s.myID {
			jitter := time.Duration(0)
			if s.tm.VoteRetryJitte > 0 {
				jitter = time.Duration(s.rnd.Int64N(int64(s.tm.VoteRetryJitte)))
			}
			if t := now.Add(2*m.cfg.FailoverTimeout + jitter); t.After(m.fo.nextAttempt) {
				m.fo.nextAttempt = t
			}
		}
	}
	return m.leader, m.leaderEpoch
}

// selectReplica picks the replica to promote (sentinelSelectSlave), or nil.
func (s *Sentinel) selectReplica(m *master, now time.Time) *instance {
	maxLinkDown := 10 * m.cfg.DownAfter
	if m.sdown {
		maxLinkDown += now.Sub(m.sdownSince)
	}
	validity := 3 * s.tm.Info
	if m.sdown {
		validity = 5 * s.tm.Ping
	}
	var cands []*instance
	for _, r := range m.replicas {
		switch {
		case r.sdown, !r.connected, now.Sub(r.lastOKPing) > 5*s.tm.Ping, r.priority == 0,
			r.infoRefresh.IsZero(), now.Sub(r.infoRefresh) > validity, r.linkDownFor > maxLinkDown,
			r.roleReported != kindSlave:
			continue
		}
		cands = append(cands, r)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		if a.offset != b.offset {
			return a.offset > b.offset
		}
		if (a.runID == "") != (b.runID == "") {
			return b.runID == ""
		}
		return a.runID < b.runID
	})
	if len(cands) == 0 {
		return nil
	}
	return cands[0]
}

// otherMaster reports a known replica of m that already reports
// role:master while m is down: another leader promoted it (or an operator
// did). Promoting a second replica would split the set.
func (s *Sentinel) otherMaster(m *master) *instance {
	if m.fo.force {
		return nil
	}
	for _, r := range m.replicas {
		if r.connected && !r.sdown && r.roleReported == kindMaster && r.infoRefresh.After(m.fo.start.Add(-s.tm.InfoFast)) {
			return r
		}
	}
	return nil
}

func (s *Sentinel) foSelectSlave(m *master, now time.Time) {
	if r := s.otherMaster(m); r != nil {
		s.emitI(now, "-failover-abort-replica-is-master", r, "")
		s.abortFailover(m, "-failover-abort-no-good-slave", now)
		return
	}
	r := s.selectReplica(m, now)
	if r == nil {
		if s.refreshingCandidates(m, now) {
			return // a usable replica's INFO is on its way: select at the next tick
		}
		s.abortFailover(m, "-failover-abort-no-good-slave", now)
		return
	}
	r.promoted = true
	m.fo.promoted = r
	s.emitI(now, "+selected-slave", r, "")
	s.emitI(now, "+failover-state-send-slaveof-noone", r, "")
	s.setState(m, foSendSlaveofNoOne, now)
}

// refreshingCandidates reports whether a replica that is up and linked
// was left out only because its INFO is too old, and asks for a fresh one.
// Our election is fast enough to finish before the replicas' INFO (polled
// from SDOWN on) comes back on a loaded machine; Redis's slower election
// hides that race. Waiting is bounded by 2 INFO fast periods.
func (s *Sentinel) refreshingCandidates(m *master, now time.Time) bool {
	if now.Sub(m.fo.stateChange) > 2*s.tm.InfoFast {
		return false
	}
	waiting := false
	for _, r := range m.replicas {
		if r.sdown || !r.connected || r.priority == 0 || r.roleReported == kindMaster {
			continue
		}
		if r.infoRefresh.IsZero() || now.Sub(r.infoRefresh) > 5*s.tm.Ping || r.infoPending {
			waiting = true
			if !r.infoPending {
				s.sendInfo(r, m, now)
			}
		}
	}
	return waiting
}

func (s *Sentinel) foSendSlaveofNoOne(m *master, now time.Time) {
	r := m.fo.promoted
	if !r.connected {
		if now.Sub(m.fo.stateChange) > m.cfg.FailoverTimeout {
			s.abortFailover(m, "-failover-abort-slave-timeout", now)
		}
		return
	}
	s.reconfigure(r, m, nil, now)
	s.emitI(now, "+failover-state-wait-promotion", r, "")
	s.setState(m, foWaitPromotion, now)
}

func (s *Sentinel) foWaitPromotion(m *master, now time.Time) {
	if now.Sub(m.fo.stateChange) > m.cfg.FailoverTimeout {
		s.abortFailover(m, "-failover-abort-slave-timeout", now)
	}
	// Promotion is confirmed by refreshInfo (promotionConfirmed).
}

// promotionConfirmed runs when the promoted replica reports role:master.
func (s *Sentinel) promotionConfirmed(m *master, r *instance, now time.Time) {
	m.configEpoch = m.fo.epoch
	s.save()
	s.emitI(now, "+promoted-slave", r, "")
	if s.simFail&SimCrashAfterPromotion != 0 {
		s.crash()
	}
	s.emitI(now, "+failover-state-reconf-slaves", &m.instance, "")
	s.setState(m, foReconfSlaves, now)
	// Tell everybody now: peers switch on the higher config epoch.
	s.broadcastHello(m, now)
	s.runFailover(m, now)
}

func (s *Sentinel) foReconfSlaves(m *master, now time.Time) {
	target := m.fo.promoted.addr
	inProgress := 0
	for _, r := range m.replicas {
		if r.reconf == reconfSent || r.reconf == reconfInprog {
			inProgress++
		}
	}
	for _, r := range sortedInstances(m.replicas) {
		if r.promoted || r.reconf == reconfDone {
			continue
		}
		if r.reconf == reconfSent && now.Sub(r.reconfSent) > s.tm.ReconfTimeout {
			s.emitI(now, "-slave-reconf-sent-timeout", r, "")
			r.reconf = reconfDone
			inProgress--
			continue
		}
		if r.reconf != reconfNone || inProgress >= m.cfg.ParallelSyncs || r.sdown || !r.connected {
			continue
		}
		s.reconfigure(r, m, &target, now)
		r.reconf, r.reconfSent = reconfSent, now
		inProgress++
		s.emitI(now, "+slave-reconf-sent", r, "")
	}
	s.detectEnd(m, now)
}

// detectEnd finishes the reconfiguration phase (sentinelFailoverDetectEnd).
func (s *Sentinel) detectEnd(m *master, now time.Time) {
	if m.fo.promoted.sdown {
		return
	}
	pending := 0
	for _, r := range m.replicas {
		if !r.promoted && r.reconf != reconfDone && !r.sdown {
			pending++
		}
	}
	timeout := now.Sub(m.fo.stateChange) > m.cfg.FailoverTimeout
	if pending > 0 && !timeout {
		return
	}
	if timeout && pending > 0 {
		s.emitI(now, "+failover-end-for-timeout", &m.instance, "")
		target := m.fo.promoted.addr
		for _, r := range sortedInstances(m.replicas) {
			if !r.promoted && r.reconf != reconfDone && r.reconf != reconfSent {
				s.reconfigure(r, m, &target, now)
				s.emitI(now, "+slave-reconf-sent-be", r, "")
			}
		}
	}
	if m.odown {
		m.odown = false
		s.emitI(now, "-odown", &m.instance, "")
	}
	s.emitI(now, "+failover-end", &m.instance, "")
	s.setState(m, foUpdateConfig, now)
}

func (s *Sentinel) foUpdateConfig(m *master, now time.Time) {
	s.switchMaster(m, m.fo.promoted.addr, now, true)
}

// switchMaster points m at a new address (sentinelResetMasterAndChangeAddress):
// every other known node, the old master included, becomes a replica
// entry. wasLeader marks the old master for immediate conversion when it
// reports role:master: this sentinel ran the failover that demoted it.
func (s *Sentinel) switchMaster(m *master, to Addr, now time.Time, wasLeader bool) {
	old := m.addr
	s.emit(now, "+switch-master", m.name+" "+old.IP+" "+strconv.Itoa(old.Port)+" "+to.IP+" "+strconv.Itoa(to.Port))
	prev := m.replicas[to.String()]
	addrs := []Addr{}
	for _, r := range sortedInstances(m.replicas) {
		if r.addr != to {
			addrs = append(addrs, r.addr)
		}
	}
	if old != to {
		addrs = append(addrs, old)
	}
	next := m.fo.nextAttempt
	m.fo = failover{nextAttempt: next}
	m.odown, m.sdown = false, false
	m.instance = instance{kind: kindMaster, name: m.name, addr: to, created: now, priority: 100, announced: true}
	if prev != nil {
		// Keep the link facts of the node we already talk to; the down clock
		// restarts now.
		m.connected, m.lastOKPing, m.runID = prev.connected, now, prev.runID
		m.roleReported, m.roleReportedAt, m.infoRefresh = prev.roleReported, prev.roleReportedAt, prev.infoRefresh
	}
	m.replicas = map[string]*instance{}
	for _, a := range addrs {
		r := s.addReplica(m, a, now)
		r.demoteNow = wasLeader && a == old
		s.emitI(now, "+slave", r, "")
	}
	for _, p := range m.sentinels {
		p.downReply, p.leader = false, ""
	}
	s.save()
	s.broadcastHello(m, now)
}
