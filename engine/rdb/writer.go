package rdb

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/hdt3213/rdb/crc64jones"
)

// NoExpire is the expireMs argument for a key without an expiry time (any
// negative value means the same).
const NoExpire int64 = -1

// RedisVersion is the redis-ver aux field written by default.
const RedisVersion = "7.0.15"

// flushSize is the size at which the Writer hands its buffer to the
// underlying io.Writer.
const flushSize = 64 << 10

// packedThreshold is the element size from which Redis keeps a list
// element in a PLAIN quicklist node of its own (quicklist.c).
const packedThreshold = 1 << 30

// Quicklist node containers in QUICKLIST_2 records.
const (
	containerPlain  = 1
	containerPacked = 2
)

// Options configure a Writer.
type Options struct {
	// Compression is rdbcompression: LZF for strings longer than 20 bytes
	// when it saves at least 4 bytes.
	Compression bool
	// Checksum is rdbchecksum: the CRC64 trailer, else 8 zero bytes.
	Checksum bool
	// Aux holds the values of the aux fields written after the header.
	Aux Aux
	// Limits are the encoding thresholds; nil means Redis's defaults.
	Limits *Limits
}

// Aux are the aux fields Redis 7.0 writes after the header, in this order:
// redis-ver, redis-bits (always 64), ctime, used-mem, then repl-stream-db,
// repl-id and repl-offset when Repl is set, then aof-base.
type Aux struct {
	// RedisVer defaults to RedisVersion.
	RedisVer string
	// CTime defaults to the time NewWriter is called.
	CTime time.Time
	// UsedMem is the used-mem field in bytes.
	UsedMem int64
	// Repl, when set, adds the replication fields a restarted replica uses
	// to partially resynchronise.
	Repl *ReplInfo
	// AOFBase marks the file as the base of a multi-part AOF.
	AOFBase bool
}

// ReplInfo is the replication state saved in the aux fields.
type ReplInfo struct {
	StreamDB int
	ID       string
	Offset   int64
}

// Limits are the configuration values that choose between the compact and
// the large encodings, with Redis's config names.
type Limits struct {
	HashMaxListpackEntries int // hash-max-listpack-entries
	HashMaxListpackValue   int // hash-max-listpack-value
	SetMaxIntsetEntries    int // set-max-intset-entries
	ZSetMaxListpackEntries int // zset-max-listpack-entries
	ZSetMaxListpackValue   int // zset-max-listpack-value
	ListMaxListpackSize    int // list-max-listpack-size (quicklist fill)
}

// DefaultLimits returns the built-in defaults of redis-server 7.0.15 (without
// a config file: hash-max-listpack-entries is 512 there, 128 in the sample
// redis.conf).
func DefaultLimits() Limits {
	return Limits{
		HashMaxListpackEntries: 512,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
		ListMaxListpackSize:    -2,
	}
}

// Writer streams an RDB file. Each call appends one record to an internal
// buffer that is written out in 64 KiB pieces; the first error is kept and
// returned by every later call, and by Close. A Writer is not safe for
// concurrent use.
type Writer struct {
	out     io.Writer
	buf     []byte
	crc     hash.Hash64
	opts    Options
	lim     Limits
	written int64
	err     error
	closed  bool

	lzf    lzfCompressor
	lzfOut []byte
	lp     listpack
	nodes  []byte   // encoded quicklist nodes of the list being written
	strs   []string // members of a small set, hash or zset being checked
	ints   []int64
	scores []float64
}

