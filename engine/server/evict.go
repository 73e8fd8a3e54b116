package server

// maxmemory and key eviction (Redis's evict.c and the OOM check of
// processCommand).
//
// Before every command, when maxmemory is set, performEvictions compares
// the memory in use with maxmemory and, over the limit, deletes keys chosen
// by maxmemory-policy: approximated LRU and LFU (maxmemory-samples keys
// sampled per database into a pool of the 16 best candidates kept across
// calls), the nearest expiry for volatile-ttl, random keys for *-random.
// Each evicted key is propagated as DEL, counted in evicted_keys,
// invalidates WATCH and emits the "evicted" keyspace event. When nothing
// can be evicted, denyoom commands (and anything but EXEC/DISCARD/QUIT/
// RESET inside MULTI) get Redis's OOM error.
//
// Memory accounting. Redis counts the bytes its allocator hands out and
// sees a deletion at once. Go frees memory only when the collector runs,
// so the engine reads the runtime metric /memory/classes/heap/objects:bytes
// (live objects plus garbage not yet swept, the figure INFO used_memory
// shows) at most once per millisecond, and subtracts from it an estimate
// of what it evicted since: each evicted key counts as the average bytes
// per key (heap objects / number of keys) and stays subtracted until two
// collection cycles have completed, by which time the collector has found
// it unreachable. So that garbage from overwritten values does not inflate
// the count (and push the evictor into deleting live keys), the Go soft
// memory limit (debug.SetMemoryLimit) is set to maxmemory plus the
// runtime's own overhead outside heap objects (free span space, stacks,
// GC metadata: total minus released minus heap objects, re-measured with
// each reading), never below 16 MB: the collector then runs as the heap
// objects approach maxmemory, before the evictor would count the garbage.
// It is reset to "no limit" when maxmemory goes back to 0 and when the
// server stops. The limit is process-wide: with several servers in one
// process (tests) the last one configured wins.
//
// When eviction empties the keyspace and memory is still over the limit,
// the evictor forces one collection (cheap then, at most once a second)
// before answering OOM, since what remains is mostly the evicted keys'
// garbage. The average key size is taken over the memory above the
// baseline measured with an empty keyspace.
//
// Because a collection is needed before the collector has room again, the
// evictor frees down to 15/16 of maxmemory once it starts (Redis frees
// only down to maxmemory); without that margin a full cache would make the
// collector run back to back. Like Redis, one call spends at most about
// 500µs evicting (checking the clock every 16 keys) and the following
// commands carry on.
//
// Inaccuracy: used_memory includes garbage produced since the last
// collection and allocations of the current millisecond, and the per-key
// size is an average, so a workload of mixed key sizes frees more or less
// than it needs per call (the next call corrects it); with large values
// the count lags by up to one millisecond of allocation. The tests keep
// used_memory within a few percent of maxmemory for a string workload
// (see evict_test.go).

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/hactl/hactl/engine/keyspace"
)

const (
	errOOM = "OOM command not allowed when used memory > 'maxmemory'."
	// minMemoryLimit is the smallest soft memory limit set: below it the
	// runtime's fixed baseline would keep the collector running.
	minMemoryLimit = 16 << 20
	// evictTimeLimit is evictionTimeLimitUs with the default tenacity.
	evictTimeLimit = 500 * time.Microsecond
)

// evictor is the eviction state; guarded by the server lock.
type evictor struct {
	policy keyspace.Policy
	pool   keyspace.EvictionPool
	nextDB int // next database of the random policies
	// draining: eviction started and goes on until 15/16 of maxmemory.
	draining bool

	readAt   time.Time // last metrics reading (monotonic)
	objects  uint64    // heap objects bytes at readAt
	overhead uint64    // runtime memory outside heap objects at readAt
	cycles   uint64    // completed GC cycles at readAt
	baseline uint64    // heap objects at the last reading with no keys
	forcedGC time.Time // last collection forced with an empty keyspace
	pending  []freed   // evicted bytes the collector may not have seen yet
	limit    int64     // soft memory limit set by this server, 0: none
	samples  [4]metrics.Sample
}

// freed is an estimate of evicted bytes, with the GC cycle count at the
// time of the evictions.
type freed struct {
	cycle uint64
	bytes uint64
}

