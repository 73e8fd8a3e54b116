package verify

// A small lab for the failover tests: three engines and (optionally) three
// sentinels rendered by package templates, run as processes on NET.1-3, and
// HAProxy on NET.10 (hactl's config) and NET.11 (the seed's), where NET is
// a 127.A.B network of its own per lab (no clash with another run or a
// process still exiting). A secure lab is TLS-only with ACL users (the
// inventory's security section, certificates from package certs), as hactl
// up renders it. Loopback only; every process dies with the test.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hactl/hactl/certs"
	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/templates"
	"github.com/redis/go-redis/v9"
)

const (
	labPass      = "lab-pass"
	labSentPort  = 36379
	labProxyPort = 16390
)

// labSeq numbers the labs of this test process.
var labSeq atomic.Int32

const labInventory = `service: mymaster
engine: %[1]s
provider: ssh
master: db01
hosts:
  - {name: db01, address: %[2]s.1}
  - {name: db02, address: %[2]s.2}
  - {name: db03, address: %[2]s.3}
  - {name: lb01, address: %[2]s.10, roles: [haproxy]}
server:
  port: 16379
sentinel:
  port: 36379
  down_after: 1000ms
  failover_timeout: 4000ms
haproxy:
  port: 16390
  check_interval: 1s
secrets:
  requirepass: {env: LAB_PASS}
`

// labSecurity makes a lab TLS-only (engines on 16380, sentinels on their
// port over TLS, client certificates required) with the role users (HAProxy
// checks the engines as the monitor user), the sentinels behind their own
// requirepass.
const labSecurity = `  sentinel_password: {env: LAB_SENTINEL_PASS}
security:
  tls: {enabled: true, plaintext: false, port: 16380}
  acl:
    users:
      - {name: app, keys: ["via-*"], commands: ["+@all", "-@dangerous"], password: {env: LAB_APP_PASS}}
      - {name: replica, role: replica, password: {env: LAB_REPLICA_PASS}}
      - {name: sentinel, role: sentinel, password: {env: LAB_SENTINEL_USER_PASS}}
      - {name: monitor, role: monitor, password: {env: LAB_MONITOR_PASS}}
`

// labEnv holds the lab's passwords (the inventories read them from env).
var labEnv = map[string]string{"LAB_PASS": labPass, "LAB_SENTINEL_PASS": "lab-sentinel-pass",
	"LAB_APP_PASS": "lab-app-pass", "LAB_REPLICA_PASS": "lab-replica-pass", "LAB_SENTINEL_USER_PASS": "lab-sentinel-user-pass",
	"LAB_MONITOR_PASS": "lab-monitor-pass"}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// labBinaries builds hactl-engine and hactl-sentinel once per test binary.
func labBinaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "hactl-verify-bin")
		if buildErr != nil {
			return
		}
		for _, name := range []string{"hactl-engine", "hactl-sentinel"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, name), "../cmd/"+name)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %w\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// lab is one running set.
type lab struct {
	t       *testing.T
	engine  string
	secure  bool     // TLS-only + ACL users (labSecurity)
	proxies []string // the proxies startProxies runs: "hactl", and "seed" unless secure
	root    string
	net     string // 127.A.B
	inv     *inventory.Inventory
	sec     *inventory.ResolvedSecrets
	cfg     Config
	bin     string
	mu      sync.Mutex
	procs   map[string]*exec.Cmd // "db01/engine", "db01/sentinel", "haproxy/..."
	exited  []chan struct{}
}

// newLab renders and starts the engines and, with sentinels, the sentinels,
// and waits until replication (and the sentinels) are settled.
func newLab(t *testing.T, engine string, sentinels bool) *lab {
	t.Helper()
	return newLabWith(t, engine, sentinels, false)
}

