package zset

import "slices"

// Item is one member of a sorted set with its score.
type Item struct {
	Member string
	Score  float64
}

// Less orders items like Redis's skiplist: by score, then by member bytes.
func (a Item) Less(b Item) bool {
	return a.Score < b.Score || (a.Score == b.Score && a.Member < b.Member)
}

// Node sizes of the counted B-tree: every node but the root holds between
// minItems and maxItems items (a node split while appending at the right
// edge may start smaller; merges fix it as the tree changes).
const (
	maxItems = 127
	minItems = maxItems / 2
)

// tree is a counted B-tree (items in inner nodes too): every node knows how
// many items its subtree holds, which gives O(log n) rank and select.
// Items are stored inline, so a big sorted set costs one 24-byte slot per
// member plus the member's bytes.
type tree struct {
	root *node
}

type node struct {
	items    []Item
	children []*node // nil in leaves; len(items)+1 otherwise
	count    int     // items in this subtree
}

func (n *node) leaf() bool { return n.children == nil }

// find returns the index of the first item not less than key and whether
// it equals key.
func (n *node) find(key Item) (int, bool) {
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.items[m].Less(key) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.items) && !key.Less(n.items[lo])
}

// Len is the number of items.
func (t *tree) Len() int {
	if t.root == nil {
		return 0
	}
	return t.root.count
}

// split cuts the full node n after index m: n keeps items[:m], the median
// items[m] and a new right sibling are returned.
func (n *node) split(m int) (Item, *node) {
	med := n.items[m]
	r := &node{items: make([]Item, len(n.items)-m-1, maxItems)}
	copy(r.items, n.items[m+1:])
	clear(n.items[m:])
	n.items = n.items[:m]
	r.count = len(r.items)
	if !n.leaf() {
		r.children = make([]*node, len(n.children)-m-1, maxItems+1)
		copy(r.children, n.children[m+1:])
		clear(n.children[m+1:])
		n.children = n.children[:m+1]
		for _, c := range r.children {
			r.count += c.count
		}
	}
	n.count -= r.count + 1
	return med, r
}

// Insert adds it, which must not be present.
func (t *tree) Insert(it Item) {
	if t.root == nil {
		t.root = &node{items: make([]Item, 0, 8)}
	}
	if len(t.root.items) >= maxItems {
		old := t.root
		med, r := old.split(maxItems / 2)
		root := &node{items: make([]Item, 1, maxItems), children: make([]*node, 2, maxItems+1)}
		root.items[0] = med
		root.children[0], root.children[1] = old, r
		root.count = old.count + r.count + 1
		t.root = root
	}
	n := t.root
	for {
		i, _ := n.find(it)
		n.count++
		if n.leaf() {
			n.items = slices.Insert(n.items, i, it)
			return
		}
		c := n.children[i]
		if len(c.items) >= maxItems {
			m := maxItems / 2
			if c.leaf() && c.items[len(c.items)-1].Less(it) {
				// Appending past the end of a leaf (ascending loads):
				// keep the left leaf nearly full.
				m = maxItems - 2
			}
			med, r := c.split(m)
			n.items = slices.Insert(n.items, i, med)
			n.children = slices.Insert(n.children, i+1, r)
			if med.Less(it) {
				c = r
			}
		}
		n = c
	}
}

type removeKind uint8

const (
	removeItem removeKind = iota
	removeMin
	removeMax
)

// Delete removes the item equal to key and reports whether it was there.
func (t *tree) Delete(key Item) (Item, bool) { return t.remove(key, removeItem) }

// PopMin removes and returns the smallest item; the tree must not be empty.
func (t *tree) PopMin() Item { it, _ := t.remove(Item{}, removeMin); return it }

// PopMax removes and returns the largest item; the tree must not be empty.
func (t *tree) PopMax() Item { it, _ := t.remove(Item{}, removeMax); return it }

func (t *tree) remove(key Item, kind removeKind) (Item, bool) {
	if t.root == nil || t.root.count == 0 {
		return Item{}, false
	}
	it, ok := t.root.remove(key, kind)
	if len(t.root.items) == 0 {
		if t.root.leaf() {
			t.root = nil
		} else {
			t.root = t.root.children[0]
		}
	}
	return it, ok
}

func (n *node) remove(key Item, kind removeKind) (Item, bool) {
	var i int
	found := false
	switch kind {
	case removeMax:
		if n.leaf() {
			return n.removeAt(len(n.items) - 1), true
		}
		i = len(n.items)
	case removeMin:
		if n.leaf() {
			return n.removeAt(0), true
		}
	default:
		i, found = n.find(key)
		if n.leaf() {
			if !found {
				return Item{}, false
			}
			return n.removeAt(i), true
		}
	}
	if len(n.children[i].items) <= minItems {
		n.growChild(i)
		return n.remove(key, kind)
	}
	c := n.children[i]
	if found {
		out := n.items[i]
		n.items[i], _ = c.remove(Item{}, removeMax)
		n.count--
		return out, true
	}
	out, ok := c.remove(key, kind)
	if ok {
		n.count--
	}
	return out, ok
}

func (n *node) removeAt(i int) Item {
	it := n.items[i]
	n.items = slices.Delete(n.items, i, i+1)
	n.count--
	return it
}

