package resp

import (
	"bytes"
	"errors"
)

// Limits copied from Redis 7.0 (server.h).
const (
	// MaxInlineSize is PROTO_INLINE_MAX_SIZE: the longest inline request or
	// count line accepted without a terminating newline.
	MaxInlineSize = 64 * 1024
	// UnauthMaxArgs and UnauthMaxBulk bound requests of clients that have
	// not authenticated yet while a password is required.
	UnauthMaxArgs = 10
	UnauthMaxBulk = 16384
	maxArgs       = 1<<31 - 1
)

// ProtocolError is a malformed request. Its text is what Redis replies after
// "ERR "; the connection must be closed after replying.
type ProtocolError string

func (e ProtocolError) Error() string { return "Protocol error: " + string(e) }

// Protocol errors with Redis's exact wording.
var (
	ErrTooBigInline     = ProtocolError("too big inline request")
	ErrTooBigMbulkCount = ProtocolError("too big mbulk count string")
	ErrTooBigBulkCount  = ProtocolError("too big bulk count string")
	ErrInvalidMbulkLen  = ProtocolError("invalid multibulk length")
	ErrInvalidBulkLen   = ProtocolError("invalid bulk length")
	ErrUnbalancedQuotes = ProtocolError("unbalanced quotes in request")
	ErrUnauthMbulkLen   = ProtocolError("unauthenticated multibulk length")
	ErrUnauthBulkLen    = ProtocolError("unauthenticated bulk length")
)

// ErrIncomplete reports that the buffer does not yet hold a whole request.
var ErrIncomplete = errors.New("resp: incomplete request")

// Parser parses requests from a caller-owned buffer. The zero value is
// ready to use with Redis's default limits.
type Parser struct {
	// MaxBulk is proto-max-bulk-len; 0 means 512 MB.
	MaxBulk int64
	// Unauthenticated applies the stricter limits for clients that have not
	// authenticated while a password is required.
	Unauthenticated bool

	// need is the buffer length below which the pending request cannot be
	// complete; it avoids re-parsing a large request on every read.
	need int
}

// Parse parses one request from the start of buf and appends its arguments
// to argv. It returns the extended argv and the number of bytes consumed.
// n == 0 with err == ErrIncomplete means more input is needed; a
// ProtocolError means the connection must be answered and closed. A request
// that carries no command (an empty inline line, "*0") returns n > 0 and no
// new arguments. Arguments alias buf, except unescaped quoted inline
// arguments.
func (p *Parser) Parse(buf []byte, argv [][]byte) (out [][]byte, n int, err error) {
	if len(buf) == 0 || len(buf) < p.need {
		return argv, 0, ErrIncomplete
	}
	base := len(argv)
	if buf[0] == '*' {
		out, n, err = p.parseMultibulk(buf, argv)
	} else {
		out, n, err = p.parseInline(buf, argv)
	}
	if err != nil {
		return argv[:base], 0, err
	}
	p.need = 0
	return out, n, nil
}

func (p *Parser) maxBulk() int64 {
	if p.Unauthenticated {
		return UnauthMaxBulk
	}
	if p.MaxBulk > 0 {
		return p.MaxBulk
	}
	return 512 << 20
}

// parseLine returns the index of the '\r' ending the line that starts at
// buf[from] (the '\n' must follow), or -1 when not yet complete.
func lineEnd(buf []byte, from int) int {
	i := bytes.IndexByte(buf[from:], '\r')
	if i < 0 {
		return -1
	}
	return from + i
}

func (p *Parser) parseMultibulk(buf []byte, args [][]byte) ([][]byte, int, error) {
	end := lineEnd(buf, 1)
	if end < 0 {
		if len(buf) > MaxInlineSize {
			return args, 0, ErrTooBigMbulkCount
		}
		return args, 0, ErrIncomplete
	}
	if end+1 >= len(buf) {
		return args, 0, ErrIncomplete
	}
	count, ok := parseInt(buf[1:end])
	if !ok || count > maxArgs {
		return args, 0, ErrInvalidMbulkLen
	}
	if p.Unauthenticated && count > UnauthMaxArgs {
		return args, 0, ErrUnauthMbulkLen
	}
	pos := end + 2
	if count <= 0 {
		return args, pos, nil
	}
	maxBulk := p.maxBulk()
	for i := int64(0); i < count; i++ {
		if pos >= len(buf) {
			return args, 0, ErrIncomplete
		}
		if buf[pos] != '$' {
			return args, 0, ProtocolError("expected '$', got '" + string(buf[pos]) + "'")
		}
		end = lineEnd(buf, pos+1)
		if end < 0 {
			if len(buf)-pos > MaxInlineSize {
				return args, 0, ErrTooBigBulkCount
			}
			return args, 0, ErrIncomplete
		}
		if end+1 >= len(buf) {
			return args, 0, ErrIncomplete
		}
		blen, ok := parseInt(buf[pos+1 : end])
		if !ok || blen < 0 || blen > maxBulk {
			if p.Unauthenticated && ok && blen > maxBulk {
				return args, 0, ErrUnauthBulkLen
			}
			return args, 0, ErrInvalidBulkLen
		}
		start := end + 2
		stop := start + int(blen)
		if stop+2 > len(buf) {
			p.need = stop + 2
			return args, 0, ErrIncomplete
		}
		args = append(args, buf[start:stop:stop])
		pos = stop + 2
	}
	return args, pos, nil
}

func (p *Parser) parseInline(buf []byte, args [][]byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		if len(buf) > MaxInlineSize {
			return args, 0, ErrTooBigInline
		}
		return args, 0, ErrIncomplete
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	out, err := splitInline(line, args)
	if err != nil {
		return args, 0, err
	}
	return out, nl + 1, nil
}

// parseInt parses a decimal integer the way Redis's string2ll does for
// protocol lengths: optional '-', digits only, no spaces.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// ParseInt exposes the protocol integer parser (strict, no spaces).
func ParseInt(b []byte) (int64, bool) { return parseInt(b) }
