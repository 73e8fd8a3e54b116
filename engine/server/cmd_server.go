package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func serverCommands() []*command {
	return []*command{
		{name: "dbsize", arity: 1, flags: flagReadonly | flagFast, group: "server", run: cmdDBSize},
		{name: "flushdb", arity: -1, flags: flagWrite, group: "server", run: cmdFlushDB},
		{name: "flushall", arity: -1, flags: flagWrite, group: "server", run: cmdFlushAll},
		{name: "swapdb", arity: 3, flags: flagWrite | flagFast, group: "server", run: cmdSwapDB},
		{name: "time", arity: 1, flags: flagLoading | flagStale | flagFast, group: "server", run: cmdTime},
		{name: "info", arity: -1, flags: flagLoading | flagStale, group: "server", run: cmdInfo},
		{name: "monitor", arity: 1, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdMonitor},
		{name: "shutdown", arity: -1, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdShutdown},
		{name: "debug", arity: -2, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdDebug},
		{name: "config", arity: -2, group: "server", subs: map[string]*command{
			"get":       {name: "config|get", arity: -3, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdConfigGet},
			"set":       {name: "config|set", arity: -4, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdConfigSet},
			"resetstat": {name: "config|resetstat", arity: 2, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdConfigResetStat},
			"rewrite":   {name: "config|rewrite", arity: 2, flags: flagAdmin | flagNoScript | flagLoading | flagStale, group: "server", run: cmdConfigRewrite},
			"help":      {name: "config|help", arity: 2, flags: flagLoading | flagStale, group: "server", run: cmdConfigHelp},
		}},
		{name: "command", arity: -1, flags: flagLoading | flagStale, group: "server", run: cmdCommand, subs: map[string]*command{
			"count": {name: "command|count", arity: 2, flags: flagLoading | flagStale, group: "server", run: cmdCommand},
			"list":  {name: "command|list", arity: -2, flags: flagLoading | flagStale, group: "server", run: cmdCommand},
			"info":  {name: "command|info", arity: -2, flags: flagLoading | flagStale, group: "server", run: cmdCommand},
			"docs":  {name: "command|docs", arity: -2, flags: flagLoading | flagStale, group: "server", run: cmdCommand},
			"help":  {name: "command|help", arity: 2, flags: flagLoading | flagStale, group: "server", run: cmdCommand},
		}},
	}
}

func cmdDBSize(c *Client, args [][]byte) { c.w.Int(int64(c.curDB().Len())) }

// flushFlags parses the optional ASYNC|SYNC argument.
func (c *Client) flushFlags(args [][]byte) bool {
	if len(args) > 2 {
		c.replyError(errSyntax)
		return false
	}
	if len(args) == 2 {
		switch strings.ToLower(string(args[1])) {
		case "async", "sync":
		default:
			c.replyError(errSyntax)
			return false
		}
	}
	return true
}

func cmdFlushDB(c *Client, args [][]byte) {
	if !c.flushFlags(args) {
		return
	}
	db := c.curDB()
	c.srv.dirty += int64(db.Len())
	c.srv.dbFlushed(c.db)
	db.Flush()
	c.w.OK()
}

func cmdFlushAll(c *Client, args [][]byte) {
	if !c.flushFlags(args) {
		return
	}
	for _, db := range c.srv.dbs {
		c.srv.dirty += int64(db.Len())
		c.srv.dbFlushed(db.ID)
		db.Flush()
	}
	c.srv.dirty++
	c.w.OK()
}

func cmdSwapDB(c *Client, args [][]byte) {
	s := c.srv
	a, ok1 := parseInt64(args[1])
	if !ok1 || a < -(1<<31) || a > 1<<31-1 {
		c.replyError("ERR invalid first DB index")
		return
	}
	b, ok2 := parseInt64(args[2])
	if !ok2 || b < -(1<<31) || b > 1<<31-1 {
		c.replyError("ERR invalid second DB index")
		return
	}
	if a < 0 || a >= int64(len(s.dbs)) || b < 0 || b >= int64(len(s.dbs)) {
		c.replyError(errDBIndex)
		return
	}
	if a != b {
		s.dbFlushed(int(a), int(b))
		s.dbs[a].Swap(s.dbs[b])
		s.dbs[a].ID, s.dbs[b].ID = int(a), int(b)
		s.dirty++
	}
	c.w.OK()
}

func cmdTime(c *Client, args [][]byte) {
	now := c.srv.clock()
	c.w.Array(2)
	c.w.BulkInt(now.Unix())
	c.w.BulkInt(int64(now.Nanosecond() / 1000))
}

func cmdMonitor(c *Client, args [][]byte) {
	if c.isMonitor {
		c.w.OK()
		return
	}
	c.isMonitor = true
	c.srv.monitors[c] = struct{}{}
	c.startAsyncWriter()
	c.w.OK()
}

