package config

import (
	"math"
	"strconv"
	"strings"
)

// string2ll parses an integer exactly as Redis's string2ll: no sign other
// than a leading '-', no leading zeros, no spaces, no overflow.
func string2ll(s string) (int64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') || s[0] == '+' || s == "-" ||
		(len(s) > 1 && s[0] == '-' && s[1] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-') {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// memtoull parses a memory value as Redis 7.0's memtoull: digits followed
// by an optional case-insensitive unit b, k (1000), kb (1024), m, mb, g,
// gb. Overflowing digits saturate and the unit multiplication wraps, as
// in C.
func memtoull(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	var mul uint64
	switch strings.ToLower(s[i:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if i >= 128 {
		return 0, false
	}
	var v uint64
	if i > 0 {
		var err error
		v, err = strconv.ParseUint(s[:i], 10, 64)
		if err != nil {
			v = math.MaxUint64 // strtoull saturates on overflow
		}
	}
	return v * mul, true
}

// formatMemory renders bytes as CONFIG REWRITE does: the largest of gb, mb
// and kb that divides it exactly, else plain bytes.
func formatMemory(v int64) string {
	const kb, mb, gb = 1024, 1024 * 1024, 1024 * 1024 * 1024
	switch {
	case v == 0:
		return "0"
	case v%gb == 0:
		return strconv.FormatInt(v/gb, 10) + "gb"
	case v%mb == 0:
		return strconv.FormatInt(v/mb, 10) + "mb"
	case v%kb == 0:
		return strconv.FormatInt(v/kb, 10) + "kb"
	}
	return strconv.FormatInt(v, 10)
}

// repr quotes s as Redis's sdscatrepr: always in double quotes, with
// \n \r \t \a \b \\ \" escaped and other non-printable bytes as \xHH.
// splitargs reads it back unchanged.
func repr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c < 0x20 || c >= 0x7f {
				b.WriteString(`\x`)
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yesNo formats a bool as Redis does.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
