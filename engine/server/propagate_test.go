package server

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hactl/hactl/engine/resp"
	"github.com/redis/go-redis/v9"
)

// captureFeed records the write stream as one command per line.
type captureFeed struct {
	mu   sync.Mutex
	cmds []string
}

func (f *captureFeed) Write(b []byte) {
	var p resp.Parser
	for len(b) > 0 {
		args, n, err := p.Parse(b, nil)
		if err != nil {
			panic(err)
		}
		var parts []string
		for _, a := range args {
			parts = append(parts, string(a))
		}
		f.mu.Lock()
		f.cmds = append(f.cmds, strings.Join(parts, " "))
		f.mu.Unlock()
		b = b[n:]
	}
}

func TestPropagation(t *testing.T) {
	s, addr := startTestServer(t, nil)
	feed := &captureFeed{}
	s.AddFeed(feed)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rdb.Close()
	do := func(args ...any) {
		t.Helper()
		if err := rdb.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	do("SET", "a", "1")
	do("GET", "a")                // read: not propagated
	do("SET", "a", "1", "NX")     // no change: not propagated
	do("DEL", "missing")          // no change
	do("INCRBYFLOAT", "f", "1.5") // as SET ... KEEPTTL
	do("EXPIREAT", "a", "1")      // in the past: as DEL
	do("SELECT", "2")             // (pool connection: db 2 from now on for this conn)
	do("SET", "b", "2", "PXAT", "4102444800000")
	do("MULTI")
	do("INCR", "n")
	do("GET", "n")
	do("EXEC")
	feed.mu.Lock()
	got := strings.Join(feed.cmds, "\n")
	feed.mu.Unlock()
	want := strings.Join([]string{
		"SELECT 0",
		"SET a 1",
		"SET f 1.5 KEEPTTL",
		"DEL a",
		"SELECT 2",
		"SET b 2 PXAT 4102444800000",
		"MULTI",
		"INCR n",
		"EXEC",
	}, "\n")
	if got != want {
		t.Fatalf("stream:\n%s\nwant:\n%s", got, want)
	}
}
