package sentinel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// An in-memory world in the style of hashicorp/raft's test cluster: fake
// Redis nodes, sentinels linked by a fake transport with random latency,
// partitions and a fake clock. Every callback runs from the world's event
// loop, never under a sentinel's lock.

var errRefused = errors.New("connection refused")

type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

type simNode struct {
	addr     Addr
	up       bool
	master   *Addr // nil: role master
	prio     int
	offset   int64
	runID    string
	subs     map[Addr]func(string) // by subscribing sentinel
	promoted int                   // SLAVEOF NO ONE received while a replica
	// stallAfterPromotion makes the node unresponsive for that long after
	// SLAVEOF NO ONE (a busy new master: fsync, big CONFIG REWRITE, ...).
	stallAfterPromotion time.Duration
	stallUntil          time.Time
}

type simSentinel struct {
	addr     Addr
	s        *Sentinel
	tr       *simTransport
	events   []Event
	up       bool
	nextTick time.Time
}

func (ss *simSentinel) Event(e Event) { ss.events = append(ss.events, e) }

func (ss *simSentinel) count(typ string) int {
	n := 0
	for _, e := range ss.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

type simWorld struct {
	t          testing.TB
	now        time.Time
	rnd        *mrand.Rand
	seq        int
	queue      []simEvent
	nodes      map[Addr]*simNode
	sents      []*simSentinel
	maxLatency time.Duration
	// cut reports whether messages from one endpoint to another are lost.
	cut func(from, to Addr) bool
	// deaf reports whether hello messages published on data nodes are lost
	// on their way to a subscribed sentinel.
	deaf func(sub Addr) bool
}

func newSimWorld(t testing.TB, seed uint64) *simWorld {
	return &simWorld{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		rnd: mrand.New(mrand.NewPCG(seed, seed*7+1)), nodes: map[Addr]*simNode{},
		maxLatency: 2 * time.Millisecond, cut: func(Addr, Addr) bool { return false },
		deaf: func(Addr) bool { return false }}
}

func (w *simWorld) after(d time.Duration, fn func()) {
	w.seq++
	w.queue = append(w.queue, simEvent{at: w.now.Add(d), seq: w.seq, fn: fn})
}

func (w *simWorld) latency() time.Duration {
	return time.Duration(w.rnd.Int64N(int64(w.maxLatency) + 1))
}

func (w *simWorld) addNode(port int, master *Addr, prio int) *simNode {
	a := Addr{"10.0.0.1", port}
	n := &simNode{addr: a, up: true, master: master, prio: prio, subs: map[Addr]func(string){},
		runID: fmt.Sprintf("%040d", port)}
	w.nodes[a] = n
	return n
}

func (w *simWorld) addSentinel(port int, conf string) *simSentinel {
	cfg, err := ParseConfig("sim.conf", []byte(conf))
	if err != nil {
		w.t.Fatal(err)
	}
	ss := &simSentinel{addr: Addr{"10.0.1.1", port}, up: true}
	ss.tr = &simTransport{w: w, from: ss.addr}
	s, err := New(cfg, stateForTest(), ss.tr, ss, Options{Now: func() time.Time { return w.now },
		Rand: w.rnd.Uint64() | 1, Crash: func() {}}, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	cfg.AnnounceIP = ss.addr.IP
	s.cfg.AnnounceIP, s.cfg.Port = ss.addr.IP, port
	ss.s = s
	w.sents = append(w.sents, ss)
	return ss
}

// run advances the clock by d in 5 ms steps, delivering messages and
// ticking every running sentinel 10 times a second with jitter.
func (w *simWorld) run(d time.Duration) {
	end := w.now.Add(d)
	for w.now.Before(end) {
		w.now = w.now.Add(5 * time.Millisecond)
		for {
			sort.Slice(w.queue, func(i, j int) bool {
				if !w.queue[i].at.Equal(w.queue[j].at) {
					return w.queue[i].at.Before(w.queue[j].at)
				}
				return w.queue[i].seq < w.queue[j].seq
			})
			if len(w.queue) == 0 || w.queue[0].at.After(w.now) {
				break
			}
			ev := w.queue[0]
			w.queue = w.queue[1:]
			ev.fn()
		}
		for _, n := range w.nodes {
			if n.up && n.master == nil {
				n.offset += 100
			}
		}
		for _, n := range w.nodes {
			if m := w.upstream(n); m != nil {
				n.offset = m.offset
			}
		}
		for _, ss := range w.sents {
			if ss.up && !w.now.Before(ss.nextTick) {
				ss.s.Tick(w.now)
				ss.nextTick = w.now.Add(80*time.Millisecond + time.Duration(w.rnd.Int64N(int64(40*time.Millisecond))))
			}
		}
	}
}

// upstream is the master n replicates from, if the link is up.
func (w *simWorld) upstream(n *simNode) *simNode {
	if !n.up || n.master == nil {
		return nil
	}
	m := w.nodes[*n.master]
	if m == nil || !m.up || m.master != nil {
		return nil
	}
	return m
}

func (w *simWorld) sentinelAt(a Addr) *simSentinel {
	for _, ss := range w.sents {
		if ss.addr == a {
			return ss
		}
	}
	return nil
}

type simTransport struct {
	w      *simWorld
	from   Addr
	onDown func(Addr)
}

func (t *simTransport) OnLinkDown(fn func(Addr)) { t.onDown = fn }
func (t *simTransport) Drop(Addr)                {}
func (t *simTransport) LocalIP(Addr) string      { return t.from.IP }

func (t *simTransport) Subscribe(addr Addr, _ Auth, onMsg func(string)) {
	if n := t.w.nodes[addr]; n != nil {
		n.subs[t.from] = onMsg
	}
}

func (t *simTransport) Do(addr Addr, _ Auth, cmds [][]string, done func([]Reply, error)) {
	w := t.w
	w.after(w.latency(), func() {
		if !t.reachable(addr) {
			w.after(w.latency(), func() { done(nil, errRefused) })
			return
		}
		replies := w.exec(t.from, addr, cmds)
		if w.cut(addr, t.from) {
			return // reply lost: the command stays pending
		}
		delay := w.latency()
		if n := w.nodes[addr]; n != nil && n.stallUntil.After(w.now) {
			delay += n.stallUntil.Sub(w.now)
		}
		w.after(delay, func() { done(replies, nil) })
	})
}

func (t *simTransport) reachable(addr Addr) bool {
	if t.w.cut(t.from, addr) {
		return false
	}
	if n := t.w.nodes[addr]; n != nil {
		return n.up
	}
	ss := t.w.sentinelAt(addr)
	return ss != nil && ss.up
}

func (w *simWorld) exec(from, to Addr, cmds [][]string) []Reply {
	if ss := w.sentinelAt(to); ss != nil {
		return w.execSentinel(ss, cmds)
	}
	n := w.nodes[to]
	var out []Reply
	for _, c := range cmds {
		switch strings.ToLower(c[0]) {
		case "ping":
			out = append(out, Reply{Kind: '+', Str: "PONG"})
		case "info":
			out = append(out, Reply{Kind: '$', Str: w.info(n)})
		case "publish":
			for sub, cb := range n.subs {
				if !w.cut(to, sub) && !w.deaf(sub) {
					payload := c[2]
					w.after(w.latency(), func() { cb(payload) })
				}
			}
			out = append(out, Reply{Kind: ':', Int: int64(len(n.subs))})
		case "slaveof":
			if strings.EqualFold(c[1], "no") {
				if n.master != nil {
					n.promoted++
					n.stallUntil = w.now.Add(n.stallAfterPromotion)
				}
				n.master = nil
			} else {
				p, _ := strconv.Atoi(c[2])
				n.master = &Addr{c[1], p}
			}
			out = append(out, Reply{Kind: '+', Str: "QUEUED"})
		case "client":
			// CLIENT KILL TYPE normal drops every other sentinel's link.
			if len(c) > 3 && strings.EqualFold(c[3], "normal") {
				for _, ss := range w.sents {
					if ss.addr != from && ss.tr.onDown != nil {
						fn := ss.tr.onDown
						w.after(w.latency(), func() { fn(to) })
					}
				}
			}
			out = append(out, Reply{Kind: '+', Str: "QUEUED"})
		default:
			out = append(out, Reply{Kind: '+', Str: "OK"})
		}
	}
	return out
}

func (w *simWorld) execSentinel(ss *simSentinel, cmds [][]string) []Reply {
	var out []Reply
	for _, c := range cmds {
		switch strings.ToLower(c[0]) {
		case "publish":
			ss.s.Hello(c[2], w.now, true)
			out = append(out, Reply{Kind: ':', Int: 1})
		case "sentinel":
			var rw resp.Writer
			rw.Proto = 2
			ss.s.sentinelCommand(&rw, c, w.now)
			r, err := readReply(bufio.NewReader(bytes.NewReader(rw.B)))
			if err != nil {
				w.t.Fatalf("bad reply %q: %v", rw.B, err)
			}
			out = append(out, r)
		default:
			out = append(out, Reply{Kind: '+', Str: "PONG"})
		}
	}
	return out
}

func (w *simWorld) info(n *simNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Server\r\nrun_id:%s\r\n# Replication\r\n", n.runID)
	if n.master == nil {
		b.WriteString("role:master\r\n")
		k := 0
		for _, r := range w.sortedNodes() {
			if r.up && r.master != nil && *r.master == n.addr {
				fmt.Fprintf(&b, "slave%d:ip=%s,port=%d,state=online,offset=%d,lag=0\r\n", k, r.addr.IP, r.addr.Port, r.offset)
				k++
			}
		}
		return b.String()
	}
	link := "down"
	if w.upstream(n) != nil {
		link = "up"
	}
	fmt.Fprintf(&b, "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\nslave_repl_offset:%d\r\nslave_priority:%d\r\n",
		n.master.IP, n.master.Port, link, n.offset, n.prio)
	return b.String()
}

func (w *simWorld) sortedNodes() []*simNode {
	var out []*simNode
	for _, n := range w.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].addr.Port < out[j].addr.Port })
	return out
}

