package keyspace

import (
	"strconv"
	"unsafe"
)

// Type is a key's data type as TYPE reports it.
type Type uint8

// The data types.
const (
	TypeNone Type = iota
	TypeString
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
)

var typeNames = [...]string{"none", "string", "list", "set", "zset", "hash", "stream"}

func (t Type) String() string { return typeNames[t] }

// value flags
const (
	flagHasExpire uint8 = 1 << iota
	// flagRaw marks a string modified in place (APPEND, SETRANGE, SETBIT):
	// Redis reports such strings as "raw" whatever their size.
	flagRaw
	// flagVisited is the snapshot parity bit (see snapshot.go).
	flagVisited
)

// Value is the value stored under a key. For strings, Str holds the bytes;
// other types keep their structure in Obj.
type Value struct {
	Str   string
	Obj   any
	lru   uint32
	Type  Type
	flags uint8
}

// StrBytes returns the string value as a byte slice aliasing the stored
// string; callers must not modify it.
func (v *Value) StrBytes() []byte {
	return unsafe.Slice(unsafe.StringData(v.Str), len(v.Str))
}

// MarkRaw records that a string was modified in place.
func (v *Value) MarkRaw() { v.flags |= flagRaw }

// HasExpire reports whether the key has an expiry time.
func (v *Value) HasExpire() bool { return v.flags&flagHasExpire != 0 }

// Encoding returns the OBJECT ENCODING name of a string value, following
// Redis's tryObjectEncoding: "int" for canonical 64-bit integers of at most
// 20 characters, "embstr" up to 44 bytes, "raw" above or after in-place
// modification. Other types report through their own Encoding method.
func (v *Value) Encoding() string {
	if v.Type != TypeString {
		if e, ok := v.Obj.(interface{ Encoding() string }); ok {
			return e.Encoding()
		}
		return "unknown"
	}
	if v.flags&flagRaw != 0 {
		return "raw"
	}
	if len(v.Str) <= 20 && isCanonicalInt(v.Str) {
		return "int"
	}
	if len(v.Str) <= 44 {
		return "embstr"
	}
	return "raw"
}

// isCanonicalInt reports whether s is a 64-bit integer in its canonical
// form (Redis's string2l followed by the length check).
func isCanonicalInt(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return false
	}
	var tmp [20]byte
	return string(strconv.AppendInt(tmp[:0], n, 10)) == s
}

// Bytes2Str converts without copying; the result must not outlive b's
// contents and must never be stored.
func Bytes2Str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// LRU returns the value's last access time on the 24-bit LRU clock.
func (v *Value) LRU() uint32 { return v.lru }
