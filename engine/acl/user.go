package acl

import (
	"slices"
	"strings"
)

// Rule errors (ACLSetUserStringError in Redis 7.0.15).
const (
	msgSyntax        = "Syntax error"
	msgUnknownCmd    = "Unknown command or category name in ACL"
	msgKeysAfterAll  = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
	msgChansAfterAll = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
	msgNoSuchPass    = "The password you are trying to remove from the user does not exist"
	msgBadHash       = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
	msgFirstArgSub   = "Allowing first-arg of a subcommand is not supported"
	msgDuplicate     = "Duplicate user found. A user can only be defined once in config files"
	msgSelectors     = "Selectors are not supported by hactl-engine"
)

// RuleError is a rejected SETUSER modifier.
type RuleError struct {
	Op  string // the modifier as given
	Msg string // Redis's reason
}

// Error is Redis's text: "Error in ACL SETUSER modifier '<op>': <msg>". It
// contains the modifier, which for <password is a password: callers must
// not log it (see Redacted).
func (e *RuleError) Error() string {
	return "Error in ACL SETUSER modifier '" + e.Op + "': " + e.Msg
}

// Redacted is Error with password modifiers hidden, for logs.
func (e *RuleError) Redacted() string {
	op := e.Op
	if op != "" && (op[0] == '>' || op[0] == '<') {
		op = op[:1] + "<redacted>"
	}
	return "Error in ACL SETUSER modifier '" + op + "': " + e.Msg
}

type keyPattern struct {
	pat   string
	flags int // KeyRead|KeyWrite
}

// selector is the root selector of a user: command bitmap, keys, channels.
type selector struct {
	allowed     []uint64
	allKeys     bool
	patterns    []keyPattern
	allChannels bool
	channels    []string
	firstArgs   map[int][]string // allowed first arguments of denied commands
}

func newSelector(cat *Catalog) selector {
	return selector{allowed: make([]uint64, (cat.bits()+63)/64)}
}

func (s *selector) clone() selector {
	n := *s
	n.allowed = append([]uint64(nil), s.allowed...)
	n.patterns = append([]keyPattern(nil), s.patterns...)
	n.channels = append([]string(nil), s.channels...)
	if s.firstArgs != nil {
		n.firstArgs = map[int][]string{}
		for k, v := range s.firstArgs {
			n.firstArgs[k] = append([]string(nil), v...)
		}
	}
	return n
}

func (s *selector) bit(id int) bool { return s.allowed[id/64]&(1<<(id%64)) != 0 }

func (s *selector) setBit(id int, v bool) {
	if v {
		s.allowed[id/64] |= 1 << (id % 64)
	} else {
		s.allowed[id/64] &^= 1 << (id % 64)
	}
}

func (s *selector) setAll(v bool) {
	fill := uint64(0)
	if v {
		fill = ^uint64(0)
	}
	for i := range s.allowed {
		s.allowed[i] = fill
	}
	s.firstArgs = nil
}

// changePerm is ACLChangeSelectorPerm: the command and its subcommands.
func (s *selector) changePerm(cmd *Command, allow bool) {
	s.setBit(cmd.id, allow)
	delete(s.firstArgs, cmd.id)
	for _, sub := range cmd.Subs {
		s.setBit(sub.id, allow)
	}
}

func (s *selector) setCategory(cat *Catalog, c Category, allow bool) {
	for _, cmd := range cat.all {
		if cmd.Categories&c != 0 {
			s.changePerm(cmd, allow)
		}
	}
}

// countCategory returns how many commands of c are allowed and denied.
func (s *selector) countCategory(cat *Catalog, c Category) (on, off int) {
	for _, cmd := range cat.all {
		if cmd.Categories&c != 0 {
			if s.bit(cmd.id) {
				on++
			} else {
				off++
			}
		}
	}
	return on, off
}

// appendUnique adds v to list unless it is already there.
func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func hasSpace(s string) bool {
	return strings.ContainsAny(s, " \t\r\n") || strings.IndexByte(s, 0) >= 0
}

// set applies a selector rule (ACLSetSelector); it returns Redis's reason
// on failure.
func (s *selector) set(cat *Catalog, op string) string {
	switch lop := strings.ToLower(op); {
	case lop == "allkeys" || op == "~*":
		s.allKeys, s.patterns = true, nil
	case lop == "resetkeys":
		s.allKeys, s.patterns = false, nil
	case lop == "allchannels" || op == "&*":
		s.allChannels, s.channels = true, nil
	case lop == "resetchannels":
		s.allChannels, s.channels = false, nil
	case lop == "allcommands" || lop == "+@all":
		s.setAll(true)
	case lop == "nocommands" || lop == "-@all":
		s.setAll(false)
	case op[0] == '~' || op[0] == '%':
		return s.addKeyPattern(op)
	case op[0] == '&':
		if s.allChannels {
			return msgChansAfterAll
		}
		pat := op[1:]
		if hasSpace(pat) {
			return msgSyntax
		}
		s.channels = appendUnique(s.channels, pat)
	case len(op) > 1 && op[1] == '@' && (op[0] == '+' || op[0] == '-'):
		c := ParseCategory(op[2:])
		if c == 0 {
			return msgUnknownCmd
		}
		s.setCategory(cat, c, op[0] == '+')
	case op[0] == '+':
		return s.allowCommand(cat, op[1:])
	case op[0] == '-':
		cmd := cat.Lookup(op[1:])
		if cmd == nil {
			return msgUnknownCmd
		}
		s.changePerm(cmd, false)
	default:
		return msgSyntax
	}
	return ""
}