func (w *simWorld) promotions() int {
	p := 0
	for _, n := range w.nodes {
		p += n.promoted
	}
	return p
}

// checkOneLeaderPerEpoch is the election invariant: no two sentinels are
// elected for the same epoch.
func (w *simWorld) checkOneLeaderPerEpoch() {
	w.t.Helper()
	leaders := map[uint64]Addr{}
	for _, ss := range w.sents {
		var epoch uint64
		for _, e := range ss.events {
			if e.Type == "+new-epoch" {
				epoch, _ = strconv.ParseUint(e.Message, 10, 64)
			}
			if e.Type == "+elected-leader" {
				if other, ok := leaders[epoch]; ok && other != ss.addr {
					w.t.Fatalf("two leaders for epoch %d: %v and %v", epoch, other, ss.addr)
				}
				leaders[epoch] = ss.addr
			}
		}
	}
}

func simConf(masterPort, quorum int, downAfter, failoverTimeout time.Duration) string {
	return fmt.Sprintf("sentinel monitor m 10.0.0.1 %d %d\nsentinel down-after-milliseconds m %d\nsentinel failover-timeout m %d\n",
		masterPort, quorum, downAfter.Milliseconds(), failoverTimeout.Milliseconds())
}

// simCluster builds a master (port 1000), nRep replicas and nSent
// sentinels, and runs until they have discovered each other.
func simCluster(t testing.TB, seed uint64, nRep, nSent, quorum int, downAfter, fo time.Duration) *simWorld {
	w := newSimWorld(t, seed)
	m := w.addNode(1000, nil, 100)
	for i := 0; i < nRep; i++ {
		w.addNode(1001+i, &m.addr, 1+w.rnd.IntN(100))
	}
	for i := 0; i < nSent; i++ {
		w.addSentinel(2000+i, simConf(1000, quorum, downAfter, fo))
	}
	w.run(12 * time.Second)
	for _, ss := range w.sents {
		ss.s.mu.Lock()
		mm := ss.s.masters["m"]
		nr, ns := len(mm.replicas), len(mm.sentinels)
		ss.s.mu.Unlock()
		if nr != nRep || ns != nSent-1 {
			t.Fatalf("seed %d: discovery incomplete at %v: %d replicas, %d sentinels", seed, ss.addr, nr, ns)
		}
	}
	return w
}