// applyEvictionSettings installs maxmemory-policy, the LFU parameters and
// the soft memory limit; s.mu is held.
func (s *Server) applyEvictionSettings() {
	e := &s.ev
	p, _ := keyspace.ParsePolicy(s.set.MaxMemoryPolicy)
	if p != e.policy {
		e.pool = keyspace.EvictionPool{}
	}
	e.policy = p
	s.ctx.LFU = p.LFU()
	s.ctx.LFULogFactor = s.set.LFULogFactor
	s.ctx.LFUDecayTime = s.set.LFUDecayTime
	s.ctx.Rand = s.rnd
	if s.set.MaxMemory <= 0 {
		e.draining = false
		e.pending = nil
		s.releaseMemoryLimit()
		return
	}
	e.readAt = time.Time{}
	s.readMemory(time.Now())
}

// releaseMemoryLimit removes the soft memory limit this server set.
func (s *Server) releaseMemoryLimit() {
	if s.ev.limit != 0 {
		debug.SetMemoryLimit(math.MaxInt64)
		s.ev.limit = 0
	}
}

// readMemory refreshes the heap figures when the last reading is at least
// a millisecond old, forgets evictions the collector has certainly seen,
// and adjusts the soft memory limit.
func (s *Server) readMemory(now time.Time) {
	e := &s.ev
	if !e.readAt.IsZero() && now.Sub(e.readAt) < time.Millisecond {
		return
	}
	e.readAt = now
	if e.samples[0].Name == "" {
		e.samples[0].Name = "/memory/classes/heap/objects:bytes"
		e.samples[1].Name = "/memory/classes/total:bytes"
		e.samples[2].Name = "/memory/classes/heap/released:bytes"
		e.samples[3].Name = "/gc/cycles/total:gc-cycles"
	}
	metrics.Read(e.samples[:])
	val := func(i int) uint64 {
		if e.samples[i].Value.Kind() == metrics.KindUint64 {
			return e.samples[i].Value.Uint64()
		}
		return 0
	}
	e.objects, e.cycles = val(0), val(3)
	if s.totalKeys() == 0 {
		e.baseline = e.objects
	}
	if total, released := val(1), val(2); total > released+e.objects {
		e.overhead = total - released - e.objects
	}
	keep := e.pending[:0]
	for _, f := range e.pending {
		if e.cycles < f.cycle+2 {
			keep = append(keep, f)
		}
	}
	e.pending = keep
	if s.set.MaxMemory > 0 {
		limit := max(s.set.MaxMemory+int64(e.overhead), minMemoryLimit)
		// Avoid resetting the limit for small drifts of the overhead.
		if d := limit - e.limit; e.limit == 0 || d > e.limit/64 || -d > e.limit/64 {
			debug.SetMemoryLimit(limit)
			e.limit = limit
		}
	}
}

// usedMemory is the memory in use as the evictor sees it: heap objects
// minus evictions the collector has not reclaimed yet.
func (s *Server) usedMemory(now time.Time) uint64 {
	s.readMemory(now)
	if len(s.ev.pending) > 0 && s.totalKeys() == 0 {
		// No key is left: the estimate of what evictions freed is moot,
		// the heap holds the baseline plus their garbage.
		s.ev.pending = s.ev.pending[:0]
	}
	var pending uint64
	for _, f := range s.ev.pending {
		pending += f.bytes
	}
	if pending >= s.ev.objects {
		return 0
	}
	return s.ev.objects - pending
}

// denyOOM runs the eviction step of processCommand before cmd and, when
// memory could not be freed and cmd may not run over maxmemory, replies
// with the OOM error and reports true. s.mu is held; maxmemory is set.
func (c *Client) denyOOM(cmd *command) bool {
	s := c.srv
	// Commands inside EXEC are not checked one by one (EXEC was), and a
	// replica ignores maxmemory (replica-ignore-maxmemory yes).
	if c.inExec || s.isReplica() {
		return false
	}
	if s.performEvictions() {
		return false
	}
	reject := cmd.flags&flagDenyOOM != 0
	switch cmd.name {
	case "exec":
		reject = reject || c.queuedDenyOOM()
	case "discard", "quit", "reset":
	default:
		// Queuing inside MULTI takes memory too.
		reject = reject || c.inMulti
	}
	if !reject {
		return false
	}
	c.flagTransaction()
	c.replyError(errOOM)
	c.rejected(cmd)
	return true
}

