// Package hash is hactl-engine's hash value: a map of fields to values
// with Redis 7.0's two encodings.
//
// The pieces:
//   - Hash, the value stored under a key (keyspace.Value.Obj). Small hashes
//     use the "listpack" encoding: one packed byte slice of length-prefixed
//     field/value entries in insertion order, searched linearly like Redis's
//     listpack. Large ones use the "hashtable" encoding: a keyspace.Dict
//     whose key for each field is the prefix of a single allocation holding
//     field and value, the dict value being the value's length (one
//     allocation and one 32-byte dict node per field).
//   - Conversion from listpack to hashtable happens only when the caller
//     asks (ConvertIfLonger, and Set with an entry limit), at the points
//     where Redis's t_hash.c converts; nothing ever converts back.
//
// Field and value slices handed to callbacks alias the hash's memory: they
// are valid until the next modification and must not be changed.
package hash

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"unsafe"

	"github.com/hactl/hactl/engine/keyspace"
)

// Hash is a hash value. The zero value is not usable; call New.
type Hash struct {
	// lp holds the listpack encoding: uvarint(len) field, uvarint(len)
	// value, ... It is unused once d is set.
	lp []byte
	// n is the number of field/value pairs in lp.
	n int
	// d is the hashtable encoding; nil while the hash is a listpack.
	d *keyspace.Dict[uint32]
	// emptyVal is the value of the empty field in the hashtable encoding
	// (an empty dict key cannot carry its value's address).
	emptyVal string
}

// New returns an empty hash in the listpack encoding.
func New() *Hash { return &Hash{} }

// Len returns the number of fields.
func (h *Hash) Len() int {
	if h.d != nil {
		return h.d.Len()
	}
	return h.n
}

// Encoding returns the OBJECT ENCODING name.
func (h *Hash) Encoding() string {
	if h.d != nil {
		return "hashtable"
	}
	return "listpack"
}

// IsListpack reports whether the hash uses the listpack encoding.
func (h *Hash) IsListpack() bool { return h.d == nil }

// Copy returns a deep copy with the same encoding (COPY).
func (h *Hash) Copy() any {
	if h.d == nil {
		return &Hash{lp: append([]byte(nil), h.lp...), n: h.n}
	}
	c := &Hash{d: keyspace.NewDict[uint32]()}
	h.Range(func(f, v []byte) bool {
		c.dictSet(f, v)
		return true
	})
	return c
}

// lpEntry decodes the entry at off and returns it and the next offset.
func (h *Hash) lpEntry(off int) ([]byte, int) {
	n, w := binary.Uvarint(h.lp[off:])
	start := off + w
	end := start + int(n)
	return h.lp[start:end:end], end
}

// lpFind returns the offset of field's entry and of its value, or -1.
func (h *Hash) lpFind(field []byte) (foff, voff int) {
	for off := 0; off < len(h.lp); {
		f, next := h.lpEntry(off)
		_, after := h.lpEntry(next)
		if string(f) == string(field) {
			return off, next
		}
		off = after
	}
	return -1, -1
}

func appendEntry(b, e []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(e)))
	return append(b, e...)
}

// dictValue returns the value of the stored dict key k.
func (h *Hash) dictValue(k string, vlen uint32) []byte {
	if len(k) == 0 {
		return unsafe.Slice(unsafe.StringData(h.emptyVal), len(h.emptyVal))
	}
	if vlen == 0 {
		return []byte{}
	}
	p := unsafe.Add(unsafe.Pointer(unsafe.StringData(k)), len(k))
	return unsafe.Slice((*byte)(p), vlen)
}

// dictSet stores field/value in the hashtable encoding, replacing any
// previous value, and reports whether the field is new.
func (h *Hash) dictSet(field, value []byte) bool {
	_, existed := h.d.Delete(keyspace.Bytes2Str(field))
	if len(field) == 0 {
		h.emptyVal = string(value)
		h.d.Set("", 0)
		return !existed
	}
	buf := make([]byte, len(field)+len(value))
	copy(buf, field)
	copy(buf[len(field):], value)
	k := unsafe.String(unsafe.SliceData(buf), len(field))
	h.d.Set(k, uint32(len(value)))
	return !existed
}

// Get returns field's value and whether it exists.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.d != nil {
		k, ok := h.d.Key(keyspace.Bytes2Str(field))
		if !ok {
			return nil, false
		}
		return h.dictValue(k, *h.d.Get(k)), true
	}
	_, voff := h.lpFind(field)
	if voff < 0 {
		return nil, false
	}
	v, _ := h.lpEntry(voff)
	return v, true
}

// Has reports whether field exists.
func (h *Hash) Has(field []byte) bool {
	if h.d != nil {
		return h.d.Has(keyspace.Bytes2Str(field))
	}
	foff, _ := h.lpFind(field)
	return foff >= 0
}

