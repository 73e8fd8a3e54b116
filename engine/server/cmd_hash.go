package server

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/hactl/hactl/engine/glob"
	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/engine/types/hash"
)

// Hash commands, following Redis 7.0.15's t_hash.c.

const (
	errHashValueNotInt   = "ERR hash value is not an integer"
	errHashValueNotFloat = "ERR hash value is not a float"
	errValueNaNOrInf     = "ERR value is NaN or Infinity"
	errValueOutOfRange   = "ERR value is out of range"
)

func hashCommands() []*command {
	k1 := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, group: "hash", run: run}
	}
	const (
		w  = flagWrite | flagDenyOOM | flagFast
		r  = flagReadonly | flagFast
		ro = flagReadonly
	)
	return []*command{
		k1("hset", -4, w, cmdHSet),
		k1("hmset", -4, w, cmdHMSet),
		k1("hsetnx", 4, w, cmdHSetNX),
		k1("hget", 3, r, cmdHGet),
		k1("hmget", -3, r, cmdHMGet),
		k1("hgetall", 2, ro, cmdHGetAll),
		k1("hkeys", 2, ro, cmdHKeys),
		k1("hvals", 2, ro, cmdHVals),
		k1("hdel", -3, flagWrite|flagFast, cmdHDel),
		k1("hexists", 3, r, cmdHExists),
		k1("hlen", 2, r, cmdHLen),
		k1("hstrlen", 3, r, cmdHStrlen),
		k1("hincrby", 4, w, cmdHIncrBy),
		k1("hincrbyfloat", 4, w, cmdHIncrByFloat),
		k1("hrandfield", -2, ro, cmdHRandField),
		k1("hscan", -3, ro, cmdHScan),
	}
}

// lookupTyped returns the value of type typ under key, or the zero T when
// the key is missing; on another type it writes WRONGTYPE and reports
// ok == false. write selects a write lookup (no hit/miss counting).
func lookupTyped[T any](c *Client, key []byte, typ keyspace.Type, write bool) (obj T, ok bool) {
	var v *keyspace.Value
	if write {
		v = c.lookupWrite(key)
	} else {
		v = c.lookupRead(key)
	}
	if v == nil {
		return obj, true
	}
	if v.Type != typ {
		c.replyError(errWrongType)
		return obj, false
	}
	return v.Obj.(T), true
}

func (c *Client) readHash(key []byte) (*hash.Hash, bool) {
	return lookupTyped[*hash.Hash](c, key, keyspace.TypeHash, false)
}

func (c *Client) writeHash(key []byte) (*hash.Hash, bool) {
	return lookupTyped[*hash.Hash](c, key, keyspace.TypeHash, true)
}

// hashOrCreate is hashTypeLookupWriteOrCreate.
func (c *Client) hashOrCreate(key []byte) (*hash.Hash, bool) {
	h, ok := c.writeHash(key)
	if !ok || h != nil {
		return h, ok
	}
	h = hash.New()
	c.curDB().Add(&c.srv.ctx, key, keyspace.Value{Type: keyspace.TypeHash, Obj: h})
	return h, true
}

// hashSet stores one pair with the configured thresholds.
func (c *Client) hashSet(h *hash.Hash, field, value []byte) bool {
	return h.Set(field, value, c.srv.set.HashMaxListpackEntries, c.srv.set.HashMaxListpackValue)
}

// deleteEmptied removes a collection that became empty and emits "del".
func (c *Client) deleteEmptied(key []byte) {
	c.curDB().DeleteBytes(key)
	c.written(key, notifyGeneric, "del")
}

func cmdHSet(c *Client, args [][]byte)  { c.hset(args, "hset") }
func cmdHMSet(c *Client, args [][]byte) { c.hset(args, "hmset") }

