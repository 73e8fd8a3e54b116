package zset

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// check verifies the counted B-tree's invariants below n and returns the
// subtree's items in order.
func check(t *testing.T, n *node, out []Item) []Item {
	t.Helper()
	if len(n.items) > maxItems {
		t.Fatalf("node holds %d items", len(n.items))
	}
	count := len(n.items)
	if n.leaf() {
		out = append(out, n.items...)
	} else {
		if len(n.children) != len(n.items)+1 {
			t.Fatalf("%d children for %d items", len(n.children), len(n.items))
		}
		for i, c := range n.children {
			out = check(t, c, out)
			count += c.count
			if i < len(n.items) {
				out = append(out, n.items[i])
			}
		}
	}
	if count != n.count {
		t.Fatalf("node count %d, holds %d", n.count, count)
	}
	return out
}

func sorted(m map[string]float64) []Item {
	var ref []Item
	for k, v := range m {
		ref = append(ref, Item{k, v})
	}
	slices.SortFunc(ref, func(a, b Item) int {
		if a.Less(b) {
			return -1
		}
		return 1
	})
	return ref
}

// TestModel runs random operations against a map and compares every
// query, in both encodings.
func TestModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lim   Limits
		ops   int
		space int
	}{
		{"listpack", Limits{Entries: 1 << 30, Value: 1 << 30}, 3000, 60},
		{"skiplist-small", Limits{Entries: 0, Value: 64}, 5000, 50},
		{"skiplist-large", Limits{Entries: 0, Value: 64}, 20000, 4000},
		{"converting", Limits{Entries: 100, Value: 64}, 8000, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.ops)))
			z := New()
			ref := map[string]float64{}
			for op := range tc.ops {
				m := "m" + strconv.Itoa(r.IntN(tc.space))
				score := float64(r.IntN(tc.space / 4))
				switch k := r.IntN(10); {
				case k < 5:
					got, res := z.Add([]byte(m), score, AddIncr*AddFlags(k%2), tc.lim)
					want := score
					if cur, ok := ref[m]; ok && k%2 == 1 {
						want += cur
					}
					if got != want || res == NaN || res == Nop {
						t.Fatalf("op %d: Add(%s) = %v %v, want %v", op, m, got, res, want)
					}
					ref[m] = want
				case k < 7:
					_, ok := ref[m]
					if z.Delete(m) != ok {
						t.Fatalf("op %d: Delete(%s) != %v", op, m, ok)
					}
					delete(ref, m)
				case k < 8 && len(ref) > 0:
					it := z.Pop(k%2 == 0)
					if ref[it.Member] != it.Score {
						t.Fatalf("op %d: popped %v, stored %v", op, it, ref[it.Member])
					}
					want := sorted(ref)
					if (k%2 == 0 && it != want[len(want)-1]) || (k%2 == 1 && it != want[0]) {
						t.Fatalf("op %d: popped %v", op, it)
					}
					delete(ref, it.Member)
				case k < 9 && len(ref) > 0:
					lo := r.IntN(len(ref))
					hi := lo + r.IntN(5)
					want := sorted(ref)
					n := z.DeleteRank(lo, hi)
					for _, it := range want[lo:min(hi, len(want))] {
						delete(ref, it.Member)
					}
					if n != min(hi, len(want))-lo {
						t.Fatalf("op %d: DeleteRank(%d,%d) = %d", op, lo, hi, n)
					}
				}
				if op%97 == 0 || op == tc.ops-1 {
					verify(t, z, ref, r)
				}
			}
			if tc.name == "listpack" && !z.IsListpack() || tc.name != "listpack" && z.Len() > 100 && z.IsListpack() {
				t.Fatalf("encoding %s with %d members", z.Encoding(), z.Len())
			}
		})
	}
}

