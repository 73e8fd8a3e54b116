package server

import (
	"math"
	"strconv"
	"strings"

	"github.com/hactl/hactl/engine/glob"
	"github.com/hactl/hactl/engine/keyspace"
)

func keyCommands() []*command {
	k1 := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, group: "generic", run: run}
	}
	objectHelp := &command{name: "object|help", arity: 2, flags: flagLoading | flagStale, group: "generic", run: cmdObjectHelp}
	return []*command{
		{name: "del", arity: -2, flags: flagWrite, firstKey: 1, lastKey: -1, keyStep: 1, group: "generic", run: cmdDel},
		{name: "unlink", arity: -2, flags: flagWrite | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, group: "generic", run: cmdDel},
		{name: "exists", arity: -2, flags: flagReadonly | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, group: "generic", run: cmdExists},
		{name: "touch", arity: -2, flags: flagReadonly | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, group: "generic", run: cmdExists},
		k1("type", 2, flagReadonly|flagFast, cmdType),
		{name: "rename", arity: 3, flags: flagWrite, firstKey: 1, lastKey: 2, keyStep: 1, group: "generic", run: cmdRename},
		{name: "renamenx", arity: 3, flags: flagWrite | flagFast, firstKey: 1, lastKey: 2, keyStep: 1, group: "generic", run: cmdRenameNX},
		{name: "keys", arity: 2, flags: flagReadonly, group: "generic", run: cmdKeys},
		{name: "scan", arity: -2, flags: flagReadonly, group: "generic", run: cmdScan},
		{name: "randomkey", arity: 1, flags: flagReadonly, group: "generic", run: cmdRandomKey},
		k1("expire", -3, flagWrite|flagFast, cmdExpire),
		k1("pexpire", -3, flagWrite|flagFast, cmdPExpire),
		k1("expireat", -3, flagWrite|flagFast, cmdExpireAt),
		k1("pexpireat", -3, flagWrite|flagFast, cmdPExpireAt),
		k1("ttl", 2, flagReadonly|flagFast, cmdTTL),
		k1("pttl", 2, flagReadonly|flagFast, cmdPTTL),
		k1("expiretime", 2, flagReadonly|flagFast, cmdExpireTime),
		k1("pexpiretime", 2, flagReadonly|flagFast, cmdPExpireTime),
		k1("persist", 2, flagWrite|flagFast, cmdPersist),
		{name: "copy", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 2, keyStep: 1, group: "generic", run: cmdCopy},
		{name: "object", arity: -2, group: "generic", subs: map[string]*command{
			"encoding": {name: "object|encoding", arity: 3, flags: flagReadonly, firstKey: 2, lastKey: 2, keyStep: 1, group: "generic", run: cmdObjectEncoding},
			"freq":     {name: "object|freq", arity: 3, flags: flagReadonly, firstKey: 2, lastKey: 2, keyStep: 1, group: "generic", run: cmdObjectFreq},
			"idletime": {name: "object|idletime", arity: 3, flags: flagReadonly, firstKey: 2, lastKey: 2, keyStep: 1, group: "generic", run: cmdObjectIdletime},
			"refcount": {name: "object|refcount", arity: 3, flags: flagReadonly, firstKey: 2, lastKey: 2, keyStep: 1, group: "generic", run: cmdObjectRefcount},
			"help":     objectHelp,
		}},
	}
}

func cmdDel(c *Client, args [][]byte) {
	db := c.curDB()
	n := 0
	for _, k := range args[1:] {
		// Expire first so an expired key is not counted as deleted.
		if db.Lookup(&c.srv.ctx, k) != nil && db.DeleteBytes(k) {
			c.written(k, notifyGeneric, "del")
			n++
		}
	}
	c.w.Int(int64(n))
}

func cmdExists(c *Client, args [][]byte) {
	db := c.curDB()
	n := 0
	for _, k := range args[1:] {
		if db.Lookup(&c.srv.ctx, k) != nil {
			n++
		}
	}
	c.w.Int(int64(n))
}

func cmdType(c *Client, args [][]byte) {
	v := c.curDB().LookupNoTouch(&c.srv.ctx, args[1])
	if v == nil {
		c.w.Simple("none")
		return
	}
	c.w.Simple(v.Type.String())
}

