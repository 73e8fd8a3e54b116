package server

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/hactl/hactl/engine/keyspace"
)

func stringCommands() []*command {
	return []*command{
		{name: "get", arity: 2, flags: flagReadonly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdGet},
		{name: "set", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdSet},
		{name: "setnx", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdSetNX},
		{name: "setex", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdSetEX},
		{name: "psetex", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdPSetEX},
		{name: "getset", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdGetSet},
		{name: "getdel", arity: 2, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdGetDel},
		{name: "getex", arity: -2, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdGetEx},
		{name: "mget", arity: -2, flags: flagReadonly | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, group: "string", run: cmdMGet},
		{name: "mset", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: -1, keyStep: 2, group: "string", run: cmdMSet},
		{name: "msetnx", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: -1, keyStep: 2, group: "string", run: cmdMSetNX},
		{name: "incr", arity: 2, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdIncr},
		{name: "decr", arity: 2, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdDecr},
		{name: "incrby", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdIncrBy},
		{name: "decrby", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdDecrBy},
		{name: "incrbyfloat", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdIncrByFloat},
		{name: "append", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdAppend},
		{name: "strlen", arity: 2, flags: flagReadonly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdStrlen},
		{name: "getrange", arity: 4, flags: flagReadonly, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdGetRange},
		{name: "substr", arity: 4, flags: flagReadonly, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdGetRange},
		{name: "setrange", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, group: "string", run: cmdSetRange},
		{name: "setbit", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, group: "bitmap", run: cmdSetBit},
		{name: "getbit", arity: 3, flags: flagReadonly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, group: "bitmap", run: cmdGetBit},
		{name: "bitcount", arity: -2, flags: flagReadonly, firstKey: 1, lastKey: 1, keyStep: 1, group: "bitmap", run: cmdBitCount},
	}
}

// db returns the client's selected database.
func (c *Client) curDB() *keyspace.DB { return c.srv.dbs[c.db] }

// lookupRead finds a live key for reading and counts a hit or a miss.
func (c *Client) lookupRead(key []byte) *keyspace.Value {
	s := c.srv
	v := c.curDB().Lookup(&s.ctx, key)
	if v == nil {
		s.stats.keyspaceMisses++
	} else {
		s.stats.keyspaceHits++
	}
	return v
}

// lookupWrite finds a live key for writing.
func (c *Client) lookupWrite(key []byte) *keyspace.Value {
	return c.curDB().Lookup(&c.srv.ctx, key)
}

// stringValue returns the string under key, or nil; on a wrong type it
// writes WRONGTYPE and reports ok == false.
func (c *Client) readString(key []byte) (v *keyspace.Value, ok bool) {
	v = c.lookupRead(key)
	if v != nil && v.Type != keyspace.TypeString {
		c.replyError(errWrongType)
		return nil, false
	}
	return v, true
}

func cmdGet(c *Client, args [][]byte) {
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.Null()
		return
	}
	c.w.BulkString(v.Str)
}

// Flags of SET and GETEX (parseExtendedStringArgumentsOrReply).
const (
	setNX = 1 << iota
	setXX
	setGet
	setKeepTTL
	setPersist
	setEX
	setPX
	setEXAT
	setPXAT
)

const (
	modeSet   = 0
	modeGetEx = 1
)

