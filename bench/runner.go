package bench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KnownTests are the test names redis-benchmark 7.0 accepts with -t.
var KnownTests = []string{
	"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH",
	"LPOP", "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN",
	"LRANGE_100", "LRANGE_300", "LRANGE_500", "LRANGE_600", "MSET",
}

// CustomTest is a benchmark redis-benchmark has no -t name for: Command
// is given as redis-benchmark's trailing arguments, on the dataset that
// Setup (sent once with redis-cli before each run) creates.
type CustomTest struct {
	Setup   []string
	Command []string
}

// CustomTests are the benchmarks beyond KnownTests, by name. ZRANGE_100
// reads the 100 members of a sorted set, as LRANGE_100 does for a list.
var CustomTests = map[string]CustomTest{
	"ZRANGE_100": {Setup: zaddMembers("bench:zset", 100), Command: []string{"ZRANGE", "bench:zset", "0", "99"}},
}

// zaddMembers is ZADD key 1 m:1 2 m:2 ... n m:n.
func zaddMembers(key string, n int) []string {
	args := []string{"ZADD", key}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i), "m:"+strconv.Itoa(i))
	}
	return args
}

// IsTest reports whether name is a known or custom test.
func IsTest(name string) bool {
	_, custom := CustomTests[name]
	return custom || slices.Contains(KnownTests, name)
}

// Status says whether a Measurement holds a number.
type Status string

// The statuses of a Measurement.
const (
	// StatusOK means RPS holds the median of successful runs.
	StatusOK Status = "ok"
	// StatusUnsupported means the server answered the test's command with
	// an error reply, as it does for a command it does not implement.
	StatusUnsupported Status = "unsupported"
	// StatusFailed means redis-benchmark failed otherwise (timeout, closed
	// connection, crash, no result line).
	StatusFailed Status = "failed"
)

// Measurement is the result of one or more runs of one test at one pipeline
// depth against one server.
type Measurement struct {
	Status Status
	// RPS is the median requests per second of the runs; zero unless
	// Status is StatusOK.
	RPS float64
	// Samples holds the rps of each successful run, in run order.
	Samples []float64
	// Detail explains a status other than StatusOK (the first error line).
	Detail string
}

// BenchmarkSpec is one redis-benchmark invocation.
type BenchmarkSpec struct {
	Bin      string // redis-benchmark binary
	Addr     string // host:port of the server, loopback
	Test     string // one of KnownTests or CustomTests
	Requests int    // -n
	Clients  int    // -c
	Pipeline int    // -P
	Timeout  time.Duration
	// Extra are more redis-benchmark arguments (TLSFiles.BenchmarkArgs).
	Extra []string
}

// Args returns the redis-benchmark command-line arguments for spec.
func (s BenchmarkSpec) Args() ([]string, error) {
	host, port, err := splitLoopback(s.Addr)
	if err != nil {
		return nil, err
	}
	args := []string{
		"-h", host, "-p", port,
		"-n", strconv.Itoa(s.Requests),
		"-c", strconv.Itoa(s.Clients),
		"-P", strconv.Itoa(s.Pipeline),
	}
	custom, ok := CustomTests[s.Test]
	if !ok {
		args = append(args, "-t", strings.ToLower(s.Test))
	}
	args = append(append(args, "--csv", "-q"), s.Extra...)
	return append(args, custom.Command...), nil
}

// label is the test's name in redis-benchmark's CSV output: a custom
// command is reported by its command name.
func (s BenchmarkSpec) label() string {
	if custom, ok := CustomTests[s.Test]; ok {
		return strings.ToUpper(custom.Command[0])
	}
	return strings.ToUpper(s.Test)
}

// setup sends a custom test's Setup with redis-cli (the redis-cli beside
// the redis-benchmark binary), with the same connection arguments.
func (s BenchmarkSpec) setup(ctx context.Context) error {
	custom, ok := CustomTests[s.Test]
	if !ok || len(custom.Setup) == 0 {
		return nil
	}
	host, port, err := splitLoopback(s.Addr)
	if err != nil {
		return err
	}
	cli := filepath.Join(filepath.Dir(s.Bin), "redis-cli")
	args := append(append([]string{"-h", host, "-p", port}, s.Extra...), custom.Setup...)
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ERR") {
		return fmt.Errorf("setup of %s with %s: %v: %s", s.Test, cli, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RunBenchmark runs redis-benchmark once and returns a one-sample
// Measurement. Only an invalid spec is an error; a failing run is a
// Measurement with StatusUnsupported or StatusFailed.
func RunBenchmark(ctx context.Context, spec BenchmarkSpec) (Measurement, error) {
	args, err := spec.Args()
	if err != nil {
		return Measurement{}, fmt.Errorf("run %s: %w", spec.Test, err)
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	if err := spec.setup(ctx); err != nil {
		return Measurement{Status: StatusFailed, Detail: err.Error()}, nil
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, spec.Bin, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runErr := cmd.Run()
	return classify(spec.label(), stdout.Bytes(), stderr.Bytes(), runErr, ctx.Err()), nil
}

// classify turns the output of one redis-benchmark run into a Measurement.
func classify(test string, stdout, stderr []byte, runErr, ctxErr error) Measurement {
	if ctxErr != nil {
		return Measurement{Status: StatusFailed, Detail: fmt.Sprintf("redis-benchmark: %v", ctxErr)}
	}
	// redis-benchmark exits 1 on the first error reply, after printing
	// "Error from server: ERR unknown command ...".
	for line := range strings.Lines(string(stderr) + "\n" + string(stdout)) {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(line), "Error from server: "); ok {
			return Measurement{Status: StatusUnsupported, Detail: strings.TrimSpace(msg)}
		}
	}
	if runErr != nil {
		return Measurement{Status: StatusFailed, Detail: fmt.Sprintf("redis-benchmark: %v: %s", runErr, firstLine(stderr))}
	}
	rows, err := ParseCSV(bytes.NewReader(stdout))
	if err != nil {
		return Measurement{Status: StatusFailed, Detail: err.Error()}
	}
	i := slices.IndexFunc(rows, func(r CSVRow) bool { return r.Test == strings.ToUpper(test) })
	if i < 0 {
		return Measurement{Status: StatusFailed, Detail: fmt.Sprintf("no %s line in redis-benchmark output: %s", test, firstLine(stderr))}
	}
	return Measurement{Status: StatusOK, RPS: rows[i].RPS, Samples: []float64{rows[i].RPS}}
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Combine merges the measurements of several rounds: the result is
// StatusOK with the median rps only if every round succeeded; otherwise it
// takes the first non-OK status and its detail.
func Combine(ms []Measurement) Measurement {
	if len(ms) == 0 {
		return Measurement{Status: StatusFailed, Detail: "no runs"}
	}
	var out Measurement
	for _, m := range ms {
		if m.Status != StatusOK {
			return Measurement{Status: m.Status, Detail: m.Detail}
		}
		out.Samples = append(out.Samples, m.Samples...)
	}
	out.Status = StatusOK
	out.RPS = Median(out.Samples)
	return out
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
