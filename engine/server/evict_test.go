package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// setMaxMemory changes the eviction settings of a running test server
// (what CONFIG SET does through the configuration).
func setMaxMemory(t testing.TB, s *Server, maxmemory int64, policy string) {
	t.Helper()
	s.mu.Lock()
	set := s.set
	set.MaxMemory, set.MaxMemoryPolicy = maxmemory, policy
	s.applySettings(set)
	s.mu.Unlock()
}

// evictionServer starts a server whose clock can be moved forward (the LRU
// clock has a resolution of one second) and restores the memory limit when
// the test ends.
func evictionServer(t *testing.T) (*Server, *redis.Client, *atomic.Int64) {
	s, addr := startTestServer(t, func(set *Settings) { set.MaxMemorySamples = 5; set.LFULogFactor = 10; set.LFUDecayTime = 1 })
	var offset atomic.Int64
	s.mu.Lock()
	s.clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s.mu.Unlock()
	t.Cleanup(func() { setMaxMemory(t, s, 0, "noeviction") })
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 2})
	t.Cleanup(func() { rdb.Close() })
	return s, rdb, &offset
}

func infoInt(t testing.TB, rdb *redis.Client, field string) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory", "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("INFO has no %s", field)
	return 0
}

// TestEvictAllKeysLRU fills a 20 MB server with far more data than fits
// and checks that memory stays near the limit and that recently read keys
// survive better than keys nobody reads.
func TestEvictAllKeysLRU(t *testing.T) {
	const maxmemory = 20 << 20
	s, rdb, offset := evictionServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	setMaxMemory(t, s, maxmemory, "allkeys-lru")
	val := strings.Repeat("v", 200)
	// Phase 1: 2000 keys; the first half will be read ("hot"), the second
	// half never again ("cold").
	pipe := rdb.Pipeline()
	for i := 0; i < 2000; i++ {
		pipe.Set(ctx, fmt.Sprint("early:", i), val, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// Phase 2: 30 MB more in batches of 500 SETs, reading the hot keys
	// between batches, with the clock moving one second per batch.
	var peak int64
	start := time.Now()
	for batch := 0; batch < 300 && time.Since(start) < 30*time.Second; batch++ {
		offset.Add(int64(time.Second))
		pipe := rdb.Pipeline()
		for i := 0; i < 500; i++ {
			pipe.Set(ctx, fmt.Sprint("fill:", batch, ":", i), val, 0)
		}
		for i := batch % 10; i < 1000; i += 10 {
			pipe.Get(ctx, fmt.Sprint("early:", i))
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		if batch%50 == 0 {
			peak = max(peak, infoInt(t, rdb, "used_memory"))
		}
	}
	used := infoInt(t, rdb, "used_memory")
	peak = max(peak, used)
	evicted := infoInt(t, rdb, "evicted_keys")
	hot, cold := 0, 0
	for i := 0; i < 1000; i++ {
		if rdb.Exists(ctx, fmt.Sprint("early:", i)).Val() == 1 {
			hot++
		}
		if rdb.Exists(ctx, fmt.Sprint("early:", 1000+i)).Val() == 1 {
			cold++
		}
	}
	dbsize := rdb.DBSize(ctx).Val()
	t.Logf("maxmemory %d: used_memory %d (%.3f), peak %d (%.3f), evicted %d, dbsize %d, hot survivors %d/1000, cold %d/1000",
		maxmemory, used, float64(used)/maxmemory, peak, float64(peak)/maxmemory, evicted, dbsize, hot, cold)
	if used > maxmemory*11/10 || peak > maxmemory*13/10 {
		t.Errorf("used_memory %d, peak %d: too far above maxmemory %d", used, peak, maxmemory)
	}
	if used < maxmemory/2 {
		t.Errorf("used_memory %d: far below maxmemory %d (evicting too much)", used, maxmemory)
	}
	if evicted == 0 {
		t.Error("no key evicted")
	}
	if hot < 800 || cold > hot/2 {
		t.Errorf("LRU: %d hot and %d cold keys survived", hot, cold)
	}
}

// TestEvictVolatileOnly checks that volatile-* policies evict only keys
// with a TTL and answer OOM once none is left.
func TestEvictVolatileOnly(t *testing.T) {
	for _, policy := range []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		t.Run(policy, func(t *testing.T) {
			s, rdb, _ := evictionServer(t)
			ctx := context.Background()
			pipe := rdb.Pipeline()
			for i := 0; i < 200; i++ {
				pipe.Set(ctx, fmt.Sprint("p:", i), "x", 0)
				pipe.Set(ctx, fmt.Sprint("v:", i), "x", time.Hour)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			setMaxMemory(t, s, 1, policy)
			// Each command evicts for at most about 500µs (a few keys
			// under -race on a loaded machine): repeat until every
			// volatile key is gone, bounded in time.
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && infoInt(t, rdb, "evicted_keys") < 200; {
				rdb.Ping(ctx)
			}
			err := rdb.Set(ctx, "new", "x", 0).Err()
			if err == nil || err.Error() != errOOM {
				t.Fatalf("SET with no volatile key left: %v", err)
			}
			setMaxMemory(t, s, 0, policy)
			if n := rdb.DBSize(ctx).Val(); n != 200 {
				t.Errorf("dbsize %d, want the 200 persistent keys", n)
			}
			if n := rdb.Exists(ctx, "p:0", "p:199").Val(); n != 2 {
				t.Errorf("persistent keys evicted")
			}
			if n := infoInt(t, rdb, "evicted_keys"); n != 200 {
				t.Errorf("evicted_keys %d", n)
			}
		})
	}
}

// TestEvictNoEviction checks that noeviction refuses denyoom commands but
// not reads and deletions.
func TestEvictNoEviction(t *testing.T) {
	s, rdb, _ := evictionServer(t)
	ctx := context.Background()
	rdb.Set(ctx, "a", "1", 0)
	setMaxMemory(t, s, 1, "noeviction")
	if err := rdb.Set(ctx, "b", "2", 0).Err(); err == nil || err.Error() != errOOM {
		t.Fatalf("SET: %v", err)
	}
	if v, err := rdb.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Fatalf("GET: %q %v", v, err)
	}
	if n, err := rdb.Del(ctx, "a").Result(); err != nil || n != 1 {
		t.Fatalf("DEL: %d %v", n, err)
	}
	if n := infoInt(t, rdb, "evicted_keys"); n != 0 {
		t.Errorf("evicted_keys %d under noeviction", n)
	}
}

type feedRecorder struct {
	mu  sync.Mutex
	buf []byte
}

func (f *feedRecorder) Write(b []byte) {
	f.mu.Lock()
	f.buf = append(f.buf, b...)
	f.mu.Unlock()
}

// TestEvictEffects checks what an eviction does besides deleting: DEL in
// the write stream, the evicted notification, WATCH invalidation.
func TestEvictEffects(t *testing.T) {
	s, rdb, _ := evictionServer(t)
	ctx := context.Background()
	feed := &feedRecorder{}
	s.AddFeed(feed)
	s.mu.Lock()
	s.set.NotifyKeyspaceEvents = "Ee"
	s.mu.Unlock()
	rdb.Set(ctx, "k", "v", 0)
	sub := rdb.Subscribe(ctx, "__keyevent@0__:evicted")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		// Another client's command runs the eviction of k.
		setMaxMemory(t, s, 1, "allkeys-lru")
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Error(err)
		}
		setMaxMemory(t, s, 0, "allkeys-lru")
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Ping(ctx)
			return nil
		})
		return err
	}, "k"); err != redis.TxFailedErr {
		t.Errorf("EXEC after the watched key was evicted: %v", err)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil || msg.Payload != "k" {
		t.Fatalf("evicted notification: %v %v", msg, err)
	}
	feed.mu.Lock()
	got := string(feed.buf)
	feed.mu.Unlock()
	if !strings.Contains(got, "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n") {
		t.Errorf("write stream has no DEL k: %q", got)
	}
}
