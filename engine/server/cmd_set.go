package server

import (
	"math"
	"slices"

	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/engine/types/set"
)

// Set commands, following Redis 7.0.15's t_set.c.

const (
	errMustBePositive   = "ERR value is out of range, must be positive"
	errNumKeysPositive  = "ERR numkeys should be greater than 0"
	errNumKeysTooMany   = "ERR Number of keys can't be greater than number of args"
	errLimitNotNegative = "ERR LIMIT can't be negative"
)

// spopMoveStrategyMul is SPOP_MOVE_STRATEGY_MUL: SPOP with a count of more
// than 1/5 of the set rebuilds the set from the members that stay.
const spopMoveStrategyMul = 5

func setCommands() []*command {
	k1 := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, group: "set", run: run}
	}
	kn := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: -1, keyStep: 1, group: "set", run: run}
	}
	const (
		r  = flagReadonly | flagFast
		ro = flagReadonly
		ws = flagWrite | flagDenyOOM
	)
	return []*command{
		k1("sadd", -3, flagWrite|flagDenyOOM|flagFast, cmdSAdd),
		k1("srem", -3, flagWrite|flagFast, cmdSRem),
		{name: "smove", arity: 4, flags: flagWrite | flagFast, firstKey: 1, lastKey: 2, keyStep: 1, group: "set", run: cmdSMove},
		k1("sismember", 3, r, cmdSIsMember),
		k1("smismember", -3, r, cmdSMIsMember),
		k1("scard", 2, r, cmdSCard),
		k1("spop", -2, flagWrite|flagFast, cmdSPop),
		k1("srandmember", -2, ro, cmdSRandMember),
		k1("smembers", 2, ro, cmdSMembers),
		k1("sscan", -3, ro, cmdSScan),
		kn("sinter", -2, ro, cmdSInter),
		kn("sinterstore", -3, ws, cmdSInterStore),
		kn("sunion", -2, ro, cmdSUnion),
		kn("sunionstore", -3, ws, cmdSUnionStore),
		kn("sdiff", -2, ro, cmdSDiff),
		kn("sdiffstore", -3, ws, cmdSDiffStore),
		{name: "sintercard", arity: -3, flags: ro, group: "set", run: cmdSInterCard},
	}
}

// setValue returns the set under key (nil when missing); on a wrong type
// it writes WRONGTYPE and reports ok == false. write selects lookupWrite.
func (c *Client) setValue(key []byte, write bool) (*set.Set, bool) {
	return lookupTyped[*set.Set](c, key, keyspace.TypeSet, write)
}

func (c *Client) setAdd(s *set.Set, m []byte) bool { return s.Add(m, c.srv.set.SetMaxIntsetEntries) }

func (c *Client) storeSet(key []byte, s *set.Set) {
	c.curDB().Add(&c.srv.ctx, key, keyspace.Value{Type: keyspace.TypeSet, Obj: s})
}

func cmdSAdd(c *Client, args [][]byte) {
	s, ok := c.setValue(args[1], true)
	if !ok {
		return
	}
	if s == nil {
		s = set.New(args[2])
		c.storeSet(args[1], s)
	}
	added := 0
	for _, m := range args[2:] {
		if c.setAdd(s, m) {
			added++
		}
	}
	c.w.Int(int64(added))
	if added > 0 {
		c.written(args[1], notifySet, "sadd")
	}
}

func cmdSRem(c *Client, args [][]byte) {
	s, ok := c.setValue(args[1], true)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	removed := 0
	for _, m := range args[2:] {
		if s.Remove(m) {
			removed++
			if s.Len() == 0 {
				break
			}
		}
	}
	c.w.Int(int64(removed))
	if removed > 0 {
		c.written(args[1], notifySet, "srem")
		if s.Len() == 0 {
			c.deleteEmptied(args[1])
		}
	}
}

func cmdSMove(c *Client, args [][]byte) {
	src, ok := c.setValue(args[1], true)
	if !ok {
		return
	}
	dstVal := c.lookupWrite(args[2])
	if src == nil {
		c.w.Int(0)
		return
	}
	if dstVal != nil && dstVal.Type != keyspace.TypeSet {
		c.replyError(errWrongType)
		return
	}
	member := args[3]
	if string(args[1]) == string(args[2]) {
		c.w.Int(boolInt(src.Has(member)))
		return
	}
	if !src.Remove(member) {
		c.w.Int(0)
		return
	}
	c.written(args[1], notifySet, "srem")
	if src.Len() == 0 {
		c.deleteEmptied(args[1])
	}
	var dst *set.Set
	if dstVal == nil {
		dst = set.New(member)
		c.storeSet(args[2], dst)
	} else {
		dst = dstVal.Obj.(*set.Set)
	}
	if c.setAdd(dst, member) {
		c.written(args[2], notifySet, "sadd")
	}
	c.w.Int(1)
}

