// Package glob implements Redis's glob-style pattern matching, a faithful
// port of stringmatchlen from Redis 7.0.15 (src/util.c). It is the matcher
// behind KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE and ACL key and channel
// patterns.
//
// Pieces:
//   - Match and MatchString: the matcher itself, allocation free.
//
// Syntax:
//
//	pattern  matches
//	*        any sequence of bytes, including none
//	?        exactly one byte
//	[abc]    one byte of the set; [^abc] one byte not in it
//	[a-z]    one byte in the range (the ends may be given in either order)
//	\x       the byte x literally (also inside [...])
//
// The quirks of the C code are kept on purpose, so that hactl-engine answers
// exactly as redis-server does: an unterminated "[" class ends at the end of
// the pattern, range ends compare as signed chars (as on x86-64), nocase
// folds only ASCII letters, and an empty subject matches only an empty
// pattern (so "*" does not match ""; Redis's callers special-case the
// pattern "*", and so must ours).
//
// Like Redis since the fix for CVE-2022-36021, the matcher stops trying
// longer matches for earlier "*" once the rest of the pattern has failed at
// every later position, and it gives up (no match) past a nesting depth of
// 1000 stars, so every pattern runs in polynomial time.
package glob

// maxNesting is the recursion limit of stringmatchlen_impl in Redis 7.0.15.
const maxNesting = 1000

// result of one level of matching: matched, failed, or failed in a way
// that makes every enclosing star give up too (skipLongerMatches in Redis).
const (
	noMatch = iota
	match
	skipLonger
)

// Match reports whether s matches the glob pattern, as Redis's
// stringmatchlen does. With nocase, ASCII letters compare case-insensitively.
func Match(pattern, s []byte, nocase bool) bool {
	return matchImpl(pattern, s, nocase, 0) == match
}

// MatchString is Match for strings. It does not allocate.
func MatchString(pattern, s string, nocase bool) bool {
	return matchImpl(pattern, s, nocase, 0) == match
}

// at returns p[i], or 0 past the end: the C code reads the NUL terminator
// of the sds string in a few places.
func at[T ~string | ~[]byte](p T, i int) byte {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// lower is tolower in the C locale.
func lower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// schar is a byte read as a C char on x86-64, which is signed.
func schar(c byte) int { return int(int8(c)) }

func eqByte(a, b byte, nocase bool) bool {
	if nocase {
		return lower(schar(a)) == lower(schar(b))
	}
	return a == b
}

// matchImpl follows stringmatchlen_impl line by line; pi indexes pattern
// and si indexes s where the C code advances pointers.
func matchImpl[T ~string | ~[]byte](pattern, s T, nocase bool, nesting int) int {
	if nesting > maxNesting {
		return noMatch
	}
	pi, si := 0, 0
	plen, slen := len(pattern), len(s)
	for plen > 0 && slen > 0 {
		switch pattern[pi] {
		case '*':
			for plen > 0 && at(pattern, pi+1) == '*' {
				pi++
				plen--
			}
			if plen == 1 {
				return match
			}
			for slen > 0 {
				switch matchImpl(pattern[pi+1:pi+plen], s[si:si+slen], nocase, nesting+1) {
				case match:
					return match
				case skipLonger:
					return skipLonger
				}
				si++
				slen--
			}
			// The rest of the pattern matches nowhere in the rest of the
			// subject: longer matches for earlier stars cannot help.
			return skipLonger
		case '?':
			si++
			slen--
		case '[':
			pi++
			plen--
			not := at(pattern, pi) == '^'
			if not {
				pi++
				plen--
			}
			matched := false
			for {
				c := at(pattern, pi)
				switch {
				case c == '\\' && plen >= 2:
					pi++
					plen--
					if pattern[pi] == s[si] {
						matched = true
					}
				case c == ']':
					goto classDone
				case plen == 0:
					pi--
					plen++
					goto classDone
				case plen >= 3 && pattern[pi+1] == '-':
					start, end, ch := schar(pattern[pi]), schar(pattern[pi+2]), schar(s[si])
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, ch = lower(start), lower(end), lower(ch)
					}
					pi += 2
					plen -= 2
					if ch >= start && ch <= end {
						matched = true
					}
				default:
					if eqByte(c, s[si], nocase) {
						matched = true
					}
				}
				pi++
				plen--
			}
		classDone:
			if not {
				matched = !matched
			}
			if !matched {
				return noMatch
			}
			si++
			slen--
		case '\\':
			if plen >= 2 {
				pi++
				plen--
			}
			fallthrough
		default:
			if !eqByte(pattern[pi], s[si], nocase) {
				return noMatch
			}
			si++
			slen--
		}
		pi++
		plen--
		if slen == 0 {
			for at(pattern, pi) == '*' {
				pi++
				plen--
			}
			break
		}
	}
	if plen == 0 && slen == 0 {
		return match
	}
	return noMatch
}
