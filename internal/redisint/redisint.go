// Package redisint parses integers the way Redis's string2ll does, the
// test Redis uses for "is this a canonical 64-bit integer" everywhere: in
// commands (INCR, SELECT, ...), in the integer encodings of the RDB
// format and listpacks, and for intset membership.
package redisint

import "math"

// Parse accepts an optional leading '-', then digits without leading
// zeros ("0" alone is fine, "-0" is not), at most 20 characters, within
// the int64 range; no '+', no spaces.
func Parse[T ~string | ~[]byte](s T) (int64, bool) {
	n := len(s)
	if n == 0 || n > 20 {
		return 0, false
	}
	if n == 1 && s[0] == '0' {
		return 0, true
	}
	i := 0
	neg := s[0] == '-'
	if neg {
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}
