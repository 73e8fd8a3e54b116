// Package state is the runtime state file that hactl-sentinel owns.
//
// The static configuration (sentinel.conf, rendered by hactl) never carries
// runtime facts. Everything the sentinel learns or decides lives here and is
// rewritten atomically (temporary file, fsync, rename, fsync of the
// directory), so re-rendering the configuration can never erase a
// promotion or change the sentinel's identity.
//
// The pieces:
//   - State and Master: the data (myid, current epoch, per master: current
//     address, epochs, known replicas and sentinels, runtime settings).
//   - Load and Save: the file, in Redis's own sentinel directive syntax
//     ("sentinel myid ...", "sentinel known-replica ..."), so an operator can
//     read it like the state block Redis appends to sentinel.conf.
//   - Marshal and Parse: the same without the file system.
package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hactl/hactl/engine/splitargs"
)

// State is everything a sentinel persists.
type State struct {
	MyID         string
	CurrentEpoch uint64
	Masters      []Master
}

// Master is the persisted view of one monitored master.
type Master struct {
	Name        string
	IP          string
	Port        int
	Quorum      int
	ConfigEpoch uint64
	LeaderEpoch uint64
	Replicas    []Addr
	Sentinels   []Sentinel
	// Settings are options changed at runtime with SENTINEL SET, applied
	// over the static configuration, in order.
	Settings [][2]string
	// Dynamic is set for masters added with SENTINEL MONITOR.
	Dynamic bool
	// Removed marks a master of the static configuration removed with
	// SENTINEL REMOVE.
	Removed bool
}

// Addr is an ip:port pair.
type Addr struct {
	IP   string
	Port int
}

// Sentinel is a known peer sentinel.
type Sentinel struct {
	Addr
	RunID string
}

// Error is a parse error with its line number.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads the state file. A missing file gives an empty State and no
// error.
func Load(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read state: %w", err)
	}
	return Parse(path, b)
}

// Save writes the state file atomically.
func Save(path string, s State) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".sentinel-state-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(Marshal(s)); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Quote returns s as one sentinel.conf argument, quoted when needed.
func Quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"'\\") && isPrintable(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Marshal renders the state in sentinel directive syntax.
func Marshal(s State) []byte {
	var b bytes.Buffer
	b.WriteString("# hactl-sentinel runtime state. Owned and rewritten by the sentinel; do not edit.\n")
	if s.MyID != "" {
		fmt.Fprintf(&b, "sentinel myid %s\n", s.MyID)
	}
	fmt.Fprintf(&b, "sentinel current-epoch %d\n", s.CurrentEpoch)
	ms := append([]Master(nil), s.Masters...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	for _, m := range ms {
		n := Quote(m.Name)
		if m.Removed {
			fmt.Fprintf(&b, "sentinel removed %s\n", n)
			continue
		}
		kw := "monitor"
		if m.Dynamic {
			kw = "dynamic-monitor"
		}
		fmt.Fprintf(&b, "sentinel %s %s %s %d %d\n", kw, n, Quote(m.IP), m.Port, m.Quorum)
		fmt.Fprintf(&b, "sentinel config-epoch %s %d\n", n, m.ConfigEpoch)
		fmt.Fprintf(&b, "sentinel leader-epoch %s %d\n", n, m.LeaderEpoch)
		for _, kv := range m.Settings {
			fmt.Fprintf(&b, "sentinel set %s %s %s\n", n, Quote(kv[0]), Quote(kv[1]))
		}
		for _, r := range m.Replicas {
			fmt.Fprintf(&b, "sentinel known-replica %s %s %d\n", n, Quote(r.IP), r.Port)
		}
		for _, p := range m.Sentinels {
			fmt.Fprintf(&b, "sentinel known-sentinel %s %s %d %s\n", n, Quote(p.IP), p.Port, p.RunID)
		}
	}
	return b.Bytes()
}

// Parse reads state text; file names the source in errors.
func Parse(file string, text []byte) (State, error) {
	var s State
	idx := map[string]int{}
	get := func(ln int, name string) (*Master, error) {
		i, ok := idx[name]
		if !ok {
			return nil, &Error{file, ln, fmt.Sprintf("master %q used before its monitor line", name)}
		}
		return &s.Masters[i], nil
	}
	for ln, line := range bytes.Split(text, []byte("\n")) {
		ln++
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		raw, err := splitargs.Split(line)
		if err != nil {
			return State{}, &Error{file, ln, err.Error()}
		}
		a := make([]string, len(raw))
		for i, r := range raw {
			a[i] = string(r)
		}
		if len(a) < 2 || !strings.EqualFold(a[0], "sentinel") {
			return State{}, &Error{file, ln, "expected a sentinel directive"}
		}
		bad := func(msg string) error { return &Error{file, ln, msg} }
		num := func(v string) (uint64, error) {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, bad(fmt.Sprintf("invalid number %q", v))
			}
			return n, nil
		}
		port := func(v string) (int, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 65535 {
				return 0, bad(fmt.Sprintf("invalid port %q", v))
			}
			return n, nil
		}
		switch d, args := strings.ToLower(a[1]), a[2:]; {
		case d == "myid" && len(args) == 1:
			if len(args[0]) != 40 {
				return State{}, bad("myid must be 40 characters")
			}
			s.MyID = args[0]
		case d == "current-epoch" && len(args) == 1:
			if s.CurrentEpoch, err = num(args[0]); err != nil {
				return State{}, err
			}
		case (d == "monitor" || d == "dynamic-monitor") && len(args) == 4:
			p, err := port(args[2])
			if err != nil {
				return State{}, err
			}
			q, err := num(args[3])
			if err != nil {
				return State{}, err
			}
			idx[args[0]] = len(s.Masters)
			s.Masters = append(s.Masters, Master{Name: args[0], IP: args[1], Port: p, Quorum: int(q), Dynamic: d == "dynamic-monitor"})
		case d == "removed" && len(args) == 1:
			s.Masters = append(s.Masters, Master{Name: args[0], Removed: true})
		case (d == "config-epoch" || d == "leader-epoch") && len(args) == 2:
			m, err := get(ln, args[0])
			if err != nil {
				return State{}, err
			}
			n, err := num(args[1])
			if err != nil {
				return State{}, err
			}
			if d == "config-epoch" {
				m.ConfigEpoch = n
			} else {
				m.LeaderEpoch = n
			}
		case d == "set" && len(args) == 3:
			m, err := get(ln, args[0])
			if err != nil {
				return State{}, err
			}
			m.Settings = append(m.Settings, [2]string{args[1], args[2]})
		case (d == "known-replica" || d == "known-slave") && len(args) == 3:
			m, err := get(ln, args[0])
			if err != nil {
				return State{}, err
			}
			p, err := port(args[2])
			if err != nil {
				return State{}, err
			}
			m.Replicas = append(m.Replicas, Addr{args[1], p})
		case d == "known-sentinel" && len(args) == 4:
			m, err := get(ln, args[0])
			if err != nil {
				return State{}, err
			}
			p, err := port(args[2])
			if err != nil {
				return State{}, err
			}
			m.Sentinels = append(m.Sentinels, Sentinel{Addr{args[1], p}, args[3]})
		default:
			return State{}, bad(fmt.Sprintf("unknown or malformed directive %q", strings.Join(a, " ")))
		}
	}
	return s, nil
}
