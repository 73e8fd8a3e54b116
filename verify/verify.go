package verify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/redis/go-redis/v9"
)

// Node is one server to check.
type Node struct {
	Name string // inventory host name
	Addr string // host:port
}

// Config says what to check.
type Config struct {
	Service          string
	Engines          []Node
	Sentinels        []Node
	Proxies          []Node
	Password         string // requirepass of the engines
	SentinelPassword string
	Quorum           int
	AppendOnly       bool
	Save             string        // expected CONFIG GET save, e.g. "900 1 300 10 60 10000"
	MaxLag           int64         // seconds a replica may lag
	Timeout          time.Duration // per request; 0 means 2 s
	RoundTripWait    time.Duration // how long replicas get to show a write; 0 means 5 s
	// TLS is the client TLS configuration used for the addresses that
	// speak TLS (security.tls); nil means plaintext everywhere.
	TLS      *tls.Config
	tlsAddrs map[string]bool // addresses reached over TLS
	Security *Security       // security checks; nil means none
}

// FromInventory builds the Config for an inventory and its secrets. With
// security.tls on it connects over TLS with hactl's client certificate
// (sec.TLS must be loaded, else the TLS connections fail with that
// error).
func FromInventory(inv *inventory.Inventory, sec *inventory.ResolvedSecrets) Config {
	c := Config{Service: inv.Service, Password: sec.RequirePass, SentinelPassword: sec.Sentinel,
		Quorum: inv.Sentinel.Quorum, AppendOnly: inv.Server.AppendOnly, MaxLag: 10}
	var save []string
	for _, p := range inv.Server.Save {
		save = append(save, strconv.Itoa(p.Seconds), strconv.Itoa(p.Changes))
	}
	c.Save = strings.Join(save, " ")
	for _, h := range inv.Hosts {
		addr := func(port int) string { return net.JoinHostPort(h.AnnounceAddress(), strconv.Itoa(port)) }
		if h.Has(inventory.RoleEngine) {
			c.Engines = append(c.Engines, Node{h.Name, addr(inv.EnginePort())})
		}
		if h.Has(inventory.RoleSentinel) {
			c.Sentinels = append(c.Sentinels, Node{h.Name, addr(inv.Sentinel.Port)})
		}
		if h.Has(inventory.RoleHAProxy) {
			c.Proxies = append(c.Proxies, Node{h.Name, addr(inv.HAProxy.Port)})
		}
	}
	c.tlsSetup(inv, sec)
	return c
}

// Result is one check.
type Result struct {
	Node   string `json:"node"`
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
}

// Report is every check of one run.
type Report struct {
	Master  string   `json:"master"` // host the checks took as master; "" if none
	Results []Result `json:"checks"`
}

// Failed counts the failed checks.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Results {
		if !c.OK {
			n++
		}
	}
	return n
}

func (c Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return 2 * time.Second
	}
	return c.Timeout
}

// client opens a go-redis client; password "" sends no AUTH.
func (c Config) client(addr, password string) *redis.Client {
	t := c.timeout()
	return redis.NewClient(&redis.Options{Addr: addr, Password: password, DialTimeout: t, ReadTimeout: t, WriteTimeout: t,
		MaxRetries: -1, PoolSize: 2, Protocol: 2, DisableIdentity: true, TLSConfig: c.tlsFor(addr)})
}

// engineView is what one engine said.
type engineView struct {
	Node
	Err   error
	Repl  map[string]string // INFO replication
	RunID string
}

// sentinelView is what one sentinel said about the service.
type sentinelView struct {
	Node
	Err    error
	Master map[string]string // SENTINEL MASTER fields
}

// survey asks every engine and sentinel in parallel.
func (c Config) survey(ctx context.Context) ([]engineView, []sentinelView) {
	ev := make([]engineView, len(c.Engines))
	sv := make([]sentinelView, len(c.Sentinels))
	var wg sync.WaitGroup
	for i, n := range c.Engines {
		wg.Go(func() { ev[i] = c.askEngine(ctx, n) })
	}
	for i, n := range c.Sentinels {
		wg.Go(func() { sv[i] = c.askSentinel(ctx, n) })
	}
	wg.Wait()
	return ev, sv
}

