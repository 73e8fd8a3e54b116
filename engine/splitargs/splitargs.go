// Package splitargs splits a line into arguments the way Redis's
// sdssplitargs (src/sds.c, Redis 7.0.15) does. The inline protocol parser
// and the config file parser both use it.
//
// Pieces:
//   - Split: the splitter.
//   - ErrUnbalancedQuotes: its only error.
//
// Rules, as in Redis:
//   - Arguments are separated by blanks (space, \t, \n, \r, \v, \f before an
//     argument; space, \t, \n, \r end an unquoted one).
//   - "double quotes" allow \n \r \t \b \a, \xHH (two hex digits) and
//     \<any other byte>, which stands for that byte (so \\ and \").
//   - 'single quotes' allow only \' as an escape; other bytes are literal.
//   - A closing quote must be followed by a blank or the end of the line.
//   - A quote may open in the middle of an argument: a"b c" is "ab c".
//   - A NUL byte ends the line, as it ends the C string in Redis.
package splitargs

import "errors"

// ErrUnbalancedQuotes is returned for an unterminated quote or a closing
// quote followed by something other than a blank.
var ErrUnbalancedQuotes = errors.New("splitargs: unbalanced quotes")

// isSpace is isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Split splits line into arguments. The result does not alias line: all
// arguments share one newly allocated buffer (each capped at its own
// length, so appending to one does not overwrite the next). A line with no
// arguments gives a nil slice and a nil error.
func Split(line []byte) ([][]byte, error) {
	n, size, err := scan(line, nil, nil)
	if err != nil || n == 0 {
		return nil, err
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, 0, n)
	_, _, err = scan(line, &buf, &out)
	return out, err
}

// scan walks line once. With buf and out nil it only counts arguments and
// their total size; otherwise it appends the decoded bytes to *buf and the
// arguments to *out.
func scan(line []byte, buf *[]byte, out *[][]byte) (n, size int, err error) {
	at := func(i int) byte {
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	emit := func(c byte) {
		size++
		if buf != nil {
			*buf = append(*buf, c)
		}
	}
	p := 0
	for {
		for at(p) != 0 && isSpace(at(p)) {
			p++
		}
		if at(p) == 0 {
			return n, size, nil
		}
		start := size
		inq, insq, done := false, false, false
		for !done {
			c := at(p)
			switch {
			case inq || insq:
				quote := byte('"')
				if insq {
					quote = '\''
				}
				h1, ok1 := hexVal(at(p + 2))
				h2, ok2 := hexVal(at(p + 3))
				switch {
				case inq && c == '\\' && at(p+1) == 'x' && ok1 && ok2:
					emit(h1*16 + h2)
					p += 3
				case inq && c == '\\' && at(p+1) != 0:
					p++
					emit(unescape(at(p)))
				case insq && c == '\\' && at(p+1) == '\'':
					p++
					emit('\'')
				case c == quote:
					// A closing quote must be followed by a blank or the end.
					if at(p+1) != 0 && !isSpace(at(p+1)) {
						return 0, 0, ErrUnbalancedQuotes
					}
					done = true
				case c == 0:
					return 0, 0, ErrUnbalancedQuotes
				default:
					emit(c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					emit(c)
				}
			}
			if at(p) != 0 {
				p++
			}
		}
		n++
		if out != nil {
			*out = append(*out, (*buf)[start:size:size])
		}
	}
}

// unescape maps the byte after a backslash inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
