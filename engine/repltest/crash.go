package repltest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// AckedWrite is a SET whose +OK reply reached the client.
type AckedWrite struct {
	Key, Value string
}

// WriteUntilKilled runs writers goroutines, each sending up to perWriter
// SETs "w<g>:<i>" one at a time on its own connection, kills m with
// SIGKILL after killAfter, and returns every write that was acknowledged
// before the kill. Writers stop at their first error (the kill).
func WriteUntilKilled(ctx context.Context, m *Node, writers, perWriter int, killAfter time.Duration) []AckedWrite {
	acked := make([][]AckedWrite, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: m.Addr(), Password: m.Password, Protocol: 2,
				MaxRetries: -1, PoolSize: 1, ReadTimeout: 10 * time.Second})
			defer c.Close()
			for i := range perWriter {
				k, v := fmt.Sprintf("w%d:%d", g, i), strconv.Itoa(i)
				if err := c.Set(ctx, k, v, 0).Err(); err != nil {
					return
				}
				acked[g] = append(acked[g], AckedWrite{k, v})
			}
		}()
	}
	time.Sleep(killAfter)
	m.Kill()
	wg.Wait()
	var out []AckedWrite
	for _, a := range acked {
		out = append(out, a...)
	}
	return out
}

// Missing returns how many of writes n does not serve with their value.
func Missing(ctx context.Context, n *Node, writes []AckedWrite) (int, error) {
	c := n.Client()
	defer c.Close()
	missing := 0
	for base := 0; base < len(writes); base += 1000 {
		batch := writes[base:min(base+1000, len(writes))]
		keys := make([]string, len(batch))
		for i, w := range batch {
			keys[i] = w.Key
		}
		vals, err := c.MGet(ctx, keys...).Result()
		if err != nil {
			return 0, fmt.Errorf("%s MGET: %w", n.Name, err)
		}
		for i, v := range vals {
			if s, ok := v.(string); !ok || s != batch[i].Value {
				missing++
			}
		}
	}
	return missing, nil
}

// MostAdvanced returns the replica with the highest slave_repl_offset (the
// one Sentinel would promote) and that offset.
func MostAdvanced(ctx context.Context, replicas ...*Node) (*Node, int64) {
	var best *Node
	bestOff := int64(-2)
	for _, r := range replicas {
		if off := r.Stat(ctx, "replication", "slave_repl_offset"); off > bestOff {
			best, bestOff = r, off
		}
	}
	return best, bestOff
}
