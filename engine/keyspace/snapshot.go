package keyspace

// Forkless point-in-time snapshots (BGSAVE, full resync, AOF rewrite).
//
// Redis forks and lets the kernel copy pages on write. Go cannot fork, so
// a Snapshot visits the keys in small steps while the server keeps
// serving, and guarantees the point-in-time view with "save before
// mutate": the first time a key that the snapshot has not visited yet is
// looked up, changed, expired or deleted, its current value is handed to
// the snapshot first (the pre-image). Every key therefore reaches the
// snapshot exactly once, with the value it had when the snapshot began,
// and keys created after the start are not included.
//
// Visited keys are marked with one bit per value whose meaning flips at
// every snapshot (parity), so starting a snapshot costs O(1) whatever the
// number of keys. Both Step and the pre-image hooks run with the server
// lock held: the longest pause is one Step (maxKeys keys) or one large
// value.

// EmitFunc receives one key of the snapshot: its database, key, value and
// expiry (-1: none). It runs with the server lock held; v and its object
// may be used only during the call (serialize them, do not keep them).
type EmitFunc func(db int, key string, v *Value, expireMs int64)

// Snapshot is an in-progress point-in-time iteration over databases.
type Snapshot struct {
	emit   EmitFunc
	dbs    []*DB
	parity bool
	dbIdx  int
	cursor uint64
	done   bool
	// Emitted counts the keys handed to emit.
	Emitted int64
}

// BeginSnapshot starts a snapshot of dbs. Only one snapshot may be active
// at a time. The caller holds the server lock.
func BeginSnapshot(dbs []*DB, emit EmitFunc) *Snapshot {
	parity := true
	if len(dbs) > 0 {
		parity = !dbs[0].parity
	}
	s := &Snapshot{emit: emit, dbs: dbs, parity: parity}
	for _, db := range dbs {
		db.snap = s
		db.parity = parity
	}
	return s
}

// Step visits up to about maxKeys keys that were not visited yet and
// reports whether the snapshot is complete. The caller holds the lock.
func (s *Snapshot) Step(maxKeys int) bool {
	n := 0
	for !s.done && n < maxKeys {
		if s.dbIdx >= len(s.dbs) {
			s.finish()
			break
		}
		db := s.dbs[s.dbIdx]
		if db.keys.Len() == 0 {
			s.dbIdx++
			s.cursor = 0
			continue
		}
		var pending []string
		s.cursor = db.keys.Scan(s.cursor, func(k string, v *Value) {
			if v.visited() != s.parity {
				pending = append(pending, k)
			}
		})
		for _, k := range pending {
			if v := db.keys.Get(k); v != nil {
				db.preImage(k, v)
				n++
			}
		}
		if s.cursor == 0 {
			s.dbIdx++
		}
	}
	return s.done
}

func (s *Snapshot) finish() {
	s.done = true
	for _, db := range s.dbs {
		if db.snap == s {
			db.snap = nil
		}
	}
}

// Abort detaches an unfinished snapshot (failed write, shutdown).
func (s *Snapshot) Abort() { s.finish() }

// Done reports whether every key has been visited.
func (s *Snapshot) Done() bool { return s.done }

func (v *Value) visited() bool { return v.flags&flagVisited != 0 }

func (v *Value) setVisited(p bool) {
	if p {
		v.flags |= flagVisited
	} else {
		v.flags &^= flagVisited
	}
}

// preImage hands key's current value to the active snapshot if it has not
// seen it yet.
func (db *DB) preImage(key string, v *Value) {
	s := db.snap
	if s == nil || v.visited() == s.parity {
		return
	}
	exp := int64(-1)
	if v.HasExpire() {
		if p := db.expires.Get(key); p != nil {
			exp = *p
		}
	}
	v.setVisited(s.parity)
	s.Emitted++
	s.emit(db.ID, key, v, exp)
}

// preImageAll hands every unvisited key to the snapshot (FLUSHDB and
// SWAPDB during a snapshot).
func (db *DB) preImageAll() {
	if db.snap == nil {
		return
	}
	db.keys.Range(func(k string, v *Value) bool {
		db.preImage(k, v)
		return true
	})
}

// stampNew marks a key created now as not part of the active snapshot.
func (db *DB) stampNew(v *Value) { v.setVisited(db.parity) }
