package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/hactl/hactl/bench"
)

// report is everything one run measured.
type report struct {
	machine    bench.Machine
	opts       options
	resync     []resyncRow
	throughput []throughputRow
	latency    []latencyRow
}

// render writes the report as aligned text or as markdown tables.
func (r *report) render(markdown bool) string {
	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "Machine: %d CPUs, %s; %s; redis %s; engine %s; %s; load %s -> %s\n\n",
		m.CPUs, m.CPUModel, m.GoVersion, m.RedisVersion, m.Engine, m.Date.UTC().Format(time.RFC3339), m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "Full resync of %d keys (%d-byte values), REPLICAOF until link up and offsets equal, median of %d (hactl/redis: lower is better):\n\n",
		r.opts.Keys, r.opts.ValueSize, r.opts.Rounds)
	t := [][]string{{"mode", "redis", "hactl", "hactl/redis"}}
	byMode := map[string]map[string]time.Duration{}
	for _, row := range r.resync {
		if byMode[row.mode] == nil {
			byMode[row.mode] = map[string]time.Duration{}
		}
		byMode[row.mode][row.server] = row.median
	}
	for _, mode := range []string{"disk", "diskless"} {
		red, eng := byMode[mode]["redis"], byMode[mode]["hactl"]
		t = append(t, []string{modeName(mode), secs(red), secs(eng), ratio(float64(eng), float64(red))})
	}
	bench.WriteTable(&b, t, markdown)
	fmt.Fprintf(&b, "\nThroughput of a master with two replicas (redis-benchmark -n %d -c %d, median of %d; hactl/redis: higher is better):\n\n",
		r.opts.Requests, r.opts.Clients, r.opts.Rounds)
	t = [][]string{{"test", "pipeline", "redis rps", "hactl rps", "hactl/redis"}}
	for _, row := range r.throughput {
		red, eng := row.ms["redis"], row.ms["hactl"]
		t = append(t, []string{row.test, fmt.Sprint(row.pipeline), rps(red), rps(eng), ratio(eng.RPS, red.RPS)})
	}
	bench.WriteTable(&b, t, markdown)
	fmt.Fprintf(&b, "\nLatency of one client's SETs on a master with two replicas (%d sequential writes):\n\n", r.opts.latencyOps)
	t = [][]string{{"server", "mode", "p50", "p99"}}
	for _, row := range r.latency {
		t = append(t, []string{row.server, row.mode, micros(row.p50), micros(row.p99)})
	}
	bench.WriteTable(&b, t, markdown)
	return b.String()
}

func modeName(mode string) string {
	if mode == "disk" {
		return "disk-based (repl-diskless-sync no)"
	}
	return "diskless (repl-diskless-sync-delay 0)"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func micros(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func rps(m bench.Measurement) string {
	if m.Status != bench.StatusOK {
		return string(m.Status)
	}
	return fmt.Sprintf("%.0f", m.RPS)
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}
