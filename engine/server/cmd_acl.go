package server

import (
	"errors"
	"strings"

	"github.com/hactl/hactl/engine/acl"
)

// ACL: the ACL command, the catalog the acl package sees, and the
// permission check exec runs before every command.

func aclCommands() []*command {
	sub := func(name string, arity int, flags cmdFlags, run handler) *command {
		return &command{name: "acl|" + name, arity: arity, flags: flags | flagNoScript | flagLoading | flagStale, group: "server", run: run}
	}
	adm := flagAdmin
	return []*command{
		{name: "acl", arity: -2, group: "server", subs: map[string]*command{
			"cat":     sub("cat", -2, 0, cmdACLCat),
			"deluser": sub("deluser", -3, adm, cmdACLDelUser),
			"dryrun":  sub("dryrun", -4, adm, cmdACLDryRun),
			"genpass": sub("genpass", -2, 0, cmdACLGenPass),
			"getuser": sub("getuser", 3, adm, cmdACLGetUser),
			"help":    sub("help", 2, 0, cmdACLHelp),
			"list":    sub("list", 2, adm, cmdACLList),
			"load":    sub("load", 2, adm, cmdACLLoad),
			"log":     sub("log", -2, adm, cmdACLLog),
			"save":    sub("save", 2, adm, cmdACLSave),
			"setuser": sub("setuser", -3, adm, cmdACLSetUser),
			"users":   sub("users", 2, adm, cmdACLUsers),
			"whoami":  sub("whoami", 2, 0, cmdACLWhoAmI),
		}},
	}
}

// aclCatalog describes the command table for the acl package: categories
// from the flags like Redis's setImplicitACLCategories plus the explicit
// categories of Redis's command JSON files (aclExtraCategories).
func aclCatalog(t commandTable) (*acl.Catalog, map[*command]*acl.Command) {
	m := map[*command]*acl.Command{}
	conv := func(c *command) *acl.Command {
		ac := &acl.Command{
			Name: c.name, FirstKey: c.firstKey, LastKey: c.lastKey, KeyStep: c.keyStep,
			Categories: implicitCategories(c), NoAuth: c.flags&flagNoAuth != 0,
			KeySpecs: acl.KeySpecs[c.name],
		}
		switch c.name {
		case "publish":
			ac.Channels = acl.ChanFirst
		case "subscribe":
			ac.Channels = acl.ChanAll
		case "psubscribe":
			ac.Channels = acl.ChanPatterns
		}
		m[c] = ac
		return ac
	}
	var top []*acl.Command
	for name, cats := range acl.CatalogOnly {
		// Redis commands hactl-engine does not implement yet: rules may
		// still name them (a replica user's +psync +replconf).
		if t[name] == nil {
			top = append(top, &acl.Command{Name: name, Categories: cats})
		}
	}
	for name, subs := range acl.CatalogOnlySubs {
		if t[name] != nil {
			continue
		}
		parent := &acl.Command{Name: name, Categories: acl.CatSlow}
		for sub, cats := range subs {
			parent.Subs = append(parent.Subs, &acl.Command{Name: name + "|" + sub, Categories: cats})
		}
		top = append(top, parent)
	}
	for _, name := range t.sortedNames() {
		c := t[name]
		ac := conv(c)
		for _, sc := range c.subs {
			ac.Subs = append(ac.Subs, conv(sc))
		}
		top = append(top, ac)
	}
	return acl.NewCatalog(top), m
}

func implicitCategories(c *command) acl.Category {
	cat := acl.ExtraCategories[c.name]
	if c.flags&flagWrite != 0 {
		cat |= acl.CatWrite
	}
	if c.flags&flagReadonly != 0 && cat&acl.CatScripting == 0 {
		cat |= acl.CatRead
	}
	if c.flags&flagAdmin != 0 {
		cat |= acl.CatAdmin | acl.CatDangerous
	}
	if c.flags&flagFast != 0 {
		cat |= acl.CatFast
	}
	if cat&acl.CatFast == 0 {
		cat |= acl.CatSlow
	}
	return cat
}

