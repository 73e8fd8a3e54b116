package resp

import (
	"math"
	"strconv"
)

// Writer accumulates replies for one connection. It is not safe for
// concurrent use. Proto is 2 or 3 and selects how RESP3-only types are
// encoded.
type Writer struct {
	B     []byte
	Proto int
}

// maxKeptBuffer is the size above which a flushed buffer is dropped rather
// than reused, so one large reply does not pin memory forever.
const maxKeptBuffer = 256 << 10

// Reset empties the buffer after it has been written out.
func (w *Writer) Reset() {
	if cap(w.B) > maxKeptBuffer {
		w.B = nil
		return
	}
	w.B = w.B[:0]
}

// Len is the number of buffered bytes.
func (w *Writer) Len() int { return len(w.B) }

// Simple writes a simple string (+OK).
func (w *Writer) Simple(s string) { w.B = AppendSimple(w.B, s) }

// OK writes +OK.
func (w *Writer) OK() { w.B = append(w.B, "+OK\r\n"...) }

// Error writes an error line. msg must start with the error code (ERR,
// WRONGTYPE, ...); CR and LF inside msg are replaced by spaces as Redis does.
func (w *Writer) Error(msg string) { w.B = AppendError(w.B, msg) }

// Int writes an integer.
func (w *Writer) Int(n int64) { w.B = AppendInt(w.B, n) }

// Bulk writes a bulk string.
func (w *Writer) Bulk(b []byte) { w.B = AppendBulk(w.B, b) }

// BulkString writes a bulk string.
func (w *Writer) BulkString(s string) { w.B = AppendBulkString(w.B, s) }

// BulkInt writes an integer formatted as a bulk string.
func (w *Writer) BulkInt(n int64) {
	var tmp [24]byte
	w.B = AppendBulk(w.B, strconv.AppendInt(tmp[:0], n, 10))
}

// Null writes the null reply: $-1 in RESP2, _ in RESP3.
func (w *Writer) Null() {
	if w.Proto >= 3 {
		w.B = append(w.B, "_\r\n"...)
	} else {
		w.B = append(w.B, "$-1\r\n"...)
	}
}

// NullArray writes the null array: *-1 in RESP2, _ in RESP3.
func (w *Writer) NullArray() {
	if w.Proto >= 3 {
		w.B = append(w.B, "_\r\n"...)
	} else {
		w.B = append(w.B, "*-1\r\n"...)
	}
}

// Array writes an array header for n elements.
func (w *Writer) Array(n int) { w.B = appendPrefix(w.B, '*', int64(n)) }

// Map writes a map header for n pairs (an array of 2n elements in RESP2).
func (w *Writer) Map(n int) {
	if w.Proto >= 3 {
		w.B = appendPrefix(w.B, '%', int64(n))
	} else {
		w.B = appendPrefix(w.B, '*', int64(2*n))
	}
}

// Set writes a set header (an array in RESP2).
func (w *Writer) Set(n int) {
	if w.Proto >= 3 {
		w.B = appendPrefix(w.B, '~', int64(n))
	} else {
		w.B = appendPrefix(w.B, '*', int64(n))
	}
}

// Push writes a push header (an array in RESP2), used by pub/sub.
func (w *Writer) Push(n int) {
	if w.Proto >= 3 {
		w.B = appendPrefix(w.B, '>', int64(n))
	} else {
		w.B = appendPrefix(w.B, '*', int64(n))
	}
}

// Bool writes a boolean (#t/#f in RESP3, :1/:0 in RESP2).
func (w *Writer) Bool(v bool) {
	switch {
	case w.Proto >= 3 && v:
		w.B = append(w.B, "#t\r\n"...)
	case w.Proto >= 3:
		w.B = append(w.B, "#f\r\n"...)
	case v:
		w.B = append(w.B, ":1\r\n"...)
	default:
		w.B = append(w.B, ":0\r\n"...)
	}
}

