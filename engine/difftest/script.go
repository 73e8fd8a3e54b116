package difftest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/engine/splitargs"
)

// Compare says how the replies of one step are compared.
type Compare int

// Comparison modes.
const (
	// CompareExact compares the raw bytes.
	CompareExact Compare = iota
	// CompareApprox accepts two integer replies within Step.Tolerance.
	CompareApprox
	// CompareSorted compares the elements of aggregate replies as multisets
	// (map replies as multisets of key/value pairs).
	CompareSorted
	// CompareType compares only the RESP type byte.
	CompareType
	// CompareScanAll follows a SCAN-family cursor to 0 and compares the set
	// of returned elements.
	CompareScanAll
)

// Kind says what a step sends.
type Kind int

// Step kinds.
const (
	// KindCommand sends Args as a multibulk request and reads one reply.
	KindCommand Kind = iota
	// KindInline sends Raw (the line verbatim plus CRLF) and reads one reply.
	KindInline
	// KindRaw sends Raw, reads one reply if any arrives and then checks
	// whether the server closed the connection.
	KindRaw
	// KindSleep waits for Sleep.
	KindSleep
	// KindConn switches to the connection named Conn.
	KindConn
	// KindRead sends nothing and reads one reply (pushed pub/sub messages,
	// the second confirmation of SUBSCRIBE a b).
	KindRead
	// KindSend sends Args and reads nothing: a blocking command whose
	// reply a later !read collects.
	KindSend
)

// Step is one executable line of a script.
type Step struct {
	Line       int
	Text       string
	Kind       Kind
	Compare    Compare
	Tolerance  int64
	Args       [][]byte
	Raw        []byte
	Sleep      time.Duration
	Conn       string
	SkipEngine string
}

// Script is a parsed scenario file.
type Script struct {
	Name   string
	Config []string
	Steps  []Step
}

// maxSleep bounds !sleep so that no scenario can stall the suite.
const maxSleep = 5 * time.Second

// ParseScript parses a scenario. The format, one item per line:
//
//	# comment (blank lines are ignored too)
//	SET key "va\x00lue"          a command in redis-cli quoting (engine/splitargs)
//	!approx 2 TTL key            integer replies equal within 2
//	!sorted KEYS *               aggregate replies compared as multisets
//	!type TIME                   compare only the RESP type byte
//	!scanall SCAN 0 MATCH a*     follow the cursor to 0, compare the sets
//	!sleep 120ms                 wait (at most 5s)
//	!conn NAME                   switch connection (created on first use)
//	!inline ECHO "a\x41"         send the rest of the line verbatim plus CRLF (the
//	                             server parses the quoting), read one reply
//	!raw *1\r\n$4\r\nPING\r\n    send exact bytes (Unescape), read a reply if one comes,
//	                             and compare whether the server closed the connection
//	!config requirepass secret   extra server argument, only before the first step
//	!skip-engine reason          the next step is not compared against the engine
//	!read                        send nothing, read one reply (pushed messages)
//	!send BLPOP k 0              send a command, read nothing (a later !read does)
func ParseScript(name, text string) (*Script, error) {
	s := &Script{Name: name}
	skip := ""
	skipLine := 0
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		st, cfg, reason, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		switch {
		case cfg != nil:
			if len(s.Steps) > 0 {
				return nil, fmt.Errorf("%s:%d: !config after the first step", name, n)
			}
			s.Config = append(s.Config, cfg...)
			continue
		case reason != "":
			if skip != "" {
				return nil, fmt.Errorf("%s:%d: two !skip-engine in a row", name, n)
			}
			skip, skipLine = reason, n
			continue
		}
		st.Line, st.Text, st.SkipEngine = n, line, skip
		if skip != "" && (st.Kind == KindSleep || st.Kind == KindConn) {
			return nil, fmt.Errorf("%s:%d: !skip-engine before a line that sends nothing", name, n)
		}
		skip = ""
		s.Steps = append(s.Steps, st)
	}
	if skip != "" {
		return nil, fmt.Errorf("%s:%d: !skip-engine at end of file", name, skipLine)
	}
	return s, nil
}

