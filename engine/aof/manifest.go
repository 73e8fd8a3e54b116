package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hactl/hactl/engine/splitargs"
)

// FileType is the type letter of a manifest entry.
type FileType byte

// The manifest file types of Redis 7.0 (src/server.h AOF_FILE_TYPE_*).
const (
	TypeBase    FileType = 'b'
	TypeHistory FileType = 'h'
	TypeIncr    FileType = 'i'
)

// FileInfo is one manifest line: a file name (bare, inside the AOF
// directory), its sequence number and its type.
type FileInfo struct {
	Name string
	Seq  int64
	Type FileType
}

// Manifest is the parsed content of <appendfilename>.manifest.
//
// BaseSeq and IncrSeq are the counters new names are built from (Redis's
// curr_base_file_seq and curr_incr_file_seq): the seq of the base entry and
// of the last incr entry as read, then advanced by each new file. History
// entries do not move them.
type Manifest struct {
	Base    *FileInfo
	History []FileInfo
	Incr    []FileInfo
	BaseSeq int64
	IncrSeq int64
}

// manifestMaxLine is MANIFEST_MAX_LINE of aof.c: fgets reads at most this
// many bytes of a line at a time.
const manifestMaxLine = 1024

// The manifest error messages of aof.c (aofLoadManifestFromFile).
const (
	msgEmptyManifest   = "Found an empty AOF manifest"
	msgReadFailed      = "Read AOF manifest failed"
	msgLongLine        = "The AOF manifest file contains too long line"
	msgInvalidFormat   = "Invalid AOF manifest file format"
	msgNotBaseName     = "File can't be a path, just a filename"
	msgDuplicateBase   = "Found duplicate base file information"
	msgNonMonotonicSeq = "Found a non-monotonic sequence number"
	msgUnknownType     = "Unknown AOF file type"
)

// ErrManifest is matched (errors.Is) by every *ManifestError.
var ErrManifest = errors.New("aof: invalid manifest")

// ManifestError reports a manifest that Redis 7.0.15 would refuse at
// start-up. Msg is Redis's own message; Line (1-based, 0 when the error is
// not about one line) and Text locate it.
type ManifestError struct {
	File string
	Line int
	Text string
	Msg  string
	Err  error // underlying I/O error, if any
}

func (e *ManifestError) Error() string {
	s := "aof manifest " + e.File
	if e.Line > 0 {
		s += fmt.Sprintf(" line %d (%q)", e.Line, e.Text)
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrManifest) true.
func (e *ManifestError) Is(target error) bool { return target == ErrManifest }

// Unwrap returns the underlying I/O error.
func (e *ManifestError) Unwrap() error { return e.Err }

// ReadManifest reads and validates a manifest file. A missing file gives an
// error matching os.ErrNotExist.
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open aof manifest: %w", err)
	}
	defer f.Close()
	return ParseManifest(f, path)
}

