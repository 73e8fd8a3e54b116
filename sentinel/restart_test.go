package sentinel

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestAuthAndStateSurvivesRestart: requirepass on the sentinel port,
// auth-pass toward password-protected instances, and a promotion that
// survives a restart with the original (re-rendered) configuration.
func TestAuthAndStateSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	ports := freePorts(t, 3)
	auth := []string{"--requirepass", "pw", "--masterauth", "pw"}
	master := startRedis(t, ports[0], auth...)
	replica := startRedis(t, ports[1], append(auth, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))...)
	conf := sentinelConf(ports[2], ports[0], 1, "requirepass SPW", "sentinel auth-pass mymaster pw")
	ts := startSentinel(t, t.TempDir(), conf)
	ctx := context.Background()
	addr := fmt.Sprintf("127.0.0.1:%d", ports[2])

	out, _ := exec.Command("redis-cli", "-p", strconv.Itoa(ports[2]), "sentinel", "myid").CombinedOutput()
	if !strings.Contains(string(out), "NOAUTH") {
		t.Fatalf("unauthenticated SENTINEL MYID: %q", out)
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Password: "SPW"})
	defer sc.Close()
	bad := redis.NewSentinelClient(&redis.Options{Addr: addr, Password: "wrong", MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	waitFor(t, 15*time.Second, "replica discovered through auth-pass", func() bool {
		rs, err := sc.Replicas(ctx, "mymaster").Result()
		return err == nil && len(rs) == 1 && rs[0]["master-link-status"] == "ok"
	})
	plain := redis.NewClient(&redis.Options{Addr: addr, Password: "SPW"})
	defer plain.Close()
	myid, err := plain.Do(ctx, "sentinel", "myid").Text()
	if err != nil || len(myid) != 40 {
		t.Fatalf("myid %q %v", myid, err)
	}
	if err := sc.Failover(ctx, "mymaster").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "promotion", func() bool { return replica.info("role") == "master" })
	want := replica.addr()
	waitFor(t, 10*time.Second, "switch", func() bool { return ts.log.count("+switch-master") == 1 })
	waitFor(t, 10*time.Second, "old master demoted", func() bool {
		return master.info("role") == "slave"
	})

	ts.stop()
	ts.log = &syncBuffer{}
	ts.start(t) // same sentinel.conf, still naming the old master
	if got, _ := plain.Do(ctx, "sentinel", "myid").Text(); got != myid {
		t.Fatalf("myid after restart %q, want %q", got, myid)
	}
	a, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
	if err != nil || a[0]+":"+a[1] != want {
		t.Fatalf("master after restart %v %v, want %s", a, err, want)
	}
	m, err := sc.Master(ctx, "mymaster").Result()
	if err != nil || m["config-epoch"] != "1" {
		t.Fatalf("SENTINEL MASTER after restart: %v %v", m, err)
	}
}
