package list

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestEntryRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		elem := bytes.Repeat([]byte{'x'}, n)
		buf := make([]byte, entrySize(n)+2)
		putEntry(buf[1:len(buf)-1], elem)
		got, next := readNext(buf, 1)
		if !bytes.Equal(got, elem) || next != len(buf)-1 {
			t.Fatalf("readNext n=%d: len %d next %d", n, len(got), next)
		}
		got, start := readPrev(buf, len(buf)-1)
		if !bytes.Equal(got, elem) || start != 1 {
			t.Fatalf("readPrev n=%d: len %d start %d", n, len(got), start)
		}
	}
}

// contents reads the whole list forwards.
func contents(l *List) []string {
	var out []string
	it := l.IterAt(0, false)
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		out = append(out, string(e))
	}
	return out
}

func build(elems ...string) *List {
	l := New()
	for _, e := range elems {
		l.PushBack([]byte(e))
	}
	return l
}

func TestOperations(t *testing.T) {
	big := strings.Repeat("B", chunkMax+10)
	tests := []struct {
		name string
		init []string
		op   func(l *List) any
		want []string
		ret  any
	}{
		{"pushfront", []string{"b"}, func(l *List) any { l.PushFront([]byte("a")); return l.Len() }, []string{"a", "b"}, 2},
		{"popfront", []string{"a", "b"}, func(l *List) any { e, _ := l.PopFront(); return string(e) }, []string{"b"}, "a"},
		{"popback", []string{"a", "b"}, func(l *List) any { e, _ := l.PopBack(); return string(e) }, []string{"a"}, "b"},
		{"pop empty", nil, func(l *List) any { _, ok := l.PopBack(); return ok }, nil, false},
		{"index", []string{"a", "b", "c"}, func(l *List) any { e, _ := l.Index(2); return string(e) }, []string{"a", "b", "c"}, "c"},
		{"index out", []string{"a"}, func(l *List) any { _, ok := l.Index(1); return ok }, []string{"a"}, false},
		{"set", []string{"a", "b", "c"}, func(l *List) any { return l.Set(1, []byte("BBB")) }, []string{"a", "BBB", "c"}, true},
		{"set shorter", []string{"aaaa", "bbbb", "cccc"}, func(l *List) any { return l.Set(1, nil) }, []string{"aaaa", "", "cccc"}, true},
		{"set out", []string{"a"}, func(l *List) any { return l.Set(-1, []byte("x")) }, []string{"a"}, false},
		{"set big", []string{"a", "b"}, func(l *List) any { return l.Set(0, []byte(big)) }, []string{big, "b"}, true},
		{"insert before", []string{"a", "b", "b"}, func(l *List) any { return l.Insert([]byte("b"), []byte("x"), false) }, []string{"a", "x", "b", "b"}, true},
		{"insert after", []string{"a", "b", "b"}, func(l *List) any { return l.Insert([]byte("b"), []byte("x"), true) }, []string{"a", "b", "x", "b"}, true},
		{"insert missing", []string{"a"}, func(l *List) any { return l.Insert([]byte("z"), []byte("x"), true) }, []string{"a"}, false},
		{"remove all", []string{"a", "x", "b", "x"}, func(l *List) any { return l.Remove([]byte("x"), 0, false) }, []string{"a", "b"}, 2},
		{"remove head 1", []string{"x", "a", "x"}, func(l *List) any { return l.Remove([]byte("x"), 1, false) }, []string{"a", "x"}, 1},
		{"remove tail 1", []string{"x", "a", "x"}, func(l *List) any { return l.Remove([]byte("x"), 1, true) }, []string{"x", "a"}, 1},
		{"remove none", []string{"a"}, func(l *List) any { return l.Remove([]byte("x"), 0, true) }, []string{"a"}, 0},
		{"delete front", []string{"a", "b", "c"}, func(l *List) any { l.DeleteFront(2); return l.Len() }, []string{"c"}, 1},
		{"delete back all", []string{"a", "b", "c"}, func(l *List) any { l.DeleteBack(5); return l.Len() }, nil, 0},
		{"copy", []string{"a", "b"}, func(l *List) any { return contents(l.Copy().(*List)) }, []string{"a", "b"}, []string{"a", "b"}},
		{"reverse iter", []string{"a", "b", "c"}, func(l *List) any {
			it := l.IterAt(1, true)
			var out []string
			for e, ok := it.Next(); ok; e, ok = it.Next() {
				out = append(out, string(e))
			}
			return out
		}, []string{"a", "b", "c"}, []string{"b", "a"}},
		{"encoding", nil, func(l *List) any { return l.Encoding() }, nil, "quicklist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := build(tt.init...)
			ret := tt.op(l)
			if fmt.Sprint(ret) != fmt.Sprint(tt.ret) {
				t.Errorf("returned %v, want %v", ret, tt.ret)
			}
			if got := contents(l); !slices.Equal(got, tt.want) {
				t.Errorf("contents %q, want %q", got, tt.want)
			}
			if l.Len() != len(tt.want) {
				t.Errorf("Len %d, want %d", l.Len(), len(tt.want))
			}
		})
	}
}

