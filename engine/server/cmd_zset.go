package server

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hactl/hactl/engine/glob"
	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/engine/resp"
	"github.com/hactl/hactl/engine/types/set"
	"github.com/hactl/hactl/engine/types/zset"
)

// Sorted-set commands (t_zset.c of Redis 7.0.15). The blocking variants
// (BZPOPMIN, BZPOPMAX, BZMPOP) are built on zpop.

const (
	errZMinMaxFloat  = "ERR min or max is not a float"
	errZMinMaxLex    = "ERR min or max not valid string range item"
	errZNaN          = "ERR resulting score is not a number (NaN)"
	errZWeight       = "ERR weight value is not a float"
	errZLimitRank    = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
	errZLexScores    = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
	errZNumkeys      = "ERR numkeys should be greater than 0"
	errZCount        = "ERR count should be greater than 0"
	errZPositive     = "ERR value is out of range, must be positive"
	errZLimitNeg     = "ERR LIMIT can't be negative"
	errZXXNX         = "ERR XX and NX options at the same time are not compatible"
	errZGTLTNX       = "ERR GT, LT, and/or NX options at the same time are not compatible"
	errZIncrPair     = "ERR INCR option supports a single increment-element pair"
	errZRandOverflow = "ERR value is out of range"
)

func zsetCommands() []*command {
	z := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, group: "sorted_set", run: run}
	}
	movable := func(name string, arity int, flags cmdFlags, first int, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: first, lastKey: first, keyStep: first, group: "sorted_set", run: run}
	}
	w, wd, ro := flagWrite, flagWrite|flagDenyOOM, flagReadonly
	return []*command{
		z("zadd", -4, wd|flagFast, cmdZAdd),
		z("zincrby", 4, wd|flagFast, cmdZIncrBy),
		z("zrem", -3, w|flagFast, cmdZRem),
		z("zremrangebyscore", 4, w, cmdZRemRangeByScore),
		z("zremrangebyrank", 4, w, cmdZRemRangeByRank),
		z("zremrangebylex", 4, w, cmdZRemRangeByLex),
		movable("zunionstore", -4, wd, 1, cmdZUnionStore),
		movable("zinterstore", -4, wd, 1, cmdZInterStore),
		movable("zdiffstore", -4, wd, 1, cmdZDiffStore),
		movable("zunion", -3, ro, 0, cmdZUnion),
		movable("zinter", -3, ro, 0, cmdZInter),
		movable("zintercard", -3, ro, 0, cmdZInterCard),
		movable("zdiff", -3, ro, 0, cmdZDiff),
		z("zrange", -4, ro, cmdZRange),
		{name: "zrangestore", arity: -5, flags: wd, firstKey: 1, lastKey: 2, keyStep: 1, group: "sorted_set", run: cmdZRangeStore},
		z("zrangebyscore", -4, ro, cmdZRangeByScore),
		z("zrevrangebyscore", -4, ro, cmdZRevRangeByScore),
		z("zrangebylex", -4, ro, cmdZRangeByLex),
		z("zrevrangebylex", -4, ro, cmdZRevRangeByLex),
		z("zcount", 4, ro|flagFast, cmdZCount),
		z("zlexcount", 4, ro|flagFast, cmdZLexCount),
		z("zrevrange", -4, ro, cmdZRevRange),
		z("zcard", 2, ro|flagFast, cmdZCard),
		z("zscore", 3, ro|flagFast, cmdZScore),
		z("zmscore", -3, ro|flagFast, cmdZMScore),
		z("zrank", 3, ro|flagFast, cmdZRank),
		z("zrevrank", 3, ro|flagFast, cmdZRevRank),
		z("zscan", -3, ro, cmdZScan),
		z("zpopmin", -2, w|flagFast, cmdZPopMin),
		z("zpopmax", -2, w|flagFast, cmdZPopMax),
		movable("zmpop", -4, w, 0, cmdZMPop),
		z("zrandmember", -2, ro, cmdZRandMember),
	}
}

func (c *Client) zsetLimits() zset.Limits {
	return zset.Limits{Entries: c.srv.set.ZsetMaxListpackEntries, Value: c.srv.set.ZsetMaxListpackValue}
}