// growChild gives child i more than minItems items by stealing from a
// sibling or merging with one, like google/btree's growChildAndRemove.
func (n *node) growChild(i int) {
	c := n.children[i]
	switch {
	case i > 0 && len(n.children[i-1].items) > minItems:
		l := n.children[i-1]
		stolen := l.items[len(l.items)-1]
		l.items = slices.Delete(l.items, len(l.items)-1, len(l.items))
		c.items = slices.Insert(c.items, 0, n.items[i-1])
		n.items[i-1] = stolen
		moved := 1
		if !l.leaf() {
			ch := l.children[len(l.children)-1]
			l.children = slices.Delete(l.children, len(l.children)-1, len(l.children))
			c.children = slices.Insert(c.children, 0, ch)
			moved += ch.count
		}
		l.count -= moved
		c.count += moved
	case i < len(n.items) && len(n.children[i+1].items) > minItems:
		r := n.children[i+1]
		stolen := r.items[0]
		r.items = slices.Delete(r.items, 0, 1)
		c.items = append(c.items, n.items[i])
		n.items[i] = stolen
		moved := 1
		if !r.leaf() {
			ch := r.children[0]
			r.children = slices.Delete(r.children, 0, 1)
			c.children = append(c.children, ch)
			moved += ch.count
		}
		r.count -= moved
		c.count += moved
	default:
		if i >= len(n.items) {
			i--
			c = n.children[i]
		}
		mc := n.children[i+1]
		c.items = append(c.items, n.items[i])
		c.items = append(c.items, mc.items...)
		c.children = append(c.children, mc.children...)
		c.count += 1 + mc.count
		n.items = slices.Delete(n.items, i, i+1)
		n.children = slices.Delete(n.children, i+1, i+2)
	}
}

// countBefore returns how many items satisfy before, which must hold for a
// prefix of the order (true for every item up to some point, then false).
func (t *tree) countBefore(before func(Item) bool) int {
	r := 0
	for n := t.root; n != nil; {
		lo, hi := 0, len(n.items)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if before(n.items[m]) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		r += lo
		if n.leaf() {
			return r
		}
		for _, c := range n.children[:lo] {
			r += c.count
		}
		n = n.children[lo]
	}
	return r
}

// At returns the item of rank i (0-based, ascending); 0 <= i < Len().
func (t *tree) At(i int) Item {
	n := t.root
	for !n.leaf() {
		next := (*node)(nil)
		for j, c := range n.children {
			if i < c.count {
				next = c
				break
			}
			i -= c.count
			if i == 0 {
				return n.items[j]
			}
			i--
		}
		n = next
	}
	return n.items[i]
}

// ascend calls fn on the items of rank >= skip in order until fn returns
// false; it reports whether the walk ran to the end.
func (n *node) ascend(skip int, fn func(Item) bool) bool {
	if n.leaf() {
		for _, it := range n.items[skip:] {
			if !fn(it) {
				return false
			}
		}
		return true
	}
	for i, c := range n.children {
		if skip >= c.count {
			skip -= c.count
		} else {
			if !c.ascend(skip, fn) {
				return false
			}
			skip = 0
		}
		if i < len(n.items) {
			if skip > 0 {
				skip--
			} else if !fn(n.items[i]) {
				return false
			}
		}
	}
	return true
}

// descend calls fn on the items of rank <= from (within n) in descending
// order until fn returns false.
func (n *node) descend(from int, fn func(Item) bool) bool {
	if n.leaf() {
		for i := from; i >= 0; i-- {
			if !fn(n.items[i]) {
				return false
			}
		}
		return true
	}
	// Locate rank from: in child j, or item j.
	j, inItem := 0, false
	for ; j < len(n.children); j++ {
		c := n.children[j]
		if from < c.count {
			break
		}
		from -= c.count
		if from == 0 {
			inItem = true
			break
		}
		from--
	}
	if inItem {
		if !fn(n.items[j]) {
			return false
		}
		if c := n.children[j]; !c.descend(c.count-1, fn) {
			return false
		}
	} else if !n.children[j].descend(from, fn) {
		return false
	}
	for k := j - 1; k >= 0; k-- {
		if !fn(n.items[k]) {
			return false
		}
		if c := n.children[k]; !c.descend(c.count-1, fn) {
			return false
		}
	}
	return true
}

// Ascend visits items from rank start upwards while fn returns true.
func (t *tree) Ascend(start int, fn func(Item) bool) {
	if t.root != nil && start < t.root.count {
		t.root.ascend(start, fn)
	}
}

// Descend visits items from rank start downwards while fn returns true.
func (t *tree) Descend(start int, fn func(Item) bool) {
	if t.root != nil && start >= 0 {
		t.root.descend(min(start, t.root.count-1), fn)
	}
}

// clone deep-copies the tree structure; member strings are shared (they
// are immutable).
func (n *node) clone() *node {
	c := &node{items: slices.Clone(n.items), count: n.count}
	if !n.leaf() {
		c.children = make([]*node, len(n.children), cap(n.children))
		for i, ch := range n.children {
			c.children[i] = ch.clone()
		}
	}
	return c
}