// aclCheck is processCommand's ACLCheckAllPerm: it replies NOPERM, logs
// the denial and returns false when the client's user may not run cmd.
func (c *Client) aclCheck(cmd *command, args [][]byte) bool {
	s := c.srv
	u := s.acl.User(c.user)
	if u != nil && u.Unrestricted() {
		return true
	}
	ac := s.aclCmds[cmd]
	if ac == nil {
		return true
	}
	var reason acl.Reason
	pos := 0
	if u == nil {
		reason = acl.DeniedCmd
	} else if reason, pos = u.Check(ac, args); reason == acl.OK {
		return true
	}
	obj := cmd.name
	if reason == acl.DeniedKey || reason == acl.DeniedChannel {
		obj = string(args[pos])
	}
	c.aclLog(reason, obj)
	c.flagTransaction()
	if cmd.name == "exec" {
		// rejectCommand answers EXECABORT when EXEC is refused.
		if c.inMulti {
			c.discardMulti()
		}
		c.replyError("EXECABORT Transaction discarded because of: " + acl.NoPerm(reason, ac))
		c.rejected(cmd)
		return false
	}
	c.replyError(acl.NoPerm(reason, ac))
	c.rejected(cmd)
	return false
}

func (c *Client) aclLog(reason acl.Reason, obj string) {
	ctx := "toplevel"
	if c.inMulti || c.inExec {
		ctx = "multi"
	}
	c.srv.acl.AddLog(acl.LogEntry{
		Reason: reason, Context: ctx, Object: obj, Username: c.user,
		ClientInfo: c.infoLine(c.srv.clock().UnixMilli()),
	})
}

// authenticate is AUTH / HELLO AUTH: on failure it logs (reason auth,
// object the command name as sent, never the password) and replies
// WRONGPASS.
func (c *Client) authenticate(cmdName, user, pass []byte) bool {
	s := c.srv
	u, ok := s.acl.Authenticate(user, pass)
	if !ok {
		ctx := "toplevel"
		if c.inMulti {
			ctx = "multi"
		}
		s.acl.AddLog(acl.LogEntry{
			Reason: acl.DeniedAuth, Context: ctx, Object: string(cmdName), Username: string(user),
			ClientInfo: c.infoLine(s.clock().UnixMilli()),
		})
		s.log.Warn("authentication failed", "client", c.addr, "user", string(user))
		c.replyError(errWrongPass)
		return false
	}
	c.authenticated = true
	c.user = u.Name
	return true
}

// defaultAuthenticated reports whether new connections start
// authenticated: the default user is on and nopass.
func (s *Server) defaultAuthenticated() bool {
	d := s.acl.Default()
	return d.Enabled() && d.NoPass()
}

// killUsersClients disconnects the clients authenticated as the removed
// users (ACLFreeUserAndKillClients); the current client is closed after
// its reply.
func (s *Server) killUsersClients(cur *Client, gone []*acl.User) {
	if len(gone) == 0 {
		return
	}
	names := map[string]bool{}
	for _, u := range gone {
		names[u.Name] = true
	}
	for _, cl := range s.clients {
		if !names[cl.user] {
			continue
		}
		cl.user = "default"
		cl.authenticated = false
		if cl == cur {
			cl.closeAfter = true
		} else {
			cl.kill()
		}
	}
}

func cmdACLSetUser(c *Client, args [][]byte) {
	ops := make([]string, len(args)-3)
	for i, a := range args[3:] {
		ops[i] = string(a)
	}
	if err := c.srv.acl.SetUser(string(args[2]), ops); err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.w.OK()
}

