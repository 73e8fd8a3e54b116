package bench

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	const header = `"test","rps","avg_latency_ms"` + "\n"
	exit1 := errors.New("exit status 1")
	tests := []struct {
		name           string
		test           string
		stdout, stderr string
		runErr, ctxErr error
		want           Measurement
	}{
		{
			name:   "ok",
			test:   "GET",
			stdout: header + `"GET","98765.43","0.3"` + "\n",
			want:   Measurement{Status: StatusOK, RPS: 98765.43, Samples: []float64{98765.43}},
		},
		{
			name:   "lrange picks its own line, not the lpush setup",
			test:   "LRANGE_100",
			stdout: header + `"LPUSH (needed to benchmark LRANGE)","5","0.3"` + "\n" + `"LRANGE_100 (first 100 elements)","7","0.3"` + "\n",
			want:   Measurement{Status: StatusOK, RPS: 7, Samples: []float64{7}},
		},
		{
			name:   "error reply means unsupported",
			test:   "LPUSH",
			stdout: header,
			stderr: "Error from server: ERR unknown command 'LPUSH', with args beginning with: 'mylist' 'VXK' \n",
			runErr: exit1,
			want:   Measurement{Status: StatusUnsupported, Detail: "ERR unknown command 'LPUSH', with args beginning with: 'mylist' 'VXK'"},
		},
		{
			name:   "other exit failure",
			test:   "SET",
			stderr: "Error: Connection reset by peer\n",
			runErr: exit1,
			want:   Measurement{Status: StatusFailed, Detail: "redis-benchmark: exit status 1: Error: Connection reset by peer"},
		},
		{
			name:   "timeout",
			test:   "SET",
			runErr: errors.New("signal: killed"),
			ctxErr: context.DeadlineExceeded,
			want:   Measurement{Status: StatusFailed, Detail: "redis-benchmark: context deadline exceeded"},
		},
		{
			name:   "no line for the test",
			test:   "SET",
			stdout: header + `"GET","5","0.3"` + "\n",
			want:   Measurement{Status: StatusFailed, Detail: "no SET line in redis-benchmark output: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.test, []byte(tt.stdout), []byte(tt.stderr), tt.runErr, tt.ctxErr)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("classify() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	ok := func(v float64) Measurement { return Measurement{Status: StatusOK, RPS: v, Samples: []float64{v}} }
	unsup := Measurement{Status: StatusUnsupported, Detail: "ERR unknown command"}
	tests := []struct {
		name string
		in   []Measurement
		want Measurement
	}{
		{"median of three", []Measurement{ok(30), ok(10), ok(20)}, Measurement{Status: StatusOK, RPS: 20, Samples: []float64{30, 10, 20}}},
		{"median of two", []Measurement{ok(10), ok(20)}, Measurement{Status: StatusOK, RPS: 15, Samples: []float64{10, 20}}},
		{"one round unsupported", []Measurement{ok(10), unsup}, unsup},
		{"none", nil, Measurement{Status: StatusFailed, Detail: "no runs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Combine(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Combine() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestBenchmarkSpecArgs(t *testing.T) {
	for _, tc := range []struct {
		spec        BenchmarkSpec
		want, label string
	}{
		{BenchmarkSpec{Addr: "127.0.0.1:7000", Test: "LRANGE_100", Requests: 200000, Clients: 50, Pipeline: 16},
			"-h 127.0.0.1 -p 7000 -n 200000 -c 50 -P 16 -t lrange_100 --csv -q", "LRANGE_100"},
		// A custom test: the command follows the options (and Extra).
		{BenchmarkSpec{Addr: "127.0.0.1:7000", Test: "ZRANGE_100", Requests: 10, Clients: 5, Pipeline: 1, Extra: []string{"--tls"}},
			"-h 127.0.0.1 -p 7000 -n 10 -c 5 -P 1 --csv -q --tls ZRANGE bench:zset 0 99", "ZRANGE"},
	} {
		got, err := tc.spec.Args()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Args() = %q; want %q", strings.Join(got, " "), tc.want)
		}
		if l := tc.spec.label(); l != tc.label {
			t.Errorf("label() = %q; want %q", l, tc.label)
		}
	}
	if z := CustomTests["ZRANGE_100"].Setup; len(z) != 2+200 || z[0] != "ZADD" || z[len(z)-1] != "m:100" {
		t.Errorf("ZRANGE_100 setup = %q...", z[:4])
	}
	for _, addr := range []string{"10.0.0.1:6379", "example.com:6379", "127.0.0.1"} {
		if _, err := (BenchmarkSpec{Addr: addr}).Args(); err == nil {
			t.Errorf("Args() with Addr %q: no error; want one", addr)
		}
	}
	if _, err := (BenchmarkSpec{Addr: "[::1]:6379"}).Args(); err != nil {
		t.Errorf("Args() with ::1: %v", err)
	}
}
