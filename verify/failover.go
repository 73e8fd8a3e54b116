package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrRefused means a failover was not attempted because it would be unsafe
// (a lagging replica, sentinels that would fight a manual change, no
// candidate); nothing was changed.
var ErrRefused = errors.New("failover refused")

// ErrTimedOut means a failover did not complete within its timeout.
var ErrTimedOut = errors.New("failover timed out")

// FailoverOptions say how to move the master.
type FailoverOptions struct {
	// To is the inventory name of the replica to promote; "" lets the
	// sentinels (or, with Manual, the largest offset) choose.
	To string
	// Manual performs the seed's manual procedure without sentinels.
	Manual bool
	// Force promotes a lagging replica (Manual) or overrides the refusals
	// documented in docs/failover.md.
	Force bool
	// EngineFailover uses the engine's FAILOVER TO command for a manual
	// switchover with a live master (hactl-engine); otherwise the
	// pause/wait/promote/repoint procedure is used.
	EngineFailover bool
	Timeout        time.Duration // whole operation; 0 means 30 s
	// Progress receives each step as it happens; may be nil.
	Progress func(string)
}

// FailoverResult is what a failover did.
type FailoverResult struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	Method   string    `json:"method"`
	Topology *Topology `json:"topology"`
}

// failover is one run of Failover.
type failover struct {
	c   Config
	o   FailoverOptions
	res *FailoverResult
}

func (f *failover) step(format string, args ...any) {
	if f.o.Progress != nil {
		f.o.Progress(fmt.Sprintf(format, args...))
	}
}

// Failover moves the master: through the sentinels (default), to a chosen
// replica without losing acknowledged writes (To), or by hand (Manual). It
// returns an error wrapping ErrRefused or ErrTimedOut for those outcomes.
func Failover(ctx context.Context, c Config, o FailoverOptions) (*FailoverResult, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	f := &failover{c: c, o: o, res: &FailoverResult{}}
	if o.To != "" && f.engine(o.To) == nil {
		return nil, fmt.Errorf("%w: %s is not an engine host of the inventory", ErrRefused, o.To)
	}
	var err error
	if o.Manual {
		err = f.manual(ctx)
	} else {
		err = f.viaSentinels(ctx)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrRefused) {
			err = fmt.Errorf("%w after %s: %w", ErrTimedOut, o.Timeout, err)
		}
		return f.res, err
	}
	f.res.Topology = Status(context.WithoutCancel(ctx), c)
	return f.res, nil
}

func (f *failover) engine(name string) *Node {
	for i, e := range f.c.Engines {
		if e.Name == name {
			return &f.c.Engines[i]
		}
	}
	return nil
}

// do sends one command to an engine.
func (f *failover) do(ctx context.Context, n Node, args ...any) (any, error) {
	cl := f.c.client(n.Addr, f.c.Password)
	defer cl.Close()
	r, err := cl.Do(ctx, args...).Result()
	if err != nil {
		var words []string // the command and subcommand, never an argument
		for _, a := range args[:min(2, len(args))] {
			words = append(words, fmt.Sprint(a))
		}
		return nil, fmt.Errorf("%s: %s: %w", n.Name, strings.Join(words, " "), err)
	}
	return r, nil
}

// replicaOf points n at master m (nil: REPLICAOF NO ONE).
func (f *failover) replicaOf(ctx context.Context, n Node, m *Node) error {
	if m == nil {
		f.step("%s: REPLICAOF NO ONE", n.Name)
		_, err := f.do(ctx, n, "REPLICAOF", "NO", "ONE")
		return err
	}
	host, port, _ := net.SplitHostPort(m.Addr)
	f.step("%s: REPLICAOF %s %s", n.Name, host, port)
	_, err := f.do(ctx, n, "REPLICAOF", host, port)
	return err
}

