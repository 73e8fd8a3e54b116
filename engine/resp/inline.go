package resp

import "bytes"

// splitInline splits an inline request line into arguments with the
// semantics of Redis's sdssplitargs. Lines without quotes are split in place
// (arguments alias line); quoted arguments are unescaped into new memory.
func splitInline(line []byte, args [][]byte) ([][]byte, error) {
	if bytes.IndexByte(line, '"') < 0 && bytes.IndexByte(line, '\'') < 0 {
		i := 0
		for {
			for i < len(line) && isSpace(line[i]) {
				i++
			}
			if i == len(line) {
				return args, nil
			}
			j := i
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			args = append(args, line[i:j:j])
			i = j
		}
	}
	return splitQuoted(line, args)
}

// isSpace matches C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// splitQuoted is a port of sdssplitargs (src/sds.c, Redis 7.0).
func splitQuoted(line []byte, args [][]byte) ([][]byte, error) {
	p := 0
	for {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p == len(line) {
			return args, nil
		}
		var cur []byte
		inq, insq, done := false, false, false
		for !done {
			if inq {
				switch {
				case p >= len(line):
					return nil, ErrUnbalancedQuotes
				case line[p] == '\\' && p+3 < len(line) && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]):
					cur = append(cur, hexVal(line[p+2])<<4|hexVal(line[p+3]))
					p += 3
				case line[p] == '\\' && p+1 < len(line):
					p++
					c := line[p]
					switch c {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					}
					cur = append(cur, c)
				case line[p] == '"':
					// The closing quote must be followed by a space or
					// nothing at all.
					if p+1 < len(line) && !isSpace(line[p+1]) {
						return nil, ErrUnbalancedQuotes
					}
					done = true
				default:
					cur = append(cur, line[p])
				}
			} else if insq {
				switch {
				case p >= len(line):
					return nil, ErrUnbalancedQuotes
				case line[p] == '\\' && p+1 < len(line) && line[p+1] == '\'':
					p++
					cur = append(cur, '\'')
				case line[p] == '\'':
					if p+1 < len(line) && !isSpace(line[p+1]) {
						return nil, ErrUnbalancedQuotes
					}
					done = true
				default:
					cur = append(cur, line[p])
				}
			} else {
				switch {
				case p >= len(line):
					done = true
				case line[p] == ' ' || line[p] == '\n' || line[p] == '\r' || line[p] == '\t' || line[p] == 0:
					done = true
				case line[p] == '"':
					inq = true
				case line[p] == '\'':
					insq = true
				default:
					cur = append(cur, line[p])
				}
			}
			if p < len(line) {
				p++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
	}
}