// Double writes a double (",x" in RESP3, a bulk string in RESP2) formatted
// like Redis 7.0 (%.17g, inf, -inf, nan).
func (w *Writer) Double(f float64) {
	var tmp [32]byte
	s := AppendFloat17(tmp[:0], f)
	if w.Proto >= 3 {
		w.B = append(w.B, ',')
		w.B = append(w.B, s...)
		w.B = append(w.B, '\r', '\n')
		return
	}
	w.B = AppendBulk(w.B, s)
}

// Verbatim writes a verbatim string of format "txt" in RESP3 and a bulk
// string in RESP2 (INFO, CLIENT INFO, CLIENT LIST).
func (w *Writer) Verbatim(s string) {
	if w.Proto < 3 {
		w.B = AppendBulkString(w.B, s)
		return
	}
	w.B = appendPrefix(w.B, '=', int64(len(s)+4))
	w.B = append(w.B, "txt:"...)
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// Raw appends already encoded bytes.
func (w *Writer) Raw(b []byte) { w.B = append(w.B, b...) }

// AppendSimple appends a simple string.
func AppendSimple(b []byte, s string) []byte {
	b = append(b, '+')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendError appends an error line, replacing CR/LF inside msg by spaces.
func AppendError(b []byte, msg string) []byte {
	b = append(b, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}

// AppendInt appends an integer reply.
func AppendInt(b []byte, n int64) []byte { return appendPrefix(b, ':', n) }

// AppendBulk appends a bulk string.
func AppendBulk(b, bulk []byte) []byte {
	b = appendPrefix(b, '$', int64(len(bulk)))
	b = append(b, bulk...)
	return append(b, '\r', '\n')
}

// AppendBulkString appends a bulk string.
func AppendBulkString(b []byte, s string) []byte {
	b = appendPrefix(b, '$', int64(len(s)))
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendArrayLen appends an array header.
func AppendArrayLen(b []byte, n int) []byte { return appendPrefix(b, '*', int64(n)) }

// AppendCommand appends a command as a multibulk request, the form used by
// the AOF and the replication stream.
func AppendCommand(b []byte, args ...[]byte) []byte {
	b = appendPrefix(b, '*', int64(len(args)))
	for _, a := range args {
		b = AppendBulk(b, a)
	}
	return b
}

func appendPrefix(b []byte, c byte, n int64) []byte {
	if n >= 0 && n <= 9 {
		return append(b, c, byte('0'+n), '\r', '\n')
	}
	b = append(b, c)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendFloat17 formats f like Redis 7.0's "%.17g" for replies, with inf,
// -inf and nan spelled as Redis spells them.
func AppendFloat17(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	return AppendG17(b, f)
}

// AppendG17 formats f exactly like C's printf("%.17g").
func AppendG17(b []byte, f float64) []byte {
	return appendCG(b, f, 17)
}

// appendCG formats like C's %.<prec>g: scientific notation when the exponent
// is < -4 or >= prec, trailing zeros removed, exponent with at least two
// digits.
func appendCG(b []byte, f float64, prec int) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	var tmp [40]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', prec-1, 64)
	// e looks like "-1.2345e+05"; find the exponent.
	ei := len(e) - 1
	for e[ei] != 'e' {
		ei--
	}
	exp, _ := strconv.Atoi(string(e[ei+1:]))
	if exp < -4 || exp >= prec {
		mant := trimZeros(e[:ei])
		b = append(b, mant...)
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	fixed := strconv.AppendFloat(tmp[:0], f, 'f', prec-1-exp, 64)
	return append(b, trimZeros(fixed)...)
}

func trimZeros(s []byte) []byte {
	dot := -1
	for i, c := range s {
		if c == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return s
	}
	end := len(s)
	for end > dot+1 && s[end-1] == '0' {
		end--
	}
	if end == dot+1 {
		end = dot
	}
	return s[:end]
}