func cmdACLGetUser(c *Client, args [][]byte) {
	s := c.srv
	u := s.acl.User(string(args[2]))
	if u == nil {
		c.w.Null()
		return
	}
	cat := s.acl.Catalog()
	c.w.Map(6)
	c.w.BulkString("flags")
	flags := u.Flags()
	c.w.Array(len(flags))
	for _, f := range flags {
		c.w.BulkString(f)
	}
	c.w.BulkString("passwords")
	pw := u.PasswordHashes()
	c.w.Array(len(pw))
	for _, p := range pw {
		c.w.BulkString(p)
	}
	c.w.BulkString("commands")
	c.w.BulkString(u.CommandRules(cat))
	c.w.BulkString("keys")
	c.w.BulkString(u.KeysString())
	c.w.BulkString("channels")
	c.w.BulkString(u.ChannelsString())
	c.w.BulkString("selectors")
	c.w.Array(0)
}

func cmdACLDelUser(c *Client, args [][]byte) {
	s := c.srv
	var gone []*acl.User
	for _, a := range args[2:] {
		u, err := s.acl.DelUser(string(a))
		if err != nil {
			c.replyError("ERR " + err.Error())
			return
		}
		if u != nil {
			gone = append(gone, u)
		}
	}
	s.killUsersClients(c, gone)
	c.w.Int(int64(len(gone)))
}

func cmdACLList(c *Client, args [][]byte) {
	lines := c.srv.acl.ListLines()
	c.w.Array(len(lines))
	for _, l := range lines {
		c.w.BulkString(l)
	}
}

func cmdACLUsers(c *Client, args [][]byte) {
	names := c.srv.acl.Names()
	c.w.Array(len(names))
	for _, n := range names {
		c.w.BulkString(n)
	}
}

func cmdACLWhoAmI(c *Client, args [][]byte) { c.w.BulkString(c.user) }

func cmdACLCat(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.replyError("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try " + strings.ToUpper(string(args[0])) + " HELP.")
		return
	}
	if len(args) == 2 {
		c.w.Array(len(acl.CategoryNames))
		for _, n := range acl.CategoryNames {
			c.w.BulkString(n)
		}
		return
	}
	cat := acl.ParseCategory(string(args[2]))
	if cat == 0 {
		c.replyError("ERR Unknown category '" + string(args[2]) + "'")
		return
	}
	names := c.srv.acl.Catalog().InCategory(cat)
	c.w.Array(len(names))
	for _, n := range names {
		c.w.BulkString(n)
	}
}