func verify(t *testing.T, z *ZSet, ref map[string]float64, r *rand.Rand) {
	t.Helper()
	want := sorted(ref)
	if z.Len() != len(want) {
		t.Fatalf("Len %d, want %d", z.Len(), len(want))
	}
	if !z.IsListpack() && z.tree.root != nil {
		if got := check(t, z.tree.root, nil); !slices.Equal(got, want) {
			t.Fatalf("tree order differs")
		}
		if z.dict.Len() != len(want) {
			t.Fatalf("dict has %d members", z.dict.Len())
		}
	}
	if len(want) == 0 {
		return
	}
	if got := z.Items(0, len(want)); !slices.Equal(got, want) {
		t.Fatalf("Items differ:\n%v\n%v", got, want)
	}
	for range 20 {
		i := r.IntN(len(want))
		if z.At(i) != want[i] {
			t.Fatalf("At(%d) = %v, want %v", i, z.At(i), want[i])
		}
		if rk, ok := z.Rank(want[i].Member); !ok || rk != i {
			t.Fatalf("Rank(%s) = %d %v, want %d", want[i].Member, rk, ok, i)
		}
		var down []Item
		z.Descend(i, func(it Item) bool { down = append(down, it); return len(down) < 7 })
		for k, it := range down {
			if it != want[i-k] {
				t.Fatalf("Descend(%d)[%d] = %v, want %v", i, k, it, want[i-k])
			}
		}
		lo, hi := float64(r.IntN(100)), float64(r.IntN(100))
		sr := ScoreRange{Min: lo, Max: hi, MinEx: r.IntN(2) == 0}
		a, b := z.ScoreSpan(&sr, false)
		wa, wb := 0, 0
		for k, it := range want {
			if it.Score < lo || (sr.MinEx && it.Score == lo) {
				wa = k + 1
			}
			if it.Score <= hi {
				wb = k + 1
			}
		}
		if wb <= wa {
			wa, wb = 0, 0
		}
		if a != wa || b != wb {
			t.Fatalf("ScoreSpan(%+v) = %d,%d want %d,%d", sr, a, b, wa, wb)
		}
	}
	if cp := z.Copy().(*ZSet); !slices.Equal(cp.Items(0, cp.Len()), want) || cp.Encoding() != z.Encoding() {
		t.Fatalf("Copy differs")
	}
	seen := map[string]bool{}
	cur := uint64(0)
	for {
		cur = z.Scan(cur, func(it Item) { seen[it.Member] = true })
		if cur == 0 {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("Scan saw %d of %d", len(seen), len(want))
	}
}

func TestAddFlags(t *testing.T) {
	lim := Limits{Entries: 128, Value: 64}
	for _, tc := range []struct {
		name      string
		cur       float64 // NaN: member absent
		score     float64
		flags     AddFlags
		wantScore float64
		want      AddResult
	}{
		{"add", math.NaN(), 1, 0, 1, Added},
		{"same", 1, 1, 0, 1, Same},
		{"update", 1, 2, 0, 2, Updated},
		{"nx existing", 1, 2, AddNX, 1, Nop},
		{"nx new", math.NaN(), 2, AddNX, 2, Added},
		{"xx new", math.NaN(), 2, AddXX, 0, Nop},
		{"gt lower", 5, 2, AddGT, 5, Nop},
		{"gt higher", 5, 7, AddGT, 7, Updated},
		{"lt higher", 5, 7, AddLT, 5, Nop},
		{"gt new", math.NaN(), 3, AddGT, 3, Added},
		{"incr", 5, 2, AddIncr, 7, Updated},
		{"incr nan", math.Inf(1), math.Inf(-1), AddIncr, 0, NaN},
		{"nan", math.NaN(), math.NaN(), 0, 0, NaN},
		{"incr gt lower", 5, -1, AddIncr | AddGT, 5, Nop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := New()
			if !math.IsNaN(tc.cur) {
				z.Insert("m", tc.cur, lim)
			}
			got, res := z.Add([]byte("m"), tc.score, tc.flags, lim)
			if got != tc.wantScore || res != tc.want {
				t.Fatalf("Add = %v %v, want %v %v", got, res, tc.wantScore, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"-1.5", -1.5, true}, {".5", 0.5, true}, {"5.", 5, true},
		{"1e5", 1e5, true}, {"0x10", 16, true}, {"0x1.8", 1.5, true}, {"inf", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true}, {"+inf", math.Inf(1), true},
		{"", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"nan", 0, false}, {"1e400", 0, false},
		{"1e-400", 0, false}, {"1_0", 0, false}, {"abc", 0, false}, {"1e", 0, false}, {"0x", 0, false},
		{"4.9e-324", 4.9e-324, true}, {"--1", 0, false},
	} {
		got, ok := ParseScore([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseScore(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		min, max string
		want     ScoreRange
		ok       bool
	}{
		{"1", "2", ScoreRange{Min: 1, Max: 2}, true},
		{"(1", "(2", ScoreRange{Min: 1, Max: 2, MinEx: true, MaxEx: true}, true},
		{"", "(", ScoreRange{MaxEx: true}, true},
		{"( 1", "1e400", ScoreRange{Min: 1, Max: math.Inf(1), MinEx: true}, true},
		{" ", "1", ScoreRange{}, false},
		{"nan", "1", ScoreRange{}, false},
		{"1", "x", ScoreRange{}, false},
		{"1\x00x", "2", ScoreRange{Min: 1, Max: 2}, true},
	} {
		got, ok := ParseScoreRange([]byte(tc.min), []byte(tc.max))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseScoreRange(%q,%q) = %+v %v", tc.min, tc.max, got, ok)
		}
	}
	for _, tc := range []struct {
		min, max  string
		ok, empty bool
	}{
		{"-", "+", true, false}, {"[a", "(b", true, false}, {"+", "-", true, true},
		{"-", "-", true, true}, {"[a", "[a", true, false}, {"(a", "[a", true, true},
		{"a", "+", false, false}, {"", "+", false, false}, {"-x", "+", false, false},
		{"[", "+", true, false},
	} {
		got, ok := ParseLexRange([]byte(tc.min), []byte(tc.max))
		if ok != tc.ok || (ok && got.empty() != tc.empty) {
			t.Errorf("ParseLexRange(%q,%q) = %+v %v", tc.min, tc.max, got, ok)
		}
	}
}

func TestEncodingThresholds(t *testing.T) {
	lim := Limits{Entries: 3, Value: 4}
	z := New()
	for i, m := range []string{"a", "b", "c"} {
		z.Insert(m, float64(i), lim)
	}
	if z.Encoding() != "listpack" {
		t.Fatalf("3 members: %s", z.Encoding())
	}
	z.Insert("d", 4, lim)
	if z.Encoding() != "skiplist" {
		t.Fatalf("4 members: %s", z.Encoding())
	}
	z2 := New()
	z2.Insert("abcde", 1, lim)
	if z2.Encoding() != "skiplist" {
		t.Fatalf("long member: %s", z2.Encoding())
	}
}

func BenchmarkInsertRandom(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	z := New()
	lim := Limits{Entries: 128, Value: 64}
	for i := 0; b.Loop(); i++ {
		z.Insert("member:"+strconv.Itoa(i), r.Float64(), lim)
	}
}
