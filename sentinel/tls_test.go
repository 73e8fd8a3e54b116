package sentinel

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf/tlstest"
	"github.com/redis/go-redis/v9"
)

// Role users of the secured set, as hactl renders them.
var tlsTestUsers = [][]string{
	{"--user", "default", "on", ">adminpw", "~*", "&*", "+@all"},
	{"--user", "replica-user", "on", ">replpw", "-@all", "+psync", "+replconf", "+ping"},
	{"--user", "sentinel-user", "on", ">sentpw", "allchannels", "-@all", "+multi", "+slaveof", "+ping", "+exec",
		"+subscribe", "+config|rewrite", "+role", "+publish", "+info", "+client|setname", "+client|kill", "+script|kill"},
}

// TestTLSFailoverEngine: three hactl-engine nodes and three
// hactl-sentinels, TLS only (port 0) with client certificates required,
// ACL users everywhere (replica-user for replication, sentinel-user for the
// sentinels, requirepass and sentinel-user/sentinel-pass on the
// sentinels): discovery, kill -9 of the master, failover, then go-redis's
// FailoverClient and redis-cli through the TLS sentinels.
func TestTLSFailoverEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	tlsFailover(t, buildCmd(t, "hactl-engine"), false)
}

// TestTLSFailoverEngineRedisSentinel is the same scenario with real
// redis-sentinel 7 processes (Debian's build has TLS) monitoring
// hactl-engine nodes: TLS only, sentinel auth-user as the ACL sentinel
// user, tls-replication yes, the sentinels authenticating to each other
// with their requirepass (as hactl renders them).
func TestTLSFailoverEngineRedisSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	needBinary(t, "redis-sentinel")
	tlsFailover(t, buildCmd(t, "hactl-engine"), true)
}

// TestTLSFailoverRedis is the same scenario with redis-server 7 nodes
// (Debian's build has TLS), to compare.
func TestTLSFailoverRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	tlsFailover(t, needBinary(t, "redis-server"), false)
}

// tlsFailover runs the secured set of bin nodes with three hactl-sentinels
// in process, or three redis-sentinel processes when real.
func tlsFailover(t *testing.T, bin string, real bool) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "hactl-test")
	node := ca.IssueValid("node")
	cli := ca.ClientConfig(t, node)
	ports := freePorts(t, 6)
	tlsArgs := []string{"--tls-cert-file", node.Cert, "--tls-key-file", node.Key, "--tls-ca-cert-file", ca.CAFile,
		"--tls-auth-clients", "yes", "--tls-replication", "yes"}
	c := &cluster{t: t}
	for i, prio := range []int{100, 100, 50} {
		args := append([]string{"--port", "0", "--tls-port", strconv.Itoa(ports[i]), "--replica-priority", strconv.Itoa(prio),
			"--masteruser", "replica-user", "--masterauth", "replpw"}, tlsArgs...)
		for _, u := range tlsTestUsers {
			args = append(args, u...)
		}
		if i > 0 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		p := newServerProc(t, bin, ports[i], args...)
		p.pass, p.tls = "adminpw", cli
		p.start()
		t.Cleanup(p.kill)
		c.nodes = append(c.nodes, p)
	}
	base := t.TempDir()
	t.Cleanup(c.logFailure)
	for i := 0; i < 3; i++ {
		conf := sentinelConf(0, ports[0], 2, "tls-port "+strconv.Itoa(ports[3+i]),
			"tls-cert-file "+node.Cert, "tls-key-file "+node.Key, "tls-ca-cert-file "+ca.CAFile,
			"tls-auth-clients yes", "tls-replication yes", "requirepass sentadmin",
			"sentinel auth-user mymaster sentinel-user", "sentinel auth-pass mymaster sentpw")
		dir := filepath.Join(base, strconv.Itoa(i))
		if real {
			rs := startSentinelConf(t, needBinary(t, "redis-sentinel"), dir, ports[3+i], conf)
			rs.tls, rs.pass = cli, "sentadmin"
			c.reals = append(c.reals, rs)
			continue
		}
		s := startSentinel(t, dir, conf+"sentinel sentinel-user peer\nsentinel sentinel-pass peerpw\n")
		s.tls, s.pass = cli, "sentadmin"
		c.sentinels = append(c.sentinels, s)
	}
	c.waitDiscovery(2, 2)

	// Unauthenticated and certificate-less clients are refused.
	noPass := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", ports[3]), TLSConfig: cli, MaxRetries: -1})
	if _, err := noPass.GetMasterAddrByName(ctx, "mymaster").Result(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("sentinel without password: %v", err)
	}
	noPass.Close()
	noCert := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", ports[3]), Password: "sentadmin",
		TLSConfig: ca.ClientConfig(t, tlstest.Files{}), MaxRetries: -1})
	if _, err := noCert.GetMasterAddrByName(ctx, "mymaster").Result(); err == nil {
		t.Error("sentinel accepted a client without a certificate")
	}
	noCert.Close()

	old := c.nodes[0]
	want := c.nodes[2].addr()
	killed := time.Now()
	old.kill()
	c.waitMaster(want, 20*time.Second)
	t.Logf("all TLS sentinels (redis-sentinel: %v) switched %v after kill -9", real, time.Since(killed))
	if n := c.promotions(); n != 1 {
		t.Errorf("%d promotions, want 1", n)
	}
	waitFor(t, 10*time.Second, "the other replica follows the new master", func() bool {
		return c.nodes[1].info("master_port") == strconv.Itoa(c.nodes[2].port) && c.nodes[1].info("master_link_status") == "up"
	})

	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "mymaster", SentinelPassword: "sentadmin",
		SentinelAddrs: []string{fmt.Sprintf("127.0.0.1:%d", ports[4]), fmt.Sprintf("127.0.0.1:%d", ports[5])},
		Password:      "adminpw", TLSConfig: cli, MaxRetries: 2, DialTimeout: time.Second})
	defer fc.Close()
	if err := fc.Set(ctx, "after-failover", "1", 0).Err(); err != nil {
		t.Fatalf("FailoverClient over TLS: %v", err)
	}
	nc := redis.NewClient(c.nodes[2].opts())
	defer nc.Close()
	if v := nc.Get(ctx, "after-failover").Val(); v != "1" {
		t.Fatalf("the write did not reach the new master: %q", v)
	}

	if rc, err := exec.LookPath("redis-cli"); err == nil {
		cmd := exec.Command(rc, "--tls", "--cacert", ca.CAFile, "--cert", node.Cert, "--key", node.Key,
			"-h", "127.0.0.1", "-p", strconv.Itoa(ports[3]), "SENTINEL", "get-master-addr-by-name", "mymaster")
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH=sentadmin") // not -a: arguments show in ps
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Join(strings.Fields(string(out)), ":") != want {
			t.Fatalf("redis-cli --tls against the sentinel: %q, %v", out, err)
		}
	}
}