// hset is hsetCommand (HMSET replies +OK instead of the count).
func (c *Client) hset(args [][]byte, name string) {
	if len(args)%2 == 1 {
		c.replyError(errWrongArgs(name))
		return
	}
	h, ok := c.hashOrCreate(args[1])
	if !ok {
		return
	}
	h.ConvertIfLonger(args[2:], c.srv.set.HashMaxListpackValue)
	created := 0
	for i := 2; i < len(args); i += 2 {
		if c.hashSet(h, args[i], args[i+1]) {
			created++
		}
	}
	if name == "hmset" {
		c.w.OK()
	} else {
		c.w.Int(int64(created))
	}
	c.written(args[1], notifyHash, "hset")
}

func cmdHSetNX(c *Client, args [][]byte) {
	h, ok := c.hashOrCreate(args[1])
	if !ok {
		return
	}
	if h.Has(args[2]) {
		c.w.Int(0)
		return
	}
	h.ConvertIfLonger(args[2:4], c.srv.set.HashMaxListpackValue)
	c.hashSet(h, args[2], args[3])
	c.w.Int(1)
	c.written(args[1], notifyHash, "hset")
}

func cmdHGet(c *Client, args [][]byte) {
	h, ok := c.readHash(args[1])
	if !ok {
		return
	}
	if h != nil {
		if v, found := h.Get(args[2]); found {
			c.w.Bulk(v)
			return
		}
	}
	c.w.Null()
}

func cmdHMGet(c *Client, args [][]byte) {
	h, ok := c.readHash(args[1])
	if !ok {
		return
	}
	c.w.Array(len(args) - 2)
	for _, f := range args[2:] {
		if h != nil {
			if v, found := h.Get(f); found {
				c.w.Bulk(v)
				continue
			}
		}
		c.w.Null()
	}
}

// What HGETALL, HKEYS and HVALS return.
const (
	withFields = 1 << iota
	withValues
)

func cmdHGetAll(c *Client, args [][]byte) { c.hashGetAll(args[1], withFields|withValues) }
func cmdHKeys(c *Client, args [][]byte)   { c.hashGetAll(args[1], withFields) }
func cmdHVals(c *Client, args [][]byte)   { c.hashGetAll(args[1], withValues) }

// hashGetAll is genericHgetallCommand.
func (c *Client) hashGetAll(key []byte, what int) {
	h, ok := c.readHash(key)
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.Len()
	}
	if what == withFields|withValues {
		c.w.Map(n)
	} else {
		c.w.Array(n)
	}
	if h == nil {
		return
	}
	h.Range(func(f, v []byte) bool {
		if what&withFields != 0 {
			c.w.Bulk(f)
		}
		if what&withValues != 0 {
			c.w.Bulk(v)
		}
		return true
	})
}

func cmdHDel(c *Client, args [][]byte) {
	h, ok := c.writeHash(args[1])
	if !ok {
		return
	}
	if h == nil {
		c.w.Int(0)
		return
	}
	deleted := 0
	emptied := false
	for _, f := range args[2:] {
		if h.Delete(f) {
			deleted++
			if h.Len() == 0 {
				emptied = true
				break
			}
		}
	}
	c.w.Int(int64(deleted))
	if deleted > 0 {
		c.written(args[1], notifyHash, "hdel")
	}
	if emptied {
		c.deleteEmptied(args[1])
	}
}

func cmdHExists(c *Client, args [][]byte) {
	h, ok := c.readHash(args[1])
	if !ok {
		return
	}
	c.w.Int(boolInt(h != nil && h.Has(args[2])))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func cmdHLen(c *Client, args [][]byte) {
	h, ok := c.readHash(args[1])
	if !ok {
		return
	}
	if h == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(h.Len()))
}

func cmdHStrlen(c *Client, args [][]byte) {
	h, ok := c.readHash(args[1])
	if !ok {
		return
	}
	var n int
	if h != nil {
		v, _ := h.Get(args[2])
		n = len(v)
	}
	c.w.Int(int64(n))
}

func cmdHIncrBy(c *Client, args [][]byte) {
	var incr int64
	if !c.intArg(args[3], &incr) {
		return
	}
	h, ok := c.hashOrCreate(args[1])
	if !ok {
		return
	}
	var value int64
	if cur, found := h.Get(args[2]); found {
		if value, ok = parseInt64(cur); !ok {
			c.replyError(errHashValueNotInt)
			return
		}
	}
	if (incr < 0 && value < 0 && incr < math.MinInt64-value) ||
		(incr > 0 && value > 0 && incr > math.MaxInt64-value) {
		c.replyError(errOverflow)
		return
	}
	value += incr
	var tmp [24]byte
	c.hashSet(h, args[2], strconv.AppendInt(tmp[:0], value, 10))
	c.w.Int(value)
	c.written(args[1], notifyHash, "hincrby")
}