// parseLine parses one non-blank, non-comment line. It returns either a step,
// server arguments (!config) or a skip reason (!skip-engine).
func parseLine(line string) (st Step, cfg []string, reason string, err error) {
	if line[0] != '!' {
		st.Args, err = splitCommand(line)
		return st, nil, "", err
	}
	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch word {
	case "!config":
		args, err := splitargs.Split([]byte(rest))
		if err != nil || len(args) < 2 {
			return st, nil, "", fmt.Errorf("!config wants a name and a value: %q", rest)
		}
		cfg = []string{"--" + string(args[0])}
		for _, a := range args[1:] {
			cfg = append(cfg, string(a))
		}
		return st, cfg, "", nil
	case "!skip-engine":
		if rest == "" {
			return st, nil, "", errors.New("!skip-engine wants a reason")
		}
		return st, nil, rest, nil
	case "!read":
		return Step{Kind: KindRead}, nil, "", nil
	case "!send":
		args, err := splitCommand(rest)
		if err != nil {
			return st, nil, "", err
		}
		return Step{Kind: KindSend, Args: args}, nil, "", nil
	case "!sleep":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 || d > maxSleep {
			return st, nil, "", fmt.Errorf("!sleep wants a duration up to %v: %q", maxSleep, rest)
		}
		return Step{Kind: KindSleep, Sleep: d}, nil, "", nil
	case "!conn":
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return st, nil, "", fmt.Errorf("!conn wants one name: %q", rest)
		}
		return Step{Kind: KindConn, Conn: rest}, nil, "", nil
	case "!inline":
		if rest == "" {
			return st, nil, "", errors.New("!inline wants a request line")
		}
		// Sent verbatim: the server's own inline quoting is under test.
		return Step{Kind: KindInline, Raw: []byte(rest + "\r\n")}, nil, "", nil
	case "!raw":
		raw, err := Unescape(rest)
		if err != nil {
			return st, nil, "", fmt.Errorf("!raw: %w", err)
		}
		if len(raw) == 0 {
			return st, nil, "", errors.New("!raw wants bytes")
		}
		return Step{Kind: KindRaw, Raw: raw}, nil, "", nil
	case "!sorted", "!type", "!scanall":
		st.Compare = map[string]Compare{
			"!sorted": CompareSorted, "!type": CompareType, "!scanall": CompareScanAll,
		}[word]
		st.Args, err = splitCommand(rest)
		if err == nil && st.Compare == CompareScanAll {
			_, err = cursorIndex(st.Args)
		}
		return st, nil, "", err
	case "!approx":
		tol, cmd, _ := strings.Cut(rest, " ")
		st.Compare = CompareApprox
		st.Tolerance, err = strconv.ParseInt(tol, 10, 64)
		if err != nil || st.Tolerance < 0 {
			return st, nil, "", fmt.Errorf("!approx wants a tolerance: %q", tol)
		}
		st.Args, err = splitCommand(cmd)
		return st, nil, "", err
	}
	return st, nil, "", fmt.Errorf("unknown directive %q", word)
}

func splitCommand(s string) ([][]byte, error) {
	args, err := splitargs.Split([]byte(s))
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	return args, nil
}

// cursorIndex returns the position of the cursor argument of a SCAN-family
// command: 1 for SCAN, 2 for SSCAN/HSCAN/ZSCAN.
func cursorIndex(args [][]byte) (int, error) {
	i := 2
	if strings.EqualFold(string(args[0]), "scan") {
		i = 1
	}
	if len(args) <= i {
		return 0, fmt.Errorf("!scanall: %q has no cursor argument", args[0])
	}
	return i, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// maxRepeat bounds the bytes one {{repeat}} may produce.
const maxRepeat = 1 << 20

// Unescape turns the text of !raw and !inline into bytes. It knows \r \n \t
// \0 \\ and \xHH, and {{repeat N text}}, which stands for text (itself
// unescaped) repeated N times, for oversized requests.
func Unescape(s string) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '{' && strings.HasPrefix(s[i:], "{{repeat ") {
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				return nil, errors.New("{{repeat without }}")
			}
			nStr, text, ok := strings.Cut(s[i+len("{{repeat "):i+end], " ")
			n, err := strconv.Atoi(nStr)
			if !ok || err != nil || n < 0 {
				return nil, fmt.Errorf("bad repeat %q", s[i:i+end+2])
			}
			unit, err := Unescape(text)
			if err != nil {
				return nil, err
			}
			if n*len(unit) > maxRepeat {
				return nil, fmt.Errorf("repeat makes more than %d bytes", maxRepeat)
			}
			out = append(out, []byte(strings.Repeat(string(unit), n))...)
			i += end + 1
			continue
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 == len(s) {
			return nil, errors.New("trailing backslash")
		}
		i++
		switch s[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, 0)
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return nil, fmt.Errorf("bad \\x escape at byte %d", i)
			}
			b, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			out = append(out, byte(b))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return out, nil
}
