package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Ziplist layout (ziplist.c, RDB types 10, 12, 13 and 14, read only):
// uint32 LE total bytes, uint32 LE offset of the last entry, uint16 LE entry
// count (65535 when unknown), entries, 0xFF. An entry is the previous
// entry's size (1 byte, or 0xFE and uint32 LE), an encoding and the data.
const (
	zlHeaderSize   = 10
	zlEnd          = 0xFF
	zlBigPrevlen   = 0xFE
	zlCountUnknown = 65535
)

// errZiplist is wrapped by every ziplist or zipmap parse error.
var errZiplist = errors.New("bad ziplist")

// ziplistEach validates blob as a ziplist and calls fn for each entry.
func ziplistEach(blob []byte, fn func(lpEntry) error) (int, error) {
	if len(blob) < zlHeaderSize+1 {
		return 0, fmt.Errorf("%w: %d bytes", errZiplist, len(blob))
	}
	if total := binary.LittleEndian.Uint32(blob); uint64(total) != uint64(len(blob)) {
		return 0, fmt.Errorf("%w: header says %d bytes, blob has %d", errZiplist, total, len(blob))
	}
	if blob[len(blob)-1] != zlEnd {
		return 0, fmt.Errorf("%w: no terminator", errZiplist)
	}
	want := int(binary.LittleEndian.Uint16(blob[8:]))
	p := blob[zlHeaderSize : len(blob)-1]
	n, prev := 0, 0
	for len(p) > 0 {
		e, size, err := zlDecodeEntry(p, prev)
		if err != nil {
			return n, fmt.Errorf("%w: entry %d: %v", errZiplist, n, err)
		}
		if err := fn(e); err != nil {
			return n, err
		}
		p, prev = p[size:], size
		n++
	}
	if want != zlCountUnknown && want != n {
		return n, fmt.Errorf("%w: header says %d entries, found %d", errZiplist, want, n)
	}
	return n, nil
}

// zlDecodeEntry decodes the entry at the start of p, whose prevlen must be
// prev, and returns it with its total size.
func zlDecodeEntry(p []byte, prev int) (lpEntry, int, error) {
	h := 1
	pl := int(p[0])
	if p[0] == zlBigPrevlen {
		if len(p) < 5 {
			return lpEntry{}, 0, errors.New("truncated prevlen")
		}
		pl, h = int(binary.LittleEndian.Uint32(p[1:])), 5
	} else if p[0] == zlEnd {
		return lpEntry{}, 0, errors.New("terminator before the end")
	}
	if pl != prev {
		return lpEntry{}, 0, fmt.Errorf("prevlen %d, previous entry has %d bytes", pl, prev)
	}
	if len(p) <= h {
		return lpEntry{}, 0, errors.New("truncated entry")
	}
	b := p[h]
	need := func(n int) error {
		if len(p)-h < n {
			return fmt.Errorf("truncated entry (encoding %#x)", b)
		}
		return nil
	}
	str := func(hdr int, n uint64) (lpEntry, int, error) {
		if n > uint64(len(p)-h-hdr) {
			return lpEntry{}, 0, fmt.Errorf("string of %d bytes past the end", n)
		}
		s := h + hdr
		return lpEntry{str: p[s : s+int(n)]}, s + int(n), nil
	}
	integer := func(size int, v int64) (lpEntry, int, error) {
		if err := need(1 + size); err != nil {
			return lpEntry{}, 0, err
		}
		return lpEntry{num: v, isInt: true}, h + 1 + size, nil
	}
	switch b >> 6 {
	case 0:
		return str(1, uint64(b&0x3f))
	case 1:
		if err := need(2); err != nil {
			return lpEntry{}, 0, err
		}
		return str(2, uint64(b&0x3f)<<8|uint64(p[h+1]))
	case 2:
		if b != 0x80 {
			return lpEntry{}, 0, fmt.Errorf("invalid encoding byte %#x", b)
		}
		if err := need(5); err != nil {
			return lpEntry{}, 0, err
		}
		return str(5, uint64(binary.BigEndian.Uint32(p[h+1:])))
	}
	d := p[h+1:]
	switch {
	case b == 0xC0:
		if len(d) < 2 {
			return integer(2, 0)
		}
		return integer(2, int64(int16(binary.LittleEndian.Uint16(d))))
	case b == 0xD0:
		if len(d) < 4 {
			return integer(4, 0)
		}
		return integer(4, int64(int32(binary.LittleEndian.Uint32(d))))
	case b == 0xE0:
		if len(d) < 8 {
			return integer(8, 0)
		}
		return integer(8, int64(binary.LittleEndian.Uint64(d)))
	case b == 0xF0:
		if len(d) < 3 {
			return integer(3, 0)
		}
		u := uint32(d[0]) | uint32(d[1])<<8 | uint32(d[2])<<16
		return integer(3, int64(int32(u<<8)>>8))
	case b == 0xFE:
		if len(d) < 1 {
			return integer(1, 0)
		}
		return integer(1, int64(int8(d[0])))
	case b >= 0xF1 && b <= 0xFD:
		return integer(0, int64(b&0x0f)-1)
	}
	return lpEntry{}, 0, fmt.Errorf("invalid encoding byte %#x", b)
}

// zipmapEach validates blob as a zipmap (RDB type 9, Redis < 2.6 hashes)
// and calls fn for each field and value.
func zipmapEach(blob []byte, fn func(field, value []byte) error) (int, error) {
	if len(blob) < 2 {
		return 0, fmt.Errorf("%w: zipmap of %d bytes", errZiplist, len(blob))
	}
	want := int(blob[0])
	p := blob[1:]
	readLen := func() (int, error) {
		if len(p) == 0 {
			return 0, errors.New("truncated length")
		}
		switch b := p[0]; {
		case b < 254:
			p = p[1:]
			return int(b), nil
		case b == 254:
			if len(p) < 5 {
				return 0, errors.New("truncated length")
			}
			n := binary.LittleEndian.Uint32(p[1:])
			p = p[5:]
			if uint64(n) > uint64(len(p)) {
				return 0, fmt.Errorf("length %d past the end", n)
			}
			return int(n), nil
		}
		return 0, errors.New("unexpected terminator")
	}
	n := 0
	for {
		if len(p) == 0 {
			return n, fmt.Errorf("%w: zipmap without terminator", errZiplist)
		}
		if p[0] == zlEnd {
			if len(p) != 1 {
				return n, fmt.Errorf("%w: %d bytes after the zipmap terminator", errZiplist, len(p)-1)
			}
			break
		}
		kl, err := readLen()
		if err != nil || kl > len(p) {
			return n, fmt.Errorf("%w: zipmap field %d: bad length (%v)", errZiplist, n, err)
		}
		field := p[:kl]
		p = p[kl:]
		vl, err := readLen()
		if err != nil || len(p) < 1 {
			return n, fmt.Errorf("%w: zipmap value %d: bad length (%v)", errZiplist, n, err)
		}
		free := int(p[0])
		p = p[1:]
		if vl+free > len(p) {
			return n, fmt.Errorf("%w: zipmap value %d past the end", errZiplist, n)
		}
		if err := fn(field, p[:vl]); err != nil {
			return n, err
		}
		p = p[vl+free:]
		n++
	}
	if want < 254 && want != n {
		return n, fmt.Errorf("%w: zipmap header says %d pairs, found %d", errZiplist, want, n)
	}
	return n, nil
}
