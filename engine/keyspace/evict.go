package keyspace

// Eviction support: the keyspace half of Redis's evict.c.
//
//   - Policy, the maxmemory-policy values and their properties.
//   - The LFU counter (LFULogIncr, LFUDecrAndReturn), kept like Redis in the
//     24 bits of a value's lru field: 16 bits of decay time in minutes and
//     an 8-bit logarithmic access counter; new keys start at LFUInitVal.
//   - Dict.SomeKeys, a cheap sample of consecutive buckets
//     (dictGetSomeKeys).
//   - EvictionPool, the pool of the 16 best candidates kept across calls,
//     filled by DB.PopulatePool (evictionPoolPopulate) and drained by
//     EvictionPool.Best.
//
// The server decides when to evict and deletes the keys (engine/server).

import (
	"math"
	"math/rand/v2"
	"strings"
)

// Policy is a maxmemory-policy.
type Policy uint8

// The maxmemory policies.
const (
	PolicyNoEviction Policy = iota
	PolicyAllKeysLRU
	PolicyVolatileLRU
	PolicyAllKeysLFU
	PolicyVolatileLFU
	PolicyAllKeysRandom
	PolicyVolatileRandom
	PolicyVolatileTTL
)

var policyNames = [...]string{"noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu",
	"allkeys-random", "volatile-random", "volatile-ttl"}

// ParsePolicy returns the policy named name (as CONFIG spells it, any
// case); ok is false for an unknown name.
func ParsePolicy(name string) (p Policy, ok bool) {
	for i, n := range policyNames {
		if strings.EqualFold(n, name) {
			return Policy(i), true
		}
	}
	return PolicyNoEviction, false
}

func (p Policy) String() string { return policyNames[p] }

// Volatile reports whether only keys with an expiry are candidates.
func (p Policy) Volatile() bool {
	return p == PolicyVolatileLRU || p == PolicyVolatileLFU || p == PolicyVolatileRandom || p == PolicyVolatileTTL
}

// LRU reports whether the policy evicts the least recently used keys.
func (p Policy) LRU() bool { return p == PolicyAllKeysLRU || p == PolicyVolatileLRU }

// LFU reports whether the policy evicts the least frequently used keys.
func (p Policy) LFU() bool { return p == PolicyAllKeysLFU || p == PolicyVolatileLFU }

// Random reports whether the policy evicts random keys.
func (p Policy) Random() bool { return p == PolicyAllKeysRandom || p == PolicyVolatileRandom }

// LFUInitVal is the counter of a new key (LFU_INIT_VAL): new keys get a
// chance to accumulate accesses before they are evicted.
const LFUInitVal = 5

// LFUMinutes is Redis's LFUGetTimeInMinutes for a Unix time in ms: the
// 16-bit minute clock stored in the upper bits of an LFU lru field.
func LFUMinutes(nowMs int64) uint32 { return uint32(nowMs/1000/60) & 65535 }

// lfuTimeElapsed is LFUTimeElapsed: minutes since ldt, modulo the 16-bit
// clock (wrapping like Redis, 65535-ldt+now).
func lfuTimeElapsed(ldt, now uint32) uint32 {
	if now >= ldt {
		return now - ldt
	}
	return 65535 - ldt + now
}

// LFULogIncr is Redis's LFULogIncr: it increments counter with probability
// 1/((counter-LFUInitVal)*logFactor+1); r is a uniform random number in
// [0, 1). The counter saturates at 255.
func LFULogIncr(counter uint8, logFactor int, r float64) uint8 {
	if counter == 255 {
		return 255
	}
	baseval := float64(counter) - LFUInitVal
	if baseval < 0 {
		baseval = 0
	}
	p := 1.0 / (baseval*float64(logFactor) + 1)
	if r < p {
		counter++
	}
	return counter
}

