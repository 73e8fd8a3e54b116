package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The two loading failures of Redis (aof.c loadSingleAppendOnlyFile). A
// *LoadError matches one of them with errors.Is.
var (
	ErrBadFormat     = errors.New("Bad file format reading the append only file")
	ErrUnexpectedEOF = errors.New("Unexpected end of file reading the append only file")
)

// LoadError locates a loading failure: the file (name in the manifest) and
// the byte offset of the bad or incomplete data. Kind is ErrBadFormat or
// ErrUnexpectedEOF; Detail says what was wrong.
type LoadError struct {
	File   string
	Offset int64
	Kind   error
	Detail string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("%v %s at offset %d: %s", e.Kind, e.File, e.Offset, e.Detail)
}

// Is matches the error's Kind.
func (e *LoadError) Is(target error) bool { return target == e.Kind }

// maxHeaderLine bounds a "*<n>", "$<n>" or "#..." line, newline included
// (AOF_ANNOTATION_LINE_MAX_LEN of Redis).
const maxHeaderLine = 1024

// maxArgc bounds the argument count of one command (Redis reads it with
// atoi into an int).
const maxArgc = 1<<31 - 1

// keepBuf is the largest argument buffer kept between commands.
const keepBuf = 1 << 20

// Reader reads the RESP commands of an AOF (or of the tail after an RDB
// preamble) one at a time. Allocation is bounded by the input: a bulk
// length larger than what remains of the input is reported as a truncation
// at once, and bulk data is read in chunks of at most 1 MiB.
type Reader struct {
	br     *bufio.Reader
	name   string
	off    int64 // offset of the next unread byte
	end    int64 // size of the input, or -1 when unknown
	buf    []byte
	marks  []int
	args   [][]byte
	lineOK bool
}

// NewReader reads commands from br, whose next byte is at offset off of a
// file of size bytes (-1 if unknown); name labels errors.
func NewReader(br *bufio.Reader, name string, off, size int64) *Reader {
	return &Reader{br: br, name: name, off: off, end: size}
}

// Offset is the offset of the next unread byte: after a successful Next,
// the end of the command just returned.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next command and the offset where it starts. Annotation
// lines (starting with '#', like "#TS:<unix time>") are skipped. At a
// clean end of input it returns io.EOF. Any other error is a *LoadError:
// ErrUnexpectedEOF when the input ends inside a command (a torn write; the
// command starts at the returned offset), ErrBadFormat otherwise. The
// arguments alias the Reader's buffer and are valid until the next call.
func (r *Reader) Next() (args [][]byte, start int64, err error) {
	for {
		start = r.off
		line, err := r.line(true)
		if err != nil {
			return nil, start, err
		}
		if line == nil {
			return nil, start, io.EOF
		}
		if len(line) > 0 && line[0] == '#' {
			continue
		}
		if len(line) == 0 || line[0] != '*' {
			return nil, start, r.bad(start, "expected '*', got %q", clip(line))
		}
		argc, ok := parseLen(line[1:])
		if !ok || argc < 1 || argc > maxArgc {
			return nil, start, r.bad(start, "invalid multibulk length %q", clip(line))
		}
		return r.readArgs(start, argc)
	}
}

func (r *Reader) readArgs(start, argc int64) ([][]byte, int64, error) {
	if cap(r.buf) > keepBuf {
		r.buf = nil
	}
	r.buf = r.buf[:0]
	r.marks = r.marks[:0]
	for range argc {
		hdr := r.off
		line, err := r.line(false)
		if errors.Is(err, ErrUnexpectedEOF) {
			// Truncating to the start of the command removes it whole.
			return nil, start, r.eof(start, "end of file inside a command")
		}
		if err != nil {
			return nil, start, err
		}
		if len(line) == 0 || line[0] != '$' {
			return nil, start, r.bad(hdr, "expected '$', got %q", clip(line))
		}
		n, ok := parseLen(line[1:])
		if !ok {
			return nil, start, r.bad(hdr, "invalid bulk length %q", clip(line))
		}
		if r.end >= 0 && n+2 > r.end-r.off {
			return nil, start, r.eof(start, "bulk of %d bytes runs past the end of file", n)
		}
		if err := r.readBulk(n); err != nil {
			return nil, start, r.eof(start, "end of file inside a bulk of %d bytes", n)
		}
		r.marks = append(r.marks, len(r.buf))
		var crlf [2]byte
		got, err := io.ReadFull(r.br, crlf[:])
		r.off += int64(got)
		if err != nil {
			return nil, start, r.eof(start, "end of file after a bulk")
		}
		if crlf != [2]byte{'\r', '\n'} {
			return nil, start, r.bad(r.off-2, "bulk not followed by CRLF (%q)", crlf[:])
		}
	}
	r.args = r.args[:0]
	from := 0
	for _, to := range r.marks {
		r.args = append(r.args, r.buf[from:to:to])
		from = to
	}
	return r.args, start, nil
}

// readBulk appends n bytes of input to r.buf, growing it only as data
// actually arrives.
func (r *Reader) readBulk(n int64) error {
	for n > 0 {
		chunk := int(min(n, keepBuf))
		at := len(r.buf)
		r.buf = append(r.buf, make([]byte, chunk)...)
		got, err := io.ReadFull(r.br, r.buf[at:])
		r.off += int64(got)
		if err != nil {
			return err
		}
		n -= int64(chunk)
	}
	return nil
}

// line reads one header line through '\n'; it must end in "\r\n". When
// first is true and the input ends before the line starts, it returns nil
// and a nil error; any other end of input is an ErrUnexpectedEOF.
func (r *Reader) line(first bool) ([]byte, error) {
	start := r.off
	b, err := r.br.ReadSlice('\n')
	r.off += int64(len(b))
	switch {
	case err == bufio.ErrBufferFull || len(b) > maxHeaderLine:
		return nil, r.bad(start, "line longer than %d bytes", maxHeaderLine)
	case err == io.EOF && len(b) == 0 && first:
		return nil, nil
	case err == io.EOF:
		return nil, r.eof(start, "end of file inside a line")
	case err != nil:
		return nil, fmt.Errorf("read %s at offset %d: %w", r.name, r.off, err)
	}
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return nil, r.bad(start, "line not ended by CRLF: %q", clip(b))
	}
	return b[:len(b)-2], nil
}

// parseLen parses a non-negative decimal length (at most 19 digits, no
// sign).
func parseLen(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func (r *Reader) bad(off int64, format string, a ...any) error {
	return &LoadError{File: r.name, Offset: off, Kind: ErrBadFormat, Detail: fmt.Sprintf(format, a...)}
}

func (r *Reader) eof(off int64, format string, a ...any) error {
	return &LoadError{File: r.name, Offset: off, Kind: ErrUnexpectedEOF, Detail: fmt.Sprintf(format, a...)}
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > 40 {
		return append(b[:40:40], "..."...)
	}
	return b
}
