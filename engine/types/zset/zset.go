package zset

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/hactl/hactl/engine/keyspace"
)

// Limits are the encoding thresholds (zset-max-listpack-entries and
// zset-max-listpack-value): a sorted set stays "listpack" while it has at
// most Entries members, none longer than Value bytes.
type Limits struct {
	Entries int64
	Value   int64
}

// ZSet is a sorted set. The zero value is not usable; call New.
type ZSet struct {
	// lp holds the members in order while the set is small ("listpack").
	lp []Item
	// big encoding ("skiplist"): tree orders the members, dict maps each
	// member to its score. Both share the member strings.
	tree tree
	dict *keyspace.Dict[float64]
}

// New returns an empty sorted set in the listpack encoding.
func New() *ZSet { return &ZSet{} }

// Len is the number of members.
func (z *ZSet) Len() int {
	if z.dict != nil {
		return z.tree.Len()
	}
	return len(z.lp)
}

// IsListpack reports whether the set uses the small encoding.
func (z *ZSet) IsListpack() bool { return z.dict == nil }

// Encoding is the OBJECT ENCODING name, as Redis 7.0 reports it.
func (z *ZSet) Encoding() string {
	if z.dict != nil {
		return "skiplist"
	}
	return "listpack"
}

// Copy returns a deep copy in the same encoding (COPY).
func (z *ZSet) Copy() any {
	c := &ZSet{}
	if z.dict == nil {
		c.lp = slices.Clone(z.lp)
		return c
	}
	c.dict = keyspace.NewDict[float64]()
	if z.tree.root != nil {
		c.tree.root = z.tree.root.clone()
	}
	c.tree.Ascend(0, func(it Item) bool {
		c.dict.Set(it.Member, it.Score)
		return true
	})
	return c
}

// Score returns member's score.
func (z *ZSet) Score(member string) (float64, bool) {
	if z.dict != nil {
		if p := z.dict.Get(member); p != nil {
			return *p, true
		}
		return 0, false
	}
	for i := range z.lp {
		if z.lp[i].Member == member {
			return z.lp[i].Score, true
		}
	}
	return 0, false
}

