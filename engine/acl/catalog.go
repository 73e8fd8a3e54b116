package acl

import (
	"sort"
	"strings"
)

// Key access a command needs on a key (Redis's key-spec flags reduced to
// what ACL checks: ACCESS means read, INSERT/DELETE/UPDATE mean write).
const (
	KeyRead  = 1 << iota // %R~
	KeyWrite             // %W~
	KeyAll   = KeyRead | KeyWrite
)

// KeySpec gives the access needed by the keys from argument Pos on (until
// the next KeySpec's Pos).
type KeySpec struct {
	Pos    int
	Access int
}

// Channel argument kinds of pub/sub commands.
const (
	ChanNone     = iota
	ChanFirst    // PUBLISH channel message
	ChanAll      // SUBSCRIBE channel...
	ChanPatterns // PSUBSCRIBE pattern...
)

// Command describes one command or subcommand for the ACL code.
type Command struct {
	Name       string // full lowercase name: "get", "config|get"
	Categories Category
	FirstKey   int // 0: no keys
	LastKey    int // negative: counted from the end
	KeyStep    int
	KeySpecs   []KeySpec // nil: every key needs KeyAll
	Channels   int       // ChanNone, ChanFirst, ChanAll, ChanPatterns
	NoAuth     bool      // always allowed (AUTH, HELLO, QUIT, RESET)
	// Keys, when set, finds the key positions of commands whose keys
	// FirstKey/LastKey/KeyStep cannot describe (numkeys arguments).
	Keys func(args [][]byte) []int
	Subs []*Command

	id     int
	parent *Command
}

// ID is the command's bit in user bitmaps.
func (c *Command) ID() int { return c.id }

// Catalog is the set of commands the ACL rules refer to. It is immutable
// once built.
type Catalog struct {
	byName map[string]*Command // full names, subcommands included
	top    []*Command          // top-level commands sorted by name
	all    []*Command          // every command by id
}

// NewCatalog indexes cmds (top-level commands with their Subs), assigning
// ids in name order.
func NewCatalog(cmds []*Command) *Catalog {
	cat := &Catalog{byName: map[string]*Command{}}
	cat.top = append(cat.top, cmds...)
	sort.Slice(cat.top, func(i, j int) bool { return cat.top[i].Name < cat.top[j].Name })
	for _, c := range cat.top {
		cat.register(c, nil)
		sort.Slice(c.Subs, func(i, j int) bool { return c.Subs[i].Name < c.Subs[j].Name })
		for _, s := range c.Subs {
			cat.register(s, c)
		}
	}
	return cat
}

func (cat *Catalog) register(c, parent *Command) {
	c.id = len(cat.all)
	c.parent = parent
	cat.all = append(cat.all, c)
	cat.byName[c.Name] = c
}

// Lookup finds a command by full name ("config|get"), case-insensitively.
func (cat *Catalog) Lookup(name string) *Command {
	return cat.byName[strings.ToLower(name)]
}

// InCategory returns the full names of the commands in c, sorted (ACL CAT
// category).
func (cat *Catalog) InCategory(c Category) []string {
	var out []string
	for _, cmd := range cat.all {
		if cmd.Categories&c != 0 {
			out = append(out, cmd.Name)
		}
	}
	sort.Strings(out)
	return out
}

// bits is the number of bitmap bits: one per command plus the "future
// commands" bit set by +@all.
func (cat *Catalog) bits() int { return len(cat.all) + 1 }

func (cat *Catalog) futureBit() int { return len(cat.all) }
