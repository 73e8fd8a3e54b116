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
