package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestListCommandsGoRedis drives the list commands through go-redis in
// both protocols, on a list long enough to span many chunks.
func TestListCommandsGoRedis(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			_, addr := startTestServer(t, nil)
			ctx := context.Background()
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto})
			defer rdb.Close()
			const n = 20000
			pipe := rdb.Pipeline()
			for i := range n {
				pipe.RPush(ctx, "big", fmt.Sprintf("e%d", i))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				name string
				got  func() (any, error)
				want any
			}{
				{"llen", func() (any, error) { return rdb.LLen(ctx, "big").Result() }, int64(n)},
				{"lindex middle", func() (any, error) { return rdb.LIndex(ctx, "big", 12345).Result() }, "e12345"},
				{"lindex negative", func() (any, error) { return rdb.LIndex(ctx, "big", -2).Result() }, fmt.Sprintf("e%d", n-2)},
				{"lrange", func() (any, error) { return rdb.LRange(ctx, "big", 9998, 10001).Result() }, []string{"e9998", "e9999", "e10000", "e10001"}},
				{"lpos rank", func() (any, error) { return rdb.LPos(ctx, "big", "e777", redis.LPosArgs{Rank: -1}).Result() }, int64(777)},
				{"lset", func() (any, error) { return rdb.LSet(ctx, "big", 15000, "changed").Result() }, "OK"},
				{"lindex after lset", func() (any, error) { return rdb.LIndex(ctx, "big", 15000).Result() }, "changed"},
				{"linsert", func() (any, error) { return rdb.LInsertBefore(ctx, "big", "changed", "before").Result() }, int64(n + 1)},
				{"lindex after linsert", func() (any, error) { return rdb.LIndex(ctx, "big", 15000).Result() }, "before"},
				{"lrem", func() (any, error) { return rdb.LRem(ctx, "big", 0, "before").Result() }, int64(1)},
				{"lpop count", func() (any, error) { return rdb.LPopCount(ctx, "big", 3).Result() }, []string{"e0", "e1", "e2"}},
				{"rpop", func() (any, error) { return rdb.RPop(ctx, "big").Result() }, fmt.Sprintf("e%d", n-1)},
				{"lmove", func() (any, error) { return rdb.LMove(ctx, "big", "other", "LEFT", "RIGHT").Result() }, "e3"},
				{"lmpop", func() (any, error) {
					k, v, err := rdb.LMPop(ctx, "right", 2, "none", "other").Result()
					return fmt.Sprint(k, v), err
				}, "other[e3]"},
				{"ltrim", func() (any, error) { return rdb.LTrim(ctx, "big", 0, 9).Result() }, "OK"},
				{"lrange all", func() (any, error) { return rdb.LRange(ctx, "big", 0, -1).Result() }, []string{"e4", "e5", "e6", "e7", "e8", "e9", "e10", "e11", "e12", "e13"}},
				{"type", func() (any, error) { return rdb.Type(ctx, "big").Result() }, "list"},
				{"encoding", func() (any, error) { return rdb.ObjectEncoding(ctx, "big").Result() }, "quicklist"},
			}
			for _, ck := range checks {
				got, err := ck.got()
				if err != nil {
					t.Fatalf("%s: %v", ck.name, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(ck.want) {
					t.Fatalf("%s = %v, want %v", ck.name, got, ck.want)
				}
			}
			if err := rdb.LPop(ctx, "none").Err(); err != redis.Nil {
				t.Fatalf("LPOP missing: %v, want redis.Nil", err)
			}
		})
	}
}

// TestListPropagation checks what list commands put in the write stream:
// LMPOP as LPOP/RPOP key count, no-op commands not at all.
func TestListPropagation(t *testing.T) {
	s, addr := startTestServer(t, nil)
	feed := &captureFeed{}
	s.AddFeed(feed)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rdb.Close()
	for _, args := range [][]any{
		{"RPUSH", "l", "a", "b", "c"},
		{"LPUSHX", "missing", "x"}, // no change
		{"LMPOP", "2", "missing", "l", "RIGHT", "COUNT", "10"},
		{"RPUSH", "l", "a", "b"},
		{"LTRIM", "l", "0", "-1"}, // nothing trimmed
		{"LREM", "l", "0", "zz"},  // nothing removed
		{"LPOP", "l", "0"},        // nothing popped
		{"LINSERT", "l", "BEFORE", "zz", "x"},
		{"LMOVE", "l", "l2", "LEFT", "RIGHT"},
		{"LTRIM", "l", "1", "0"},
	} {
		if err := rdb.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	feed.mu.Lock()
	got := strings.Join(feed.cmds, "\n")
	feed.mu.Unlock()
	want := strings.Join([]string{
		"SELECT 0",
		"RPUSH l a b c",
		"RPOP l 3",
		"RPUSH l a b",
		"LMOVE l l2 LEFT RIGHT",
		"LTRIM l 1 0",
	}, "\n")
	if got != want {
		t.Fatalf("stream:\n%s\nwant:\n%s", got, want)
	}
}
