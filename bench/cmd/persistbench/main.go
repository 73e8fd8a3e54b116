// Command persistbench measures hactl-engine's persistence against
// redis-server 7.0.15 in the same run, on loopback only:
//   - SAVE time, dump.rdb size and load time (start until PING answers and
//     DBSIZE is complete) for -keys small string keys;
//   - the longest write pause during a BGSAVE of that dataset, client-side
//     (max latency of a bounded loop of SETs, against the same loop
//     without BGSAVE) and server-side (hactl-engine's
//     rdb_last_bgsave_max_pause_usec, redis-server's latest_fork_usec);
//   - SET throughput with appendonly yes + appendfsync everysec
//     (redis-benchmark -P 1 and -P 16).
//
// It prints a text report and, with -markdown FILE, replaces the
// enginebench region of FILE (docs/persistence.md) with markdown tables.
// Pieces: main.go (flags, orchestration), measure.go (one server's
// measurements), report.go (tables).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hactl/hactl/bench"
)

type options struct {
	bench.Flags
	loopSets int
	skipAOF  bool
}

func main() { bench.Main("persistbench", run) }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("persistbench", flag.ContinueOnError)
	o.Register(fs, "string keys in the dataset")
	fs.IntVar(&o.loopSets, "loop-sets", 200_000, "bound on the SETs of one latency loop")
	fs.BoolVar(&o.skipAOF, "skip-aof", false, "skip the AOF throughput measurement")
	if err := bench.ParseFlags(fs, args, stderr); err != nil {
		return o, err
	}
	if o.loopSets <= 0 {
		return o, &bench.UsageError{Err: errors.New("-loop-sets must be positive")}
	}
	return o, o.Check()
}

func run(ctx context.Context, args []string, out, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "persistbench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	var engineDesc string
	if o.Engine, engineDesc, err = bench.Engine(ctx, work, o.Engine, "./cmd/hactl-engine", 5*time.Minute); err != nil {
		return err
	}
	rep := &report{opts: o, machine: bench.DescribeMachine(ctx, o.RedisServer, engineDesc)}
	rep.machine.LoadStart = bench.LoadAverage()
	sides := []struct {
		name, bin string
		res       *sideResult
	}{{"redis", o.RedisServer, &rep.redis}, {"hactl", o.Engine, &rep.engine}}
	for _, s := range sides {
		slog.Info("snapshot measurements", "server", s.name, "keys", o.Keys)
		if err := measureSnapshot(ctx, o, s.name, s.bin, work, s.res); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if !o.skipAOF {
		for _, pipeline := range []int{1, 16} {
			row := aofRow{pipeline: pipeline}
			for _, s := range sides {
				slog.Info("aof everysec throughput", "server", s.name, "pipeline", pipeline)
				m, err := measureAOF(ctx, o, s.name, s.bin, work, pipeline)
				if err != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
				if s.name == "redis" {
					row.redis = m
				} else {
					row.engine = m
				}
			}
			rep.aof = append(rep.aof, row)
		}
	}
	rep.machine.LoadEnd = bench.LoadAverage()
	rep.machine.Date = time.Now().UTC()
	if _, err := io.WriteString(out, rep.text()); err != nil {
		return err
	}
	if o.Markdown == "" {
		return nil
	}
	return bench.WriteRegion(o.Markdown, rep.markdown())
}

// infoInt reads an integer field of INFO persistence (or stats).
func infoInt(ctx context.Context, addr, section, field string) (int64, error) {
	r, err := bench.Do(ctx, addr, "INFO", section)
	if err != nil {
		return 0, err
	}
	v, err := bench.InfoField(r.Str, field)
	if err != nil {
		return 0, err
	}
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil {
		return 0, fmt.Errorf("info %s: %q: %w", field, v, err)
	}
	return n, nil
}