// TestAgainstModel applies random operations to a List and to a plain
// slice and compares them after every step, with element sizes that make
// many chunks and some oversized single-element chunks.
func TestAgainstModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	elem := func() []byte {
		switch rnd.IntN(20) {
		case 0:
			return bytes.Repeat([]byte{'L'}, chunkMax+rnd.IntN(200))
		case 1:
			return bytes.Repeat([]byte{'m'}, 100+rnd.IntN(300))
		default:
			return fmt.Appendf(nil, "%d", rnd.IntN(30))
		}
	}
	for round := range 20 {
		l := New()
		var model []string
		for step := range 3000 {
			op := rnd.IntN(13)
			switch op {
			case 0, 1:
				e := elem()
				l.PushBack(e)
				model = append(model, string(e))
			case 2, 3:
				e := elem()
				l.PushFront(e)
				model = slices.Insert(model, 0, string(e))
			case 4:
				e, ok := l.PopFront()
				if ok != (len(model) > 0) || (ok && string(e) != model[0]) {
					t.Fatalf("round %d step %d: PopFront %q %v", round, step, e, ok)
				}
				if ok {
					model = model[1:]
				}
			case 5:
				e, ok := l.PopBack()
				if ok != (len(model) > 0) || (ok && string(e) != model[len(model)-1]) {
					t.Fatalf("round %d step %d: PopBack %q %v", round, step, e, ok)
				}
				if ok {
					model = model[:len(model)-1]
				}
			case 6:
				i := rnd.IntN(len(model) + 2)
				e, ok := l.Index(i)
				if ok != (i < len(model)) || (ok && string(e) != model[i]) {
					t.Fatalf("round %d step %d: Index(%d) %q %v", round, step, i, e, ok)
				}
			case 7:
				i, e := rnd.IntN(len(model)+1), elem()
				if l.Set(i, e) != (i < len(model)) {
					t.Fatalf("round %d step %d: Set(%d)", round, step, i)
				}
				if i < len(model) {
					model[i] = string(e)
				}
			case 8:
				pivot, e, after := elem(), elem(), rnd.IntN(2) == 0
				at := slices.Index(model, string(pivot))
				if l.Insert(pivot, e, after) != (at >= 0) {
					t.Fatalf("round %d step %d: Insert", round, step)
				}
				if at >= 0 {
					if after {
						at++
					}
					model = slices.Insert(model, at, string(e))
				}
			case 9:
				target, count, fromTail := elem(), rnd.IntN(3), rnd.IntN(2) == 0
				want := modelRemove(&model, string(target), count, fromTail)
				if got := l.Remove(target, count, fromTail); got != want {
					t.Fatalf("round %d step %d: Remove %d, want %d", round, step, got, want)
				}
			case 10:
				k := rnd.IntN(5)
				l.DeleteFront(k)
				model = model[min(k, len(model)):]
			case 11:
				k := rnd.IntN(5)
				l.DeleteBack(k)
				model = model[:len(model)-min(k, len(model))]
			case 12:
				if len(model) > 0 {
					i := rnd.IntN(len(model))
					it := l.IterAt(i, true)
					for j := i; j >= max(0, i-50); j-- {
						e, ok := it.Next()
						if !ok || string(e) != model[j] {
							t.Fatalf("round %d step %d: reverse iter at %d", round, step, j)
						}
					}
				}
			}
			if l.Len() != len(model) {
				t.Fatalf("round %d step %d op %d: Len %d, want %d", round, step, op, l.Len(), len(model))
			}
			checkChunks(t, l)
		}
		if got := contents(l); !slices.Equal(got, model) {
			t.Fatalf("round %d: contents differ (len %d vs %d)", round, len(got), len(model))
		}
		if got := contents(l.Copy().(*List)); !slices.Equal(got, model) {
			t.Fatalf("round %d: copy differs", round)
		}
	}
}

