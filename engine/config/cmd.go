package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hactl/hactl/engine/glob"
)

// SetError is a CONFIG SET failure. Msg is Redis's exact error text,
// starting with its "ERR " code, ready to send as an error reply.
type SetError struct {
	Msg string
}

func (e *SetError) Error() string { return e.Msg }

// Get answers CONFIG GET: every directive name (aliases included, as
// Redis 7.0 lists them) matching any of the glob patterns, case
// insensitively, once each, with its value formatted as Redis formats it.
// A pattern without glob characters answers under the name as it was
// given, as Redis does. The order is the directive table order (Redis's
// is a hash order; clients must not rely on it).
func (c *Config) Get(patterns ...string) []KV {
	var out []KV
	seen := make(map[string]bool)
	add := func(name string, d *directive) {
		key := strings.ToLower(name)
		if !seen[key] {
			seen[key] = true
			out = append(out, KV{Name: name, Value: d.get(c)})
		}
	}
	var globs []string
	for _, p := range patterns {
		if strings.ContainsAny(p, "[*?") {
			globs = append(globs, p)
		} else if d := byName[strings.ToLower(p)]; d != nil {
			add(p, d)
		}
	}
	if len(globs) == 0 {
		return out
	}
	for i := range directives {
		d := &directives[i]
		for _, name := range append([]string{d.name}, d.aliases...) {
			for _, p := range globs {
				if glob.MatchString(p, name, true) {
					add(name, d)
					break
				}
			}
		}
	}
	return out
}

// Set answers CONFIG SET name value [name value ...]: args are the words
// after SET. Either every value is applied or none is. It returns the
// canonical names of the directives whose value changed, after calling
// OnChange for each. Errors are *SetError with Redis's texts; an OnChange
// error text goes after "CONFIG SET failed (possibly related to argument
// 'name') - ", so it should be Redis's own wording (for bind: "Failed to
// bind to specified addresses.").
func (c *Config) Set(args []string) (changed []string, err error) {
	if len(args) < 2 {
		return nil, &SetError{"ERR wrong number of arguments for 'config|set' command"}
	}
	if len(args)%2 != 0 {
		return nil, &SetError{"ERR syntax error"}
	}
	// Check the names first, as configSetCommand does: an unknown name
	// wins over any other problem.
	n := len(args) / 2
	ds := make([]*directive, n)
	var refuse *SetError
	for i := range n {
		name := args[2*i]
		d := byName[strings.ToLower(name)]
		if d == nil {
			return nil, &SetError{fmt.Sprintf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", name)}
		}
		if refuse != nil {
			continue
		}
		switch {
		case d.flags&immutable != 0:
			refuse = setFailed(name, "can't set immutable config")
		case d.flags&protected != 0:
			refuse = setFailed(name, "can't set protected config")
		}
		// Like Redis 7.0, an alias and its canonical name are different
		// parameters here; the later value wins.
		for j := range i {
			if strings.EqualFold(args[2*j], name) && refuse == nil {
				refuse = setFailed(name, "duplicate parameter")
			}
		}
		ds[i] = d
	}
	if refuse != nil {
		return nil, refuse
	}
	old := *c
	for i, d := range ds {
		value := args[2*i+1]
		vals := []string{value}
		if d.flags&multiArg != 0 {
			vals = strings.Split(value, " ")
			if value == "" {
				vals = nil
			}
		}
		if err := d.set(c, vals); err != nil {
			*c = old
			return nil, setFailed(args[2*i], err.Error())
		}
	}
	for _, d := range ds {
		if d.name == "repl-backlog-size" {
			// Redis clamps the backlog when it applies a new size.
			c.ReplBacklogSize = max(c.ReplBacklogSize, 16*1024)
		}
		if d.get(c) != d.get(&old) && !slices.Contains(changed, d.name) {
			changed = append(changed, d.name)
		}
	}
	if c.OnChange == nil {
		return changed, nil
	}
	for i, name := range changed {
		if err := c.OnChange(name); err != nil {
			*c = old
			for _, done := range changed[:i+1] {
				_ = c.OnChange(done)
			}
			return nil, setFailed(argNameFor(args, name), err.Error())
		}
	}
	return changed, nil
}

func setFailed(name, why string) *SetError {
	return &SetError{fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, why)}
}

// argNameFor returns the name the client used for the directive canonical.
func argNameFor(args []string, canonical string) string {
	for i := 0; i < len(args); i += 2 {
		if d := byName[strings.ToLower(args[i])]; d != nil && d.name == canonical {
			return args[i]
		}
	}
	return canonical
}
