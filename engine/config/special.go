package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// bindDirective: "bind addr [addr ...]". Whether the addresses can be
// bound is for the server to check in OnChange.
func bindDirective() directive {
	return directive{name: "bind", flags: multiArg,
		get: func(c *Config) string { return strings.Join(c.Bind, " ") },
		set: func(c *Config, args []string) error {
			if len(args) > 16 { // CONFIG_BINDADDR_MAX
				return &valueError{"Too many bind addresses specified.", "has more than 16 addresses"}
			}
			if len(args) == 1 && args[0] == "" {
				args = nil
			}
			c.Bind = append([]string(nil), args...)
			return nil
		}}
}

// hzDirective: hz is clamped to 1..500 after it is accepted, as Redis does.
func hzDirective() directive {
	d := intDir("hz", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.Hz })
	set := d.set
	d.set = func(c *Config, args []string) error {
		if err := set(c, args); err != nil {
			return err
		}
		c.Hz = min(max(c.Hz, 1), 500)
		return nil
	}
	return d
}

// dirDirective: CONFIG GET dir answers the absolute directory; REWRITE
// always writes it.
func dirDirective() directive {
	d := strDir("dir", protected, func(c *Config) *string { return &c.Dir })
	d.get = (*Config).absDir
	d.rewrite = func(c *Config, d *directive) ([]string, bool) {
		return []string{d.name + " " + repr(c.absDir())}, true
	}
	return d
}

var errSave = &valueError{"Invalid save parameters", "is not a list of <seconds> <changes> pairs (seconds >= 1)"}

// saveDirective: "save <seconds> <changes> [...]" or save "". In a file,
// the first save line replaces the defaults and later ones add points;
// that state lives in the loader (see parser.saveSeen).
func saveDirective() directive {
	return directive{name: "save", flags: multiArg,
		get: func(c *Config) string {
			parts := make([]string, 0, 2*len(c.Save))
			for _, p := range c.Save {
				parts = append(parts, strconv.FormatInt(p.Seconds, 10), strconv.FormatInt(p.Changes, 10))
			}
			return strings.Join(parts, " ")
		},
		set: func(c *Config, args []string) error {
			points, err := parseSave(args)
			if err != nil {
				return err
			}
			c.Save = points
			return nil
		},
		rewrite: func(c *Config, d *directive) ([]string, bool) {
			if len(c.Save) == 0 {
				return []string{`save ""`}, true
			}
			lines := make([]string, len(c.Save))
			for i, p := range c.Save {
				lines[i] = fmt.Sprintf("save %d %d", p.Seconds, p.Changes)
			}
			return lines, true
		}}
}

// parseSave validates save arguments as setConfigSaveOption does.
func parseSave(args []string) ([]SavePoint, error) {
	if len(args) == 1 && args[0] == "" {
		args = nil
	}
	if len(args)%2 != 0 {
		return nil, errSave
	}
	points := make([]SavePoint, 0, len(args)/2)
	for j := 0; j < len(args); j += 2 {
		secs, ok1 := strtollFull(args[j])
		changes, ok2 := strtollFull(args[j+1])
		if !ok1 || !ok2 || secs < 1 || changes < 0 {
			return nil, errSave
		}
		points = append(points, SavePoint{secs, changes})
	}
	return points, nil
}