// zsetOf returns v's sorted set (nil for a missing key); on a wrong type
// it writes WRONGTYPE and reports ok == false.
func (c *Client) zsetOf(v *keyspace.Value) (*zset.ZSet, bool) {
	if v == nil {
		return nil, true
	}
	if v.Type != keyspace.TypeZSet {
		c.replyError(errWrongType)
		return nil, false
	}
	return v.Obj.(*zset.ZSet), true
}

func (c *Client) readZSet(key []byte) (*zset.ZSet, bool)  { return c.zsetOf(c.lookupRead(key)) }
func (c *Client) writeZSet(key []byte) (*zset.ZSet, bool) { return c.zsetOf(c.lookupWrite(key)) }

// storeZSet replaces dst with z (setKey) or deletes dst when z is empty,
// then replies with z's length (ZRANGESTORE, Z*STORE).
func (c *Client) storeZSet(dst []byte, z *zset.ZSet, event string) {
	db := c.curDB()
	if z.Len() == 0 {
		c.w.Int(0)
		if db.Lookup(&c.srv.ctx, dst) != nil {
			db.DeleteBytes(dst)
			c.written(dst, notifyGeneric, "del")
		}
		return
	}
	db.Add(&c.srv.ctx, dst, keyspace.Value{Type: keyspace.TypeZSet, Obj: z})
	c.w.Int(int64(z.Len()))
	c.written(dst, notifyZSet, event)
	c.keyReady(dst)
}

// replyScore writes a score as Redis's addReplyDouble does.
func (c *Client) replyScore(f float64) { c.w.Double(f) }

// zReplyHeader starts a reply of n members, flat with scores in RESP2,
// pairs in RESP3 (zrangeResultBeginClient and friends).
func (c *Client) zReplyHeader(n int, withScores bool) {
	if withScores && c.w.Proto == 2 {
		n *= 2
	}
	c.w.Array(n)
}

func (c *Client) zReplyItem(it zset.Item, withScores bool) {
	if withScores && c.w.Proto > 2 {
		c.w.Array(2)
	}
	c.w.BulkString(it.Member)
	if withScores {
		c.replyScore(it.Score)
	}
}

func cmdZAdd(c *Client, args [][]byte)    { c.zadd(args, 0) }
func cmdZIncrBy(c *Client, args [][]byte) { c.zadd(args, zset.AddIncr) }

// zadd is zaddGenericCommand.
func (c *Client) zadd(args [][]byte, flags zset.AddFlags) {
	key := args[1]
	ch := false
	i := 2
options:
	for ; i < len(args); i++ {
		switch {
		case eqFold(args[i], "nx"):
			flags |= zset.AddNX
		case eqFold(args[i], "xx"):
			flags |= zset.AddXX
		case eqFold(args[i], "ch"):
			ch = true
		case eqFold(args[i], "incr"):
			flags |= zset.AddIncr
		case eqFold(args[i], "gt"):
			flags |= zset.AddGT
		case eqFold(args[i], "lt"):
			flags |= zset.AddLT
		default:
			break options
		}
	}
	elems := len(args) - i
	if elems == 0 || elems%2 != 0 {
		c.replyError(errSyntax)
		return
	}
	has := func(f zset.AddFlags) bool { return flags&f != 0 }
	if has(zset.AddNX) && has(zset.AddXX) {
		c.replyError(errZXXNX)
		return
	}
	if has(zset.AddNX) && (has(zset.AddGT) || has(zset.AddLT)) || has(zset.AddGT) && has(zset.AddLT) {
		c.replyError(errZGTLTNX)
		return
	}
	incr := has(zset.AddIncr)
	if incr && elems > 2 {
		c.replyError(errZIncrPair)
		return
	}
	pairs := args[i:]
	scores := make([]float64, 0, len(pairs)/2)
	for j := 0; j < len(pairs); j += 2 {
		f, ok := zset.ParseScore(pairs[j])
		if !ok {
			c.replyError(errNotFloat)
			return
		}
		scores = append(scores, f)
	}
	z, ok := c.writeZSet(key)
	if !ok {
		return
	}
	var added, updated, processed int
	score := 0.0
	if z == nil && !has(zset.AddXX) {
		z = zset.New()
		c.curDB().Add(&c.srv.ctx, key, keyspace.Value{Type: keyspace.TypeZSet, Obj: z})
	}
	for j := 0; z != nil && j < len(scores); j++ {
		newScore, res := z.Add(pairs[2*j+1], scores[j], flags, c.zsetLimits())
		switch res {
		case zset.NaN:
			c.replyError(errZNaN)
			c.zaddNotify(key, added+updated, incr)
			return
		case zset.Added:
			added++
		case zset.Updated:
			updated++
		}
		if res != zset.Nop {
			processed++
		}
		score = newScore
	}
	switch {
	case incr && processed > 0:
		c.replyScore(score)
	case incr:
		c.w.Null()
	case ch:
		c.w.Int(int64(added + updated))
	default:
		c.w.Int(int64(added))
	}
	c.zaddNotify(key, added+updated, incr)
}

