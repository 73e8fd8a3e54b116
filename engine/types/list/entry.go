package list

// An entry is uvarint(len) | bytes | reversed uvarint(len). The trailing
// copy holds the uvarint's bytes in reverse order, so reading backwards from
// the end of an entry meets the low-order group (with its continuation bit)
// first, exactly as reading forwards does.

// varintLen is the size of the uvarint encoding of n.
func varintLen(n int) int {
	k := 1
	for n >= 0x80 {
		n >>= 7
		k++
	}
	return k
}

// entrySize is the encoded size of an element of n bytes.
func entrySize(n int) int { return 2*varintLen(n) + n }

// putEntry encodes b into dst, which must be exactly entrySize(len(b)) long.
func putEntry(dst, b []byte) {
	n := len(b)
	k := 0
	for v := n; ; v >>= 7 {
		c := byte(v & 0x7f)
		if v >= 0x80 {
			c |= 0x80
		}
		dst[k] = c
		dst[len(dst)-1-k] = c
		k++
		if v < 0x80 {
			break
		}
	}
	copy(dst[k:], b)
}

// readNext decodes the entry starting at p and returns its bytes and the
// offset just after it.
func readNext(buf []byte, p int) (elem []byte, next int) {
	n, k := 0, 0
	for shift := 0; ; shift += 7 {
		c := buf[p+k]
		k++
		n |= int(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	start := p + k
	return buf[start : start+n : start+n], start + n + k
}

// readPrev decodes the entry ending at p and returns its bytes and the
// offset where it starts.
func readPrev(buf []byte, p int) (elem []byte, start int) {
	n, k := 0, 0
	for shift := 0; ; shift += 7 {
		k++
		c := buf[p-k]
		n |= int(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	end := p - k
	return buf[end-n : end : end], end - n - k
}
