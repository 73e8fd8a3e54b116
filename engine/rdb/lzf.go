package rdb

import (
	"fmt"

	"github.com/hdt3213/rdb/lzf"
)

// LZF parameters, as in Redis's lzfP.h (HLOG 16, VERY_FAST, the default
// hash) so that the compressed bytes are the ones redis-server writes.
const (
	lzfHashLog = 16
	lzfHSize   = 1 << lzfHashLog
	lzfMaxLit  = 1 << 5
	lzfMaxOff  = 1 << 13
	lzfMaxRef  = 1<<8 + 1<<3
	// lzfMaxRatio bounds the expansion of a valid stream: a 3-byte back
	// reference yields at most 264 bytes.
	lzfMaxRatio = 88
)

// lzfCompressor holds the hash table reused across calls. Each slot keeps
// the generation of the call that wrote it, so stale slots read as empty
// without clearing the table (the result equals a zeroed table).
type lzfCompressor struct {
	htab []uint64 // gen<<32 | position
	gen  uint32
}

// compress compresses in into out and returns the compressed length, or 0
// when the result would not fit in outLen bytes: the same contract and the
// same bytes as Redis's lzf_compress. Like Redis's buffer, out must have one
// byte more than outLen (a closed literal run may briefly touch it).
func (c *lzfCompressor) compress(in, out []byte, outLen int) int {
	inLen := len(in)
	if len(out) < outLen+1 {
		panic("rdb: lzf output buffer too small")
	}
	if inLen == 0 || outLen == 0 || inLen >= 1<<32 {
		return 0 // positions are kept in 32 bits
	}
	if c.htab == nil {
		c.htab = make([]uint64, lzfHSize)
	}
	c.gen++
	if c.gen == 0 { // wrapped: old generations could alias
		clear(c.htab)
		c.gen = 1
	}
	gen := uint64(c.gen) << 32
	idx := func(h uint32) uint32 {
		return ((h >> (3*8 - lzfHashLog)) - h*5) & (lzfHSize - 1)
	}
	// swap returns the previous position stored for h (or -1) and stores
	// ip in its place.
	swap := func(h uint32, ip int) int {
		slot := &c.htab[idx(h)]
		old := *slot
		*slot = gen | uint64(ip)
		if old&^0xffffffff != gen {
			return -1
		}
		return int(uint32(old))
	}

	ip, op := 0, 1 // op: start a literal run, its length byte at op-lit-1
	lit := 0
	// copyLiteral copies one input byte into the current literal run,
	// closing the run when it reaches its maximum length.
	copyLiteral := func() {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	hval := uint32(in[0])<<8 | uint32(in[1%inLen])
	for ip < inLen-2 {
		hval = hval<<8 | uint32(in[ip+2])
		ref := swap(hval, ip)
		if ref > 0 && ip-ref-1 < lzfMaxOff && ip+4 < inLen &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			off := ip - ref - 1
			maxLen := min(inLen-ip-2, lzfMaxRef)
			out[op-lit-1] = byte(lit - 1) // close the literal run
			if lit == 0 {
				op-- // no literals: drop the run byte
			}
			if op+3+1 >= outLen {
				return 0
			}
			l := matchLen(in, ref, ip, maxLen)
			l -= 2 // now the match length minus one
			ip++
			if l < 7 {
				out[op] = byte(off>>8 + l<<5)
				op++
			} else {
				out[op] = byte(off>>8 + 7<<5)
				out[op+1] = byte(l - 7)
				op += 2
			}
			out[op] = byte(off)
			op += 2 // the byte after is the next run's length
			lit = 0
			ip += l + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			hval = hval<<8 | uint32(in[ip+2])
			swap(hval, ip)
			ip++
			hval = hval<<8 | uint32(in[ip+2])
			swap(hval, ip)
			ip++
			continue
		}
		if op >= outLen {
			return 0
		}
		copyLiteral()
	}
	if op+3 > outLen {
		return 0
	}
	for ip < inLen {
		copyLiteral()
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return op
}

// matchLen extends a 3-byte match at in[ref:] / in[ip:] and returns the
// index of the first byte not matched. It follows lzf_compress exactly,
// including its unrolled first 16 steps, which can run up to two bytes past
// maxLen (still inside the input) when maxLen is 17 or 18.
func matchLen(in []byte, ref, ip, maxLen int) int {
	l := 2
	if maxLen > 16 {
		for range 16 {
			l++
			if in[ref+l] != in[ip+l] {
				return l
			}
		}
	}
	for {
		l++
		if l >= maxLen || in[ref+l] != in[ip+l] {
			return l
		}
	}
}

// lzfDecompress expands an LZF stream that must produce exactly outLen
// bytes. outLen is checked against the largest expansion possible for
// len(in) before anything is allocated.
func lzfDecompress(in []byte, outLen uint64) ([]byte, error) {
	if outLen == 0 {
		return nil, fmt.Errorf("lzf: zero uncompressed length")
	}
	if len(in) == 0 || outLen > uint64(len(in))*lzfMaxRatio {
		return nil, fmt.Errorf("lzf: uncompressed length %d impossible for %d compressed bytes", outLen, len(in))
	}
	out, err := lzf.Decompress(in, len(in), int(outLen))
	if err != nil {
		return nil, fmt.Errorf("lzf: %w", err)
	}
	if uint64(len(out)) != outLen {
		return nil, fmt.Errorf("lzf: got %d bytes, header says %d", len(out), outLen)
	}
	return out, nil
}
