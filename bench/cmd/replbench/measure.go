package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/hactl/hactl/bench"
	"github.com/hactl/hactl/engine/repltest"
	"github.com/hactl/hactl/engine/resp"
)

// servers are measured in this order in every round.
var servers = []string{"redis", "hactl"}

// syncTimeout bounds one full resync.
const syncTimeout = 3 * time.Minute

// meter runs the measurements; every process it starts is killed before
// its method returns.
type meter struct {
	o    options
	work string
	bins map[string]string // server name -> binary
}

func (m *meter) start(ctx context.Context, server, name string, args ...string) (*repltest.Node, error) {
	dir, err := os.MkdirTemp(m.work, server+"-"+name+"-")
	if err != nil {
		return nil, err
	}
	args = append([]string{"--repl-diskless-sync-delay", "0"}, args...)
	return repltest.StartNode(ctx, name, m.bins[server], dir, args...)
}

// resyncRow is one full resync measurement: the median of the rounds.
type resyncRow struct {
	mode   string // "disk" or "diskless"
	server string
	median time.Duration
	all    []time.Duration
}

// fullResyncs loads o.Keys keys in a master of each server, then times
// fresh replicas syncing from it, disk-based then diskless.
func (m *meter) fullResyncs(ctx context.Context) ([]resyncRow, error) {
	var rows []resyncRow
	for _, server := range servers {
		master, err := m.start(ctx, server, "master")
		if err != nil {
			return nil, err
		}
		took, err := bench.LoadKeys(ctx, master.Addr(), m.o.Keys, m.o.ValueSize)
		if err != nil {
			master.Kill()
			return nil, err
		}
		slog.Info("dataset loaded", "server", server, "keys", m.o.Keys, "took", took.Round(time.Millisecond))
		for _, mode := range []string{"disk", "diskless"} {
			row, err := m.resyncs(ctx, server, master, mode)
			if err != nil {
				master.Kill()
				return nil, err
			}
			rows = append(rows, row)
		}
		master.Kill()
	}
	return rows, nil
}

func (m *meter) resyncs(ctx context.Context, server string, master *repltest.Node, mode string) (resyncRow, error) {
	row := resyncRow{mode: mode, server: server}
	diskless := map[string]string{"disk": "no", "diskless": "yes"}[mode]
	if _, err := master.Do(ctx, "CONFIG", "SET", "repl-diskless-sync", diskless); err != nil {
		return row, err
	}
	for round := range m.o.Rounds {
		r, err := m.start(ctx, server, "replica")
		if err != nil {
			return row, err
		}
		start := time.Now()
		err = r.ReplicaOf(ctx, "127.0.0.1", master.Port)
		if err == nil {
			err = repltest.WaitSynced(ctx, syncTimeout, master, r)
		}
		took := time.Since(start)
		r.Kill()
		if err != nil {
			return row, fmt.Errorf("%s %s resync: %w\n%s", server, mode, err, repltest.Tail(r.Log(), 2000))
		}
		slog.Info("full resync", "server", server, "mode", mode, "round", round, "took", took.Round(time.Millisecond))
		row.all = append(row.all, took)
	}
	row.median = medianDuration(row.all)
	return row, nil
}

// topology is a master with two replicas.
type topology struct {
	master   *repltest.Node
	replicas []*repltest.Node
}

func (t topology) kill() {
	t.master.Kill()
	for _, r := range t.replicas {
		r.Kill()
	}
}

func (m *meter) topology(ctx context.Context, server string) (topology, error) {
	var t topology
	var err error
	if t.master, err = m.start(ctx, server, "master"); err != nil {
		return t, err
	}
	for i := range 2 {
		r, err := m.start(ctx, server, "replica"+strconv.Itoa(i+1))
		if err != nil {
			t.kill()
			return t, err
		}
		t.replicas = append(t.replicas, r)
		if err := r.ReplicaOf(ctx, "127.0.0.1", t.master.Port); err == nil {
			err = repltest.WaitSynced(ctx, time.Minute, t.master, r)
		}
		if err != nil {
			t.kill()
			return t, err
		}
	}
	return t, nil
}

// throughputRow is one redis-benchmark test at one pipeline depth.
type throughputRow struct {
	test     string
	pipeline int
	ms       map[string]bench.Measurement
}