// newLabWith is newLab, TLS-only with ACL users when secure: the
// certificates come from a certs.Store of the lab, the files from the same
// rendering as hactl up.
func newLabWith(t *testing.T, engine string, sentinels, secure bool) *lab {
	t.Helper()
	if testing.Short() {
		t.Skip("starts processes")
	}
	if engine == "redis" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Skip("redis-server not installed")
		}
	}
	l := &lab{t: t, engine: engine, secure: secure, proxies: []string{"hactl", "seed"}, root: t.TempDir(), procs: map[string]*exec.Cmd{},
		net: fmt.Sprintf("127.%d.%d", 100+os.Getpid()%150, labSeq.Add(1)%250)}
	if engine == "hactl" {
		l.bin = labBinaries(t)
	}
	env := func(k string) (string, bool) { v, ok := labEnv[k]; return v, ok }
	src := fmt.Sprintf(labInventory, engine, l.net)
	if secure {
		src += labSecurity
		l.proxies = l.proxies[:1] // the seed's config speaks plaintext
	}
	inv, _, err := inventory.Parse("inventory.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := inventory.ResolveSecrets(inv, env, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if secure {
		sec.TLS = l.issueTLS(inv)
	}
	l.inv, l.sec, l.cfg = inv, sec, FromInventory(inv, sec)
	l.cfg.Timeout = 500 * time.Millisecond
	l.cfg.Proxies = nil // the HAProxy tests start and check their own
	if !sentinels {
		l.cfg.Sentinels = nil
	}
	t.Cleanup(l.stopAll)
	for _, h := range inv.Hosts {
		files, err := templates.Render(inv, sec, templates.Params{Host: h.Name, Root: l.hostRoot(h.Name)})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			os.MkdirAll(filepath.Dir(f.Path), 0o755)
			if err := os.WriteFile(f.Path, f.Content, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{templates.EngineDataDir, templates.SentinelDataDir, templates.RedisDataDir, "/run/redis", "/run/sentinel", "/var/log/redis"} {
			os.MkdirAll(l.hostRoot(h.Name)+d, 0o755)
		}
	}
	for _, n := range []string{"db01", "db02", "db03"} {
		l.startEngine(n)
	}
	l.eventually(20*time.Second, "replicas linked", func() (bool, string) {
		st := Status(context.Background(), l.cfg)
		ok := st.Master == "db01" && len(st.Replicas) == 2
		for _, r := range st.Replicas {
			ok = ok && r.Link == "up"
		}
		return ok, fmt.Sprintf("%+v", st)
	})
	if sentinels {
		for _, n := range []string{"db01", "db02", "db03"} {
			l.startSentinel(n)
		}
		l.waitSettled("db01")
	}
	return l
}

func (l *lab) hostRoot(name string) string { return filepath.Join(l.root, name) }

// issueTLS issues, with package certs, a certificate per engine host (its
// name and address, and the proxy's: clients reach the engines through
// HAProxy, TLS end to end) and hactl's client certificate, as hactl up does.
func (l *lab) issueTLS(inv *inventory.Inventory) *inventory.TLSMaterial {
	l.t.Helper()
	store := certs.Store{Dir: filepath.Join(l.root, "tls")}
	var proxies []string
	for _, h := range inv.HostsWith(inventory.RoleHAProxy) {
		proxies = append(proxies, h.Name, h.Address)
	}
	var subs []certs.Subject
	for _, h := range inv.HostsWith(inventory.RoleEngine) {
		subs = append(subs, certs.Subject{Name: h.Name, Names: append([]string{h.Name, h.Address}, proxies...)})
	}
	if _, err := store.Ensure(subs, 24*time.Hour, time.Hour, time.Now()); err != nil {
		l.t.Fatal(err)
	}
	m := &inventory.TLSMaterial{Hosts: map[string]inventory.KeyPair{}}
	for _, sub := range subs {
		mat, err := store.Host(sub.Name)
		if err != nil {
			l.t.Fatal(err)
		}
		m.Hosts[sub.Name] = inventory.KeyPair{CertPEM: mat.CertPEM, KeyPEM: mat.KeyPEM}
	}
	c, err := store.Client()
	if err != nil {
		l.t.Fatal(err)
	}
	m.TrustPEM, m.Client = c.TrustPEM, inventory.KeyPair{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM}
	return m
}

// start runs a process until stopped or the test ends.
func (l *lab) start(key string, argv ...string) {
	l.t.Helper()
	log, err := os.OpenFile(filepath.Join(l.root, strings.ReplaceAll(key, "/", "-")+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(done) }()
	l.mu.Lock()
	l.procs[key] = cmd
	l.exited = append(l.exited, done)
	l.mu.Unlock()
}

// kill sends sig to a started process (SIGKILL for a crash).
func (l *lab) kill(key string, sig syscall.Signal) {
	l.mu.Lock()
	cmd := l.procs[key]
	l.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// waitRefused waits until nothing accepts TCP connections at addr (a killed
// process is gone) and returns that moment; at most d.
func (l *lab) waitRefused(addr string, d time.Duration) time.Time {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 50*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
	}
	return time.Now()
}

func (l *lab) stopAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cmd := range l.procs {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	for _, done := range l.exited {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	if l.t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(l.root, "*.log"))
		for _, p := range logs {
			b, _ := os.ReadFile(p)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			l.t.Logf("== %s\n%s", filepath.Base(p), b)
		}
	}
}