func cmdACLGenPass(c *Client, args [][]byte) {
	bits := int64(256)
	if len(args) > 3 {
		c.replyError("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try " + strings.ToUpper(string(args[0])) + " HELP.")
		return
	}
	if len(args) == 3 {
		n, ok := parseInt64(args[2])
		if !ok {
			c.replyError(errNotInt)
			return
		}
		bits = n
	}
	if bits <= 0 || bits > acl.MaxGenPassBits {
		c.replyError("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
		return
	}
	p, err := acl.GenPass(int(bits))
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.w.BulkString(p)
}

func cmdACLLog(c *Client, args [][]byte) {
	s := c.srv
	count := -1
	if len(args) > 3 {
		c.replyError("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try " + strings.ToUpper(string(args[0])) + " HELP.")
		return
	}
	if len(args) == 3 {
		if strings.EqualFold(string(args[2]), "reset") {
			s.acl.ResetLog()
			c.w.OK()
			return
		}
		n, ok := parseInt64(args[2])
		if !ok {
			c.replyError(errNotInt)
			return
		}
		if n < 0 {
			n = 0
		}
		count = int(min(n, 1<<30))
	} else {
		count = 10
	}
	entries := s.acl.Log(count)
	now := s.clock()
	c.w.Array(len(entries))
	for _, e := range entries {
		c.w.Map(7)
		c.w.BulkString("count")
		c.w.Int(int64(e.Count))
		c.w.BulkString("reason")
		c.w.BulkString(e.Reason.LogName())
		c.w.BulkString("context")
		c.w.BulkString(e.Context)
		c.w.BulkString("object")
		c.w.BulkString(e.Object)
		c.w.BulkString("username")
		c.w.BulkString(e.Username)
		c.w.BulkString("age-seconds")
		c.w.Double(float64(now.Sub(e.Time).Milliseconds()) / 1000)
		c.w.BulkString("client-info")
		c.w.BulkString(e.ClientInfo)
	}
}

func cmdACLDryRun(c *Client, args [][]byte) {
	s := c.srv
	u := s.acl.User(string(args[2]))
	if u == nil {
		c.replyError("ERR User '" + string(args[2]) + "' not found")
		return
	}
	cargs := args[3:]
	cmd := s.commands().lookup(cargs[0])
	if cmd != nil && cmd.subs != nil && len(cargs) > 1 {
		if sc := cmd.subs[strings.ToLower(string(cargs[1]))]; sc != nil {
			cmd = sc
		}
	}
	if cmd == nil {
		c.replyError("ERR Command '" + string(cargs[0]) + "' not found")
		return
	}
	if !arityOK(cmd.arity, len(cargs)) {
		c.replyError(errWrongArgs(cmd.name))
		return
	}
	ac := s.aclCmds[cmd]
	reason, pos := u.Check(ac, cargs)
	if reason == acl.OK {
		c.w.OK()
		return
	}
	c.w.BulkString(acl.DryRunMessage(reason, ac, string(cargs[pos])))
}

const errNoACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

func cmdACLLoad(c *Client, args [][]byte) {
	s := c.srv
	if s.set.ACLFile == "" {
		c.replyError(errNoACLFile)
		return
	}
	gone, err := s.acl.LoadFile(s.set.ACLFile)
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	s.killUsersClients(c, gone)
	c.w.OK()
}

func cmdACLSave(c *Client, args [][]byte) {
	s := c.srv
	if s.set.ACLFile == "" {
		c.replyError(errNoACLFile)
		return
	}
	if err := s.acl.SaveFile(s.set.ACLFile); err != nil {
		s.log.Warn("ACL SAVE failed", "err", err)
		c.replyError("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
		return
	}
	c.w.OK()
}

func cmdACLHelp(c *Client, args [][]byte) {
	lines := []string{
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Prints this help.",
	}
	c.w.Array(len(lines))
	for _, l := range lines {
		c.w.Simple(l)
	}
}

// initACL builds the catalog and the users at startup: requirepass maps
// to the default user, then the config file's user directives or the
// aclfile (both at once are refused like Redis does).
func (s *Server) initACL() error {
	cat, m := aclCatalog(s.cmds)
	s.aclCmds = m
	s.acl = acl.NewStore(cat, s.clock)
	s.acl.SetRequirePass(s.set.RequirePass)
	s.aclPass = s.set.RequirePass
	s.acl.LogMaxLen = s.set.aclLogMaxLen()
	switch {
	case len(s.set.Users) > 0 && s.set.ACLFile != "":
		return errors.New("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
	case len(s.set.Users) > 0:
		users, err := s.acl.ConfigUsers(s.set.Users)
		if err != nil {
			return err
		}
		s.acl.Install(users)
		if _, ok := users["default"]; !ok {
			s.acl.SetRequirePass(s.set.RequirePass)
		}
	case s.set.ACLFile != "":
		if _, err := s.acl.LoadFile(s.set.ACLFile); err != nil {
			return err
		}
	}
	return nil
}

// aclLogMaxLen is acllog-max-len (see Settings.ACLLogMaxLen).
func (set *Settings) aclLogMaxLen() int {
	switch {
	case set.ACLLogMaxLen == 0:
		return acl.DefaultLogMaxLen
	case set.ACLLogMaxLen < 0:
		return 0
	}
	return set.ACLLogMaxLen
}

// syncRequirePass applies a changed requirepass and acllog-max-len
// (CONFIG SET) to the ACL store.
func (s *Server) syncRequirePass() {
	if s.acl == nil {
		return
	}
	s.acl.LogMaxLen = s.set.aclLogMaxLen()
	if s.aclPass == s.set.RequirePass {
		return
	}
	s.aclPass = s.set.RequirePass
	s.acl.SetRequirePass(s.set.RequirePass)
}
