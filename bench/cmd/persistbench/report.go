package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hactl/hactl/bench"
)

// aofRow is the everysec SET throughput at one pipeline depth.
type aofRow struct {
	pipeline      int
	redis, engine bench.Measurement
}

// report is everything one run measured.
type report struct {
	opts          options
	machine       bench.Machine
	redis, engine sideResult
	aof           []aofRow
}

// ratio formats a/b (engine over redis) to two decimals.
func ratio(engine, redis float64) string {
	if redis == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", engine/redis)
}

// verdict compares a ratio with its target (upper bound when atMost).
func verdict(engine, redis, target float64, atMost bool) string {
	if redis == 0 {
		return "n/a"
	}
	r := math.Round(engine/redis*100) / 100 // as displayed
	if (atMost && r <= target) || (!atMost && r >= target) {
		return "meets"
	}
	return "misses"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// tables returns the header lines and the tables (first row is the header).
func (r *report) tables() (header []string, tabs [][][]string) {
	m := r.machine
	header = []string{
		fmt.Sprintf("Date %s; %d CPUs (%s); %s; redis-server %s; hactl-engine: %s.",
			m.Date.Format(time.RFC3339), m.CPUs, m.CPUModel, m.GoVersion, m.RedisVersion, m.Engine),
		fmt.Sprintf("Load average before %s, after %s.", m.LoadStart, m.LoadEnd),
		fmt.Sprintf("Dataset: %d string keys of %d bytes (`bench.LoadKeys`), `--save \"\" --appendonly no`; SAVE and load time are the median of 3.", r.opts.Keys, r.opts.ValueSize),
	}
	re, en := &r.redis, &r.engine
	f := func(d time.Duration) float64 { return float64(d) }
	snap := [][]string{
		{"measure", "redis-server", "hactl-engine", "ratio", "target", "verdict"},
		{"SAVE time", ms(re.saveTime), ms(en.saveTime), ratio(f(en.saveTime), f(re.saveTime)), "≤ 1.5", verdict(f(en.saveTime), f(re.saveTime), 1.5, true)},
		{"dump.rdb size", fmt.Sprint(re.rdbSize), fmt.Sprint(en.rdbSize), ratio(float64(en.rdbSize), float64(re.rdbSize)), "≤ 1.0", verdict(float64(en.rdbSize), float64(re.rdbSize), 1.0, true)},
		{"load time (start to complete DBSIZE)", ms(re.loadTime), ms(en.loadTime), ratio(f(en.loadTime), f(re.loadTime)), "≤ 1.5", verdict(f(en.loadTime), f(re.loadTime), 1.5, true)},
		{"BGSAVE duration", ms(re.bgsave), ms(en.bgsave), ratio(f(en.bgsave), f(re.bgsave)), "", ""},
	}
	pause := [][]string{
		{"write pause during BGSAVE", "redis-server", "hactl-engine"},
		{"server-side (redis: latest_fork_usec; engine: rdb_last_bgsave_max_pause_usec)",
			fmt.Sprintf("%d µs", re.pauseUsec), fmt.Sprintf("%d µs", en.pauseUsec)},
		{"client-side max SET latency during BGSAVE (SETs in the loop, when the slowest was sent)",
			fmt.Sprintf("%s (%d SETs, at %s)", ms(re.during.max), re.during.sets, ms(re.during.maxAt)),
			fmt.Sprintf("%s (%d SETs, at %s)", ms(en.during.max), en.during.sets, ms(en.during.maxAt))},
		{"client-side p99 during BGSAVE", ms(re.during.p99), ms(en.during.p99)},
		{"same loop without BGSAVE: max", fmt.Sprintf("%s (%d SETs)", ms(re.baseline.max), re.baseline.sets), fmt.Sprintf("%s (%d SETs)", ms(en.baseline.max), en.baseline.sets)},
		{"same loop without BGSAVE: p99", ms(re.baseline.p99), ms(en.baseline.p99)},
	}
	tabs = [][][]string{snap, pause}
	if len(r.aof) > 0 {
		aof := [][]string{{"SET, appendonly yes, everysec", "redis-server rps", "hactl-engine rps", "ratio", "target", "verdict"}}
		for _, a := range r.aof {
			aof = append(aof, []string{
				fmt.Sprintf("-P %d (-c %d -n %d, median of %d)", a.pipeline, r.opts.Clients, r.opts.Requests, r.opts.Rounds),
				rps(a.redis), rps(a.engine), ratio(a.engine.RPS, a.redis.RPS), "≥ 0.9", verdict(a.engine.RPS, a.redis.RPS, 0.9, false),
			})
		}
		tabs = append(tabs, aof)
	}
	return header, tabs
}

func rps(m bench.Measurement) string {
	if m.Status != bench.StatusOK {
		return string(m.Status) + ": " + m.Detail
	}
	return fmt.Sprintf("%.0f", m.RPS)
}

// text renders the report for a terminal.
func (r *report) text() string { return r.render(false) }

// markdown renders the report as markdown tables.
func (r *report) markdown() string { return r.render(true) }

// render writes the header lines, then each table.
func (r *report) render(markdown bool) string {
	header, tabs := r.tables()
	var b strings.Builder
	for _, h := range header {
		b.WriteString(h + "\n")
	}
	for _, t := range tabs {
		b.WriteString("\n")
		bench.WriteTable(&b, t, markdown)
	}
	return b.String()
}