func (c *Client) zaddNotify(key []byte, changed int, incr bool) {
	if changed == 0 {
		return
	}
	event := "zadd"
	if incr {
		event = "zincr"
	}
	c.written(key, notifyZSet, event)
	c.keyReady(key)
}

func cmdZRem(c *Client, args [][]byte) {
	z := c.orZero(c.writeZSet(args[1]))
	if z == nil {
		return
	}
	deleted := 0
	for _, m := range args[2:] {
		if z.Delete(keyspace.Bytes2Str(m)) {
			deleted++
		}
		if z.Len() == 0 {
			break
		}
	}
	if deleted > 0 {
		c.written(args[1], notifyZSet, "zrem")
		if z.Len() == 0 {
			c.deleteEmptied(args[1])
		}
	}
	c.w.Int(int64(deleted))
}

func cmdZCard(c *Client, args [][]byte) {
	if z := c.orZero(c.readZSet(args[1])); z != nil {
		c.w.Int(int64(z.Len()))
	}
}

// orZero passes on a sorted set found by readZSet/writeZSet; for a missing
// key it replies 0 and returns nil (as after a type error).
func (c *Client) orZero(z *zset.ZSet, ok bool) *zset.ZSet {
	if ok && z == nil {
		c.w.Int(0)
	}
	return z
}

// orNull is orZero replying a null.
func (c *Client) orNull(z *zset.ZSet, ok bool) *zset.ZSet {
	if ok && z == nil {
		c.w.Null()
	}
	return z
}

func cmdZScore(c *Client, args [][]byte) {
	z, ok := c.readZSet(args[1])
	if !ok {
		return
	}
	if z != nil {
		if s, found := z.Score(keyspace.Bytes2Str(args[2])); found {
			c.replyScore(s)
			return
		}
	}
	c.w.Null()
}

func cmdZMScore(c *Client, args [][]byte) {
	z, ok := c.readZSet(args[1])
	if !ok {
		return
	}
	c.w.Array(len(args) - 2)
	for _, m := range args[2:] {
		if z != nil {
			if s, found := z.Score(keyspace.Bytes2Str(m)); found {
				c.replyScore(s)
				continue
			}
		}
		c.w.Null()
	}
}

func cmdZRank(c *Client, args [][]byte)    { c.zrank(args, false) }
func cmdZRevRank(c *Client, args [][]byte) { c.zrank(args, true) }

func (c *Client) zrank(args [][]byte, reverse bool) {
	z := c.orNull(c.readZSet(args[1]))
	if z == nil {
		return
	}
	r, found := z.Rank(keyspace.Bytes2Str(args[2]))
	if !found {
		c.w.Null()
		return
	}
	if reverse {
		r = z.Len() - 1 - r
	}
	c.w.Int(int64(r))
}

func cmdZCount(c *Client, args [][]byte) {
	r, ok := zset.ParseScoreRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxFloat)
		return
	}
	c.zcount(args[1], func(z *zset.ZSet) (int, int) { return z.ScoreSpan(&r, false) })
}

func cmdZLexCount(c *Client, args [][]byte) {
	r, ok := zset.ParseLexRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxLex)
		return
	}
	c.zcount(args[1], func(z *zset.ZSet) (int, int) { return z.LexSpan(&r, false) })
}

