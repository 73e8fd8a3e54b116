package set

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func members(s *Set) []string {
	m := s.Members()
	sort.Strings(m)
	return m
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-0", 0, false}, {"01", 0, false},
		{"+1", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"", 0, false},
		{"-", 0, false}, {"1.0", 0, false}, {"abc", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEncodings(t *testing.T) {
	tests := []struct {
		name   string
		first  string
		adds   []string
		max    int64
		want   string
		sorted []string
	}{
		{"ints", "3", []string{"3", "1", "2", "1"}, 512, "intset", []string{"1", "2", "3"}},
		{"string first", "a", []string{"a", "1"}, 512, "hashtable", []string{"1", "a"}},
		{"string later", "1", []string{"1", "x"}, 512, "hashtable", []string{"1", "x"}},
		{"non canonical int", "1", []string{"1", "01"}, 512, "hashtable", []string{"01", "1"}},
		{"over the limit", "1", []string{"1", "2", "3"}, 2, "hashtable", []string{"1", "2", "3"}},
		{"at the limit", "1", []string{"1", "2"}, 2, "intset", []string{"1", "2"}},
		{"zero limit", "1", []string{"1"}, 0, "hashtable", []string{"1"}},
		{"empty member", "", []string{""}, 512, "hashtable", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New([]byte(tt.first))
			for _, m := range tt.adds {
				s.Add([]byte(m), tt.max)
			}
			if s.Encoding() != tt.want {
				t.Fatalf("encoding %s, want %s", s.Encoding(), tt.want)
			}
			if got := members(s); !slices.Equal(got, tt.sorted) {
				t.Fatalf("members %q, want %q", got, tt.sorted)
			}
			cp := s.Copy().(*Set)
			cp.Add([]byte("extra"), tt.max)
			if s.Has([]byte("extra")) || cp.Encoding() != "hashtable" {
				t.Fatal("Copy is not independent")
			}
		})
	}
}

func TestAddRemoveHas(t *testing.T) {
	for _, enc := range []string{"intset", "hashtable"} {
		t.Run(enc, func(t *testing.T) {
			s := NewIntset()
			if enc == "hashtable" {
				s = New([]byte("x"))
			}
			for i := range 10 {
				if !s.Add(fmt.Appendf(nil, "%d", i), 512) {
					t.Fatalf("Add(%d) reported existing", i)
				}
			}
			if s.Add([]byte("5"), 512) {
				t.Fatal("second Add(5) reported new")
			}
			if !s.Remove([]byte("5")) || s.Remove([]byte("5")) || s.Remove([]byte("abc")) {
				t.Fatal("Remove results wrong")
			}
			if s.Has([]byte("5")) || !s.Has([]byte("9")) || s.Has([]byte("09")) {
				t.Fatal("Has results wrong")
			}
			if s.Len() != 9 || s.Encoding() != enc {
				t.Fatalf("len %d encoding %s", s.Len(), s.Encoding())
			}
			if enc == "intset" && !slices.IsSorted(s.ints) {
				t.Fatal("intset not sorted")
			}
		})
	}
}

func TestRandomPopScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, first := range []string{"0", "m"} {
		for _, n := range []int{1, 10, 400} {
			s := New([]byte(first))
			for i := range n {
				s.Add(fmt.Appendf(nil, "%s%d", first[:0], i), 512)
			}
			for range 20 {
				if m := s.Random(r); !s.Has([]byte(m)) {
					t.Fatalf("Random returned non-member %q", m)
				}
			}
			seen := map[string]bool{}
			var cursor uint64
			for steps := 0; ; steps++ {
				cursor = s.ScanStep(cursor, func(m, _ []byte) { seen[string(m)] = true })
				if cursor == 0 {
					break
				}
				if steps > 10*n {
					t.Fatal("scan does not terminate")
				}
			}
			if len(seen) != n {
				t.Fatalf("scan saw %d of %d", len(seen), n)
			}
			popped := map[string]bool{}
			for s.Len() > 0 {
				m := s.Pop(r)
				if popped[m] || !seen[m] {
					t.Fatalf("Pop returned %q twice or unknown", m)
				}
				popped[m] = true
			}
			if len(popped) != n {
				t.Fatalf("popped %d of %d", len(popped), n)
			}
		}
	}
}
