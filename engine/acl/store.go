package acl

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// Errors of Store operations, with Redis's texts.
var (
	ErrDefaultUser = errors.New("The 'default' user cannot be removed")
	ErrBadUsername = errors.New("Usernames can't contain spaces or null characters")
)

// DefaultLogMaxLen is acl-log-max-len's default.
const DefaultLogMaxLen = 128

// logGroupingDelta is ACL_LOG_GROUPING_MAX_TIME_DELTA.
const logGroupingDelta = 60 * time.Second

// LogEntry is one ACL LOG entry.
type LogEntry struct {
	Count      int
	Reason     Reason
	Context    string // toplevel, multi, lua
	Object     string // command, key, channel or "AUTH" as sent
	Username   string
	Time       time.Time
	ClientInfo string
}

// Store holds the users. It is not safe for concurrent use: the server
// calls it with its execution lock held.
type Store struct {
	cat       *Catalog
	users     map[string]*User
	log       []*LogEntry // newest first
	LogMaxLen int
	now       func() time.Time
}

// NewStore creates a store with the default user (on, nopass, ~*, &*,
// +@all).
func NewStore(cat *Catalog, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{cat: cat, users: map[string]*User{}, LogMaxLen: DefaultLogMaxLen, now: now}
	s.users["default"] = s.newDefault()
	return s
}

func (s *Store) newDefault() *User {
	u := newUser(s.cat, "default")
	for _, op := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		u.setRule(s.cat, op)
	}
	return u
}

// Catalog returns the command catalog.
func (s *Store) Catalog() *Catalog { return s.cat }

// User returns the user called name, or nil.
func (s *Store) User(name string) *User { return s.users[name] }

// Default returns the default user.
func (s *Store) Default() *User { return s.users["default"] }

// Names returns the user names sorted (ACL USERS).
func (s *Store) Names() []string {
	names := make([]string, 0, len(s.users))
	for n := range s.users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Unrestricted reports whether u may run every command on every key and
// channel, so that the per-command check can be skipped.
func (u *User) Unrestricted() bool {
	if !u.root.allKeys || !u.root.allChannels {
		return false
	}
	for _, w := range u.root.allowed {
		if w != ^uint64(0) {
			return false
		}
	}
	return true
}

// ValidUsername reports whether name may be a user name.
func ValidUsername(name string) bool { return !hasSpace(name) }

// SetUser applies ops to the user called name, creating it when missing.
// Either every op applies or nothing changes. The user keeps its identity.
func (s *Store) SetUser(name string, ops []string) error {
	if !ValidUsername(name) {
		return ErrBadUsername
	}
	u := s.users[name]
	var tmp *User
	if u == nil {
		tmp = newUser(s.cat, name)
	} else {
		tmp = u.clone()
	}
	for _, op := range ops {
		if err := tmp.SetRule(s.cat, op); err != nil {
			return err
		}
	}
	if u == nil {
		s.users[name] = tmp
	} else {
		*u = *tmp
	}
	return nil
}

// DelUser removes a user and returns it (nil when there was none).
func (s *Store) DelUser(name string) (*User, error) {
	if name == "default" {
		return nil, ErrDefaultUser
	}
	u := s.users[name]
	if u != nil {
		delete(s.users, name)
		u.deleted = true
	}
	return u, nil
}

// SetRequirePass maps requirepass onto the default user like Redis's
// ACLUpdateDefaultUserPassword: resetpass, then >pass, or nopass when
// pass is empty.
func (s *Store) SetRequirePass(pass string) {
	d := s.Default()
	d.setRule(s.cat, "resetpass")
	if pass == "" {
		d.setRule(s.cat, "nopass")
		return
	}
	d.setRule(s.cat, ">"+pass)
}

// Authenticate checks a user name and password (ACLCheckUserCredentials):
// the user must exist and be on, and be nopass or have a password whose
// hash matches, compared in constant time.
func (s *Store) Authenticate(name, pass []byte) (*User, bool) {
	u := s.users[string(name)]
	if u == nil || !u.enabled {
		return nil, false
	}
	if u.nopass {
		return u, true
	}
	h := HashPassword(pass)
	ok := false
	for _, p := range u.passwords {
		if hashEqual(h, p) {
			ok = true
		}
	}
	if !ok {
		return nil, false
	}
	return u, true
}

// AddLog records a denial (addACLLogEntry): an entry equal in reason,
// context, object and user to one of the 10 newest, and less than 60s
// apart, is counted and moved to the head instead of added.
func (s *Store) AddLog(e LogEntry) {
	e.Time = s.now()
	e.Count = 1
	for i := 0; i < len(s.log) && i < 10; i++ {
		old := s.log[i]
		d := e.Time.Sub(old.Time)
		if d < 0 {
			d = -d
		}
		if old.Reason == e.Reason && old.Context == e.Context && old.Object == e.Object &&
			old.Username == e.Username && d <= logGroupingDelta {
			old.Count++
			old.Time = e.Time
			old.ClientInfo = e.ClientInfo
			copy(s.log[1:i+1], s.log[:i])
			s.log[0] = old
			return
		}
	}
	s.log = append([]*LogEntry{&e}, s.log...)
	if max := s.LogMaxLen; max >= 0 && len(s.log) > max {
		s.log = s.log[:max]
	}
}

// Log returns up to count of the newest entries (all when count < 0).
func (s *Store) Log(count int) []LogEntry {
	if count < 0 || count > len(s.log) {
		count = len(s.log)
	}
	out := make([]LogEntry, count)
	for i := range out {
		out[i] = *s.log[i]
	}
	return out
}

// ResetLog empties the ACL LOG.
func (s *Store) ResetLog() { s.log = nil }

// ListLines returns ACL LIST's lines ("user <name> <rules>") sorted by
// name.
func (s *Store) ListLines() []string {
	var out []string
	for _, n := range s.Names() {
		out = append(out, "user "+n+" "+s.users[n].Describe(s.cat))
	}
	return out
}

// replace installs a new set of users, keeping the default user's
// identity; it returns the users that no longer exist.
func (s *Store) replace(users map[string]*User) []*User {
	var gone []*User
	for n, u := range s.users {
		if nu, ok := users[n]; !ok || n != "default" && nu != u {
			if n != "default" {
				u.deleted = true
				gone = append(gone, u)
			}
		}
	}
	def := s.users["default"]
	if nd, ok := users["default"]; ok {
		*def = *nd
	} else {
		*def = *s.newDefault()
	}
	users["default"] = def
	s.users = users
	return gone
}

// lineUser parses the rules of one aclfile line or config directive into
// a fresh user; errors are Redis's reasons.
func (s *Store) lineUser(name string, ops []string) (*User, string) {
	if !ValidUsername(name) {
		return nil, "username '" + name + "' contains invalid characters"
	}
	u := newUser(s.cat, name)
	for _, op := range ops {
		op = strings.Trim(op, "\t\r\n")
		if op == "" {
			continue
		}
		if msg := u.setRule(s.cat, op); msg != "" {
			return nil, msg
		}
	}
	return u, ""
}