func cmdHIncrByFloat(c *Client, args [][]byte) {
	incr, ok := parseLongDouble(args[3])
	if !ok {
		c.replyError(errNotFloat)
		return
	}
	if incr.IsInf() {
		c.replyError(errValueNaNOrInf)
		return
	}
	h, ok := c.hashOrCreate(args[1])
	if !ok {
		return
	}
	value := new(big.Float).SetPrec(longDoublePrec)
	if cur, found := h.Get(args[2]); found {
		f, ok := parseLongDouble(cur)
		if !ok {
			c.replyError(errHashValueNotFloat)
			return
		}
		value = f
	}
	if value.IsInf() {
		c.replyError(errIncrFloatNaN)
		return
	}
	sum := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven).Add(value, incr)
	if exp := sum.MantExp(nil); exp > 16384 {
		c.replyError(errIncrFloatNaN)
		return
	}
	out := formatLongDouble(sum)
	c.hashSet(h, args[2], []byte(out))
	c.w.BulkString(out)
	c.written(args[1], notifyHash, "hincrbyfloat")
	// The float result depends on the platform: replicate the value.
	c.rewriteCommand([]byte("HSET"), args[1], args[2], []byte(out))
}

func cmdHRandField(c *Client, args [][]byte) {
	if len(args) == 2 {
		h, ok := c.readHash(args[1])
		if !ok {
			return
		}
		if h == nil {
			c.w.Null()
			return
		}
		f, _ := h.Random(c.srv.rnd)
		c.w.Bulk(f)
		return
	}
	l, ok := c.rangeArg(args[2], -math.MaxInt64, math.MaxInt64)
	if !ok {
		return
	}
	withValues := false
	if len(args) > 4 || (len(args) == 4 && !eqFold(args[3], "withvalues")) {
		c.replyError(errSyntax)
		return
	}
	if len(args) == 4 {
		withValues = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.replyError(errValueOutOfRange)
			return
		}
	}
	h, ok := c.readHash(args[1])
	if !ok {
		return
	}
	if h == nil || l == 0 {
		c.w.Array(0)
		return
	}
	pair := func(f, v []byte) {
		if withValues && c.w.Proto >= 3 {
			c.w.Array(2)
		}
		c.w.Bulk(f)
		if withValues {
			c.w.Bulk(v)
		}
	}
	header := func(n int) {
		if withValues && c.w.Proto < 3 {
			n *= 2
		}
		c.w.Array(n)
	}
	size := h.Len()
	if l < 0 || l == 1 {
		// Repetitions allowed: sample the whole hash every time.
		count := int(min(-l, math.MaxInt32))
		if l == 1 {
			count = 1
		}
		header(count)
		for range count {
			pair(h.Random(c.srv.rnd))
		}
		return
	}
	if l >= int64(size) {
		header(size)
		h.Range(func(f, v []byte) bool {
			pair(f, v)
			return true
		})
		return
	}
	header(int(l))
	random := func() hash.Pair {
		f, v := h.Random(c.srv.rnd)
		return hash.Pair{Field: f, Value: v}
	}
	for _, p := range sampleUnique(c.srv.rnd, int(l), size, h.Pairs, random,
		func(p hash.Pair) string { return string(p.Field) }) {
		pair(p.Field, p.Value)
	}
}

