package keyspace

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Expected values follow evict.c: p = 1/((counter-5)*factor+1), counter
// incremented when r < p, saturating at 255.
func TestLFULogIncr(t *testing.T) {
	tests := []struct {
		counter uint8
		factor  int
		r       float64
		want    uint8
	}{
		{5, 10, 0.999999, 6},     // baseval 0: p = 1
		{0, 10, 0.999999, 1},     // below LFU_INIT_VAL: baseval clamps to 0
		{6, 10, 0.0909, 7},       // p = 1/11 = 0.090909...
		{6, 10, 0.0910, 6},       //
		{105, 10, 0.000998, 106}, // p = 1/1001 = 0.000999...
		{105, 10, 0.001, 105},    //
		{200, 0, 0.999999, 201},  // factor 0: always increments
		{7, 1, 0.33, 8},          // p = 1/3
		{7, 1, 0.34, 7},          //
		{255, 0, 0, 255},         // saturated
	}
	for _, tt := range tests {
		if got := LFULogIncr(tt.counter, tt.factor, tt.r); got != tt.want {
			t.Errorf("LFULogIncr(%d, %d, %v) = %d, want %d", tt.counter, tt.factor, tt.r, got, tt.want)
		}
	}
}

func TestLFUDecrAndReturn(t *testing.T) {
	tests := []struct {
		ldt, counter, now uint32
		decay             int
		want              uint8
	}{
		{100, 20, 100, 1, 20},
		{100, 20, 103, 1, 17},
		{100, 20, 103, 2, 19}, // 3 minutes / 2 = 1 period
		{100, 20, 103, 0, 20}, // decay disabled
		{100, 20, 200, 1, 0},  // more periods than the counter
		{100, 20, 120, 1, 0},  // exactly the counter
		{65530, 20, 5, 1, 10}, // clock wrap: 65535-65530+5 = 10 minutes
		{100, 255, 99, 1, 0},  // "now" before ldt reads as a full wrap
	}
	for _, tt := range tests {
		got := LFUDecrAndReturn(tt.ldt<<8|tt.counter, tt.now, tt.decay)
		if got != tt.want {
			t.Errorf("LFUDecrAndReturn(ldt %d counter %d, now %d, decay %d) = %d, want %d",
				tt.ldt, tt.counter, tt.now, tt.decay, got, tt.want)
		}
	}
}