func (c *Client) zcount(key []byte, span func(*zset.ZSet) (int, int)) {
	z := c.orZero(c.readZSet(key))
	if z == nil {
		return
	}
	lo, hi := span(z)
	c.w.Int(int64(hi - lo))
}

// Range kinds and directions of zrangeGenericCommand.
const (
	zrAuto = iota
	zrRank
	zrScore
	zrLex
)

const (
	zdAuto = iota
	zdForward
	zdReverse
)

func cmdZRange(c *Client, args [][]byte)      { c.zrange(args, 1, nil, zrAuto, zdAuto) }
func cmdZRangeStore(c *Client, args [][]byte) { c.zrange(args, 2, args[1], zrAuto, zdAuto) }
func cmdZRevRange(c *Client, args [][]byte)   { c.zrange(args, 1, nil, zrRank, zdReverse) }
func cmdZRangeByScore(c *Client, args [][]byte) {
	c.zrange(args, 1, nil, zrScore, zdForward)
}
func cmdZRevRangeByScore(c *Client, args [][]byte) {
	c.zrange(args, 1, nil, zrScore, zdReverse)
}
func cmdZRangeByLex(c *Client, args [][]byte)    { c.zrange(args, 1, nil, zrLex, zdForward) }
func cmdZRevRangeByLex(c *Client, args [][]byte) { c.zrange(args, 1, nil, zrLex, zdReverse) }

// zrange is zrangeGenericCommand: args[first] is the source key, dst is
// the destination of ZRANGESTORE (nil otherwise).
func (c *Client) zrange(args [][]byte, first int, dst []byte, kind, dir int) {
	store := dst != nil
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := first + 3; j < len(args); j++ {
		left := len(args) - j - 1
		switch a := args[j]; {
		case !store && eqFold(a, "withscores"):
			withScores = true
		case eqFold(a, "limit") && left >= 2:
			if !c.intArg(args[j+1], &offset) || !c.intArg(args[j+2], &limit) {
				return
			}
			j += 2
		case dir == zdAuto && eqFold(a, "rev"):
			dir = zdReverse
		case kind == zrAuto && eqFold(a, "bylex"):
			kind = zrLex
		case kind == zrAuto && eqFold(a, "byscore"):
			kind = zrScore
		default:
			c.replyError(errSyntax)
			return
		}
	}
	if dir == zdAuto {
		dir = zdForward
	}
	if kind == zrAuto {
		kind = zrRank
	}
	if limit != -1 && kind == zrRank {
		c.replyError(errZLimitRank)
		return
	}
	if withScores && kind == zrLex {
		c.replyError(errZLexScores)
		return
	}
	reverse := dir == zdReverse
	minArg, maxArg := args[first+1], args[first+2]
	if reverse && kind != zrRank {
		minArg, maxArg = maxArg, minArg
	}
	var span func(z *zset.ZSet) (int, int)
	switch kind {
	case zrRank:
		var start, end int64
		if !c.intArg(minArg, &start) || !c.intArg(maxArg, &end) {
			return
		}
		span = func(z *zset.ZSet) (int, int) { return rankSpan(z.Len(), start, end, reverse) }
		offset, limit = 0, -1
	case zrScore:
		r, ok := zset.ParseScoreRange(minArg, maxArg)
		if !ok {
			c.replyError(errZMinMaxFloat)
			return
		}
		span = func(z *zset.ZSet) (int, int) { return z.ScoreSpan(&r, reverse) }
	default:
		r, ok := zset.ParseLexRange(minArg, maxArg)
		if !ok {
			c.replyError(errZMinMaxLex)
			return
		}
		span = func(z *zset.ZSet) (int, int) { return z.LexSpan(&r, reverse) }
	}
	z, ok := c.readZSet(args[first])
	if !ok {
		return
	}
	var lo, hi int
	if z != nil {
		lo, hi = span(z)
		if offset > 0 && offset >= int64(z.Len()) {
			lo, hi = 0, 0
		}
	}
	// Apply LIMIT: a negative offset skips everything, a negative count
	// means no limit (the loops of genericZrangebyscoreCommand).
	n := int64(hi - lo)
	switch {
	case n == 0 || offset < 0:
		n = 0
	default:
		n = max(n-offset, 0)
		if limit >= 0 {
			n = min(n, limit)
		}
	}
	start := lo + int(offset)
	if reverse {
		start = hi - 1 - int(offset)
	}
	visit := func(fn func(zset.Item)) {
		left := n
		each := func(it zset.Item) bool {
			fn(it)
			left--
			return left > 0
		}
		if n == 0 {
			return
		}
		if reverse {
			z.Descend(start, each)
		} else {
			z.Ascend(start, each)
		}
	}
	if store {
		res := zset.New()
		lim := c.zsetLimits()
		visit(func(it zset.Item) { res.Insert(it.Member, it.Score, lim) })
		c.storeZSet(dst, res, "zrangestore")
		return
	}
	c.zReplyHeader(int(n), withScores)
	visit(func(it zset.Item) { c.zReplyItem(it, withScores) })
}

