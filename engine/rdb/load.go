package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Record is one key as Load reports it.
type Record struct {
	DB   int
	Key  string
	Kind Kind
	// Type is the serialised encoding the key was read from.
	Type Type
	// ExpireMs is the absolute expiry time in unix milliseconds, or
	// NoExpire. Keys already expired are reported too: the caller decides
	// (a master drops them, a replica keeps them).
	ExpireMs int64
	// Idle (LRU idle seconds) and Freq (LFU counter) are -1 when absent.
	Idle int64
	Freq int
	// Str is the value of a string.
	Str string
	// Elems holds list elements in order, set members, hash fields and
	// values alternately (field, value, field, value...), or zset members.
	Elems []string
	// Scores holds the score of each zset member in Elems.
	Scores []float64
}

// Handler receives what Load decodes, in file order. An error returned by
// a method stops Load, which returns it wrapped.
type Handler interface {
	// Aux is an aux field (redis-ver, ctime, repl-id, ...).
	Aux(key, value string) error
	// SelectDB announces the database of the keys that follow.
	SelectDB(db int) error
	// ResizeDB is the key count hint of the current database.
	ResizeDB(size, expires uint64) error
	// Key is one key; rec and its slices belong to the handler.
	Key(rec *Record) error
	// Function is the source of a function library (FUNCTION2 record).
	Function(code string) error
}

// Funcs adapts functions to a Handler. A nil field ignores its record,
// except OnFunction: a file with function libraries is refused unless
// OnFunction is set.
type Funcs struct {
	OnAux      func(key, value string) error
	OnSelectDB func(db int) error
	OnResizeDB func(size, expires uint64) error
	OnKey      func(rec *Record) error
	OnFunction func(code string) error
}

// Aux implements Handler.
func (f Funcs) Aux(key, value string) error {
	if f.OnAux == nil {
		return nil
	}
	return f.OnAux(key, value)
}

// SelectDB implements Handler.
func (f Funcs) SelectDB(db int) error {
	if f.OnSelectDB == nil {
		return nil
	}
	return f.OnSelectDB(db)
}

// ResizeDB implements Handler.
func (f Funcs) ResizeDB(size, expires uint64) error {
	if f.OnResizeDB == nil {
		return nil
	}
	return f.OnResizeDB(size, expires)
}

// Key implements Handler.
func (f Funcs) Key(rec *Record) error {
	if f.OnKey == nil {
		return nil
	}
	return f.OnKey(rec)
}

// Function implements Handler.
func (f Funcs) Function(code string) error {
	if f.OnFunction == nil {
		return fmt.Errorf("%w: function libraries", ErrUnsupported)
	}
	return f.OnFunction(code)
}

// Summary describes a loaded file.
type Summary struct {
	Version int
	Keys    int64
	// EmptySkipped counts empty collections, which Redis skips too.
	EmptySkipped int64
	// Checksum is the stored CRC64; 0 when the file has none or was
	// written with rdbchecksum no (then nothing was verified).
	Checksum uint64
	// Size is the length of the RDB data, trailer included: in an AOF with
	// an RDB preamble the commands start at this offset.
	Size int64
}

// Errors wrapped by *Error.
var (
	// ErrCorrupt is wrapped by every error about malformed content.
	ErrCorrupt = errors.New("corrupt data")
	// ErrTruncated means the input ended inside the file.
	ErrTruncated = errTruncated
	// ErrChecksum means the stored CRC64 does not match the content.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnsupported marks valid records this package cannot load:
	// streams, modules, RDB versions above 11.
	ErrUnsupported = errors.New("unsupported")
)