// throughputs runs redis-benchmark SET and GET at -P 1 and -P 16 against
// a master with two replicas, the servers in turn in each round.
func (m *meter) throughputs(ctx context.Context) ([]throughputRow, error) {
	tops := map[string]topology{}
	defer func() {
		for _, t := range tops {
			t.kill()
		}
	}()
	for _, s := range servers {
		t, err := m.topology(ctx, s)
		if err != nil {
			return nil, err
		}
		tops[s] = t
	}
	var rows []throughputRow
	for _, test := range []string{"SET", "GET"} {
		for _, p := range []int{1, 16} {
			runs := map[string][]bench.Measurement{}
			for range m.o.Rounds {
				for _, s := range servers {
					ms, err := bench.RunBenchmark(ctx, bench.BenchmarkSpec{Bin: m.o.RedisBenchmark, Addr: tops[s].master.Addr(),
						Test: test, Requests: m.o.Requests, Clients: m.o.Clients, Pipeline: p, Timeout: 5 * time.Minute})
					if err != nil {
						return nil, err
					}
					runs[s] = append(runs[s], ms)
				}
			}
			row := throughputRow{test: test, pipeline: p, ms: map[string]bench.Measurement{}}
			for s, ms := range runs {
				row.ms[s] = bench.Combine(ms)
			}
			slog.Info("throughput", "test", test, "pipeline", p, "redis", row.ms["redis"].RPS, "hactl", row.ms["hactl"].RPS)
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// latencyRow is the latency of one client's writes in one mode.
type latencyRow struct {
	server, mode string
	p50, p99     time.Duration
}

// latencies measures one client's SET latency on a master with two
// replicas: asynchronous, SET + WAIT 1 0, and (engine only)
// hactl-sync-replicas 1.
func (m *meter) latencies(ctx context.Context) ([]latencyRow, error) {
	var rows []latencyRow
	for _, s := range servers {
		t, err := m.topology(ctx, s)
		if err != nil {
			return nil, err
		}
		modes := []string{"SET", "SET + WAIT 1 0"}
		if s == "hactl" {
			modes = append(modes, "SET, hactl-sync-replicas 1")
		}
		for _, mode := range modes {
			row, err := m.latency(ctx, t.master, s, mode)
			if err != nil {
				t.kill()
				return nil, err
			}
			slog.Info("latency", "server", s, "mode", mode, "p50", row.p50, "p99", row.p99)
			rows = append(rows, row)
		}
		t.kill()
	}
	return rows, nil
}

func (m *meter) latency(ctx context.Context, master *repltest.Node, server, mode string) (latencyRow, error) {
	row := latencyRow{server: server, mode: mode}
	syncN := "0"
	if mode == "SET, hactl-sync-replicas 1" {
		syncN = "1"
	}
	if server == "hactl" {
		if _, err := master.Do(ctx, "CONFIG", "SET", "hactl-sync-replicas", syncN); err != nil {
			return row, err
		}
	}
	c, err := bench.Dial(ctx, master.Addr())
	if err != nil {
		return row, err
	}
	defer c.Close()
	withWait := mode == "SET + WAIT 1 0"
	wait := resp.AppendCommand(nil, []byte("WAIT"), []byte("1"), []byte("0"))
	var buf []byte
	lat := make([]time.Duration, 0, m.o.latencyOps)
	for i := range m.o.latencyOps {
		buf = resp.AppendCommand(buf[:0], []byte("SET"), []byte("lat:"+strconv.Itoa(i%1000)), []byte(strconv.Itoa(i)))
		if withWait {
			buf = append(buf, wait...)
		}
		start := time.Now()
		if err := c.Send(ctx, buf); err != nil {
			return row, err
		}
		r, err := c.Read(ctx)
		if err != nil || r.Type != '+' {
			return row, fmt.Errorf("%s %s: SET answered %q, %v", server, mode, r.Raw, err)
		}
		if withWait {
			if r, err = c.Read(ctx); err != nil || r.Type != ':' || r.Int < 1 {
				return row, fmt.Errorf("%s %s: WAIT answered %q, %v", server, mode, r.Raw, err)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	row.p50 = lat[len(lat)*50/100]
	row.p99 = lat[len(lat)*99/100]
	return row, nil
}

func medianDuration(ds []time.Duration) time.Duration {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = float64(d)
	}
	return time.Duration(bench.Median(fs))
}
