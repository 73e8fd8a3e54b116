package list

import "slices"

// List is a list of byte strings. The zero value is an empty list.
type List struct {
	chunks []*chunk
	n      int
}

// New returns an empty list.
func New() *List { return &List{} }

// Len is the number of elements.
func (l *List) Len() int { return l.n }

// Encoding is the OBJECT ENCODING answer: Redis 7.0 stores every list as a
// quicklist.
func (l *List) Encoding() string { return "quicklist" }

// Copy returns a deep copy (COPY), its chunks packed tight.
func (l *List) Copy() any {
	d := &List{chunks: make([]*chunk, len(l.chunks)), n: l.n}
	for i, c := range l.chunks {
		d.chunks[i] = chunkOf(c.live(), int(c.n))
	}
	return d
}

// PushFront inserts b (copied) at the head.
func (l *List) PushFront(b []byte) {
	size := entrySize(len(b))
	var c *chunk
	if len(l.chunks) > 0 {
		c = l.chunks[0]
		if c.n > 0 && c.size()+size > chunkMax {
			c = nil
		}
	}
	if c == nil {
		c = l.edgeChunk(size)
		c.lo, c.hi = int32(len(c.buf)), int32(len(c.buf))
		l.chunks = slices.Insert(l.chunks, 0, c)
	}
	c.pushFront(b, size)
	l.n++
}

// PushBack inserts b (copied) at the tail.
func (l *List) PushBack(b []byte) {
	size := entrySize(len(b))
	var c *chunk
	if k := len(l.chunks); k > 0 {
		c = l.chunks[k-1]
		if c.n > 0 && c.size()+size > chunkMax {
			c = nil
		}
	}
	if c == nil {
		c = l.edgeChunk(size)
		l.chunks = append(l.chunks, c)
	}
	c.pushBack(b, size)
	l.n++
}

// Push inserts b (copied) at the head (front) or at the tail.
func (l *List) Push(b []byte, front bool) {
	if front {
		l.PushFront(b)
	} else {
		l.PushBack(b)
	}
}

// Pop removes and returns the head (front) or tail element; see PopFront.
func (l *List) Pop(front bool) ([]byte, bool) {
	if front {
		return l.PopFront()
	}
	return l.PopBack()
}

// edgeChunk returns a new chunk for a push of an entry of size bytes. A
// list that already fills a chunk is likely to fill the next one, so that
// one gets its full size at once; a list's first chunk starts small.
func (l *List) edgeChunk(size int) *chunk {
	if len(l.chunks) == 0 {
		return &chunk{}
	}
	return &chunk{buf: alloc(max(chunkMax, size))}
}

// PopFront removes and returns the head element. The slice is valid until
// the next change to the list.
func (l *List) PopFront() ([]byte, bool) {
	if l.n == 0 {
		return nil, false
	}
	c := l.chunks[0]
	e := c.popFront()
	l.n--
	if c.n == 0 {
		l.chunks[0] = nil
		l.chunks = l.chunks[1:]
	}
	return e, true
}

// PopBack removes and returns the tail element. The slice is valid until
// the next change to the list.
func (l *List) PopBack() ([]byte, bool) {
	if l.n == 0 {
		return nil, false
	}
	k := len(l.chunks) - 1
	c := l.chunks[k]
	e := c.popBack()
	l.n--
	if c.n == 0 {
		l.chunks[k] = nil
		l.chunks = l.chunks[:k]
	}
	return e, true
}

// DeleteFront removes the first k elements (all of them if k >= Len).
func (l *List) DeleteFront(k int) {
	for k > 0 && len(l.chunks) > 0 {
		c := l.chunks[0]
		if int(c.n) <= k {
			k -= int(c.n)
			l.n -= int(c.n)
			l.chunks[0] = nil
			l.chunks = l.chunks[1:]
			continue
		}
		c.drop(k, true)
		l.n -= k
		return
	}
}

// DeleteBack removes the last k elements (all of them if k >= Len).
func (l *List) DeleteBack(k int) {
	for k > 0 && len(l.chunks) > 0 {
		last := len(l.chunks) - 1
		c := l.chunks[last]
		if int(c.n) <= k {
			k -= int(c.n)
			l.n -= int(c.n)
			l.chunks[last] = nil
			l.chunks = l.chunks[:last]
			continue
		}
		c.drop(k, false)
		l.n -= k
		return
	}
}

// locate returns the chunk holding element i (0 <= i < Len) and the
// offset where the element starts, walking from the nearer end.
func (l *List) locate(i int) (ci, off int) {
	if i < l.n/2 {
		for ci = 0; i >= int(l.chunks[ci].n); ci++ {
			i -= int(l.chunks[ci].n)
		}
	} else {
		back := l.n - 1 - i // elements after i
		for ci = len(l.chunks) - 1; back >= int(l.chunks[ci].n); ci-- {
			back -= int(l.chunks[ci].n)
		}
		i = int(l.chunks[ci].n) - 1 - back
	}
	return ci, l.chunks[ci].offset(i)
}

