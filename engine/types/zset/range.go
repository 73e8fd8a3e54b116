package zset

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// ScoreRange is a parsed ZRANGEBYSCORE range: "(" makes a bound exclusive.
type ScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// ParseScoreRange parses min and max like zslParseRange: strtod over the
// text after an optional "(", stopping at a NUL, NaN refused. It reports
// false for an invalid range ("min or max is not a float").
func ParseScoreRange(min, max []byte) (ScoreRange, bool) {
	var r ScoreRange
	var ok1, ok2 bool
	r.Min, r.MinEx, ok1 = parseRangeItem(min)
	r.Max, r.MaxEx, ok2 = parseRangeItem(max)
	return r, ok1 && ok2
}

func parseRangeItem(b []byte) (float64, bool, bool) {
	ex := len(b) > 0 && b[0] == '('
	if ex {
		b = b[1:]
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return 0, ex, true // strtod converts nothing and stops at the end
	}
	f, ok, _ := strtod(string(b))
	return f, ex, ok && !math.IsNaN(f)
}

func (r *ScoreRange) gteMin(it Item) bool {
	if r.MinEx {
		return it.Score > r.Min
	}
	return it.Score >= r.Min
}

func (r *ScoreRange) lteMax(it Item) bool {
	if r.MaxEx {
		return it.Score < r.Max
	}
	return it.Score <= r.Max
}

func (r *ScoreRange) empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

// lexBound kinds: a plain string, "-" (below everything), "+" (above).
const (
	lexPlain int8 = iota
	lexMinusInf
	lexPlusInf
)

// LexRange is a parsed ZRANGEBYLEX range.
type LexRange struct {
	Min, Max         string
	MinEx, MaxEx     bool
	minKind, maxKind int8
}

// ParseLexRange parses min and max like zslParseLexRange: "[x" inclusive,
// "(x" exclusive, "-" and "+" the extremes. It reports false for an
// invalid item ("min or max not valid string range item").
func ParseLexRange(min, max []byte) (LexRange, bool) {
	var r LexRange
	var ok1, ok2 bool
	r.Min, r.MinEx, r.minKind, ok1 = parseLexItem(min)
	r.Max, r.MaxEx, r.maxKind, ok2 = parseLexItem(max)
	return r, ok1 && ok2
}

func parseLexItem(b []byte) (string, bool, int8, bool) {
	if len(b) == 0 {
		return "", false, 0, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) > 1 && b[1] != 0 {
			return "", false, 0, false
		}
		if b[0] == '+' {
			return "", true, lexPlusInf, true
		}
		return "", true, lexMinusInf, true
	case '(':
		return string(b[1:]), true, lexPlain, true
	case '[':
		return string(b[1:]), false, lexPlain, true
	}
	return "", false, 0, false
}

// cmpLex is sdscmplex: a plain string against a bound.
func cmpLex(a string, ak int8, b string, bk int8) int {
	if ak == bk && ak != lexPlain {
		return 0
	}
	if ak == lexMinusInf || bk == lexPlusInf {
		return -1
	}
	if ak == lexPlusInf || bk == lexMinusInf {
		return 1
	}
	return strings.Compare(a, b)
}

func (r *LexRange) gteMin(it Item) bool {
	c := cmpLex(it.Member, lexPlain, r.Min, r.minKind)
	if r.MinEx {
		return c > 0
	}
	return c >= 0
}

func (r *LexRange) lteMax(it Item) bool {
	c := cmpLex(it.Member, lexPlain, r.Max, r.maxKind)
	if r.MaxEx {
		return c < 0
	}
	return c <= 0
}

func (r *LexRange) empty() bool {
	c := cmpLex(r.Min, r.minKind, r.Max, r.maxKind)
	return c > 0 || (c == 0 && (r.MinEx || r.MaxEx))
}

// ScoreSpan returns the ranks [lo, hi) of the members inside r, found as
// Redis finds them: the first member >= min, then onwards while <= max
// (backwards from the last member <= max when reverse).
func (z *ZSet) ScoreSpan(r *ScoreRange, reverse bool) (lo, hi int) {
	return z.span(r.empty(), r.gteMin, r.lteMax, reverse)
}

// LexSpan is ScoreSpan for a lexicographic range. Like Redis it assumes
// all members have the same score; the small encoding scans linearly
// exactly like the listpack code, so mixed scores give Redis's answers.
func (z *ZSet) LexSpan(r *LexRange, reverse bool) (lo, hi int) {
	return z.span(r.empty(), r.gteMin, r.lteMax, reverse)
}

func (z *ZSet) span(empty bool, gteMin, lteMax func(Item) bool, reverse bool) (int, int) {
	n := z.Len()
	// zslIsInRange / zzlIsInRange: a quick check against both ends.
	if empty || n == 0 || !gteMin(z.At(n-1)) || !lteMax(z.At(0)) {
		return 0, 0
	}
	if z.dict != nil {
		lo := z.tree.countBefore(func(it Item) bool { return !gteMin(it) })
		hi := z.tree.countBefore(lteMax)
		if hi <= lo {
			return 0, 0
		}
		return lo, hi
	}
	if !reverse {
		lo := 0
		for lo < n && !gteMin(z.lp[lo]) {
			lo++
		}
		hi := lo
		for hi < n && lteMax(z.lp[hi]) {
			hi++
		}
		if hi == lo {
			return 0, 0
		}
		return lo, hi
	}
	hi := n
	for hi > 0 && !lteMax(z.lp[hi-1]) {
		hi--
	}
	lo := hi
	for lo > 0 && gteMin(z.lp[lo-1]) {
		lo--
	}
	if hi == lo {
		return 0, 0
	}
	return lo, hi
}

// ParseScore parses a score argument like getDoubleFromObject: the whole
// argument, no leading space, no NaN, no overflow to infinity and no
// underflow to zero (strtod's ERANGE).
func ParseScore(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	f, ok, erange := strtod(string(b))
	if !ok || math.IsNaN(f) || (erange && (math.IsInf(f, 0) || f == 0)) {
		return 0, false
	}
	return f, true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtod converts s as glibc's strtod does and reports whether all of s
// was consumed, and whether the result overflowed or underflowed (ERANGE).
func strtod(s string) (f float64, ok, erange bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s == "" || strings.ContainsAny(s, "_") {
		return 0, false, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false, false
	}
	lower := strings.ToLower(body)
	hex := strings.HasPrefix(lower, "0x")
	if strings.HasPrefix(lower, "nan(") && strings.HasSuffix(lower, ")") {
		return math.NaN(), true, false
	}
	if hex && !strings.ContainsRune(lower, 'p') {
		s += "p0"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			return f, true, true
		}
		return 0, false, false
	}
	if f == 0 && !math.IsInf(f, 0) {
		// Underflow to zero: strtod reports ERANGE when the digits
		// were not all zeros.
		mant := lower
		if hex {
			mant = mant[2:]
			if i := strings.IndexByte(mant, 'p'); i >= 0 {
				mant = mant[:i]
			}
		} else if i := strings.IndexByte(mant, 'e'); i >= 0 {
			mant = mant[:i]
		}
		if strings.Trim(mant, "0.") != "" {
			return f, true, true
		}
	}
	if f != 0 && math.Abs(f) < 0x1p-1022 {
		erange = true // denormal: ERANGE, but accepted by Redis
	}
	return f, true, erange
}