// dump logs every sentinel's events (on failure).
func (w *simWorld) dump() {
	for _, ss := range w.sents {
		var b strings.Builder
		for _, e := range ss.events {
			fmt.Fprintf(&b, "%s %s %s\n", e.Time.Format("15:04:05.000"), e.Type, e.Message)
		}
		w.t.Logf("sentinel %v:\n%s", ss.addr, b.String())
	}
}

func (w *simWorld) masterAddrs() map[Addr]int {
	out := map[Addr]int{}
	for _, ss := range w.sents {
		if !ss.up {
			continue
		}
		ss.s.mu.Lock()
		out[ss.s.masters["m"].currentAddr()]++
		ss.s.mu.Unlock()
	}
	return out
}

// TestSimOneFailureOnePromotion kills the master under adverse conditions
// (random latency, CLIENT KILL dropping the other sentinels' links to the
// promoted replica, hellos to one sentinel lost for a while, a stalled
// sentinel) with down-after 1000 ms, and checks that exactly one replica is
// ever promoted and that all sentinels converge on it.
func TestSimOneFailureOnePromotion(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		fo := []time.Duration{3 * time.Second, 10 * time.Second, 180 * time.Second}[seed%3]
		w := simCluster(t, seed, 2, 3, 2, time.Second, fo)
		w.maxLatency = time.Duration(w.rnd.IntN(30)) * time.Millisecond
		killAt := w.now
		deaf := w.sents[2].addr
		deafFor := time.Duration(w.rnd.IntN(8000)) * time.Millisecond
		w.deaf = func(sub Addr) bool {
			// The third sentinel hears no hello from data nodes for a while
			// (it misses the config update) but still answers votes.
			return sub == deaf && w.now.Sub(killAt) < deafFor
		}
		if seed%3 == 2 {
			// The new master stalls longer than down-after right after its
			// promotion: every sentinel sees it SDOWN, ODOWN follows, and
			// only the vote lockout stands between that and a second
			// promotion (Redis's double failover of targets.md).
			for _, n := range w.nodes {
				n.stallAfterPromotion = 1200*time.Millisecond + time.Duration(w.rnd.IntN(1500))*time.Millisecond
			}
		}
		old := w.nodes[Addr{"10.0.0.1", 1000}]
		old.up = false
		if seed%2 == 1 {
			// The old master restarts with its old configuration, as a
			// master, while the failover runs (targets.md's worst case).
			w.run(500*time.Millisecond + time.Duration(w.rnd.IntN(2500))*time.Millisecond)
			old.up, old.master = true, nil
		}
		if seed%4 == 0 {
			w.run(time.Duration(w.rnd.IntN(1500)) * time.Millisecond)
			w.sents[0].up = false // stalled: no ticks, no replies
			w.run(time.Duration(w.rnd.IntN(3000)) * time.Millisecond)
			w.sents[0].up = true
		}
		w.run(40 * time.Second)
		w.checkOneLeaderPerEpoch()
		// With a quick restart the master may be back before ODOWN: then no
		// promotion is right. Never more than one.
		if p := w.promotions(); p > 1 || (p == 0 && seed%2 == 0) {
			w.dump()
			t.Fatalf("seed %d (failover-timeout %v, deaf %v): %d promotions for one failure", seed, fo, deafFor, p)
		}
		addrs := w.masterAddrs()
		if len(addrs) != 1 {
			t.Fatalf("seed %d: sentinels disagree: %v", seed, addrs)
		}
		masters := 0
		for _, n := range w.nodes {
			if n.up && n.master == nil {
				masters++
			}
		}
		if masters != 1 {
			w.dump()
			t.Fatalf("seed %d: %d nodes are masters at the end", seed, masters)
		}
	}
}