// Set stores value under field and reports whether the field is new. Like
// Redis's hashTypeSet, a listpack hash converts to a hashtable first when
// field or value is longer than maxValue bytes, and afterwards when it has
// grown beyond maxEntries fields.
func (h *Hash) Set(field, value []byte, maxEntries, maxValue int64) bool {
	if h.d == nil && (int64(len(field)) > maxValue || int64(len(value)) > maxValue) {
		h.Convert()
	}
	if h.d != nil {
		return h.dictSet(field, value)
	}
	added := true
	if foff, voff := h.lpFind(field); foff >= 0 {
		_, end := h.lpEntry(voff)
		var hdr [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(hdr[:], uint64(len(value)))
		if end-voff == n+len(value) {
			// Same size: overwrite in place, no allocation.
			copy(h.lp[voff+n:end], value)
		} else {
			h.lp = slices.Replace(h.lp, voff, end, appendEntry(nil, value)...)
		}
		added = false
	} else {
		h.lp = appendEntry(appendEntry(h.lp, field), value)
		h.n++
	}
	if int64(h.n) > maxEntries {
		h.Convert()
	}
	return added
}

// Delete removes field and reports whether it existed.
func (h *Hash) Delete(field []byte) bool {
	if h.d != nil {
		_, ok := h.d.Delete(keyspace.Bytes2Str(field))
		if ok && len(field) == 0 {
			h.emptyVal = ""
		}
		return ok
	}
	foff, voff := h.lpFind(field)
	if foff < 0 {
		return false
	}
	_, end := h.lpEntry(voff)
	h.lp = append(h.lp[:foff], h.lp[end:]...)
	h.n--
	return true
}

// ConvertIfLonger converts a listpack hash to a hashtable when any of args
// is longer than maxValue bytes (Redis's hashTypeTryConversion, called
// before fields are set).
func (h *Hash) ConvertIfLonger(args [][]byte, maxValue int64) {
	if h.d != nil {
		return
	}
	for _, a := range args {
		if int64(len(a)) > maxValue {
			h.Convert()
			return
		}
	}
}

// Convert switches to the hashtable encoding.
func (h *Hash) Convert() {
	if h.d != nil {
		return
	}
	d := keyspace.NewDict[uint32]()
	lp := h.lp
	h.d = d
	h.lp, h.n = nil, 0
	for off := 0; off < len(lp); {
		n, w := binary.Uvarint(lp[off:])
		f := lp[off+w : off+w+int(n)]
		off += w + int(n)
		n, w = binary.Uvarint(lp[off:])
		v := lp[off+w : off+w+int(n)]
		off += w + int(n)
		h.dictSet(f, v)
	}
}

// Range calls fn for every field/value pair in the encoding's order until
// fn returns false. fn must not modify the hash.
func (h *Hash) Range(fn func(field, value []byte) bool) {
	if h.d != nil {
		h.d.Range(func(k string, vlen *uint32) bool {
			return fn(unsafe.Slice(unsafe.StringData(k), len(k)), h.dictValue(k, *vlen))
		})
		return
	}
	for off := 0; off < len(h.lp); {
		f, next := h.lpEntry(off)
		v, after := h.lpEntry(next)
		if !fn(f, v) {
			return
		}
		off = after
	}
}

// Random returns a random field/value pair; the hash must not be empty.
func (h *Hash) Random(r *rand.Rand) (field, value []byte) {
	if h.d != nil {
		k, vlen, _ := h.d.Random(r)
		return unsafe.Slice(unsafe.StringData(k), len(k)), h.dictValue(k, *vlen)
	}
	i := r.IntN(h.n)
	h.Range(func(f, v []byte) bool {
		if i == 0 {
			field, value = f, v
			return false
		}
		i--
		return true
	})
	return field, value
}

// Pair is one field and its value.
type Pair struct{ Field, Value []byte }

// Pairs returns every pair in the encoding's order (aliasing the hash).
func (h *Hash) Pairs() []Pair {
	out := make([]Pair, 0, h.Len())
	h.Range(func(f, v []byte) bool {
		out = append(out, Pair{f, v})
		return true
	})
	return out
}

// ScanStep is one step of HSCAN: a listpack hash calls fn for every pair
// and returns cursor 0; a hashtable calls fn for the pairs of one bucket
// and returns the next cursor, with keyspace.Dict's Scan guarantees.
func (h *Hash) ScanStep(cursor uint64, fn func(field, value []byte)) uint64 {
	if h.d == nil {
		h.Range(func(f, v []byte) bool {
			fn(f, v)
			return true
		})
		return 0
	}
	return h.d.Scan(cursor, func(k string, vlen *uint32) {
		fn(unsafe.Slice(unsafe.StringData(k), len(k)), h.dictValue(k, *vlen))
	})
}
