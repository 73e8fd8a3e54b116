package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

const (
	redisServerBin    = "/usr/bin/redis-server"
	redisBenchmarkBin = "/usr/bin/redis-benchmark"
)

// TestAgainstRedis runs the whole chain once, small, against a real
// redis-server: start, redis-benchmark and its CSV, key load, INFO, RSS,
// stop. It is skipped where Redis is not installed.
func TestAgainstRedis(t *testing.T) {
	for _, bin := range []string{redisServerBin, redisBenchmarkBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(ctx, "redis", redisServerBin, t.TempDir(), port, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(5 * time.Second)

	m, err := RunBenchmark(ctx, BenchmarkSpec{
		Bin: redisBenchmarkBin, Addr: srv.Addr(), Test: "SET",
		Requests: 500, Clients: 2, Pipeline: 4, Timeout: 30 * time.Second,
	})
	if err != nil || m.Status != StatusOK || m.RPS <= 0 {
		t.Fatalf("RunBenchmark(SET) = %+v, %v; want status ok and rps > 0", m, err)
	}

	const keys = 2500 // more than one batch, and a partial last one
	if _, err := LoadKeys(ctx, srv.Addr(), keys, 3); err != nil {
		t.Fatal(err)
	}
	// redis-benchmark SET without -r wrote one extra key, key:__rand_int__.
	if n, err := DBSize(ctx, srv.Addr()); err != nil || n != keys+1 {
		t.Errorf("DBSize() = %d, %v; want %d", n, err, keys+1)
	}
	if r, err := Do(ctx, srv.Addr(), "GET", KeyName(2499)); err != nil || r.Str != "499" {
		t.Errorf("GET %s = %+v, %v; want 499", KeyName(2499), r, err)
	}
	if used, err := UsedMemory(ctx, srv.Addr()); err != nil || used <= 0 {
		t.Errorf("UsedMemory() = %d, %v; want > 0", used, err)
	}
	if rss, err := ReadRSS(srv.PID()); err != nil || rss <= 0 {
		t.Errorf("ReadRSS() = %d, %v; want > 0", rss, err)
	}

	srv.Stop(5 * time.Second)
	if srv.Alive() {
		t.Error("server alive after Stop")
	}
}

func TestDialRefusesNonLoopback(t *testing.T) {
	if _, err := Do(context.Background(), "127.0.0.1:1", "PING"); err == nil {
		t.Error("Do() to a closed port succeeded; want an error")
	}
	for _, addr := range []string{"192.0.2.1:6379", "localhost:6379"} {
		if c, err := Dial(context.Background(), addr); err == nil {
			c.Close()
			t.Errorf("Dial(%q) succeeded; want an error", addr)
		}
	}
}