// parseExtended parses SET/GETEX options from args[first:].
func parseExtended(args [][]byte, first int, mode int) (flags int, expire []byte, ok bool) {
	const anyExpire = setEX | setPX | setEXAT | setPXAT
	for j := first; j < len(args); j++ {
		opt := strings.ToLower(string(args[j]))
		hasNext := j < len(args)-1
		switch {
		case opt == "nx" && flags&setXX == 0 && mode == modeSet:
			flags |= setNX
		case opt == "xx" && flags&setNX == 0 && mode == modeSet:
			flags |= setXX
		case opt == "get" && mode == modeSet:
			flags |= setGet
		case opt == "keepttl" && flags&(setPersist|anyExpire) == 0 && mode == modeSet:
			flags |= setKeepTTL
		case opt == "persist" && mode == modeGetEx && flags&(anyExpire|setKeepTTL) == 0:
			flags |= setPersist
		case opt == "ex" && flags&(setKeepTTL|setPersist|setEXAT|setPX|setPXAT) == 0 && hasNext:
			flags |= setEX
			expire = args[j+1]
			j++
		case opt == "px" && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPXAT) == 0 && hasNext:
			flags |= setPX
			expire = args[j+1]
			j++
		case opt == "exat" && flags&(setKeepTTL|setPersist|setEX|setPX|setPXAT) == 0 && hasNext:
			flags |= setEXAT
			expire = args[j+1]
			j++
		case opt == "pxat" && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPX) == 0 && hasNext:
			flags |= setPXAT
			expire = args[j+1]
			j++
		default:
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// expireMs converts an expire argument to absolute Unix ms like
// getExpireMillisecondsOrReply; on error it writes the reply.
func (c *Client) expireMs(arg []byte, flags int, cmdName string) (int64, bool) {
	ms, ok := parseInt64(arg)
	if !ok {
		c.replyError(errNotInt)
		return 0, false
	}
	seconds := flags&(setEX|setEXAT) != 0
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		c.replyError(strings.Replace(errInvalidExpire, "%s", cmdName, 1))
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if flags&(setEX|setPX) != 0 {
		ms += c.srv.ctx.Now
	}
	if ms <= 0 {
		c.replyError(strings.Replace(errInvalidExpire, "%s", cmdName, 1))
		return 0, false
	}
	return ms, true
}

func cmdSet(c *Client, args [][]byte) {
	flags, expire, ok := parseExtended(args, 3, modeSet)
	if !ok {
		c.replyError(errSyntax)
		return
	}
	c.setGeneric(args[1], args[2], flags, expire, "set", false)
}

// setGeneric is setGenericCommand. When plainReply is set the SETNX-style
// integer reply is used.
func (c *Client) setGeneric(key, val []byte, flags int, expire []byte, name string, intReply bool) {
	var when int64
	if expire != nil {
		var ok bool
		if when, ok = c.expireMs(expire, flags, name); !ok {
			return
		}
	}
	db := c.curDB()
	s := c.srv
	old := db.Lookup(&s.ctx, key)
	if flags&setGet != 0 {
		if old != nil && old.Type != keyspace.TypeString {
			c.replyError(errWrongType)
			return
		}
		if old == nil {
			c.w.Null()
		} else {
			c.w.BulkString(old.Str)
		}
	}
	if (flags&setNX != 0 && old != nil) || (flags&setXX != 0 && old == nil) {
		switch {
		case intReply:
			c.w.Int(0)
		case flags&setGet == 0:
			c.w.Null()
		}
		return
	}
	db.SetString(&s.ctx, key, val, flags&setKeepTTL != 0 || expire != nil)
	if expire != nil {
		db.SetExpire(key, when)
	}
	c.written(key, notifyString, "set")
	if expire != nil {
		c.srv.notifyKeyspace(notifyGeneric, "expire", key, c.db)
		// Replicate relative or absolute expiries as an absolute PXAT.
		c.rewriteCommand(bSet, key, val, bPXAT, []byte(strconv.FormatInt(when, 10)))
	} else if name == "getset" {
		c.rewriteCommand(bSet, key, val)
	}
	switch {
	case intReply:
		c.w.Int(1)
	case flags&setGet == 0:
		c.w.OK()
	}
}

func cmdSetNX(c *Client, args [][]byte) {
	c.setGeneric(args[1], args[2], setNX, nil, "setnx", true)
}

func cmdSetEX(c *Client, args [][]byte) {
	c.setGeneric(args[1], args[3], setEX, args[2], "setex", false)
}

func cmdPSetEX(c *Client, args [][]byte) {
	c.setGeneric(args[1], args[3], setPX, args[2], "psetex", false)
}

func cmdGetSet(c *Client, args [][]byte) {
	c.setGeneric(args[1], args[2], setGet, nil, "getset", false)
}

func cmdGetDel(c *Client, args [][]byte) {
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.Null()
		return
	}
	c.w.BulkString(v.Str)
	c.curDB().DeleteBytes(args[1])
	c.written(args[1], notifyGeneric, "del")
	c.rewriteCommand(bDel, args[1])
}

