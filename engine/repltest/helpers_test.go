package repltest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/difftest"
	goredis "github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	code := m.Run()
	difftest.RemoveEngineBinary()
	os.Exit(code)
}

// syncTimeout bounds every wait for a replica to catch up.
const syncTimeout = 20 * time.Second

// kind is the server a test runs on: the engine, or redis-server as the
// reference that proves the test itself.
type kind string

const (
	kindEngine kind = "engine"
	kindRedis  kind = "redis"
)

// fastArgs are given to every node: no diskless delay, so that a sync
// starts at once.
var fastArgs = []string{"--repl-diskless-sync-delay", "0"}

// startKind starts a node of kind k; it is killed at test end, its log is
// printed when the test failed, and the test fails if it crashed.
func startKind(t *testing.T, ctx context.Context, k kind, name string, args ...string) *Node {
	t.Helper()
	var bin string
	switch k {
	case kindEngine:
		b, err := difftest.EngineBinary()
		if err != nil {
			if os.Getenv("CI") != "true" && err == difftest.ErrNoEngine {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		bin = b
	case kindRedis:
		difftest.RequireRedis(t)
		bin = RedisServerPath
	}
	n, err := StartNode(ctx, name, bin, t.TempDir(), append(append([]string{}, fastArgs...), args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		crashed := n.Crashed()
		n.Kill()
		if crashed {
			t.Errorf("%s (%s) exited by itself: %s", n.Name, k, n.ExitState())
		}
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", n.Name, n.LogPath(), Tail(n.Log(), 6000))
		}
	})
	return n
}

// replicate points r at m (host:port given) and waits until it caught up
// with m.
func replicate(t *testing.T, ctx context.Context, r, m *Node, port int) {
	t.Helper()
	if err := r.ReplicaOf(ctx, "127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, m, r)
}

func waitSynced(t *testing.T, ctx context.Context, m, r *Node) {
	t.Helper()
	if err := WaitSynced(ctx, syncTimeout, m, r); err != nil {
		t.Fatal(err)
	}
}

// writeMixed writes count keys "<prefix>:<i>" of every type through one
// pipeline per 200 keys: strings of size bytes, lists, hashes, sets,
// sorted sets, an expiry time on every 7th key, a DEL of every 11th.
func writeMixed(t *testing.T, ctx context.Context, n *Node, prefix string, count, size int) {
	t.Helper()
	c := n.Client()
	defer c.Close()
	val := strings.Repeat("x", size)
	for base := 0; base < count; base += 200 {
		p := c.Pipeline()
		for i := base; i < min(base+200, count); i++ {
			k := fmt.Sprintf("%s:%d", prefix, i)
			switch i % 5 {
			case 0:
				p.Set(ctx, k, fmt.Sprintf("%d:%s", i, val), 0)
			case 1:
				p.RPush(ctx, k, i, val, "tail")
			case 2:
				p.HSet(ctx, k, "f", val, "n", i)
			case 3:
				p.SAdd(ctx, k, "a", i, val)
			case 4:
				p.ZAdd(ctx, k, goredis.Z{Score: float64(i), Member: val}, goredis.Z{Score: -1.5, Member: "m"})
			}
			if i%7 == 0 {
				p.Expire(ctx, k, time.Hour)
			}
			if i%11 == 0 {
				p.Del(ctx, k)
			}
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatalf("write %s:%d..: %v", prefix, base, err)
		}
	}
}

// sameKeys fails the test unless replica serves exactly master's keys.
func sameKeys(t *testing.T, ctx context.Context, what string, master, replica *Node) {
	t.Helper()
	want, err := Snapshot(ctx, master)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Snapshot(ctx, replica)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatalf("%s: %s has no keys", what, master.Name)
	}
	if d := Diff(want, got, 20); len(d) > 0 {
		t.Fatalf("%s: %s has %d keys, %s %d; differences:\n  %s", what, master.Name, len(want), replica.Name, len(got), strings.Join(d, "\n  "))
	}
}

// stat reads an integer INFO field or fails the test.
func stat(t *testing.T, ctx context.Context, n *Node, section, field string) int64 {
	t.Helper()
	in, err := n.Info(ctx, section)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := in.Int(field)
	if !ok {
		t.Fatalf("%s INFO %s: %s:%q is not an integer", n.Name, section, field, in.Get(field))
	}
	return v
}
