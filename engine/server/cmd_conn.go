package server

import (
	"strconv"
	"strings"
)

func connectionCommands() []*command {
	clientSub := func(name string, arity int, run handler) *command {
		return &command{name: "client|" + name, arity: arity, flags: flagNoScript | flagLoading | flagStale, group: "connection", run: run}
	}
	return []*command{
		{name: "ping", arity: -1, flags: flagFast | flagStale | flagPubsubCtx, group: "connection", run: cmdPing},
		{name: "echo", arity: 2, flags: flagFast, group: "connection", run: cmdEcho},
		{name: "quit", arity: -1, flags: flagNoAuth | flagLoading | flagStale | flagFast | flagPubsubCtx, group: "connection", run: cmdQuit},
		{name: "reset", arity: 1, flags: flagNoAuth | flagLoading | flagStale | flagFast | flagPubsubCtx | flagNoScript, group: "connection", run: cmdReset},
		{name: "select", arity: 2, flags: flagLoading | flagStale | flagFast, group: "connection", run: cmdSelect},
		{name: "auth", arity: -2, flags: flagNoAuth | flagLoading | flagStale | flagFast | flagNoScript | flagSkipMon, group: "connection", run: cmdAuth},
		{name: "hello", arity: -1, flags: flagNoAuth | flagLoading | flagStale | flagFast | flagNoScript | flagSkipMon, group: "connection", run: cmdHello},
		{name: "client", arity: -2, group: "connection", subs: map[string]*command{
			"id":       clientSub("id", 2, cmdClientID),
			"setname":  clientSub("setname", 3, cmdClientSetName),
			"getname":  clientSub("getname", 2, cmdClientGetName),
			"setinfo":  clientSub("setinfo", 4, cmdClientSetInfo),
			"info":     clientSub("info", 2, cmdClientInfo),
			"list":     clientSub("list", -2, cmdClientList),
			"kill":     clientSub("kill", -3, cmdClientKill),
			"no-evict": clientSub("no-evict", 3, cmdClientNoEvict),
			"pause":    clientSub("pause", -3, cmdClientPause),
			"unpause":  clientSub("unpause", 2, cmdClientUnpause),
			"help":     clientSub("help", 2, cmdClientHelp),
		}},
	}
}

func cmdPing(c *Client, args [][]byte) {
	if len(args) > 2 {
		c.replyError(errWrongArgs("ping"))
		return
	}
	if c.w.Proto == 2 && c.subscribed() {
		c.w.Array(2)
		c.w.BulkString("pong")
		if len(args) == 2 {
			c.w.Bulk(args[1])
		} else {
			c.w.BulkString("")
		}
		return
	}
	if len(args) == 2 {
		c.w.Bulk(args[1])
		return
	}
	c.w.Simple("PONG")
}

func cmdEcho(c *Client, args [][]byte) { c.w.Bulk(args[1]) }

func cmdQuit(c *Client, args [][]byte) {
	c.w.OK()
	c.closeAfter = true
}

func cmdReset(c *Client, args [][]byte) {
	s := c.srv
	c.db = 0
	c.w.Proto = 2
	c.name = ""
	if c.isMonitor {
		c.isMonitor = false
		delete(s.monitors, c)
	}
	c.noEvict = false
	c.unsubscribeAll()
	c.discardMulti()
	c.user = "default"
	c.authenticated = s.defaultAuthenticated()
	c.w.Simple("RESET")
}

func cmdSelect(c *Client, args [][]byte) {
	id, ok := parseInt64(args[1])
	if !ok || id > 1<<31-1 || id < -(1<<31) {
		c.replyError(errNotInt)
		return
	}
	if id < 0 || id >= int64(len(c.srv.dbs)) {
		c.replyError(errDBIndex)
		return
	}
	c.db = int(id)
	c.w.OK()
}

func cmdAuth(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	user, pass := []byte("default"), args[1]
	if len(args) == 3 {
		user, pass = args[1], args[2]
	} else if c.srv.acl.Default().NoPass() {
		c.replyError(errNoPassword)
		return
	}
	if !c.authenticate(args[0], user, pass) {
		return
	}
	c.w.OK()
}

