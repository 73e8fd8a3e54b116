package server

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (multi.c).

type dbKey struct {
	db  int
	key string
}

type watchedKey struct {
	dbKey
	// expired records that the key was already logically expired when
	// WATCHed, so that its later deletion does not abort EXEC.
	expired bool
}

func multiCommands() []*command {
	f := flagNoScript | flagLoading | flagStale | flagFast
	return []*command{
		{name: "multi", arity: 1, flags: f, group: "transactions", run: cmdMulti},
		{name: "exec", arity: 1, flags: flagNoScript | flagLoading | flagStale | flagSkipMon, group: "transactions", run: cmdExec},
		{name: "discard", arity: 1, flags: f, group: "transactions", run: cmdDiscard},
		{name: "watch", arity: -2, flags: f, firstKey: 1, lastKey: -1, keyStep: 1, group: "transactions", run: cmdWatch},
		{name: "unwatch", arity: 1, flags: f, group: "transactions", run: cmdUnwatch},
	}
}

// queuesInMulti reports whether a command is queued inside MULTI rather
// than executed.
func queuesInMulti(name string) bool {
	switch name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return false
	}
	return true
}

// queue stores a copy of a command for EXEC.
func (c *Client) queue(args [][]byte) {
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = append([]byte(nil), a...)
	}
	c.multiQueue = append(c.multiQueue, cp)
	c.w.Simple("QUEUED")
}

func cmdMulti(c *Client, args [][]byte) {
	if c.inMulti {
		c.replyError("ERR MULTI calls can not be nested")
		return
	}
	c.inMulti = true
	c.w.OK()
}

// discardMulti leaves MULTI state and unwatches everything.
func (c *Client) discardMulti() {
	c.inMulti = false
	c.multiErr = false
	c.multiQueue = nil
	c.unwatchAll()
}

func cmdDiscard(c *Client, args [][]byte) {
	if !c.inMulti {
		c.replyError("ERR DISCARD without MULTI")
		return
	}
	c.discardMulti()
	c.w.OK()
}

func cmdExec(c *Client, args [][]byte) {
	if !c.inMulti {
		c.replyError("ERR EXEC without MULTI")
		return
	}
	if c.multiErr {
		c.discardMulti()
		c.replyError("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	if c.dirtyCAS || c.watchedKeyExpired() {
		c.discardMulti()
		c.w.NullArray()
		return
	}
	queue := c.multiQueue
	c.discardMulti()
	c.w.Array(len(queue))
	c.inExec = true
	c.srv.beginExecPropagation()
	for _, q := range queue {
		c.exec(q)
	}
	c.srv.endExecPropagation()
	c.inExec = false
}

func cmdWatch(c *Client, args [][]byte) {
	if c.inMulti {
		c.replyError("ERR WATCH inside MULTI is not allowed")
		return
	}
	s := c.srv
	db := c.curDB()
outer:
	for _, a := range args[1:] {
		k := dbKey{c.db, string(a)}
		for _, w := range c.watched {
			if w.dbKey == k {
				continue outer
			}
		}
		expired := false
		if exp, ok := db.Expire(a); ok && exp <= s.ctx.Now {
			expired = true
		}
		c.watched = append(c.watched, watchedKey{k, expired})
		s.watchers[k] = append(s.watchers[k], c)
	}
	c.w.OK()
}

func cmdUnwatch(c *Client, args [][]byte) {
	c.unwatchAll()
	c.dirtyCAS = false
	c.w.OK()
}

func (c *Client) unwatchAll() {
	s := c.srv
	for _, w := range c.watched {
		list := s.watchers[w.dbKey]
		for i, cl := range list {
			if cl == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.watchers, w.dbKey)
		} else {
			s.watchers[w.dbKey] = list
		}
	}
	c.watched = nil
	c.dirtyCAS = false
}

// watchedKeyExpired is isWatchedKeyExpired: a watched key that has expired
// since WATCH aborts the transaction.
func (c *Client) watchedKeyExpired() bool {
	s := c.srv
	for _, w := range c.watched {
		if w.expired {
			continue
		}
		db := s.dbs[w.db]
		if exp, ok := db.Expire([]byte(w.key)); ok && exp <= s.ctx.Now {
			return true
		}
	}
	return false
}

// keyModified invalidates WATCHes on key (signalModifiedKey).
func (s *Server) keyModified(db int, key []byte) {
	if len(s.watchers) == 0 {
		return
	}
	for _, cl := range s.watchers[dbKey{db, string(key)}] {
		cl.dirtyCAS = true
	}
}

// dbFlushed invalidates WATCHes on keys that existed in a database being
// emptied or swapped (touchAllWatchedKeysInDb).
func (s *Server) dbFlushed(ids ...int) {
	if len(s.watchers) == 0 {
		return
	}
	for k, list := range s.watchers {
		for _, id := range ids {
			if k.db != id {
				continue
			}
			touched := false
			for _, other := range ids {
				if s.dbs[other].Exists(&s.ctx, []byte(k.key)) {
					touched = true
				}
			}
			if touched {
				for _, cl := range list {
					cl.dirtyCAS = true
				}
			}
		}
	}
}