func cmdRename(c *Client, args [][]byte)   { c.rename(args, false) }
func cmdRenameNX(c *Client, args [][]byte) { c.rename(args, true) }

func (c *Client) rename(args [][]byte, nx bool) {
	db := c.curDB()
	ctx := &c.srv.ctx
	src, dst := args[1], args[2]
	v := db.Lookup(ctx, src)
	if v == nil {
		c.replyError(errNoSuchKey)
		return
	}
	if string(src) == string(dst) {
		if nx {
			c.w.Int(0)
		} else {
			c.w.OK()
		}
		return
	}
	when, hasExpire := db.Expire(src)
	if db.Lookup(ctx, dst) != nil {
		if nx {
			c.w.Int(0)
			return
		}
		db.DeleteBytes(dst)
	}
	moved := *v
	db.DeleteBytes(src)
	db.Add(ctx, dst, moved)
	if hasExpire {
		db.SetExpire(dst, when)
	}
	c.written(src, notifyGeneric, "rename_from")
	c.written(dst, notifyGeneric, "rename_to")
	if nx {
		c.w.Int(1)
	} else {
		c.w.OK()
	}
}

func cmdKeys(c *Client, args [][]byte) {
	db := c.curDB()
	ctx := &c.srv.ctx
	pattern := args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	var keys []string
	db.Range(func(k string, v *keyspace.Value) bool {
		if (all || glob.MatchString(string(pattern), k, false)) && db.Live(ctx, k, v) {
			keys = append(keys, k)
		}
		return true
	})
	c.w.Array(len(keys))
	for _, k := range keys {
		c.w.BulkString(k)
	}
}

// parseCursor is parseScanCursorOrReply (strtoul over the whole string).
func (c *Client) parseCursor(b []byte) (uint64, bool) {
	s := string(b)
	if len(s) > 0 && !isCSpace(s[0]) {
		neg := false
		t := s
		if t[0] == '-' || t[0] == '+' {
			neg = t[0] == '-'
			t = t[1:]
		}
		if len(t) > 0 && t[0] != '-' && t[0] != '+' {
			if u, err := strconv.ParseUint(t, 10, 64); err == nil {
				if neg {
					u = -u
				}
				return u, true
			}
		}
	}
	c.replyError("ERR invalid cursor")
	return 0, false
}

