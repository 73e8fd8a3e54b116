package server

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/engine/rdb"
	"github.com/hactl/hactl/engine/resp"
	"github.com/hactl/hactl/engine/types/hash"
	"github.com/hactl/hactl/engine/types/list"
	"github.com/hactl/hactl/engine/types/set"
	"github.com/hactl/hactl/engine/types/zset"
)

// snapshotStepKeys bounds the work done per lock hold while a snapshot is
// written in the background: the longest write pause a BGSAVE causes is
// one step (or one large value).
const snapshotStepKeys = 512

// snapshotJob streams a point-in-time image of the dataset (RDB or AOF
// commands) produced by keyspace.Snapshot. begin runs under the server
// lock at the instant the image refers to; run drains it to a writer,
// taking the lock once per step.
type snapshotJob struct {
	s     *Server
	snap  *keyspace.Snapshot
	chunk bytes.Buffer // encoded records not yet written out; guarded by s.mu
	enc   recordEncoder
	err   error // first encoding error; guarded by s.mu
	// MaxPause is the longest lock hold of one step.
	MaxPause time.Duration
	Keys     int64
}

// recordEncoder writes one key of a snapshot.
type recordEncoder interface {
	key(db int, key string, v *keyspace.Value, expireMs int64) error
	close() error
}

// beginSnapshot starts an image of the dataset; s.mu is held. Only one
// snapshot may run at a time.
func (s *Server) beginSnapshot(aofBase, commands bool) (*snapshotJob, error) {
	if s.snapJob != nil {
		return nil, errSnapshotRunning
	}
	j := &snapshotJob{s: s}
	if commands {
		j.enc = &commandEncoder{out: &j.chunk, lastDB: -1}
	} else {
		w := rdb.NewWriter(&j.chunk, rdb.Options{
			Compression: s.set.Persist.RDBCompression,
			Checksum:    s.set.Persist.RDBChecksum,
			Aux:         rdb.Aux{UsedMem: int64(usedMemory()), AOFBase: aofBase, Repl: s.replInfoForRDB()},
			Limits:      s.rdbLimits(),
		})
		j.enc = &rdbEncoder{w: w, s: s, lastDB: -1}
	}
	j.snap = keyspace.BeginSnapshot(s.dbs, func(db int, key string, v *keyspace.Value, exp int64) {
		if j.err == nil {
			j.err = j.enc.key(db, key, v, exp)
		}
		j.Keys++
	})
	s.snapJob = j
	return j, nil
}

var errSnapshotRunning = fmt.Errorf("a background save or rewrite is already in progress")

// run writes the image to out. With locked set the caller holds s.mu for
// the whole run (SAVE); otherwise the lock is taken once per step.
func (j *snapshotJob) run(out io.Writer, locked bool) error {
	s := j.s
	var spare []byte
	for {
		if !locked {
			s.mu.Lock()
		}
		t0 := time.Now()
		done := j.snap.Step(snapshotStepKeys)
		if done && j.err == nil {
			j.err = j.enc.close()
		}
		if p := time.Since(t0); p > j.MaxPause {
			j.MaxPause = p
		}
		spare = append(spare[:0], j.chunk.Bytes()...)
		j.chunk.Reset()
		err := j.err
		if err != nil || done {
			j.snap.Abort()
			if s.snapJob == j {
				s.snapJob = nil
			}
		}
		if !locked {
			s.mu.Unlock()
		}
		if err != nil {
			return err
		}
		if _, werr := out.Write(spare); werr != nil {
			if !done {
				if !locked {
					s.mu.Lock()
				}
				j.snap.Abort()
				if s.snapJob == j {
					s.snapJob = nil
				}
				if !locked {
					s.mu.Unlock()
				}
			}
			return werr
		}
		if done {
			return nil
		}
	}
}

// rdbLimits are the encoding thresholds of the current configuration.
func (s *Server) rdbLimits() *rdb.Limits {
	l := rdb.DefaultLimits()
	if s.set.HashMaxListpackEntries > 0 {
		l.HashMaxListpackEntries = int(s.set.HashMaxListpackEntries)
	}
	if s.set.HashMaxListpackValue > 0 {
		l.HashMaxListpackValue = int(s.set.HashMaxListpackValue)
	}
	if s.set.SetMaxIntsetEntries > 0 {
		l.SetMaxIntsetEntries = int(s.set.SetMaxIntsetEntries)
	}
	if s.set.ZsetMaxListpackEntries > 0 {
		l.ZSetMaxListpackEntries = int(s.set.ZsetMaxListpackEntries)
	}
	if s.set.ZsetMaxListpackValue > 0 {
		l.ZSetMaxListpackValue = int(s.set.ZsetMaxListpackValue)
	}
	return &l
}

