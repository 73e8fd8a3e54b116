package server

import (
	"bytes"
	"strconv"

	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/engine/types/list"
)

// List commands (t_list.c). The pop and move logic lives in popList and
// moveList, which answer nothing when no key holds a list, so the blocking
// variants (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) can park the client
// instead.

const (
	errIndexRange = "ERR index out of range"
	errLPosRank   = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errLPosCount  = "ERR COUNT can't be negative"
	errLPosMaxlen = "ERR MAXLEN can't be negative"
)

func listCommands() []*command {
	l := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, group: "list", run: run}
	}
	w, wd, ro := flagWrite, flagWrite|flagDenyOOM, flagReadonly
	return []*command{
		l("lpush", -3, wd|flagFast, cmdLPush),
		l("rpush", -3, wd|flagFast, cmdRPush),
		l("lpushx", -3, wd|flagFast, cmdLPushX),
		l("rpushx", -3, wd|flagFast, cmdRPushX),
		l("lpop", -2, w|flagFast, cmdLPop),
		l("rpop", -2, w|flagFast, cmdRPop),
		l("lrange", 4, ro, cmdLRange),
		l("llen", 2, ro|flagFast, cmdLLen),
		l("lindex", 3, ro, cmdLIndex),
		l("lset", 4, wd, cmdLSet),
		l("lrem", 4, w, cmdLRem),
		l("ltrim", 4, w, cmdLTrim),
		l("linsert", 5, wd, cmdLInsert),
		l("lpos", -3, ro, cmdLPos),
		{name: "lmove", arity: 5, flags: wd, firstKey: 1, lastKey: 2, keyStep: 1, group: "list", run: cmdLMove},
		{name: "rpoplpush", arity: 3, flags: wd, firstKey: 1, lastKey: 2, keyStep: 1, group: "list", run: cmdRPopLPush},
		{name: "lmpop", arity: -4, flags: w, group: "list", run: cmdLMPop},
	}
}

// objectOf returns v's data structure as T (the zero T for a missing
// key); when v holds another type it writes WRONGTYPE and reports
// ok == false.
func objectOf[T any](c *Client, v *keyspace.Value, typ keyspace.Type) (obj T, ok bool) {
	if v == nil {
		return obj, true
	}
	if v.Type != typ {
		c.replyError(errWrongType)
		return obj, false
	}
	return v.Obj.(T), true
}

// listOf is objectOf for lists.
func (c *Client) listOf(v *keyspace.Value) (*list.List, bool) {
	return objectOf[*list.List](c, v, keyspace.TypeList)
}

func (c *Client) readList(key []byte) (*list.List, bool) { return c.listOf(c.lookupRead(key)) }

func (c *Client) writeList(key []byte) (*list.List, bool) { return c.listOf(c.lookupWrite(key)) }

// newList stores an empty list under key.
func (c *Client) newList(key []byte) *list.List {
	l := list.New()
	c.curDB().Add(&c.srv.ctx, key, keyspace.Value{Type: keyspace.TypeList, Obj: l})
	return l
}

// listEvent names the notification of a push or pop at one end.
func listEvent(left bool, op string) string {
	if left {
		return "l" + op
	}
	return "r" + op
}

// pushed finishes a push to key: notification and blocked clients.
func (c *Client) pushed(key []byte, left bool) {
	c.written(key, notifyList, listEvent(left, "push"))
	c.keyReady(key)
}

func cmdLPush(c *Client, args [][]byte)  { c.push(args, true, false) }
func cmdRPush(c *Client, args [][]byte)  { c.push(args, false, false) }
func cmdLPushX(c *Client, args [][]byte) { c.push(args, true, true) }
func cmdRPushX(c *Client, args [][]byte) { c.push(args, false, true) }

// push is pushGenericCommand; onlyExisting is the X variants.
func (c *Client) push(args [][]byte, left, onlyExisting bool) {
	key := args[1]
	l, ok := c.writeList(key)
	if !ok {
		return
	}
	if l == nil {
		if onlyExisting {
			c.w.Int(0)
			return
		}
		l = c.newList(key)
	}
	for _, e := range args[2:] {
		l.Push(e, left)
	}
	c.w.Int(int64(l.Len()))
	c.pushed(key, left)
}

func cmdLPop(c *Client, args [][]byte) { c.popCommand(args, true) }
func cmdRPop(c *Client, args [][]byte) { c.popCommand(args, false) }