func cmdGetEx(c *Client, args [][]byte) {
	flags, expire, ok := parseExtended(args, 2, modeGetEx)
	if !ok {
		c.replyError(errSyntax)
		return
	}
	var when int64
	if expire != nil {
		if when, ok = c.expireMs(expire, flags, "getex"); !ok {
			return
		}
	}
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.Null()
		return
	}
	c.w.BulkString(v.Str)
	db := c.curDB()
	switch {
	case expire != nil && when <= c.srv.ctx.Now && !c.srv.isReplica():
		db.DeleteBytes(args[1])
		c.written(args[1], notifyGeneric, "del")
		c.rewriteCommand(bDel, args[1])
	case expire != nil:
		db.SetExpire(args[1], when)
		c.written(args[1], notifyGeneric, "expire")
		c.rewriteCommand(bPExpireAt, args[1], []byte(strconv.FormatInt(when, 10)))
	case flags&setPersist != 0:
		if db.Persist(args[1]) {
			c.written(args[1], notifyGeneric, "persist")
			c.rewriteCommand(bPersist, args[1])
		}
	}
}

func cmdMGet(c *Client, args [][]byte) {
	c.w.Array(len(args) - 1)
	for _, k := range args[1:] {
		v := c.lookupRead(k)
		if v == nil || v.Type != keyspace.TypeString {
			c.w.Null()
			continue
		}
		c.w.BulkString(v.Str)
	}
}

func cmdMSet(c *Client, args [][]byte) {
	if len(args)%2 == 0 {
		c.replyError(errWrongArgs("mset"))
		return
	}
	db := c.curDB()
	for i := 1; i < len(args); i += 2 {
		db.SetString(&c.srv.ctx, args[i], args[i+1], false)
	}
	for i := 1; i < len(args); i += 2 {
		c.written(args[i], notifyString, "set")
	}
	c.w.OK()
}

func cmdMSetNX(c *Client, args [][]byte) {
	if len(args)%2 == 0 {
		c.replyError(errWrongArgs("msetnx"))
		return
	}
	db := c.curDB()
	for i := 1; i < len(args); i += 2 {
		if db.Lookup(&c.srv.ctx, args[i]) != nil {
			c.w.Int(0)
			return
		}
	}
	for i := 1; i < len(args); i += 2 {
		db.SetString(&c.srv.ctx, args[i], args[i+1], false)
	}
	for i := 1; i < len(args); i += 2 {
		c.written(args[i], notifyString, "set")
	}
	c.w.Int(1)
}

func cmdIncr(c *Client, args [][]byte) { c.incrBy(args[1], 1) }
func cmdDecr(c *Client, args [][]byte) { c.incrBy(args[1], -1) }

func cmdIncrBy(c *Client, args [][]byte) {
	var n int64
	if c.intArg(args[2], &n) {
		c.incrBy(args[1], n)
	}
}

func cmdDecrBy(c *Client, args [][]byte) {
	var n int64
	if !c.intArg(args[2], &n) {
		return
	}
	if n == math.MinInt64 {
		c.replyError("ERR decrement would overflow")
		return
	}
	c.incrBy(args[1], -n)
}

func (c *Client) incrBy(key []byte, by int64) {
	db := c.curDB()
	v := db.Lookup(&c.srv.ctx, key)
	var cur int64
	if v != nil {
		if v.Type != keyspace.TypeString {
			c.replyError(errWrongType)
			return
		}
		var ok bool
		if cur, ok = parseInt64(v.StrBytes()); !ok {
			c.replyError(errNotInt)
			return
		}
	}
	sum, overflow := addOverflow(cur, by)
	if overflow {
		c.replyError(errOverflow)
		return
	}
	var tmp [24]byte
	val := strconv.AppendInt(tmp[:0], sum, 10)
	db.SetString(&c.srv.ctx, key, val, true)
	c.written(key, notifyString, "incrby")
	c.w.Int(sum)
}

