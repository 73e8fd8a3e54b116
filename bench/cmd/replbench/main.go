// Command replbench measures hactl-engine's replication against
// redis-server 7.0.15 in the same run, on loopback only, and prints the
// engine/redis ratios (informational, not a CI pass/fail):
//   - full resync of -keys small string keys, disk-based
//     (repl-diskless-sync no) and diskless (delay 0): time from REPLICAOF
//     to master_link_status:up with equal offsets;
//   - SET and GET throughput (redis-benchmark -P 1 and -P 16) of a master
//     with two replicas;
//   - the latency of one client's SETs (p50, p99) on a master with two
//     replicas: asynchronous, with hactl-sync-replicas 1 (engine only),
//     and SET followed by WAIT 1 0 (both servers).
//
// With -markdown FILE it replaces the enginebench region of FILE
// (docs/replication.md) with the tables. Pieces: main.go (flags,
// orchestration), measure.go (the three measurements), report.go
// (tables).
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
	latencyOps int
}

func main() { bench.Main("replbench", run) }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("replbench", flag.ContinueOnError)
	o.Register(fs, "string keys of the full resync dataset")
	fs.IntVar(&o.latencyOps, "latency-ops", 20_000, "SETs per latency loop (bounded)")
	if err := bench.ParseFlags(fs, args, stderr); err != nil {
		return o, err
	}
	if o.latencyOps <= 0 || o.latencyOps > 1_000_000 {
		return o, &bench.UsageError{Err: errors.New("-latency-ops must be in 1..1000000")}
	}
	return o, o.Check()
}

func run(ctx context.Context, args []string, out, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "replbench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	engine, engineDesc, err := bench.Engine(ctx, work, o.Engine, "./cmd/hactl-engine", 5*time.Minute)
	if err != nil {
		return err
	}
	m := &meter{o: o, work: work, bins: map[string]string{"redis": o.RedisServer, "hactl": engine}}
	r := &report{machine: bench.DescribeMachine(ctx, o.RedisServer, engineDesc), opts: o}
	r.machine.LoadStart = bench.LoadAverage()
	slog.Info("full resync", "keys", o.Keys)
	if r.resync, err = m.fullResyncs(ctx); err != nil {
		return err
	}
	slog.Info("throughput with two replicas")
	if r.throughput, err = m.throughputs(ctx); err != nil {
		return err
	}
	slog.Info("latency of acknowledged writes")
	if r.latency, err = m.latencies(ctx); err != nil {
		return err
	}
	r.machine.LoadEnd = bench.LoadAverage()
	r.machine.Date = time.Now()
	if _, err := io.WriteString(out, r.render(false)); err != nil {
		return err
	}
	if o.Markdown == "" {
		return nil
	}
	return bench.WriteRegion(o.Markdown, "\n"+strings.TrimSpace(r.render(true))+"\n")
}
