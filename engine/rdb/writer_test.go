package rdb

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeOne encodes a single key and decodes it again.
func writeOne(t *testing.T, opts Options, k dsKey) *Record {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	if err := w.SelectDB(0, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := writeKey(w, k); err != nil {
		t.Fatalf("write %s: %v", k.key, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(buf.Len()) {
		t.Errorf("Written() = %d, file has %d bytes", w.Written(), buf.Len())
	}
	_, recs, _ := loadCanon(t, buf.Bytes())
	r := recs[dbKey{0, k.key}]
	if r == nil {
		t.Fatalf("%s: not decoded", k.key)
	}
	if got, want := recordCanon(r), k.canon(); got != want {
		t.Errorf("%s: decoded %.200v, want %.200v", k.key, got, want)
	}
	return r
}

// TestWriterEncodings checks the encoding chosen for each kind of content.
func TestWriterEncodings(t *testing.T) {
	ints := func(n, step int) []string {
		var s []string
		for i := range n {
			s = append(s, strconv.Itoa(i*step))
		}
		return s
	}
	pairs := func(n, vlen int) [][2]string {
		var p [][2]string
		for i := range n {
			p = append(p, [2]string{"f" + strconv.Itoa(i), strings.Repeat("v", vlen)})
		}
		return p
	}
	zpairs := func(n, mlen int) []zpair {
		var p []zpair
		for i := range n {
			p = append(p, zpair{strings.Repeat("m", mlen) + strconv.Itoa(i), float64(n - i)})
		}
		return p
	}
	custom := &Limits{HashMaxListpackEntries: 0, HashMaxListpackValue: 64, SetMaxIntsetEntries: 2,
		ZSetMaxListpackEntries: 0, ZSetMaxListpackValue: 64, ListMaxListpackSize: 2}
	tests := []struct {
		name   string
		limits *Limits
		key    dsKey
		want   Type
	}{
		{"string", nil, dsKey{kind: KindString, str: "v"}, TypeString},
		{"list", nil, dsKey{kind: KindList, list: []string{"a", "1"}}, TypeListQuicklist2},
		{"list two nodes", nil, dsKey{kind: KindList, list: slices.Repeat([]string{strings.Repeat("x", 3000)}, 4)}, TypeListQuicklist2},
		{"list fill 2", custom, dsKey{kind: KindList, list: ints(5, 1)}, TypeListQuicklist2},
		{"intset", nil, dsKey{kind: KindSet, set: ints(512, 1000)}, TypeSetIntset},
		{"intset limit", nil, dsKey{kind: KindSet, set: ints(513, 1)}, TypeSet},
		{"intset custom limit", custom, dsKey{kind: KindSet, set: ints(3, 1)}, TypeSet},
		{"set strings", nil, dsKey{kind: KindSet, set: []string{"1", "a"}}, TypeSet},
		{"hash listpack", nil, dsKey{kind: KindHash, hash: pairs(512, 64)}, TypeHashListpack},
		{"hash entries", nil, dsKey{kind: KindHash, hash: pairs(513, 1)}, TypeHash},
		{"hash value", nil, dsKey{kind: KindHash, hash: pairs(2, 65)}, TypeHash},
		{"hash custom", custom, dsKey{kind: KindHash, hash: pairs(1, 1)}, TypeHash},
		{"zset listpack", nil, dsKey{kind: KindZSet, zset: zpairs(128, 60)}, TypeZSetListpack},
		{"zset entries", nil, dsKey{kind: KindZSet, zset: zpairs(129, 1)}, TypeZSet2},
		{"zset member", nil, dsKey{kind: KindZSet, zset: zpairs(2, 65)}, TypeZSet2},
		{"zset custom", custom, dsKey{kind: KindZSet, zset: zpairs(1, 1)}, TypeZSet2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.key.key, tt.key.expireMs = tt.name, NoExpire
			for _, comp := range []bool{false, true} {
				r := writeOne(t, Options{Compression: comp, Checksum: true, Limits: tt.limits}, tt.key)
				if r.Type != tt.want {
					t.Errorf("compression %v: type %v, want %v", comp, r.Type, tt.want)
				}
			}
		})
	}
}

// TestWriterListNodes checks quicklist node boundaries: the node count
// follows the type byte and the key.
func TestWriterListNodes(t *testing.T) {
	tests := []struct {
		name   string
		limits *Limits
		elems  []string
		nodes  byte
	}{
		{"fill 2", &Limits{ListMaxListpackSize: 2}, []string{"a", "b", "c", "d", "e"}, 3},
		{"8kb", nil, slices.Repeat([]string{strings.Repeat("x", 3000)}, 4), 2},
		{"one node", nil, slices.Repeat([]string{"abc"}, 1000), 1},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := NewWriter(&buf, Options{Limits: tt.limits})
		if err := w.WriteList("l", len(tt.elems), slices.Values(tt.elems), NoExpire); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(buf.Bytes(), []byte{byte(TypeListQuicklist2), 1, 'l'})
		if i < 0 || buf.Bytes()[i+3] != tt.nodes {
			t.Errorf("%s: want %d nodes after the key, file %.100x", tt.name, tt.nodes, buf.Bytes())
		}
		_, recs, _ := loadCanon(t, buf.Bytes())
		if r := recs[dbKey{0, "l"}]; r == nil || !slices.Equal(r.Elems, tt.elems) {
			t.Errorf("%s: decoded %v", tt.name, r)
		}
	}
}

func TestWriterAuxAndExpire(t *testing.T) {
	var buf bytes.Buffer
	ctime := time.Unix(1700000000, 0)
	w := NewWriter(&buf, Options{Checksum: true, Aux: Aux{
		CTime: ctime, UsedMem: 123456, AOFBase: true,
		Repl: &ReplInfo{StreamDB: 3, ID: strings.Repeat("ab", 20), Offset: 340},
	}})
	if err := w.SelectDB(2, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteString("k", "v", 1700000000123); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var aux []string
	var rec *Record
	var resize [2]uint64
	_, err := Load(bytes.NewReader(buf.Bytes()), Funcs{
		OnAux:      func(k, v string) error { aux = append(aux, k+"="+v); return nil },
		OnResizeDB: func(s, e uint64) error { resize = [2]uint64{s, e}; return nil },
		OnKey:      func(r *Record) error { rec = r; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"redis-ver=7.0.15", "redis-bits=64", "ctime=1700000000", "used-mem=123456",
		"repl-stream-db=3", "repl-id=" + strings.Repeat("ab", 20), "repl-offset=340", "aof-base=1"}
	if !slices.Equal(aux, want) {
		t.Errorf("aux %q, want %q", aux, want)
	}
	if rec == nil || rec.DB != 2 || rec.ExpireMs != 1700000000123 || rec.Str != "v" || resize != [2]uint64{1, 1} {
		t.Errorf("record %+v, resize %v", rec, resize)
	}
	// The start of the file as Redis writes it (protocol.md section 4.4).
	if !bytes.HasPrefix(buf.Bytes(), []byte("REDIS0010\xfa\x09redis-ver\x067.0.15\xfa\x0aredis-bits\xc0\x40")) {
		t.Errorf("header %q", buf.Bytes()[:40])
	}
}

func TestWriterCountMismatch(t *testing.T) {
	three := slices.Values([]string{"a", "b", "c"})
	tests := []struct {
		name  string
		write func(w *Writer) error
	}{
		{"list short", func(w *Writer) error { return w.WriteList("k", 4, three, NoExpire) }},
		{"list long", func(w *Writer) error { return w.WriteList("k", 2, three, NoExpire) }},
		{"set short", func(w *Writer) error { return w.WriteSet("k", 4, three, NoExpire) }},
		{"set long", func(w *Writer) error { return w.WriteSet("k", 2, three, NoExpire) }},
		{"big set long", func(w *Writer) error {
			return w.WriteSet("k", 600, slices.Values(slices.Repeat([]string{"x"}, 601)), NoExpire)
		}},
		{"duplicate intset", func(w *Writer) error { return w.WriteSet("k", 2, slices.Values([]string{"1", "1"}), NoExpire) }},
		{"hash short", func(w *Writer) error {
			return w.WriteHash("k", 2, func(yield func(string, string) bool) { yield("a", "b") }, NoExpire)
		}},
		{"zset long", func(w *Writer) error {
			return w.WriteZSet("k", 1, func(yield func(string, float64) bool) { _ = yield("a", 1) && yield("b", 2) }, NoExpire)
		}},
		{"negative", func(w *Writer) error { return w.WriteList("k", -1, three, NoExpire) }},
		{"negative db", func(w *Writer) error { return w.SelectDB(-1, 0, 0) }},
	}
	for _, tt := range tests {
		w := NewWriter(&bytes.Buffer{}, Options{})
		err := tt.write(w)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if err2 := w.WriteString("x", "y", NoExpire); !errors.Is(err2, err) {
			t.Errorf("%s: error not sticky: %v", tt.name, err2)
		}
		if err2 := w.Close(); !errors.Is(err2, err) {
			t.Errorf("%s: Close: %v", tt.name, err2)
		}
	}
}

func TestWriterEmptyCollectionsSkipped(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{})
	if err := w.WriteList("l", 0, slices.Values([]string(nil)), NoExpire); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteSet("s", 0, slices.Values([]string(nil)), NoExpire); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, sum := loadCanon(t, buf.Bytes())
	if sum.Keys != 0 {
		t.Errorf("%d keys written for empty collections", sum.Keys)
	}
	if err := w.WriteString("a", "b", NoExpire); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v", err)
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errDisk
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterWriteError(t *testing.T) {
	w := NewWriter(&failWriter{n: 100}, Options{})
	var err error
	for i := 0; err == nil && i < 100000; i++ {
		err = w.WriteString("key:"+strconv.Itoa(i), strings.Repeat("v", 100), NoExpire)
	}
	if !errors.Is(err, errDisk) {
		t.Fatalf("err %v, want the write error", err)
	}
	if !errors.Is(w.Close(), errDisk) {
		t.Errorf("Close does not report the write error")
	}
}
