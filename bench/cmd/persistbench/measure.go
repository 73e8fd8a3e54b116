package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hactl/hactl/bench"
	"github.com/hactl/hactl/engine/persisttest"
)

// repeats is how many SAVEs and restarts are timed (median kept).
const repeats = 3

// loopTimeout bounds one latency loop whatever -loop-sets says.
const loopTimeout = 60 * time.Second

// latency summarizes one loop of SETs.
type latency struct {
	sets     int
	max, p99 time.Duration
	maxAt    time.Duration // when the slowest SET was sent, from the loop start
}

// sideResult is what one server measured.
type sideResult struct {
	saveTime  time.Duration
	rdbSize   int64
	loadTime  time.Duration
	bgsave    time.Duration // BGSAVE command until rdb_bgsave_in_progress:0
	pauseUsec int64         // engine: rdb_last_bgsave_max_pause_usec; redis: latest_fork_usec
	during    latency       // SETs while the BGSAVE runs
	baseline  latency       // the same number of SETs without BGSAVE
}

// setLoop sends SETs of random existing keys one at a time on one
// connection until stop reports true (checked between SETs), n SETs were
// sent or loopTimeout passes, and returns their latency.
func setLoop(ctx context.Context, addr string, keys, n int, stop func() bool) (latency, error) {
	c, err := bench.Dial(ctx, addr)
	if err != nil {
		return latency{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, loopTimeout)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, n)
	var maxAt, longest time.Duration
	start := time.Now()
	for len(lat) < n && !stop() && ctx.Err() == nil {
		k := bench.KeyName(rng.IntN(keys))
		t0 := time.Now()
		r, err := c.Do(ctx, []byte("SET"), []byte(k), []byte("loop-"+strconv.Itoa(len(lat))))
		if err != nil {
			return latency{}, fmt.Errorf("set loop: %w", err)
		}
		if r.Type != '+' {
			return latency{}, fmt.Errorf("set loop: SET answered %q", r.Raw)
		}
		d := time.Since(t0)
		if d > longest {
			longest, maxAt = d, t0.Sub(start)
		}
		lat = append(lat, d)
	}
	if len(lat) == 0 {
		return latency{}, nil
	}
	slices.Sort(lat)
	return latency{sets: len(lat), max: longest, maxAt: maxAt, p99: lat[len(lat)*99/100]}, nil
}

// measureSnapshot loads the dataset into a fresh server and measures SAVE,
// the file, BGSAVE's write pauses and the load at restart.
func measureSnapshot(ctx context.Context, o options, name, bin, work string, res *sideResult) error {
	dir := filepath.Join(work, name+"-rdb")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p, err := persisttest.NewProc(name, bin, dir, "--save", "", "--appendonly", "no")
	if err != nil {
		return err
	}
	defer p.Kill()
	if err := p.Start(ctx); err != nil {
		return err
	}
	if _, err := bench.LoadKeys(ctx, p.Addr(), o.Keys, o.ValueSize); err != nil {
		return err
	}
	var saves []float64
	for range repeats {
		t0 := time.Now()
		if _, err := bench.Do(ctx, p.Addr(), "SAVE"); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		saves = append(saves, float64(time.Since(t0)))
	}
	res.saveTime = time.Duration(bench.Median(saves))
	fi, err := os.Stat(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		return err
	}
	res.rdbSize = fi.Size()
	if err := measureBgsave(ctx, o, name, p.Addr(), res); err != nil {
		return err
	}
	var loads []float64
	for range repeats {
		d, err := restart(ctx, p, o.Keys)
		if err != nil {
			return err
		}
		loads = append(loads, float64(d))
	}
	res.loadTime = time.Duration(bench.Median(loads))
	return nil
}

