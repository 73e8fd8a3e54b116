// Command enginebench compares hactl-engine with redis-server on this
// machine: throughput with redis-benchmark in alternating rounds, and memory
// after loading the same keys into both. Run it from the repository root:
//
//	go run ./bench/cmd/enginebench [-n 200000] [-c 50] [-rounds 3] [-markdown docs/performance.md]
//
// It builds ./cmd/hactl-engine unless -engine-bin names a binary, starts both
// servers on 127.0.0.1 with the same arguments and no persistence, and stops
// them on exit and on SIGINT/SIGTERM. See docs/performance.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/bench"
)

// defaultTests are the tests run when -tests is not given.
const defaultTests = "SET,GET,INCR,MSET"

// maxKeys bounds -keys so that the memory load stays bounded.
const maxKeys = 10_000_000

type options struct {
	requests       int
	clients        int
	rounds         int
	pipelines      []int
	tests          []string
	engineBin      string
	enginePkg      string
	redisServer    string
	redisBenchmark string
	runTimeout     time.Duration
	readyTimeout   time.Duration
	buildTimeout   time.Duration
	throughput     bool
	memory         bool
	memoryKind     string
	keys           int
	valueSize      int
	settle         time.Duration
	markdown       string
	tls            bool
}

func main() { bench.Main("enginebench", run) }

// run exits 2 for bad arguments (a *bench.UsageError), 1 when the
// benchmark fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return benchmark(ctx, opts, slog.New(slog.NewTextHandler(stderr, nil)), stdout)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("enginebench", flag.ContinueOnError)
	fs.IntVar(&o.requests, "n", 200000, "requests per redis-benchmark run (-n)")
	fs.IntVar(&o.clients, "c", 50, "parallel connections per run (-c)")
	fs.IntVar(&o.rounds, "rounds", 3, "alternating rounds; the table shows the median")
	pipelines := fs.String("pipelines", "1,16", "comma-separated pipeline depths (-P)")
	tests := fs.String("tests", defaultTests, "comma-separated redis-benchmark tests; a leading + adds to the default "+defaultTests)
	fs.StringVar(&o.engineBin, "engine-bin", "", "use this server binary as the engine instead of building -engine-pkg")
	fs.StringVar(&o.enginePkg, "engine-pkg", "./cmd/hactl-engine", "package to build as the engine")
	fs.StringVar(&o.redisServer, "redis-server", "/usr/bin/redis-server", "reference redis-server binary")
	fs.StringVar(&o.redisBenchmark, "redis-benchmark", "/usr/bin/redis-benchmark", "redis-benchmark binary")
	fs.DurationVar(&o.runTimeout, "run-timeout", 2*time.Minute, "time limit of one redis-benchmark run")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 10*time.Second, "time limit for a server to answer PING after start")
	fs.DurationVar(&o.buildTimeout, "build-timeout", 5*time.Minute, "time limit of go build")
	fs.BoolVar(&o.throughput, "throughput", true, "measure throughput")
	fs.BoolVar(&o.memory, "memory", true, "measure memory after loading -keys keys")
	fs.IntVar(&o.keys, "keys", 1_000_000, "distinct keys to load for the memory comparison")
	fs.IntVar(&o.valueSize, "value-size", 3, "bytes per value in the memory comparison")
	fs.StringVar(&o.memoryKind, "memory-kind", "string", "memory dataset: string (distinct keys) or hash, set, zset, list (one key with -keys members)")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after loading before reading RSS again")
	fs.BoolVar(&o.tls, "tls", false, "throughput over TLS: both servers TLS-only (port 0, tls-port) with a generated CA, redis-benchmark --tls; implies -memory=false")
	fs.StringVar(&o.markdown, "markdown", "", "also write the result as markdown to this file (between enginebench markers if it has them)")
	if err := bench.ParseFlags(fs, args, stderr); err != nil {
		return o, err
	}
	if err := o.check(*pipelines, *tests); err != nil {
		return o, &bench.UsageError{Err: err}
	}
	return o, nil
}

