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