// feedMonitors sends a command to MONITOR clients in Redis's format:
// +<unix.micro> [<db> <addr>] "arg" "arg"...
func (s *Server) feedMonitors(c *Client, args [][]byte) {
	now := s.clock()
	b := make([]byte, 0, 64)
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	b = fmt.Appendf(b, "%06d", now.Nanosecond()/1000)
	b = append(b, " ["...)
	b = strconv.AppendInt(b, int64(c.db), 10)
	b = append(b, ' ')
	b = append(b, c.addr...)
	b = append(b, ']')
	for _, a := range args {
		b = append(b, ' ')
		b = appendRepr(b, a)
	}
	b = append(b, '\r', '\n')
	for m := range s.monitors {
		m.pushAsync(b)
	}
}

// appendRepr quotes like sdscatrepr.
func appendRepr(b, s []byte) []byte {
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch < 0x7f {
				b = append(b, ch)
			} else {
				b = fmt.Appendf(b, "\\x%02x", ch)
			}
		}
	}
	return append(b, '"')
}

func cmdShutdown(c *Client, args [][]byte) {
	var req shutdownRequest
	for _, a := range args[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			req.nosave = true
		case "save":
			req.save = true
		case "now", "force", "abort":
		default:
			c.replyError(errSyntax)
			return
		}
	}
	if req.save && req.nosave {
		c.replyError(errSyntax)
		return
	}
	c.srv.log.Info("User requested shutdown...")
	// Like Redis, a successful SHUTDOWN sends no reply: the connection is
	// closed when the server exits.
	c.srv.shutdown(req)
}

func (s *Server) debugAllowed(c *Client) bool {
	switch s.set.EnableDebugCommand {
	case "yes":
		return true
	case "local":
		return isLoopback(c.conn.RemoteAddr())
	}
	return false
}

func cmdDebug(c *Client, args [][]byte) {
	s := c.srv
	if !s.debugAllowed(c) {
		c.replyError(errDebugDisabled)
		return
	}
	switch sub := strings.ToLower(string(args[1])); {
	case sub == "sleep" && len(args) == 3:
		// Redis parses with atof: anything unparsable sleeps 0 seconds.
		f, _ := parseFloat64(args[2])
		// Like Redis, the whole server sleeps: the lock is held.
		time.Sleep(time.Duration(f * float64(time.Second)))
		c.w.OK()
	case sub == "set-active-expire" && len(args) == 3:
		n, ok := parseInt64(args[2])
		if !ok {
			c.replyError(errNotInt)
			return
		}
		s.activeExpireOff = n == 0
		c.w.OK()
	case sub == "object" && len(args) == 3:
		v := c.curDB().LookupNoTouch(&s.ctx, args[2])
		if v == nil {
			c.replyError(errNoSuchKey)
			return
		}
		c.w.Simple(fmt.Sprintf("Value at:0x0 refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d", v.Encoding(), len(v.Str), v.LRU(), 0))
	default:
		c.replyError("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try DEBUG HELP.")
	}
}

func cmdConfigGet(c *Client, args [][]byte) {
	pats := make([]string, 0, len(args)-2)
	for _, a := range args[2:] {
		pats = append(pats, string(a))
	}
	kvs := c.srv.cfg.Get(pats...)
	c.w.Map(len(kvs))
	for _, kv := range kvs {
		c.w.BulkString(kv[0])
		c.w.BulkString(kv[1])
	}
}

