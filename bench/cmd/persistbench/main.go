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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hactl/hactl/bench"
)

type options struct {
	keys        int
	valueSize   int
	loopSets    int
	requests    int
	clients     int
	rounds      int
	redisServer string
	redisBench  string
	engineBin   string
	markdown    string
	skipAOF     bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		slog.Error("persistbench failed", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("persistbench", flag.ContinueOnError)
	fs.IntVar(&o.keys, "keys", 1_000_000, "string keys in the dataset")
	fs.IntVar(&o.valueSize, "value-size", 10, "bytes per value")
	fs.IntVar(&o.loopSets, "loop-sets", 200_000, "bound on the SETs of one latency loop")
	fs.IntVar(&o.requests, "requests", 200_000, "redis-benchmark -n for the AOF throughput")
	fs.IntVar(&o.clients, "clients", 50, "redis-benchmark -c")
	fs.IntVar(&o.rounds, "rounds", 3, "redis-benchmark runs per server and pipeline (median kept)")
	fs.StringVar(&o.redisServer, "redis-server", "/usr/bin/redis-server", "reference server")
	fs.StringVar(&o.redisBench, "redis-benchmark", "/usr/bin/redis-benchmark", "redis-benchmark binary")
	fs.StringVar(&o.engineBin, "engine", "", "prebuilt hactl-engine (default: go build ./cmd/hactl-engine)")
	fs.StringVar(&o.markdown, "markdown", "", "markdown file whose enginebench region receives the tables")
	fs.BoolVar(&o.skipAOF, "skip-aof", false, "skip the AOF throughput measurement")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.keys <= 0 || o.loopSets <= 0 || o.requests <= 0 || o.rounds <= 0 {
		return o, errors.New("-keys, -loop-sets, -requests and -rounds must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "persistbench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	engineDesc := o.engineBin
	if o.engineBin == "" {
		o.engineBin = filepath.Join(work, "hactl-engine")
		if err := bench.BuildEngine(ctx, ".", "./cmd/hactl-engine", o.engineBin, 5*time.Minute); err != nil {
			return err
		}
		engineDesc = "go build ./cmd/hactl-engine at " + bench.GitRevision(ctx, ".")
	}
	rep := &report{opts: o, machine: bench.DescribeMachine(ctx, o.redisServer, engineDesc)}
	rep.machine.LoadStart = bench.LoadAverage()
	sides := []struct {
		name, bin string
		res       *sideResult
	}{{"redis", o.redisServer, &rep.redis}, {"hactl", o.engineBin, &rep.engine}}
	for _, s := range sides {
		slog.Info("snapshot measurements", "server", s.name, "keys", o.keys)
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
	if o.markdown == "" {
		return nil
	}
	doc, err := os.ReadFile(o.markdown)
	if err != nil {
		return fmt.Errorf("read %s: %w", o.markdown, err)
	}
	updated, err := bench.ReplaceRegion(string(doc), rep.markdown())
	if err != nil {
		return fmt.Errorf("%s: %w", o.markdown, err)
	}
	if err := os.WriteFile(o.markdown, []byte(updated), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.markdown, err)
	}
	return nil
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