func addOverflow(a, b int64) (int64, bool) {
	s := a + b
	return s, (b > 0 && s < a) || (b < 0 && s > a)
}

func cmdIncrByFloat(c *Client, args [][]byte) {
	db := c.curDB()
	v := db.Lookup(&c.srv.ctx, args[1])
	cur := new(big.Float).SetPrec(longDoublePrec)
	if v != nil {
		if v.Type != keyspace.TypeString {
			c.replyError(errWrongType)
			return
		}
		f, ok := parseLongDouble(v.StrBytes())
		if !ok {
			c.replyError(errNotFloat)
			return
		}
		cur = f
	}
	incr, ok := parseLongDouble(args[2])
	if !ok {
		c.replyError(errNotFloat)
		return
	}
	if cur.IsInf() || incr.IsInf() {
		c.replyError(errIncrFloatNaN)
		return
	}
	sum := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven).Add(cur, incr)
	if exp := sum.MantExp(nil); exp > 16384 {
		c.replyError(errIncrFloatNaN)
		return
	}
	out := formatLongDouble(sum)
	db.SetString(&c.srv.ctx, args[1], []byte(out), true)
	c.written(args[1], notifyString, "incrbyfloat")
	// The float result depends on the platform: replicate the value.
	c.rewriteCommand(bSet, args[1], []byte(out), bKeepTTL)
	c.w.BulkString(out)
}

// checkStringLength is Redis's checkStringLength.
func (c *Client) checkStringLength(size, add int64) bool {
	total := size + add
	if total > c.srv.set.ProtoMaxBulkLen || total < size || total < add {
		c.replyError(errStringTooLong)
		return false
	}
	return true
}

func cmdAppend(c *Client, args [][]byte) {
	db := c.curDB()
	v := db.Lookup(&c.srv.ctx, args[1])
	if v == nil {
		db.SetString(&c.srv.ctx, args[1], args[2], false)
		c.written(args[1], notifyString, "append")
		c.w.Int(int64(len(args[2])))
		return
	}
	if v.Type != keyspace.TypeString {
		c.replyError(errWrongType)
		return
	}
	if !c.checkStringLength(int64(len(v.Str)), int64(len(args[2]))) {
		return
	}
	v.Str = v.Str + string(args[2])
	v.MarkRaw()
	c.written(args[1], notifyString, "append")
	c.w.Int(int64(len(v.Str)))
}

func cmdStrlen(c *Client, args [][]byte) {
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(len(v.Str)))
}

func cmdGetRange(c *Client, args [][]byte) {
	var start, end int64
	if !c.intArg(args[2], &start) || !c.intArg(args[3], &end) {
		return
	}
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.BulkString("")
		return
	}
	n := int64(len(v.Str))
	start, end, ok = clampRange(start, end, n)
	if !ok || start > end || n == 0 {
		c.w.BulkString("")
		return
	}
	c.w.BulkString(v.Str[start : end+1])
}

func cmdSetRange(c *Client, args [][]byte) {
	var offset int64
	if !c.intArg(args[2], &offset) {
		return
	}
	if offset < 0 {
		c.replyError(errOffsetRange)
		return
	}
	val := args[3]
	db := c.curDB()
	v := db.Lookup(&c.srv.ctx, args[1])
	if v == nil {
		if len(val) == 0 {
			c.w.Int(0)
			return
		}
		if !c.checkStringLength(offset, int64(len(val))) {
			return
		}
		buf := make([]byte, offset+int64(len(val)))
		copy(buf[offset:], val)
		v = db.SetString(&c.srv.ctx, args[1], buf, false)
		v.MarkRaw()
		c.written(args[1], notifyString, "setrange")
		c.w.Int(int64(len(buf)))
		return
	}
	if v.Type != keyspace.TypeString {
		c.replyError(errWrongType)
		return
	}
	if len(val) == 0 {
		c.w.Int(int64(len(v.Str)))
		return
	}
	if !c.checkStringLength(offset, int64(len(val))) {
		return
	}
	size := max(int64(len(v.Str)), offset+int64(len(val)))
	buf := make([]byte, size)
	copy(buf, v.Str)
	copy(buf[offset:], val)
	v.Str = string(buf)
	v.MarkRaw()
	c.written(args[1], notifyString, "setrange")
	c.w.Int(size)
}

