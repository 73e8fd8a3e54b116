package repltest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Key is one key as read through the protocol: its type, a canonical
// value (set members and hash fields sorted) and its absolute expiry time
// in ms (PEXPIRETIME, -1 when persistent).
type Key struct {
	Type     string
	Value    string
	ExpireAt int64
}

// Keys maps a key name of database 0 to its content.
type Keys map[string]Key

// snapshotBatch is how many keys Snapshot reads per round trip.
const snapshotBatch = 500

// Snapshot reads every key of database 0 of n.
func Snapshot(ctx context.Context, n *Node) (Keys, error) {
	c := n.Client()
	defer c.Close()
	out := Keys{}
	var cursor uint64
	for {
		names, next, err := c.Scan(ctx, cursor, "*", snapshotBatch).Result()
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: scan: %w", n.Name, err)
		}
		if err := readKeys(ctx, c, names, out); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", n.Name, err)
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}

// readKeys reads names in two pipelined round trips: types, then values
// and expiry times.
func readKeys(ctx context.Context, c *redis.Client, names []string, out Keys) error {
	if len(names) == 0 {
		return nil
	}
	p := c.Pipeline()
	types := make([]*redis.StatusCmd, len(names))
	for i, k := range names {
		types[i] = p.Type(ctx, k)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	p = c.Pipeline()
	vals := make([]redis.Cmder, len(names))
	exps := make([]*redis.Cmd, len(names))
	for i, k := range names {
		switch types[i].Val() {
		case "string":
			vals[i] = p.Get(ctx, k)
		case "list":
			vals[i] = p.LRange(ctx, k, 0, -1)
		case "set":
			vals[i] = p.SMembers(ctx, k)
		case "hash":
			vals[i] = p.HGetAll(ctx, k)
		case "zset":
			vals[i] = p.ZRangeWithScores(ctx, k, 0, -1)
		default:
			vals[i] = p.Do(ctx, "DUMP", k)
		}
		exps[i] = p.Do(ctx, "PEXPIRETIME", k)
	}
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return fmt.Errorf("values: %w", err)
	}
	for i, k := range names {
		if types[i].Val() == "none" {
			continue // expired or deleted between SCAN and TYPE
		}
		at, err := exps[i].Int64()
		if err != nil {
			return fmt.Errorf("pexpiretime %q: %w", k, err)
		}
		out[k] = Key{Type: types[i].Val(), Value: canonical(vals[i]), ExpireAt: at}
	}
	return nil
}

// canonical renders a reply in an order-independent form where the type
// has no order (sets, hashes).
func canonical(cmd redis.Cmder) string {
	switch c := cmd.(type) {
	case *redis.StringCmd:
		return c.Val()
	case *redis.StringSliceCmd:
		v := c.Val()
		if c.Name() == "smembers" {
			v = slices.Sorted(slices.Values(v))
		}
		return strings.Join(v, "\x00")
	case *redis.MapStringStringCmd:
		var parts []string
		for f, v := range c.Val() {
			parts = append(parts, f+"="+v)
		}
		slices.Sort(parts)
		return strings.Join(parts, "\x00")
	case *redis.ZSliceCmd:
		var b strings.Builder
		for _, z := range c.Val() {
			fmt.Fprintf(&b, "%v=%v\x00", z.Member, z.Score)
		}
		return b.String()
	}
	return fmt.Sprint(cmd.(interface{ Val() any }).Val())
}

// Diff lists the differences between want and got, at most limit lines
// (the last one says how many were left out).
func Diff(want, got Keys, limit int) []string {
	var out []string
	add := func(s string) { out = append(out, s) }
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			add(fmt.Sprintf("%q missing", k))
		case g != want[k]:
			add(fmt.Sprintf("%q differs: want %s, got %s", k, short(want[k]), short(g)))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			add(fmt.Sprintf("%q unexpected: %s", k, short(got[k])))
		}
	}
	if len(out) > limit {
		out = append(out[:limit], fmt.Sprintf("... and %d more", len(out)-limit))
	}
	return out
}

func short(k Key) string {
	v := k.Value
	if len(v) > 60 {
		v = v[:60] + "..."
	}
	return fmt.Sprintf("%s %q expireat=%d", k.Type, v, k.ExpireAt)
}