func cmdConfigSet(c *Client, args [][]byte) {
	s := c.srv
	pairs := make([]string, 0, len(args)-2)
	for _, a := range args[2:] {
		pairs = append(pairs, string(a))
	}
	if len(pairs)%2 != 0 {
		c.replyError(errWrongArgs("config|set"))
		return
	}
	wasAOF := s.set.Persist.AppendOnly
	changed, err := s.cfg.Set(pairs)
	if err != nil {
		s.dropStagedListeners()
		c.replyError(err.Error())
		return
	}
	s.applySettings(s.cfg.Settings())
	s.commitListeners()
	if name := tlsReloadTrigger(pairs, changed); name != "" && s.set.TLS.Port > 0 {
		if err := s.ReloadTLS(); err != nil {
			c.replyError("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + err.Error())
			return
		}
	}
	if on := s.set.Persist.AppendOnly; on != wasAOF {
		if on {
			if err := s.startAOFRewrite(); err != nil {
				s.log.Warn("can't turn on the AOF", "err", err)
			}
		} else if err := s.stopAOF(); err != nil {
			s.log.Warn("error closing the AOF", "err", err)
		}
	}
	c.w.OK()
}

func cmdConfigResetStat(c *Client, args [][]byte) {
	s := c.srv
	s.stats.connectionsReceived = 0
	s.stats.commandsProcessed = 0
	s.stats.rejectedConns = 0
	s.stats.expiredKeys = 0
	s.stats.keyspaceHits = 0
	s.stats.keyspaceMisses = 0
	s.stats.errorReplies = 0
	s.stats.errorCodes = map[string]int64{}
	s.stats.cmdStats = map[string]*cmdStat{}
	s.lastStat, s.lastStatName = nil, ""
	s.stats.netInput.Store(0)
	s.stats.netOutput.Store(0)
	c.w.OK()
}

func cmdConfigRewrite(c *Client, args [][]byte) {
	if c.srv.set.ConfigFile == "" {
		c.replyError("ERR The server is running without a config file")
		return
	}
	var rt RuntimeState
	if l := c.srv.repl.link; l != nil {
		rt = RuntimeState{ReplicaOfHost: l.host, ReplicaOfPort: l.port}
	}
	if err := c.srv.cfg.Rewrite(rt); err != nil {
		c.srv.log.Warn("CONFIG REWRITE failed", "err", err)
		c.replyError("ERR Rewriting config file: " + err.Error())
		return
	}
	c.w.OK()
}

func cmdConfigHelp(c *Client, args [][]byte) {
	c.help("CONFIG", []string{
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	})
}

// cmdCommand implements COMMAND, COMMAND COUNT, COMMAND INFO, COMMAND DOCS
// and COMMAND LIST with the metadata of our command table.
func cmdCommand(c *Client, args [][]byte) {
	t := c.srv.cmds
	if len(args) == 1 {
		names := t.sortedNames()
		c.w.Array(len(names))
		for _, n := range names {
			c.commandInfo(t[n])
		}
		return
	}
	switch sub := strings.ToLower(string(args[1])); sub {
	case "count":
		c.w.Int(int64(len(t)))
	case "list":
		names := t.sortedNames()
		c.w.Array(len(names))
		for _, n := range names {
			c.w.BulkString(n)
		}
	case "info":
		var names []string
		if len(args) == 2 {
			names = t.sortedNames()
		} else {
			for _, a := range args[2:] {
				names = append(names, string(a))
			}
		}
		c.w.Array(len(names))
		for _, n := range names {
			if cmd := t.lookup([]byte(n)); cmd != nil {
				c.commandInfo(cmd)
			} else {
				c.w.NullArray()
			}
		}
	case "docs":
		var names []string
		if len(args) == 2 {
			names = t.sortedNames()
		} else {
			for _, a := range args[2:] {
				if t.lookup(a) != nil {
					names = append(names, strings.ToLower(string(a)))
				}
			}
		}
		c.w.Map(len(names))
		for _, n := range names {
			cmd := t[n]
			c.w.BulkString(n)
			c.w.Map(3)
			c.w.BulkString("summary")
			c.w.BulkString(cmd.summary)
			c.w.BulkString("since")
			c.w.BulkString(cmd.since)
			c.w.BulkString("group")
			c.w.BulkString(cmd.group)
		}
	case "help":
		c.help("COMMAND", []string{
			"(no subcommand)",
			"    Return details about all Redis commands.",
			"COUNT",
			"    Return the total number of commands in this Redis server.",
			"LIST",
			"    Return a list of all commands in this Redis server.",
			"INFO [<command-name> ...]",
			"    Return details about multiple Redis commands.",
			"DOCS [<command-name> ...]",
			"    Return documentation details about multiple Redis commands.",
		})
	default:
		c.replyError(errUnknownSubcommand(string(args[1]), "COMMAND"))
	}
}

// commandInfo writes one COMMAND INFO entry (Redis 7 layout).
func (c *Client) commandInfo(cmd *command) {
	c.w.Array(10)
	c.w.BulkString(cmd.name)
	c.w.Int(int64(cmd.arity))
	var flags []string
	for _, f := range flagNames {
		if cmd.flags&f.f != 0 {
			flags = append(flags, f.name)
		}
	}
	c.w.Set(len(flags))
	for _, f := range flags {
		c.w.Simple(f)
	}
	c.w.Int(int64(cmd.firstKey))
	c.w.Int(int64(cmd.lastKey))
	c.w.Int(int64(cmd.keyStep))
	c.w.Set(1)
	c.w.Simple("@" + cmd.group)
	c.w.Set(0) // tips
	c.w.Array(0)
	subNames := make([]string, 0, len(cmd.subs))
	for n := range cmd.subs {
		subNames = append(subNames, n)
	}
	sortStrings(subNames)
	c.w.Array(len(subNames))
	for _, n := range subNames {
		c.commandInfo(cmd.subs[n])
	}
}

// volatileTLSFiles are the directives Redis marks VOLATILE_CONFIG: they
// name files whose content may have changed, so CONFIG SET reloads them
// even when the value is the same (certificate rotation in place).
var volatileTLSFiles = map[string]bool{
	"tls-cert-file": true, "tls-key-file": true, "tls-ca-cert-file": true, "tls-ca-cert-dir": true,
	"tls-client-cert-file": true, "tls-client-key-file": true, "tls-dh-params-file": true,
}

// tlsReloadTrigger names the directive of a CONFIG SET that requires a TLS
// reload: a changed tls-* directive, or any volatile TLS file directive
// (pairs are the command's name/value arguments). "" means none.
func tlsReloadTrigger(pairs, changed []string) string {
	for _, name := range changed {
		// tls-port only loads the files when none are loaded (applyChange),
		// as Redis's applyTLSPort does.
		if strings.HasPrefix(name, "tls-") && name != "tls-port" {
			return name
		}
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if name := strings.ToLower(pairs[i]); volatileTLSFiles[name] {
			return name
		}
	}
	return ""
}
