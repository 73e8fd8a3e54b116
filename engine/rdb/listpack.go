package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Listpack layout (listpack.c): uint32 LE total bytes, uint16 LE element
// count (65535 when unknown), entries, 0xFF. An entry is its encoding, its
// data and its backlen (the size of encoding+data, written big-group-first
// in 7-bit groups so it can be read right to left).
const (
	lpHeaderSize   = 6
	lpEnd          = 0xFF
	lpCountUnknown = 65535
	lpEmptySize    = lpHeaderSize + 1
)

// Listpack entry encodings.
const (
	lpEnc7BitUint   = 0x00 // 0xxxxxxx
	lpEnc6BitStr    = 0x80 // 10xxxxxx
	lpEnc13BitInt   = 0xC0 // 110xxxxx yyyyyyyy
	lpEnc12BitStr   = 0xE0 // 1110xxxx yyyyyyyy
	lpEnc32BitStr   = 0xF0
	lpEnc16BitInt   = 0xF1
	lpEnc24BitInt   = 0xF2
	lpEnc32BitInt   = 0xF3
	lpEnc64BitInt   = 0xF4
	lpMaxBacklenLen = 5
)

// listpack builds a listpack blob the way Redis's lpAppend does: every
// element that is a canonical integer string is stored as an integer entry.
type listpack struct {
	b []byte
	n int
}

// reset starts an empty listpack, reusing the buffer.
func (lp *listpack) reset() {
	lp.b = append(lp.b[:0], 0, 0, 0, 0, 0, 0)
	lp.n = 0
}

// size is the blob size once finished (header, entries, terminator).
func (lp *listpack) size() int { return len(lp.b) + 1 }

// add appends one element.
func (lp *listpack) add(s string) {
	if v, ok := parseInt(s); ok {
		lp.addInt(v)
		return
	}
	start := len(lp.b)
	n := len(s)
	switch {
	case n < 64:
		lp.b = append(lp.b, lpEnc6BitStr|byte(n))
	case n < 4096:
		lp.b = append(lp.b, lpEnc12BitStr|byte(n>>8), byte(n))
	default:
		lp.b = binary.LittleEndian.AppendUint32(append(lp.b, lpEnc32BitStr), uint32(n))
	}
	lp.b = append(lp.b, s...)
	lp.b = appendBacklen(lp.b, len(lp.b)-start)
	lp.n++
}