// TestSimMinorityPartition isolates one sentinel (quorum 1, so it reaches
// ODOWN alone): it must never be elected, while the majority side fails
// over exactly once.
func TestSimMinorityPartition(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		w := simCluster(t, seed, 2, 3, 1, time.Second, 3*time.Second)
		lone := w.sents[0].addr
		w.cut = func(from, to Addr) bool {
			fs, ts := w.sentinelAt(from) != nil, w.sentinelAt(to) != nil
			return fs && ts && (from == lone) != (to == lone)
		}
		w.deaf = func(sub Addr) bool { return sub == lone }
		w.nodes[Addr{"10.0.0.1", 1000}].up = false
		w.run(30 * time.Second)
		w.checkOneLeaderPerEpoch()
		if n := w.sents[0].count("+elected-leader"); n != 0 {
			t.Fatalf("seed %d: the isolated sentinel was elected %d times", seed, n)
		}
		if w.sents[0].count("+try-failover") == 0 {
			w.dump()
			t.Fatalf("seed %d: the isolated sentinel never tried (the test would prove nothing)", seed)
		}
		if p := w.promotions(); p != 1 {
			t.Fatalf("seed %d: %d promotions", seed, p)
		}
	}
}

// TestSimAllButOneStopped: with 2 of 3 sentinels stopped nobody fails over.
func TestSimAllButOneStopped(t *testing.T) {
	w := simCluster(t, 7, 2, 3, 2, time.Second, 3*time.Second)
	w.sents[1].up, w.sents[2].up = false, false
	w.nodes[Addr{"10.0.0.1", 1000}].up = false
	w.run(30 * time.Second)
	if w.sents[0].count("+sdown") == 0 {
		t.Fatal("master never seen down")
	}
	if w.sents[0].count("+odown") != 0 || w.promotions() != 0 {
		t.Fatalf("failover without quorum: %d promotions", w.promotions())
	}
}

