package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// runServer starts a server whose data lives in dir, loads it, and returns
// a stop function that shuts it down as SIGTERM would.
func runServer(t *testing.T, set Settings) (addr string, stop func()) {
	t.Helper()
	var logOut io.Writer = io.Discard
	if os.Getenv("HACTL_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	s := New(&testConfig{set: set}, slog.New(slog.NewTextHandler(logOut, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	if err := s.LoadData(); err != nil {
		cancel()
		<-done
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("server did not stop")
		}
	}
	t.Cleanup(stop)
	return s.Addrs()[0].String(), stop
}

func persistSettings(dir string, aofOn bool, fsync string) Settings {
	return Settings{Bind: []string{"127.0.0.1"}, MaxClients: 1000, Hz: 10,
		HashMaxListpackEntries: 128, HashMaxListpackValue: 64, SetMaxIntsetEntries: 512,
		ZsetMaxListpackEntries: 128, ZsetMaxListpackValue: 64,
		Persist: PersistSettings{Dir: dir, DBFilename: "dump.rdb", RDBCompression: true, RDBChecksum: true,
			Save: []SavePoint{{3600, 1}}, StopWritesOnBgsaveError: true,
			AppendOnly: aofOn, AppendFilename: "appendonly.aof", AppendDirname: "appendonlydir",
			AppendFsync: fsync, AOFUseRDBPreamble: true, AOFLoadTruncated: true}}
}

// fillAllTypes writes every type in small and big encodings, with TTLs, in
// two databases.
func fillAllTypes(t *testing.T, ctx context.Context, rdb *redis.Client) {
	t.Helper()
	p := rdb.Pipeline()
	p.Set(ctx, "s:int", "12345", 0)
	p.Set(ctx, "s:str", "hello world", 0)
	p.Set(ctx, "s:big", string(make([]byte, 5000)), 0)
	p.Set(ctx, "s:ttl", "v", time.Hour)
	for i := 0; i < 300; i++ {
		p.RPush(ctx, "l:big", fmt.Sprint("e", i))
		p.SAdd(ctx, "st:big", fmt.Sprint("m", i))
		p.SAdd(ctx, "st:ints", i)
		p.HSet(ctx, "h:big", fmt.Sprint("f", i), fmt.Sprint(i))
		p.ZAdd(ctx, "z:big", redis.Z{Score: float64(i) / 3, Member: fmt.Sprint("z", i)})
	}
	p.RPush(ctx, "l:small", "a", "b", "c")
	p.SAdd(ctx, "st:small", "x", "y")
	p.HSet(ctx, "h:small", "a", "1", "b", "2")
	p.ZAdd(ctx, "z:small", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: -2, Member: "b"})
	p.Expire(ctx, "h:small", time.Hour)
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// dump reads every key's type, value and TTL presence.
func dump(t *testing.T, ctx context.Context, rdb *redis.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		typ := rdb.Type(ctx, k).Val()
		var v any
		switch typ {
		case "string":
			v = rdb.Get(ctx, k).Val()
		case "list":
			v = rdb.LRange(ctx, k, 0, -1).Val()
		case "set":
			m := rdb.SMembers(ctx, k).Val()
			sort.Strings(m)
			v = m
		case "hash":
			v = rdb.HGetAll(ctx, k).Val()
		case "zset":
			v = rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
		}
		ttl := rdb.TTL(ctx, k).Val() > 0
		out[k] = fmt.Sprintf("%s %v ttl=%v enc=%s", typ, v, ttl, rdb.ObjectEncoding(ctx, k).Val())
	}
	return out
}

// sameDump reports the keys that differ between two dumps.
func sameDump(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	var diff []string
	for k, w := range want {
		if got[k] != w {
			g := got[k]
			if len(g) > 200 {
				g = g[:200] + "..."
			}
			diff = append(diff, fmt.Sprintf("%s: got %q", k, g))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, k+": unexpected")
		}
	}
	sort.Strings(diff)
	t.Fatalf("%s: %d keys, want %d; differences:\n%v", what, len(got), len(want), diff)
}

func TestRDBRestart(t *testing.T) {
	dir := t.TempDir()
	set := persistSettings(dir, false, "everysec")
	addr, stop := runServer(t, set)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr})
	fillAllTypes(t, ctx, c)
	want := dump(t, ctx, c)
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	stop()
	addr2, _ := runServer(t, set)
	c2 := redis.NewClient(&redis.Options{Addr: addr2})
	defer c2.Close()
	sameDump(t, "after restart", dump(t, ctx, c2), want)
}

func TestAOFRestart(t *testing.T) {
	for _, fsync := range []string{"always", "everysec"} {
		t.Run(fsync, func(t *testing.T) {
			dir := t.TempDir()
			set := persistSettings(dir, true, fsync)
			set.Persist.Save = nil // only the AOF
			addr, stop := runServer(t, set)
			ctx := context.Background()
			c := redis.NewClient(&redis.Options{Addr: addr})
			fillAllTypes(t, ctx, c)
			c.Incr(ctx, "counter")
			c.IncrByFloat(ctx, "f", 1.25)
			c.Del(ctx, "s:str")
			want := dump(t, ctx, c)
			c.Close()
			stop()
			addr2, stop2 := runServer(t, set)
			c2 := redis.NewClient(&redis.Options{Addr: addr2})
			sameDump(t, "after restart", dump(t, ctx, c2), want)
			// A rewrite, more writes, and a third start.
			if err := c2.BgRewriteAOF(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 100 && c2.Info(ctx, "persistence").Val() != "" && !aofIdle(ctx, c2); i++ {
				time.Sleep(50 * time.Millisecond)
			}
			c2.Set(ctx, "after", "rewrite", 0)
			want = dump(t, ctx, c2)
			c2.Close()
			stop2()
			addr3, _ := runServer(t, set)
			c3 := redis.NewClient(&redis.Options{Addr: addr3})
			defer c3.Close()
			sameDump(t, "after rewrite and restart", dump(t, ctx, c3), want)
		})
	}
}

func aofIdle(ctx context.Context, c *redis.Client) bool {
	info := c.Info(ctx, "persistence").Val()
	return contains(info, "aof_rewrite_in_progress:0")
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
