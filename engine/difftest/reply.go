package difftest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxReplyElems bounds aggregate sizes and bulk lengths accepted by ReadReply
// so that a corrupt length cannot make the harness allocate without bound.
const (
	maxReplyElems = 1 << 24
	maxReplyBulk  = 1 << 30
	maxReplyDepth = 64
)

// Reply is one RESP2/RESP3 reply as read from the wire.
//
// Raw holds the exact bytes of the reply (an attribute that precedes a reply
// is included in Raw and also kept in Attr). Type is the first byte. Str is the
// payload of simple strings, errors, bulk strings, verbatim strings, doubles,
// big numbers and booleans; Int is set for integers; Elems holds the children
// of arrays, sets, pushes and maps (maps flattened key, value, key, value).
// Null is true for `_`, `$-1` and `*-1`.
type Reply struct {
	Raw   []byte
	Type  byte
	Str   string
	Int   int64
	Null  bool
	Elems []Reply
	Attr  *Reply
}

// IsAggregate reports whether the reply carries child elements.
func (r Reply) IsAggregate() bool {
	switch r.Type {
	case '*', '~', '>', '%':
		return !r.Null
	}
	return false
}

// errProtocol is wrapped by every error caused by bytes that are not RESP.
var errProtocol = errors.New("difftest: invalid resp")

// ReadReply reads exactly one reply (with a leading attribute if any) from br.
func ReadReply(br *bufio.Reader) (Reply, error) {
	var raw bytes.Buffer
	r, err := readReply(br, &raw, 0)
	if err != nil {
		return Reply{}, err
	}
	return r, nil
}

// readReply reads one reply, appending its bytes to raw and setting r.Raw to
// the bytes of this reply only.
func readReply(br *bufio.Reader, raw *bytes.Buffer, depth int) (Reply, error) {
	if depth > maxReplyDepth {
		return Reply{}, fmt.Errorf("nesting deeper than %d: %w", maxReplyDepth, errProtocol)
	}
	start := raw.Len()
	line, err := readLine(br, raw)
	if err != nil {
		return Reply{}, err
	}
	if len(line) == 0 {
		return Reply{}, fmt.Errorf("empty reply line: %w", errProtocol)
	}
	r := Reply{Type: line[0]}
	body := string(line[1:])
	switch r.Type {
	case '+', '-', ',', '(':
		r.Str = body
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return Reply{}, fmt.Errorf("integer %q: %w", body, errProtocol)
		}
		r.Int = n
	case '#':
		if body != "t" && body != "f" {
			return Reply{}, fmt.Errorf("boolean %q: %w", body, errProtocol)
		}
		r.Str = body
	case '_':
		if body != "" {
			return Reply{}, fmt.Errorf("null with payload %q: %w", body, errProtocol)
		}
		r.Null = true
	case '$', '!', '=':
		n, err := parseLen(body, maxReplyBulk)
		if err != nil {
			return Reply{}, err
		}
		if n < 0 {
			if r.Type != '$' {
				return Reply{}, fmt.Errorf("negative length for %q: %w", r.Type, errProtocol)
			}
			r.Null = true
			break
		}
		payload := make([]byte, n+2)
		if _, err := io.ReadFull(br, payload); err != nil {
			return Reply{}, fmt.Errorf("read bulk payload: %w", err)
		}
		if payload[n] != '\r' || payload[n+1] != '\n' {
			return Reply{}, fmt.Errorf("bulk payload not followed by crlf: %w", errProtocol)
		}
		raw.Write(payload)
		r.Str = string(payload[:n])
	case '*', '~', '>', '%', '|':
		n, err := parseLen(body, maxReplyElems)
		if err != nil {
			return Reply{}, err
		}
		if n < 0 {
			if r.Type != '*' {
				return Reply{}, fmt.Errorf("negative count for %q: %w", r.Type, errProtocol)
			}
			r.Null = true
			break
		}
		if r.Type == '%' || r.Type == '|' {
			n *= 2
		}
		r.Elems = make([]Reply, 0, n)
		for range n {
			e, err := readReply(br, raw, depth+1)
			if err != nil {
				return Reply{}, err
			}
			r.Elems = append(r.Elems, e)
		}
		if r.Type == '|' {
			attr := r
			attr.Raw = bytes.Clone(raw.Bytes()[start:])
			real, err := readReply(br, raw, depth+1)
			if err != nil {
				return Reply{}, err
			}
			real.Attr = &attr
			real.Raw = bytes.Clone(raw.Bytes()[start:])
			return real, nil
		}
	default:
		return Reply{}, fmt.Errorf("unknown reply type %q: %w", r.Type, errProtocol)
	}
	r.Raw = bytes.Clone(raw.Bytes()[start:])
	return r, nil
}

// readLine reads one CRLF-terminated line, appends it (with CRLF) to raw and
// returns it without the CRLF.
func readLine(br *bufio.Reader, raw *bytes.Buffer) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("reply line longer than %d bytes: %w", br.Size(), errProtocol)
		}
		return nil, fmt.Errorf("read reply line: %w", err)
	}
	raw.Write(line)
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("line %q not terminated by crlf: %w", line, errProtocol)
	}
	return line[:len(line)-2], nil
}

func parseLen(s string, limit int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > limit {
		return 0, fmt.Errorf("length %q: %w", s, errProtocol)
	}
	return n, nil
}
