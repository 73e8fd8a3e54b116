package rdb

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
)

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false},
		{"-0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{"-", 0, false},
		{"", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"123456789012345678901", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAppendLen(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "00"},
		{63, "3f"},
		{64, "4040"},
		{16383, "7fff"},
		{16384, "8000004000"},
		{math.MaxUint32, "80ffffffff"},
		{math.MaxUint32 + 1, "810000000100000000"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(appendLen(nil, tt.n)); got != tt.want {
			t.Errorf("appendLen(%d) = %s, want %s", tt.n, got, tt.want)
		}
		rd := newReader(bytes.NewReader(appendLen(nil, tt.n)))
		if n, special, err := rd.length(); n != tt.n || special || err != nil {
			t.Errorf("length() of %s = %d, %v, %v", tt.want, n, special, err)
		}
	}
}

func TestAppendIntEncoded(t *testing.T) {
	tests := []struct {
		in   string
		want string // hex, "" when not integer-encoded
	}{
		{"0", "c000"},
		{"-128", "c080"},
		{"127", "c07f"},
		{"128", "c18000"},
		{"-32768", "c10080"},
		{"32768", "c200800000"},
		{"2147483647", "c2ffffff7f"},
		{"-2147483648", "c200000080"},
		{"2147483648", ""},
		{"12345678901", ""},
		{"007", ""},
		{"-0", ""},
		{"abc", ""},
	}
	for _, tt := range tests {
		b, ok := appendIntEncoded(nil, tt.in)
		if got := hex.EncodeToString(b); got != tt.want || ok != (tt.want != "") {
			t.Errorf("appendIntEncoded(%q) = %s, %v; want %s", tt.in, got, ok, tt.want)
			continue
		}
		if ok {
			s, err := newReader(bytes.NewReader(b)).string()
			if s != tt.in || err != nil {
				t.Errorf("decode %s = %q, %v", tt.want, s, err)
			}
		}
	}
}

// TestFormatScore checks d2string of Redis 7.0 (integers within 2^52, else
// %.17g); "0.10000000000000001" is what a 7.0.15 DUMP of ZADD z 0.1 a holds.
func TestFormatScore(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-2, "-2"},
		{1.5, "1.5"},
		{0.1, "0.10000000000000001"},
		{-2.25, "-2.25"},
		{1e20, "1e+20"},
		{3e-5, "3.0000000000000001e-05"},
		{4503599627370495, "4503599627370495"},
		{4503599627370496, "4503599627370496"},
		{1e16, "10000000000000000"},
		{123456789012345678, "1.2345678901234568e+17"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tt := range tests {
		if got := string(formatScore(nil, tt.in)); got != tt.want {
			t.Errorf("formatScore(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if f, ok := parseScore(tt.want); !ok || (f != tt.in && !math.IsNaN(tt.in)) {
			t.Errorf("parseScore(%q) = %v, %v", tt.want, f, ok)
		}
	}
}