func (s *selector) addKeyPattern(op string) string {
	if s.allKeys {
		return msgKeysAfterAll
	}
	flags, off := 0, 1
	if op[0] == '%' {
		for ; off < len(op); off++ {
			switch {
			case (op[off] == 'R' || op[off] == 'r') && flags&KeyRead == 0:
				flags |= KeyRead
			case (op[off] == 'W' || op[off] == 'w') && flags&KeyWrite == 0:
				flags |= KeyWrite
			case op[off] == '~':
				off++
				goto done
			default:
				return msgSyntax
			}
		}
	done:
	} else {
		flags = KeyAll
	}
	pat := op[min(off, len(op)):]
	if hasSpace(pat) {
		return msgSyntax
	}
	for i := range s.patterns {
		if s.patterns[i].pat == pat {
			s.patterns[i].flags |= flags
			return ""
		}
	}
	s.patterns = append(s.patterns, keyPattern{pat, flags})
	return ""
}

// allowCommand handles +cmd, +cmd|sub and +cmd|firstarg.
func (s *selector) allowCommand(cat *Catalog, name string) string {
	bar := strings.LastIndexByte(name, '|')
	if bar < 0 {
		cmd := cat.Lookup(name)
		if cmd == nil {
			return msgUnknownCmd
		}
		s.changePerm(cmd, true)
		return ""
	}
	cmd := cat.Lookup(name[:bar])
	if cmd == nil {
		return msgUnknownCmd
	}
	if cmd.parent != nil {
		return msgFirstArgSub
	}
	sub := name[bar+1:]
	if sub == "" {
		return msgSyntax
	}
	if len(cmd.Subs) > 0 {
		sc := cat.Lookup(name)
		if sc == nil {
			return msgUnknownCmd
		}
		s.changePerm(sc, true)
		return ""
	}
	if s.firstArgs == nil {
		s.firstArgs = map[int][]string{}
	}
	for _, a := range s.firstArgs[cmd.id] {
		if strings.EqualFold(a, sub) {
			return ""
		}
	}
	s.firstArgs[cmd.id] = append(s.firstArgs[cmd.id], sub)
	return ""
}

// User is an ACL user. Users are owned by a Store and changed only through
// it (under the server lock).
type User struct {
	Name      string
	enabled   bool
	nopass    bool
	sanitize  int // 0, sanitizeOn, sanitizeSkip
	passwords []string
	root      selector
	// version counts changes, so that clients can notice a deleted user.
	deleted bool
}

const (
	sanitizeOn = 1 + iota
	sanitizeSkip
)

// newUser is ACLCreateUser: off, no passwords, no keys, no channels
// (acl-pubsub-default resetchannels), no commands.
func newUser(cat *Catalog, name string) *User {
	return &User{Name: name, root: newSelector(cat)}
}

func (u *User) clone() *User {
	n := *u
	n.passwords = append([]string(nil), u.passwords...)
	n.root = u.root.clone()
	return &n
}

// Enabled reports whether the user is "on".
func (u *User) Enabled() bool { return u.enabled }

// NoPass reports whether any password authenticates the user.
func (u *User) NoPass() bool { return u.nopass }

// Deleted reports whether the user was removed from its store.
func (u *User) Deleted() bool { return u.deleted }

// SetRule applies one ACL SETUSER modifier (ACLSetUser).
func (u *User) SetRule(cat *Catalog, op string) error {
	if op == "" {
		return nil
	}
	if msg := u.setRule(cat, op); msg != "" {
		return &RuleError{Op: op, Msg: msg}
	}
	return nil
}

func (u *User) setRule(cat *Catalog, op string) string {
	switch lop := strings.ToLower(op); {
	case lop == "on":
		u.enabled = true
	case lop == "off":
		u.enabled = false
	case lop == "skip-sanitize-payload":
		u.sanitize = sanitizeSkip
	case lop == "sanitize-payload":
		u.sanitize = sanitizeOn
	case lop == "nopass":
		u.nopass, u.passwords = true, nil
	case lop == "resetpass":
		u.nopass, u.passwords = false, nil
	case op[0] == '>' || op[0] == '#':
		h := op[1:]
		if op[0] == '>' {
			h = HashPassword([]byte(op[1:]))
		} else if !validHash(h) {
			return msgBadHash
		}
		u.passwords = appendUnique(u.passwords, h)
		u.nopass = false
	case op[0] == '<' || op[0] == '!':
		h := op[1:]
		if op[0] == '<' {
			h = HashPassword([]byte(op[1:]))
		} else if !validHash(h) {
			return msgBadHash
		}
		for i, p := range u.passwords {
			if p == h {
				u.passwords = append(u.passwords[:i], u.passwords[i+1:]...)
				return ""
			}
		}
		return msgNoSuchPass
	case op[0] == '(' && op[len(op)-1] == ')':
		return msgSelectors
	case lop == "clearselectors":
		// Only the root selector exists: nothing to clear.
	case lop == "reset":
		u.nopass, u.passwords = false, nil
		u.root.allKeys, u.root.patterns = false, nil
		u.root.allChannels, u.root.channels = false, nil
		u.enabled = false
		u.sanitize = sanitizeOn
		u.root.setAll(false)
	default:
		return u.root.set(cat, op)
	}
	return ""
}