// rankSpan turns ZRANGE start/end indexes into ascending ranks [lo, hi)
// of a set of n members (reverse indexes count from the highest).
func rankSpan(n int, start, end int64, reverse bool) (int, int) {
	l := int64(n)
	if start < 0 {
		start += l
	}
	if end < 0 {
		end += l
	}
	start = max(start, 0)
	if start > end || start >= l {
		return 0, 0
	}
	end = min(end, l-1)
	if reverse {
		return int(l - 1 - end), int(l - start)
	}
	return int(start), int(end + 1)
}

func cmdZRemRangeByRank(c *Client, args [][]byte) {
	var start, end int64
	if !c.intArg(args[2], &start) || !c.intArg(args[3], &end) {
		return
	}
	c.zremrange(args[1], "zremrangebyrank", func(z *zset.ZSet) (int, int) {
		return rankSpan(z.Len(), start, end, false)
	})
}

func cmdZRemRangeByScore(c *Client, args [][]byte) {
	r, ok := zset.ParseScoreRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxFloat)
		return
	}
	c.zremrange(args[1], "zremrangebyscore", func(z *zset.ZSet) (int, int) { return z.ScoreSpan(&r, false) })
}

func cmdZRemRangeByLex(c *Client, args [][]byte) {
	r, ok := zset.ParseLexRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxLex)
		return
	}
	c.zremrange(args[1], "zremrangebylex", func(z *zset.ZSet) (int, int) { return z.LexSpan(&r, false) })
}

// zremrange is zremrangeGenericCommand once the range is parsed.
func (c *Client) zremrange(key []byte, event string, span func(*zset.ZSet) (int, int)) {
	z := c.orZero(c.writeZSet(key))
	if z == nil {
		return
	}
	lo, hi := span(z)
	deleted := z.DeleteRank(lo, hi)
	if deleted > 0 {
		c.written(key, notifyZSet, event)
		if z.Len() == 0 {
			c.deleteEmptied(key)
		}
	}
	c.w.Int(int64(deleted))
}

func cmdZPopMin(c *Client, args [][]byte) { c.zpopMinMax(args, false) }
func cmdZPopMax(c *Client, args [][]byte) { c.zpopMinMax(args, true) }

// zpopMinMax is zpopMinMaxCommand.
func (c *Client) zpopMinMax(args [][]byte, highest bool) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		n, ok := parseInt64(args[2])
		if !ok || n < 0 {
			c.replyError(errZPositive)
			return
		}
		count = n
	}
	c.zpop(args[1:2], highest, false, count, c.w.Proto > 2 && count != -1, false)
}