func (c Config) askEngine(ctx context.Context, n Node) engineView {
	v := engineView{Node: n}
	cl := c.client(n.Addr, c.Password)
	defer cl.Close()
	s, err := cl.Info(ctx, "replication").Result()
	if err != nil {
		v.Err = err
		return v
	}
	v.Repl = ParseInfo(s)
	if s, err := cl.Info(ctx, "server").Result(); err == nil {
		v.RunID = ParseInfo(s)["run_id"]
	}
	return v
}

func (c Config) askSentinel(ctx context.Context, n Node) sentinelView {
	v := sentinelView{Node: n}
	cl := c.client(n.Addr, c.SentinelPassword)
	defer cl.Close()
	reply, err := cl.Do(ctx, "SENTINEL", "MASTER", c.Service).Result()
	if err != nil {
		v.Err = err
		return v
	}
	v.Master = pairs(reply)
	return v
}

// pairs reads a flat [k, v, k, v...] or map reply.
func pairs(reply any) map[string]string {
	m := map[string]string{}
	switch r := reply.(type) {
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			m[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
		}
	case map[any]any:
		for k, v := range r {
			m[fmt.Sprint(k)] = fmt.Sprint(v)
		}
	}
	return m
}

// nameOf maps an ip and port to an engine's host name.
func (c Config) nameOf(ip, port string) string {
	addr := net.JoinHostPort(ip, port)
	for _, e := range c.Engines {
		if e.Addr == addr {
			return e.Name
		}
	}
	return ""
}

// ErrNoMaster means neither the sentinels nor the engines name a master.
var ErrNoMaster = errors.New("verify: no master found")

// pickMaster decides which engine is the master: the one named by the
// sentinels holding the highest config-epoch (the newest failover wins,
// as between sentinels; a majority breaks ties), else the only engine
// saying role:master. source says which.
func (c Config) pickMaster(ev []engineView, sv []sentinelView) (name, source string) {
	votes := map[string]int{}
	epoch := int64(-1)
	for _, s := range sv {
		n := c.nameOf(s.Master["ip"], s.Master["port"])
		if s.Err != nil || n == "" {
			continue
		}
		e, _ := strconv.ParseInt(s.Master["config-epoch"], 10, 64)
		if e > epoch {
			epoch, votes = e, map[string]int{}
		}
		if e == epoch {
			votes[n]++
		}
	}
	best := 0
	for n, v := range votes {
		if v > best || v == best && n < name {
			name, best = n, v
		}
	}
	if name != "" {
		return name, "sentinels"
	}
	var masters []string
	for _, e := range ev {
		if e.Err == nil && e.Repl["role"] == "master" {
			masters = append(masters, e.Name)
		}
	}
	if len(masters) == 1 {
		return masters[0], "engines"
	}
	return "", ""
}

// ErrFailoverInProgress means a sentinel reports a failover of the
// service in progress: the master is about to change, so nothing should
// be rendered toward it yet.
var ErrFailoverInProgress = errors.New("verify: failover in progress")

// failoverInProgress returns an error wrapping ErrFailoverInProgress when
// a sentinel's flags for the master say failover_in_progress.
func failoverInProgress(sv []sentinelView) error {
	for _, s := range sv {
		if s.Err == nil && slices.Contains(strings.Split(s.Master["flags"], ","), "failover_in_progress") {
			return fmt.Errorf("%w: sentinel %s reports master flags %s", ErrFailoverInProgress, s.Name, s.Master["flags"])
		}
	}
	return nil
}

// DiscoverMaster returns the host that is master now, asking the sentinels
// first and then the engines, and where the answer came from. It returns
// ErrNoMaster when nothing answers with a master (a fresh install), and
// an error wrapping ErrFailoverInProgress while a sentinel reports a
// failover in progress.
func DiscoverMaster(ctx context.Context, c Config) (name, source string, err error) {
	ev, sv := c.survey(ctx)
	if err := failoverInProgress(sv); err != nil {
		return "", "", err
	}
	if name, source = c.pickMaster(ev, sv); name == "" {
		// Nodes that answer but refuse our credentials may well be running
		// with another master: never fall back to the inventory then.
		if err := authFailure(ev, sv); err != nil {
			return "", "", err
		}
		return "", "", ErrNoMaster
	}
	return name, source, nil
}

