package server

import (
	"math"
	"math/big"
	"time"
)

// Blocking variants of the pop commands. Each tries the non-blocking
// logic first; when no key can serve it, it parks the client (block) and
// is re-run by serveReady when a push makes one of its keys ready.

func blockingCommands() []*command {
	f := flagWrite | flagNoScript
	return []*command{
		{name: "bzpopmin", arity: -3, flags: f | flagFast, firstKey: 1, lastKey: -2, keyStep: 1, group: "sortedset", run: cmdBZPopMin},
		{name: "bzpopmax", arity: -3, flags: f | flagFast, firstKey: 1, lastKey: -2, keyStep: 1, group: "sortedset", run: cmdBZPopMax},
		{name: "bzmpop", arity: -5, flags: f, group: "sortedset", run: cmdBZMPop},
		{name: "blpop", arity: -3, flags: f, firstKey: 1, lastKey: -2, keyStep: 1, group: "list", run: cmdBLPop},
		{name: "brpop", arity: -3, flags: f, firstKey: 1, lastKey: -2, keyStep: 1, group: "list", run: cmdBRPop},
		{name: "blmove", arity: 6, flags: f | flagDenyOOM, firstKey: 1, lastKey: 2, keyStep: 1, group: "list", run: cmdBLMove},
		{name: "brpoplpush", arity: 4, flags: f | flagDenyOOM, firstKey: 1, lastKey: 2, keyStep: 1, group: "list", run: cmdBRPopLPush},
		{name: "blmpop", arity: -5, flags: f, group: "list", run: cmdBLMPop},
	}
}

// timeoutArg is getTimeoutFromObjectOrReply in seconds: a non-negative
// float, 0 meaning forever.
func (c *Client) timeoutArg(b []byte) (time.Duration, bool) {
	f, ok := parseLongDouble(b)
	if !ok {
		c.replyError("ERR timeout is not a float or out of range")
		return 0, false
	}
	ms := new(big.Float).Mul(f, big.NewFloat(1000))
	if ms.IsInf() || ms.Cmp(big.NewFloat(math.MaxInt64)) > 0 {
		c.replyError("ERR timeout is out of range")
		return 0, false
	}
	v, _ := ms.Float64()
	tval := int64(math.Ceil(v))
	if tval < 0 {
		c.replyError("ERR timeout is negative")
		return 0, false
	}
	if tval > math.MaxInt64-c.srv.ctx.Now {
		c.replyError("ERR timeout is out of range")
		return 0, false
	}
	return time.Duration(tval) * time.Millisecond, true
}

// tryServe runs serve and discards what it wrote when it could not serve
// (serve returns false), so the caller can block instead.
func (c *Client) tryServe(serve func() bool) bool {
	mark := len(c.w.B)
	if serve() {
		return true
	}
	c.w.B = c.w.B[:mark]
	return false
}

func nullArrayReply(c *Client) { c.w.NullArray() }

func cmdBZPopMin(c *Client, args [][]byte) { c.bzpop(args, false) }
func cmdBZPopMax(c *Client, args [][]byte) { c.bzpop(args, true) }

func (c *Client) bzpop(args [][]byte, highest bool) {
	timeout, ok := c.timeoutArg(args[len(args)-1])
	if !ok {
		return
	}
	keys := args[1 : len(args)-1]
	if c.tryServe(func() bool { return c.zpop(keys, highest, true, -1, false, false) }) {
		return
	}
	c.block(keys, timeout, nullArrayReply)
}

func cmdBZMPop(c *Client, args [][]byte) {
	keys, highest, count, ok := c.zmpopArgs(args, 2)
	if !ok {
		return
	}
	timeout, ok := c.timeoutArg(args[1])
	if !ok {
		return
	}
	if c.tryServe(func() bool { return c.zpop(keys, highest, true, count, true, true) }) {
		return
	}
	c.block(keys, timeout, nullArrayReply)
}

func cmdBLPop(c *Client, args [][]byte) { c.blpop(args, true) }
func cmdBRPop(c *Client, args [][]byte) { c.blpop(args, false) }

func (c *Client) blpop(args [][]byte, left bool) {
	timeout, ok := c.timeoutArg(args[len(args)-1])
	if !ok {
		return
	}
	keys := args[1 : len(args)-1]
	if c.tryServe(func() bool { return c.popList(keys, left, -1, true) }) {
		return
	}
	c.block(keys, timeout, nullArrayReply)
}

func cmdBLMove(c *Client, args [][]byte) {
	from, ok := c.listSide(args[3])
	if !ok {
		return
	}
	to, ok := c.listSide(args[4])
	if !ok {
		return
	}
	c.blmove(args[1], args[2], from, to, args[5])
}

func cmdBRPopLPush(c *Client, args [][]byte) { c.blmove(args[1], args[2], false, true, args[3]) }

func (c *Client) blmove(src, dst []byte, from, to bool, timeoutArg []byte) {
	timeout, ok := c.timeoutArg(timeoutArg)
	if !ok {
		return
	}
	if c.tryServe(func() bool { return c.moveList(src, dst, from, to) }) {
		return
	}
	if c.inExec {
		// A client that cannot block gets a null bulk; a timeout gets a
		// null array (replyToBlockedClientTimedOut), as in Redis 7.0.
		c.w.Null()
		return
	}
	c.block([][]byte{src}, timeout, nullArrayReply)
}

func cmdBLMPop(c *Client, args [][]byte) {
	keys, right, count, ok := c.mpopArgs(args, 2, "left", "right")
	if !ok {
		return
	}
	timeout, ok := c.timeoutArg(args[1])
	if !ok {
		return
	}
	if c.tryServe(func() bool { return c.popList(keys, !right, count, true) }) {
		return
	}
	c.block(keys, timeout, nullArrayReply)
}
