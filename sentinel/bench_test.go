package sentinel

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFailoverBenchmark measures hactl-sentinel against redis-sentinel 7 in
// the same run (targets.md): 3 redis-server (AOF everysec), 3 sentinel
// processes with down-after 1000 ms, a go-redis FailoverClient writing
// 2000 times a second, kill -9 of the master. It runs only when
// HACTL_SENTINEL_BENCH=<runs per implementation> is set, and writes a
// markdown table to HACTL_SENTINEL_BENCH_OUT if set.
//
//	HACTL_SENTINEL_BENCH=10 HACTL_SENTINEL_BENCH_OUT=/tmp/t.md go test -run TestFailoverBenchmark -timeout 30m ./sentinel/
//
// HACTL_SENTINEL_BENCH_ENGINE=1 adds a hactl-engine column,
// HACTL_SENTINEL_BENCH_ONLY=<column name> keeps one column,
// HACTL_SENTINEL_BENCH_LOGS=<dir> keeps the sentinel logs of runs without
// exactly one promotion.
func TestFailoverBenchmark(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("HACTL_SENTINEL_BENCH"))
	if runs <= 0 {
		t.Skip("set HACTL_SENTINEL_BENCH=<runs> to measure")
	}
	redisServer := needBinary(t, "redis-server")
	ours := buildCmd(t, "hactl-sentinel")
	aof := []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	impls := []benchImpl{
		{"redis-sentinel 7.0.15", needBinary(t, "redis-sentinel"), redisServer, aof},
		{"hactl-sentinel", ours, redisServer, aof},
	}
	if os.Getenv("HACTL_SENTINEL_BENCH_ENGINE") != "" {
		impls = append(impls, benchImpl{"hactl-sentinel + hactl-engine (sync-replicas 1)", ours,
			buildCmd(t, "hactl-engine"), append([]string{"--hactl-sync-replicas", "1"}, aof...)})
	}
	if only := os.Getenv("HACTL_SENTINEL_BENCH_ONLY"); only != "" {
		var keep []benchImpl
		for _, impl := range impls {
			if impl.name == only {
				keep = append(keep, impl)
			}
		}
		impls = keep
	}
	results := make([][]benchRun, len(impls))
	for r := 0; r < runs; r++ {
		for k, impl := range impls { // interleaved, so all see the same machine load
			t.Run(fmt.Sprintf("%s/%d", impl.name, r), func(t *testing.T) {
				br := failoverOnce(t, impl)
				t.Logf("%s run %d: %+v", impl.name, r, br)
				results[k] = append(results[k], br)
			})
		}
	}
	table := benchTable(impls, results)
	t.Log("\n" + table)
	if out := os.Getenv("HACTL_SENTINEL_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// benchImpl is one column of the benchmark: a sentinel binary and the data
// node binary with its options.
type benchImpl struct {
	name, sentinel, server string
	serverArgs             []string
}

// benchRun is one measured failover; durations are from the kill -9.
type benchRun struct {
	sdown, odown, elected, promoted, switched, outage time.Duration
	lost, acked, promotions                           int
}

func failoverOnce(t *testing.T, impl benchImpl) benchRun {
	ports := freePorts(t, 6)
	bin := impl.sentinel
	var nodes []*redisProc
	for i := 0; i < 3; i++ {
		args := append([]string{}, impl.serverArgs...)
		if i > 0 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		nodes = append(nodes, startServer(t, impl.server, ports[i], args...))
	}
	var sents []*realSentinel
	var addrs []string
	for i := 0; i < 3; i++ {
		sents = append(sents, startSentinelProc(t, bin, filepath.Join(t.TempDir(), strconv.Itoa(i)), ports[3+i], ports[0], 2))
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", ports[3+i]))
	}
	waitProcDiscovery(t, sents)
	var killed time.Time
	res := runWriter(t, addrs, func() { killed = time.Now(); nodes[0].kill() }, 500*time.Microsecond, 2*time.Second, 9*time.Second)
	br := benchRun{outage: res.outage, lost: res.lost, acked: res.acked}
	first := func(ev string) time.Duration {
		var best time.Duration = -1
		for _, s := range sents {
			for _, l := range strings.Split(s.log(), "\n") {
				f := strings.Fields(l)
				if len(f) < 7 || f[6] != ev {
					continue
				}
				at, err := time.ParseInLocation("02 Jan 2006 15:04:05.000", strings.Join(f[1:5], " "), time.Local)
				if err != nil || at.Before(killed.Add(-time.Second)) {
					continue
				}
				if d := at.Sub(killed); best < 0 || d < best {
					best = d
				}
			}
		}
		return best
	}
	br.sdown, br.odown, br.elected = first("+sdown"), first("+odown"), first("+elected-leader")
	br.promoted, br.switched = first("+promoted-slave"), first("+switch-master")
	for _, s := range sents {
		br.promotions += strings.Count(s.log(), "+promoted-slave")
	}
	if dir := os.Getenv("HACTL_SENTINEL_BENCH_LOGS"); dir != "" && br.promotions != 1 {
		// Keep the evidence of a double or missing promotion.
		for i, s := range sents {
			name := fmt.Sprintf("%s-%d-sentinel%d.log", filepath.Base(bin), killed.UnixMilli(), i)
			_ = os.WriteFile(filepath.Join(dir, name), []byte(s.log()+"\n--- stdout/stderr ---\n"+s.stderr()), 0o644)
		}
	}
	return br
}

// waitProcDiscovery waits until every sentinel process knows 2 replicas
// and 2 peers.
func waitProcDiscovery(t *testing.T, sents []*realSentinel) {
	waitFor(t, 30*time.Second, "sentinel discovery", func() bool {
		for _, s := range sents {
			out, err := exec.Command("redis-cli", "-p", strconv.Itoa(s.port), "sentinel", "master", "mymaster").Output()
			if err != nil {
				return false
			}
			f := strings.Split(strings.TrimSpace(string(out)), "\n")
			kv := map[string]string{}
			for i := 0; i+1 < len(f); i += 2 {
				kv[f[i]] = f[i+1]
			}
			if kv["num-slaves"] != "2" || kv["num-other-sentinels"] != "2" || kv["flags"] != "master" {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // let replicas' INFO be fresh everywhere
}

func median(ds []time.Duration) (time.Duration, time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0, 0
	}
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m, s[len(s)-1]
}

func benchTable(impls []benchImpl, results [][]benchRun) string {
	var sb strings.Builder
	sb.WriteString("| after kill -9: median / max |")
	for k, impl := range impls {
		fmt.Fprintf(&sb, " %s (%d runs) |", impl.name, len(results[k]))
		if k > 0 {
			sb.WriteString(" ratio |")
		}
	}
	sb.WriteString("\n|---|" + strings.Repeat("---|", 2*len(impls)-1) + "\n")
	rows := []struct {
		name string
		f    func(benchRun) time.Duration
	}{
		{"+sdown", func(r benchRun) time.Duration { return r.sdown }},
		{"+odown", func(r benchRun) time.Duration { return r.odown }},
		{"+elected-leader", func(r benchRun) time.Duration { return r.elected }},
		{"+promoted-slave", func(r benchRun) time.Duration { return r.promoted }},
		{"first +switch-master", func(r benchRun) time.Duration { return r.switched }},
		{"**FailoverClient writes again**", func(r benchRun) time.Duration { return r.outage }},
	}
	for _, row := range rows {
		fmt.Fprintf(&sb, "| %s |", row.name)
		var base time.Duration
		for k := range impls {
			var ds []time.Duration
			for _, r := range results[k] {
				ds = append(ds, row.f(r))
			}
			m, x := median(ds)
			fmt.Fprintf(&sb, " %.2f s / %.2f s |", m.Seconds(), x.Seconds())
			if k == 0 {
				base = m
			} else if base > 0 {
				fmt.Fprintf(&sb, " %.2f |", float64(m)/float64(base))
			} else {
				sb.WriteString(" - |")
			}
		}
		sb.WriteString("\n")
	}
	counts := []struct {
		name string
		f    func([]benchRun) string
	}{
		{"acknowledged writes lost (total / worst run)", func(rs []benchRun) string {
			tot, max := 0, 0
			for _, r := range rs {
				tot += r.lost
				if r.lost > max {
					max = r.lost
				}
			}
			return fmt.Sprintf("%d / %d", tot, max)
		}},
		{"runs with more than one promotion", func(rs []benchRun) string {
			n := 0
			for _, r := range rs {
				if r.promotions > 1 {
					n++
				}
			}
			return strconv.Itoa(n)
		}},
	}
	for _, c := range counts {
		fmt.Fprintf(&sb, "| %s |", c.name)
		for k := range impls {
			fmt.Fprintf(&sb, " %s |", c.f(results[k]))
			if k > 0 {
				sb.WriteString(" |")
			}
		}
		sb.WriteString("\n")
	}
	return sb.String()
}