// zpop is genericZpopCommand: it pops up to count members (count -1: one
// member, flat reply) from the first non-empty sorted set among keys. It
// reports whether a key was found (a blocking wrapper parks the client
// when it was not). emitKey prefixes the key (BZPOPMIN, ZMPOP); nested
// replies pairs as arrays; nilWhenEmpty answers a null array instead of
// an empty one when no key holds a sorted set.
func (c *Client) zpop(keys [][]byte, highest, emitKey bool, count int64, nested, nilWhenEmpty bool) bool {
	var z *zset.ZSet
	var key []byte
	for _, k := range keys {
		v := c.lookupWrite(k)
		if v == nil {
			continue
		}
		var ok bool
		if z, ok = c.zsetOf(v); !ok {
			return true
		}
		key = k
		break
	}
	if z == nil {
		if nilWhenEmpty {
			c.w.NullArray()
		} else {
			c.w.Array(0)
		}
		return false
	}
	if count == 0 {
		c.w.Array(0)
		return true
	}
	if count == -1 {
		count = 1
	}
	n := int(min(count, int64(z.Len())))
	switch {
	case !nested && !emitKey:
		c.w.Array(2 * n)
	case nested && !emitKey:
		c.w.Array(n)
	case !nested && emitKey:
		c.w.Array(2*n + 1)
		c.w.Bulk(key)
	default:
		c.w.Array(2)
		c.w.Bulk(key)
		c.w.Array(n)
	}
	for range n {
		it := z.Pop(highest)
		if nested {
			c.w.Array(2)
		}
		c.w.BulkString(it.Member)
		c.replyScore(it.Score)
	}
	event := "zpopmin"
	if highest {
		event = "zpopmax"
	}
	c.written(key, notifyZSet, event)
	if emitKey {
		// BZPOPMIN, BZMPOP, ZMPOP replicate as ZPOPMIN/ZPOPMAX key count.
		c.rewriteCommand([]byte(strings.ToUpper(event)), key, []byte(strconv.FormatInt(count, 10)))
	}
	if z.Len() == 0 {
		c.deleteEmptied(key)
	}
	return true
}

