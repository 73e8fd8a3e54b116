package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// kvInput is one operation of the linearizability history.
type kvInput struct {
	op    string // get | set | incr | append
	key   string
	value string
}

// kvModel is a register per key: GET returns the last written value,
// SET replaces it, INCR adds one, APPEND concatenates.
var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(kvInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, st, out := input.(kvInput), state.(string), output.(string)
		switch in.op {
		case "get":
			return out == st, st
		case "set":
			return true, in.value
		case "incr":
			n := 0
			if st != "" {
				fmt.Sscan(st, &n)
			}
			next := fmt.Sprint(n + 1)
			return out == next, next
		case "append":
			next := st + in.value
			return out == fmt.Sprint(len(next)), next
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		return fmt.Sprintf("%s(%s,%s) -> %s", in.op, in.key, in.value, output)
	},
}

// TestLinearizable runs concurrent clients (some pipelining) against one
// engine and checks the history with porcupine: the single execution lock
// must make every key behave as a linearizable register.
func TestLinearizable(t *testing.T) {
	_, addr := startTestServer(t, nil)
	ctx := context.Background()
	const clients, opsPerClient = 6, 300
	start := time.Now()
	var mu sync.Mutex
	var history []porcupine.Operation
	var wg sync.WaitGroup
	for id := 0; id < clients; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1})
			defer c.Close()
			r := rand.New(rand.NewPCG(uint64(id), 7))
			for i := 0; i < opsPerClient; i++ {
				key := fmt.Sprint("k", r.IntN(3))
				var in kvInput
				call := time.Since(start).Nanoseconds()
				var out string
				var err error
				switch r.IntN(4) {
				case 0:
					in = kvInput{op: "get", key: key}
					out, err = c.Get(ctx, key).Result()
					if err == redis.Nil {
						out, err = "", nil
					}
				case 1:
					in = kvInput{op: "set", key: key, value: fmt.Sprint(id*1000 + i)}
					err = c.Set(ctx, key, in.value, 0).Err()
				case 2:
					in = kvInput{op: "incr", key: "n" + key}
					var n int64
					n, err = c.Incr(ctx, in.key).Result()
					out = fmt.Sprint(n)
				case 3:
					in = kvInput{op: "append", key: "a" + key, value: "x"}
					var n int64
					n, err = c.Append(ctx, in.key, "x").Result()
					out = fmt.Sprint(n)
				}
				ret := time.Since(start).Nanoseconds()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: id, Input: in, Output: out, Call: call, Return: ret})
				mu.Unlock()
			}
		}(id)
	}
	wg.Wait()
	res, info := porcupine.CheckOperationsVerbose(kvModel, history, 30*time.Second)
	if res != porcupine.Ok {
		path := t.TempDir() + "/history.html"
		porcupine.VisualizePath(kvModel, info, path)
		t.Fatalf("history of %d operations is %s (visualization: %s)", len(history), res, path)
	}
}
