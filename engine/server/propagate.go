package server

import (
	"strconv"

	"github.com/hactl/hactl/engine/resp"
)

// The stream of executed writes. Every change to the dataset reaches the
// AOF and the replicas through here, in execution order, as RESP multibulk
// commands with SELECT inserted when the database changes. Commands whose
// effect is not deterministic propagate their effect instead (SET ... EX
// as SET ... PXAT, EXPIRE as PEXPIREAT, expired keys as DEL, SPOP as SREM,
// INCRBYFLOAT as SET ... KEEPTTL, a served BLPOP as LPOP...), exactly like
// Redis 7.0, so that a replica or a reload reaches the same state.

// Feed consumes the stream (the AOF writer); replication is fed directly
// (replFeed).
// Write is called with the server lock held; b is only valid during the
// call.
type Feed interface {
	Write(b []byte)
}

// stream is the propagation state; guarded by the server lock.
type stream struct {
	feeds  []Feed
	lastDB int // database of the last propagated command, -1: none
	buf    []byte
	// fromMaster is set while a replica executes its master's stream:
	// the master's own bytes are proxied to our replicas instead.
	fromMaster bool
	// inExec: MULTI is emitted before the first write of a transaction.
	inExec, multiEmitted bool
}

// AddFeed registers a consumer of the write stream.
func (s *Server) AddFeed(f Feed) {
	s.mu.Lock()
	s.str.feeds = append(s.str.feeds, f)
	s.mu.Unlock()
}

var (
	bSelect = []byte("SELECT")
	bMulti  = []byte("MULTI")
	bExec   = []byte("EXEC")
	bDel    = []byte("DEL")
)

// propagate appends one command to the stream; s.mu is held.
func (s *Server) propagate(db int, args ...[]byte) {
	st := &s.str
	st.buf = st.buf[:0]
	if st.inExec && !st.multiEmitted {
		st.multiEmitted = true
		st.buf = s.appendSelect(st.buf, db)
		st.buf = resp.AppendCommand(st.buf, bMulti)
	}
	st.buf = s.appendSelect(st.buf, db)
	st.buf = resp.AppendCommand(st.buf, args...)
	s.emit(st.buf)
}

func (s *Server) appendSelect(b []byte, db int) []byte {
	if s.str.lastDB == db {
		return b
	}
	s.str.lastDB = db
	return resp.AppendCommand(b, bSelect, []byte(strconv.Itoa(db)))
}

// emit hands encoded bytes to every feed.
func (s *Server) emit(b []byte) {
	if !s.str.fromMaster {
		s.replFeed(b)
	}
	for _, f := range s.str.feeds {
		f.Write(b)
	}
}

// beginExecPropagation and endExecPropagation wrap the writes of EXEC in
// MULTI/EXEC in the stream (only when the transaction wrote something).
func (s *Server) beginExecPropagation() {
	s.str.inExec, s.str.multiEmitted = true, false
}

func (s *Server) endExecPropagation() {
	if s.str.multiEmitted {
		b := resp.AppendCommand(s.str.buf[:0], bExec)
		s.emit(b)
	}
	s.str.inExec, s.str.multiEmitted = false, false
}

// rewriteCommand replaces what the current command propagates (for
// example SET k v EX 10 propagates as SET k v PXAT <ms>). Handlers call it
// after a successful change.
func (c *Client) rewriteCommand(args ...[]byte) {
	c.propArgs = append(c.propArgs[:0], args...)
	c.propRewritten = true
}

// propagateExpired records the deletion of an expired key.
func (s *Server) propagateExpired(db int, key string) {
	if s.isReplica() {
		return
	}
	s.propagate(db, bDel, []byte(key))
}