// replInfoForRDB is the replication state saved in RDB aux fields.
func (s *Server) replInfoForRDB() *rdb.ReplInfo {
	return &rdb.ReplInfo{StreamDB: max(s.str.lastDB, 0), ID: s.repl.replid, Offset: s.repl.offset}
}

// rdbEncoder writes RDB records.
type rdbEncoder struct {
	w      *rdb.Writer
	s      *Server
	lastDB int
}

func (e *rdbEncoder) key(db int, key string, v *keyspace.Value, exp int64) error {
	if exp < 0 {
		exp = rdb.NoExpire
	}
	if db != e.lastDB {
		d := e.s.dbs[db]
		if err := e.w.SelectDB(db, uint64(d.Len()), uint64(d.ExpiresLen())); err != nil {
			return err
		}
		e.lastDB = db
	}
	switch o := v.Obj.(type) {
	case nil:
		return e.w.WriteString(key, v.Str, exp)
	case *list.List:
		return e.w.WriteList(key, o.Len(), listElems(o), exp)
	case *set.Set:
		return e.w.WriteSet(key, o.Len(), setMembers(o), exp)
	case *hash.Hash:
		return e.w.WriteHash(key, o.Len(), hashPairs(o), exp)
	case *zset.ZSet:
		return e.w.WriteZSet(key, o.Len(), zsetPairs(o), exp)
	}
	return fmt.Errorf("rdb: key %q: unsupported value type %T", key, v.Obj)
}

func (e *rdbEncoder) close() error { return e.w.Close() }

func listElems(l *list.List) iter.Seq[string] {
	return func(yield func(string) bool) {
		it := l.IterAt(0, false)
		for {
			b, ok := it.Next()
			if !ok || !yield(string(b)) {
				return
			}
		}
	}
}

func setMembers(st *set.Set) iter.Seq[string] {
	return func(yield func(string) bool) {
		st.Range(func(m []byte) bool { return yield(string(m)) })
	}
}

func hashPairs(h *hash.Hash) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		h.Range(func(f, v []byte) bool { return yield(string(f), string(v)) })
	}
}

func zsetPairs(z *zset.ZSet) iter.Seq2[string, float64] {
	return func(yield func(string, float64) bool) {
		z.Ascend(0, func(it zset.Item) bool { return yield(it.Member, it.Score) })
	}
}

// commandEncoder writes keys as commands (AOF base without RDB preamble).
type commandEncoder struct {
	out    *bytes.Buffer
	lastDB int
}

func (e *commandEncoder) cmd(args ...[]byte) { e.out.Write(resp.AppendCommand(nil, args...)) }

func (e *commandEncoder) key(db int, key string, v *keyspace.Value, exp int64) error {
	if db != e.lastDB {
		e.cmd(bSelect, []byte(strconv.Itoa(db)))
		e.lastDB = db
	}
	k := []byte(key)
	const batch = 64
	switch o := v.Obj.(type) {
	case nil:
		e.cmd(bSet, k, []byte(v.Str))
	case *list.List:
		e.batched([]byte("RPUSH"), k, batch, func(yield func(...[]byte) bool) {
			for m := range listElems(o) {
				if !yield([]byte(m)) {
					return
				}
			}
		})
	case *set.Set:
		e.batched([]byte("SADD"), k, batch, func(yield func(...[]byte) bool) {
			for m := range setMembers(o) {
				if !yield([]byte(m)) {
					return
				}
			}
		})
	case *hash.Hash:
		e.batched([]byte("HSET"), k, batch, func(yield func(...[]byte) bool) {
			for f, val := range hashPairs(o) {
				if !yield([]byte(f), []byte(val)) {
					return
				}
			}
		})
	case *zset.ZSet:
		e.batched([]byte("ZADD"), k, batch, func(yield func(...[]byte) bool) {
			for m, sc := range zsetPairs(o) {
				if !yield(resp.AppendFloat17(nil, sc), []byte(m)) {
					return
				}
			}
		})
	default:
		return fmt.Errorf("aof: key %q: unsupported value type %T", key, v.Obj)
	}
	if exp >= 0 {
		e.cmd(bPExpireAt, k, []byte(strconv.FormatInt(exp, 10)))
	}
	return nil
}

// batched emits name key item... commands of at most n items.
func (e *commandEncoder) batched(name, key []byte, n int, items func(yield func(...[]byte) bool)) {
	args := [][]byte{name, key}
	count := 0
	items(func(parts ...[]byte) bool {
		args = append(args, parts...)
		count++
		if count == n {
			e.cmd(args...)
			args, count = args[:2], 0
		}
		return true
	})
	if count > 0 {
		e.cmd(args...)
	}
}

func (e *commandEncoder) close() error { return nil }