func modelRemove(model *[]string, target string, count int, fromTail bool) int {
	m := *model
	removed := 0
	keep := make([]bool, len(m))
	for k := range m {
		i := k
		if fromTail {
			i = len(m) - 1 - k
		}
		if m[i] == target && (count == 0 || removed < count) {
			removed++
			continue
		}
		keep[i] = true
	}
	out := m[:0:0]
	for i, e := range m {
		if keep[i] {
			out = append(out, e)
		}
	}
	*model = out
	return removed
}

// checkChunks verifies the chunk invariants: counts add up, no empty
// chunk, no multi-element chunk above chunkMax, entries decode exactly.
func checkChunks(t *testing.T, l *List) {
	t.Helper()
	total := 0
	for i, c := range l.chunks {
		if c.n <= 0 {
			t.Fatalf("chunk %d has %d entries", i, c.n)
		}
		if c.n > 1 && c.size() > chunkMax {
			t.Fatalf("chunk %d holds %d entries in %d bytes", i, c.n, c.size())
		}
		k, p := 0, int(c.lo)
		for p < int(c.hi) {
			_, p = readNext(c.buf, p)
			k++
		}
		if p != int(c.hi) || k != int(c.n) {
			t.Fatalf("chunk %d decodes to %d entries ending at %d, has n=%d hi=%d", i, k, p, c.n, c.hi)
		}
		total += k
	}
	if total != l.n {
		t.Fatalf("chunks hold %d entries, list says %d", total, l.n)
	}
}

// TestMixedEnds pushes alternately at both ends of one chunk: the buffer
// must not be reallocated on every push.
func TestMixedEnds(t *testing.T) {
	l := New()
	for i := range 1000 {
		if i%2 == 0 {
			l.PushFront([]byte("ab"))
		} else {
			l.PushBack([]byte("cd"))
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		l.PushFront([]byte("ab"))
		l.PushBack([]byte("cd"))
		l.PopFront()
		l.PopBack()
	})
	if allocs > 0.1 {
		t.Fatalf("%.2f allocations per round of pushes and pops", allocs)
	}
}

// TestMemoryPerElement checks the packing: a million small elements must
// take a few bytes each, not a Go string each.
func TestMemoryPerElement(t *testing.T) {
	l := New()
	const n = 1_000_000
	for i := range n {
		l.PushBack(fmt.Appendf(nil, "%d", i%1000))
	}
	bytesUsed := 0
	for _, c := range l.chunks {
		bytesUsed += len(c.buf)
	}
	if per := float64(bytesUsed) / n; per > 6.5 {
		t.Fatalf("%.2f bytes per element", per)
	}
	e, _ := l.Index(n - 1)
	if string(e) != "999" {
		t.Fatalf("last element %q", e)
	}
}

func BenchmarkPushPop(b *testing.B) {
	l := New()
	elem := []byte("element")
	for i := 0; i < b.N; i++ {
		l.PushBack(elem)
		if i%2 == 1 {
			l.PopFront()
		}
	}
}

func BenchmarkIndexMiddle(b *testing.B) {
	l := New()
	for i := range 1_000_000 {
		l.PushBack(fmt.Appendf(nil, "%d", i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Index(500_000 + i%1000)
	}
}