// lpIndex is the position of it in the listpack order.
func (z *ZSet) lpIndex(it Item) int {
	i, _ := slices.BinarySearchFunc(z.lp, it, func(a, b Item) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	return i
}

// Insert adds a member that is not present, converting to the big
// encoding first when the set would exceed lim (zsetAdd). The set keeps
// member.
func (z *ZSet) Insert(member string, score float64, lim Limits) {
	if z.dict == nil && (int64(len(z.lp))+1 > lim.Entries || int64(len(member)) > lim.Value) {
		z.convert()
	}
	z.put(Item{member, score})
}

func (z *ZSet) put(it Item) {
	if z.dict != nil {
		z.tree.Insert(it)
		z.dict.Set(it.Member, it.Score)
		return
	}
	if it.Score == 0 {
		it.Score = 0 // a listpack stores -0 as the integer 0
	}
	z.lp = slices.Insert(z.lp, z.lpIndex(it), it)
}

// convert switches to the big encoding.
func (z *ZSet) convert() {
	z.dict = keyspace.NewDict[float64]()
	for _, it := range z.lp {
		z.tree.Insert(it)
		z.dict.Set(it.Member, it.Score)
	}
	z.lp = nil
}

// take removes the stored item it and returns the stored copy.
func (z *ZSet) take(it Item) Item {
	if z.dict != nil {
		out, _ := z.tree.Delete(it)
		z.dict.Delete(it.Member)
		return out
	}
	i := z.lpIndex(it)
	out := z.lp[i]
	z.lp = slices.Delete(z.lp, i, i+1)
	return out
}

// Delete removes member and reports whether it was present.
func (z *ZSet) Delete(member string) bool {
	score, ok := z.Score(member)
	if ok {
		z.take(Item{member, score})
	}
	return ok
}

// AddFlags are ZADD's options.
type AddFlags uint8

// ZADD options.
const (
	AddNX AddFlags = 1 << iota
	AddXX
	AddGT
	AddLT
	AddIncr
)

// AddResult is what Add did (Redis's ZADD_OUT_* flags).
type AddResult uint8

// Add outcomes.
const (
	// Same: the member exists with that score already.
	Same AddResult = iota
	// Added: a new member.
	Added
	// Updated: the member's score changed.
	Updated
	// Nop: the flags prevented the operation.
	Nop
	// NaN: the score (or the incremented score) is not a number.
	NaN
)

// Add is Redis's zsetAdd: it adds member with score (or increments its
// score with AddIncr) under ZADD's NX/XX/GT/LT rules and returns the
// member's resulting score. member is copied when stored.
func (z *ZSet) Add(member []byte, score float64, f AddFlags, lim Limits) (float64, AddResult) {
	if math.IsNaN(score) {
		return 0, NaN
	}
	m := keyspace.Bytes2Str(member)
	cur, ok := z.Score(m)
	if !ok {
		if f&AddXX != 0 {
			return 0, Nop
		}
		z.Insert(string(member), score, lim)
		return score, Added
	}
	if f&AddNX != 0 {
		return cur, Nop
	}
	if f&AddIncr != 0 {
		score += cur
		if math.IsNaN(score) {
			return 0, NaN
		}
	}
	if (f&AddLT != 0 && score >= cur) || (f&AddGT != 0 && score <= cur) {
		return cur, Nop
	}
	if score == cur {
		return score, Same
	}
	it := z.take(Item{m, cur})
	it.Score = score
	z.put(it)
	return score, Updated
}

// Rank is member's 0-based rank in ascending order.
func (z *ZSet) Rank(member string) (int, bool) {
	score, ok := z.Score(member)
	if !ok {
		return 0, false
	}
	key := Item{member, score}
	if z.dict != nil {
		return z.tree.countBefore(func(it Item) bool { return it.Less(key) }), true
	}
	return z.lpIndex(key), true
}

// At returns the item of ascending rank i; 0 <= i < Len().
func (z *ZSet) At(i int) Item {
	if z.dict != nil {
		return z.tree.At(i)
	}
	return z.lp[i]
}

// Ascend visits the items from ascending rank start upwards while fn
// returns true. fn must not modify the set.
func (z *ZSet) Ascend(start int, fn func(Item) bool) {
	if z.dict != nil {
		z.tree.Ascend(start, fn)
		return
	}
	for i := max(start, 0); i < len(z.lp); i++ {
		if !fn(z.lp[i]) {
			return
		}
	}
}

// Descend visits the items from ascending rank start downwards while fn
// returns true. fn must not modify the set.
func (z *ZSet) Descend(start int, fn func(Item) bool) {
	if z.dict != nil {
		z.tree.Descend(start, fn)
		return
	}
	for i := min(start, len(z.lp)-1); i >= 0; i-- {
		if !fn(z.lp[i]) {
			return
		}
	}
}

// Items returns the items of ranks [lo, hi) in ascending order.
func (z *ZSet) Items(lo, hi int) []Item {
	if hi <= lo {
		return nil
	}
	out := make([]Item, 0, hi-lo)
	z.Ascend(lo, func(it Item) bool {
		out = append(out, it)
		return len(out) < hi-lo
	})
	return out
}

// DeleteRank removes the items of ranks [lo, hi) and returns how many.
func (z *ZSet) DeleteRank(lo, hi int) int {
	lo, hi = max(lo, 0), min(hi, z.Len())
	if hi <= lo {
		return 0
	}
	if z.dict == nil {
		z.lp = slices.Delete(z.lp, lo, hi)
		return hi - lo
	}
	for _, it := range z.Items(lo, hi) {
		z.take(it)
	}
	return hi - lo
}

// Pop removes and returns the lowest (or, with highest, the highest)
// item; the set must not be empty.
func (z *ZSet) Pop(highest bool) Item {
	if z.dict != nil {
		var it Item
		if highest {
			it = z.tree.PopMax()
		} else {
			it = z.tree.PopMin()
		}
		z.dict.Delete(it.Member)
		return it
	}
	i := 0
	if highest {
		i = len(z.lp) - 1
	}
	it := z.lp[i]
	z.lp = slices.Delete(z.lp, i, i+1)
	return it
}

// Random returns a random item (zsetTypeRandomElement); the set must not
// be empty.
func (z *ZSet) Random(r *rand.Rand) Item {
	if z.dict != nil {
		m, s, _ := z.dict.Random(r)
		return Item{m, *s}
	}
	return z.lp[r.IntN(len(z.lp))]
}

// RandomDistinct returns count distinct random items, count < Len().
func (z *ZSet) RandomDistinct(r *rand.Rand, count int) []Item {
	n := z.Len()
	if count*3 > n {
		// Many of them: shuffle the ranks and keep a prefix.
		idx := r.Perm(n)[:count]
		out := make([]Item, count)
		for i, k := range idx {
			out[i] = z.At(k)
		}
		return out
	}
	seen := make(map[string]struct{}, count)
	out := make([]Item, 0, count)
	for len(out) < count {
		it := z.Random(r)
		if _, dup := seen[it.Member]; dup {
			continue
		}
		seen[it.Member] = struct{}{}
		out = append(out, it)
	}
	return out
}

// Scan is ZSCAN over the big encoding: it visits the members of the dict
// buckets at cursor and returns the next cursor (Redis's dictScan
// guarantees). The listpack encoding returns everything with cursor 0.
func (z *ZSet) Scan(cursor uint64, fn func(Item)) uint64 {
	if z.dict == nil {
		for _, it := range z.lp {
			fn(it)
		}
		return 0
	}
	return z.dict.Scan(cursor, func(m string, s *float64) { fn(Item{m, *s}) })
}
