package keyspace

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestDictBasics(t *testing.T) {
	d := NewDict[int]()
	for i := 0; i < 10000; i++ {
		d.Set(fmt.Sprint(i), i)
	}
	if d.Len() != 10000 {
		t.Fatalf("Len = %d", d.Len())
	}
	for i := 0; i < 10000; i += 3 {
		if _, ok := d.Delete(fmt.Sprint(i)); !ok {
			t.Fatalf("Delete(%d) missing", i)
		}
	}
	for i := 0; i < 10000; i++ {
		p := d.Get(fmt.Sprint(i))
		if (i%3 == 0) != (p == nil) {
			t.Fatalf("Get(%d) = %v", i, p)
		}
		if p != nil && *p != i {
			t.Fatalf("Get(%d) = %d", i, *p)
		}
	}
}

// TestScanGuarantee checks Redis's SCAN contract: every element present
// for the whole iteration is returned at least once, while the table grows
// and shrinks (incremental rehash both ways) between cursor calls.
func TestScanGuarantee(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for round := 0; round < 20; round++ {
		d := NewDict[int]()
		stable := map[string]bool{}
		for i := 0; i < 300; i++ {
			k := fmt.Sprintf("s%d", i)
			d.Set(k, i)
			stable[k] = true
		}
		var extra []string
		growing := true
		seen := map[string]bool{}
		cursor := uint64(0)
		steps := 0
		for ; steps < 200000; steps++ {
			cursor = d.Scan(cursor, func(k string, _ *int) { seen[k] = true })
			if cursor == 0 {
				break
			}
			// Churn other keys so the table grows to ~3000 and shrinks
			// back, rehashing in both directions under the cursor.
			for j := 0; j < 1+r.IntN(40); j++ {
				switch {
				case growing && len(extra) < 3000:
					k := fmt.Sprintf("x%d-%d", round, steps*64+j)
					d.Set(k, 0)
					extra = append(extra, k)
				case len(extra) > 0:
					growing = false
					i := r.IntN(len(extra))
					d.Delete(extra[i])
					extra[i] = extra[len(extra)-1]
					extra = extra[:len(extra)-1]
				default:
					growing = true
				}
			}
			d.ShrinkIfNeeded()
			d.Rehash(1)
		}
		if cursor != 0 {
			t.Fatalf("round %d: scan did not finish in %d steps", round, steps)
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: key %s present during the whole scan was not returned", round, k)
			}
		}
	}
}

func TestDictRandom(t *testing.T) {
	d := NewDict[int]()
	r := rand.New(rand.NewPCG(1, 1))
	if _, _, ok := d.Random(r); ok {
		t.Fatal("Random on empty dict")
	}
	for i := 0; i < 100; i++ {
		d.Set(fmt.Sprint(i), i)
	}
	seen := map[string]bool{}
	for i := 0; i < 5000; i++ {
		k, v, ok := d.Random(r)
		if !ok || fmt.Sprint(*v) != k {
			t.Fatalf("Random = %q, %v, %v", k, v, ok)
		}
		seen[k] = true
	}
	if len(seen) < 95 {
		t.Fatalf("Random reached only %d of 100 keys in 5000 draws", len(seen))
	}
}

func TestActiveExpire(t *testing.T) {
	db := NewDB(0)
	ctx := &Ctx{Now: 1_000_000}
	for i := 0; i < 1000; i++ {
		k := []byte(fmt.Sprint(i))
		db.SetString(ctx, k, []byte("v"), false)
		if i%2 == 0 {
			db.SetExpire(k, 500_000) // already expired
		}
	}
	expired := 0
	ctx.OnExpire = func(*DB, string) { expired++ }
	for i := 0; i < 100 && db.ExpiresLen() > 0; i++ {
		ActiveExpire(ctx, []*DB{db}, ExpireCycleConfig{}, time.Now)
	}
	if db.Len() != 500 || expired != 500 {
		t.Fatalf("after active expiry: %d keys, %d expired; want 500, 500", db.Len(), expired)
	}
}
