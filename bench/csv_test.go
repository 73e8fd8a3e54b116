package bench

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	recorded, err := os.ReadFile("testdata/redis-benchmark-7.0.15.csv")
	if err != nil {
		t.Fatal(err)
	}
	const header = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"` + "\n"
	tests := []struct {
		name    string
		in      string
		want    []CSVRow
		wantErr string
	}{
		{
			name: "recorded output of redis-benchmark 7.0.15 -t set,get,incr,lrange_100,mset",
			in:   string(recorded),
			want: []CSVRow{
				{"SET", 43478.26}, {"GET", 41666.67}, {"INCR", 48780.49},
				{"LPUSH", 45454.55}, {"LRANGE_100", 32786.89}, {"MSET", 39215.69},
			},
		},
		{
			name: "pipelined",
			in:   header + `"SET","1538461.50","0.479","0.104","0.471","0.639","0.759","1.215"` + "\n",
			want: []CSVRow{{"SET", 1538461.50}},
		},
		{name: "empty output", in: "", want: nil},
		{name: "header only", in: header, want: nil},
		{
			name:    "data before header",
			in:      `"SET","1.0"` + "\n" + header,
			wantErr: "before the header",
		},
		{
			name:    "rps not a number",
			in:      header + `"GET","fast","0.1"` + "\n",
			wantErr: `rps of "GET"`,
		},
		{
			name:    "one field",
			in:      header + "WARNING: Could not fetch server CONFIG\n",
			wantErr: "want at least 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCSV() error = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCSV() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCSV() = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestTestName(t *testing.T) {
	tests := map[string]string{
		"SET":                                "SET",
		"MSET (10 keys)":                     "MSET",
		"LRANGE_100 (first 100 elements)":    "LRANGE_100",
		"LPUSH (needed to benchmark LRANGE)": "LPUSH",
		" ping_inline ":                      "PING_INLINE",
	}
	for in, want := range tests {
		if got := TestName(in); got != want {
			t.Errorf("TestName(%q) = %q; want %q", in, got, want)
		}
	}
}