// Flags returns the user's flags as ACL GETUSER lists them.
func (u *User) Flags() []string {
	var f []string
	if u.enabled {
		f = append(f, "on")
	} else {
		f = append(f, "off")
	}
	if u.nopass {
		f = append(f, "nopass")
	}
	switch u.sanitize {
	case sanitizeSkip:
		f = append(f, "skip-sanitize-payload")
	case sanitizeOn:
		f = append(f, "sanitize-payload")
	}
	return f
}

// PasswordHashes returns the hex SHA-256 hashes of the user's passwords.
func (u *User) PasswordHashes() []string { return append([]string(nil), u.passwords...) }

// KeysString is GETUSER's "keys" field.
func (u *User) KeysString() string {
	if u.root.allKeys {
		return "~*"
	}
	parts := make([]string, len(u.root.patterns))
	for i, p := range u.root.patterns {
		parts[i] = p.String()
	}
	return strings.Join(parts, " ")
}

// ChannelsString is GETUSER's "channels" field.
func (u *User) ChannelsString() string {
	if u.root.allChannels {
		return "&*"
	}
	parts := make([]string, len(u.root.channels))
	for i, c := range u.root.channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

// String renders a key pattern as a rule (sdsCatPatternString).
func (p keyPattern) String() string {
	if p.flags == KeyAll {
		return "~" + p.pat
	}
	s := "%"
	if p.flags&KeyRead != 0 {
		s += "R"
	}
	if p.flags&KeyWrite != 0 {
		s += "W"
	}
	return s + "~" + p.pat
}

// CommandRules is GETUSER's "commands" field: the canonical rules that
// rebuild the user's command bitmap (ACLDescribeSelectorCommandRules).
func (u *User) CommandRules(cat *Catalog) string { return u.root.describeCommands(cat) }

// Describe is ACL LIST's rule string without the "user <name> " prefix
// (ACLDescribeUser).
func (u *User) Describe(cat *Catalog) string {
	var b strings.Builder
	for _, f := range u.Flags() {
		b.WriteString(f)
		b.WriteByte(' ')
	}
	for _, p := range u.passwords {
		b.WriteString("#" + p + " ")
	}
	s := &u.root
	if s.allKeys {
		b.WriteString("~* ")
	} else {
		for _, p := range s.patterns {
			b.WriteString(p.String() + " ")
		}
	}
	if s.allChannels {
		b.WriteString("&* ")
	} else {
		b.WriteString("resetchannels ")
		for _, c := range s.channels {
			b.WriteString("&" + c + " ")
		}
	}
	b.WriteString(s.describeCommands(cat))
	return b.String()
}

// describeCommands reproduces Redis's best-fit algorithm: start from +@all
// or -@all, apply the categories that best match the bitmap, then single
// commands (in name order; Redis uses its dict's random order), then
// allowed first arguments.
func (s *selector) describeCommands(cat *Catalog) string {
	fake := newSelector(cat)
	additive := !s.bit(cat.futureBit())
	var rules []string
	if additive {
		rules = append(rules, "-@all")
	} else {
		rules = append(rules, "+@all")
		fake.setAll(true)
	}
	temp := newSelector(cat)
	copy(temp.allowed, s.allowed)
	var applied [numCategories]bool
	for {
		best, mindiff, maxsame := -1, int(^uint(0)>>1), 0
		for j := range numCategories {
			if applied[j] {
				continue
			}
			on, off := temp.countCategory(cat, 1<<j)
			diff, same := on, off
			if additive {
				diff, same = off, on
			}
			if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
				best, mindiff, maxsame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		c := Category(1) << best
		fake.setCategory(cat, c, additive)
		temp.setCategory(cat, c, !additive)
		sign := "+@"
		if !additive {
			sign = "-@"
		}
		rules = append(rules, sign+CategoryNames[best])
		applied[best] = true
	}
	var walk func(cmds []*Command)
	walk = func(cmds []*Command) {
		for _, cmd := range cmds {
			userbit, fakebit := s.bit(cmd.id), fake.bit(cmd.id)
			if userbit != fakebit {
				if userbit {
					rules = append(rules, "+"+cmd.Name)
				} else {
					rules = append(rules, "-"+cmd.Name)
				}
				fake.changePerm(cmd, userbit)
			}
			walk(cmd.Subs)
			if !userbit {
				for _, a := range s.firstArgs[cmd.id] {
					rules = append(rules, "+"+cmd.Name+"|"+a)
				}
			}
		}
	}
	walk(cat.top)
	return strings.Join(rules, " ")
}
