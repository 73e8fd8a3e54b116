package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/bench"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-keys", "0"}, false},
		{[]string{"-latency-ops", "2000000"}, false},
		{[]string{"-rounds", "1", "-requests", "1000"}, true},
	} {
		if _, err := parseFlags(tc.args, io.Discard); (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q) = %v, want ok %v", tc.args, err, tc.ok)
		}
	}
}

func TestRenderMarkdown(t *testing.T) {
	r := &report{
		opts: options{Flags: bench.Flags{Keys: 1000, ValueSize: 10, Requests: 100, Clients: 5, Rounds: 1}, latencyOps: 10},
		resync: []resyncRow{{mode: "disk", server: "redis", median: time.Second},
			{mode: "disk", server: "hactl", median: 500 * time.Millisecond}},
		throughput: []throughputRow{{test: "SET", pipeline: 16, ms: map[string]bench.Measurement{
			"redis": {Status: bench.StatusOK, RPS: 1000}, "hactl": {Status: bench.StatusOK, RPS: 1500}}}},
		latency: []latencyRow{{server: "hactl", mode: "SET", p50: 50 * time.Microsecond, p99: 120 * time.Microsecond}},
	}
	out := r.render(true)
	for _, want := range []string{
		"| disk-based (repl-diskless-sync no)    | 1.00 s | 0.50 s | 0.50        |",
		"| diskless (repl-diskless-sync-delay 0) | 0.00 s | 0.00 s | -           |",
		"| SET  | 16       | 1000      | 1500      | 1.50        |",
		"| hactl  | SET  | 50 µs | 120 µs |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}
