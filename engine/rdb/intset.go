package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Intset layout (intset.c): uint32 LE encoding (bytes per element: 2, 4 or
// 8, the smallest that holds every member), uint32 LE length, then the
// members little endian in ascending order.
const intsetHeaderSize = 8

// errIntset is wrapped by every intset parse error.
var errIntset = errors.New("bad intset")

// appendIntset appends the intset blob of vals, which must be sorted
// ascending without duplicates.
func appendIntset(b []byte, vals []int64) []byte {
	width := 2
	for _, v := range vals {
		switch {
		case v < math.MinInt32 || v > math.MaxInt32:
			width = 8
		case (v < math.MinInt16 || v > math.MaxInt16) && width < 4:
			width = 4
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(width))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vals)))
	for _, v := range vals {
		switch width {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// intsetEach validates blob as an intset and calls fn for each member.
func intsetEach(blob []byte, fn func(int64)) (int, error) {
	if len(blob) < intsetHeaderSize {
		return 0, fmt.Errorf("%w: %d bytes", errIntset, len(blob))
	}
	width := binary.LittleEndian.Uint32(blob)
	n := binary.LittleEndian.Uint32(blob[4:])
	if width != 2 && width != 4 && width != 8 {
		return 0, fmt.Errorf("%w: encoding %d", errIntset, width)
	}
	if uint64(width)*uint64(n) != uint64(len(blob)-intsetHeaderSize) {
		return 0, fmt.Errorf("%w: %d members of %d bytes in %d bytes", errIntset, n, width, len(blob)-intsetHeaderSize)
	}
	p := blob[intsetHeaderSize:]
	for i := range int(n) {
		switch width {
		case 2:
			fn(int64(int16(binary.LittleEndian.Uint16(p[2*i:]))))
		case 4:
			fn(int64(int32(binary.LittleEndian.Uint32(p[4*i:]))))
		default:
			fn(int64(binary.LittleEndian.Uint64(p[8*i:])))
		}
	}
	return int(n), nil
}