// offset reads an engine's replication offset: master_repl_offset on a
// master, slave_repl_offset on a replica.
func offset(v engineView) int64 {
	k := "master_repl_offset"
	if v.Repl["role"] == "slave" {
		k = "slave_repl_offset"
	}
	o, _ := strconv.ParseInt(v.Repl[k], 10, 64)
	return o
}

// poll calls cond every 50 ms until it returns true, an error, or ctx ends.
func poll(ctx context.Context, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sentinelNames returns, per reachable sentinel, the engine it names.
func (f *failover) sentinelNames(sv []sentinelView) map[string]string {
	out := map[string]string{}
	for _, s := range sv {
		if s.Err == nil {
			out[s.Name] = f.c.nameOf(s.Master["ip"], s.Master["port"])
		}
	}
	return out
}

// liveMaster returns the engine the sentinels (or the engines) name
// master, requiring it to answer role:master.
func (f *failover) liveMaster(ev []engineView, sv []sentinelView) (Node, engineView, error) {
	name, _ := f.c.pickMaster(ev, sv)
	for _, e := range ev {
		if e.Name == name {
			if e.Err != nil || e.Repl["role"] != "master" {
				return Node{}, e, fmt.Errorf("master %s is not answering as master: %v", name, e.Err)
			}
			return e.Node, e, nil
		}
	}
	return Node{}, engineView{}, fmt.Errorf("%w: no master found", ErrRefused)
}

// viaSentinels asks the sentinels to fail over, pausing writes on the
// master until the target has every write, then waits for agreement.
func (f *failover) viaSentinels(ctx context.Context) error {
	ev, sv := f.c.survey(ctx)
	names := f.sentinelNames(sv)
	if len(names) < f.c.Quorum || len(names) == 0 {
		return fmt.Errorf("%w: %d of %d sentinels answer, quorum is %d (a set without sentinels: use --manual)", ErrRefused, len(names), len(f.c.Sentinels), f.c.Quorum)
	}
	old, oldView, err := f.liveMaster(ev, sv)
	if err != nil {
		return err
	}
	f.res.From, f.res.Method = old.Name, "sentinel"
	f.step("master is %s (named by %d sentinels)", old.Name, len(names))
	var ask SentinelNode
	for _, s := range sv {
		if s.Err == nil {
			ask = SentinelNode(s.Node)
			break
		}
	}
	var targets []engineView // replicas that may take over
	for _, e := range ev {
		if e.Name != old.Name && e.Err == nil && e.Repl["role"] == "slave" && e.Repl["master_link_status"] == "up" {
			targets = append(targets, e)
		}
	}
	if f.o.To != "" {
		i := slices.IndexFunc(targets, func(e engineView) bool { return e.Name == f.o.To })
		if i < 0 {
			return fmt.Errorf("%w: %s is not a connected replica of %s", ErrRefused, f.o.To, old.Name)
		}
		f.res.Method = "sentinel, priority steered"
		restore, err := f.steer(ctx, ask, targets, f.o.To)
		defer restore()
		if err != nil {
			return err
		}
		targets = targets[i : i+1]
	}
	if len(targets) == 0 {
		return fmt.Errorf("%w: no connected replica of %s", ErrRefused, old.Name)
	}
	unpause, err := f.pauseAndDrain(ctx, old, oldView, targets)
	defer unpause()
	if err != nil {
		return err
	}
	f.step("%s: SENTINEL FAILOVER %s", ask.Name, f.c.Service)
	if err := f.sentinelDo(ctx, Node(ask), "SENTINEL", "FAILOVER", f.c.Service); err != nil {
		if strings.Contains(err.Error(), "NOGOODSLAVE") || strings.Contains(err.Error(), "INPROG") {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return err
	}
	var promoted Node
	err = poll(ctx, func() (bool, error) {
		_, sv := f.c.survey(ctx)
		for _, n := range f.sentinelNames(sv) {
			if n != "" && n != old.Name {
				promoted = *f.engine(n)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the sentinels to promote a replica: %w", err)
	}
	f.res.To = promoted.Name
	f.step("sentinels promoted %s", promoted.Name)
	// The old master still holds paused writers: make it a replica before
	// they run, so they get READONLY instead of being acknowledged and lost.
	if err := f.replicaOf(ctx, old, &promoted); err != nil {
		return err
	}
	unpause()
	return f.waitAgreement(ctx, promoted.Name)
}

// SentinelNode is a sentinel's Node (a distinct type so engine and
// sentinel addresses are not mixed up).
type SentinelNode Node

func (f *failover) sentinelDo(ctx context.Context, n Node, args ...any) error {
	cl := f.c.client(n.Addr, f.c.SentinelPassword)
	defer cl.Close()
	return cl.Do(ctx, args...).Err()
}

// steer sets replica-priority 0 on every candidate but to (and a non-zero
// priority on to), then waits until the sentinel that will lead sees it in
// its INFO cache. restore puts the old priorities back.
func (f *failover) steer(ctx context.Context, ask SentinelNode, cands []engineView, to string) (restore func(), err error) {
	saved := map[string]string{}
	restore = func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, e := range cands {
			if p, ok := saved[e.Name]; ok {
				if _, err := f.do(rctx, e.Node, "CONFIG", "SET", "replica-priority", p); err == nil {
					f.step("%s: replica-priority %s restored", e.Name, p)
				}
			}
		}
	}
	want := map[string]bool{}
	for _, e := range cands {
		r, err := f.do(ctx, e.Node, "CONFIG", "GET", "replica-priority")
		if err != nil {
			return restore, err
		}
		cur := pairs(r)["replica-priority"]
		switch {
		case e.Name == to && cur == "0" && !f.o.Force:
			return restore, fmt.Errorf("%w: %s has replica-priority 0 (never promoted); --force to override", ErrRefused, to)
		case e.Name == to && cur != "0":
			want[e.Name] = true
			continue
		case e.Name == to:
			want[e.Name] = true
		default:
			want[e.Name] = false
		}
		val := "0"
		if e.Name == to {
			val = "1"
		}
		saved[e.Name] = cur
		f.step("%s: CONFIG SET replica-priority %s (was %s)", e.Name, val, cur)
		if _, err := f.do(ctx, e.Node, "CONFIG", "SET", "replica-priority", val); err != nil {
			return restore, err
		}
	}
	f.step("waiting for sentinel %s to see the priorities (its next INFO of each replica)", ask.Name)
	err = poll(ctx, func() (bool, error) {
		cl := f.c.client(ask.Addr, f.c.SentinelPassword)
		defer cl.Close()
		r, err := cl.Do(ctx, "SENTINEL", "REPLICAS", f.c.Service).Slice()
		if err != nil {
			return false, nil
		}
		seen := 0
		for _, rr := range r {
			m := pairs(rr)
			if up, ok := want[f.c.nameOf(m["ip"], m["port"])]; ok && (m["slave-priority"] != "0") == up {
				seen++
			}
		}
		return seen == len(want), nil
	})
	if err != nil {
		return restore, fmt.Errorf("sentinel %s did not see the new replica priorities: %w", ask.Name, err)
	}
	return restore, nil
}

// pauseAndDrain pauses writes on the master and waits until one of the
// targets (all of them when there are several, so that the sentinels'
// choice has every write) has the master's offset.
func (f *failover) pauseAndDrain(ctx context.Context, m Node, mv engineView, targets []engineView) (unpause func(), err error) {
	dl, _ := ctx.Deadline()
	ms := max(time.Until(dl).Milliseconds(), 1000)
	f.step("%s: CLIENT PAUSE %d WRITE", m.Name, ms)
	paused := true
	unpause = func() {
		if !paused {
			return
		}
		paused = false
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := f.do(rctx, m, "CLIENT", "UNPAUSE"); err == nil {
			f.step("%s: CLIENT UNPAUSE", m.Name)
		}
	}
	if _, err := f.do(ctx, m, "CLIENT", "PAUSE", ms, "WRITE"); err != nil {
		paused = false
		return unpause, err
	}
	var mo int64
	err = poll(ctx, func() (bool, error) {
		v := f.c.askEngine(ctx, m)
		if v.Err != nil {
			return false, v.Err
		}
		mo = offset(v)
		for _, t := range targets {
			tv := f.c.askEngine(ctx, t.Node)
			if tv.Err != nil || offset(tv) < mo {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return unpause, fmt.Errorf("waiting for %s to reach offset %d: %w", joinNames(targets), mo, err)
	}
	f.step("%s caught up: offset %d", joinNames(targets), mo)
	return unpause, nil
}

func joinNames(vs []engineView) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Name)
	}
	return strings.Join(s, ", ")
}

// waitAgreement waits until every reachable sentinel names master, master
// answers role:master and every other reachable engine replicates from it
// with its link up, printing each node as it agrees.
func (f *failover) waitAgreement(ctx context.Context, master string) error {
	done := map[string]bool{}
	m := f.engine(master)
	err := poll(ctx, func() (bool, error) {
		ev, sv := f.c.survey(ctx)
		all := true
		for s, n := range f.sentinelNames(sv) {
			if n == master && !done["s:"+s] {
				done["s:"+s] = true
				f.step("sentinel %s names %s", s, master)
			}
			all = all && n == master
		}
		for _, e := range ev {
			ok := e.Err == nil
			if e.Name == master {
				ok = ok && e.Repl["role"] == "master"
			} else if ok {
				ok = e.Repl["role"] == "slave" && net.JoinHostPort(e.Repl["master_host"], e.Repl["master_port"]) == m.Addr && e.Repl["master_link_status"] == "up"
			} else {
				continue // unreachable (the failed master): nothing to agree
			}
			if ok && !done["e:"+e.Name] {
				done["e:"+e.Name] = true
				if e.Name == master {
					f.step("%s answers role:master", e.Name)
				} else {
					f.step("%s replicates from %s, link up", e.Name, master)
				}
			}
			all = all && ok
		}
		return all, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for every sentinel and replica to agree on %s: %w", master, err)
	}
	return nil
}

// manual performs the seed's manual failover (section 2.4) safely: with a
// live master it is a switchover that loses no acknowledged write; with a
// dead master it promotes the replica with the largest offset and refuses a
// lagging one unless forced.
func (f *failover) manual(ctx context.Context) error {
	ev, sv := f.c.survey(ctx)
	if names := f.sentinelNames(sv); len(names) > 0 && !f.o.Force {
		return fmt.Errorf("%w: %d sentinels are running and would undo or fight a manual change: run hactl failover without --manual (or --force)", ErrRefused, len(names))
	}
	var masters, replicas []engineView
	for _, e := range ev {
		switch {
		case e.Err != nil:
			f.step("%s: unreachable (%v)", e.Name, e.Err)
		case e.Repl["role"] == "master":
			masters = append(masters, e)
		default:
			replicas = append(replicas, e)
		}
	}
	if len(masters) > 1 {
		return fmt.Errorf("%w: %s all say role:master (split brain): run hactl heal --master HOST first", ErrRefused, joinNames(masters))
	}
	if len(masters) == 1 {
		return f.manualSwitchover(ctx, masters[0], replicas)
	}
	f.res.Method = "manual, master down"
	if len(replicas) == 0 {
		return fmt.Errorf("%w: no engine answers", ErrRefused)
	}
	slices.SortStableFunc(replicas, func(a, b engineView) int { return int(offset(b) - offset(a)) })
	best := replicas[0]
	target := best
	if f.o.To != "" {
		i := slices.IndexFunc(replicas, func(e engineView) bool { return e.Name == f.o.To })
		if i < 0 {
			return fmt.Errorf("%w: %s does not answer", ErrRefused, f.o.To)
		}
		target = replicas[i]
	}
	f.res.From, f.res.To = best.Repl["master_host"]+":"+best.Repl["master_port"], target.Name
	if n := f.c.nameOf(best.Repl["master_host"], best.Repl["master_port"]); n != "" {
		f.res.From = n
	}
	f.step("no engine says role:master; replicas' offsets: %s", offsets(replicas))
	if lag := offset(best) - offset(target); lag > 0 {
		if !f.o.Force {
			return fmt.Errorf("%w: %s is %d bytes behind %s: promoting it loses those writes (--force to accept)", ErrRefused, target.Name, lag, best.Name)
		}
		f.step("--force: promoting %s although it is %d bytes behind %s", target.Name, lag, best.Name)
	}
	if err := f.replicaOf(ctx, target.Node, nil); err != nil {
		return err
	}
	for _, r := range replicas {
		if r.Name != target.Name {
			if err := f.replicaOf(ctx, r.Node, &target.Node); err != nil {
				return err
			}
		}
	}
	return f.waitAgreement(ctx, target.Name)
}

func offsets(vs []engineView) string {
	var s []string
	for _, v := range vs {
		s = append(s, fmt.Sprintf("%s=%d", v.Name, offset(v)))
	}
	return strings.Join(s, " ")
}

// manualSwitchover moves the master from a live m to a replica without
// losing acknowledged writes: the engine's FAILOVER TO, or CLIENT PAUSE
// WRITE, wait for the target's offset, promote, repoint, unpause.
func (f *failover) manualSwitchover(ctx context.Context, m engineView, replicas []engineView) error {
	f.res.From = m.Name
	var target *engineView
	for i, r := range replicas {
		if r.Repl["master_link_status"] != "up" || net.JoinHostPort(r.Repl["master_host"], r.Repl["master_port"]) != m.Addr {
			continue
		}
		if f.o.To == r.Name || f.o.To == "" && (target == nil || offset(r) > offset(*target)) {
			target = &replicas[i]
		}
	}
	if target == nil {
		return fmt.Errorf("%w: no replica of %s with its link up (%s)", ErrRefused, m.Name, orAny(f.o.To))
	}
	f.res.To = target.Name
	f.step("master %s is up: switchover to %s (offsets %s, master %d)", m.Name, target.Name, offsets(replicas), offset(m))
	if f.o.EngineFailover {
		f.res.Method = "manual, engine FAILOVER TO"
		dl, _ := ctx.Deadline()
		host, port, _ := net.SplitHostPort(target.Addr)
		ms := max(time.Until(dl).Milliseconds()-500, 1000)
		f.step("%s: FAILOVER TO %s %s TIMEOUT %d", m.Name, host, port, ms)
		if _, err := f.do(ctx, m.Node, "FAILOVER", "TO", host, port, "TIMEOUT", ms); err != nil {
			return err
		}
		err := poll(ctx, func() (bool, error) {
			v := f.c.askEngine(ctx, m.Node)
			return v.Err == nil && v.Repl["role"] == "slave" && v.Repl["master_host"] == host, nil
		})
		if err != nil {
			f.do(context.WithoutCancel(ctx), m.Node, "FAILOVER", "ABORT")
			return fmt.Errorf("waiting for %s to hand over to %s: %w", m.Name, target.Name, err)
		}
		f.step("%s handed over to %s and replicates from it", m.Name, target.Name)
	} else {
		f.res.Method = "manual, pause and promote"
		unpause, err := f.pauseAndDrain(ctx, m.Node, m, []engineView{*target})
		defer unpause()
		if err != nil {
			return err
		}
		if err := f.replicaOf(ctx, target.Node, nil); err != nil {
			return err
		}
		if err := f.replicaOf(ctx, m.Node, &target.Node); err != nil {
			return err
		}
		unpause()
	}
	for _, r := range replicas {
		if r.Name != target.Name {
			if err := f.replicaOf(ctx, r.Node, &target.Node); err != nil {
				return err
			}
		}
	}
	return f.waitAgreement(ctx, target.Name)
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}
