// Package set is hactl-engine's set value with Redis 7.0's two encodings.
//
// The pieces:
//   - Set, the value stored under a key (keyspace.Value.Obj). Sets whose
//     members are all 64-bit integers in canonical form use the "intset"
//     encoding: a sorted []int64, as long as they have at most
//     set-max-intset-entries members. Any other set uses the "hashtable"
//     encoding: a keyspace.Dict of members (one allocation for the member
//     and one dict node each).
//   - Conversions follow Redis 7.0.15's t_set.c: New (setTypeCreate) picks
//     intset for an integer first member; Add converts an intset to a
//     hashtable when a non-integer member arrives or the intset grows past
//     the limit; nothing converts back except a set rebuilt from scratch
//     (SPOP with a large count, the *STORE commands).
//
// Members handed to callbacks are byte slices valid only during the call.
package set

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"unsafe"

	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/internal/redisint"
)

// Set is a set value. Use New or NewIntset.
type Set struct {
	// ints is the intset encoding, sorted ascending; unused once d is set.
	ints []int64
	// d is the hashtable encoding; nil while the set is an intset.
	d *keyspace.Dict[struct{}]
}

// New returns an empty set with the encoding Redis's setTypeCreate picks
// for a set whose first member is first: intset for an integer, hashtable
// otherwise.
func New(first []byte) *Set {
	if _, ok := ParseInt(first); ok {
		return NewIntset()
	}
	return newHashtable()
}

func newHashtable() *Set { return &Set{d: keyspace.NewDict[struct{}]()} }

// NewIntset returns an empty intset (Redis's createIntsetObject), the
// starting point of sets built by SINTERSTORE, SUNIONSTORE and SDIFFSTORE.
func NewIntset() *Set { return &Set{} }

// ParseInt is Redis's string2ll as used by isSdsRepresentableAsLongLong:
// an optional '-', no leading zeros or '+', 64-bit range.
func ParseInt(b []byte) (int64, bool) { return redisint.Parse(b) }

// Len returns the number of members.
func (s *Set) Len() int {
	if s.d != nil {
		return s.d.Len()
	}
	return len(s.ints)
}

// Encoding returns the OBJECT ENCODING name.
func (s *Set) Encoding() string {
	if s.d != nil {
		return "hashtable"
	}
	return "intset"
}

// IsIntset reports whether the set uses the intset encoding.
func (s *Set) IsIntset() bool { return s.d == nil }

// Copy returns a deep copy with the same encoding (COPY).
func (s *Set) Copy() any {
	if s.d == nil {
		return &Set{ints: slices.Clone(s.ints)}
	}
	c := newHashtable()
	s.d.Range(func(k string, _ *struct{}) bool {
		c.d.Set(k, struct{}{}) // strings are immutable: sharing is safe
		return true
	})
	return c
}

// convert switches an intset to the hashtable encoding.
func (s *Set) convert() {
	d := keyspace.NewDict[struct{}]()
	for _, v := range s.ints {
		d.Set(strconv.FormatInt(v, 10), struct{}{})
	}
	s.ints = nil
	s.d = d
}

// Add adds member and reports whether it was new; maxIntset is
// set-max-intset-entries.
func (s *Set) Add(member []byte, maxIntset int64) bool {
	if s.d == nil {
		v, ok := ParseInt(member)
		if ok {
			i, found := slices.BinarySearch(s.ints, v)
			if found {
				return false
			}
			s.ints = slices.Insert(s.ints, i, v)
			if int64(len(s.ints)) > maxIntset {
				s.convert()
			}
			return true
		}
		s.convert()
	}
	k := keyspace.Bytes2Str(member)
	if s.d.Has(k) {
		return false
	}
	s.d.Set(string(member), struct{}{})
	return true
}

// Remove removes member and reports whether it was present.
func (s *Set) Remove(member []byte) bool {
	if s.d != nil {
		_, ok := s.d.Delete(keyspace.Bytes2Str(member))
		return ok
	}
	v, ok := ParseInt(member)
	if !ok {
		return false
	}
	i, found := slices.BinarySearch(s.ints, v)
	if !found {
		return false
	}
	s.ints = slices.Delete(s.ints, i, i+1)
	return true
}

// Has reports whether member is in the set.
func (s *Set) Has(member []byte) bool {
	if s.d != nil {
		return s.d.Has(keyspace.Bytes2Str(member))
	}
	v, ok := ParseInt(member)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(s.ints, v)
	return found
}

// Range calls fn for every member in the encoding's order (ascending for
// an intset) until fn returns false. fn must not modify the set.
func (s *Set) Range(fn func(member []byte) bool) {
	if s.d != nil {
		s.d.Range(func(k string, _ *struct{}) bool {
			return fn(unsafe.Slice(unsafe.StringData(k), len(k)))
		})
		return
	}
	var tmp [24]byte
	for _, v := range s.ints {
		if !fn(strconv.AppendInt(tmp[:0], v, 10)) {
			return
		}
	}
}

// Members returns every member as a string, in the encoding's order.
func (s *Set) Members() []string {
	out := make([]string, 0, s.Len())
	if s.d != nil {
		s.d.Range(func(k string, _ *struct{}) bool {
			out = append(out, k)
			return true
		})
		return out
	}
	for _, v := range s.ints {
		out = append(out, strconv.FormatInt(v, 10))
	}
	return out
}

// Random returns a random member; the set must not be empty.
func (s *Set) Random(r *rand.Rand) string {
	if s.d != nil {
		k, _, _ := s.d.Random(r)
		return k
	}
	return strconv.FormatInt(s.ints[r.IntN(len(s.ints))], 10)
}

// Pop removes and returns a random member; the set must not be empty.
func (s *Set) Pop(r *rand.Rand) string {
	if s.d != nil {
		k, _, _ := s.d.Random(r)
		s.d.Delete(k)
		return k
	}
	i := r.IntN(len(s.ints))
	v := s.ints[i]
	s.ints = slices.Delete(s.ints, i, i+1)
	return strconv.FormatInt(v, 10)
}

// ScanStep is one step of SSCAN: an intset calls fn for every member and
// returns cursor 0; a hashtable calls fn for the members of one bucket and
// returns the next cursor, with keyspace.Dict's Scan guarantees. The
// second argument of fn is always nil (the signature is shared with
// hashes).
func (s *Set) ScanStep(cursor uint64, fn func(member, _ []byte)) uint64 {
	if s.d == nil {
		s.Range(func(m []byte) bool {
			fn(m, nil)
			return true
		})
		return 0
	}
	return s.d.Scan(cursor, func(k string, _ *struct{}) {
		fn(unsafe.Slice(unsafe.StringData(k), len(k)), nil)
	})
}

// EmptyLike returns an empty set with the same encoding as s.
func (s *Set) EmptyLike() *Set {
	if s.d == nil {
		return NewIntset()
	}
	return newHashtable()
}
