package sentinel

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Helpers for tests against real redis-server processes on loopback.

func needBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// buildCmd builds github.com/hactl/hactl/cmd/<pkg> into a temporary
// directory and returns the binary's path.
func buildCmd(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if b, err := exec.Command("go", "build", "-o", out, "github.com/hactl/hactl/cmd/"+pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// freePorts returns n distinct free loopback ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// redisProc is a redis-server (or hactl-engine) child process.
type redisProc struct {
	t    testing.TB
	bin  string
	port int
	args []string
	pass string // requirepass, if any
	user string // ACL user for pass
	tls  *tls.Config
	cmd  *exec.Cmd
}

// opts are the client options toward r.
func (r *redisProc) opts() *redis.Options {
	return &redis.Options{Addr: r.addr(), Username: r.user, Password: r.pass, TLSConfig: r.tls, MaxRetries: -1, DialTimeout: time.Second}
}

func startRedis(t testing.TB, port int, extra ...string) *redisProc {
	t.Helper()
	return startServer(t, needBinary(t, "redis-server"), port, extra...)
}

// startServer starts a Redis-compatible server binary that takes Redis's
// command-line options.
func startServer(t testing.TB, bin string, port int, extra ...string) *redisProc {
	t.Helper()
	r := newServerProc(t, bin, port, extra...)
	r.start()
	t.Cleanup(r.kill)
	return r
}

// newServerProc prepares startServer's process without starting it.
func newServerProc(t testing.TB, bin string, port int, extra ...string) *redisProc {
	dir := t.TempDir()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--repl-diskless-sync-delay", "0", "--loglevel", "warning"}, extra...)
	r := &redisProc{t: t, bin: bin, port: port, args: args}
	for i, a := range extra {
		if a == "--requirepass" && i+1 < len(extra) {
			r.pass = extra[i+1]
		}
	}
	return r
}

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, r.args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", r.bin, err)
	}
	waitFor(r.t, 5*time.Second, "redis-server up", func() bool {
		c := redis.NewClient(r.opts())
		defer c.Close()
		return c.Ping(context.Background()).Err() == nil
	})
}

func (r *redisProc) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// kill sends SIGKILL (kill -9) and reaps the process.
func (r *redisProc) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_, _ = r.cmd.Process.Wait()
		r.cmd = nil
	}
}

