package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleReport covers every verdict: meets, below, unsupported, failed and
// no baseline, and a memory table where the engine lacks INFO memory.
func sampleReport() *Report {
	ok := func(v float64) Measurement { return Measurement{Status: StatusOK, RPS: v, Samples: []float64{v}} }
	return &Report{
		Machine: Machine{
			CPUs: 2, CPUModel: "AMD EPYC", GoVersion: "go1.26.8",
			RedisVersion: "Redis server v=7.0.15", Engine: "go build ./cmd/hactl-engine at 1ea8920",
			Date:      time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC),
			LoadStart: "1.33 1.40 1.25", LoadEnd: "1.90 1.52 1.30",
		},
		Settings: Settings{Requests: 200000, Clients: 50, Rounds: 3},
		Rows: []Row{
			{Op: "SET", Pipeline: 1,
				Redis:  Measurement{Status: StatusOK, RPS: 95000, Samples: []float64{95000, 90000, 100000}},
				Engine: Measurement{Status: StatusOK, RPS: 99000, Samples: []float64{99000, 85000, 101000}}},
			{Op: "SET", Pipeline: 16, Redis: ok(1400000), Engine: ok(1000000)},
			{Op: "GET", Pipeline: 1, Redis: ok(100000), Engine: ok(99600)},
			{Op: "GET", Pipeline: 16, Redis: ok(1550000), Engine: ok(1240000)},
			{Op: "LPUSH", Pipeline: 1, Redis: ok(97000), Engine: Measurement{Status: StatusUnsupported, Detail: "ERR unknown command 'LPUSH' | x "}},
			{Op: "MSET", Pipeline: 1, Redis: ok(90000), Engine: Measurement{Status: StatusFailed, Detail: "redis-benchmark: context deadline exceeded"}},
			{Op: "INCR", Pipeline: 1, Redis: Measurement{Status: StatusFailed, Detail: "redis-benchmark: exit status 1: Error: Connection reset by peer"}, Engine: ok(90000)},
		},
		Memory: &MemoryReport{
			Keys: 1000000, ValueSize: 3, Settle: 2 * time.Second,
			Redis: MemorySample{
				RSSEmpty: 12 << 20, RSSLoaded: 98 << 20, RSSSettled: 98 << 20,
				UsedMemory: 89500000, DBSize: 1000000, Load: 1500 * time.Millisecond,
			},
			Engine: MemorySample{
				RSSEmpty: 8 << 20, RSSLoaded: 140 << 20, RSSSettled: 120 << 20,
				UsedMemory: -1, UsedMemoryErr: "info memory: bench: field not in INFO reply: used_memory",
				DBSize: 1000000, Load: 1200 * time.Millisecond,
			},
		},
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		golden string
		render func(*bytes.Buffer, *Report) error
	}{
		{"report.txt", func(b *bytes.Buffer, r *Report) error { return RenderText(b, r) }},
		{"report.md", func(b *bytes.Buffer, r *Report) error { return RenderMarkdown(b, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var got bytes.Buffer
			if err := tt.render(&got, sampleReport()); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got.Bytes())
		})
	}
}

func TestRenderWithoutMemory(t *testing.T) {
	r := sampleReport()
	r.Memory = nil
	r.Rows = r.Rows[:2]
	var got bytes.Buffer
	if err := RenderText(&got, r); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report-throughput-only.txt", got.Bytes())
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bench -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rendered %s differs from the golden file\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestVerdict(t *testing.T) {
	ok := func(v float64) Measurement { return Measurement{Status: StatusOK, RPS: v} }
	tests := []struct {
		row  Row
		want string
	}{
		{Row{Pipeline: 1, Redis: ok(100), Engine: ok(100)}, "meets"},
		{Row{Pipeline: 1, Redis: ok(100), Engine: ok(99.6)}, "meets"}, // shown as 1.00
		{Row{Pipeline: 1, Redis: ok(100), Engine: ok(99)}, "below"},
		{Row{Pipeline: 16, Redis: ok(100), Engine: ok(80)}, "meets"},
		{Row{Pipeline: 16, Redis: ok(100), Engine: ok(79)}, "below"},
		{Row{Pipeline: 1, Redis: ok(100), Engine: Measurement{Status: StatusUnsupported}}, "unsupported"},
		{Row{Pipeline: 1, Redis: Measurement{Status: StatusFailed}, Engine: ok(5)}, "no baseline"},
	}
	for _, tt := range tests {
		if got := tt.row.Verdict(); got != tt.want {
			t.Errorf("Verdict(%+v) = %q; want %q", tt.row, got, tt.want)
		}
	}
}

func TestGroupDigits(t *testing.T) {
	tests := map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"}
	for in, want := range tests {
		if got := groupDigits(in); got != want {
			t.Errorf("groupDigits(%d) = %q; want %q", in, got, want)
		}
	}
}