// TestLFUTable checks the counter growth against the table in redis.conf
// (lfu-log-factor section), with generous bounds since it is random.
func TestLFUTable(t *testing.T) {
	tests := []struct {
		factor, hits int
		lo, hi       uint8
	}{
		{0, 100, 104, 105},
		{1, 100, 14, 22},       // redis.conf: 18
		{1, 1000, 42, 56},      // 49
		{10, 100, 8, 12},       // 10
		{10, 1000, 15, 21},     // 18
		{10, 100000, 130, 155}, // 142
		{100, 100000, 42, 56},  // 49
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		c := uint8(LFUInitVal)
		for i := 0; i < tt.hits; i++ {
			c = LFULogIncr(c, tt.factor, r.Float64())
		}
		if c < tt.lo || c > tt.hi {
			t.Errorf("factor %d, %d hits: counter %d, want %d..%d", tt.factor, tt.hits, c, tt.lo, tt.hi)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for _, name := range policyNames {
		p, ok := ParsePolicy(name)
		if !ok || p.String() != name {
			t.Errorf("ParsePolicy(%q) = %v, %v", name, p, ok)
		}
		kinds := 0
		for _, k := range []bool{p.LRU(), p.LFU(), p.Random(), p == PolicyVolatileTTL, p == PolicyNoEviction} {
			if k {
				kinds++
			}
		}
		if kinds != 1 {
			t.Errorf("%s has %d kinds", name, kinds)
		}
	}
	if _, ok := ParsePolicy("lru"); ok {
		t.Error("ParsePolicy accepted lru")
	}
	if p, _ := ParsePolicy("VOLATILE-TTL"); !p.Volatile() {
		t.Error("volatile-ttl is not volatile")
	}
}

func TestEvictionPool(t *testing.T) {
	var p EvictionPool
	// 40 candidates with scores 0..39 in scrambled order: the pool keeps
	// the 16 best (24..39).
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(40) {
		p.insert(uint64(i), fmt.Sprint("k", i), i%3)
	}
	if p.Len() != EvictionPoolSize {
		t.Fatalf("len %d", p.Len())
	}
	for i := 1; i < EvictionPoolSize; i++ {
		if p.e[i-1].idle > p.e[i].idle {
			t.Fatalf("pool not sorted: %+v", p.e)
		}
	}
	// k39 is a ghost: Best skips it.
	db, key, ok := p.Best(func(db int, key string) bool { return key != "k39" })
	if !ok || key != "k38" || db != 38%3 {
		t.Fatalf("Best = %d %q %v", db, key, ok)
	}
	n := 0
	for {
		_, key, ok := p.Best(func(int, string) bool { return true })
		if !ok {
			break
		}
		if want := fmt.Sprint("k", 37-n); key != want {
			t.Fatalf("candidate %d = %s, want %s", n, key, want)
		}
		n++
	}
	if n != 14 {
		t.Fatalf("drained %d", n)
	}
}

func TestSomeKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, size := range []int{0, 1, 3, 100, 5000} {
		d := NewDict[int]()
		for i := 0; i < size; i++ {
			d.Set(fmt.Sprint(i), i)
		}
		// Grow further so a rehash is in progress during part of the run.
		seen := map[string]bool{}
		for round := 0; round < 2000; round++ {
			if round == 1000 && size > 0 {
				for i := size; i < 2*size+10; i++ {
					d.Set(fmt.Sprint(i), i)
				}
			}
			want := min(5, d.Len())
			got := d.SomeKeys(r, 5, func(k string, v *int) {
				if fmt.Sprint(*v) != k || !d.Has(k) {
					t.Fatalf("sample %q -> %d", k, *v)
				}
				seen[k] = true
			})
			if got != want {
				t.Fatalf("size %d: %d samples, want %d", size, got, want)
			}
		}
		if size >= 100 && len(seen) < size/2 {
			t.Errorf("size %d: only %d distinct keys sampled", size, len(seen))
		}
	}
}

func TestLFUAccessTracking(t *testing.T) {
	db := NewDB(0)
	now := int64(1_700_000_000_000)
	ctx := &Ctx{Now: now, LFU: true, LFULogFactor: 10, LFUDecayTime: 1, Rand: rand.New(rand.NewPCG(7, 8))}
	db.SetString(ctx, []byte("k"), []byte("v"), false)
	freq := func() uint8 {
		v := db.LookupNoTouch(ctx, []byte("k"))
		return LFUDecrAndReturn(v.LRU(), LFUMinutes(ctx.Now), ctx.LFUDecayTime)
	}
	if f := freq(); f != LFUInitVal {
		t.Fatalf("new key freq %d", f)
	}
	db.Lookup(ctx, []byte("k")) // 5 -> 6 with p = 1
	if f := freq(); f != 6 {
		t.Fatalf("after one access freq %d", f)
	}
	db.SetString(ctx, []byte("k"), []byte("v2"), false) // overwrite keeps the counter
	if f := freq(); f != 6 {
		t.Fatalf("after overwrite freq %d", f)
	}
	ctx.Now += 3 * 60_000 // three minutes: decays by 3
	if f := freq(); f != 3 {
		t.Fatalf("after 3 minutes freq %d", f)
	}
	ctx.LFU = false
	ctx.LRU = 1234
	db.Lookup(ctx, []byte("k"))
	if v := db.LookupNoTouch(ctx, []byte("k")); v.LRU() != 1234 {
		t.Fatalf("LRU mode stamp %d", v.LRU())
	}
}

func TestPopulatePool(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	db := NewDB(0)
	ctx := &Ctx{Now: 1_700_000_000_000, LRU: 1000}
	for i := 0; i < 200; i++ {
		ctx.LRU = uint32(1000 + i)
		db.SetString(ctx, []byte(fmt.Sprint("k", i)), []byte("v"), false)
		if i%2 == 0 {
			db.SetExpire([]byte(fmt.Sprint("k", i)), ctx.Now+int64(i)*1000)
		}
	}
	ctx.LRU = 2000
	// volatile-ttl only sees keys with an expiry and prefers the nearest.
	var pool EvictionPool
	for i := 0; i < 50; i++ {
		db.PopulatePool(ctx, PolicyVolatileTTL, 5, r, &pool)
	}
	_, key, ok := pool.Best(func(_ int, k string) bool { return db.HasCandidate(PolicyVolatileTTL, k) })
	if !ok {
		t.Fatal("no candidate")
	}
	var n int
	fmt.Sscanf(key, "k%d", &n)
	if n%2 != 0 || n > 40 {
		t.Errorf("volatile-ttl best candidate %s", key)
	}
	// allkeys-lru prefers the oldest accesses.
	pool = EvictionPool{}
	for i := 0; i < 50; i++ {
		db.PopulatePool(ctx, PolicyAllKeysLRU, 5, r, &pool)
	}
	_, key, _ = pool.Best(func(_ int, k string) bool { return true })
	fmt.Sscanf(key, "k%d", &n)
	if n > 40 {
		t.Errorf("allkeys-lru best candidate %s", key)
	}
}