// check completes o from the -pipelines and -tests lists and checks it.
func (o *options) check(pipelines, tests string) error {
	if o.tls {
		o.memory = false
	}
	var err error
	if o.pipelines, err = parsePipelines(pipelines); err != nil {
		return err
	}
	if o.tests, err = parseTests(tests); err != nil {
		return err
	}
	switch {
	case o.requests < 1 || o.clients < 1 || o.rounds < 1:
		return fmt.Errorf("-n, -c and -rounds must be at least 1")
	case o.keys < 1 || o.keys > maxKeys:
		return fmt.Errorf("-keys must be between 1 and %d", maxKeys)
	case o.valueSize < 1 || o.valueSize > 1<<20:
		return fmt.Errorf("-value-size must be between 1 and %d", 1<<20)
	case o.runTimeout <= 0 || o.readyTimeout <= 0 || o.buildTimeout <= 0 || o.settle < 0:
		return fmt.Errorf("timeouts must be positive")
	case !o.throughput && !o.memory:
		return fmt.Errorf("nothing to do: -throughput=false and -memory=false")
	}
	return nil
}

func parsePipelines(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 1 {
			return nil, fmt.Errorf("-pipelines: %q is not a positive integer", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseTests reads -tests: "SET,GET" replaces the default list, "+LPUSH"
// adds LPUSH to it. Names are checked with bench.IsTest.
func parseTests(s string) ([]string, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		s = defaultTests + "," + rest
	}
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		name := strings.ToUpper(strings.TrimSpace(f))
		if !bench.IsTest(name) {
			return nil, fmt.Errorf("-tests: unknown test %q (known: %s and %s)", f, strings.Join(bench.KnownTests, ","), strings.Join(slices.Sorted(maps.Keys(bench.CustomTests)), ","))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// target is one of the two servers under test.
type target struct {
	name string // "redis" or "hactl"
	bin  string
	srv  *bench.Server   // nil until started
	tls  *bench.TLSFiles // TLS only when set
}

// stopTimeout bounds how long a server gets to exit after SIGTERM.
const stopTimeout = 5 * time.Second

func (t *target) start(ctx context.Context, dir string, readyTimeout time.Duration) error {
	port, err := bench.FreePort()
	if err != nil {
		return err
	}
	if t.tls != nil {
		t.srv, err = bench.StartTLSServer(ctx, t.name, t.bin, dir, port, readyTimeout, *t.tls)
		return err
	}
	t.srv, err = bench.StartServer(ctx, t.name, t.bin, dir, port, readyTimeout)
	return err
}

// benchmarkArgs are the extra redis-benchmark arguments toward t.
func (t *target) benchmarkArgs() []string {
	if t.tls == nil {
		return nil
	}
	return t.tls.BenchmarkArgs()
}

func (t *target) stop() {
	if t.srv != nil {
		t.srv.Stop(stopTimeout)
		t.srv = nil
	}
}

// ensureAlive restarts the server if it has exited (a crash during a
// benchmark), so that one crash does not fail every later measurement.
func (t *target) ensureAlive(ctx context.Context, dir string, readyTimeout time.Duration, log *slog.Logger) error {
	if t.srv != nil && t.srv.Alive() {
		return nil
	}
	if t.srv != nil {
		log.Warn("server exited, restarting", "server", t.name, "exit", t.srv.ExitState())
		t.stop()
	}
	return t.start(ctx, dir, readyTimeout)
}

func benchmark(ctx context.Context, o options, log *slog.Logger, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "enginebench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	if o.engineBin == "" {
		log.Info("building engine", "pkg", o.enginePkg)
	}
	engineBin, engineDesc, err := bench.Engine(ctx, dir, o.engineBin, o.enginePkg, o.buildTimeout)
	if err != nil {
		return err
	}
	redis := &target{name: "redis", bin: o.redisServer}
	engine := &target{name: "hactl", bin: engineBin}
	defer redis.stop()
	defer engine.stop()
	if o.tls {
		f, err := bench.WritePKI(dir)
		if err != nil {
			return err
		}
		redis.tls, engine.tls = &f, &f
	}

	rep := &bench.Report{
		Machine:  bench.DescribeMachine(ctx, o.redisServer, engineDesc),
		Settings: bench.Settings{Requests: o.requests, Clients: o.clients, Rounds: o.rounds},
	}
	if o.throughput {
		if rep.Rows, err = throughput(ctx, o, dir, redis, engine, log); err != nil {
			return err
		}
		redis.stop()
		engine.stop()
	}
	if o.memory {
		if rep.Memory, err = memory(ctx, o, dir, redis, engine, log); err != nil {
			return err
		}
	}
	rep.Machine.LoadEnd = bench.LoadAverage()
	if err := bench.RenderText(stdout, rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if o.markdown != "" {
		var b strings.Builder
		if err := bench.RenderMarkdown(&b, rep); err != nil {
			return fmt.Errorf("render markdown: %w", err)
		}
		return bench.WriteRegion(o.markdown, b.String())
	}
	return nil
}

// throughput runs every test at every pipeline depth against both servers,
// o.rounds times; odd rounds run redis first, even rounds the engine first.
func throughput(ctx context.Context, o options, dir string, redis, engine *target, log *slog.Logger) ([]bench.Row, error) {
	type key struct {
		test     string
		pipeline int
		server   string
	}
	runs := map[key][]bench.Measurement{}
	for round := 1; round <= o.rounds; round++ {
		order := []*target{redis, engine}
		if round%2 == 0 {
			order = []*target{engine, redis}
		}
		for _, p := range o.pipelines {
			for _, test := range o.tests {
				for _, t := range order {
					if err := ctx.Err(); err != nil {
						return nil, fmt.Errorf("throughput: %w", err)
					}
					if err := t.ensureAlive(ctx, dir, o.readyTimeout, log); err != nil {
						return nil, fmt.Errorf("throughput: %w", err)
					}
					m, err := bench.RunBenchmark(ctx, bench.BenchmarkSpec{
						Bin: o.redisBenchmark, Addr: t.srv.Addr(), Test: test,
						Requests: o.requests, Clients: o.clients, Pipeline: p, Timeout: o.runTimeout,
						Extra: t.benchmarkArgs(),
					})
					if err != nil {
						return nil, fmt.Errorf("throughput: %w", err)
					}
					log.Info("run", "round", round, "server", t.name, "test", test, "pipeline", p,
						"status", m.Status, "rps", m.RPS, "detail", m.Detail)
					k := key{test, p, t.name}
					runs[k] = append(runs[k], m)
				}
			}
		}
	}
	var rows []bench.Row
	for _, test := range o.tests {
		for _, p := range o.pipelines {
			rows = append(rows, bench.Row{
				Op: test, Pipeline: p,
				Redis:  bench.Combine(runs[key{test, p, redis.name}]),
				Engine: bench.Combine(runs[key{test, p, engine.name}]),
			})
		}
	}
	return rows, nil
}

// memory starts both servers afresh, loads o.keys keys into each in turn,
// and reads their memory use right after the load and after o.settle.
func memory(ctx context.Context, o options, dir string, redis, engine *target, log *slog.Logger) (*bench.MemoryReport, error) {
	rep := &bench.MemoryReport{Keys: o.keys, ValueSize: o.valueSize, Settle: o.settle, Kind: o.memoryKind}
	samples := map[*target]*bench.MemorySample{redis: &rep.Redis, engine: &rep.Engine}
	targets := []*target{redis, engine}
	for _, t := range targets {
		t.stop()
		if err := t.start(ctx, dir, o.readyTimeout); err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
	}
	for _, t := range targets {
		s := samples[t]
		*s = bench.MemorySample{RSSEmpty: -1, RSSLoaded: -1, RSSSettled: -1, UsedMemory: -1, DBSize: -1}
		s.RSSEmpty = rss(t, s)
		log.Info("loading keys", "server", t.name, "keys", o.keys)
		load, err := bench.LoadItems(ctx, t.srv.Addr(), o.memoryKind, o.keys, o.valueSize)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("memory: %w", ctx.Err())
		}
		if err != nil {
			s.Err = err.Error()
			log.Warn("load failed", "server", t.name, "err", err)
			continue
		}
		s.Load = load
		s.RSSLoaded = rss(t, s)
		if s.UsedMemory, err = bench.UsedMemory(ctx, t.srv.Addr()); err != nil {
			s.UsedMemory, s.UsedMemoryErr = -1, err.Error()
		}
		if s.DBSize, err = bench.DBSize(ctx, t.srv.Addr()); err != nil {
			s.DBSize, s.DBSizeErr = -1, err.Error()
		}
		log.Info("loaded", "server", t.name, "took", load, "rss", s.RSSLoaded, "used_memory", s.UsedMemory, "dbsize", s.DBSize)
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("memory: %w", ctx.Err())
	case <-time.After(o.settle):
	}
	for _, t := range targets {
		if s := samples[t]; s.Err == "" {
			s.RSSSettled = rss(t, s)
		}
		t.stop()
	}
	return rep, nil
}

// rss reads the server's RSS, recording a failure in s.Err.
func rss(t *target, s *bench.MemorySample) int64 {
	n, err := bench.ReadRSS(t.srv.PID())
	if err != nil {
		s.Err = err.Error()
		return -1
	}
	return n
}