// Index returns element i (0 <= i < Len); ok is false out of range. The
// slice is valid until the next change to the list.
func (l *List) Index(i int) ([]byte, bool) {
	if i < 0 || i >= l.n {
		return nil, false
	}
	ci, off := l.locate(i)
	e, _ := readNext(l.chunks[ci].buf, off)
	return e, true
}

// Set replaces element i (0 <= i < Len) with b; ok is false out of range.
func (l *List) Set(i int, b []byte) bool {
	if i < 0 || i >= l.n {
		return false
	}
	ci, off := l.locate(i)
	c := l.chunks[ci]
	_, end := readNext(c.buf, off)
	c.splice(off, end, b, 0)
	l.split(ci)
	return true
}

// Insert puts elem before (or after) the first element equal to pivot,
// walking from the head, and reports whether pivot was found.
func (l *List) Insert(pivot, elem []byte, after bool) bool {
	for ci, c := range l.chunks {
		for p := int(c.lo); p < int(c.hi); {
			e, next := readNext(c.buf, p)
			if string(e) == string(pivot) {
				at := p
				if after {
					at = next
				}
				c.splice(at, at, elem, 1)
				l.n++
				l.split(ci)
				return true
			}
			p = next
		}
	}
	return false
}

// split cuts chunk ci in two when a change in the middle made it bigger
// than chunkMax.
func (l *List) split(ci int) {
	c := l.chunks[ci]
	if c.n < 2 || c.size() <= chunkMax {
		return
	}
	p, k := int(c.lo), 0
	for k < int(c.n)-1 && (k == 0 || p-int(c.lo) < c.size()/2) {
		_, p = readNext(c.buf, p)
		k++
	}
	left := chunkOf(c.buf[c.lo:p], k)
	right := chunkOf(c.buf[p:c.hi], int(c.n)-k)
	l.chunks[ci] = left
	l.chunks = slices.Insert(l.chunks, ci+1, right)
	l.split(ci + 1)
	l.split(ci)
}

// Remove deletes up to count elements equal to elem (count 0: all of them),
// walking from the head, or from the tail when fromTail, like LREM. It
// returns how many it deleted.
func (l *List) Remove(elem []byte, count int, fromTail bool) int {
	limit := count
	if count <= 0 {
		limit = -1
	}
	removed := 0
	for k := range l.chunks {
		ci := k
		if fromTail {
			ci = len(l.chunks) - 1 - k
		}
		c := l.chunks[ci]
		skip, quota := 0, -1
		if limit >= 0 {
			quota = limit - removed
			if fromTail {
				m := c.count(elem)
				skip = max(m-quota, 0)
			}
		}
		if d := c.removeMatching(elem, skip, quota); d > 0 {
			removed += d
			c.shrink()
		}
		if limit >= 0 && removed >= limit {
			break
		}
	}
	l.n -= removed
	if removed > 0 {
		l.compact()
	}
	return removed
}

// compact drops empty chunks and merges neighbours whose entries together
// fill at most half a chunk.
func (l *List) compact() {
	out := l.chunks[:0]
	for _, c := range l.chunks {
		if c.n == 0 {
			continue
		}
		if k := len(out); k > 0 && out[k-1].size()+c.size() <= chunkMax/2 {
			prev := out[k-1]
			merged := make([]byte, 0, prev.size()+c.size())
			merged = append(append(merged, prev.live()...), c.live()...)
			out[k-1] = chunkOf(merged, int(prev.n+c.n))
			continue
		}
		out = append(out, c)
	}
	clear(l.chunks[len(out):])
	l.chunks = out
}

// Iter walks a list from a position towards the tail or the head. The list
// must not change while an Iter is in use.
type Iter struct {
	l   *List
	ci  int
	p   int
	rev bool
}

// IterAt returns an iterator whose first Next returns element i
// (0 <= i < Len), then the following elements, or the preceding ones when
// reverse. Out of range, the iterator is exhausted at once.
func (l *List) IterAt(i int, reverse bool) Iter {
	if i < 0 || i >= l.n {
		return Iter{l: l, ci: -1, rev: true}
	}
	ci, off := l.locate(i)
	if reverse {
		_, off = readNext(l.chunks[ci].buf, off)
	}
	return Iter{l: l, ci: ci, p: off, rev: reverse}
}

// Next returns the next element. The slice is valid until the next change
// to the list.
func (it *Iter) Next() ([]byte, bool) {
	chunks := it.l.chunks
	if it.rev {
		for it.ci >= 0 {
			c := chunks[it.ci]
			if it.p > int(c.lo) {
				e, start := readPrev(c.buf, it.p)
				it.p = start
				return e, true
			}
			it.ci--
			if it.ci >= 0 {
				it.p = int(chunks[it.ci].hi)
			}
		}
		return nil, false
	}
	for it.ci < len(chunks) {
		c := chunks[it.ci]
		if it.p < int(c.hi) {
			e, next := readNext(c.buf, it.p)
			it.p = next
			return e, true
		}
		it.ci++
		if it.ci < len(chunks) {
			it.p = int(chunks[it.ci].lo)
		}
	}
	return nil, false
}
