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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hactl/hactl/bench"
	"github.com/hactl/hactl/engine/repltest"
)

type options struct {
	keys, valueSize       int
	requests, clients     int
	rounds, latencyOps    int
	redisServer, redisBen string
	engineBin, markdown   string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		slog.Error("replbench failed", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("replbench", flag.ContinueOnError)
	fs.IntVar(&o.keys, "keys", 1_000_000, "string keys of the full resync dataset")
	fs.IntVar(&o.valueSize, "value-size", 10, "bytes per value")
	fs.IntVar(&o.requests, "requests", 200_000, "redis-benchmark -n")
	fs.IntVar(&o.clients, "clients", 50, "redis-benchmark -c")
	fs.IntVar(&o.rounds, "rounds", 3, "runs per measurement (median kept)")
	fs.IntVar(&o.latencyOps, "latency-ops", 20_000, "SETs per latency loop (bounded)")
	fs.StringVar(&o.redisServer, "redis-server", repltest.RedisServerPath, "reference server")
	fs.StringVar(&o.redisBen, "redis-benchmark", "/usr/bin/redis-benchmark", "redis-benchmark binary")
	fs.StringVar(&o.engineBin, "engine", "", "prebuilt hactl-engine (default: go build ./cmd/hactl-engine)")
	fs.StringVar(&o.markdown, "markdown", "", "markdown file whose enginebench region receives the tables")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.keys <= 0 || o.requests <= 0 || o.rounds <= 0 || o.latencyOps <= 0 || o.latencyOps > 1_000_000 {
		return o, errors.New("-keys, -requests, -rounds must be positive and -latency-ops in 1..1000000")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "replbench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	engine := o.engineBin
	if engine == "" {
		engine = filepath.Join(work, "hactl-engine")
		if err := bench.BuildEngine(ctx, ".", "./cmd/hactl-engine", engine, 5*time.Minute); err != nil {
			return err
		}
	}
	m := &meter{o: o, work: work, bins: map[string]string{"redis": o.redisServer, "hactl": engine}}
	r := &report{machine: bench.DescribeMachine(ctx, o.redisServer, engine), opts: o}
	r.machine.LoadStart = bench.LoadAverage()
	slog.Info("full resync", "keys", o.keys)
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
	if o.markdown == "" {
		return nil
	}
	doc, err := os.ReadFile(o.markdown)
	if err != nil {
		return fmt.Errorf("read %s: %w", o.markdown, err)
	}
	body, err := bench.ReplaceRegion(string(doc), "\n"+strings.TrimSpace(r.render(true))+"\n")
	if err != nil {
		return fmt.Errorf("%s: %w", o.markdown, err)
	}
	return os.WriteFile(o.markdown, []byte(body), 0o644)
}
