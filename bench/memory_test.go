package bench

import (
	"errors"
	"strings"
	"testing"
)

func TestInfoField(t *testing.T) {
	info := "# Memory\r\nused_memory:1234\r\nused_memory_human:1.21K\r\nused_memory_rss:8000\r\n"
	tests := []struct {
		field, want string
		wantErr     error
	}{
		{"used_memory", "1234", nil},
		{"used_memory_rss", "8000", nil},
		{"used_memory_peak", "", ErrNoField},
		{"used", "", ErrNoField},
	}
	for _, tt := range tests {
		got, err := InfoField(info, tt.field)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("InfoField(%q) = %q, %v; want %q, %v", tt.field, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		wantErr      bool
	}{
		{"normal", "Name:\tredis-server\nVmPeak:\t  50000 kB\nVmRSS:\t   98700 kB\nThreads:\t5\n", 98700 * 1024, false},
		{"missing", "Name:\tx\n", 0, true},
		{"odd unit", "VmRSS:\t 5 MB\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseVmRSS(strings.NewReader(tt.status), 1)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: parseVmRSS() = %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestKeysAndValues(t *testing.T) {
	if got, want := KeyName(42), "key:000000000042"; got != want {
		t.Errorf("KeyName(42) = %q; want %q", got, want)
	}
	tests := []struct {
		i, size int
		want    string
	}{{7, 3, "007"}, {123456, 3, "456"}, {5, 1, "5"}, {12, 4, "0012"}}
	for _, tt := range tests {
		if got := value(tt.i, tt.size); got != tt.want {
			t.Errorf("value(%d, %d) = %q; want %q", tt.i, tt.size, got, tt.want)
		}
	}
}
