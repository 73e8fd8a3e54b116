package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hactl/hactl/engine/splitargs"
	"github.com/hactl/hactl/internal/textdist"
)

// Error is a configuration error at a place in a file (or on the command
// line, File "(command line)" and Line the position of the option).
type Error struct {
	File      string
	Line      int
	Directive string // "" when the line has no usable directive
	Msg       string
}

func (e *Error) Error() string {
	if e.Directive == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Directive, e.Msg)
}

// maxIncludeDepth bounds nested include directives (and include loops).
const maxIncludeDepth = 10

// commandLine is the File of errors in overrides.
const commandLine = "(command line)"

// loader carries the state of one Load or Parse.
type loader struct {
	c        *Config
	saveSeen bool   // a save line replaced the default save points
	daemon   *Error // where daemonize yes was last set, if it still is
	depth    int
}

// Parse reads a configuration in redis.conf syntax from r on top of the
// defaults; name is used in errors and warnings. Include paths are opened
// as redis-server does, relative to the current directory.
func Parse(r io.Reader, name string) (*Config, error) {
	l := &loader{c: Default()}
	if err := l.read(r, name); err != nil {
		return nil, err
	}
	return l.finish()
}

// Load reads the file at path (none when path is "") and then the
// redis-server style command line overrides, such as
// []string{"--port", "7000", "--save", ""}, which win as they come later.
func Load(path string, overrides []string) (*Config, error) {
	l := &loader{c: Default()}
	if path != "" {
		if err := l.include(path); err != nil {
			return nil, err
		}
	}
	lines, err := overrideLines(overrides)
	if err != nil {
		return nil, err
	}
	for _, ln := range lines {
		if err := l.apply(commandLine, ln.pos, ln.args); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

type overrideLine struct {
	pos  int
	args []string
}

// overrideLines groups "--name value..." words into directive lines, as
// redis-server turns its arguments into config text. A bare "--save" is
// save "".
func overrideLines(words []string) ([]overrideLine, error) {
	var lines []overrideLine
	for i, w := range words {
		if strings.HasPrefix(w, "--") && len(w) > 2 {
			lines = append(lines, overrideLine{pos: i + 1, args: []string{w[2:]}})
			continue
		}
		if len(lines) == 0 {
			return nil, &Error{File: commandLine, Line: i + 1, Msg: fmt.Sprintf("expected an option like --port, got %q", w)}
		}
		last := &lines[len(lines)-1]
		last.args = append(last.args, w)
	}
	for i := range lines {
		if len(lines[i].args) == 1 && strings.EqualFold(lines[i].args[0], "save") {
			lines[i].args = append(lines[i].args, "")
		}
	}
	return lines, nil
}

func (l *loader) include(path string) error {
	if l.depth >= maxIncludeDepth {
		return fmt.Errorf("config: include %s: nested deeper than %d files", path, maxIncludeDepth)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	l.depth++
	defer func() { l.depth-- }()
	return l.read(f, path)
}

func (l *loader) read(r io.Reader, name string) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if line != "" {
			if lerr := l.line(name, n, line); lerr != nil {
				return lerr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("config: read %s: %w", name, err)
		}
	}
}

// lineArgs splits one line of a config file; nil for blanks and comments.
func lineArgs(line string) ([]string, error) {
	line = strings.Trim(line, " \t\r\n")
	if line == "" || line[0] == '#' {
		return nil, nil
	}
	return splitStrings(line)
}

func splitStrings(s string) ([]string, error) {
	parts, err := splitargs.Split([]byte(s))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out, nil
}

func (l *loader) line(name string, n int, line string) error {
	args, err := lineArgs(line)
	if err != nil {
		return &Error{File: name, Line: n, Msg: "unbalanced quotes in configuration line"}
	}
	if len(args) == 0 {
		return nil
	}
	return l.apply(name, n, args)
}

// apply sets one directive line: args[0] is the name.
func (l *loader) apply(file string, n int, args []string) error {
	key := strings.ToLower(args[0])
	errAt := func(dir, msg string) error { return &Error{File: file, Line: n, Directive: dir, Msg: msg} }
	d := byName[key]
	if d == nil {
		return l.other(file, n, key, args)
	}
	vals := args[1:]
	if d.flags&multiArg == 0 && len(vals) != 1 {
		return errAt(key, errWrongArgs.redis)
	}
	if d.flags&multiArg != 0 && len(vals) == 1 && vals[0] != "" {
		// One quoted argument holds several words: --save "60 1".
		split, err := splitStrings(vals[0])
		if err != nil {
			return errAt(key, "unbalanced quotes in value")
		}
		vals = split
	}
	if err := l.set(d, vals); err != nil {
		return errAt(key, describe(d, vals, err))
	}
	if d.name == "daemonize" {
		l.daemon = nil
		if l.c.Daemonize {
			l.daemon = &Error{File: file, Line: n, Directive: key}
		}
	}
	return nil
}

// set applies vals to l.c; save lines accumulate within one load.
func (l *loader) set(d *directive, vals []string) error {
	if d.name != "save" {
		return d.set(l.c, vals)
	}
	points, err := parseSave(vals)
	if err != nil {
		return err
	}
	if !l.saveSeen || len(points) == 0 {
		l.c.Save = nil
	}
	l.saveSeen = true
	l.c.Save = append(l.c.Save, points...)
	return nil
}

// describe words a rejected value for a file error, never showing a
// secret.
func describe(d *directive, vals []string, err error) string {
	var ve *valueError
	if !errors.As(err, &ve) || ve.want == "" {
		return err.Error()
	}
	if d.flags&sensitive != 0 {
		return "value " + ve.want
	}
	return fmt.Sprintf("value %q %s", strings.Join(vals, " "), ve.want)
}

// other handles the names that are not in the directive table.
func (l *loader) other(file string, n int, key string, args []string) error {
	errAt := func(msg string) error { return &Error{File: file, Line: n, Directive: key, Msg: msg} }
	switch key {
	case "include":
		if len(args) != 2 {
			return errAt(errWrongArgs.redis)
		}
		return l.include(args[1])
	case "rename-command":
		return errAt("not supported by hactl-engine: restrict commands with ACL rules in the aclfile instead")
	case "user":
		// Checked against the command table when the server starts, like
		// Redis's ACLAppendUserForLoading.
		if len(args) < 2 {
			return errAt(errWrongArgs.redis)
		}
		l.c.Users = append(l.c.Users, append([]string(nil), args[1:]...))
		return nil
	case "loadmodule":
		return errAt("modules are not supported by hactl-engine")
	case "sentinel":
		return errAt("sentinel directives belong in the hactl-sentinel configuration")
	}
	if _, ok := ignored[key]; ok {
		l.c.Warnings = append(l.c.Warnings, fmt.Sprintf("%s:%d: %s: accepted but has no effect in hactl-engine", file, n, key))
		return nil
	}
	msg := fmt.Sprintf("unknown directive %q", args[0])
	if hint := closest(key); hint != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", hint)
	}
	return &Error{File: file, Line: n, Msg: msg}
}

// closest returns the known name nearest to key, or "" when none is close.
func closest(key string) string {
	best, bestDist := "", max(2, len(key)/3)+1
	consider := func(name string) {
		if dist := textdist.Levenshtein(key, name); dist < bestDist || (dist == bestDist && best != "" && name < best) {
			best, bestDist = name, dist
		}
	}
	for name := range byName {
		consider(name)
	}
	for name := range ignored {
		consider(name)
	}
	for _, name := range []string{"include", "rename-command", "user", "loadmodule"} {
		consider(name)
	}
	return best
}

// finish checks what only the whole configuration can tell.
func (l *loader) finish() (*Config, error) {
	if e := l.daemon; e != nil {
		e.Msg = `"yes" is not supported: hactl-engine runs in the foreground under systemd (set "daemonize no" and "supervised systemd")`
		return nil, e
	}
	return l.c, nil
}
