package acl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadError lists every problem of an aclfile, in Redis's words.
type LoadError struct{ Msg string }

func (e *LoadError) Error() string { return e.Msg }

// ParseUsers parses aclfile text (ACLLoadFromFile): one "user <name>
// <rules...>" per line, split on single spaces, "#" comments. file names
// the source in messages. Nothing is installed.
func (s *Store) ParseUsers(file, text string) (map[string]*User, error) {
	var errs strings.Builder
	users := map[string]*User{}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		var argv []string
		for _, a := range strings.Split(line, " ") {
			argv = append(argv, a)
		}
		if argv[0] != "user" || len(argv) < 2 {
			fmt.Fprintf(&errs, "%s:%d should start with user keyword followed by the username. ", file, n)
			continue
		}
		name := argv[1]
		if !ValidUsername(name) {
			fmt.Fprintf(&errs, "'%s:%d: username '%s' contains invalid characters. ", file, n, name)
			continue
		}
		u := newUser(s.cat, name)
		bad := false
		for _, op := range argv[2:] {
			op = strings.Trim(op, "\t\r\n")
			if op == "" {
				continue
			}
			if msg := u.setRule(s.cat, op); msg != "" {
				fmt.Fprintf(&errs, "%s:%d: %s. ", file, n, msg)
				bad = true
			}
		}
		if bad {
			continue
		}
		if _, dup := users[name]; dup {
			fmt.Fprintf(&errs, "WARNING: Duplicate user '%s' found on line %d. ", name, n)
			continue
		}
		users[name] = u
	}
	if errs.Len() > 0 {
		errs.WriteString("WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
		return nil, &LoadError{Msg: errs.String()}
	}
	return users, nil
}

// Install replaces all users with users (from ParseUsers or
// ConfigUsers); the default user keeps its identity and becomes the
// standard default when users lacks one. It returns the removed users,
// whose clients the server must disconnect.
func (s *Store) Install(users map[string]*User) []*User { return s.replace(users) }

// LoadFile reads and installs an aclfile (ACL LOAD). On any error nothing
// changes.
func (s *Store) LoadFile(path string) ([]*User, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{Msg: fmt.Sprintf("Error loading ACLs, opening file '%s': %s", path, errnoText(err))}
	}
	users, err := s.ParseUsers(path, string(b))
	if err != nil {
		return nil, err
	}
	return s.Install(users), nil
}

func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}

// ConfigUsers builds users from the config file's "user" directives
// (each the arguments after "user"); it fails on the first bad rule. The
// error does not contain password modifiers.
func (s *Store) ConfigUsers(directives [][]string) (map[string]*User, error) {
	users := map[string]*User{}
	for _, d := range directives {
		if len(d) == 0 {
			return nil, fmt.Errorf("acl: user directive without a name")
		}
		if _, dup := users[d[0]]; dup {
			return nil, fmt.Errorf("acl: user %q: %s", d[0], msgDuplicate)
		}
		u, msg := s.lineUser(d[0], d[1:])
		if msg != "" {
			return nil, fmt.Errorf("acl: user %q: %s", d[0], msg)
		}
		users[d[0]] = u
	}
	return users, nil
}

// CheckRules validates one user declaration without a store (for the
// config parser): it reports Redis's reason for the first bad rule.
func CheckRules(cat *Catalog, name string, ops []string) error {
	s := &Store{cat: cat}
	if _, msg := s.lineUser(name, ops); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// SaveFile writes every user to path atomically with mode 0600 (ACL
// SAVE): a temporary file in the same directory, fsync, rename.
func (s *Store) SaveFile(path string) error {
	var b strings.Builder
	for _, l := range s.ListLines() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".acl-*.tmp")
	if err != nil {
		return fmt.Errorf("acl: save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("acl: save %s: %w", path, err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("acl: save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("acl: save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("acl: save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("acl: save %s: %w", path, err)
	}
	return nil
}
