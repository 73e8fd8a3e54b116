package server

import (
	"sort"
	"strings"
	"time"
)

// cmdFlags are a command's properties (a subset of Redis's command flags).
type cmdFlags uint32

const (
	flagWrite cmdFlags = 1 << iota
	flagReadonly
	flagAdmin
	flagNoAuth    // allowed before authentication
	flagFast      // O(1) or O(log N)
	flagDenyOOM   // refused when over maxmemory
	flagSkipMon   // not shown to MONITOR
	flagLoading   // allowed while loading
	flagStale     // allowed on a replica with a broken link
	flagNoScript  // not allowed from scripts
	flagPubsubCtx // allowed in RESP2 subscribed context
)

var flagNames = []struct {
	f    cmdFlags
	name string
}{
	{flagWrite, "write"}, {flagReadonly, "readonly"}, {flagDenyOOM, "denyoom"},
	{flagAdmin, "admin"}, {flagPubsubCtx, "pubsub"}, {flagNoScript, "noscript"},
	{flagLoading, "loading"}, {flagStale, "stale"}, {flagSkipMon, "skip_monitor"},
	{flagFast, "fast"}, {flagNoAuth, "no_auth"},
}

// handler runs a command. args[0] is the command name as sent. It runs with
// the server lock held and writes its reply into c.w.
type handler func(c *Client, args [][]byte)

// command is one entry of the command table.
type command struct {
	name     string // lowercase
	arity    int    // >0 exact argc, <0 at least -arity
	flags    cmdFlags
	firstKey int
	lastKey  int
	keyStep  int
	group    string
	since    string
	summary  string
	run      handler
	subs     map[string]*command // subcommands (CONFIG GET, CLIENT ID...)
}

// commandTable maps lowercase names to commands.
type commandTable map[string]*command

func (t commandTable) add(cmds ...*command) {
	for _, c := range cmds {
		t[c.name] = c
	}
}

