package list

import (
	"bytes"
	"slices"
)

// chunkMax is the largest encoded size of a chunk holding more than one
// element: 8 KiB, like a quicklist node under list-max-listpack-size -2.
// A single element larger than that gets a chunk of its own.
const chunkMax = 8 << 10

// minCap is the smallest buffer given to a chunk.
const minCap = 32

// chunk holds n consecutive entries in buf[lo:hi]. The room before lo and
// after hi takes pushes at either end without moving anything.
type chunk struct {
	buf    []byte // len(buf) == cap(buf)
	lo, hi int32
	n      int32
	// grewFront and grewBack record pushes at each end, so that moving
	// the entries keeps free room on the sides that are in use.
	grewFront, grewBack bool
}

// alloc returns a zeroed buffer of at least n bytes, its length extended to
// the allocator's size class.
func alloc(n int) []byte {
	b := slices.Grow([]byte(nil), n)
	return b[:cap(b)]
}

// chunkOf returns a chunk holding a copy of the encoded entries in data.
func chunkOf(data []byte, n int) *chunk {
	buf := alloc(max(len(data), minCap))
	copy(buf, data)
	return &chunk{buf: buf, hi: int32(len(data)), n: int32(n)}
}

func (c *chunk) size() int { return int(c.hi - c.lo) }

// live returns the chunk's encoded entries.
func (c *chunk) live() []byte { return c.buf[c.lo:c.hi] }

// room makes at least size free bytes before lo (front) or after hi,
// moving the entries inside the buffer or into a bigger one.
func (c *chunk) room(size int, front bool) {
	live := c.size()
	need := live + size
	capacity := len(c.buf)
	if need > capacity/2 && (need > capacity || capacity < chunkMax) {
		capacity = max(2*need, minCap)
		if capacity > chunkMax {
			capacity = max(chunkMax, need)
		}
	}
	buf := c.buf
	if capacity != len(c.buf) {
		buf = alloc(capacity)
		capacity = len(buf)
	}
	free := capacity - live
	keep := 0 // free room left on the other side
	if (front && c.grewBack) || (!front && c.grewFront) {
		keep = (free - size) / 2
	}
	lo := keep
	if front {
		lo = free - keep
	}
	copy(buf[lo:], c.buf[c.lo:c.hi])
	c.buf, c.lo, c.hi = buf, int32(lo), int32(lo+live)
}

func (c *chunk) pushFront(b []byte, size int) {
	if int(c.lo) < size {
		c.room(size, true)
	}
	c.lo -= int32(size)
	putEntry(c.buf[c.lo:int(c.lo)+size], b)
	c.n++
	c.grewFront = true
}

func (c *chunk) pushBack(b []byte, size int) {
	if len(c.buf)-int(c.hi) < size {
		c.room(size, false)
	}
	putEntry(c.buf[c.hi:int(c.hi)+size], b)
	c.hi += int32(size)
	c.n++
	c.grewBack = true
}

func (c *chunk) popFront() []byte {
	e, next := readNext(c.buf, int(c.lo))
	c.lo = int32(next)
	c.n--
	return e
}

func (c *chunk) popBack() []byte {
	e, start := readPrev(c.buf, int(c.hi))
	c.hi = int32(start)
	c.n--
	return e
}

// drop removes the first (front) or last k entries (k < c.n).
func (c *chunk) drop(k int, front bool) {
	if front {
		c.lo = int32(c.skip(int(c.lo), k, true))
	} else {
		c.hi = int32(c.skip(int(c.hi), k, false))
	}
	c.n -= int32(k)
}

// skip returns the offset k entries forward (or backward) from p.
func (c *chunk) skip(p, k int, forward bool) int {
	for range k {
		if forward {
			_, p = readNext(c.buf, p)
		} else {
			_, p = readPrev(c.buf, p)
		}
	}
	return p
}

// offset returns where entry j (0 <= j < c.n) starts, walking from the
// nearer end.
func (c *chunk) offset(j int) int {
	if j <= int(c.n)/2 {
		return c.skip(int(c.lo), j, true)
	}
	return c.skip(int(c.hi), int(c.n)-j, false)
}

// splice replaces the bytes buf[a:b] (one entry, or nothing when a == b)
// with the entry of elem, and adjusts n by dn. The chunk may end up bigger
// than chunkMax: the list splits it.
func (c *chunk) splice(a, b int, elem []byte, dn int) {
	size := entrySize(len(elem))
	delta := size - (b - a)
	switch {
	case delta <= 0 || len(c.buf)-int(c.hi) >= delta:
		copy(c.buf[b+delta:], c.buf[b:c.hi])
		c.hi += int32(delta)
	case int(c.lo) >= delta:
		copy(c.buf[int(c.lo)-delta:], c.buf[c.lo:a])
		c.lo -= int32(delta)
		a -= delta
	default:
		live := c.size() + delta
		buf := alloc(live + live/8 + minCap)
		lo := (len(buf) - live) / 2
		w := copy(buf[lo:], c.buf[c.lo:a])
		copy(buf[lo+w+size:], c.buf[b:c.hi])
		a = lo + w
		c.buf, c.lo, c.hi = buf, int32(lo), int32(lo+live)
	}
	putEntry(c.buf[a:a+size], elem)
	c.n += int32(dn)
}

// removeMatching deletes the entries equal to elem, leaving the first skip
// matches in place and deleting at most limit (limit < 0: no limit). It
// returns how many it deleted.
func (c *chunk) removeMatching(elem []byte, skip, limit int) int {
	removed := 0
	r, w := int(c.lo), int(c.lo)
	for r < int(c.hi) {
		e, next := readNext(c.buf, r)
		if bytes.Equal(e, elem) && (limit < 0 || removed < limit) {
			if skip > 0 {
				skip--
			} else {
				removed++
				r = next
				continue
			}
		}
		if w != r {
			copy(c.buf[w:], c.buf[r:next])
		}
		w += next - r
		r = next
	}
	c.hi = int32(w)
	c.n -= int32(removed)
	return removed
}

// count returns how many entries equal elem.
func (c *chunk) count(elem []byte) int {
	m := 0
	for p := int(c.lo); p < int(c.hi); {
		var e []byte
		e, p = readNext(c.buf, p)
		if bytes.Equal(e, elem) {
			m++
		}
	}
	return m
}

// shrink moves the entries into a smaller buffer when most of the current
// one is unused.
func (c *chunk) shrink() {
	if len(c.buf) > minCap && c.size() < len(c.buf)/4 {
		nc := chunkOf(c.live(), int(c.n))
		*c = *nc
	}
}