// Error is a decoding failure at a byte offset of the input.
type Error struct {
	// Offset is where the failing item (opcode, key or value) starts.
	Offset int64
	// At is how far the decoder had read when it failed.
	At int64
	// Key is the key being read, if any.
	Key string
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rdb: offset %d", e.Offset)
	if e.At > e.Offset {
		fmt.Fprintf(&b, " (failed at %d)", e.At)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// corrupt returns an error that wraps ErrCorrupt.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// asCorrupt makes every decoding error wrap ErrCorrupt, except truncation,
// unsupported content and failures of the underlying reader.
func asCorrupt(err error) error {
	var re *readError
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, errTruncated) ||
		errors.Is(err, ErrUnsupported) || errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// Load decodes an RDB file from src and streams its content to h. It
// verifies the CRC64 when the file has one, and returns an *Error naming
// the byte offset for malformed, truncated or unsupported input. Load
// reads ahead of the RDB data: to continue after it (an AOF preamble), use
// Summary.Size.
func Load(src io.Reader, h Handler) (Summary, error) {
	d := &decoder{rd: newReader(src), h: h}
	err := d.run()
	d.sum.Size = d.rd.offset()
	return d.sum, err
}

func newRecord() *Record { return &Record{ExpireMs: NoExpire, Idle: -1, Freq: -1} }

type decoder struct {
	rd      *reader
	h       Handler
	sum     Summary
	db      int
	scratch []byte
}

func (d *decoder) run() error {
	rd := d.rd
	hdr, err := rd.bytes(9)
	if err != nil {
		return &Error{Offset: 0, Err: fmt.Errorf("header: %w", err)}
	}
	if string(hdr[:5]) != "REDIS" {
		return &Error{Offset: 0, Err: corrupt("bad magic %q", hdr[:5])}
	}
	ver, err := strconv.Atoi(string(hdr[5:9]))
	if err != nil || ver < 1 {
		return &Error{Offset: 5, Err: corrupt("bad version %q", hdr[5:9])}
	}
	if ver > maxLoadVersion {
		return &Error{Offset: 5, Err: fmt.Errorf("%w: RDB format version %d", ErrUnsupported, ver)}
	}
	d.sum.Version = ver
	rec := newRecord()
	for {
		start := rd.offset()
		op, err := rd.byte()
		if err != nil {
			return &Error{Offset: start, Err: fmt.Errorf("opcode: %w", err)}
		}
		fail := func(what string, err error) error {
			if err == nil {
				return nil
			}
			return &Error{Offset: start, At: rd.offset(), Err: fmt.Errorf("%s: %w", what, asCorrupt(err))}
		}
		switch op {
		case opAux:
			k, err := rd.string()
			if err != nil {
				return fail("aux key", err)
			}
			v, err := rd.string()
			if err != nil {
				return fail("aux "+k, err)
			}
			if err := d.h.Aux(k, v); err != nil {
				return fmt.Errorf("rdb: aux %q: %w", k, err)
			}
		case opSelectDB:
			db, err := rd.plainLength()
			if err != nil {
				return fail("select db", err)
			}
			if db > math.MaxInt32 {
				return fail("select db", corrupt("db number %d", db))
			}
			d.db = int(db)
			if err := d.h.SelectDB(d.db); err != nil {
				return fmt.Errorf("rdb: select db %d: %w", db, err)
			}
		case opResizeDB:
			size, err := rd.plainLength()
			if err != nil {
				return fail("resize db", err)
			}
			exp, err := rd.plainLength()
			if err != nil {
				return fail("resize db", err)
			}
			if err := d.h.ResizeDB(size, exp); err != nil {
				return fmt.Errorf("rdb: resize db: %w", err)
			}
		case opExpireMs:
			p, err := rd.bytes(8)
			if err != nil {
				return fail("expire", err)
			}
			rec.ExpireMs = int64(binary.LittleEndian.Uint64(p))
		case opExpireSec:
			p, err := rd.bytes(4)
			if err != nil {
				return fail("expire", err)
			}
			rec.ExpireMs = int64(int32(binary.LittleEndian.Uint32(p))) * 1000
		case opIdle:
			idle, err := rd.plainLength()
			if err != nil {
				return fail("idle", err)
			}
			rec.Idle = int64(min(idle, math.MaxInt64))
		case opFreq:
			f, err := rd.byte()
			if err != nil {
				return fail("freq", err)
			}
			rec.Freq = int(f)
		case opFunction2:
			code, err := rd.string()
			if err != nil {
				return fail("function", err)
			}
			if err := d.h.Function(code); err != nil {
				return &Error{Offset: start, Err: fmt.Errorf("function: %w", err)}
			}
		case opFunctionPre:
			return &Error{Offset: start, Err: fmt.Errorf("%w: pre-GA function record", ErrUnsupported)}
		case opModuleAux:
			return &Error{Offset: start, Err: fmt.Errorf("%w: module aux data", ErrUnsupported)}
		case opEOF:
			return d.trailer(start)
		default:
			if err := d.key(Type(op), rec, start); err != nil {
				return err
			}
			rec = newRecord()
		}
	}
}

// trailer checks the CRC64 after the EOF opcode at offset start.
func (d *decoder) trailer(start int64) error {
	if d.sum.Version < 5 {
		return nil
	}
	computed := d.rd.sum()
	p, err := d.rd.bytes(8)
	if err != nil {
		return &Error{Offset: start + 1, Err: fmt.Errorf("checksum: %w", err)}
	}
	stored := binary.LittleEndian.Uint64(p)
	d.sum.Checksum = stored
	if stored != 0 && stored != computed {
		return &Error{Offset: start + 1, Err: fmt.Errorf("%w: file says %016x, content gives %016x", ErrChecksum, stored, computed)}
	}
	return nil
}

// key reads one key of type t and hands it to the handler.
func (d *decoder) key(t Type, rec *Record, start int64) error {
	key, err := d.rd.string()
	if err != nil {
		return &Error{Offset: start, At: d.rd.offset(), Err: fmt.Errorf("%s key: %w", t, asCorrupt(err))}
	}
	rec.DB, rec.Key, rec.Type = d.db, key, t
	if err := d.value(t, rec); err != nil {
		return &Error{Offset: start, At: d.rd.offset(), Key: key, Err: fmt.Errorf("%s value: %w", t, asCorrupt(err))}
	}
	if rec.Kind != KindString && len(rec.Elems) == 0 {
		d.sum.EmptySkipped++
		return nil
	}
	d.sum.Keys++
	if err := d.h.Key(rec); err != nil {
		return fmt.Errorf("rdb: key %q at offset %d: %w", key, start, err)
	}
	return nil
}

// preallocCap bounds the capacity reserved from a length read from the
// file; slices grow with the elements actually decoded.
const preallocCap = 1024

func (d *decoder) value(t Type, rec *Record) error {
	rd := d.rd
	switch t {
	case TypeString:
		rec.Kind = KindString
		s, err := rd.string()
		rec.Str = s
		return err
	case TypeList, TypeSet:
		rec.Kind = KindList
		if t == TypeSet {
			rec.Kind = KindSet
		}
		return d.strings(rec, 1)
	case TypeHash:
		rec.Kind = KindHash
		return d.strings(rec, 2)
	case TypeZSet, TypeZSet2:
		rec.Kind = KindZSet
		return d.zset(rec, t == TypeZSet2)
	case TypeHashZipmap:
		rec.Kind = KindHash
		return d.blob(func(b []byte) error {
			_, err := zipmapEach(b, func(f, v []byte) error {
				rec.Elems = append(rec.Elems, string(f), string(v))
				return nil
			})
			return err
		})
	case TypeListZiplist:
		rec.Kind = KindList
		return d.blob(func(b []byte) error { return ziplistStrings(b, rec) })
	case TypeSetIntset:
		rec.Kind = KindSet
		return d.blob(func(b []byte) error {
			_, err := intsetEach(b, func(v int64) { rec.Elems = append(rec.Elems, strconv.FormatInt(v, 10)) })
			return err
		})
	case TypeSetListpack:
		rec.Kind = KindSet
		return d.blob(func(b []byte) error { return lpStrings(b, rec) })
	case TypeZSetZiplist, TypeZSetListpack:
		rec.Kind = KindZSet
		return d.blob(func(b []byte) error {
			each := lpEach
			if t == TypeZSetZiplist {
				each = ziplistEach
			}
			return zsetPairs(b, each, rec)
		})
	case TypeHashZiplist, TypeHashListpack:
		rec.Kind = KindHash
		return d.blob(func(b []byte) error {
			var err error
			if t == TypeHashZiplist {
				err = ziplistStrings(b, rec)
			} else {
				err = lpStrings(b, rec)
			}
			if err == nil && len(rec.Elems)%2 != 0 {
				err = corrupt("hash with %d entries (odd)", len(rec.Elems))
			}
			return err
		})
	case TypeListQuicklist, TypeListQuicklist2:
		rec.Kind = KindList
		return d.quicklist(rec, t == TypeListQuicklist2)
	case TypeModulePreGA, TypeModule2, TypeStreamLP, TypeStreamLP2, TypeStreamLP3:
		return fmt.Errorf("%w: value type %s", ErrUnsupported, t)
	}
	return corrupt("unknown value type %d", byte(t))
}

// strings reads a length then per*length strings into rec.Elems.
func (d *decoder) strings(rec *Record, per uint64) error {
	n, err := d.rd.plainLength()
	if err != nil {
		return err
	}
	if n > math.MaxInt64/per {
		return corrupt("length %d", n)
	}
	n *= per
	rec.Elems = make([]string, 0, min(n, preallocCap))
	for range n {
		s, err := d.rd.string()
		if err != nil {
			return fmt.Errorf("element %d: %w", len(rec.Elems), err)
		}
		rec.Elems = append(rec.Elems, s)
	}
	return nil
}

// zset reads the old ZSET (text scores) or ZSET_2 (binary scores).
func (d *decoder) zset(rec *Record, binaryScores bool) error {
	rd := d.rd
	n, err := rd.plainLength()
	if err != nil {
		return err
	}
	rec.Elems = make([]string, 0, min(n, preallocCap))
	rec.Scores = make([]float64, 0, min(n, preallocCap))
	for i := range n {
		m, err := rd.string()
		if err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
		var score float64
		if binaryScores {
			p, err := rd.bytes(8)
			if err != nil {
				return fmt.Errorf("score %d: %w", i, err)
			}
			score = math.Float64frombits(binary.LittleEndian.Uint64(p))
		} else if score, err = d.textScore(); err != nil {
			return fmt.Errorf("score %d: %w", i, err)
		}
		if math.IsNaN(score) {
			return corrupt("member %d has a NaN score", i)
		}
		rec.Elems = append(rec.Elems, m)
		rec.Scores = append(rec.Scores, score)
	}
	return nil
}

// textScore reads rdbLoadDoubleValue's format: a length byte (253 nan,
// 254 +inf, 255 -inf) then that many ASCII characters.
func (d *decoder) textScore() (float64, error) {
	l, err := d.rd.byte()
	if err != nil {
		return 0, err
	}
	switch l {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	p, err := d.rd.bytes(int(l))
	if err != nil {
		return 0, err
	}
	f, ok := parseScore(string(p))
	if !ok {
		return 0, corrupt("score %q", p)
	}
	return f, nil
}

// blob reads one string holding a compact encoding and parses it with fn.
func (d *decoder) blob(fn func([]byte) error) error {
	b, err := d.rd.stringBytes(d.scratch[:0])
	if err != nil {
		return err
	}
	if cap(b) <= 4*readBufSize {
		d.scratch = b
	}
	return fn(b)
}

// quicklist reads QUICKLIST (ziplist nodes) or QUICKLIST_2 (container +
// listpack or plain nodes). Empty nodes are skipped as Redis does.
func (d *decoder) quicklist(rec *Record, v2 bool) error {
	n, err := d.rd.plainLength()
	if err != nil {
		return err
	}
	for i := range n {
		container := uint64(containerPacked)
		if v2 {
			if container, err = d.rd.plainLength(); err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			if container != containerPlain && container != containerPacked {
				return corrupt("node %d: container %d", i, container)
			}
		}
		err := d.blob(func(b []byte) error {
			switch {
			case container == containerPlain:
				rec.Elems = append(rec.Elems, string(b))
				return nil
			case v2:
				return lpStrings(b, rec)
			}
			return ziplistStrings(b, rec)
		})
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
	}
	return nil
}

func lpStrings(b []byte, rec *Record) error {
	_, err := lpEach(b, func(e lpEntry) error {
		rec.Elems = append(rec.Elems, e.String())
		return nil
	})
	return err
}

func ziplistStrings(b []byte, rec *Record) error {
	_, err := ziplistEach(b, func(e lpEntry) error {
		rec.Elems = append(rec.Elems, e.String())
		return nil
	})
	return err
}

// zsetPairs reads member, score, member, score... entries.
func zsetPairs(b []byte, each func([]byte, func(lpEntry) error) (int, error), rec *Record) error {
	member := true
	_, err := each(b, func(e lpEntry) error {
		if member {
			rec.Elems = append(rec.Elems, e.String())
		} else {
			f, ok := e.float()
			if !ok || math.IsNaN(f) {
				return corrupt("score %q of member %d", e.String(), len(rec.Scores))
			}
			rec.Scores = append(rec.Scores, f)
		}
		member = !member
		return nil
	})
	if err == nil && !member {
		err = corrupt("zset member %d without a score", len(rec.Scores))
	}
	return err
}
