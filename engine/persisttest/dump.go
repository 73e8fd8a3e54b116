package persisttest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Entry is one key as read through the protocol: its type, a canonical
// form of its value (members of sets and fields of hashes sorted) and its
// absolute expiry time in ms (PEXPIRETIME, -1 when persistent).
type Entry struct {
	Type     string
	Value    string
	ExpireAt int64
}

// Content maps "db/key" to the key's entry.
type Content map[string]Entry

// Dump reads every key of the given databases of addr.
func Dump(ctx context.Context, addr string, dbs []int) (Content, error) {
	out := Content{}
	for _, db := range dbs {
		c := Client(addr, db)
		err := dumpDB(ctx, c, db, out)
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("dump db %d of %s: %w", db, addr, err)
		}
	}
	return out, nil
}

func dumpDB(ctx context.Context, c *redis.Client, db int, out Content) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		for _, k := range keys {
			e, err := readEntry(ctx, c, k)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			out[strconv.Itoa(db)+"/"+k] = e
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func readEntry(ctx context.Context, c *redis.Client, k string) (Entry, error) {
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Type: typ}
	var parts []string
	switch typ {
	case "string":
		var s string
		s, err = c.Get(ctx, k).Result()
		parts = []string{s}
	case "list":
		parts, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		parts, err = c.SMembers(ctx, k).Result()
		slices.Sort(parts)
	case "hash":
		var m map[string]string
		m, err = c.HGetAll(ctx, k).Result()
		for f, v := range m {
			parts = append(parts, strconv.Quote(f)+"="+strconv.Quote(v))
		}
		slices.Sort(parts)
	case "zset":
		var zs []redis.Z
		zs, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		for _, z := range zs {
			parts = append(parts, strconv.FormatFloat(z.Score, 'g', -1, 64)+" "+strconv.Quote(z.Member.(string)))
		}
	default:
		return e, fmt.Errorf("unexpected type %q", typ)
	}
	if err != nil {
		return e, fmt.Errorf("read %s: %w", typ, err)
	}
	if typ == "string" {
		e.Value = parts[0]
	} else {
		e.Value = strconv.Itoa(len(parts)) + ":" + strings.Join(parts, "\x00")
	}
	e.ExpireAt, err = c.Do(ctx, "PEXPIRETIME", k).Int64()
	if err != nil {
		return e, fmt.Errorf("pexpiretime: %w", err)
	}
	return e, nil
}

// Diff lists the differences between want and got, at most limit lines
// (then a count of the others); it is empty when they are equal.
func Diff(want, got Content, limit int) []string {
	var out []string
	more := 0
	add := func(format string, args ...any) {
		if len(out) < limit {
			out = append(out, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	for _, k := range sortedKeys(want) {
		w := want[k]
		g, ok := got[k]
		switch {
		case !ok:
			add("%q: missing (want %s)", k, w.Type)
		case g.Type != w.Type:
			add("%q: type %s, want %s", k, g.Type, w.Type)
		case g.Value != w.Value:
			add("%q: %s value differs: got %s, want %s", k, w.Type, short(g.Value), short(w.Value))
		case g.ExpireAt != w.ExpireAt:
			add("%q: expire time %d, want %d", k, g.ExpireAt, w.ExpireAt)
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			add("%q: unexpected %s key", k, got[k].Type)
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("... and %d more differences", more))
	}
	return out
}

func sortedKeys(c Content) []string {
	ks := make([]string, 0, len(c))
	for k := range c {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func short(s string) string {
	if len(s) > 80 {
		return strconv.Quote(s[:80]) + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