// lookup finds a command by name without allocating.
func (t commandTable) lookup(name []byte) *command {
	var buf [32]byte
	if len(name) > len(buf) {
		return t[strings.ToLower(string(name))]
	}
	for i, ch := range name {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return t[string(buf[:len(name)])]
}

// sortedNames returns the table's names in order (COMMAND, tests).
func (t commandTable) sortedNames() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// exec runs one command; s.mu is held.
func (c *Client) exec(args [][]byte) {
	s := c.srv
	cmd := s.commands().lookup(args[0])
	if cmd == nil {
		c.flagTransaction()
		c.replyError(errUnknownCommand(args))
		return
	}
	if !arityOK(cmd.arity, len(args)) {
		c.flagTransaction()
		c.replyError(errWrongArgs(cmd.name))
		c.rejected(cmd)
		return
	}
	if !c.authenticated && cmd.flags&flagNoAuth == 0 {
		c.flagTransaction()
		c.replyError(errNoAuth)
		c.rejected(cmd)
		return
	}
	if c.w.Proto == 2 && c.subscribed() && !allowedWhileSubscribed(cmd.name) {
		c.replyError("ERR Can't execute '" + fullName(cmd, args) + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		c.rejected(cmd)
		return
	}
	if cmd.subs != nil && (len(args) > 1 || cmd.run == nil) {
		// Resolve the subcommand so arity and names follow Redis
		// ("client|setname").
		sub := cmd.subs[strings.ToLower(string(args[1]))]
		if sub == nil {
			c.flagTransaction()
			c.replyError(errUnknownSubcommand(string(args[1]), strings.ToUpper(cmd.name)))
			c.rejected(cmd)
			return
		}
		if !arityOK(sub.arity, len(args)) {
			c.flagTransaction()
			c.replyError(errWrongArgs(sub.name))
			c.rejected(sub)
			return
		}
		cmd = sub
	}
	if !c.aclCheck(cmd, args) {
		return
	}
	if s.set.MaxMemory > 0 && c.denyOOM(cmd) {
		return
	}
	if s.pst.loading && cmd.flags&flagLoading == 0 && c.id >= 0 {
		c.flagTransaction()
		c.replyError("LOADING Redis is loading the dataset in memory")
		c.rejected(cmd)
		return
	}
	if s.isReplica() && c.id >= 0 {
		if s.set.Repl.ReplicaReadOnly && cmd.flags&flagWrite != 0 {
			c.flagTransaction()
			c.replyError(errReadOnly)
			c.rejected(cmd)
			return
		}
		if !s.set.Repl.ReplicaServeStaleData && !s.linkUp() && cmd.flags&flagStale == 0 {
			c.flagTransaction()
			c.replyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
			c.rejected(cmd)
			return
		}
	}
	if cmd.flags&flagWrite != 0 && c.id >= 0 && !s.isReplica() && s.set.Repl.MinReplicasToWrite > 0 &&
		s.set.Repl.MinReplicasMaxLag > 0 && s.goodReplicas() < s.set.Repl.MinReplicasToWrite {
		c.flagTransaction()
		c.replyError("NOREPLICAS Not enough good replicas to write.")
		c.rejected(cmd)
		return
	}
	if cmd.flags&flagWrite != 0 && c.id >= 0 {
		if msg := s.writesRefused(); msg != "" {
			c.flagTransaction()
			c.replyError(msg)
			c.rejected(cmd)
			return
		}
	}
	if !c.inMulti && !c.inExec && s.pause.active && s.pausedFor(c, cmd) {
		c.parkPaused(args)
		return
	}
	if c.inMulti && queuesInMulti(cmd.name) {
		c.queue(args)
		return
	}
	if len(s.monitors) > 0 && cmd.flags&flagSkipMon == 0 {
		s.feedMonitors(c, args)
	}
	c.lastCmd = cmd.name
	c.curCmd, c.curArgs = cmd, args
	errsBefore := s.stats.errorReplies
	dirtyBefore := s.dirty
	c.propRewritten = false
	start := time.Now()
	replyMark := len(c.w.B)
	offBefore := s.repl.offset
	cmd.run(c, args)
	if s.dirty != dirtyBefore && cmd.name != "exec" {
		if c.propRewritten {
			if len(c.propArgs) > 0 {
				s.propagate(c.db, c.propArgs...)
			}
		} else {
			s.propagate(c.db, args...)
		}
	}
	if s.repl.offset != offBefore || (s.dirty != dirtyBefore && s.repl.backlog == nil) {
		c.woff = s.repl.offset
		if s.set.Repl.SyncReplicas > 0 && c.id >= 0 && !c.inExec && !s.isReplica() && c.blk == nil {
			c.holdForSyncReplicas(replyMark)
		}
	}
	if len(s.ready) > 0 && !c.inExec {
		s.serveReady()
	}
	st := s.cmdStat(cmd.name)
	st.calls++
	st.usec += time.Since(start).Microseconds()
	if s.stats.errorReplies != errsBefore {
		st.failed++
	}
	s.stats.commandsProcessed++
}

func arityOK(arity, argc int) bool {
	return (arity > 0 && argc == arity) || (arity < 0 && argc >= -arity)
}

func (c *Client) rejected(cmd *command) { c.srv.cmdStat(cmd.name).rejected++ }

func (s *Server) cmdStat(name string) *cmdStat {
	if s.lastStat != nil && s.lastStatName == name {
		return s.lastStat
	}
	st := s.stats.cmdStats[name]
	if st == nil {
		st = &cmdStat{}
		s.stats.cmdStats[name] = st
	}
	s.lastStat, s.lastStatName = st, name
	return st
}

// allowedWhileSubscribed lists the commands a RESP2 client may send while
// subscribed (processCommand in server.c).
func allowedWhileSubscribed(name string) bool {
	switch name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset":
		return true
	}
	return false
}

// fullName is the command's name as Redis prints it in errors
// ("config|get" for subcommands).
func fullName(cmd *command, args [][]byte) string {
	if cmd.subs != nil && len(args) > 1 {
		if sub := cmd.subs[strings.ToLower(string(args[1]))]; sub != nil {
			return sub.name
		}
	}
	return cmd.name
}

// flagTransaction makes a pending EXEC fail after a command could not be
// queued.
func (c *Client) flagTransaction() {
	if c.inMulti {
		c.multiErr = true
	}
}