// ErrAuth means a running node refused hactl's credentials (password or
// TLS certificate), so the current master could not be discovered.
var ErrAuth = errors.New("verify: a running node refused the inventory's credentials")

// authFailure reports the first engine or sentinel that answered with an
// authentication error or failed the TLS handshake on a certificate.
func authFailure(ev []engineView, sv []sentinelView) error {
	isAuth := func(err error) bool {
		if err == nil {
			return false
		}
		m := err.Error()
		return strings.HasPrefix(m, "WRONGPASS") || strings.HasPrefix(m, "NOAUTH") || strings.Contains(m, "invalid password") || strings.HasPrefix(m, "NOPERM")
	}
	const tlsHint = "hactl's TLS material (.hactl/tls) is not the one the hosts use: copy .hactl/ from where the cluster was set up (docs/security.md)"
	for _, e := range ev {
		if isAuth(e.Err) {
			return fmt.Errorf("%w: engine %s: %v (check the requirepass secret)", ErrAuth, e.Name, e.Err)
		}
		if TLSCertError(e.Err) {
			return fmt.Errorf("%w: engine %s: TLS: %v (%s)", ErrAuth, e.Name, e.Err, tlsHint)
		}
	}
	for _, s := range sv {
		if isAuth(s.Err) {
			return fmt.Errorf("%w: sentinel %s: %v (check the sentinel password secret)", ErrAuth, s.Name, s.Err)
		}
		if TLSCertError(s.Err) {
			return fmt.Errorf("%w: sentinel %s: TLS: %v (%s)", ErrAuth, s.Name, s.Err, tlsHint)
		}
	}
	return nil
}

