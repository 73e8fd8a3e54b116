package rdb

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLZFCompressReference compares with lzf_compress built with Redis's
// lzfP.h settings and a zeroed hash table (vectors produced by the C code).
func TestLZFCompressReference(t *testing.T) {
	tests := []struct{ in, want string }{
		{strings.Repeat("a", 40), "016161e01b00016161"},
		{"hello hello hello hello hello world, hello world, hello redis",
			"0668656c6c6f2068e00e0505776f726c642ca01ee0040c047265646973"},
		{"abcabcabcabcabcabcab", "0361626361e00502016162"},
		{"0123456789012345678901234567890123456789xyz0123456789012345678",
			"0a3031323334353637383930e014090278797ae00a20"},
	}
	var c lzfCompressor
	for _, tt := range tests {
		out := make([]byte, len(tt.in)-3)
		n := c.compress([]byte(tt.in), out, len(tt.in)-4)
		if got := hex.EncodeToString(out[:n]); got != tt.want {
			t.Errorf("compress(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestLZFRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	var c lzfCompressor
	for i := range 500 {
		n := 1 + rnd.IntN(20000)
		in := make([]byte, n)
		alpha := 1 + rnd.IntN(255)
		for j := range in {
			in[j] = byte(rnd.IntN(alpha))
			if j > 8 && rnd.IntN(20) == 0 {
				k := copy(in[j:], in[j-1-rnd.IntN(j):j])
				j += k
			}
		}
		limit := n + n/32 + 64 // literal runs cost one byte per 32
		out := make([]byte, limit+1)
		m := c.compress(in, out, limit)
		if m == 0 {
			t.Fatalf("case %d: %d bytes did not fit in %d", i, n, limit)
		}
		back, err := lzfDecompress(out[:m], uint64(n))
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("case %d: round trip of %d bytes failed: %v", i, n, err)
		}
		// The Redis contract: 0 when the output would not fit.
		if m > 8 {
			small := make([]byte, m)
			if k := c.compress(in, small, m-1); k != 0 {
				t.Fatalf("case %d: compress into %d bytes returned %d, needs %d", i, m-1, k, m)
			}
		}
	}
}

func TestLZFDecompressErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		ulen uint64
	}{
		{"zero length", []byte{0, 'a'}, 0},
		{"empty input", nil, 5},
		{"impossible ratio", []byte{0, 'a'}, 1000},
		{"short literal", []byte{5, 'a'}, 6},
		{"reference before start", []byte{0x20, 0x05}, 3},
		{"length mismatch", []byte{1, 'a', 'b'}, 3},
		{"output overflow", []byte{2, 'a', 'b', 'c'}, 2},
	}
	for _, tt := range tests {
		if out, err := lzfDecompress(tt.in, tt.ulen); err == nil {
			t.Errorf("%s: decompressed to %q, want an error", tt.name, out)
		}
	}
}
