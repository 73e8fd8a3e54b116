package keyspace

import (
	"math/rand/v2"
	"unsafe"
)

// DB is one numbered database.
type DB struct {
	ID      int
	keys    *Dict[Value]
	expires *Dict[int64]
	// expiresCursor is where the active expiry cycle resumes.
	expiresCursor uint64
	// AvgTTL is the running estimate INFO keyspace reports (ms).
	AvgTTL int64
	// snap is the active snapshot, parity its visited-bit meaning (kept
	// after it ends so new keys are stamped consistently).
	snap   *Snapshot
	parity bool
}

// NewDB returns an empty database.
func NewDB(id int) *DB {
	return &DB{ID: id, keys: NewDict[Value](), expires: NewDict[int64]()}
}

// Clock gives the keyspace its notion of time so tests can drive expiry.
type Clock interface {
	// NowMs is the current time in Unix milliseconds.
	NowMs() int64
}

// Ctx carries what a lookup needs to decide about expiry.
type Ctx struct {
	// Now is the command's time in Unix milliseconds.
	Now int64
	// LRU is the current LRU clock value stored on access.
	LRU uint32
	// Replica is true when the server is a read-only replica: expired keys
	// are reported missing but not deleted (the master will send DEL).
	Replica bool
	// OnExpire is called with a key deleted because it expired (the server
	// propagates a DEL and counts expired_keys). May be nil.
	OnExpire func(db *DB, key string)
	// LFU selects access-frequency tracking (an LFU maxmemory policy):
	// lookups update the logarithmic counter instead of the LRU clock.
	// LFULogFactor and LFUDecayTime are lfu-log-factor and lfu-decay-time;
	// Rand drives the counter's probabilistic increment (nil: global).
	LFU          bool
	LFULogFactor int
	LFUDecayTime int
	Rand         *rand.Rand
}

// Len is the number of keys (DBSIZE), expired-but-not-yet-deleted included.
func (db *DB) Len() int { return db.keys.Len() }

// ExpiresLen is the number of keys with an expiry time.
func (db *DB) ExpiresLen() int { return db.expires.Len() }

func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// expired reports whether the key with value v has expired at ctx.Now.
func (db *DB) expired(ctx *Ctx, key string, v *Value) bool {
	if !v.HasExpire() {
		return false
	}
	when := db.expires.Get(key)
	return when != nil && *when <= ctx.Now
}

// Lookup returns the live value of key, deleting it first when it has
// expired (on a replica expired keys are only hidden). The pointer is valid
// until the next write to db.
func (db *DB) Lookup(ctx *Ctx, key []byte) *Value {
	return db.lookup(ctx, str(key), true)
}

// LookupNoTouch is Lookup without updating the access time (OBJECT, TYPE
// in Redis touch, but internal checks do not).
func (db *DB) LookupNoTouch(ctx *Ctx, key []byte) *Value {
	return db.lookup(ctx, str(key), false)
}

func (db *DB) lookup(ctx *Ctx, key string, touch bool) *Value {
	v := db.keys.Get(key)
	if v == nil {
		return nil
	}
	if db.snap != nil {
		db.preImage(key, v)
	}
	if v.HasExpire() && db.expired(ctx, key, v) {
		if ctx.Replica {
			return nil
		}
		db.expireKey(ctx, key)
		return nil
	}
	if touch {
		ctx.touch(v)
	}
	return v
}

func (db *DB) expireKey(ctx *Ctx, key string) {
	k, _ := db.keys.Key(key)
	db.Delete(key)
	if ctx.OnExpire != nil {
		ctx.OnExpire(db, k)
	}
}

// Exists reports whether key is live.
func (db *DB) Exists(ctx *Ctx, key []byte) bool { return db.lookup(ctx, str(key), false) != nil }

// SetString stores a string value, copying key and val, and clears any
// expiry unless keepTTL. It returns the stored value.
func (db *DB) SetString(ctx *Ctx, key, val []byte, keepTTL bool) *Value {
	if v := db.keys.Get(str(key)); v != nil {
		if db.snap != nil {
			db.preImage(str(key), v)
		}
		if v.HasExpire() && !keepTTL {
			db.expires.Delete(str(key))
			v.flags &^= flagHasExpire
		}
		v.Type = TypeString
		v.Obj = nil
		v.Str = string(val)
		v.flags &^= flagRaw
		v.lru = ctx.overwriteLRU(v.lru)
		return v
	}
	// One allocation holds both the key and the value.
	buf := make([]byte, len(key)+len(val))
	copy(buf, key)
	copy(buf[len(key):], val)
	k := unsafe.String(unsafe.SliceData(buf), len(key))
	p, _ := db.keys.GetOrAdd(k)
	*p = Value{Type: TypeString, lru: ctx.newLRU()}
	db.stampNew(p)
	if len(val) > 0 {
		p.Str = unsafe.String(&buf[len(key)], len(val))
	}
	return p
}

