package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func replSettingsForTest(dir string) Settings {
	set := persistSettings(dir, false, "everysec")
	set.Persist.Save = nil
	set.Repl = ReplSettings{ReplicaReadOnly: true, ReplicaServeStaleData: true, ReplicaPriority: 100,
		Timeout: 10 * time.Second, PingPeriod: time.Second, BacklogSize: 1 << 20, BacklogTTL: time.Hour,
		DisklessSync: true, MinReplicasMaxLag: 10 * time.Second}
	return set
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func infoField(ctx context.Context, c *redis.Client, section, field string) string {
	for _, line := range strings.Split(c.Info(ctx, section).Val(), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

func TestReplicationEngineToEngine(t *testing.T) {
	for _, diskless := range []bool{true, false} {
		t.Run(fmt.Sprintf("diskless=%v", diskless), func(t *testing.T) {
			ctx := context.Background()
			mset := replSettingsForTest(t.TempDir())
			mset.Repl.DisklessSync = diskless
			maddr, _ := runServer(t, mset)
			m := redis.NewClient(&redis.Options{Addr: maddr})
			defer m.Close()
			fillAllTypes(t, ctx, m)
			raddr, _ := runServer(t, replSettingsForTest(t.TempDir()))
			r := redis.NewClient(&redis.Options{Addr: raddr})
			defer r.Close()
			h, p := hostPort(t, maddr)
			if err := r.SlaveOf(ctx, h, strconv.Itoa(p)).Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "link up", func() bool { return infoField(ctx, r, "replication", "master_link_status") == "up" })
			// Stream after the full sync.
			m.Set(ctx, "after", "sync", 0)
			m.Incr(ctx, "counter")
			m.Expire(ctx, "after", time.Hour)
			waitFor(t, "offsets equal", func() bool {
				mo := infoField(ctx, m, "replication", "master_repl_offset")
				return mo != "" && infoField(ctx, r, "replication", "slave_repl_offset") == mo
			})
			sameDump(t, "replica vs master", dump(t, ctx, r), dump(t, ctx, m))
			if got := r.Set(ctx, "x", "y", 0).Err(); got == nil || !strings.HasPrefix(got.Error(), "READONLY") {
				t.Fatalf("write on replica: %v; want READONLY", got)
			}
			if got := infoField(ctx, m, "replication", "connected_slaves"); got != "1" {
				t.Fatalf("connected_slaves = %q", got)
			}
			if !strings.Contains(infoField(ctx, m, "replication", "slave0"), "state=online") {
				t.Fatalf("slave0 = %q", infoField(ctx, m, "replication", "slave0"))
			}
			if n, err := m.Wait(ctx, 1, 2*time.Second).Result(); err != nil || n != 1 {
				t.Fatalf("WAIT = %d, %v", n, err)
			}
			role := r.Do(ctx, "ROLE").Val().([]any)
			if role[0] != "slave" || role[3] != "connected" {
				t.Fatalf("ROLE = %v", role)
			}
		})
	}
}

// TestSeedManualFailover follows the seed article: db01 master with db02
// and db03; db01 dies; db02 is promoted with REPLICAOF NO ONE, db03 is
// repointed and continues with a partial resync (PSYNC2, no full sync);
// db01 returns as a replica of db02 and converges.
func TestSeedManualFailover(t *testing.T) {
	ctx := context.Background()
	a1, stop1 := runServer(t, replSettingsForTest(t.TempDir()))
	a2, _ := runServer(t, replSettingsForTest(t.TempDir()))
	a3, _ := runServer(t, replSettingsForTest(t.TempDir()))
	db1 := redis.NewClient(&redis.Options{Addr: a1})
	db2 := redis.NewClient(&redis.Options{Addr: a2})
	db3 := redis.NewClient(&redis.Options{Addr: a3})
	defer db1.Close()
	defer db2.Close()
	defer db3.Close()
	h1, p1 := hostPort(t, a1)
	h2, p2 := hostPort(t, a2)
	for _, r := range []*redis.Client{db2, db3} {
		if err := r.SlaveOf(ctx, h1, strconv.Itoa(p1)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	fillAllTypes(t, ctx, db1)
	waitSynced(t, ctx, db1, db2)
	waitSynced(t, ctx, db1, db3)
	// The seed's checks on the master.
	if got := infoField(ctx, db1, "replication", "connected_slaves"); got != "2" {
		t.Fatalf("connected_slaves = %q", got)
	}
	for i := 0; i < 2; i++ {
		v := infoField(ctx, db1, "replication", "slave"+strconv.Itoa(i))
		if !strings.Contains(v, "state=online") || !strings.Contains(v, "ip=127.0.0.1") || !strings.Contains(v, "lag=") {
			t.Fatalf("slave%d = %q", i, v)
		}
	}
	replid := infoField(ctx, db1, "replication", "master_replid")
	for _, r := range []*redis.Client{db2, db3} {
		for field, want := range map[string]string{"role": "slave", "master_link_status": "up", "master_sync_in_progress": "0", "master_replid": replid, "slave_read_only": "1", "slave_priority": "100"} {
			if got := infoField(ctx, r, "replication", field); got != want {
				t.Fatalf("replica %s = %q, want %q", field, got, want)
			}
		}
	}
	// db01 crashes.
	stop1()
	waitFor(t, "db03 sees the link down", func() bool {
		return infoField(ctx, db3, "replication", "master_link_status") == "down" &&
			infoField(ctx, db3, "replication", "master_link_down_since_seconds") != ""
	})
	fullBefore := infoField(ctx, db2, "stats", "sync_full")
	if err := db2.SlaveOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if got := infoField(ctx, db2, "replication", "master_replid2"); got != replid {
		t.Fatalf("promoted master_replid2 = %q, want the old replid %q", got, replid)
	}
	if err := db3.SlaveOf(ctx, h2, strconv.Itoa(p2)).Err(); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, db2, db3)
	if got := infoField(ctx, db2, "stats", "sync_full"); got != fullBefore {
		t.Fatalf("db03 needed a full resync after the promotion (sync_full %s -> %s)", fullBefore, got)
	}
	if got := infoField(ctx, db2, "stats", "sync_partial_ok"); got != "1" {
		t.Fatalf("sync_partial_ok = %q, want 1", got)
	}
	db2.Set(ctx, "after", "failover", 0)
	waitSynced(t, ctx, db2, db3)
	sameDump(t, "db03 after failover", dump(t, ctx, db3), dump(t, ctx, db2))
	// db01 comes back (empty here: its data dir had no save) and rejoins.
	a1b, _ := runServer(t, replSettingsForTest(t.TempDir()))
	db1b := redis.NewClient(&redis.Options{Addr: a1b})
	defer db1b.Close()
	if err := db1b.SlaveOf(ctx, h2, strconv.Itoa(p2)).Err(); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, db2, db1b)
	sameDump(t, "old master after rejoining", dump(t, ctx, db1b), dump(t, ctx, db2))
	if got := infoField(ctx, db2, "replication", "connected_slaves"); got != "2" {
		t.Fatalf("connected_slaves after rejoin = %q", got)
	}
}

// TestFailoverTo: a coordinated FAILOVER TO under a bounded write load;
// every acknowledged write is on the new master.
func TestFailoverTo(t *testing.T) {
	ctx := context.Background()
	am, _ := runServer(t, replSettingsForTest(t.TempDir()))
	ar, _ := runServer(t, replSettingsForTest(t.TempDir()))
	m := redis.NewClient(&redis.Options{Addr: am, MaxRetries: -1})
	r := redis.NewClient(&redis.Options{Addr: ar})
	defer m.Close()
	defer r.Close()
	hm, pm := hostPort(t, am)
	hr, pr := hostPort(t, ar)
	if err := r.SlaveOf(ctx, hm, strconv.Itoa(pm)).Err(); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, m, r)
	if err := m.Do(ctx, "FAILOVER", "TO", "127.0.0.1", "0").Err(); err == nil || !strings.Contains(err.Error(), "not a replica") {
		t.Fatalf("FAILOVER TO unknown replica: %v", err)
	}
	// Writer: bounded count and time; remembers acknowledged writes.
	acked := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
			k := fmt.Sprint("w", i)
			if err := m.Set(ctx, k, i, 0).Err(); err == nil {
				acked[k] = true
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	_ = hr
	if err := m.Do(ctx, "FAILOVER", "TO", hr, strconv.Itoa(pr), "TIMEOUT", "5000").Err(); err != nil {
		t.Fatal(err)
	}
	<-done
	waitFor(t, "new master", func() bool { return infoField(ctx, r, "replication", "role") == "master" })
	waitFor(t, "old master is a replica", func() bool { return infoField(ctx, m, "replication", "role") == "slave" })
	if st := infoField(ctx, m, "replication", "master_failover_state"); st != "no-failover" {
		t.Fatalf("master_failover_state = %q", st)
	}
	lost := 0
	for k := range acked {
		if r.Exists(ctx, k).Val() != 1 {
			lost++
		}
	}
	if lost > 0 || len(acked) == 0 {
		t.Fatalf("%d of %d acknowledged writes lost in FAILOVER TO", lost, len(acked))
	}
	waitSynced(t, ctx, r, m)
}

// TestClientPause: CLIENT PAUSE WRITE holds writes (not reads) until the
// pause ends; CLIENT UNPAUSE releases them at once.
func TestClientPause(t *testing.T) {
	ctx := context.Background()
	_, addr := startTestServer(t, nil)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	w := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	defer w.Close()
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "5000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET during a write pause: %v", err)
	}
	done := make(chan time.Duration, 1)
	go func() {
		t0 := time.Now()
		w.Set(ctx, "k", "v", 0)
		done <- time.Since(t0)
	}()
	select {
	case <-done:
		t.Fatal("SET was not paused")
	case <-time.After(200 * time.Millisecond):
	}
	if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-done:
		if d > 3*time.Second {
			t.Fatalf("SET took %v", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("SET still paused after CLIENT UNPAUSE")
	}
	if v := admin.Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("GET k = %q", v)
	}
}