// zmpopArgs parses ZMPOP/BZMPOP from args[numIdx] (numkeys) onwards.
func (c *Client) zmpopArgs(args [][]byte, numIdx int) (keys [][]byte, highest bool, count int64, ok bool) {
	numkeys, valid := parseInt64(args[numIdx])
	if !valid || numkeys < 1 {
		c.replyError(errZNumkeys)
		return nil, false, 0, false
	}
	whereIdx := int64(numIdx) + numkeys + 1
	if numkeys > int64(len(args)) || whereIdx >= int64(len(args)) {
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	switch {
	case eqFold(args[whereIdx], "min"):
	case eqFold(args[whereIdx], "max"):
		highest = true
	default:
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	count = -1
	for j := int(whereIdx) + 1; j < len(args); j++ {
		if count == -1 && eqFold(args[j], "count") && j+1 < len(args) {
			j++
			n, valid := parseInt64(args[j])
			if !valid || n < 1 {
				c.replyError(errZCount)
				return nil, false, 0, false
			}
			count = n
			continue
		}
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	if count == -1 {
		count = 1
	}
	return args[numIdx+1 : whereIdx], highest, count, true
}

func cmdZMPop(c *Client, args [][]byte) {
	keys, highest, count, ok := c.zmpopArgs(args, 1)
	if ok {
		c.zpop(keys, highest, true, count, true, true)
	}
}

func cmdZRandMember(c *Client, args [][]byte) {
	if len(args) >= 3 {
		c.zrandmemberCount(args)
		return
	}
	z := c.orNull(c.readZSet(args[1]))
	if z == nil {
		return
	}
	c.w.BulkString(z.Random(c.srv.rnd).Member)
}

// zrandmemberCount is zrandmemberWithCountCommand.
func (c *Client) zrandmemberCount(args [][]byte) {
	if len(args) > 4 || (len(args) == 4 && !eqFold(args[3], "withscores")) {
		c.replyError(errSyntax)
		return
	}
	withScores := len(args) == 4
	l, ok := c.rangeArg(args[2], -math.MaxInt64, math.MaxInt64)
	if !ok {
		return
	}
	if withScores && (l < -math.MaxInt64/2 || l > math.MaxInt64/2) {
		c.replyError(errZRandOverflow)
		return
	}
	z, ok := c.readZSet(args[1])
	if !ok {
		return
	}
	if z == nil || l == 0 {
		c.w.Array(0)
		return
	}
	size := int64(z.Len())
	if l < 0 || l == 1 {
		n := max(l, -l)
		c.zReplyHeader(int(n), withScores)
		for range n {
			c.zReplyItem(z.Random(c.srv.rnd), withScores)
		}
		return
	}
	if l >= size {
		// Redis 7.0.15 answers the whole set from the highest rank down.
		c.zReplyHeader(int(size), withScores)
		z.Descend(int(size)-1, func(it zset.Item) bool {
			c.zReplyItem(it, withScores)
			return true
		})
		return
	}
	c.zReplyHeader(int(l), withScores)
	for _, it := range z.RandomDistinct(c.srv.rnd, int(l)) {
		c.zReplyItem(it, withScores)
	}
}

func cmdZScan(c *Client, args [][]byte) {
	cursor, ok := c.parseCursor(args[2])
	if !ok {
		return
	}
	z, ok := c.readZSet(args[1])
	if !ok {
		return
	}
	if z == nil {
		c.emptyScan()
		return
	}
	sa, ok := c.parseScanArgs(args)
	if !ok {
		return
	}
	var out []zset.Item
	collect := func(it zset.Item) {
		if sa.pattern == nil || glob.MatchString(string(sa.pattern), it.Member, false) {
			out = append(out, it)
		}
	}
	if z.IsListpack() {
		cursor = z.Scan(0, collect)
	} else {
		// scanGenericCommand: stop at COUNT elements or after 10*COUNT
		// buckets.
		seen := 0
		for iter := sa.count * 10; ; iter-- {
			cursor = z.Scan(cursor, func(it zset.Item) { seen++; collect(it) })
			if cursor == 0 || iter <= 0 || int64(seen) >= sa.count {
				break
			}
		}
	}
	c.w.Array(2)
	c.w.BulkString(strconv.FormatUint(cursor, 10))
	c.w.Array(2 * len(out))
	var tmp [32]byte
	for _, it := range out {
		c.w.BulkString(it.Member)
		c.w.Bulk(resp.AppendFloat17(tmp[:0], it.Score))
	}
}

// zsrc is one input of ZUNION/ZINTER/ZDIFF: a sorted set, a set (whose
// members score 1) or nothing (a missing key).
type zsrc struct {
	z      *zset.ZSet
	s      *set.Set
	weight float64
}

func (src *zsrc) len() int {
	switch {
	case src.z != nil:
		return src.z.Len()
	case src.s != nil:
		return src.s.Len()
	}
	return 0
}

// each visits the members; the member string is stable (safe to keep).
func (src *zsrc) each(fn func(member string, score float64) bool) {
	switch {
	case src.z != nil:
		src.z.Ascend(0, func(it zset.Item) bool { return fn(it.Member, it.Score) })
	case src.s != nil:
		src.s.Range(func(m []byte) bool { return fn(string(m), 1) })
	}
}

func (src *zsrc) find(member string) (float64, bool) {
	switch {
	case src.z != nil:
		return src.z.Score(member)
	case src.s != nil:
		return 1, src.s.Has([]byte(member))
	}
	return 0, false
}

// Set operations and AGGREGATE modes.
const (
	zopUnion = iota
	zopInter
	zopDiff
)

const (
	aggSum = iota
	aggMin
	aggMax
)

func zaggregate(target *float64, val float64, agg int) {
	switch agg {
	case aggSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggMin:
		if val < *target {
			*target = val
		}
	case aggMax:
		if val > *target {
			*target = val
		}
	}
}

func cmdZUnionStore(c *Client, args [][]byte) { c.zsetOp(args, args[1], 2, zopUnion, false) }
func cmdZInterStore(c *Client, args [][]byte) { c.zsetOp(args, args[1], 2, zopInter, false) }
func cmdZDiffStore(c *Client, args [][]byte)  { c.zsetOp(args, args[1], 2, zopDiff, false) }
func cmdZUnion(c *Client, args [][]byte)      { c.zsetOp(args, nil, 1, zopUnion, false) }
func cmdZInter(c *Client, args [][]byte)      { c.zsetOp(args, nil, 1, zopInter, false) }
func cmdZDiff(c *Client, args [][]byte)       { c.zsetOp(args, nil, 1, zopDiff, false) }
func cmdZInterCard(c *Client, args [][]byte)  { c.zsetOp(args, nil, 1, zopInter, true) }

// zsetOp is zunionInterDiffGenericCommand.
func (c *Client) zsetOp(args [][]byte, dst []byte, numIdx, op int, cardOnly bool) {
	setnum, ok := parseInt64(args[numIdx])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if setnum < 1 {
		c.replyError("ERR at least 1 input key is needed for '" + c.srv.commands().lookup(args[0]).name + "' command")
		return
	}
	if setnum > int64(len(args)-(numIdx+1)) {
		c.replyError(errSyntax)
		return
	}
	srcs := make([]zsrc, setnum)
	j := numIdx + 1
	for i := range srcs {
		var v *keyspace.Value
		if dst != nil {
			v = c.lookupWrite(args[j])
		} else {
			v = c.lookupRead(args[j])
		}
		srcs[i].weight = 1
		j++
		switch {
		case v == nil:
		case v.Type == keyspace.TypeZSet:
			srcs[i].z = v.Obj.(*zset.ZSet)
		case v.Type == keyspace.TypeSet:
			srcs[i].s = v.Obj.(*set.Set)
		default:
			c.replyError(errWrongType)
			return
		}
	}
	agg, withScores, limit := aggSum, false, int64(0)
	full := op != zopDiff && !cardOnly
	for j < len(args) {
		left := len(args) - j
		switch a := args[j]; {
		case full && left >= len(srcs)+1 && eqFold(a, "weights"):
			j++
			for i := range srcs {
				w, ok := zset.ParseScore(args[j])
				if !ok {
					c.replyError(errZWeight)
					return
				}
				srcs[i].weight = w
				j++
			}
		case full && left >= 2 && eqFold(a, "aggregate"):
			switch b := args[j+1]; {
			case eqFold(b, "sum"):
				agg = aggSum
			case eqFold(b, "min"):
				agg = aggMin
			case eqFold(b, "max"):
				agg = aggMax
			default:
				c.replyError(errSyntax)
				return
			}
			j += 2
		case dst == nil && !cardOnly && eqFold(a, "withscores"):
			withScores = true
			j++
		case cardOnly && left >= 2 && eqFold(a, "limit"):
			n, ok := parseInt64(args[j+1])
			if !ok || n < 0 {
				c.replyError(errZLimitNeg)
				return
			}
			limit = n
			j += 2
		default:
			c.replyError(errSyntax)
			return
		}
	}
	var res []zset.Item
	card := int64(0)
	switch op {
	case zopInter:
		slices.SortStableFunc(srcs, func(a, b zsrc) int { return a.len() - b.len() })
		if srcs[0].len() == 0 {
			break
		}
		srcs[0].each(func(m string, sc float64) bool {
			score := srcs[0].weight * sc
			if math.IsNaN(score) {
				score = 0
			}
			for k := 1; k < len(srcs); k++ {
				v, found := srcs[k].find(m)
				if !found {
					return true
				}
				zaggregate(&score, v*srcs[k].weight, agg)
			}
			if cardOnly {
				card++
				return limit == 0 || card < limit
			}
			res = append(res, zset.Item{Member: m, Score: score})
			return true
		})
	case zopUnion:
		acc := map[string]float64{}
		for i := range srcs {
			w := srcs[i].weight
			srcs[i].each(func(m string, sc float64) bool {
				score := w * sc
				if math.IsNaN(score) {
					score = 0
				}
				if cur, found := acc[m]; found {
					zaggregate(&cur, score, agg)
					acc[m] = cur
				} else {
					acc[m] = score
				}
				return true
			})
		}
		for m, score := range acc {
			res = append(res, zset.Item{Member: m, Score: score})
		}
	case zopDiff:
		srcs[0].each(func(m string, sc float64) bool {
			for k := 1; k < len(srcs); k++ {
				if _, found := srcs[k].find(m); found {
					return true
				}
			}
			res = append(res, zset.Item{Member: m, Score: sc})
			return true
		})
	}
	slices.SortFunc(res, func(a, b zset.Item) int {
		if a.Less(b) {
			return -1
		}
		return 1
	})
	switch {
	case dst != nil:
		z := zset.New()
		lim := c.zsetLimits()
		for _, it := range res {
			z.Insert(it.Member, it.Score, lim)
		}
		c.storeZSet(dst, z, [...]string{"zunionstore", "zinterstore", "zdiffstore"}[op])
	case cardOnly:
		c.w.Int(card)
	default:
		c.zReplyHeader(len(res), withScores)
		for _, it := range res {
			c.zReplyItem(it, withScores)
		}
	}
}