// NewWriter starts an RDB file on out: it buffers the header and the aux
// fields. Nothing reaches out before 64 KiB are buffered or Close is
// called. The caller owns out (temporary file, fsync, rename).
func NewWriter(out io.Writer, opts Options) *Writer {
	w := &Writer{out: out, opts: opts, crc: crc64jones.New(), buf: make([]byte, 0, flushSize+flushSize/4)}
	w.lim = DefaultLimits()
	if opts.Limits != nil {
		w.lim = *opts.Limits
	}
	a := opts.Aux
	if a.RedisVer == "" {
		a.RedisVer = RedisVersion
	}
	if a.CTime.IsZero() {
		a.CTime = time.Now()
	}
	w.buf = append(w.buf, "REDIS"...)
	w.buf = fmt.Appendf(w.buf, "%04d", Version)
	w.aux("redis-ver", a.RedisVer)
	w.aux("redis-bits", "64")
	w.aux("ctime", strconv.FormatInt(a.CTime.Unix(), 10))
	w.aux("used-mem", strconv.FormatInt(a.UsedMem, 10))
	if r := a.Repl; r != nil {
		w.aux("repl-stream-db", strconv.Itoa(r.StreamDB))
		w.aux("repl-id", r.ID)
		w.aux("repl-offset", strconv.FormatInt(r.Offset, 10))
	}
	aofBase := "0"
	if a.AOFBase {
		aofBase = "1"
	}
	w.aux("aof-base", aofBase)
	return w
}

func (w *Writer) aux(key, value string) {
	w.buf = append(w.buf, opAux)
	w.buf = w.appendString(w.buf, key)
	w.buf = w.appendString(w.buf, value)
}

// Written returns the number of bytes produced so far, buffered or not.
func (w *Writer) Written() int64 { return w.written + int64(len(w.buf)) }

// SelectDB starts database db; size and expires are the number of keys and
// of keys with an expiry time that follow (a hint for the loader's hash
// tables). Redis writes nothing for an empty database.
func (w *Writer) SelectDB(db int, size, expires uint64) error {
	if err := w.check(); err != nil {
		return err
	}
	if db < 0 {
		return w.fail(fmt.Errorf("rdb: select db %d: negative", db))
	}
	w.buf = append(w.buf, opSelectDB)
	w.buf = appendLen(w.buf, uint64(db))
	w.buf = append(w.buf, opResizeDB)
	w.buf = appendLen(w.buf, size)
	w.buf = appendLen(w.buf, expires)
	return w.flushIfFull()
}

// WriteString writes a string key. expireMs is the absolute expiry time in
// unix milliseconds, or NoExpire.
func (w *Writer) WriteString(key, val string, expireMs int64) error {
	if err := w.check(); err != nil {
		return err
	}
	w.keyHeader(TypeString, key, expireMs)
	w.buf = w.appendString(w.buf, val)
	return w.flushIfFull()
}

// WriteList writes a list key of n elements as QUICKLIST_2, splitting it
// into listpack nodes as Redis's RPUSH does under list-max-listpack-size.
// The node count precedes the nodes, so the encoded nodes are buffered
// until the end of the list (the buffer is the size of the record). An
// empty list is skipped (Redis never saves one).
func (w *Writer) WriteList(key string, n int, elems iter.Seq[string], expireMs int64) error {
	if err := w.check(); err != nil {
		return err
	}
	if n <= 0 {
		return w.emptyOrNegative("list", key, n)
	}
	fill := w.lim.ListMaxListpackSize
	w.nodes = w.nodes[:0]
	nodes, count, inNode := 0, 0, 0
	closeNode := func() {
		if inNode == 0 {
			return
		}
		w.nodes = appendLen(w.nodes, containerPacked)
		w.nodes = w.appendBlob(w.nodes, w.lp.finish())
		nodes++
		inNode = 0
	}
	w.lp.reset()
	for e := range elems {
		count++
		if count > n {
			break
		}
		if len(e) >= packedThreshold {
			closeNode()
			w.lp.reset()
			w.nodes = appendLen(w.nodes, containerPlain)
			w.nodes = w.appendString(w.nodes, e)
			nodes++
			continue
		}
		if inNode > 0 && !quicklistAllowInsert(w.lp.size(), inNode, fill, len(e)) {
			closeNode()
			w.lp.reset()
		}
		w.lp.add(e)
		inNode++
	}
	closeNode()
	if count != n {
		return w.fail(fmt.Errorf("rdb: list %q: iterator yielded %s elements, n is %d", key, atLeast(count, n), n))
	}
	w.keyHeader(TypeListQuicklist2, key, expireMs)
	w.buf = appendLen(w.buf, uint64(nodes))
	w.appendBig(w.nodes)
	if cap(w.nodes) > 4*flushSize {
		w.nodes = nil
	}
	return w.flushIfFull()
}

