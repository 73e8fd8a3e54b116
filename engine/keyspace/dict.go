package keyspace

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
)

// Dict is a hash table with Redis's dict properties that Go maps lack:
// a cursor-based Scan that returns every element present for the whole
// scan at least once even across resizes (Redis's reverse-binary cursor),
// fair random sampling, and incremental rehashing so growing a table of
// millions of keys never stops the server for long.
//
// Dict is not safe for concurrent use.
type Dict[V any] struct {
	seed maphash.Seed
	ht   [2]table[V]
	// rehashIdx is the next bucket of ht[0] to move to ht[1]; -1 when no
	// rehash is in progress.
	rehashIdx int
	// scans counts Scan callers that asked to pause rehashing (unused for
	// now: Scan is safe during rehash).
}

type table[V any] struct {
	buckets []*node[V]
	used    int
}

type node[V any] struct {
	next *node[V]
	key  string
	val  V
}

const dictInitialSize = 4

// NewDict returns an empty dict.
func NewDict[V any]() *Dict[V] {
	return &Dict[V]{seed: maphash.MakeSeed(), rehashIdx: -1}
}

// Len returns the number of elements.
func (d *Dict[V]) Len() int { return d.ht[0].used + d.ht[1].used }

func (d *Dict[V]) hash(key string) uint64 { return maphash.String(d.seed, key) }

func (d *Dict[V]) rehashing() bool { return d.rehashIdx >= 0 }

// rehashStep moves up to n buckets from ht[0] to ht[1], visiting at most
// 10*n empty buckets, like dictRehash.
func (d *Dict[V]) rehashStep(n int) {
	if !d.rehashing() {
		return
	}
	empty := n * 10
	t0 := &d.ht[0]
	for ; n > 0 && t0.used > 0; n-- {
		for t0.buckets[d.rehashIdx] == nil {
			d.rehashIdx++
			empty--
			if empty == 0 {
				return
			}
		}
		mask := uint64(len(d.ht[1].buckets) - 1)
		for e := t0.buckets[d.rehashIdx]; e != nil; {
			next := e.next
			i := d.hash(e.key) & mask
			e.next = d.ht[1].buckets[i]
			d.ht[1].buckets[i] = e
			t0.used--
			d.ht[1].used++
			e = next
		}
		t0.buckets[d.rehashIdx] = nil
		d.rehashIdx++
	}
	if t0.used == 0 {
		d.ht[0] = d.ht[1]
		d.ht[1] = table[V]{}
		d.rehashIdx = -1
	}
}

// RehashMilliseconds-free variant: Rehash moves up to n buckets; the server
// calls it from its cron so idle tables finish rehashing. It reports whether
// a rehash is still in progress.
func (d *Dict[V]) Rehash(n int) bool {
	d.rehashStep(n)
	return d.rehashing()
}

func (d *Dict[V]) expandIfNeeded() {
	if d.rehashing() {
		return
	}
	if len(d.ht[0].buckets) == 0 {
		d.ht[0].buckets = make([]*node[V], dictInitialSize)
		return
	}
	if d.ht[0].used >= len(d.ht[0].buckets) {
		d.resize(d.ht[0].used + 1)
	}
}

// resize starts an incremental rehash into a table of the next power of two
// >= size.
func (d *Dict[V]) resize(size int) {
	n := dictInitialSize
	if size > n {
		n = 1 << bits.Len(uint(size-1))
	}
	if n == len(d.ht[0].buckets) {
		return
	}
	if d.ht[0].used == 0 {
		d.ht[0] = table[V]{buckets: make([]*node[V], n)}
		return
	}
	d.ht[1] = table[V]{buckets: make([]*node[V], n)}
	d.rehashIdx = 0
}

// ShrinkIfNeeded starts shrinking a table that is less than 10% full, as
// Redis's htNeedsResize/dictResize do from the server cron.
func (d *Dict[V]) ShrinkIfNeeded() {
	if d.rehashing() {
		return
	}
	size := len(d.ht[0].buckets)
	if size > dictInitialSize && d.ht[0].used*100/size < 10 {
		d.resize(max(d.ht[0].used, dictInitialSize))
	}
}