func cmdScan(c *Client, args [][]byte) {
	cursor, ok := c.parseCursor(args[1])
	if !ok {
		return
	}
	count := int64(10)
	var pattern []byte
	var typeName string
	hasType := false
	for i := 2; i < len(args); {
		rest := len(args) - i
		opt := strings.ToLower(string(args[i]))
		switch {
		case opt == "count" && rest >= 2:
			if !c.intArg(args[i+1], &count) {
				return
			}
			if count < 1 {
				c.replyError(errSyntax)
				return
			}
			i += 2
		case opt == "match" && rest >= 2:
			pattern = args[i+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
			i += 2
		case opt == "type" && rest >= 2:
			typeName = string(args[i+1])
			hasType = true
			i += 2
		default:
			c.replyError(errSyntax)
			return
		}
	}
	db := c.curDB()
	var keys []string
	maxIter := count * 10
	for {
		cursor = db.Scan(cursor, func(k string, _ *keyspace.Value) { keys = append(keys, k) })
		if cursor == 0 || maxIter <= 0 || int64(len(keys)) >= count {
			break
		}
		maxIter--
	}
	out := keys[:0]
	for _, k := range keys {
		if pattern != nil && !glob.MatchString(string(pattern), k, false) {
			continue
		}
		kb := []byte(k)
		v := db.LookupNoTouch(&c.srv.ctx, kb)
		if v == nil {
			continue
		}
		if hasType && !strings.EqualFold(typeName, v.Type.String()) {
			continue
		}
		out = append(out, k)
	}
	c.w.Array(2)
	c.w.BulkString(strconv.FormatUint(cursor, 10))
	c.w.Array(len(out))
	for _, k := range out {
		c.w.BulkString(k)
	}
}

func cmdRandomKey(c *Client, args [][]byte) {
	k, ok := c.curDB().RandomKey(&c.srv.ctx, c.srv.rnd)
	if !ok {
		c.w.Null()
		return
	}
	c.w.BulkString(k)
}

const (
	unitSeconds = iota
	unitMillis
)

func cmdExpire(c *Client, args [][]byte)    { c.expireGeneric(args, c.srv.ctx.Now, unitSeconds) }
func cmdPExpire(c *Client, args [][]byte)   { c.expireGeneric(args, c.srv.ctx.Now, unitMillis) }
func cmdExpireAt(c *Client, args [][]byte)  { c.expireGeneric(args, 0, unitSeconds) }
func cmdPExpireAt(c *Client, args [][]byte) { c.expireGeneric(args, 0, unitMillis) }

const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

// expireGeneric is expireGenericCommand (Redis 7.0).
func (c *Client) expireGeneric(args [][]byte, base int64, unit int) {
	flags := 0
	for _, a := range args[3:] {
		switch strings.ToLower(string(a)) {
		case "nx":
			flags |= expireNX
		case "xx":
			flags |= expireXX
		case "gt":
			flags |= expireGT
		case "lt":
			flags |= expireLT
		default:
			c.replyError("ERR Unsupported option " + string(a))
			return
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.replyError("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.replyError("ERR GT and LT options at the same time are not compatible")
		return
	}
	var when int64
	if !c.intArg(args[2], &when) {
		return
	}
	name := strings.ToLower(string(args[0]))
	if unit == unitSeconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.replyError(strings.Replace(errInvalidExpire, "%s", name, 1))
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		c.replyError(strings.Replace(errInvalidExpire, "%s", name, 1))
		return
	}
	when += base
	db := c.curDB()
	key := args[1]
	if db.Lookup(&c.srv.ctx, key) == nil {
		c.w.Int(0)
		return
	}
	if flags != 0 {
		cur, has := db.Expire(key)
		switch {
		case flags&expireNX != 0 && has,
			flags&expireXX != 0 && !has,
			flags&expireGT != 0 && (!has || when <= cur),
			flags&expireLT != 0 && has && when >= cur:
			c.w.Int(0)
			return
		}
	}
	if when <= c.srv.ctx.Now && !c.srv.isReplica() {
		db.DeleteBytes(key)
		c.written(key, notifyGeneric, "del")
		c.rewriteCommand(bDel, key)
	} else {
		db.SetExpire(key, when)
		c.written(key, notifyGeneric, "expire")
		prop := [][]byte{bPExpireAt, key, []byte(strconv.FormatInt(when, 10))}
		c.rewriteCommand(append(prop, args[3:]...)...)
	}
	c.w.Int(1)
}

func cmdTTL(c *Client, args [][]byte)         { c.ttlGeneric(args[1], false, false) }
func cmdPTTL(c *Client, args [][]byte)        { c.ttlGeneric(args[1], true, false) }
func cmdExpireTime(c *Client, args [][]byte)  { c.ttlGeneric(args[1], false, true) }
func cmdPExpireTime(c *Client, args [][]byte) { c.ttlGeneric(args[1], true, true) }

func (c *Client) ttlGeneric(key []byte, ms, abs bool) {
	db := c.curDB()
	if db.LookupNoTouch(&c.srv.ctx, key) == nil {
		c.w.Int(-2)
		return
	}
	when, has := db.Expire(key)
	if !has {
		c.w.Int(-1)
		return
	}
	ttl := when
	if !abs {
		ttl = when - c.srv.ctx.Now
	}
	ttl = max(ttl, 0)
	if !ms {
		ttl = (ttl + 500) / 1000
	}
	c.w.Int(ttl)
}

func cmdPersist(c *Client, args [][]byte) {
	db := c.curDB()
	if db.Lookup(&c.srv.ctx, args[1]) != nil && db.Persist(args[1]) {
		c.written(args[1], notifyGeneric, "persist")
		c.w.Int(1)
		return
	}
	c.w.Int(0)
}

// copier is implemented by non-string values that COPY can duplicate.
type copier interface{ Copy() any }

func cmdCopy(c *Client, args [][]byte) {
	s := c.srv
	src := c.curDB()
	dst := src
	replace := false
	for j := 3; j < len(args); j++ {
		switch opt := strings.ToLower(string(args[j])); {
		case opt == "replace":
			replace = true
		case opt == "db" && len(args)-j-1 >= 1:
			id, ok := parseInt64(args[j+1])
			if !ok || id < math.MinInt32 || id > math.MaxInt32 {
				c.replyError(errNotInt)
				return
			}
			if id < 0 || id >= int64(len(s.dbs)) {
				c.replyError(errDBIndex)
				return
			}
			dst = s.dbs[id]
			j++
		default:
			c.replyError(errSyntax)
			return
		}
	}
	if src == dst && string(args[1]) == string(args[2]) {
		c.replyError(errSameObject)
		return
	}
	v := c.lookupRead(args[1])
	if v == nil {
		c.w.Int(0)
		return
	}
	when, hasExpire := src.Expire(args[1])
	if dst.Lookup(&s.ctx, args[2]) != nil {
		if !replace {
			c.w.Int(0)
			return
		}
		dst.DeleteBytes(args[2])
	}
	dup := *v
	if cp, ok := v.Obj.(copier); ok {
		dup.Obj = cp.Copy()
	}
	dst.Add(&s.ctx, args[2], dup)
	if hasExpire {
		dst.SetExpire(args[2], when)
	}
	s.dirty++
	s.keyModified(dst.ID, args[2])
	s.notifyKeyspace(notifyGeneric, "copy_to", args[2], dst.ID)
	c.w.Int(1)
}

func (c *Client) objectLookup(key []byte) *keyspace.Value {
	v := c.curDB().LookupNoTouch(&c.srv.ctx, key)
	if v == nil {
		c.w.Null()
	}
	return v
}

func cmdObjectEncoding(c *Client, args [][]byte) {
	if v := c.objectLookup(args[2]); v != nil {
		c.w.BulkString(v.Encoding())
	}
}

const (
	errLFUSelected    = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errLFUNotSelected = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
)

func (s *Server) lfuPolicy() bool { return strings.HasSuffix(s.set.MaxMemoryPolicy, "-lfu") }

func cmdObjectFreq(c *Client, args [][]byte) {
	v := c.objectLookup(args[2])
	if v == nil {
		return
	}
	if !c.srv.lfuPolicy() {
		c.replyError(errLFUNotSelected)
		return
	}
	c.w.Int(int64(keyspace.LFUDecrAndReturn(v.LRU(), keyspace.LFUMinutes(c.srv.ctx.Now), c.srv.set.LFUDecayTime)))
}

func cmdObjectIdletime(c *Client, args [][]byte) {
	v := c.objectLookup(args[2])
	if v == nil {
		return
	}
	if c.srv.lfuPolicy() {
		c.replyError(errLFUSelected)
		return
	}
	idle := int64(c.srv.ctx.LRU) - int64(v.LRU())
	if idle < 0 {
		idle += 1 << 24
	}
	c.w.Int(idle)
}

func cmdObjectRefcount(c *Client, args [][]byte) {
	v := c.objectLookup(args[2])
	if v == nil {
		return
	}
	// Redis shares the objects of small integers 0..9999 unless an LRU or
	// LFU maxmemory policy needs per-key access data.
	if v.Type == keyspace.TypeString && v.Encoding() == "int" && (c.srv.set.MaxMemory == 0 || !c.srv.noSharedIntegers()) {
		if n, _ := strconv.ParseInt(v.Str, 10, 64); n >= 0 && n < 10000 {
			c.w.Int(math.MaxInt32)
			return
		}
	}
	c.w.Int(1)
}

func (s *Server) noSharedIntegers() bool {
	p := s.set.MaxMemoryPolicy
	return strings.HasSuffix(p, "-lru") || strings.HasSuffix(p, "-lfu")
}

func cmdObjectHelp(c *Client, args [][]byte) {
	c.help("OBJECT", []string{
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
	})
}

// help writes a HELP reply like addReplyHelp.
func (c *Client) help(cmd string, lines []string) {
	c.w.Array(len(lines) + 3)
	c.w.Simple(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.w.Simple(l)
	}
	c.w.Simple("HELP")
	c.w.Simple("    Print this help.")
}