// quicklistAllowInsert is _quicklistNodeAllowInsert of Redis 7.0: may an
// element of sz bytes join a node of nodeSize bytes and count entries?
func quicklistAllowInsert(nodeSize, count, fill, sz int) bool {
	const sizeEstimateOverhead = 8
	const sizeSafetyLimit = 8192
	optimizationLevel := [...]int{4096, 8192, 16384, 32768, 65536}
	newSize := nodeSize + sz + sizeEstimateOverhead
	if fill < 0 {
		if off := -fill - 1; off < len(optimizationLevel) && newSize <= optimizationLevel[off] {
			return true
		}
	}
	if newSize > sizeSafetyLimit {
		return false
	}
	return count < fill
}

// WriteSet writes a set key of n members: INTSET when every member is an
// integer and n <= set-max-intset-entries, else SET. Members must be
// distinct. An empty set is skipped.
func (w *Writer) WriteSet(key string, n int, members iter.Seq[string], expireMs int64) error {
	if err := w.check(); err != nil {
		return err
	}
	if n <= 0 {
		return w.emptyOrNegative("set", key, n)
	}
	if n > w.lim.SetMaxIntsetEntries {
		pairs := func(yield func(string, struct{}) bool) {
			for m := range members {
				if !yield(m, struct{}{}) {
					return
				}
			}
		}
		return streamRecord(w, "set", TypeSet, key, n, pairs, expireMs, func(m string, _ struct{}) {
			w.buf = w.appendString(w.buf, m)
		})
	}
	w.strs, w.ints = w.strs[:0], w.ints[:0]
	allInts := true
	for m := range members {
		if len(w.strs) == n {
			return w.fail(fmt.Errorf("rdb: set %q: iterator yielded more than %d members", key, n))
		}
		w.strs = append(w.strs, m)
		if allInts {
			v, ok := parseInt(m)
			allInts = ok
			w.ints = append(w.ints, v)
		}
	}
	if err := w.checkCount("set", key, len(w.strs), n); err != nil {
		return err
	}
	if !allInts {
		w.keyHeader(TypeSet, key, expireMs)
		w.buf = appendLen(w.buf, uint64(n))
		for _, m := range w.strs {
			w.buf = w.appendString(w.buf, m)
		}
		clear(w.strs)
		return w.flushIfFull()
	}
	clear(w.strs)
	slices.Sort(w.ints)
	for i := 1; i < len(w.ints); i++ {
		if w.ints[i] == w.ints[i-1] {
			return w.fail(fmt.Errorf("rdb: set %q: duplicate member %d", key, w.ints[i]))
		}
	}
	w.keyHeader(TypeSetIntset, key, expireMs)
	w.lp.b = appendIntset(w.lp.b[:0], w.ints)
	w.buf = w.appendBlob(w.buf, w.lp.b)
	return w.flushIfFull()
}

// WriteHash writes a hash key of n field/value pairs: LISTPACK (in the
// given order) when n <= hash-max-listpack-entries and no field or value is
// longer than hash-max-listpack-value, else HASH. An empty hash is skipped.
func (w *Writer) WriteHash(key string, n int, pairs iter.Seq2[string, string], expireMs int64) error {
	if err := w.check(); err != nil {
		return err
	}
	if n <= 0 {
		return w.emptyOrNegative("hash", key, n)
	}
	if n > w.lim.HashMaxListpackEntries {
		return streamRecord(w, "hash", TypeHash, key, n, pairs, expireMs, w.appendHashPair)
	}
	w.strs = w.strs[:0]
	small := true
	for f, v := range pairs {
		if len(w.strs) == 2*n {
			return w.fail(fmt.Errorf("rdb: hash %q: iterator yielded more than %d pairs", key, n))
		}
		w.strs = append(w.strs, f, v)
		small = small && len(f) <= w.lim.HashMaxListpackValue && len(v) <= w.lim.HashMaxListpackValue
	}
	defer clear(w.strs)
	if err := w.checkCount("hash", key, len(w.strs)/2, n); err != nil {
		return err
	}
	if !small {
		w.keyHeader(TypeHash, key, expireMs)
		w.buf = appendLen(w.buf, uint64(n))
		for i := 0; i < len(w.strs); i += 2 {
			w.appendHashPair(w.strs[i], w.strs[i+1])
		}
		return w.flushIfFull()
	}
	w.lp.reset()
	for _, s := range w.strs {
		w.lp.add(s)
	}
	w.keyHeader(TypeHashListpack, key, expireMs)
	w.buf = w.appendBlob(w.buf, w.lp.finish())
	return w.flushIfFull()
}