// LFUDecrAndReturn is Redis's LFUDecrAndReturn: the counter of an LFU lru
// field decremented by one per decayTime minutes elapsed since its last
// decrement time (nowMin on the LFUMinutes clock), without storing it.
// decayTime 0 disables the decay.
func LFUDecrAndReturn(lru, nowMin uint32, decayTime int) uint8 {
	ldt := lru >> 8
	counter := lru & 255
	var periods uint32
	if decayTime > 0 {
		periods = lfuTimeElapsed(ldt, nowMin) / uint32(decayTime)
	}
	if periods > 0 {
		if periods > counter {
			counter = 0
		} else {
			counter -= periods
		}
	}
	return uint8(counter)
}

// touch records an access to v: the LRU clock, or under an LFU policy the
// decayed and then incremented counter (updateLFU).
func (ctx *Ctx) touch(v *Value) {
	if !ctx.LFU {
		v.lru = ctx.LRU
		return
	}
	now := LFUMinutes(ctx.Now)
	counter := LFUDecrAndReturn(v.lru, now, ctx.LFUDecayTime)
	counter = LFULogIncr(counter, ctx.LFULogFactor, ctx.float64())
	v.lru = now<<8 | uint32(counter)
}

// newLRU is the access field of a new object (createObject).
func (ctx *Ctx) newLRU() uint32 {
	if ctx.LFU {
		return LFUMinutes(ctx.Now)<<8 | LFUInitVal
	}
	return ctx.LRU
}

// overwriteLRU is the access field of a value replacing one whose field is
// old: under LFU the counter carries over (dbSetValue), otherwise the new
// object's LRU clock.
func (ctx *Ctx) overwriteLRU(old uint32) uint32 {
	if ctx.LFU {
		return old
	}
	return ctx.LRU
}

func (ctx *Ctx) float64() float64 {
	if ctx.Rand != nil {
		return ctx.Rand.Float64()
	}
	return rand.Float64()
}

// SomeKeys calls fn for up to n elements found in consecutive buckets from
// a random position, visiting at most 10*n buckets (dictGetSomeKeys): a
// cheap sample, not a uniform one. It returns the number of elements
// passed to fn. fn must not modify d.
func (d *Dict[V]) SomeKeys(r *rand.Rand, n int, fn func(key string, v *V)) int {
	if n > d.Len() {
		n = d.Len()
	}
	if n == 0 {
		return 0
	}
	d.rehashStep(n)
	tables := 1
	if d.rehashing() {
		tables = 2
	}
	maxSize := len(d.ht[0].buckets)
	if tables == 2 && len(d.ht[1].buckets) > maxSize {
		maxSize = len(d.ht[1].buckets)
	}
	mask := maxSize - 1 // sizes are powers of two
	i := r.IntN(maxSize)
	got, empty := 0, 0
	for steps := n * 10; got < n && steps > 0; steps-- {
		for t := 0; t < tables && got < n; t++ {
			// Buckets of ht[0] below rehashIdx were moved already; when i is
			// also beyond ht[1], nothing is stored before rehashIdx.
			if tables == 2 && t == 0 && i < d.rehashIdx {
				if i < len(d.ht[1].buckets) {
					continue
				}
				i = d.rehashIdx
			}
			tb := &d.ht[t]
			if i >= len(tb.buckets) {
				continue
			}
			e := tb.buckets[i]
			if e == nil {
				empty++
				if empty >= 5 && empty > n {
					i = r.IntN(maxSize)
					empty = 0
				}
				continue
			}
			empty = 0
			for ; e != nil && got < n; e = e.next {
				fn(e.key, &e.val)
				got++
			}
		}
		i = (i + 1) & mask
	}
	return got
}

// EvictionPoolSize is the number of candidates kept (EVPOOL_SIZE).
const EvictionPoolSize = 16

type poolEntry struct {
	idle uint64 // higher is a better candidate
	key  string // "" for an empty slot
	db   int
}

// EvictionPool keeps the best eviction candidates seen so far, ordered by
// ascending idle score (the best candidate last), like Redis's
// EvictionPoolLRU. The zero value is an empty pool.
type EvictionPool struct {
	e [EvictionPoolSize]poolEntry
}

