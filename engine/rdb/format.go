package rdb

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/hactl/hactl/internal/redisint"
)

// Version is the RDB format version the Writer produces (Redis 7.0).
const Version = 10

// maxLoadVersion is the newest format Load accepts: 11 (Redis 7.2) only adds
// the set listpack among the types this package handles.
const maxLoadVersion = 11

// Opcodes that precede records.
const (
	opFunction2   = 245
	opFunctionPre = 246
	opModuleAux   = 247
	opIdle        = 248
	opFreq        = 249
	opAux         = 250
	opResizeDB    = 251
	opExpireMs    = 252
	opExpireSec   = 253
	opSelectDB    = 254
	opEOF         = 255
)

// Type is an RDB value type code: the byte before each key that tells both
// the data type and its serialised encoding.
type Type byte

// The value type codes (rdb.h).
const (
	TypeString         Type = 0
	TypeList           Type = 1
	TypeSet            Type = 2
	TypeZSet           Type = 3
	TypeHash           Type = 4
	TypeZSet2          Type = 5
	TypeModulePreGA    Type = 6
	TypeModule2        Type = 7
	TypeHashZipmap     Type = 9
	TypeListZiplist    Type = 10
	TypeSetIntset      Type = 11
	TypeZSetZiplist    Type = 12
	TypeHashZiplist    Type = 13
	TypeListQuicklist  Type = 14
	TypeStreamLP       Type = 15
	TypeHashListpack   Type = 16
	TypeZSetListpack   Type = 17
	TypeListQuicklist2 Type = 18
	TypeStreamLP2      Type = 19
	TypeSetListpack    Type = 20
	TypeStreamLP3      Type = 21
)

var typeNames = map[Type]string{
	TypeString: "string", TypeList: "list", TypeSet: "set", TypeZSet: "zset",
	TypeHash: "hash", TypeZSet2: "zset2", TypeModulePreGA: "module-pre-ga",
	TypeModule2: "module", TypeHashZipmap: "hash-zipmap",
	TypeListZiplist: "list-ziplist", TypeSetIntset: "set-intset",
	TypeZSetZiplist: "zset-ziplist", TypeHashZiplist: "hash-ziplist",
	TypeListQuicklist: "list-quicklist", TypeStreamLP: "stream-listpacks",
	TypeHashListpack: "hash-listpack", TypeZSetListpack: "zset-listpack",
	TypeListQuicklist2: "list-quicklist2", TypeStreamLP2: "stream-listpacks2",
	TypeSetListpack: "set-listpack", TypeStreamLP3: "stream-listpacks3",
}

// String returns the type's name, or its number when unknown.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "type-" + strconv.Itoa(int(t))
}

// Kind is the data type of a key, whatever its serialised encoding.
type Kind uint8

// The kinds of keys Load reports.
const (
	KindString Kind = iota + 1
	KindList
	KindSet
	KindZSet
	KindHash
)

var kindNames = [...]string{"", "string", "list", "set", "zset", "hash"}

// String returns the name TYPE would answer.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind-" + strconv.Itoa(int(k))
}

// Length encoding (rdbSaveLen).
const (
	len6Bit  = 0
	len14Bit = 1
	len32Bit = 0x80
	len64Bit = 0x81
	lenEnc   = 3 // top bits 11: special string encoding follows
)

// Special string encodings (low 6 bits after 0xC0).
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// appendLen appends n in RDB length encoding.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|len14Bit<<6, byte(n))
	case n <= math.MaxUint32:
		b = append(b, len32Bit)
		return binary.BigEndian.AppendUint32(b, uint32(n))
	default:
		b = append(b, len64Bit)
		return binary.BigEndian.AppendUint64(b, n)
	}
}

// parseInt parses s as Redis's string2ll does: a canonical base-10 int64
// (no sign other than a leading '-', no leading zeros, no "-0", at most 20
// characters). The RDB integer string encodings, the listpack integer
// entries and intset membership all use this test.
func parseInt(s string) (int64, bool) { return redisint.Parse(s) }

// appendIntEncoded appends s in one of the RDB integer string encodings
// when Redis would use one (rdbTryIntegerEncoding: at most 11 characters,
// canonical, fits in 32 bits) and reports whether it did.
func appendIntEncoded(b []byte, s string) ([]byte, bool) {
	if len(s) > 11 {
		return b, false
	}
	v, ok := parseInt(s)
	if !ok {
		return b, false
	}
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(b, lenEnc<<6|encInt8, byte(v)), true
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return binary.LittleEndian.AppendUint16(append(b, lenEnc<<6|encInt16), uint16(v)), true
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return binary.LittleEndian.AppendUint32(append(b, lenEnc<<6|encInt32), uint32(v)), true
	}
	return b, false
}

// formatScore formats a sorted set score as Redis 7.0's d2string: integral
// values within ±2^52 as integers, "-0", "inf"/"-inf"/"nan", else %.17g.
func formatScore(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	case f > -4503599627370495 && f < 4503599627370496 && f == float64(int64(f)):
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', 17, 64)
}

// parseScore parses a score written as text (listpack/ziplist entries and
// the old ZSET type) the way strtod accepts Redis's own output.
func parseScore(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// ParseFloat reports out-of-range values with ±Inf and an error;
		// strtod returns the same infinity.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}
