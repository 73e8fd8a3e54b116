package sentinel

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// realSentinel is a redis-sentinel 7 child process.
type realSentinel struct {
	port int
	dir  string
	cmd  *exec.Cmd
	// tls and pass are the client settings toward the sentinel.
	tls  *tls.Config
	pass string
}

func startRealSentinel(t testing.TB, dir string, port, masterPort, quorum int) *realSentinel {
	t.Helper()
	return startSentinelProc(t, needBinary(t, "redis-sentinel"), dir, port, masterPort, quorum)
}

// startSentinelProc runs a sentinel binary (redis-sentinel or
// hactl-sentinel: both take the same configuration) as a child process.
func startSentinelProc(t testing.TB, bin, dir string, port, masterPort, quorum int) *realSentinel {
	t.Helper()
	return startSentinelConf(t, bin, dir, port, sentinelConf(port, masterPort, quorum))
}

// startSentinelConf runs bin on conf, completed with its logfile and dir
// in dir; port is where clients reach it (its tls-port when TLS only).
func startSentinelConf(t testing.TB, bin, dir string, port int, conf string) *realSentinel {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf += "logfile " + filepath.Join(dir, "sentinel.log") + "\ndir " + dir + "\n"
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := &realSentinel{port: port, dir: dir, cmd: exec.Command(bin, path)}
	errf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	rs.cmd.Stdout, rs.cmd.Stderr = errf, errf
	if err := rs.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() { _ = rs.cmd.Process.Kill(); _, _ = rs.cmd.Process.Wait() })
	return rs
}

func (rs *realSentinel) client() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rs.port), MaxRetries: -1,
		TLSConfig: rs.tls, Password: rs.pass})
}

func (rs *realSentinel) masterAddr() string { return masterAddrOf(rs.client()) }

func (rs *realSentinel) log() string {
	b, _ := os.ReadFile(filepath.Join(rs.dir, "sentinel.log"))
	return string(b)
}

// stderr returns what the process wrote on stdout and stderr (a Go panic,
// for instance).
func (rs *realSentinel) stderr() string {
	b, _ := os.ReadFile(filepath.Join(rs.dir, "stderr.log"))
	return string(b)
}

// TestMixedWithRedisSentinel runs two hactl-sentinels and two redis-sentinel
// 7 processes on the same master: they discover each other through hello
// messages, and a failover needs votes from both kinds (majority 3 of 4).
func TestMixedWithRedisSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	needBinary(t, "redis-sentinel")
	c := newCluster(t, []int{100, 100, 100}, 2, 2)
	ports := freePorts(t, 2)
	for i, p := range ports {
		c.reals = append(c.reals, startRealSentinel(t, filepath.Join(t.TempDir(), fmt.Sprint(i)), p, c.nodes[0].port, 2))
	}
	c.waitDiscovery(2, 3)
	ctx := context.Background()
	old := c.nodes[0].addr()
	c.nodes[0].kill()
	var newAddr string
	waitFor(t, 30*time.Second, "a new master", func() bool {
		newAddr = c.sentinels[0].masterAddr()
		return newAddr != "" && newAddr != old
	})
	c.waitMaster(newAddr, 30*time.Second)
	if c.node(newAddr).info("role") != "master" {
		t.Fatalf("%s is not a master", newAddr)
	}
	if n := c.promotions(); n != 1 {
		t.Fatalf("%d promotions, want 1", n)
	}
	ours := c.leader() != nil
	t.Logf("new master %s, leader is %s", newAddr, map[bool]string{true: "hactl-sentinel", false: "redis-sentinel"}[ours])

	// A failover led by redis-sentinel: ours follow through hello messages.
	rc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", c.reals[0].port)})
	defer rc.Close()
	waitFor(t, 20*time.Second, "SENTINEL FAILOVER accepted by redis-sentinel", func() bool {
		return rc.Failover(ctx, "mymaster").Err() == nil
	})
	second := ""
	waitFor(t, 30*time.Second, "redis-sentinel names a second master", func() bool {
		second = c.reals[0].masterAddr()
		return second != "" && second != newAddr && second != old
	})
	c.waitMaster(second, 30*time.Second)
	for _, s := range c.sentinels {
		if s.log.count("+config-update-from") == 0 && s.log.count("+elected-leader") == 0 {
			t.Fatal("a hactl-sentinel switched without a config update")
		}
	}
	if c.node(second).info("role") != "master" {
		t.Fatalf("%s is not a master", second)
	}
}
