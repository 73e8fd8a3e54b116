package keyspace

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type snapEntry struct {
	val string
	exp int64
}

// TestSnapshotPointInTime mutates the databases between snapshot steps and
// checks that the snapshot holds exactly the data of its start.
func TestSnapshotPointInTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ctx := &Ctx{Now: 1000}
	dbs := []*DB{NewDB(0), NewDB(1)}
	for round := 0; round < 3; round++ { // several snapshots: parity flips
		want := map[string]snapEntry{}
		for i := 0; i < 3000; i++ {
			db := dbs[i%2]
			k := fmt.Sprintf("k%d", r.IntN(4000))
			db.SetString(ctx, []byte(k), []byte(fmt.Sprint(round, i)), false)
			if i%7 == 0 {
				db.SetExpire([]byte(k), 1_000_000+int64(i))
			}
		}
		for _, db := range dbs {
			db.Range(func(k string, v *Value) bool {
				exp := int64(-1)
				if e, ok := db.Expire([]byte(k)); ok {
					exp = e
				}
				want[fmt.Sprint(db.ID, "/", k)] = snapEntry{v.Str, exp}
				return true
			})
		}
		got := map[string]snapEntry{}
		snap := BeginSnapshot(dbs, func(db int, key string, v *Value, exp int64) {
			id := fmt.Sprint(db, "/", key)
			if _, dup := got[id]; dup {
				t.Fatalf("key %s emitted twice", id)
			}
			got[id] = snapEntry{v.Str, exp}
		})
		for steps := 0; !snap.Step(50); steps++ {
			// Concurrent writes between steps: overwrite, delete, expire,
			// create, persist, and an occasional flush.
			for j := 0; j < 30; j++ {
				db := dbs[r.IntN(2)]
				k := []byte(fmt.Sprintf("k%d", r.IntN(5000)))
				switch r.IntN(6) {
				case 0:
					db.SetString(ctx, k, []byte("new"), false)
				case 1:
					db.DeleteBytes(k)
				case 2:
					if db.Exists(ctx, k) {
						db.SetExpire(k, 5)
					}
				case 3:
					db.Persist(k)
				case 4:
					db.Add(ctx, k, Value{Type: TypeString, Str: "added"})
				case 5:
					db.Lookup(ctx, k)
				}
			}
			if steps == 20 && round == 1 {
				dbs[1].Flush()
			}
			if steps > 100000 {
				t.Fatal("snapshot never finished")
			}
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: snapshot has %d keys, want %d", round, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Fatalf("round %d: key %s = %+v, want %+v", round, k, got[k], w)
			}
		}
	}
}
