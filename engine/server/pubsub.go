package server

import (
	"sort"
	"strconv"
	"strings"

	"github.com/hactl/hactl/engine/glob"
)

// pubsub holds the subscriptions; guarded by the server lock.
type pubsub struct {
	channels map[string]map[*Client]struct{}
	patterns map[string]map[*Client]struct{}
}

func newPubsub() pubsub {
	return pubsub{channels: map[string]map[*Client]struct{}{}, patterns: map[string]map[*Client]struct{}{}}
}

func pubsubCommands() []*command {
	f := flagPubsubCtx | flagLoading | flagStale
	return []*command{
		{name: "subscribe", arity: -2, flags: f | flagNoScript, group: "pubsub", run: cmdSubscribe},
		{name: "unsubscribe", arity: -1, flags: f | flagNoScript, group: "pubsub", run: cmdUnsubscribe},
		{name: "psubscribe", arity: -2, flags: f | flagNoScript, group: "pubsub", run: cmdPSubscribe},
		{name: "punsubscribe", arity: -1, flags: f | flagNoScript, group: "pubsub", run: cmdPUnsubscribe},
		{name: "publish", arity: 3, flags: flagPubsubCtx | flagLoading | flagStale | flagFast, group: "pubsub", run: cmdPublish},
		{name: "pubsub", arity: -2, group: "pubsub", subs: map[string]*command{
			"channels": {name: "pubsub|channels", arity: -2, flags: flagPubsubCtx | flagLoading | flagStale, group: "pubsub", run: cmdPubsubChannels},
			"numsub":   {name: "pubsub|numsub", arity: -2, flags: flagPubsubCtx | flagLoading | flagStale, group: "pubsub", run: cmdPubsubNumsub},
			"numpat":   {name: "pubsub|numpat", arity: 2, flags: flagPubsubCtx | flagLoading | flagStale, group: "pubsub", run: cmdPubsubNumpat},
			"help":     {name: "pubsub|help", arity: 2, flags: flagLoading | flagStale, group: "pubsub", run: cmdPubsubHelp},
		}},
	}
}

// subCount is the number of channels and patterns this client is
// subscribed to (the count in confirmations).
func (c *Client) subCount() int { return len(c.subChannels) + len(c.subPatterns) }

func (c *Client) subscribed() bool { return c.subCount() > 0 }

// confirm writes a (p)(un)subscribe confirmation frame.
func (c *Client) confirm(kind string, name []byte, null bool) {
	c.w.Push(3)
	c.w.BulkString(kind)
	if null {
		c.w.Null()
	} else {
		c.w.Bulk(name)
	}
	c.w.Int(int64(c.subCount()))
}