// sampleUnique returns count distinct random elements of a collection of
// size elements (count < size), in random order, with the two strategies
// of Redis's HRANDFIELD/SRANDMEMBER/ZRANDMEMBER: when count is a large
// part of the collection, take all elements and keep a random subset
// (CASE 3); otherwise pick random elements until count distinct ones are
// found (CASE 4). id identifies an element.
func sampleUnique[T any](r *rand.Rand, count, size int, all func() []T, random func() T, id func(T) string) []T {
	if count*3 > size {
		elems := all()
		for i := range count {
			j := i + r.IntN(size-i)
			elems[i], elems[j] = elems[j], elems[i]
		}
		return elems[:count]
	}
	seen := make(map[string]struct{}, count)
	out := make([]T, 0, count)
	for len(out) < count {
		e := random()
		if _, dup := seen[id(e)]; !dup {
			seen[id(e)] = struct{}{}
			out = append(out, e)
		}
	}
	return out
}

// rangeArg is getRangeLongFromObjectOrReply without a custom message.
func (c *Client) rangeArg(b []byte, lo, hi int64) (int64, bool) {
	n, ok := parseInt64(b)
	if !ok {
		c.replyError(errNotInt)
		return 0, false
	}
	if n < lo || n > hi {
		c.replyError("ERR value is out of range, value must between " +
			strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10))
		return 0, false
	}
	return n, true
}

// eqFold compares an argument with a lowercase ASCII word, ignoring case.
func eqFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != word[i] {
			return false
		}
	}
	return true
}

// scanArgs are the options of HSCAN/SSCAN/ZSCAN (scanGenericCommand for an
// object): COUNT and MATCH.
type scanArgs struct {
	count   int64
	pattern []byte // nil matches everything
}

// parseScanArgs parses args[3:] of HSCAN/SSCAN; on error it replies.
func (c *Client) parseScanArgs(args [][]byte) (scanArgs, bool) {
	sa := scanArgs{count: 10}
	for i := 3; i < len(args); i += 2 {
		hasValue := len(args)-i >= 2
		switch {
		case eqFold(args[i], "count") && hasValue:
			if !c.intArg(args[i+1], &sa.count) {
				return sa, false
			}
			if sa.count < 1 {
				c.replyError(errSyntax)
				return sa, false
			}
		case eqFold(args[i], "match") && hasValue:
			sa.pattern = args[i+1]
			if len(sa.pattern) == 1 && sa.pattern[0] == '*' {
				sa.pattern = nil
			}
		default:
			c.replyError(errSyntax)
			return sa, false
		}
	}
	return sa, true
}

// emptyScan writes the reply of a scan over a missing key.
func (c *Client) emptyScan() {
	c.w.Array(2)
	c.w.BulkString("0")
	c.w.Array(0)
}

// stepScanner is a collection whose elements SCAN-like commands visit:
// ScanStep visits one bucket of a hashtable encoding (or everything of a
// compact one, returning 0) and returns the next cursor.
type stepScanner interface {
	ScanStep(cursor uint64, fn func(elem, val []byte)) uint64
}

// scanCollection is HSCAN/SSCAN (scanGenericCommand for one object of type
// typ); pairs selects replying with each element's value too.
func (c *Client) scanCollection(args [][]byte, typ keyspace.Type, pairs bool) {
	cursor, ok := c.parseCursor(args[2])
	if !ok {
		return
	}
	obj, ok := lookupTyped[stepScanner](c, args[1], typ, false)
	if !ok {
		return
	}
	if obj == nil {
		c.emptyScan()
		return
	}
	sa, ok := c.parseScanArgs(args)
	if !ok {
		return
	}
	var out [][]byte
	found := int64(0)
	emit := func(e, v []byte) {
		found++
		if sa.pattern != nil && !glob.Match(sa.pattern, e, false) {
			return
		}
		out = append(out, slices.Clone(e))
		if pairs {
			out = append(out, slices.Clone(v))
		}
	}
	maxIter := sa.count * 10
	for {
		cursor = obj.ScanStep(cursor, emit)
		if cursor == 0 || maxIter <= 0 || found >= sa.count {
			break
		}
		maxIter--
	}
	c.w.Array(2)
	c.w.BulkString(strconv.FormatUint(cursor, 10))
	c.w.Array(len(out))
	for _, b := range out {
		c.w.Bulk(b)
	}
}

func cmdHScan(c *Client, args [][]byte) { c.scanCollection(args, keyspace.TypeHash, true) }