// addInt appends an integer entry in the smallest encoding that holds v.
func (lp *listpack) addInt(v int64) {
	start := len(lp.b)
	switch {
	case v >= 0 && v <= 127:
		lp.b = append(lp.b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		lp.b = append(lp.b, lpEnc13BitInt|byte(u>>8), byte(u))
	case v >= -32768 && v <= 32767:
		lp.b = binary.LittleEndian.AppendUint16(append(lp.b, lpEnc16BitInt), uint16(v))
	case v >= -8388608 && v <= 8388607:
		u := uint32(v)
		lp.b = append(lp.b, lpEnc24BitInt, byte(u), byte(u>>8), byte(u>>16))
	case v >= -2147483648 && v <= 2147483647:
		lp.b = binary.LittleEndian.AppendUint32(append(lp.b, lpEnc32BitInt), uint32(v))
	default:
		lp.b = binary.LittleEndian.AppendUint64(append(lp.b, lpEnc64BitInt), uint64(v))
	}
	lp.b = appendBacklen(lp.b, len(lp.b)-start)
	lp.n++
}

// finish terminates the listpack, fills in the header and returns the blob
// (valid until the next reset).
func (lp *listpack) finish() []byte {
	lp.b = append(lp.b, lpEnd)
	binary.LittleEndian.PutUint32(lp.b[0:4], uint32(len(lp.b)))
	binary.LittleEndian.PutUint16(lp.b[4:6], uint16(min(lp.n, lpCountUnknown)))
	return lp.b
}

// lpEntrySize returns how many bytes add(s) appends.
func lpEntrySize(s string) int {
	var l int
	if v, ok := parseInt(s); ok {
		switch {
		case v >= 0 && v <= 127:
			l = 1
		case v >= -4096 && v <= 4095:
			l = 2
		case v >= -32768 && v <= 32767:
			l = 3
		case v >= -8388608 && v <= 8388607:
			l = 4
		case v >= -2147483648 && v <= 2147483647:
			l = 5
		default:
			l = 9
		}
	} else {
		switch n := len(s); {
		case n < 64:
			l = 1 + n
		case n < 4096:
			l = 2 + n
		default:
			l = 5 + n
		}
	}
	return l + backlenSize(l)
}

// backlenSize is the number of bytes lpEncodeBacklen uses for l.
func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// appendBacklen appends l as lpEncodeBacklen does.
func appendBacklen(b []byte, l int) []byte {
	n := backlenSize(l)
	for i := n - 1; i >= 0; i-- {
		g := byte(l>>(7*i)) & 127
		if i != n-1 {
			g |= 128
		}
		b = append(b, g)
	}
	return b
}

// errListpack is wrapped by every listpack parse error.
var errListpack = errors.New("bad listpack")

// lpEntry is one parsed listpack entry: an integer, or a string aliasing
// the blob.
type lpEntry struct {
	str   []byte
	num   int64
	isInt bool
}

// String returns the element as Redis returns it to clients.
func (e lpEntry) String() string {
	if e.isInt {
		return strconv.FormatInt(e.num, 10)
	}
	return string(e.str)
}

// float returns the entry as a score.
func (e lpEntry) float() (float64, bool) {
	if e.isInt {
		return float64(e.num), true
	}
	return parseScore(string(e.str))
}

// lpEach validates blob as a listpack and calls fn for each entry. It
// returns the number of entries.
func lpEach(blob []byte, fn func(lpEntry) error) (int, error) {
	if len(blob) < lpEmptySize {
		return 0, fmt.Errorf("%w: %d bytes", errListpack, len(blob))
	}
	if total := binary.LittleEndian.Uint32(blob); uint64(total) != uint64(len(blob)) {
		return 0, fmt.Errorf("%w: header says %d bytes, blob has %d", errListpack, total, len(blob))
	}
	if blob[len(blob)-1] != lpEnd {
		return 0, fmt.Errorf("%w: no terminator", errListpack)
	}
	want := int(binary.LittleEndian.Uint16(blob[4:]))
	p := blob[lpHeaderSize : len(blob)-1]
	n := 0
	for len(p) > 0 {
		e, l, err := lpDecodeEntry(p)
		if err != nil {
			return n, fmt.Errorf("%w: entry %d: %v", errListpack, n, err)
		}
		bl := backlenSize(l)
		if len(p) < l+bl {
			return n, fmt.Errorf("%w: entry %d: backlen past the end", errListpack, n)
		}
		if got, ok := decodeBacklen(p[l : l+bl]); !ok || got != l {
			return n, fmt.Errorf("%w: entry %d: backlen mismatch", errListpack, n)
		}
		if err := fn(e); err != nil {
			return n, err
		}
		p = p[l+bl:]
		n++
	}
	if want != lpCountUnknown && want != n {
		return n, fmt.Errorf("%w: header says %d entries, found %d", errListpack, want, n)
	}
	return n, nil
}

// lpDecodeEntry decodes the entry at the start of p and returns it with the
// size of its encoding and data (without backlen).
func lpDecodeEntry(p []byte) (lpEntry, int, error) {
	b := p[0]
	need := func(n int) error {
		if len(p) < n {
			return fmt.Errorf("truncated entry (encoding %#x)", b)
		}
		return nil
	}
	str := func(hdr, n int) (lpEntry, int, error) {
		if n < 0 || len(p)-hdr < n {
			return lpEntry{}, 0, fmt.Errorf("string of %d bytes past the end", n)
		}
		return lpEntry{str: p[hdr : hdr+n]}, hdr + n, nil
	}
	switch {
	case b&0x80 == lpEnc7BitUint:
		return lpEntry{num: int64(b & 0x7f), isInt: true}, 1, nil
	case b&0xC0 == lpEnc6BitStr:
		return str(1, int(b&0x3f))
	case b&0xE0 == lpEnc13BitInt:
		if err := need(2); err != nil {
			return lpEntry{}, 0, err
		}
		u := uint64(b&0x1f)<<8 | uint64(p[1])
		v := int64(u)
		if u >= 1<<12 {
			v -= 1 << 13
		}
		return lpEntry{num: v, isInt: true}, 2, nil
	case b&0xF0 == lpEnc12BitStr:
		if err := need(2); err != nil {
			return lpEntry{}, 0, err
		}
		return str(2, int(b&0x0f)<<8|int(p[1]))
	}
	switch b {
	case lpEnc32BitStr:
		if err := need(5); err != nil {
			return lpEntry{}, 0, err
		}
		n := binary.LittleEndian.Uint32(p[1:])
		if uint64(n) > uint64(len(p)) {
			return lpEntry{}, 0, fmt.Errorf("string of %d bytes past the end", n)
		}
		return str(5, int(n))
	case lpEnc16BitInt:
		if err := need(3); err != nil {
			return lpEntry{}, 0, err
		}
		return lpEntry{num: int64(int16(binary.LittleEndian.Uint16(p[1:]))), isInt: true}, 3, nil
	case lpEnc24BitInt:
		if err := need(4); err != nil {
			return lpEntry{}, 0, err
		}
		u := uint32(p[1]) | uint32(p[2])<<8 | uint32(p[3])<<16
		return lpEntry{num: int64(int32(u<<8) >> 8), isInt: true}, 4, nil
	case lpEnc32BitInt:
		if err := need(5); err != nil {
			return lpEntry{}, 0, err
		}
		return lpEntry{num: int64(int32(binary.LittleEndian.Uint32(p[1:]))), isInt: true}, 5, nil
	case lpEnc64BitInt:
		if err := need(9); err != nil {
			return lpEntry{}, 0, err
		}
		return lpEntry{num: int64(binary.LittleEndian.Uint64(p[1:])), isInt: true}, 9, nil
	}
	return lpEntry{}, 0, fmt.Errorf("invalid encoding byte %#x", b)
}

// decodeBacklen decodes a backlen written left to right by appendBacklen.
func decodeBacklen(p []byte) (int, bool) {
	if len(p) == 0 || len(p) > lpMaxBacklenLen || p[0]&128 != 0 {
		return 0, false
	}
	v := int(p[0])
	for _, c := range p[1:] {
		if c&128 == 0 {
			return 0, false
		}
		v = v<<7 | int(c&127)
	}
	return v, true
}