// bitOffset is getBitOffsetFromArgument for SETBIT/GETBIT.
func (c *Client) bitOffset(arg []byte) (int64, bool) {
	off, ok := parseInt64(arg)
	if !ok || off < 0 || off>>3 >= c.srv.set.ProtoMaxBulkLen {
		c.replyError(errBitOffset)
		return 0, false
	}
	return off, true
}

func cmdSetBit(c *Client, args [][]byte) {
	off, ok := c.bitOffset(args[2])
	if !ok {
		return
	}
	on, ok := parseInt64(args[3])
	if !ok || on&^1 != 0 {
		c.replyError(errBitValue)
		return
	}
	db := c.curDB()
	v := db.Lookup(&c.srv.ctx, args[1])
	byteIdx := off >> 3
	if v != nil && v.Type != keyspace.TypeString {
		c.replyError(errWrongType)
		return
	}
	var buf []byte
	if v == nil {
		buf = make([]byte, byteIdx+1)
	} else {
		buf = make([]byte, max(int64(len(v.Str)), byteIdx+1))
		copy(buf, v.Str)
	}
	bit := byte(7 - off&7)
	old := (buf[byteIdx] >> bit) & 1
	buf[byteIdx] &^= 1 << bit
	buf[byteIdx] |= byte(on) << bit
	if v == nil {
		v = db.SetString(&c.srv.ctx, args[1], buf, false)
	} else {
		v.Str = string(buf)
	}
	v.MarkRaw()
	c.written(args[1], notifyString, "setbit")
	c.w.Int(int64(old))
}

func cmdGetBit(c *Client, args [][]byte) {
	off, ok := c.bitOffset(args[2])
	if !ok {
		return
	}
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil || off>>3 >= int64(len(v.Str)) {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(v.Str[off>>3]>>(7-off&7)) & 1)
}

func cmdBitCount(c *Client, args [][]byte) {
	v, ok := c.readString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.Int(0)
		return
	}
	str := v.Str
	n := int64(len(str))
	var start, end int64
	var firstMask, lastMask byte
	switch len(args) {
	case 4, 5:
		if !c.intArg(args[2], &start) || !c.intArg(args[3], &end) {
			return
		}
		isBit := false
		if len(args) == 5 {
			switch strings.ToLower(string(args[4])) {
			case "bit":
				isBit = true
			case "byte":
			default:
				c.replyError(errSyntax)
				return
			}
		}
		total := n
		if isBit {
			total <<= 3
		}
		if start, end, ok = clampRange(start, end, total); !ok {
			c.w.Int(0)
			return
		}
		if isBit && start <= end {
			firstMask = ^byte((1<<(8-(start&7)))-1) & 0xff
			lastMask = byte((1 << (7 - (end & 7))) - 1)
			start >>= 3
			end >>= 3
		}
	case 2:
		start, end = 0, n-1
	default:
		c.replyError(errSyntax)
		return
	}
	if start > end {
		c.w.Int(0)
		return
	}
	count := 0
	for i := start; i <= end; i++ {
		count += bits.OnesCount8(str[i])
	}
	if firstMask != 0 {
		count -= bits.OnesCount8(str[start] & firstMask)
	}
	if lastMask != 0 {
		count -= bits.OnesCount8(str[end] & lastMask)
	}
	c.w.Int(int64(count))
}

var (
	bSet       = []byte("SET")
	bPXAT      = []byte("PXAT")
	bKeepTTL   = []byte("KEEPTTL")
	bPExpireAt = []byte("PEXPIREAT")
	bPersist   = []byte("PERSIST")
)

// clampRange converts GETRANGE/BITCOUNT indexes (negative from the end)
// to positions in [0, n-1] the way Redis does. ok is false when both are
// negative and start is after end; start > end may still come out (an
// empty range the caller answers).
func clampRange(start, end, n int64) (int64, int64, bool) {
	if start < 0 && end < 0 && start > end {
		return 0, 0, false
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	return start, end, true
}