func (l *lab) startEngine(name string) {
	r := l.hostRoot(name)
	if l.engine == "redis" {
		l.start(name+"/engine", "redis-server", r+templates.RedisConfig)
		return
	}
	l.start(name+"/engine", filepath.Join(l.bin, "hactl-engine"), r+templates.EngineConfig)
}

func (l *lab) startSentinel(name string) {
	r := l.hostRoot(name)
	if l.engine == "redis" {
		l.start(name+"/sentinel", "redis-server", r+templates.RedisSentinelConfig, "--sentinel")
		return
	}
	l.start(name+"/sentinel", filepath.Join(l.bin, "hactl-sentinel"), r+templates.SentinelConfig)
}

// waitSettled waits until every sentinel names master and knows the two
// other sentinels and both replicas.
func (l *lab) waitSettled(master string) {
	l.t.Helper()
	l.eventually(30*time.Second, "sentinels settled on "+master, func() (bool, string) {
		_, sv := l.cfg.survey(context.Background())
		for _, s := range sv {
			if s.Err != nil || l.cfg.nameOf(s.Master["ip"], s.Master["port"]) != master || s.Master["num-other-sentinels"] != "2" || s.Master["num-slaves"] != "2" {
				return false, fmt.Sprintf("%s: %v %v", s.Name, s.Err, s.Master)
			}
		}
		return true, ""
	})
}

func (l *lab) eventually(d time.Duration, what string, f func() (bool, string)) {
	l.t.Helper()
	var last string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ok, s := f()
		if ok {
			return
		}
		last = s
	}
	l.t.Fatalf("%s: not within %s: %s", what, d, last)
}

func (l *lab) engineAddr(name string) string {
	return net.JoinHostPort(l.addrOf(name), strconv.Itoa(l.inv.EnginePort()))
}

func (l *lab) addrOf(name string) string {
	h, _ := l.inv.Host(name)
	return h.Address
}

// client logs in as the default user, over TLS with hactl's client
// certificate where the lab speaks TLS.
func (l *lab) client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, Password: labPass, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond, MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true,
		TLSConfig: l.cfg.tlsFor(addr)})
}

// ack is one acknowledged write: sent is when the request left, at when
// its acknowledgement arrived.
type ack struct {
	key      string
	sent, at time.Time
}

// writer writes SET prefix:i through target() every interval until ctx
// ends, recording every acknowledged key. After an error it writes through
// a new client: go-redis's pool, once a dial fails, fails every command at
// once and probes in the background only every second, which put a TLS
// writer's recovery on a 1 s grid (a TLS dial fails through HAProxy while it
// routes nowhere) and measured that grid, not HAProxy.
type writer struct {
	acks   []ack
	errors int
}

func (l *lab) write(ctx context.Context, prefix string, target func() string, interval time.Duration) *writer {
	w := &writer{}
	cl := l.client(target())
	defer func() { cl.Close() }()
	for i := 0; ctx.Err() == nil; i++ {
		key := fmt.Sprintf("%s:%d", prefix, i)
		sent := time.Now()
		if err := cl.Set(context.Background(), key, i, 0).Err(); err != nil {
			w.errors++
			cl.Close()
			cl = l.client(target())
		} else {
			w.acks = append(w.acks, ack{key, sent, time.Now()})
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
	return w
}

// missing returns the acknowledged keys absent from the engine at addr.
func (l *lab) missing(addr string, acks []ack) []ack {
	l.t.Helper()
	cl := l.client(addr)
	defer cl.Close()
	var out []ack
	for i := 0; i < len(acks); i += 500 {
		batch := acks[i:min(i+500, len(acks))]
		p := cl.Pipeline()
		cmds := make([]*redis.IntCmd, len(batch))
		for j, a := range batch {
			cmds[j] = p.Exists(context.Background(), a.key)
		}
		if _, err := p.Exec(context.Background()); err != nil {
			l.t.Fatalf("EXISTS on %s: %v", addr, err)
		}
		for j, c := range cmds {
			if c.Val() != 1 {
				out = append(out, batch[j])
			}
		}
	}
	return out
}

// waitCaughtUp waits until every replica of master has its offset.
func (l *lab) waitCaughtUp(master string) {
	l.t.Helper()
	l.eventually(10*time.Second, "replicas caught up with "+master, func() (bool, string) {
		st := Status(context.Background(), l.cfg)
		ok := st.Master == master
		for _, r := range st.Replicas {
			ok = ok && r.Error == "" && r.Lag == 0 && r.Link == "up"
		}
		return ok, fmt.Sprintf("%+v", st)
	})
}