// Add stores v under key (copying key), replacing any previous value and
// its expiry. It returns the stored value.
func (db *DB) Add(ctx *Ctx, key []byte, v Value) *Value {
	v.flags &^= flagHasExpire
	v.lru = ctx.newLRU()
	if old := db.keys.Get(str(key)); old != nil {
		if db.snap != nil {
			db.preImage(str(key), old)
		}
		v.lru = ctx.overwriteLRU(old.lru)
		if old.HasExpire() {
			db.expires.Delete(str(key))
		}
		v.setVisited(old.visited())
		*old = v
		return old
	}
	p, _ := db.keys.GetOrAdd(string(key))
	*p = v
	db.stampNew(p)
	return p
}

// Delete removes key and reports whether it existed (expired or not).
func (db *DB) Delete(key string) bool {
	if db.snap != nil {
		if v := db.keys.Get(key); v != nil {
			db.preImage(key, v)
		}
	}
	v, ok := db.keys.Delete(key)
	if ok && v.HasExpire() {
		db.expires.Delete(key)
	}
	return ok
}

// DeleteBytes is Delete for a []byte key.
func (db *DB) DeleteBytes(key []byte) bool { return db.Delete(str(key)) }

// SetExpire sets key's absolute expiry time in Unix ms. The key must exist.
func (db *DB) SetExpire(key []byte, when int64) {
	k, ok := db.keys.Key(str(key))
	if !ok {
		return
	}
	v := db.keys.Get(k)
	if db.snap != nil {
		db.preImage(k, v)
	}
	v.flags |= flagHasExpire
	p, _ := db.expires.GetOrAdd(k)
	*p = when
}

// Expire returns key's expiry time and whether it has one.
func (db *DB) Expire(key []byte) (int64, bool) {
	p := db.expires.Get(str(key))
	if p == nil {
		return 0, false
	}
	return *p, true
}

// Persist removes key's expiry and reports whether it had one.
func (db *DB) Persist(key []byte) bool {
	v := db.keys.Get(str(key))
	if v == nil || !v.HasExpire() {
		return false
	}
	if db.snap != nil {
		db.preImage(str(key), v)
	}
	v.flags &^= flagHasExpire
	db.expires.Delete(str(key))
	return true
}

// Flush removes every key.
func (db *DB) Flush() {
	db.preImageAll()
	db.keys.Clear()
	db.expires.Clear()
	db.expiresCursor = 0
	db.AvgTTL = 0
}

// Swap exchanges the contents of two databases (SWAPDB).
func (db *DB) Swap(other *DB) {
	db.preImageAll()
	other.preImageAll()
	db.keys, other.keys = other.keys, db.keys
	db.expires, other.expires = other.expires, db.expires
	db.expiresCursor, other.expiresCursor = 0, 0
	db.AvgTTL, other.AvgTTL = other.AvgTTL, db.AvgTTL
}

// RandomKey returns a random live key, deleting expired ones it meets, like
// dbRandomKey. ok is false when the database is empty. On a replica whose
// keys are all volatile it gives up after 100 expired picks and returns an
// expired key rather than loop forever (as Redis does).
func (db *DB) RandomKey(ctx *Ctx, r *rand.Rand) (string, bool) {
	tries := 100
	for {
		k, v, ok := db.keys.Random(r)
		if !ok {
			return "", false
		}
		if !v.HasExpire() || !db.expired(ctx, k, v) {
			return k, true
		}
		if ctx.Replica {
			tries--
			if tries == 0 && db.expires.Len() == db.keys.Len() {
				return k, true
			}
			continue
		}
		db.expireKey(ctx, k)
	}
}

// Scan visits the keys of the buckets at cursor and returns the next
// cursor. Expired keys are passed too; the caller filters them with Live.
func (db *DB) Scan(cursor uint64, fn func(key string, v *Value)) uint64 {
	return db.keys.Scan(cursor, fn)
}

// Range visits every key until fn returns false. fn must not modify db.
func (db *DB) Range(fn func(key string, v *Value) bool) { db.keys.Range(fn) }

// Live reports whether a key seen by Scan or Range has not expired.
func (db *DB) Live(ctx *Ctx, key string, v *Value) bool {
	return !db.expired(ctx, key, v)
}

// Cron does the database's share of background work: incremental rehash
// and shrinking of sparse tables.
func (db *DB) Cron() {
	db.keys.ShrinkIfNeeded()
	db.expires.ShrinkIfNeeded()
	db.keys.Rehash(100)
	db.expires.Rehash(100)
}

// Reserve pre-sizes the key and expiry tables (RDB RESIZEDB hint).
func (db *DB) Reserve(keys, expires int) {
	db.keys.Expand(keys)
	db.expires.Expand(expires)
}

// AddString stores a string value under key, taking ownership of both
// strings (no copy): for loaders whose strings are already private.
// Any previous value and expiry are replaced.
func (db *DB) AddString(ctx *Ctx, key, val string) *Value {
	if old := db.keys.Get(key); old != nil {
		if db.snap != nil {
			db.preImage(key, old)
		}
		if old.HasExpire() {
			db.expires.Delete(key)
		}
		*old = Value{Type: TypeString, Str: val, lru: ctx.LRU, flags: old.flags & flagVisited}
		return old
	}
	p, _ := db.keys.GetOrAdd(key)
	*p = Value{Type: TypeString, Str: val, lru: ctx.LRU}
	db.stampNew(p)
	return p
}