func (d *Dict[V]) find(key string) *node[V] {
	if d.Len() == 0 {
		return nil
	}
	if d.rehashing() {
		d.rehashStep(1)
	}
	h := d.hash(key)
	for t := 0; t <= 1; t++ {
		tb := &d.ht[t]
		if len(tb.buckets) == 0 {
			break
		}
		for e := tb.buckets[h&uint64(len(tb.buckets)-1)]; e != nil; e = e.next {
			if e.key == key {
				return e
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// Get returns a pointer to the value stored under key, or nil. The pointer
// stays valid until the key is deleted; it may be used to update the value
// in place.
func (d *Dict[V]) Get(key string) *V {
	if e := d.find(key); e != nil {
		return &e.val
	}
	return nil
}

// Has reports whether key is present.
func (d *Dict[V]) Has(key string) bool { return d.find(key) != nil }

// GetOrAdd returns a pointer to the value under key, adding a zero value
// (with the given key string, which the dict keeps) when missing. added
// reports whether it was missing.
func (d *Dict[V]) GetOrAdd(key string) (v *V, added bool) {
	if e := d.find(key); e != nil {
		return &e.val, false
	}
	d.expandIfNeeded()
	t := &d.ht[0]
	if d.rehashing() {
		t = &d.ht[1]
	}
	i := d.hash(key) & uint64(len(t.buckets)-1)
	e := &node[V]{key: key, next: t.buckets[i]}
	t.buckets[i] = e
	t.used++
	return &e.val, true
}

// Set stores val under key.
func (d *Dict[V]) Set(key string, val V) {
	p, _ := d.GetOrAdd(key)
	*p = val
}

// Key returns the dict's own copy of key, so other structures (the expires
// dict) can share the string instead of copying it.
func (d *Dict[V]) Key(key string) (string, bool) {
	if e := d.find(key); e != nil {
		return e.key, true
	}
	return "", false
}

// Delete removes key and reports whether it was present.
func (d *Dict[V]) Delete(key string) (V, bool) {
	var zero V
	if d.Len() == 0 {
		return zero, false
	}
	if d.rehashing() {
		d.rehashStep(1)
	}
	h := d.hash(key)
	for t := 0; t <= 1; t++ {
		tb := &d.ht[t]
		if len(tb.buckets) == 0 {
			break
		}
		i := h & uint64(len(tb.buckets)-1)
		var prev *node[V]
		for e := tb.buckets[i]; e != nil; prev, e = e, e.next {
			if e.key != key {
				continue
			}
			if prev == nil {
				tb.buckets[i] = e.next
			} else {
				prev.next = e.next
			}
			tb.used--
			v := e.val
			return v, true
		}
		if !d.rehashing() {
			break
		}
	}
	return zero, false
}

// Clear empties the dict.
func (d *Dict[V]) Clear() {
	d.ht = [2]table[V]{}
	d.rehashIdx = -1
}

// Random returns a random element (key, value pointer), or ok == false when
// the dict is empty. Like dictGetFairRandomKey it picks a random non-empty
// bucket, then a random element of its chain.
func (d *Dict[V]) Random(r *rand.Rand) (string, *V, bool) {
	if d.Len() == 0 {
		return "", nil, false
	}
	if d.rehashing() {
		d.rehashStep(1)
	}
	var head *node[V]
	if d.rehashing() {
		s0 := len(d.ht[0].buckets)
		total := s0 + len(d.ht[1].buckets)
		for head == nil {
			// Buckets of ht[0] below rehashIdx are empty.
			i := d.rehashIdx + r.IntN(total-d.rehashIdx)
			if i >= s0 {
				head = d.ht[1].buckets[i-s0]
			} else {
				head = d.ht[0].buckets[i]
			}
		}
	} else {
		b := d.ht[0].buckets
		for head == nil {
			head = b[r.IntN(len(b))]
		}
	}
	n := 0
	for e := head; e != nil; e = e.next {
		n++
	}
	e := head
	for k := r.IntN(n); k > 0; k-- {
		e = e.next
	}
	return e.key, &e.val, true
}

// Scan calls fn for the elements of one or more buckets starting at cursor
// and returns the next cursor (0 when the iteration is complete), with
// Redis's dictScan guarantees: an element present from the start to the end
// of a full iteration is returned at least once; it may be returned more
// than once. fn must not add or delete elements.
func (d *Dict[V]) Scan(cursor uint64, fn func(key string, v *V)) uint64 {
	if d.Len() == 0 {
		return 0
	}
	emit := func(e *node[V]) {
		for ; e != nil; e = e.next {
			fn(e.key, &e.val)
		}
	}
	if !d.rehashing() {
		t0 := &d.ht[0]
		m0 := uint64(len(t0.buckets) - 1)
		emit(t0.buckets[cursor&m0])
		cursor |= ^m0
		cursor = bits.Reverse64(cursor)
		cursor++
		return bits.Reverse64(cursor)
	}
	small, large := &d.ht[0], &d.ht[1]
	if len(small.buckets) > len(large.buckets) {
		small, large = large, small
	}
	m0 := uint64(len(small.buckets) - 1)
	m1 := uint64(len(large.buckets) - 1)
	emit(small.buckets[cursor&m0])
	for {
		emit(large.buckets[cursor&m1])
		cursor |= ^m1
		cursor = bits.Reverse64(cursor)
		cursor++
		cursor = bits.Reverse64(cursor)
		if cursor&(m0^m1) == 0 {
			break
		}
	}
	return cursor
}

// Range calls fn for every element until fn returns false. fn must not add
// or delete elements.
func (d *Dict[V]) Range(fn func(key string, v *V) bool) {
	for t := 0; t <= 1; t++ {
		for _, e := range d.ht[t].buckets {
			for ; e != nil; e = e.next {
				if !fn(e.key, &e.val) {
					return
				}
			}
		}
	}
}

// Buckets returns the total number of buckets (for INFO/DEBUG and tests).
func (d *Dict[V]) Buckets() int { return len(d.ht[0].buckets) + len(d.ht[1].buckets) }

// Expand pre-sizes an empty or small dict for n elements (RDB RESIZEDB
// hint), so loading does not rehash repeatedly.
func (d *Dict[V]) Expand(n int) {
	if d.rehashing() || n <= len(d.ht[0].buckets) {
		return
	}
	d.resize(n)
}
