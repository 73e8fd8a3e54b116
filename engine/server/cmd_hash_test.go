package server

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestSampleUnique(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tests := []struct{ count, size int }{
		{1, 2}, {1, 1000}, {10, 1000}, {333, 1000}, {334, 1000}, {999, 1000},
	}
	for _, tt := range tests {
		all := func() []string {
			out := make([]string, tt.size)
			for i := range out {
				out[i] = strconv.Itoa(i)
			}
			return out
		}
		random := func() string { return strconv.Itoa(r.IntN(tt.size)) }
		got := sampleUnique(r, tt.count, tt.size, all, random, func(s string) string { return s })
		if len(got) != tt.count {
			t.Fatalf("count %d of %d: got %d elements", tt.count, tt.size, len(got))
		}
		seen := map[string]bool{}
		for _, e := range got {
			n, err := strconv.Atoi(e)
			if err != nil || n < 0 || n >= tt.size || seen[e] {
				t.Fatalf("count %d of %d: bad or repeated element %q", tt.count, tt.size, e)
			}
			seen[e] = true
		}
	}
}