// ParseManifest parses a manifest exactly as aofLoadManifestFromFile of
// Redis 7.0.15: the input is read in fgets chunks of at most 1024 bytes; a
// chunk starting with '#' is a comment; any other chunk must hold a whole
// line ending in '\n' (so the last line needs its newline too); the
// trimmed line is split like sdssplitargs and needs an even number of at
// least six tokens with the keys file, seq and type (case-insensitive, in
// any order; unknown keys are ignored; a repeated key overrides); the name
// may not contain '/' or '\', seq is read as atoll and must be non-zero,
// the type is the first byte of its value. At most one base; incr seqs
// strictly increase. name labels errors.
func ParseManifest(r io.Reader, name string) (*Manifest, error) {
	br := bufio.NewReaderSize(r, 4096)
	m := &Manifest{}
	var maxSeq int64
	fail := func(line int, text []byte, msg string, err error) (*Manifest, error) {
		return nil, &ManifestError{File: name, Line: line, Text: string(text), Msg: msg, Err: err}
	}
	for lineno := 0; ; {
		chunk, err := fgets(br, manifestMaxLine)
		if len(chunk) == 0 {
			if err == io.EOF {
				if lineno == 0 {
					return fail(0, nil, msgEmptyManifest, nil)
				}
				return m, nil
			}
			return fail(0, nil, msgReadFailed, err)
		}
		lineno++
		if chunk[0] == '#' {
			continue
		}
		// strchr(buf, '\n') in Redis: the C string ends at a NUL.
		if bytes.IndexByte(cString(chunk), '\n') < 0 {
			return fail(lineno, cString(chunk), msgLongLine, nil)
		}
		line := bytes.Trim(cString(chunk), " \t\r\n")
		if len(line) == 0 {
			return fail(lineno, line, msgInvalidFormat, nil)
		}
		argv, err := splitargs.Split(line)
		if err != nil || len(argv) < 6 || len(argv)%2 != 0 {
			return fail(lineno, line, msgInvalidFormat, nil)
		}
		var fi FileInfo
		hasName := false
		for i := 0; i < len(argv); i += 2 {
			key, val := argv[i], argv[i+1]
			switch {
			case bytes.EqualFold(key, []byte("file")):
				fi.Name, hasName = string(cString(val)), true
				if bytes.ContainsAny([]byte(fi.Name), `/\`) {
					return fail(lineno, line, msgNotBaseName, nil)
				}
			case bytes.EqualFold(key, []byte("seq")):
				fi.Seq = atoll(val)
			case bytes.EqualFold(key, []byte("type")):
				fi.Type = 0
				if len(val) > 0 {
					fi.Type = FileType(val[0])
				}
			}
		}
		if !hasName || fi.Seq == 0 || fi.Type == 0 {
			return fail(lineno, line, msgInvalidFormat, nil)
		}
		switch fi.Type {
		case TypeBase:
			if m.Base != nil {
				return fail(lineno, line, msgDuplicateBase, nil)
			}
			b := fi
			m.Base, m.BaseSeq = &b, fi.Seq
		case TypeHistory:
			m.History = append(m.History, fi)
		case TypeIncr:
			if fi.Seq <= maxSeq {
				return fail(lineno, line, msgNonMonotonicSeq, nil)
			}
			m.Incr = append(m.Incr, fi)
			m.IncrSeq, maxSeq = fi.Seq, fi.Seq
		default:
			return fail(lineno, line, msgUnknownType, nil)
		}
	}
}

// fgets returns the next chunk as C's fgets(buf, max+1, fp) would: up to
// and including '\n', at most max bytes. The chunk is only valid until the
// next read.
func fgets(br *bufio.Reader, max int) ([]byte, error) {
	b, err := br.Peek(max)
	if len(b) == 0 {
		return nil, err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	_, _ = br.Discard(len(b))
	return b, nil
}

// cString cuts b at its first NUL, as a C string ends there.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// atoll is C's atoll on glibc: leading blanks, an optional sign, then
// decimal digits up to the first non-digit; overflow saturates.
func atoll(b []byte) int64 {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var n uint64
	over := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if n > (1<<63-d)/10 {
			over = true
			continue
		}
		n = n*10 + d
	}
	switch {
	case neg && (over || n > 1<<63):
		return -1 << 63
	case neg:
		return -int64(n)
	case over || n > 1<<63-1:
		return 1<<63 - 1
	}
	return int64(n)
}

// Format renders the manifest as Redis writes it (getAofManifestAsString):
// the base first, then history, then incr entries, one line each, the name
// quoted like sdscatrepr when it needs it.
func (m *Manifest) Format() []byte {
	var b []byte
	line := func(fi FileInfo) {
		b = append(b, "file "...)
		b = appendName(b, fi.Name)
		b = append(b, " seq "...)
		b = strconv.AppendInt(b, fi.Seq, 10)
		b = append(b, " type "...)
		b = append(b, byte(fi.Type), '\n')
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, fi := range m.History {
		line(fi)
	}
	for _, fi := range m.Incr {
		line(fi)
	}
	return b
}

// LoadOrder lists the files to load: the base (if any), then every incr
// file in manifest order. History files are not loaded.
func (m *Manifest) LoadOrder() []FileInfo {
	var out []FileInfo
	if m.Base != nil {
		out = append(out, *m.Base)
	}
	return append(out, m.Incr...)
}

// Clone returns a deep copy, so a change can be prepared and dropped if
// persisting it fails (Redis's aofManifestDup).
func (m *Manifest) Clone() *Manifest {
	c := &Manifest{BaseSeq: m.BaseSeq, IncrSeq: m.IncrSeq}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	c.History = append([]FileInfo(nil), m.History...)
	c.Incr = append([]FileInfo(nil), m.Incr...)
	return c
}

// appendName writes a file name bare when it is made of printable,
// non-blank bytes other than '\' and '"' (sdsneedsrepr is false), else
// quoted with escapes as sdscatrepr, which splitargs reads back. One
// deliberate difference: an empty name or one with a single quote is
// quoted too (Redis writes it bare and then cannot read its own manifest).
func appendName(b []byte, name string) []byte {
	plain := name != ""
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c > ' ' && c < 0x7f && c != '\\' && c != '"' && c != '\''
	}
	if plain {
		return append(b, name...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		c := name[i]
		if e := strings.IndexByte("\\\"\n\r\t\a\b", c); e >= 0 {
			b = append(b, '\\', "\\\"nrtab"[e])
		} else if c < ' ' || c >= 0x7f {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return append(b, '"')
}