// popCommand is popGenericCommand: LPOP/RPOP key [count].
func (c *Client) popCommand(args [][]byte, left bool) {
	if len(args) > 3 {
		c.replyError(errWrongArgs(c.curCmd.name))
		return
	}
	count := int64(-1)
	if len(args) == 3 && !c.nonNegative(args[2], &count, errZPositive) {
		return
	}
	if c.popList(args[1:2], left, count, false) {
		return
	}
	if count >= 0 {
		c.w.NullArray()
	} else {
		c.w.Null()
	}
}

// popList pops from the first of keys that holds a non-empty list: one
// element (count -1) or up to count elements (an array). withKey wraps
// the reply as [key, element(s)] (BLPOP, LMPOP). It writes nothing and
// returns false when no key holds a list, so that the caller can answer
// null or park the client; a key of another type is answered with
// WRONGTYPE (true).
func (c *Client) popList(keys [][]byte, left bool, count int64, withKey bool) bool {
	for _, key := range keys {
		l, ok := c.writeList(key)
		if !ok {
			return true
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		if count == 0 {
			c.w.Array(0)
			return true
		}
		if withKey {
			c.w.Array(2)
			c.w.Bulk(key)
		}
		n := 1
		if count > 0 {
			n = int(min(count, int64(l.Len())))
			c.w.Array(n)
		}
		for range n {
			e, _ := l.Pop(left)
			c.w.Bulk(e)
		}
		if withKey {
			// BLPOP replicates as LPOP key, LMPOP and BLMPOP as
			// LPOP key count (Redis 7.0).
			if count < 0 {
				c.rewriteCommand(sideWord(left, bLPop, bRPop), key)
			} else {
				c.rewriteCommand(sideWord(left, bLPop, bRPop), key, strconv.AppendInt(nil, int64(n), 10))
			}
		}
		c.popped(key, l, left)
		return true
	}
	return false
}

// popped finishes a pop from key (listElementsRemoved).
func (c *Client) popped(key []byte, l *list.List, left bool) {
	c.written(key, notifyList, listEvent(left, "pop"))
	if l.Len() == 0 {
		c.deleteEmptied(key)
	}
}

// listSide parses LEFT/RIGHT (getListPositionFromObjectOrReply).
func (c *Client) listSide(b []byte) (left, ok bool) {
	switch {
	case eqFold(b, "left"):
		return true, true
	case eqFold(b, "right"):
		return false, true
	}
	c.replyError(errSyntax)
	return false, false
}

func cmdLMove(c *Client, args [][]byte) {
	from, ok := c.listSide(args[3])
	if !ok {
		return
	}
	to, ok := c.listSide(args[4])
	if !ok {
		return
	}
	if !c.moveList(args[1], args[2], from, to) {
		c.w.Null()
	}
}

func cmdRPopLPush(c *Client, args [][]byte) {
	if !c.moveList(args[1], args[2], false, true) {
		c.w.Null()
	}
}

// moveList is lmoveGenericCommand: it pops an element from src (left or
// right end) and pushes it onto dst, answering the element. It writes
// nothing and returns false when src holds no list (the caller answers
// null or parks the client); a wrong type of src or dst is answered with
// WRONGTYPE (true).
func (c *Client) moveList(src, dst []byte, fromLeft, toLeft bool) bool {
	sl, ok := c.writeList(src)
	if !ok {
		return true
	}
	if sl == nil || sl.Len() == 0 {
		return false
	}
	dl, ok := c.writeList(dst)
	if !ok {
		return true
	}
	e, _ := sl.Pop(fromLeft)
	// The push below may reuse the memory e points to when src == dst.
	e = bytes.Clone(e)
	if dl == nil {
		dl = c.newList(dst)
	}
	dl.Push(e, toLeft)
	c.pushed(dst, toLeft)
	c.w.Bulk(e)
	c.popped(src, sl, fromLeft)
	switch c.curCmd.name {
	case "brpoplpush":
		c.rewriteCommand(bRPopLPush, src, dst)
	case "blmove":
		c.rewriteCommand(bLMove, src, dst, sideWord(fromLeft, bLeft, bRight), sideWord(toLeft, bLeft, bRight))
	}
	return true
}

var (
	bLPop      = []byte("LPOP")
	bRPop      = []byte("RPOP")
	bLMove     = []byte("LMOVE")
	bRPopLPush = []byte("RPOPLPUSH")
	bLeft      = []byte("LEFT")
	bRight     = []byte("RIGHT")
)

// sideWord picks the word for the left or the right end.
func sideWord(left bool, l, r []byte) []byte {
	if left {
		return l
	}
	return r
}

// mpopArgs parses the numkeys, keys, end and COUNT arguments of LMPOP and
// BLMPOP (and any *MPOP whose ends are named first and second) starting at
// args[numIdx]. second reports that the second end was named.
func (c *Client) mpopArgs(args [][]byte, numIdx int, first, second string) (keys [][]byte, isSecond bool, count int64, ok bool) {
	numkeys, valid := parseInt64(args[numIdx])
	if !valid || numkeys < 1 {
		c.replyError(errZNumkeys)
		return nil, false, 0, false
	}
	if numkeys >= int64(len(args)-numIdx-1) {
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	whereIdx := numIdx + int(numkeys) + 1
	switch where := args[whereIdx]; {
	case eqFold(where, first):
	case eqFold(where, second):
		isSecond = true
	default:
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	count = -1
	for j := whereIdx + 1; j < len(args); j++ {
		if count != -1 || !eqFold(args[j], "count") || j+1 == len(args) {
			c.replyError(errSyntax)
			return nil, false, 0, false
		}
		j++
		if count, valid = parseInt64(args[j]); !valid || count < 1 {
			c.replyError(errZCount)
			return nil, false, 0, false
		}
	}
	return args[numIdx+1 : whereIdx], isSecond, max(count, 1), true
}

func cmdLMPop(c *Client, args [][]byte) {
	keys, right, count, ok := c.mpopArgs(args, 1, "left", "right")
	if !ok {
		return
	}
	if !c.popList(keys, !right, count, true) {
		c.w.NullArray()
	}
}

// listIndex converts a possibly negative index to a position from the
// head (still out of range when it was).
func listIndex(l *list.List, i int64) int {
	if i < 0 {
		i += int64(l.Len())
	}
	if i < 0 || i >= int64(l.Len()) {
		return -1
	}
	return int(i)
}

// existingList finds the list under key for reading (or writing). It
// returns nil when the reply is already written: WRONGTYPE, or missing()
// for a missing key.
func (c *Client) existingList(key []byte, write bool, missing func()) *list.List {
	lookup := c.readList
	if write {
		lookup = c.writeList
	}
	l, ok := lookup(key)
	if ok && l == nil {
		missing()
	}
	return l
}

// rangedList parses the bounds of LRANGE/LTRIM and finds the list: l is
// nil when the reply is already written (an error, or missing() for a
// missing key).
func (c *Client) rangedList(args [][]byte, write bool, missing func()) (l *list.List, first, n int) {
	var start, end int64
	if !c.intArg(args[2], &start) || !c.intArg(args[3], &end) {
		return nil, 0, 0
	}
	if l = c.existingList(args[1], write, missing); l == nil {
		return nil, 0, 0
	}
	first, hi := rankSpan(l.Len(), start, end, false)
	return l, first, hi - first
}

func cmdLRange(c *Client, args [][]byte) {
	l, first, n := c.rangedList(args, false, func() { c.w.Array(0) })
	if l == nil {
		return
	}
	c.w.Array(n)
	it := l.IterAt(first, false)
	for range n {
		e, _ := it.Next()
		c.w.Bulk(e)
	}
}

func cmdLLen(c *Client, args [][]byte) {
	if l := c.existingList(args[1], false, c.replyZero); l != nil {
		c.w.Int(int64(l.Len()))
	}
}

func (c *Client) replyZero() { c.w.Int(0) }

func cmdLIndex(c *Client, args [][]byte) {
	l := c.existingList(args[1], false, c.w.Null)
	if l == nil {
		return
	}
	var i int64
	if !c.intArg(args[2], &i) {
		return
	}
	if e, found := l.Index(listIndex(l, i)); found {
		c.w.Bulk(e)
	} else {
		c.w.Null()
	}
}

func cmdLSet(c *Client, args [][]byte) {
	l := c.existingList(args[1], true, func() { c.replyError(errNoSuchKey) })
	if l == nil {
		return
	}
	var i int64
	if !c.intArg(args[2], &i) {
		return
	}
	if !l.Set(listIndex(l, i), args[3]) {
		c.replyError(errIndexRange)
		return
	}
	c.w.OK()
	c.written(args[1], notifyList, "lset")
}

func cmdLRem(c *Client, args [][]byte) {
	var count int64
	if !c.intArg(args[2], &count) {
		return
	}
	l := c.existingList(args[1], true, c.replyZero)
	if l == nil {
		return
	}
	fromTail := count < 0
	if fromTail {
		count = -count // math.MinInt64 stays negative: no limit, as in Redis
	}
	removed := l.Remove(args[3], int(count), fromTail)
	if removed > 0 {
		c.written(args[1], notifyList, "lrem")
		if l.Len() == 0 {
			c.deleteEmptied(args[1])
		}
	}
	c.w.Int(int64(removed))
}

func cmdLTrim(c *Client, args [][]byte) {
	l, first, n := c.rangedList(args, true, c.w.OK)
	if l == nil {
		return
	}
	tail := l.Len() - first - n
	if n == 0 {
		first, tail = l.Len(), 0
	}
	l.DeleteFront(first)
	l.DeleteBack(tail)
	if first+tail == 0 {
		// Redis signals and notifies even when nothing was trimmed, but
		// counts no change, so nothing is propagated.
		c.srv.keyModified(c.db, args[1])
		c.srv.notifyKeyspace(notifyList, "ltrim", args[1], c.db)
	} else {
		c.written(args[1], notifyList, "ltrim")
	}
	if l.Len() == 0 {
		c.deleteEmptied(args[1])
	}
	c.w.OK()
}

func cmdLInsert(c *Client, args [][]byte) {
	var after bool
	switch {
	case eqFold(args[2], "after"):
		after = true
	case eqFold(args[2], "before"):
	default:
		c.replyError(errSyntax)
		return
	}
	l := c.existingList(args[1], true, c.replyZero)
	if l == nil {
		return
	}
	if !l.Insert(args[3], args[4], after) {
		c.w.Int(-1)
		return
	}
	c.written(args[1], notifyList, "linsert")
	c.w.Int(int64(l.Len()))
}

// lposOptions are LPOS's RANK, COUNT and MAXLEN (count -1: not given).
type lposOptions struct {
	rank, count, maxlen int64
}

func (c *Client) lposArgs(args [][]byte) (o lposOptions, ok bool) {
	o = lposOptions{rank: 1, count: -1}
	for j := 3; j < len(args); j++ {
		if j+1 == len(args) {
			c.replyError(errSyntax)
			return o, false
		}
		opt, val := args[j], args[j+1]
		j++
		switch {
		case eqFold(opt, "rank"):
			if !c.intArg(val, &o.rank) {
				return o, false
			}
			if o.rank == 0 {
				c.replyError(errLPosRank)
				return o, false
			}
		case eqFold(opt, "count"):
			if !c.nonNegative(val, &o.count, errLPosCount) {
				return o, false
			}
		case eqFold(opt, "maxlen"):
			if !c.nonNegative(val, &o.maxlen, errLPosMaxlen) {
				return o, false
			}
		default:
			c.replyError(errSyntax)
			return o, false
		}
	}
	return o, true
}

// nonNegative parses a non-negative integer into *dst or answers msg
// (getPositiveLongFromObjectOrReply with a message).
func (c *Client) nonNegative(b []byte, dst *int64, msg string) bool {
	n, ok := parseInt64(b)
	if !ok || n < 0 {
		c.replyError(msg)
		return false
	}
	*dst = n
	return true
}

func cmdLPos(c *Client, args [][]byte) {
	o, ok := c.lposArgs(args)
	if !ok {
		return
	}
	fromTail := o.rank < 0
	if fromTail {
		o.rank = -o.rank // math.MinInt64 stays negative: every match counts, as in Redis
	}
	l, ok := c.readList(args[1])
	if !ok {
		return
	}
	if l == nil {
		if o.count != -1 {
			c.w.Array(0)
		} else {
			c.w.Null()
		}
		return
	}
	start := 0
	if fromTail {
		start = l.Len() - 1
	}
	it := l.IterAt(start, fromTail)
	var found []int64
	var matches int64
	for index := int64(0); o.maxlen == 0 || index < o.maxlen; index++ {
		e, more := it.Next()
		if !more {
			break
		}
		if !bytes.Equal(e, args[2]) {
			continue
		}
		matches++
		if matches < o.rank {
			continue
		}
		pos := index
		if fromTail {
			pos = int64(l.Len()) - index - 1
		}
		found = append(found, pos)
		if o.count == -1 || (o.count != 0 && matches-o.rank+1 >= o.count) {
			break
		}
	}
	if o.count != -1 {
		c.w.Array(len(found))
		for _, p := range found {
			c.w.Int(p)
		}
		return
	}
	if len(found) == 0 {
		c.w.Null()
		return
	}
	c.w.Int(found[0])
}