func (r *redisProc) info(field string) string {
	c := redis.NewClient(r.opts())
	defer c.Close()
	s, err := c.Info(context.Background(), "replication").Result()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe log buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// events returns the event types logged, in order, optionally filtered.
func (s *syncBuffer) events() []string {
	var out []string
	for _, l := range strings.Split(s.String(), "\n") {
		f := strings.Fields(l)
		if len(f) >= 7 {
			out = append(out, f[6])
		}
	}
	return out
}

func (s *syncBuffer) count(ev string) int {
	n := 0
	for _, e := range s.events() {
		if e == ev {
			n++
		}
	}
	return n
}

// testSentinel is an in-process hactl-sentinel listening on loopback.
type testSentinel struct {
	port   int
	dir    string
	conf   string
	log    *syncBuffer
	cancel context.CancelFunc
	d      *Daemon
	// tls and pass are the client settings toward the sentinel.
	tls  *tls.Config
	pass string
}

func sentinelConf(port, masterPort, quorum int, extra ...string) string {
	lines := []string{
		"port " + strconv.Itoa(port), "bind 127.0.0.1",
		fmt.Sprintf("sentinel monitor mymaster 127.0.0.1 %d %d", masterPort, quorum),
		"sentinel down-after-milliseconds mymaster 1000",
		"sentinel failover-timeout mymaster 4000",
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

func startSentinel(t testing.TB, dir, conf string) *testSentinel {
	t.Helper()
	ts := &testSentinel{dir: dir, conf: conf, log: &syncBuffer{}}
	ts.start(t)
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testSentinel) start(t testing.TB) {
	t.Helper()
	if err := os.MkdirAll(ts.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ts.dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(ts.conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = ts.dir
	ts.port = cfg.Port
	if cfg.Port == 0 {
		ts.port = cfg.TLSPort
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, cfg, ts.log, slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultTiming)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ts.cancel, ts.d = cancel, d
}

func (ts *testSentinel) stop() {
	if ts.cancel != nil {
		ts.cancel()
		ts.d.Wait()
		ts.cancel = nil
	}
}

func (ts *testSentinel) client() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", ts.port), MaxRetries: -1,
		TLSConfig: ts.tls, Password: ts.pass})
}

func (ts *testSentinel) masterAddr() string { return masterAddrOf(ts.client()) }

// masterAddrOf asks c for mymaster's address ("" on error) and closes c.
func masterAddrOf(c *redis.SentinelClient) string {
	defer c.Close()
	a, err := c.GetMasterAddrByName(context.Background(), "mymaster").Result()
	if err != nil || len(a) != 2 {
		return ""
	}
	return a[0] + ":" + a[1]
}

// cluster is 1 master + replicas + sentinels: in-process hactl-sentinels
// and child processes (redis-sentinel 7).
type cluster struct {
	t         *testing.T
	nodes     []*redisProc
	sentinels []*testSentinel
	reals     []*realSentinel
}

// clients opens a client to every running sentinel, in-process ones first.
func (c *cluster) clients() []*redis.SentinelClient {
	var out []*redis.SentinelClient
	for _, s := range c.sentinels {
		if s.cancel != nil {
			out = append(out, s.client())
		}
	}
	for _, r := range c.reals {
		out = append(out, r.client())
	}
	return out
}

// promotions counts +promoted-slave in every sentinel's log.
func (c *cluster) promotions() int {
	n := 0
	for _, s := range c.sentinels {
		n += s.log.count("+promoted-slave")
	}
	for _, r := range c.reals {
		n += strings.Count(r.log(), "+promoted-slave")
	}
	return n
}

// logFailure logs every sentinel's log when the test failed.
func (c *cluster) logFailure() {
	if !c.t.Failed() {
		return
	}
	for k, s := range c.sentinels {
		c.t.Logf("sentinel %d log:\n%s", k, s.log.String())
	}
	for k, r := range c.reals {
		c.t.Logf("redis-sentinel %d log:\n%s%s", k, r.log(), r.stderr())
	}
}

// newCluster starts a master and len(prios)-1 replicas (node i has
// replica-priority prios[i], which matters for the master once demoted) and
// nSent hactl-sentinels, and waits until every sentinel knows every replica
// and peer.
func newCluster(t *testing.T, prios []int, nSent, quorum int) *cluster {
	t.Helper()
	return newClusterWith(t, needBinary(t, "redis-server"), prios, nSent, quorum)
}

// newClusterWith is newCluster with another server binary.
func newClusterWith(t *testing.T, bin string, prios []int, nSent, quorum int) *cluster {
	t.Helper()
	ports := freePorts(t, len(prios)+nSent)
	c := &cluster{t: t}
	for i, p := range prios {
		args := []string{"--replica-priority", strconv.Itoa(p)}
		if i > 0 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		c.nodes = append(c.nodes, startServer(t, bin, ports[i], args...))
	}
	base := t.TempDir()
	for i := 0; i < nSent; i++ {
		port := ports[len(prios)+i]
		c.sentinels = append(c.sentinels, startSentinel(t, filepath.Join(base, strconv.Itoa(i)), sentinelConf(port, ports[0], quorum)))
	}
	t.Cleanup(c.logFailure)
	c.waitDiscovery(len(prios)-1, nSent-1)
	return c
}

func (c *cluster) waitDiscovery(replicas, peers int) {
	c.t.Helper()
	ctx := context.Background()
	why := ""
	defer func() {
		if c.t.Failed() {
			c.t.Logf("last discovery state: %s", why)
		}
	}()
	waitFor(c.t, 20*time.Second, "discovery", func() bool {
		for k, sc := range c.clients() {
			rs, err1 := sc.Replicas(ctx, "mymaster").Result()
			ps, err2 := sc.Sentinels(ctx, "mymaster").Result()
			sc.Close()
			why = fmt.Sprintf("sentinel %d: replicas %v (%v), sentinels %d (%v)", k, rs, err1, len(ps), err2)
			if err1 != nil || err2 != nil || len(rs) != replicas || len(ps) != peers {
				return false
			}
			for _, r := range rs {
				if r["master-link-status"] != "ok" || strings.Contains(r["flags"], "disconnected") {
					return false
				}
			}
		}
		return true
	})
}

// waitMaster waits until every running sentinel names addr as master.
func (c *cluster) waitMaster(addr string, d time.Duration) {
	c.t.Helper()
	waitFor(c.t, d, "all sentinels to name "+addr, func() bool {
		ok := true
		for _, sc := range c.clients() {
			if masterAddrOf(sc) != addr {
				ok = false
			}
		}
		return ok
	})
}

func (c *cluster) node(addr string) *redisProc {
	for _, n := range c.nodes {
		if n.addr() == addr {
			return n
		}
	}
	return nil
}

// leader returns the sentinel whose log has +elected-leader.
func (c *cluster) leader() *testSentinel {
	for _, s := range c.sentinels {
		if s.log.count("+elected-leader") > 0 {
			return s
		}
	}
	return nil
}

// assertOrder checks that want appears as a subsequence of got.
func assertOrder(t *testing.T, got, want []string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("events out of order or missing (matched %d of %v):\n%v", i, want, got)
	}
}