func cmdSIsMember(c *Client, args [][]byte) {
	s, ok := c.setValue(args[1], false)
	if ok {
		c.w.Int(boolInt(s != nil && s.Has(args[2])))
	}
}

func cmdSMIsMember(c *Client, args [][]byte) {
	s, ok := c.setValue(args[1], false)
	if !ok {
		return
	}
	c.w.Array(len(args) - 2)
	for _, m := range args[2:] {
		c.w.Int(boolInt(s != nil && s.Has(m)))
	}
}

func cmdSCard(c *Client, args [][]byte) {
	s, ok := c.setValue(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(s.Len()))
}

// replySet writes members as a set reply (an array in RESP2).
func (c *Client) replySet(s *set.Set) {
	if s == nil {
		c.w.Set(0)
		return
	}
	c.w.Set(s.Len())
	c.rangeReply(s)
}

// rangeReply writes every member of s as a bulk string.
func (c *Client) rangeReply(s *set.Set) {
	s.Range(func(m []byte) bool {
		c.w.Bulk(m)
		return true
	})
}

func cmdSMembers(c *Client, args [][]byte) {
	s, ok := c.setValue(args[1], false)
	if ok {
		c.replySet(s)
	}
}

func cmdSPop(c *Client, args [][]byte)        { c.randomMember(args, true) }
func cmdSRandMember(c *Client, args [][]byte) { c.randomMember(args, false) }

// randomMember is SPOP and SRANDMEMBER.
func (c *Client) randomMember(args [][]byte, pop bool) {
	switch {
	case len(args) > 3:
		c.replyError(errSyntax)
		return
	case len(args) == 3 && pop:
		c.spopCount(args)
		return
	case len(args) == 3:
		c.srandCount(args)
		return
	}
	s, ok := c.setValue(args[1], pop)
	if !ok {
		return
	}
	if s == nil {
		c.w.Null()
		return
	}
	if !pop {
		c.w.BulkString(s.Random(c.srv.rnd))
		return
	}
	m := s.Pop(c.srv.rnd)
	c.w.BulkString(m)
	c.written(args[1], notifySet, "spop")
	// SPOP is random: replicate its effect.
	c.rewriteCommand(bSRem, args[1], []byte(m))
	if s.Len() == 0 {
		c.deleteEmptied(args[1])
	}
}

// spopCount is spopWithCountCommand.
func (c *Client) spopCount(args [][]byte) {
	n, ok := parseInt64(args[2])
	if !ok || n < 0 {
		c.replyError(errMustBePositive)
		return
	}
	s, ok := c.setValue(args[1], true)
	if !ok {
		return
	}
	if s == nil || n == 0 {
		c.w.Set(0)
		return
	}
	size := int64(s.Len())
	if n >= size {
		// The whole set goes, in the order of a copy built like SUNION's.
		c.replySet(c.union(s))
		c.written(args[1], notifySet, "spop")
		c.deleteEmptied(args[1])
		c.rewriteCommand(bDel, args[1])
		return
	}
	rnd := c.srv.rnd
	c.w.Set(int(n))
	if n*spopMoveStrategyMul <= size {
		prop := [][]byte{bSRem, args[1]}
		for range n {
			m := s.Pop(rnd)
			c.w.BulkString(m)
			prop = append(prop, []byte(m))
		}
		c.written(args[1], notifySet, "spop")
		c.rewriteCommand(prop...)
		return
	}
	// Move size-n random members to a new set of the same encoding and
	// return what is left.
	var kept []string
	for range size - n {
		kept = append(kept, s.Pop(rnd))
	}
	c.rangeReply(s)
	prop := [][]byte{bSRem, args[1]}
	for _, m := range s.Members() {
		prop = append(prop, []byte(m))
	}
	c.rewriteCommand(prop...)
	ns := s.EmptyLike()
	for _, m := range kept {
		c.setAdd(ns, []byte(m))
	}
	c.storeSet(args[1], ns)
	c.written(args[1], notifySet, "spop")
}

// union returns a new set holding the members of sets (nil ones are
// empty), built like Redis builds the result of SUNION: an intset that
// converts as members arrive.
func (c *Client) union(sets ...*set.Set) *set.Set {
	res := set.NewIntset()
	for _, s := range sets {
		if s != nil {
			s.Range(func(m []byte) bool {
				c.setAdd(res, m)
				return true
			})
		}
	}
	return res
}

// srandCount is srandmemberWithCountCommand.
func (c *Client) srandCount(args [][]byte) {
	l, ok := c.rangeArg(args[2], -math.MaxInt64, math.MaxInt64)
	if !ok {
		return
	}
	s, ok := c.setValue(args[1], false)
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.w.Array(0)
		return
	}
	rnd := c.srv.rnd
	size := int64(s.Len())
	switch {
	case l < 0 || l == 1:
		count := min(-l, math.MaxInt32)
		if l == 1 {
			count = 1
		}
		c.w.Array(int(count))
		for range count {
			c.w.BulkString(s.Random(rnd))
		}
	case l >= size:
		c.w.Array(int(size))
		c.rangeReply(s)
	default:
		c.w.Array(int(l))
		random := func() string { return s.Random(rnd) }
		for _, m := range sampleUnique(rnd, int(l), int(size), s.Members, random,
			func(m string) string { return m }) {
			c.w.BulkString(m)
		}
	}
}