// WriteZSet writes a sorted set key of n member/score pairs: LISTPACK
// (sorted by score, then member, as Redis keeps it) when n <=
// zset-max-listpack-entries and no member is longer than
// zset-max-listpack-value, else ZSET_2 with binary scores in the given
// order. An empty sorted set is skipped.
func (w *Writer) WriteZSet(key string, n int, pairs iter.Seq2[string, float64], expireMs int64) error {
	if err := w.check(); err != nil {
		return err
	}
	if n <= 0 {
		return w.emptyOrNegative("zset", key, n)
	}
	if n > w.lim.ZSetMaxListpackEntries {
		return streamRecord(w, "zset", TypeZSet2, key, n, pairs, expireMs, w.appendZSetPair)
	}
	w.strs, w.scores = w.strs[:0], w.scores[:0]
	small := true
	for m, s := range pairs {
		if len(w.strs) == n {
			return w.fail(fmt.Errorf("rdb: zset %q: iterator yielded more than %d members", key, n))
		}
		w.strs = append(w.strs, m)
		w.scores = append(w.scores, s)
		small = small && len(m) <= w.lim.ZSetMaxListpackValue
	}
	defer clear(w.strs)
	if err := w.checkCount("zset", key, len(w.strs), n); err != nil {
		return err
	}
	if !small {
		w.keyHeader(TypeZSet2, key, expireMs)
		w.buf = appendLen(w.buf, uint64(n))
		for i, m := range w.strs {
			w.appendZSetPair(m, w.scores[i])
		}
		return w.flushIfFull()
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(w.scores[a], w.scores[b]); c != 0 {
			return c
		}
		return cmp.Compare(w.strs[a], w.strs[b])
	})
	w.lp.reset()
	var num []byte
	for _, i := range order {
		w.lp.add(w.strs[i])
		num = formatScore(num[:0], w.scores[i])
		w.lp.add(unsafe.String(unsafe.SliceData(num), len(num)))
	}
	w.keyHeader(TypeZSetListpack, key, expireMs)
	w.buf = w.appendBlob(w.buf, w.lp.finish())
	return w.flushIfFull()
}

// streamRecord writes a SET, HASH or ZSET_2 record of n items straight
// from the iterator, put appending each one.
func streamRecord[V any](w *Writer, kind string, t Type, key string, n int, items iter.Seq2[string, V], expireMs int64, put func(string, V)) error {
	w.keyHeader(t, key, expireMs)
	w.buf = appendLen(w.buf, uint64(n))
	count := 0
	for a, b := range items {
		if count++; count > n {
			break
		}
		put(a, b)
		if err := w.flushIfFull(); err != nil {
			return err
		}
	}
	return w.checkCount(kind, key, count, n)
}

func (w *Writer) appendHashPair(field, value string) {
	w.buf = w.appendString(w.buf, field)
	w.buf = w.appendString(w.buf, value)
}

func (w *Writer) appendZSetPair(member string, score float64) {
	w.buf = w.appendString(w.buf, member)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(score))
}