// queuedDenyOOM reports whether the MULTI queue holds a denyoom command.
func (c *Client) queuedDenyOOM() bool {
	t := c.srv.commands()
	for _, q := range c.multiQueue {
		if cmd := t.lookup(q[0]); cmd != nil && cmd.flags&flagDenyOOM != 0 {
			return true
		}
	}
	return false
}

// performEvictions frees memory by evicting keys when the memory in use
// exceeds maxmemory. It reports false (EVICT_FAIL) when memory is over the
// limit and nothing can be evicted.
func (s *Server) performEvictions() bool {
	e := &s.ev
	now := time.Now()
	limit := uint64(s.set.MaxMemory)
	low := limit - limit/16
	used := s.usedMemory(now)
	if used <= low || (used <= limit && !e.draining) {
		e.draining = false
		return true
	}
	if e.policy == keyspace.PolicyNoEviction {
		return used <= limit
	}
	e.draining = true
	keys := s.totalKeys()
	if keys == 0 {
		// Everything was evicted and memory is still over the limit,
		// probably the garbage of the evicted keys: collect it (cheap with
		// an empty keyspace, at most once a second) rather than refuse
		// writes until the next collection.
		if now.Sub(e.forcedGC) > time.Second {
			e.forcedGC = now
			runtime.GC()
			e.readAt = time.Time{}
			used = s.usedMemory(time.Now())
		}
		return used <= limit
	}
	// The bytes of a key are estimated as the average over the memory
	// above the empty-keyspace baseline.
	perKey := uint64(1)
	if used > e.baseline {
		perKey = max((used-e.baseline)/uint64(keys), 1)
	}
	toFree := used - low
	var freedBytes uint64
	n := 0
	ok := true
	for freedBytes < toFree {
		db, key, found := s.evictionCandidate()
		if !found {
			// Nothing left to evict: do not trust the estimate of what
			// earlier evictions freed (it is an average); only the heap
			// as measured can clear the command.
			ok = used-freedBytes <= limit && s.ev.objects <= limit
			break
		}
		s.evictKey(db, key)
		freedBytes += perKey
		n++
		if n%16 == 0 && time.Since(now) > evictTimeLimit {
			break
		}
	}
	if freedBytes > 0 {
		if k := len(e.pending); k > 0 && e.pending[k-1].cycle == e.cycles {
			e.pending[k-1].bytes += freedBytes
		} else {
			e.pending = append(e.pending, freed{cycle: e.cycles, bytes: freedBytes})
		}
	}
	return ok
}

func (s *Server) totalKeys() int {
	n := 0
	for _, db := range s.dbs {
		n += db.Len()
	}
	return n
}

// evictionCandidate picks the next key to evict under the current policy.
func (s *Server) evictionCandidate() (db int, key string, ok bool) {
	e := &s.ev
	p := e.policy
	if p.Random() {
		for range s.dbs {
			e.nextDB = (e.nextDB + 1) % len(s.dbs)
			if k, ok := s.dbs[e.nextDB].RandomCandidate(p, s.rnd); ok {
				return e.nextDB, k, true
			}
		}
		return 0, "", false
	}
	samples := s.set.MaxMemorySamples
	if samples <= 0 {
		samples = 5
	}
	exists := func(db int, key string) bool { return s.dbs[db].HasCandidate(p, key) }
	for {
		total := 0
		for _, db := range s.dbs {
			if n := db.Candidates(p); n > 0 {
				db.PopulatePool(&s.ctx, p, samples, s.rnd, &e.pool)
				total += n
			}
		}
		if total == 0 {
			return 0, "", false
		}
		if db, key, ok := e.pool.Best(exists); ok {
			return db, key, true
		}
	}
}

// evictKey deletes an evicted key with the effects Redis gives it.
func (s *Server) evictKey(db int, key string) {
	k := []byte(key)
	s.dbs[db].Delete(key)
	s.stats.evictedKeys++
	s.keyModified(db, k)
	s.notifyKeyspace(notifyEvicted, "evicted", k, db)
	s.propagate(db, bDel, k)
}