// Run performs every check.
func Run(ctx context.Context, c Config) *Report {
	ev, sv := c.survey(ctx)
	rep := &Report{}
	add := func(node, check string, ok bool, detail, hint string) {
		if ok {
			hint = ""
		}
		rep.Results = append(rep.Results, Result{Node: node, Check: check, OK: ok, Detail: detail, Hint: hint})
	}
	master, source := c.pickMaster(ev, sv)
	rep.Master = master
	add("", "master", master != "", fmt.Sprintf("%s (named by the %s)", master, source),
		"no sentinel names a master and no single engine says role:master: run hactl up, then hactl status")
	var mv *engineView
	for i := range ev {
		if ev[i].Name == master {
			mv = &ev[i]
		}
	}
	replicas := len(c.Engines) - 1
	for _, e := range ev {
		add(e.Name, "reachable", e.Err == nil, errDetail(e.Err, "answers INFO with the password"),
			"check that the engine runs (systemctl status) and that the password matches the inventory")
		if e.Err != nil {
			continue
		}
		c.checkAuth(ctx, e.Node, add)
		c.checkPersistence(ctx, e.Node, add)
		role := e.Repl["role"]
		if e.Name == master {
			add(e.Name, "role", role == "master", "role:"+role, "the sentinels name this host master but it is not: see hactl status")
			n, _ := strconv.Atoi(e.Repl["connected_slaves"])
			add(e.Name, "connected_slaves", n == replicas, fmt.Sprintf("connected_slaves:%d, want %d", n, replicas),
				"a replica is not connected: check its master_link_status and masterauth")
			for i := 0; i < n; i++ {
				f := ParseFields(e.Repl["slave"+strconv.Itoa(i)])
				lag, _ := strconv.ParseInt(f["lag"], 10, 64)
				name := c.nameOf(f["ip"], f["port"])
				if name == "" {
					name = f["ip"] + ":" + f["port"]
				}
				add(e.Name, "slave"+strconv.Itoa(i), f["state"] == "online" && lag <= c.MaxLag,
					fmt.Sprintf("%s state=%s offset=%s lag=%s", name, f["state"], f["offset"], f["lag"]),
					"the replica is not online or lags: see its INFO replication")
			}
			continue
		}
		if role == "master" {
			add(e.Name, "split-brain", false, "says role:master but the master is "+master,
				"an old master came back: the sentinels should reconfigure it; if not, run hactl up")
			continue
		}
		add(e.Name, "role", role == "slave", "role:"+role, "")
		if mv != nil && mv.Err == nil {
			want := mv.Addr
			got := net.JoinHostPort(e.Repl["master_host"], e.Repl["master_port"])
			add(e.Name, "master_host", got == want, "replicates from "+got, "the replica follows another node: run hactl up")
		}
		add(e.Name, "master_link_status", e.Repl["master_link_status"] == "up", "master_link_status:"+e.Repl["master_link_status"],
			"the replica cannot reach or authenticate to the master: check masterauth and the network")
		add(e.Name, "master_sync_in_progress", e.Repl["master_sync_in_progress"] == "0", "master_sync_in_progress:"+e.Repl["master_sync_in_progress"],
			"a full sync is running: wait and verify again")
		if mv != nil && mv.Err == nil {
			add(e.Name, "master_replid", e.Repl["master_replid"] == mv.Repl["master_replid"],
				fmt.Sprintf("%s (master %s)", e.Repl["master_replid"], mv.Repl["master_replid"]), "the replica has not synced with the master's history yet")
			mo, _ := strconv.ParseInt(mv.Repl["master_repl_offset"], 10, 64)
			so, _ := strconv.ParseInt(e.Repl["slave_repl_offset"], 10, 64)
			add(e.Name, "offset", true, fmt.Sprintf("slave_repl_offset:%d, %d bytes behind", so, mo-so), "")
		}
	}
	if mv != nil && mv.Err == nil {
		c.checkRoundTrip(ctx, *mv, ev, add)
	}
	c.checkSentinels(ctx, sv, master, replicas, add)
	c.checkSecurity(ctx, mv, add)
	if mv != nil {
		c.checkProxies(ctx, mv.RunID, master, add)
	}
	return rep
}

type addFunc func(node, check string, ok bool, detail, hint string)