// Close writes EOF and the checksum and flushes everything to the
// underlying writer, which it does not close.
func (w *Writer) Close() error {
	if err := w.check(); err != nil {
		return err
	}
	w.closed = true
	w.buf = append(w.buf, opEOF)
	w.crc.Write(w.buf)
	var sum uint64
	if w.opts.Checksum {
		sum = w.crc.Sum64()
	}
	w.buf = binary.LittleEndian.AppendUint64(w.buf, sum)
	return w.flush(false)
}

// errClosed is returned by calls after Close.
var errClosed = errors.New("rdb: writer closed")

func (w *Writer) check() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errClosed
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

func (w *Writer) emptyOrNegative(kind, key string, n int) error {
	if n < 0 {
		return w.fail(fmt.Errorf("rdb: %s %q: negative length %d", kind, key, n))
	}
	return nil
}

func (w *Writer) checkCount(kind, key string, count, n int) error {
	if count != n {
		return w.fail(fmt.Errorf("rdb: %s %q: iterator yielded %s elements, n is %d", kind, key, atLeast(count, n), n))
	}
	return w.flushIfFull()
}

// atLeast formats a count that stopped being counted one past n.
func atLeast(count, n int) string {
	if count > n {
		return "more than " + strconv.Itoa(n)
	}
	return strconv.Itoa(count)
}

// keyHeader appends the expiry, the type and the key.
func (w *Writer) keyHeader(t Type, key string, expireMs int64) {
	if expireMs >= 0 {
		w.buf = append(w.buf, opExpireMs)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(expireMs))
	}
	w.buf = append(w.buf, byte(t))
	w.buf = w.appendString(w.buf, key)
}

// appendString appends s as rdbSaveRawString does: an integer encoding when
// possible, else LZF when enabled and worth it, else length and bytes.
func (w *Writer) appendString(dst []byte, s string) []byte {
	if b, ok := appendIntEncoded(dst, s); ok {
		return b
	}
	return w.appendBlob(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// appendBlob appends p as a raw or LZF string (no integer attempt: blobs
// are never canonical integers).
func (w *Writer) appendBlob(dst, p []byte) []byte {
	if w.opts.Compression && len(p) > 20 {
		limit := len(p) - 4
		if cap(w.lzfOut) < limit+1 {
			w.lzfOut = make([]byte, limit+1)
		}
		out := w.lzfOut[:limit+1]
		if c := w.lzf.compress(p, out, limit); c > 0 {
			dst = append(dst, lenEnc<<6|encLZF)
			dst = appendLen(dst, uint64(c))
			dst = appendLen(dst, uint64(len(p)))
			dst = append(dst, out[:c]...)
			w.trimScratch()
			return dst
		}
		w.trimScratch()
	}
	dst = appendLen(dst, uint64(len(p)))
	return append(dst, p...)
}

// trimScratch drops a compression buffer grown for one huge value.
func (w *Writer) trimScratch() {
	if cap(w.lzfOut) > 4*flushSize {
		w.lzfOut = nil
	}
}

// appendBig appends p to the output, writing large pieces through without
// copying them into the buffer.
func (w *Writer) appendBig(p []byte) {
	if len(p) < flushSize {
		w.buf = append(w.buf, p...)
		return
	}
	if w.flush(true) != nil {
		return
	}
	w.crc.Write(p)
	if _, err := w.out.Write(p); err != nil {
		w.fail(fmt.Errorf("rdb: write: %w", err))
		return
	}
	w.written += int64(len(p))
}

func (w *Writer) flushIfFull() error {
	if len(w.buf) < flushSize {
		return w.err
	}
	return w.flush(true)
}

// flush writes the buffer out; withCRC folds it into the checksum first
// (Close folds everything up to EOF itself and must not fold the trailer).
func (w *Writer) flush(withCRC bool) error {
	if w.err != nil {
		return w.err
	}
	if withCRC {
		w.crc.Write(w.buf)
	}
	if _, err := w.out.Write(w.buf); err != nil {
		return w.fail(fmt.Errorf("rdb: write: %w", err))
	}
	w.written += int64(len(w.buf))
	if cap(w.buf) > 4*flushSize {
		w.buf = make([]byte, 0, flushSize+flushSize/4)
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}
