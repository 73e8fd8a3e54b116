package sentinel

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestKillMasterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	killMasterFailover(t, newCluster(t, []int{100, 100, 50}, 3, 2))
}

// TestKillMasterFailoverEngine is the same proof with hactl-engine nodes.
func TestKillMasterFailoverEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	bin := filepath.Join(t.TempDir(), "hactl-engine")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hactl/hactl/cmd/hactl-engine").CombinedOutput(); err != nil {
		t.Skipf("hactl-engine does not build right now: %v\n%s", err, out)
	}
	killMasterFailover(t, newClusterWith(t, bin, []int{100, 100, 50}, 3, 2))
}

// killMasterFailover kills the master of c (node 2 has the best priority)
// and checks the failover, the events, pub/sub, INFO, the old master's
// return as a replica and redis-cli.
func killMasterFailover(t *testing.T, c *cluster) {
	ctx := context.Background()
	// Pub/sub on one sentinel sees the events too.
	sub := c.sentinels[0].client().PSubscribe(ctx, "*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	old := c.nodes[0]
	want := c.nodes[2].addr() // replica-priority 50 wins over 100
	killed := time.Now()
	old.kill()
	c.waitMaster(want, 15*time.Second)
	t.Logf("all sentinels switched %v after kill -9", time.Since(killed))
	leader := c.leader()
	if leader == nil {
		t.Fatal("no sentinel logged +elected-leader")
	}
	waitFor(t, 10*time.Second, "+switch-master on the leader", func() bool { return leader.log.count("+switch-master") > 0 })
	assertOrder(t, leader.log.events(), []string{"+sdown", "+odown", "+try-failover", "+elected-leader",
		"+selected-slave", "+promoted-slave", "+slave-reconf-sent", "+slave-reconf-inprog",
		"+slave-reconf-done", "+failover-end", "+switch-master"})
	for _, s := range c.sentinels {
		if n := s.log.count("+promoted-slave"); n > 1 {
			t.Fatalf("%d promotions logged by one sentinel", n)
		}
	}
	if got := c.nodes[2].info("role"); got != "master" {
		t.Fatalf("promoted node role %q", got)
	}
	waitFor(t, 5*time.Second, "other replica follows the new master", func() bool {
		return c.nodes[1].info("master_port") == strconv.Itoa(c.nodes[2].port) && c.nodes[1].info("master_link_status") == "up"
	})
	plain := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", c.sentinels[1].port)})
	defer plain.Close()
	info, err := plain.Info(ctx, "sentinel").Result()
	if err != nil || !strings.Contains(info, "address="+want+",slaves=2,sentinels=3") {
		t.Fatalf("INFO sentinel = %q, %v", info, err)
	}
	// The switch was published on pub/sub.
	deadline := time.After(2 * time.Second)
	for got := false; !got; {
		select {
		case m := <-sub.Channel():
			if m.Channel == "+switch-master" {
				if m.Payload != fmt.Sprintf("mymaster 127.0.0.1 %d 127.0.0.1 %d", old.port, c.nodes[2].port) {
					t.Fatalf("+switch-master payload %q", m.Payload)
				}
				got = true
			}
		case <-deadline:
			t.Fatal("no +switch-master message on pub/sub")
		}
	}
	// The old master comes back as a master and is converted.
	old.start()
	waitFor(t, 15*time.Second, "old master converted to replica", func() bool {
		return old.info("role") == "slave" && old.info("master_port") == strconv.Itoa(c.nodes[2].port)
	})
	if leader.log.count("+convert-to-slave") == 0 {
		found := false
		for _, s := range c.sentinels {
			found = found || s.log.count("+convert-to-slave") > 0
		}
		if !found {
			t.Fatal("no +convert-to-slave event")
		}
	}
	// redis-cli works against our sentinel.
	out, err := exec.Command("redis-cli", "-p", strconv.Itoa(c.sentinels[0].port), "sentinel",
		"get-master-addr-by-name", "mymaster").CombinedOutput()
	if err != nil || string(out) != fmt.Sprintf("127.0.0.1\n%d\n", c.nodes[2].port) {
		t.Fatalf("redis-cli: %q %v", out, err)
	}
}

func TestManualFailoverAndPriorityZero(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	c := newCluster(t, []int{0, 0, 20, 10}, 3, 2)
	ctx := context.Background()
	sc := c.sentinels[1].client()
	defer sc.Close()
	if err := sc.Failover(ctx, "mymaster").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	if err := sc.Failover(ctx, "mymaster").Err(); err == nil || !strings.HasPrefix(err.Error(), "INPROG") {
		t.Fatalf("second SENTINEL FAILOVER: %v, want INPROG", err)
	}
	c.waitMaster(c.nodes[3].addr(), 15*time.Second) // priority 10
	// The old master (alive) is turned into a replica by the leader.
	waitFor(t, 10*time.Second, "old master demoted", func() bool { return c.nodes[0].info("role") == "slave" })
	c.waitDiscovery(3, 2)
	// Kill masters until only the priority-0 replica is left: never promoted.
	c.nodes[3].kill()
	c.waitMaster(c.nodes[2].addr(), 15*time.Second) // priority 20
	waitFor(t, 10*time.Second, "priority-0 replicas follow the new master", func() bool {
		for _, n := range c.nodes[:2] {
			if n.info("master_port") != strconv.Itoa(c.nodes[2].port) || n.info("master_link_status") != "up" {
				return false
			}
		}
		return true
	})
	c.nodes[2].kill()
	waitFor(t, 15*time.Second, "failover aborted without a good replica", func() bool {
		for _, s := range c.sentinels {
			if s.log.count("-failover-abort-no-good-slave") > 0 {
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second)
	for _, n := range c.nodes[:2] {
		if n.info("role") != "slave" {
			t.Fatalf("priority-0 replica %s was promoted", n.addr())
		}
		for _, s := range c.sentinels {
			if a := s.masterAddr(); a == n.addr() {
				t.Fatal("a sentinel names a priority-0 replica as master")
			}
		}
	}
}

func TestMinorityNeverFailsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	// quorum 1: the lone sentinel reaches ODOWN by itself, but it must not
	// be elected without a majority of the 3 sentinels.
	c := newCluster(t, []int{100, 100, 100}, 3, 1)
	c.sentinels[1].stop()
	c.sentinels[2].stop()
	lone := c.sentinels[0]
	master := c.nodes[0].addr()
	c.nodes[0].kill()
	waitFor(t, 15*time.Second, "election timeout", func() bool {
		return lone.log.count("-failover-abort-not-elected") > 0
	})
	if lone.log.count("+try-failover") == 0 {
		t.Fatal("the lone sentinel did not even try (quorum 1)")
	}
	if n := lone.log.count("+elected-leader"); n != 0 {
		t.Fatal("minority sentinel elected itself")
	}
	for _, n := range c.nodes[1:] {
		if n.info("role") != "slave" {
			t.Fatalf("%s promoted by a minority", n.addr())
		}
	}
	if a := lone.masterAddr(); a != master {
		t.Fatalf("master address changed to %s", a)
	}
}

func TestFailoverClientKeepsWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	c := newCluster(t, []int{100, 100, 100}, 3, 2)
	var addrs []string
	for _, s := range c.sentinels {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", s.port))
	}
	res := runWriter(t, addrs, func() { c.nodes[0].kill() }, time.Millisecond, 2*time.Second, 8*time.Second)
	t.Logf("outage %v, %d acknowledged writes, %d lost", res.outage, res.acked, res.lost)
	if res.outage <= 0 || res.outage > 5*time.Second {
		t.Fatalf("writes did not resume in time: outage %v", res.outage)
	}
	if res.afterAcked == 0 {
		t.Fatal("no acknowledged write after the failover")
	}
}

// writeResult summarises one FailoverClient run across a failover.
type writeResult struct {
	outage     time.Duration // from the fault to the first acknowledged write after it
	acked      int
	afterAcked int
	lost       int // acknowledged writes missing from the final master
}

// runWriter writes with a go-redis FailoverClient, one write per period
// (bounded), for total, injects fault after warm, and checks every
// acknowledged key on the final master.
func runWriter(t testing.TB, sentinels []string, fault func(), period, warm, total time.Duration) writeResult {
	ctx := context.Background()
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: sentinels,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		MaxRetries: -1, PoolSize: 4})
	defer fc.Close()
	var res writeResult
	var acked []string
	start := time.Now()
	var faultAt time.Time
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := 0; time.Since(start) < total && i < 50000; i++ {
		<-tick.C
		if faultAt.IsZero() && time.Since(start) > warm {
			faultAt = time.Now()
			fault()
		}
		key := "k" + strconv.Itoa(i)
		if fc.Set(ctx, key, i, 0).Err() == nil {
			acked = append(acked, key)
			if !faultAt.IsZero() {
				if res.afterAcked == 0 {
					res.outage = time.Since(faultAt)
				}
				res.afterAcked++
			}
		}
	}
	res.acked = len(acked)
	for _, k := range acked {
		if err := fc.Get(ctx, k).Err(); err != nil {
			res.lost++
		}
	}
	return res
}
