package rdb

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestListpackEntries checks the entry bytes against listpack.c's encodings.
func TestListpackEntries(t *testing.T) {
	tests := []struct {
		in   string
		want string // entry + backlen, hex
	}{
		{"0", "0001"},
		{"127", "7f01"},
		{"128", "c08002"},
		{"-1", "dfff02"},
		{"-4096", "d00002"},
		{"4095", "cfff02"},
		{"4096", "f1001003"},
		{"-32768", "f1008003"},
		{"32768", "f200800004"},
		{"-8388608", "f200008004"},
		{"8388608", "f30000800005"},
		{"-2147483648", "f30000008005"},
		{"2147483648", "f4000000800000000009"},
		{"-9223372036854775808", "f4000000000000008009"},
		{"", "8001"},
		{"a", "816102"},
		{"007", "8330303704"},
		{"-0", "822d3003"},
		{strings.Repeat("x", 63), "bf" + strings.Repeat("78", 63) + "40"},
		{strings.Repeat("x", 64), "e040" + strings.Repeat("78", 64) + "42"},
		{strings.Repeat("x", 4095), "efff" + strings.Repeat("78", 4095) + "2081"},
		{strings.Repeat("x", 4096), "f000100000" + strings.Repeat("78", 4096) + "2085"},
	}
	var lp listpack
	for _, tt := range tests {
		lp.reset()
		lp.add(tt.in)
		if got := hex.EncodeToString(lp.b[lpHeaderSize:]); got != tt.want {
			t.Errorf("add(%.20q) = %.60s, want %.60s", tt.in, got, tt.want)
		}
		if n := lpEntrySize(tt.in); n != len(tt.want)/2 {
			t.Errorf("lpEntrySize(%.20q) = %d, want %d", tt.in, n, len(tt.want)/2)
		}
		blob := lp.finish()
		var got []string
		if n, err := lpEach(blob, func(e lpEntry) error { got = append(got, e.String()); return nil }); err != nil || n != 1 || got[0] != tt.in {
			t.Errorf("lpEach(add(%.20q)) = %.20q, %d, %v", tt.in, got, n, err)
		}
	}
}

func TestListpackHeader(t *testing.T) {
	var lp listpack
	lp.reset()
	for _, s := range []string{"a", "1", "hello"} {
		lp.add(s)
	}
	// 6 header + 3 + 2 + 7 entries + 1 terminator = 19 bytes, 3 elements.
	if got, want := hex.EncodeToString(lp.finish()), "130000000300"+"816102"+"0101"+"8568656c6c6f06"+"ff"; got != want {
		t.Errorf("listpack = %s, want %s", got, want)
	}
}

func TestBacklen(t *testing.T) {
	for _, l := range []int{0, 1, 127, 128, 16382, 16383, 2097150, 2097151, 268435454, 268435455, 1 << 30} {
		b := appendBacklen(nil, l)
		if len(b) != backlenSize(l) {
			t.Errorf("backlen %d: %d bytes, backlenSize says %d", l, len(b), backlenSize(l))
		}
		if got, ok := decodeBacklen(b); !ok || got != l {
			t.Errorf("backlen %d encodes as %x, decodes to %d %v", l, b, got, ok)
		}
	}
}

func TestListpackCorrupt(t *testing.T) {
	tests := []struct{ name, blob string }{
		{"short", "0700000000"},
		{"total mismatch", "0800000000" + "00ff"},
		{"no terminator", "07000000000000"},
		{"count mismatch", "0900000002000001ff"},
		{"string past end", "0900000001008501ff"},
		{"bad backlen", "0900000001000002ff"},
		{"invalid encoding", "0900000001 00f501ff"},
		{"truncated int", "0900000001 00f401ff"},
	}
	for _, tt := range tests {
		blob, err := hex.DecodeString(strings.ReplaceAll(tt.blob, " ", ""))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if _, err := lpEach(blob, func(lpEntry) error { return nil }); !errors.Is(err, errListpack) {
			t.Errorf("%s: err %v, want a listpack error", tt.name, err)
		}
	}
}

func TestIntset(t *testing.T) {
	tests := []struct {
		vals []int64
		want string
	}{
		{[]int64{-3, 0, 5}, "0200000003000000" + "fdff" + "0000" + "0500"},
		{[]int64{1, 70000}, "0400000002000000" + "01000000" + "70110100"},
		{[]int64{-1 << 63, 1}, "0800000002000000" + "0000000000000080" + "0100000000000000"},
	}
	for _, tt := range tests {
		blob := appendIntset(nil, tt.vals)
		if got := hex.EncodeToString(blob); got != tt.want {
			t.Errorf("intset %v = %s, want %s", tt.vals, got, tt.want)
		}
		var back []int64
		if _, err := intsetEach(blob, func(v int64) { back = append(back, v) }); err != nil || len(back) != len(tt.vals) {
			t.Errorf("intsetEach(%s) = %v, %v", tt.want, back, err)
		}
	}
	for _, bad := range []string{"0200", "0300000001000000aaaaaa", "0200000002000000aaaa"} {
		blob, _ := hex.DecodeString(bad)
		if _, err := intsetEach(blob, func(int64) {}); !errors.Is(err, errIntset) {
			t.Errorf("intsetEach(%s): err %v", bad, err)
		}
	}
}

func TestQuicklistAllowInsert(t *testing.T) {
	tests := []struct {
		nodeSize, count, fill, sz int
		want                      bool
	}{
		{7, 1, -2, 10, true},
		{8000, 100, -2, 176, true},  // 8000+176+8 = 8184
		{8000, 100, -2, 185, false}, // 8193
		{4000, 10, -1, 88, true},    // 4096
		{4000, 10, -1, 89, false},
		{16000, 10, -3, 376, true},
		{100, 5, 5, 10, false}, // count limit
		{100, 4, 5, 10, true},
		{8180, 1, 128, 10, false}, // safety limit for positive fill
		{100, 1, -6, 10, false},   // unknown level: count 1 < -6 is false
	}
	for _, tt := range tests {
		if got := quicklistAllowInsert(tt.nodeSize, tt.count, tt.fill, tt.sz); got != tt.want {
			t.Errorf("quicklistAllowInsert(%d, %d, %d, %d) = %v, want %v", tt.nodeSize, tt.count, tt.fill, tt.sz, got, tt.want)
		}
	}
}