func cmdSScan(c *Client, args [][]byte) { c.scanCollection(args, keyspace.TypeSet, false) }

// loadSets looks up every key of a multi-set command (nil for missing
// ones); on a wrong type it replies and reports ok == false.
func (c *Client) loadSets(keys [][]byte, write bool) ([]*set.Set, bool) {
	sets := make([]*set.Set, len(keys))
	for i, k := range keys {
		s, ok := c.setValue(k, write)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// intersect calls fn for each member of the intersection of sets (none
// nil), iterating the smallest, until fn returns false.
func intersect(sets []*set.Set, fn func(m []byte) bool) {
	sets = slices.Clone(sets)
	slices.SortStableFunc(sets, func(a, b *set.Set) int { return a.Len() - b.Len() })
	sets[0].Range(func(m []byte) bool {
		for _, o := range sets[1:] {
			if o != sets[0] && !o.Has(m) {
				return true
			}
		}
		return fn(m)
	})
}

func cmdSInter(c *Client, args [][]byte)      { c.sinter(args[1:], nil) }
func cmdSInterStore(c *Client, args [][]byte) { c.sinter(args[2:], args[1]) }

// sinter is sinterGenericCommand for SINTER and SINTERSTORE.
func (c *Client) sinter(keys [][]byte, dst []byte) {
	sets, ok := c.loadSets(keys, dst != nil)
	if !ok {
		return
	}
	res := set.NewIntset()
	if !slices.Contains(sets, nil) {
		intersect(sets, func(m []byte) bool {
			c.setAdd(res, m)
			return true
		})
	}
	c.setResult(res, dst, "sinterstore")
}

// setResult replies with, or stores under dst, the result of a set
// operation, building the set like Redis so its encoding matches.
func (c *Client) setResult(res *set.Set, dst []byte, event string) {
	if dst == nil {
		c.replySet(res)
		return
	}
	if res.Len() == 0 {
		c.w.Int(0)
		if c.curDB().Lookup(&c.srv.ctx, dst) != nil {
			c.deleteEmptied(dst)
		}
		return
	}
	c.storeSet(dst, res)
	c.w.Int(int64(res.Len()))
	c.written(dst, notifySet, event)
}

func cmdSInterCard(c *Client, args [][]byte) {
	numKeys, ok := parseInt64(args[1])
	if !ok || numKeys < 1 {
		c.replyError(errNumKeysPositive)
		return
	}
	if numKeys > int64(len(args)-2) {
		c.replyError(errNumKeysTooMany)
		return
	}
	limit := int64(0)
	for j := 2 + int(numKeys); j < len(args); j++ {
		if eqFold(args[j], "limit") && j < len(args)-1 {
			j++
			if limit, ok = parseInt64(args[j]); !ok || limit < 0 {
				c.replyError(errLimitNotNegative)
				return
			}
			continue
		}
		c.replyError(errSyntax)
		return
	}
	sets, ok := c.loadSets(args[2:2+numKeys], false)
	if !ok {
		return
	}
	if slices.Contains(sets, nil) {
		c.w.Int(0)
		return
	}
	n := int64(0)
	intersect(sets, func([]byte) bool {
		n++
		return limit == 0 || n < limit
	})
	c.w.Int(n)
}

func cmdSUnion(c *Client, args [][]byte)      { c.sunionDiff(args[1:], nil, false) }
func cmdSUnionStore(c *Client, args [][]byte) { c.sunionDiff(args[2:], args[1], false) }
func cmdSDiff(c *Client, args [][]byte)       { c.sunionDiff(args[1:], nil, true) }
func cmdSDiffStore(c *Client, args [][]byte)  { c.sunionDiff(args[2:], args[1], true) }

// sunionDiff is sunionDiffGenericCommand.
func (c *Client) sunionDiff(keys [][]byte, dst []byte, diff bool) {
	sets, ok := c.loadSets(keys, dst != nil)
	if !ok {
		return
	}
	res := set.NewIntset()
	switch {
	case !diff:
		res = c.union(sets...)
	case sets[0] != nil:
		sets[0].Range(func(m []byte) bool {
			for _, o := range sets[1:] {
				if o == sets[0] || (o != nil && o.Has(m)) {
					return true
				}
			}
			c.setAdd(res, m)
			return true
		})
	}
	event := "sunionstore"
	if diff {
		event = "sdiffstore"
	}
	c.setResult(res, dst, event)
}

var bSRem = []byte("SREM")