func cmdSubscribe(c *Client, args [][]byte) {
	if c.inExec {
		c.replyError("ERR SUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	s := c.srv
	for _, a := range args[1:] {
		ch := string(a)
		if _, ok := c.subChannels[ch]; !ok {
			if c.subChannels == nil {
				c.subChannels = map[string]struct{}{}
			}
			c.subChannels[ch] = struct{}{}
			m := s.ps.channels[ch]
			if m == nil {
				m = map[*Client]struct{}{}
				s.ps.channels[ch] = m
			}
			m[c] = struct{}{}
		}
		c.confirm("subscribe", a, false)
	}
	c.startAsyncWriter()
}

func cmdPSubscribe(c *Client, args [][]byte) {
	if c.inExec {
		c.replyError("ERR PSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	s := c.srv
	for _, a := range args[1:] {
		p := string(a)
		if _, ok := c.subPatterns[p]; !ok {
			if c.subPatterns == nil {
				c.subPatterns = map[string]struct{}{}
			}
			c.subPatterns[p] = struct{}{}
			m := s.ps.patterns[p]
			if m == nil {
				m = map[*Client]struct{}{}
				s.ps.patterns[p] = m
			}
			m[c] = struct{}{}
		}
		c.confirm("psubscribe", a, false)
	}
	c.startAsyncWriter()
}

func (c *Client) unsubscribeChannel(ch string, notify bool) {
	s := c.srv
	if _, ok := c.subChannels[ch]; ok {
		delete(c.subChannels, ch)
		if m := s.ps.channels[ch]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(s.ps.channels, ch)
			}
		}
	}
	if notify {
		c.confirm("unsubscribe", []byte(ch), false)
	}
}

func (c *Client) unsubscribePattern(p string, notify bool) {
	s := c.srv
	if _, ok := c.subPatterns[p]; ok {
		delete(c.subPatterns, p)
		if m := s.ps.patterns[p]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(s.ps.patterns, p)
			}
		}
	}
	if notify {
		c.confirm("punsubscribe", []byte(p), false)
	}
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cmdUnsubscribe(c *Client, args [][]byte) {
	if len(args) == 1 {
		if len(c.subChannels) == 0 {
			c.confirm("unsubscribe", nil, true)
			return
		}
		for _, ch := range sortedKeys(c.subChannels) {
			c.unsubscribeChannel(ch, true)
		}
		return
	}
	for _, a := range args[1:] {
		c.unsubscribeChannel(string(a), true)
	}
}

func cmdPUnsubscribe(c *Client, args [][]byte) {
	if len(args) == 1 {
		if len(c.subPatterns) == 0 {
			c.confirm("punsubscribe", nil, true)
			return
		}
		for _, p := range sortedKeys(c.subPatterns) {
			c.unsubscribePattern(p, true)
		}
		return
	}
	for _, a := range args[1:] {
		c.unsubscribePattern(string(a), true)
	}
}

// unsubscribeAll drops every subscription without confirmations (RESET,
// disconnect).
func (c *Client) unsubscribeAll() {
	for ch := range c.subChannels {
		c.unsubscribeChannel(ch, false)
	}
	for p := range c.subPatterns {
		c.unsubscribePattern(p, false)
	}
}

func cmdPublish(c *Client, args [][]byte) {
	c.w.Int(int64(c.srv.publish(args[1], args[2])))
}

// publish delivers a message and returns the number of receivers; s.mu is
// held.
func (s *Server) publish(channel, msg []byte) int {
	n := 0
	for cl := range s.ps.channels[string(channel)] {
		var w frameWriter
		w.Proto = cl.w.Proto
		w.Push(3)
		w.BulkString("message")
		w.Bulk(channel)
		w.Bulk(msg)
		cl.pushAsync(w.B)
		n++
	}
	for p, subs := range s.ps.patterns {
		if !glob.MatchString(p, string(channel), false) {
			continue
		}
		for cl := range subs {
			var w frameWriter
			w.Proto = cl.w.Proto
			w.Push(4)
			w.BulkString("pmessage")
			w.BulkString(p)
			w.Bulk(channel)
			w.Bulk(msg)
			cl.pushAsync(w.B)
			n++
		}
	}
	return n
}

func cmdPubsubChannels(c *Client, args [][]byte) {
	s := c.srv
	var pat []byte
	if len(args) == 3 {
		pat = args[2]
	} else if len(args) > 3 {
		c.replyError(errSubcommandSyntax(args))
		return
	}
	var out []string
	for ch := range s.ps.channels {
		if pat == nil || glob.MatchString(string(pat), ch, false) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	c.w.Array(len(out))
	for _, ch := range out {
		c.w.BulkString(ch)
	}
}

func cmdPubsubNumsub(c *Client, args [][]byte) {
	c.w.Map(len(args) - 2)
	for _, a := range args[2:] {
		c.w.Bulk(a)
		c.w.Int(int64(len(c.srv.ps.channels[string(a)])))
	}
}

func cmdPubsubNumpat(c *Client, args [][]byte) { c.w.Int(int64(len(c.srv.ps.patterns))) }

func cmdPubsubHelp(c *Client, args [][]byte) {
	c.help("PUBSUB", []string{
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
	})
}

// notifyKeyspace publishes a keyspace notification (notify.c) when
// notify-keyspace-events enables its class; s.mu is held.
func (s *Server) notifyKeyspace(class byte, event string, key []byte, db int) {
	flags := s.set.NotifyKeyspaceEvents
	if flags == "" || !notifyEnabled(flags, class) {
		return
	}
	dbs := strconv.Itoa(db)
	if strings.IndexByte(flags, 'K') >= 0 {
		s.publish([]byte("__keyspace@"+dbs+"__:"+string(key)), []byte(event))
	}
	if strings.IndexByte(flags, 'E') >= 0 {
		s.publish([]byte("__keyevent@"+dbs+"__:"+event), key)
	}
}

// notifyEnabled reports whether a class letter is on; "A" stands for every
// class but m and n.
func notifyEnabled(flags string, class byte) bool {
	if strings.IndexByte(flags, class) >= 0 {
		return true
	}
	return strings.IndexByte(flags, 'A') >= 0 && class != 'm' && class != 'n'
}
