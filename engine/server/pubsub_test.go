package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestGoRedisPubSub(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			_, addr := startTestServer(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sub := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto})
			defer sub.Close()
			pub := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto})
			defer pub.Close()
			ps := sub.Subscribe(ctx, "news")
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil { // subscription confirmation
				t.Fatal(err)
			}
			if err := ps.PSubscribe(ctx, "n*"); err != nil {
				t.Fatal(err)
			}
			// Wait until both subscriptions are registered.
			deadline := time.Now().Add(5 * time.Second)
			for {
				n, err := pub.Publish(ctx, "probe", "x").Result()
				if err != nil {
					t.Fatal(err)
				}
				np, _ := pub.PubSubNumPat(ctx).Result()
				if np == 1 || time.Now().After(deadline) {
					_ = n
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			const msgs = 50
			for i := 0; i < msgs; i++ {
				n, err := pub.Publish(ctx, "news", fmt.Sprint(i)).Result()
				if err != nil || n != 2 {
					t.Fatalf("PUBLISH = %d, %v; want 2 receivers", n, err)
				}
			}
			got := map[string]int{}
			ch := ps.Channel()
			for i := 0; i < 2*msgs; i++ {
				select {
				case m := <-ch:
					got[m.Pattern+"|"+m.Payload]++
				case <-ctx.Done():
					t.Fatalf("received %d of %d messages", i, 2*msgs)
				}
			}
			for i := 0; i < msgs; i++ {
				if got["|"+fmt.Sprint(i)] != 1 || got["n*|"+fmt.Sprint(i)] != 1 {
					t.Fatalf("message %d not received once per subscription: %v", i, got)
				}
			}
		})
	}
}

func TestGoRedisWatch(t *testing.T) {
	_, addr := startTestServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 20})
	defer rdb.Close()
	// Concurrent optimistic increments: every successful EXEC is counted,
	// so the counter must equal the number of successes.
	const workers, rounds = 8, 50
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < rounds; i++ {
				for {
					err := rdb.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, "counter").Int()
						if err != nil && err != redis.Nil {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "counter", n+1, 0)
							return nil
						})
						return err
					}, "counter")
					if err == redis.TxFailedErr {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rdb.Get(ctx, "counter").Int(); err != nil || n != workers*rounds {
		t.Fatalf("counter = %d, %v; want %d", n, err, workers*rounds)
	}
}

func TestSlowSubscriberDisconnected(t *testing.T) {
	_, addr := startTestServer(t, func(s *Settings) {
		s.PubsubOutputLimit = OutputLimit{Hard: 64 << 10}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A raw subscriber that never reads.
	sub := redis.NewClient(&redis.Options{Addr: addr})
	defer sub.Close()
	ps := sub.Subscribe(ctx, "flood")
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	pub := redis.NewClient(&redis.Options{Addr: addr})
	defer pub.Close()
	payload := make([]byte, 4096)
	// Bounded: at most 100k messages (400 MB) or until the subscriber is
	// dropped.
	for i := 0; i < 100000; i++ {
		n, err := pub.Publish(ctx, "flood", payload).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return // the slow subscriber was disconnected
		}
	}
	t.Fatal("a subscriber that never reads was never disconnected")
}