func cmdHello(c *Client, args [][]byte) {
	s := c.srv
	ver := int64(0)
	if len(args) >= 2 {
		v, ok := parseInt64(args[1])
		if !ok {
			c.replyError("ERR Protocol version is not an integer or out of range")
			return
		}
		ver = v
		if ver < 2 || ver > 3 {
			c.replyError(errNoProto)
			return
		}
	}
	var user, pass, name []byte
	hasAuth, hasName := false, false
	for j := 2; j < len(args); j++ {
		more := len(args) - j - 1
		opt := strings.ToLower(string(args[j]))
		switch {
		case opt == "auth" && more >= 2:
			hasAuth = true
			user, pass = args[j+1], args[j+2]
			j += 2
		case opt == "setname" && more >= 1:
			hasName = true
			name = args[j+1]
			j++
		default:
			c.replyError("ERR Syntax error in HELLO option '" + string(args[j]) + "'")
			return
		}
	}
	if hasAuth && !c.authenticate(args[0], user, pass) {
		return
	}
	if !c.authenticated {
		c.replyError(errHelloNoAuth)
		return
	}
	if hasName {
		if !validClientName(name) {
			c.replyError(errClientName)
			return
		}
		c.name = string(name)
	}
	if ver != 0 {
		c.w.Proto = int(ver)
	}
	c.w.Map(7)
	c.w.BulkString("server")
	c.w.BulkString("redis")
	c.w.BulkString("version")
	c.w.BulkString(Version)
	c.w.BulkString("proto")
	c.w.Int(int64(c.w.Proto))
	c.w.BulkString("id")
	c.w.Int(c.id)
	c.w.BulkString("mode")
	c.w.BulkString("standalone")
	c.w.BulkString("role")
	c.w.BulkString(s.roleName())
	c.w.BulkString("modules")
	c.w.Array(0)
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClientID(c *Client, args [][]byte) { c.w.Int(c.id) }

func cmdClientSetName(c *Client, args [][]byte) {
	if !validClientName(args[2]) {
		c.replyError(errClientName)
		return
	}
	c.name = string(args[2])
	c.w.OK()
}

func cmdClientGetName(c *Client, args [][]byte) {
	if c.name == "" {
		c.w.Null()
		return
	}
	c.w.BulkString(c.name)
}

// cmdClientSetInfo implements the Redis 7.2 subcommand: go-redis sends it
// and ignores errors either way, and answering it lets CLIENT LIST show
// which library a connection uses.
func cmdClientSetInfo(c *Client, args [][]byte) {
	attr := strings.ToLower(string(args[2]))
	if attr != "lib-name" && attr != "lib-ver" {
		c.replyError("ERR Unrecognized option '" + string(args[2]) + "'")
		return
	}
	for _, ch := range args[3] {
		if ch < '!' || ch > '~' {
			c.replyError("ERR " + attr + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	if attr == "lib-name" {
		c.libName = string(args[3])
	} else {
		c.libVer = string(args[3])
	}
	c.w.OK()
}

// infoLine renders one CLIENT LIST/INFO line in Redis 7.0's field order.
func (c *Client) infoLine(now int64) string {
	s := c.srv
	flags := ""
	if c.isMonitor {
		flags += "O"
	}
	if c.closeAfter {
		flags += "c"
	}
	if c.noEvict {
		flags += "e"
	}
	if flags == "" {
		flags = "N"
	}
	var b strings.Builder
	b.Grow(256)
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte(' ')
	}
	i := strconv.FormatInt
	add("id", i(c.id, 10))
	add("addr", c.addr)
	add("laddr", c.laddr)
	add("fd", i(c.id+7, 10))
	add("name", c.name)
	add("age", i((now-c.created.UnixMilli())/1000, 10))
	add("idle", i((now-c.lastInteraction.Load())/1000, 10))
	add("flags", flags)
	add("db", strconv.Itoa(c.db))
	add("sub", "0")
	add("psub", "0")
	add("ssub", "0")
	add("multi", "-1")
	add("qbuf", strconv.Itoa(c.qbuf))
	add("qbuf-free", "0")
	add("argv-mem", strconv.Itoa(c.argvMem))
	add("multi-mem", "0")
	add("rbs", "16384")
	add("rbp", "0")
	add("obl", "0")
	add("oll", "0")
	add("omem", "0")
	add("tot-mem", strconv.Itoa(16384+c.w.Len()))
	add("events", "r")
	cmd := c.lastCmd
	if cmd == "" {
		cmd = "NULL"
	}
	add("cmd", cmd)
	add("user", c.user)
	add("redir", "-1")
	add("resp", strconv.Itoa(c.w.Proto))
	add("lib-name", c.libName)
	b.WriteString("lib-ver=")
	b.WriteString(c.libVer)
	_ = s
	return b.String()
}

func cmdClientInfo(c *Client, args [][]byte) {
	c.w.Verbatim(c.infoLine(c.srv.clock().UnixMilli()) + "\n")
}

func cmdClientList(c *Client, args [][]byte) {
	s := c.srv
	var ids map[int64]bool
	typ := ""
	for j := 2; j < len(args); j++ {
		opt := strings.ToLower(string(args[j]))
		switch {
		case opt == "type" && j+1 < len(args):
			typ = strings.ToLower(string(args[j+1]))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.replyError("ERR Unknown client type '" + string(args[j+1]) + "'")
				return
			}
			j++
		case opt == "id" && j+1 < len(args):
			ids = map[int64]bool{}
			for j++; j < len(args); j++ {
				id, ok := parseInt64(args[j])
				if !ok || id <= 0 {
					c.replyError("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.replyError(errSyntax)
			return
		}
	}
	now := s.clock().UnixMilli()
	var b strings.Builder
	for _, id := range s.sortedClientIDs() {
		cl := s.clients[id]
		if ids != nil && !ids[id] {
			continue
		}
		if typ != "" && typ != "normal" {
			continue
		}
		b.WriteString(cl.infoLine(now))
		b.WriteByte('\n')
	}
	c.w.Verbatim(b.String())
}

func (s *Server) sortedClientIDs() []int64 {
	ids := make([]int64, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

func cmdClientKill(c *Client, args [][]byte) {
	s := c.srv
	if len(args) == 3 {
		// Old form: CLIENT KILL addr:port.
		for _, cl := range s.clients {
			if cl.addr == string(args[2]) {
				cl.kill()
				c.w.OK()
				return
			}
		}
		c.replyError(errNoSuchClient)
		return
	}
	var id int64
	var addr, laddr, user, typ string
	skipMe := true
	for j := 2; j < len(args); j += 2 {
		if j+1 >= len(args) {
			c.replyError(errSyntax)
			return
		}
		val := string(args[j+1])
		switch strings.ToLower(string(args[j])) {
		case "id":
			n, ok := parseInt64(args[j+1])
			if !ok || n <= 0 {
				c.replyError("ERR client-id should be greater than 0")
				return
			}
			id = n
		case "type":
			typ = strings.ToLower(val)
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.replyError("ERR Unknown client type '" + val + "'")
				return
			}
		case "addr":
			addr = val
		case "laddr":
			laddr = val
		case "user":
			user = val
			if s.acl.User(user) == nil {
				c.replyError("ERR No such user '" + val + "'")
				return
			}
		case "skipme":
			switch strings.ToLower(val) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.replyError(errSyntax)
				return
			}
		default:
			c.replyError(errSyntax)
			return
		}
	}
	killed := 0
	for _, cl := range s.clients {
		switch {
		case id != 0 && cl.id != id,
			addr != "" && cl.addr != addr,
			laddr != "" && cl.laddr != laddr,
			user != "" && cl.user != user,
			typ != "" && typ != "normal",
			cl == c && skipMe:
			continue
		}
		if cl == c {
			c.closeAfter = true
		} else {
			cl.kill()
		}
		killed++
	}
	c.w.Int(int64(killed))
}

// kill closes another client's connection; its goroutine then exits.
func (c *Client) kill() { c.conn.Close() }

func cmdClientNoEvict(c *Client, args [][]byte) {
	switch strings.ToLower(string(args[2])) {
	case "on":
		c.noEvict = true
	case "off":
		c.noEvict = false
	default:
		c.replyError(errSyntax)
		return
	}
	c.w.OK()
}

func cmdClientHelp(c *Client, args [][]byte) {
	c.help("CLIENT", []string{
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"    * ID <client-id>",
		"      Kill connections by client id.",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"NO-EVICT (ON|OFF)",
		"    Protect current client connection from eviction.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>",
		"    Set client meta attr. Options are:",
		"    * LIB-NAME: the client lib name.",
		"    * LIB-VER: the client lib version.",
	})
}
