package server

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/hactl/hactl/internal/redisint"
)

// parseInt64 is Redis's string2ll: an optional '-', no leading zeros, no
// '+', no spaces, 64-bit range.
func parseInt64(b []byte) (int64, bool) { return redisint.Parse(b) }

// intReply parses an integer argument or writes Redis's error.
func (c *Client) intArg(b []byte, v *int64) bool {
	n, ok := parseInt64(b)
	if !ok {
		c.replyError(errNotInt)
		return false
	}
	*v = n
	return true
}

// parseFloat64 is Redis's getDoubleFromObject: strtod over the whole
// argument, no leading space, no NaN.
func parseFloat64(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	s := string(b)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !math.IsInf(f, 0) {
			return f, true // underflow to a denormal or zero is accepted unless zero
		}
		return 0, false
	}
	if math.IsNaN(f) || strings.ContainsRune(s, '_') {
		return 0, false
	}
	return f, true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// longDoublePrec is the mantissa precision of the x87 80-bit long double
// Redis uses for INCRBYFLOAT and HINCRBYFLOAT on x86-64.
const longDoublePrec = 64

// parseLongDouble is Redis's getLongDoubleFromObject (strtold semantics).
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) > 5*1024 || isCSpace(b[0]) {
		return nil, false
	}
	s := strings.ToLower(string(b))
	if strings.ContainsRune(s, '_') {
		return nil, false
	}
	switch strings.TrimLeft(s, "+-") {
	case "inf", "infinity":
		f := new(big.Float).SetInf(s[0] == '-')
		return f, true
	case "nan":
		return nil, false
	}
	if strings.HasPrefix(strings.TrimLeft(s, "+-"), "0x") {
		// strtold takes hexadecimal floats with an optional binary
		// exponent; Go requires the exponent.
		if !strings.ContainsRune(s, 'p') {
			s += "p0"
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, false
		}
		return new(big.Float).SetPrec(longDoublePrec).SetFloat64(v), true
	}
	f, _, err := big.ParseFloat(s, 10, longDoublePrec, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	// Out of the long double range (about 1e±4932): strtold reports ERANGE.
	if exp := f.MantExp(nil); exp > 16384 || (exp < -16445 && f.Sign() != 0) {
		return nil, false
	}
	return f, true
}

// formatLongDouble formats like Redis's ld2string(LD_STR_HUMAN): "%.17Lf"
// with trailing zeros (and a trailing dot) removed, "-0" printed as "0".
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