// insert adds a candidate with the given score, dropping the worst one
// when the pool is full (the insertion part of evictionPoolPopulate).
func (p *EvictionPool) insert(idle uint64, key string, db int) {
	k := 0
	for k < EvictionPoolSize && p.e[k].key != "" && p.e[k].idle < idle {
		k++
	}
	last := EvictionPoolSize - 1
	switch {
	case k == 0 && p.e[last].key != "":
		return // worse than every candidate of a full pool
	case k < EvictionPoolSize && p.e[k].key == "":
		// empty slot: nothing to move
	case p.e[last].key == "":
		copy(p.e[k+1:], p.e[k:last])
	default:
		k--
		copy(p.e[:k], p.e[1:k+1])
	}
	// Copy the key: the pool outlives the key's deletion and must not keep
	// its memory (the key may share an allocation with its value).
	p.e[k] = poolEntry{idle: idle, key: strings.Clone(key), db: db}
}

// Best removes and returns the best candidate for which exists returns
// true, discarding the ones that no longer exist (ghosts). ok is false
// when no candidate is left.
func (p *EvictionPool) Best(exists func(db int, key string) bool) (db int, key string, ok bool) {
	for k := EvictionPoolSize - 1; k >= 0; k-- {
		e := p.e[k]
		if e.key == "" {
			continue
		}
		p.e[k] = poolEntry{}
		if exists(e.db, e.key) {
			return e.db, e.key, true
		}
	}
	return 0, "", false
}

// Len is the number of candidates in the pool.
func (p *EvictionPool) Len() int {
	n := 0
	for _, e := range p.e {
		if e.key != "" {
			n++
		}
	}
	return n
}

// Candidates reports how many keys policy p may evict from db: every key
// for allkeys-*, the keys with an expiry for volatile-*.
func (db *DB) Candidates(p Policy) int {
	if p.Volatile() {
		return db.expires.Len()
	}
	return db.keys.Len()
}

// HasCandidate reports whether key is still a candidate of policy p.
func (db *DB) HasCandidate(p Policy, key string) bool {
	if p.Volatile() {
		return db.expires.Has(key)
	}
	return db.keys.Has(key)
}

// PopulatePool samples up to samples keys of db and adds them to pool with
// their score under policy p (evictionPoolPopulate): idle time in seconds
// for LRU, 255 minus the decayed counter for LFU, the inverted expiry time
// for volatile-ttl. p must be an LRU, LFU or volatile-ttl policy.
func (db *DB) PopulatePool(ctx *Ctx, p Policy, samples int, r *rand.Rand, pool *EvictionPool) {
	score := func(key string, v *Value) uint64 {
		if p.LFU() {
			return 255 - uint64(LFUDecrAndReturn(v.lru, LFUMinutes(ctx.Now), ctx.LFUDecayTime))
		}
		return uint64(IdleSeconds(ctx.LRU, v.lru))
	}
	if p.Volatile() {
		db.expires.SomeKeys(r, samples, func(key string, when *int64) {
			if p == PolicyVolatileTTL {
				pool.insert(math.MaxUint64-uint64(*when), key, db.ID)
				return
			}
			if v := db.keys.Get(key); v != nil {
				pool.insert(score(key, v), key, db.ID)
			}
		})
		return
	}
	db.keys.SomeKeys(r, samples, func(key string, v *Value) {
		pool.insert(score(key, v), key, db.ID)
	})
}

// IdleSeconds is estimateObjectIdleTime in seconds: the time between an
// access stamped lru and now on the 24-bit LRU clock, which wraps.
func IdleSeconds(now, lru uint32) uint32 {
	const lruClockMax = 1<<24 - 1
	if now >= lru {
		return now - lru
	}
	return now + (lruClockMax - lru)
}

// RandomCandidate returns a random key that policy p may evict, or ok ==
// false when there is none (allkeys-random, volatile-random).
func (db *DB) RandomCandidate(p Policy, r *rand.Rand) (string, bool) {
	if p.Volatile() {
		k, _, ok := db.expires.Random(r)
		return k, ok
	}
	k, _, ok := db.keys.Random(r)
	return k, ok
}