// TestSimTilt: a clock jump puts the sentinel in TILT, where it does not
// act on a dead master; it fails over after TILT ends.
func TestSimTilt(t *testing.T) {
	w := simCluster(t, 3, 2, 3, 2, time.Second, 3*time.Second)
	for _, ss := range w.sents {
		ss.s.Tick(w.now.Add(-3 * time.Second)) // clock went backwards
	}
	w.nodes[Addr{"10.0.0.1", 1000}].up = false
	w.run(20 * time.Second)
	for _, ss := range w.sents {
		if ss.count("+tilt") != 1 {
			t.Fatalf("%v: no +tilt", ss.addr)
		}
	}
	if w.promotions() != 0 {
		t.Fatal("failover during TILT")
	}
	w.run(25 * time.Second)
	if w.sents[0].count("-tilt") != 1 || w.promotions() != 1 {
		t.Fatalf("after TILT: %d promotions", w.promotions())
	}
}

// TestSimPriorityZeroNeverPromoted: the only replica has priority 0.
func TestSimPriorityZeroNeverPromoted(t *testing.T) {
	w := simCluster(t, 5, 1, 3, 2, time.Second, 3*time.Second)
	w.nodes[Addr{"10.0.0.1", 1001}].prio = 0
	w.run(11 * time.Second) // INFO refresh
	w.nodes[Addr{"10.0.0.1", 1000}].up = false
	w.run(20 * time.Second)
	if w.promotions() != 0 {
		t.Fatal("priority-0 replica promoted")
	}
	aborted := 0
	for _, ss := range w.sents {
		aborted += ss.count("-failover-abort-no-good-slave")
	}
	if aborted == 0 {
		t.Fatal("no -failover-abort-no-good-slave event")
	}
}
