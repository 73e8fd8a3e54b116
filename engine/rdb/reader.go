package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"

	"github.com/hdt3213/rdb/crc64jones"
)

// readBufSize is the input buffer size; strings up to this size are read
// with one copy, larger ones grow as their bytes actually arrive.
const readBufSize = 64 << 10

// bigChunk is the largest allocation made ahead of the input for a long
// string: a corrupt length cannot reserve more memory than the file holds
// plus this.
const bigChunk = 1 << 20

// reader is the buffered input of Load. It knows the file offset of every
// byte and folds consumed bytes into the running CRC64.
type reader struct {
	src  io.Reader
	buf  []byte
	r, w int   // unread bytes are buf[r:w]
	base int64 // file offset of buf[0]
	// crc covers the file up to buf[crcMark] (or up to base when the
	// buffer has been compacted).
	crc     hash.Hash64
	crcMark int
	srcErr  error
}

func newReader(src io.Reader) *reader {
	return &reader{src: src, buf: make([]byte, readBufSize), crc: crc64jones.New()}
}

// offset is the file offset of the next unread byte.
func (rd *reader) offset() int64 { return rd.base + int64(rd.r) }

// sum returns the CRC64 of every byte consumed so far.
func (rd *reader) sum() uint64 {
	rd.crc.Write(rd.buf[rd.crcMark:rd.r])
	rd.crcMark = rd.r
	return rd.crc.Sum64()
}

// errTruncated is wrapped when the input ends inside a record.
var errTruncated = errors.New("unexpected end of file")

// readError is a failure of the underlying reader.
type readError struct{ err error }

func (e *readError) Error() string { return "read: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// fill makes at least n <= len(buf) bytes available.
func (rd *reader) fill(n int) error {
	if rd.w-rd.r >= n {
		return nil
	}
	rd.crc.Write(rd.buf[rd.crcMark:rd.r])
	copy(rd.buf, rd.buf[rd.r:rd.w])
	rd.base += int64(rd.r)
	rd.w -= rd.r
	rd.r, rd.crcMark = 0, 0
	for empty := 0; rd.w < n; {
		if rd.srcErr == nil && empty == 100 {
			rd.srcErr = io.ErrNoProgress
		}
		if rd.srcErr != nil {
			if errors.Is(rd.srcErr, io.EOF) {
				return errTruncated
			}
			return &readError{rd.srcErr}
		}
		m, err := rd.src.Read(rd.buf[rd.w:])
		rd.w += m
		if m == 0 {
			empty++
		}
		if err != nil {
			rd.srcErr = err
		}
	}
	return nil
}

// bytes returns the next n <= len(buf) bytes, valid until the next call.
func (rd *reader) bytes(n int) ([]byte, error) {
	if err := rd.fill(n); err != nil {
		return nil, err
	}
	p := rd.buf[rd.r : rd.r+n]
	rd.r += n
	return p, nil
}

func (rd *reader) byte() (byte, error) {
	if rd.r < rd.w {
		b := rd.buf[rd.r]
		rd.r++
		return b, nil
	}
	p, err := rd.bytes(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// readInto appends the next n bytes to dst. Memory grows with the bytes
// actually read, never more than bigChunk ahead of them.
func (rd *reader) readInto(dst []byte, n uint64) ([]byte, error) {
	if n <= uint64(len(rd.buf)) {
		p, err := rd.bytes(int(n))
		if err != nil {
			return dst, err
		}
		return append(dst, p...), nil
	}
	dst = slicesGrow(dst, int(min(n, bigChunk)))
	for n > 0 {
		if err := rd.fill(1); err != nil {
			return dst, err
		}
		k := min(uint64(rd.w-rd.r), n)
		dst = append(dst, rd.buf[rd.r:rd.r+int(k)]...)
		rd.r += int(k)
		n -= k
	}
	return dst, nil
}

func slicesGrow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// length reads an RDB length. special is true when the byte announced a
// special string encoding, whose number is then returned.
func (rd *reader) length() (n uint64, special bool, err error) {
	b, err := rd.byte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case len6Bit:
		return uint64(b & 0x3f), false, nil
	case len14Bit:
		c, err := rd.byte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3f)<<8 | uint64(c), false, nil
	case lenEnc:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case len32Bit:
		p, err := rd.bytes(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case len64Bit:
		p, err := rd.bytes(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, fmt.Errorf("invalid length byte %#x", b)
}

// plainLength reads a length that may not be a special encoding.
func (rd *reader) plainLength() (uint64, error) {
	n, special, err := rd.length()
	if err == nil && special {
		err = errors.New("string encoding where a length was expected")
	}
	return n, err
}

// stringBytes reads an RDB string (raw, integer or LZF) and appends its
// bytes to dst.
func (rd *reader) stringBytes(dst []byte) ([]byte, error) {
	n, special, err := rd.length()
	if err != nil {
		return dst, err
	}
	if !special {
		return rd.readInto(dst, n)
	}
	switch n {
	case encInt8:
		b, err := rd.byte()
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int8(b)), 10), nil
	case encInt16:
		p, err := rd.bytes(2)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(p))), 10), nil
	case encInt32:
		p, err := rd.bytes(4)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(p))), 10), nil
	case encLZF:
		clen, err := rd.plainLength()
		if err != nil {
			return dst, err
		}
		ulen, err := rd.plainLength()
		if err != nil {
			return dst, err
		}
		comp, err := rd.readInto(nil, clen)
		if err != nil {
			return dst, err
		}
		out, err := lzfDecompress(comp, ulen)
		if err != nil {
			return dst, err
		}
		if len(dst) == 0 {
			return out, nil
		}
		return append(dst, out...), nil
	}
	return dst, fmt.Errorf("unknown string encoding %d", n)
}

// string reads an RDB string as a Go string.
func (rd *reader) string() (string, error) {
	// Short raw strings are converted straight from the buffer.
	if rd.r < rd.w {
		if b := rd.buf[rd.r]; b>>6 == len6Bit && rd.w-rd.r > int(b&0x3f) {
			n := int(b & 0x3f)
			s := string(rd.buf[rd.r+1 : rd.r+1+n])
			rd.r += 1 + n
			return s, nil
		}
	}
	p, err := rd.stringBytes(nil)
	return string(p), err
}