// restart stops p with SIGTERM, starts it again and returns how long it
// took from the start until PING answered and DBSIZE reached keys.
func restart(ctx context.Context, p *persisttest.Proc, keys int) (time.Duration, error) {
	if !p.Stop(2 * time.Minute) {
		return 0, fmt.Errorf("%s did not stop on SIGTERM", p.Name)
	}
	t0 := time.Now()
	if err := p.Launch(); err != nil {
		return 0, err
	}
	if err := p.WaitReady(ctx); err != nil {
		return 0, fmt.Errorf("restart: %w", err)
	}
	for {
		n, err := bench.DBSize(ctx, p.Addr())
		if err != nil {
			return 0, fmt.Errorf("restart: %w", err)
		}
		if n == int64(keys) {
			return time.Since(t0), nil
		}
		if time.Since(t0) > 5*time.Minute {
			return 0, fmt.Errorf("restart: DBSIZE %d after 5 minutes, want %d", n, keys)
		}
		time.Sleep(time.Millisecond)
	}
}

// measureBgsave runs the SET loop during a BGSAVE, then the same number of
// SETs without one, and reads the server's own pause figure.
func measureBgsave(ctx context.Context, o options, name, addr string, res *sideResult) error {
	var done atomic.Bool
	pollErr := make(chan error, 1)
	t0 := time.Now()
	if _, err := bench.Do(ctx, addr, "BGSAVE"); err != nil {
		return fmt.Errorf("bgsave: %w", err)
	}
	go func() {
		defer done.Store(true)
		deadline := time.Now().Add(loopTimeout)
		for time.Now().Before(deadline) {
			n, err := infoInt(ctx, addr, "persistence", "rdb_bgsave_in_progress")
			if err != nil {
				pollErr <- err
				return
			}
			if n == 0 {
				res.bgsave = time.Since(t0)
				pollErr <- nil
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		pollErr <- fmt.Errorf("bgsave still running after %v", loopTimeout)
	}()
	during, err := setLoop(ctx, addr, o.Keys, o.loopSets, done.Load)
	if err != nil {
		return err
	}
	for !done.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-pollErr; err != nil {
		return err
	}
	res.during = during
	res.baseline, err = setLoop(ctx, addr, o.Keys, max(during.sets, 1000), func() bool { return false })
	if err != nil {
		return err
	}
	if name == "redis" {
		res.pauseUsec, err = infoInt(ctx, addr, "stats", "latest_fork_usec")
	} else {
		res.pauseUsec, err = infoInt(ctx, addr, "persistence", "rdb_last_bgsave_max_pause_usec")
	}
	return err
}

// measureAOF runs redis-benchmark SET against a fresh server with
// appendonly yes and appendfsync everysec.
func measureAOF(ctx context.Context, o options, name, bin, work string, pipeline int) (bench.Measurement, error) {
	dir := filepath.Join(work, fmt.Sprintf("%s-aof-P%d", name, pipeline))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return bench.Measurement{}, err
	}
	p, err := persisttest.NewProc(name, bin, dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec")
	if err != nil {
		return bench.Measurement{}, err
	}
	defer p.Kill()
	if err := p.Start(ctx); err != nil {
		return bench.Measurement{}, err
	}
	var ms []bench.Measurement
	for range o.Rounds {
		m, err := bench.RunBenchmark(ctx, bench.BenchmarkSpec{Bin: o.RedisBenchmark, Addr: p.Addr(), Test: "SET",
			Requests: o.Requests, Clients: o.Clients, Pipeline: pipeline, Timeout: 5 * time.Minute})
		if err != nil {
			return bench.Measurement{}, err
		}
		ms = append(ms, m)
	}
	info, err := bench.Do(ctx, p.Addr(), "INFO", "persistence")
	if err != nil {
		return bench.Measurement{}, err
	}
	if v, _ := bench.InfoField(info.Str, "aof_enabled"); v != "1" {
		return bench.Measurement{}, fmt.Errorf("aof_enabled:%s during the AOF benchmark", v)
	}
	p.Stop(time.Minute)
	return bench.Combine(ms), nil
}