func errDetail(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

// checkAuth verifies that a client without password is refused.
func (c Config) checkAuth(ctx context.Context, n Node, add addFunc) {
	cl := c.client(n.Addr, "")
	defer cl.Close()
	err := cl.Ping(ctx).Err()
	ok := err != nil && strings.HasPrefix(err.Error(), "NOAUTH")
	add(n.Name, "auth", ok, "unauthenticated PING: "+errDetail(err, "PONG"), "requirepass is not enforced: check the rendered config")
}

// checkPersistence compares CONFIG GET appendonly and save with the inventory.
func (c Config) checkPersistence(ctx context.Context, n Node, add addFunc) {
	cl := c.client(n.Addr, c.Password)
	defer cl.Close()
	got, err := cl.ConfigGet(ctx, "appendonly").Result()
	want := map[bool]string{true: "yes", false: "no"}[c.AppendOnly]
	add(n.Name, "appendonly", err == nil && got["appendonly"] == want, fmt.Sprintf("appendonly %s, want %s%s", got["appendonly"], want, errSuffix(err)),
		"the running config differs from the inventory: run hactl up")
	got, err = cl.ConfigGet(ctx, "save").Result()
	add(n.Name, "save", err == nil && got["save"] == c.Save, fmt.Sprintf("save %q, want %q%s", got["save"], c.Save, errSuffix(err)),
		"the running config differs from the inventory: run hactl up")
}

func errSuffix(err error) string {
	if err != nil {
		return ": " + err.Error()
	}
	return ""
}

// checkRoundTrip writes a key on the master and reads it back from every
// replica.
func (c Config) checkRoundTrip(ctx context.Context, m engineView, ev []engineView, add addFunc) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	key, val := "hactl:verify:"+hex.EncodeToString(b[:]), time.Now().UTC().Format(time.RFC3339Nano)
	mc := c.client(m.Addr, c.Password)
	defer mc.Close()
	err := mc.Set(ctx, key, val, time.Minute).Err()
	add(m.Name, "write", err == nil, errDetail(err, "SET "+key), "the master refuses writes: see its log (MISCONF, min-replicas, OOM?)")
	if err != nil {
		return
	}
	wait := c.RoundTripWait
	if wait == 0 {
		wait = 5 * time.Second
	}
	for _, e := range ev {
		if e.Name == m.Name || e.Err != nil {
			continue
		}
		rc := c.client(e.Addr, c.Password)
		deadline := time.Now().Add(wait)
		var got string
		var gerr error
		for {
			got, gerr = rc.Get(ctx, key).Result()
			if got == val || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		rc.Close()
		add(e.Name, "read-back", got == val, fmt.Sprintf("GET %s after write on %s: %q%s", key, m.Name, got, errSuffix(gerr)),
			"the write did not reach this replica in "+wait.String()+": check its master_link_status")
	}
}

// checkSentinels checks each sentinel's view of the service and that they
// agree.
func (c Config) checkSentinels(ctx context.Context, sv []sentinelView, master string, replicas int, add addFunc) {
	names := map[string]bool{}
	for _, s := range sv {
		add(s.Name, "sentinel", s.Err == nil, errDetail(s.Err, "monitors "+c.Service),
			"the sentinel does not answer or does not monitor the service: check it runs and its password")
		if s.Err != nil {
			continue
		}
		m := s.Master
		named := c.nameOf(m["ip"], m["port"])
		names[named] = true
		add(s.Name, "sentinel-master", named == master && named != "", fmt.Sprintf("names %s (%s:%s)", named, m["ip"], m["port"]),
			"this sentinel names another master: wait for the failover to finish, then verify again")
		add(s.Name, "sentinel-flags", m["flags"] == "master", "flags "+m["flags"], "the sentinel sees the master down")
		add(s.Name, "sentinel-quorum", m["quorum"] == strconv.Itoa(c.Quorum), fmt.Sprintf("quorum %s, want %d", m["quorum"], c.Quorum), "run hactl up")
		others := strconv.Itoa(len(c.Sentinels) - 1)
		add(s.Name, "sentinel-peers", m["num-other-sentinels"] == others, fmt.Sprintf("num-other-sentinels %s, want %s", m["num-other-sentinels"], others),
			"sentinels discover each other through the master's hello channel: check they reach the master")
		add(s.Name, "sentinel-replicas", m["num-slaves"] == strconv.Itoa(replicas), fmt.Sprintf("num-slaves %s, want %d", m["num-slaves"], replicas),
			"the sentinel does not know every replica yet")
		cl := c.client(s.Addr, c.SentinelPassword)
		r, err := cl.Do(ctx, "SENTINEL", "CKQUORUM", c.Service).Text()
		cl.Close()
		add(s.Name, "ckquorum", err == nil && strings.HasPrefix(r, "OK"), errDetail(err, r), "not enough sentinels reachable to fail over")
	}
	if len(sv) > 0 {
		var list []string
		for n := range names {
			list = append(list, n)
		}
		slices.Sort(list)
		add("", "sentinel-agreement", len(names) == 1, "sentinels name "+strings.Join(list, ", "), "sentinels disagree on the master: a failover is running or the network is split")
	}
}

// checkProxies checks that each HAProxy routes to the master (same run_id).
func (c Config) checkProxies(ctx context.Context, runID, master string, add addFunc) {
	for _, p := range c.Proxies {
		cl := c.client(p.Addr, c.Password)
		s, err := cl.Info(ctx, "server").Result()
		cl.Close()
		got := ParseInfo(s)["run_id"]
		add(p.Name, "haproxy-routes-to-master", err == nil && got == runID && runID != "",
			fmt.Sprintf("run_id %s, master %s has %s%s", got, master, runID, errSuffix(err)),
			"HAProxy does not route to the master: check haproxy.cfg's tcp-check and the backend states")
	}
}