// strtollFull is strtoll(s, &end, 10) with *end == '\0' required: leading
// blanks and a sign are allowed, "" is 0, overflow saturates.
func strtollFull(s string) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if t == "" {
		return 0, s == "" // strtoll("") is 0 with end at the NUL
	}
	var v int64
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, false
		}
		if v > (math.MaxInt64-int64(t[i]-'0'))/10 {
			v = math.MaxInt64
			continue
		}
		v = v*10 + int64(t[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

var (
	errCOBLArgs  = &valueError{"Wrong number of arguments in buffer limit configuration.", "is not a list of <class> <hard> <soft> <seconds>"}
	errCOBLClass = &valueError{"Invalid client class specified in buffer limit configuration.", "has a class other than normal, replica (slave) or pubsub"}
	errCOBLValue = &valueError{"Error in hard, soft or soft_seconds setting in buffer limit configuration.", "has an invalid hard, soft or seconds value"}
)

func clientClass(name string) int {
	switch strings.ToLower(name) {
	case "normal":
		return ClassNormal
	case "slave", "replica":
		return ClassReplica
	case "pubsub":
		return ClassPubSub
	}
	return -1
}

// clientOutputBufferLimitDirective: "<class> <hard> <soft> <seconds>"
// groups; classes not named keep their limits.
func clientOutputBufferLimitDirective() directive {
	format := func(b BufferLimit, mem func(uint64) string) string {
		return fmt.Sprintf("%s %s %d", mem(b.HardBytes), mem(b.SoftBytes), b.SoftSeconds)
	}
	plain := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return directive{name: "client-output-buffer-limit", flags: multiArg,
		get: func(c *Config) string {
			parts := make([]string, numClasses)
			for j := range parts {
				parts[j] = classNames[j] + " " + format(c.ClientOutputBufferLimit[j], plain)
			}
			return strings.Join(parts, " ")
		},
		set: func(c *Config, args []string) error {
			if len(args)%4 != 0 {
				return errCOBLArgs
			}
			limits := c.ClientOutputBufferLimit
			for j := 0; j < len(args); j += 4 {
				class := clientClass(args[j])
				if class < 0 {
					return errCOBLClass
				}
				hard, ok1 := memtoull(args[j+1])
				soft, ok2 := memtoull(args[j+2])
				secs, ok3 := strtollFull(args[j+3])
				if !ok1 || !ok2 || !ok3 || int32(secs) < 0 {
					return errCOBLValue
				}
				limits[class] = BufferLimit{hard, soft, int64(int32(secs))}
			}
			c.ClientOutputBufferLimit = limits
			return nil
		},
		rewrite: func(c *Config, d *directive) ([]string, bool) {
			var lines []string
			force := false
			for j := range numClasses {
				b := c.ClientOutputBufferLimit[j]
				force = force || b != defaults.ClientOutputBufferLimit[j]
				mem := func(v uint64) string { return formatMemory(int64(v)) }
				lines = append(lines, d.name+" "+classNames[j]+" "+format(b, mem))
			}
			return lines, force
		}}
}

var errMasterPort = &valueError{"Invalid master port", "has a port outside 0..65535"}

// replicaOfDirective: "replicaof <host> <port>" or "replicaof no one".
func replicaOfDirective() directive {
	return directive{name: "replicaof", aliases: []string{"slaveof"}, flags: immutable | multiArg,
		get: func(c *Config) string {
			if c.ReplicaOfHost == "" {
				return ""
			}
			return c.ReplicaOfHost + " " + strconv.Itoa(c.ReplicaOfPort)
		},
		set: func(c *Config, args []string) error {
			if len(args) != 2 {
				return errWrongArgs
			}
			if strings.EqualFold(args[0], "no") && strings.EqualFold(args[1], "one") {
				c.ReplicaOfHost, c.ReplicaOfPort = "", 0
				return nil
			}
			port, err := strconv.Atoi(args[1])
			if err != nil || port < 0 || port > 65535 {
				return errMasterPort
			}
			c.ReplicaOfHost, c.ReplicaOfPort = args[0], port
			return nil
		},
		rewrite: func(c *Config, d *directive) ([]string, bool) {
			if c.ReplicaOfHost == "" {
				return nil, false
			}
			return []string{fmt.Sprintf("%s %s %d", d.name, c.ReplicaOfHost, c.ReplicaOfPort)}, true
		}}
}

// maxMemoryDirective: an unsigned long long memory value in Redis.
func maxMemoryDirective() directive {
	return directive{name: "maxmemory",
		get:     func(c *Config) string { return strconv.FormatUint(c.MaxMemory, 10) },
		rwValue: func(c *Config) string { return formatMemory(int64(c.MaxMemory)) },
		set: func(c *Config, args []string) error {
			s, err := oneArg(args)
			if err != nil {
				return err
			}
			v, ok := memtoull(s)
			if !ok {
				return errMemory
			}
			c.MaxMemory = v
			return nil
		}}
}

// notifyFlags in the order keyspaceEventsFlagsToString prints them.
var notifyFlags = []struct {
	flag int
	char byte
}{
	{NotifyGeneric, 'g'}, {NotifyString, '$'}, {NotifyList, 'l'}, {NotifySet, 's'},
	{NotifyHash, 'h'}, {NotifyZset, 'z'}, {NotifyExpired, 'x'}, {NotifyEvicted, 'e'},
	{NotifyStream, 't'}, {NotifyModule, 'd'}, {NotifyNew, 'n'},
	{NotifyKeyspace, 'K'}, {NotifyKeyevent, 'E'}, {NotifyKeyMiss, 'm'},
}

// notifyDirective: notify-keyspace-events class characters.
func notifyDirective() directive {
	return directive{name: "notify-keyspace-events",
		get:     func(c *Config) string { return formatNotify(c.NotifyKeyspaceEvents) },
		rwValue: func(c *Config) string { return repr(formatNotify(c.NotifyKeyspaceEvents)) },
		set: func(c *Config, args []string) error {
			s, err := oneArg(args)
			if err != nil {
				return err
			}
			flags := 0
		chars:
			for i := 0; i < len(s); i++ {
				if s[i] == 'A' {
					flags |= NotifyAll
					continue
				}
				for _, f := range notifyFlags {
					if f.char == s[i] {
						flags |= f.flag
						continue chars
					}
				}
				return &valueError{"Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
					"has a character outside 'Ag$lshzxeKEtmdn'"}
			}
			c.NotifyKeyspaceEvents = flags
			return nil
		}}
}

// formatNotify is keyspaceEventsFlagsToString of Redis 7.0, including its
// quirk that "n" is dropped when all of "A" is set.
func formatNotify(flags int) string {
	var b []byte
	all := flags&NotifyAll == NotifyAll
	if all {
		b = append(b, 'A')
	}
	for _, f := range notifyFlags {
		isClass := f.flag&(NotifyAll|NotifyNew) != 0
		if flags&f.flag != 0 && !(all && isClass) {
			b = append(b, f.char)
		}
	}
	return string(b)
}

// NotifyLetters lists the class letters of every flag set in flags, one
// letter per flag ("A" is expanded), for consumers that test one class at
// a time.
func NotifyLetters(flags int) string {
	var b []byte
	for _, f := range notifyFlags {
		if flags&f.flag != 0 {
			b = append(b, f.char)
		}
	}
	return string(b)
}
