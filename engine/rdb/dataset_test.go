package rdb

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// This file holds the test dataset shared by the round-trip, interop and
// size tests: a deterministic set of keys of every kind in small and large
// encodings, and a canonical form to compare decoded keys with.

// zpair is a sorted set member and its score.
type zpair struct {
	member string
	score  float64
}

// dsKey is one key of the dataset. Exactly one of the value fields is used,
// according to kind.
type dsKey struct {
	db       int
	key      string
	kind     Kind
	str      string
	list     []string
	set      []string
	hash     [][2]string
	zset     []zpair
	expireMs int64
}

// expireBase is the expiry time of the dataset's volatile keys (2100-01-01).
const expireBase = 4102444800000

// dataset builds the test keys. The full set has large values (about 600
// KB of RDB); the other is the fixture saved in testdata (about 60 KB).
func dataset(full bool) []dsKey {
	size := func(fullN, fixtureN int) int {
		if full {
			return fullN
		}
		return fixtureN
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	randBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		return string(b)
	}
	text := func(n int) string {
		words := []string{"alpha", "beta", "gamma", "delta", "redis", "listpack", "quick", "zset"}
		var sb strings.Builder
		for sb.Len() < n {
			sb.WriteString(words[rnd.IntN(len(words))])
			sb.WriteByte(' ')
		}
		return sb.String()[:n]
	}
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	ints := []string{"0", "1", "-1", "127", "128", "-128", "-129", "255", "4095", "-4096", "4096",
		"32767", "-32768", "32768", "8388607", "-8388608", "8388608", "2147483647", "-2147483648",
		"2147483648", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
		"007", "-0", "+5", "1e3", " 1", "12345678901", "123456789012"}
	var keys []dsKey
	add := func(k dsKey) {
		k.expireMs = NoExpire
		keys = append(keys, k)
	}
	// strings
	for i, s := range ints {
		add(dsKey{key: "str:int:" + strconv.Itoa(i), kind: KindString, str: s})
	}
	add(dsKey{key: "str:small", kind: KindString, str: "hello"})
	add(dsKey{key: "str:empty", kind: KindString, str: ""})
	add(dsKey{key: "str:binary", kind: KindString, str: string(allBytes)})
	add(dsKey{key: "str:20a", kind: KindString, str: strings.Repeat("a", 20)})
	add(dsKey{key: "str:21a", kind: KindString, str: strings.Repeat("a", 21)})
	add(dsKey{key: "str:compressible", kind: KindString, str: strings.Repeat("abcdefgh", 500)})
	add(dsKey{key: "str:text", kind: KindString, str: text(5000)})
	add(dsKey{key: "str:random", kind: KindString, str: randBytes(3000)})
	if full {
		add(dsKey{key: "str:big", kind: KindString, str: text(300_000)})
		add(dsKey{key: "str:bigrandom", kind: KindString, str: randBytes(200_000)})
	}
	add(dsKey{key: randBytes(30), kind: KindString, str: "binary key"})
	add(dsKey{key: strings.Repeat("k", 100), kind: KindString, str: "long key"})
	add(dsKey{key: "12345", kind: KindString, str: "integer key"})
	// lists
	add(dsKey{key: "list:small", kind: KindList, list: []string{"a", "b", "c", "1", "-5", "a"}})
	add(dsKey{key: "list:ints", kind: KindList, list: slices.Clone(ints)})
	add(dsKey{key: "list:binary", kind: KindList, list: []string{string(allBytes), randBytes(10), ""}})
	var big []string
	for i := range size(20000, 600) {
		switch i % 4 {
		case 0:
			big = append(big, strconv.Itoa(i*7919-50000))
		case 1:
			big = append(big, "item-"+strconv.Itoa(i))
		case 2:
			big = append(big, text(1+rnd.IntN(100)))
		default:
			big = append(big, randBytes(1+rnd.IntN(20)))
		}
	}
	add(dsKey{key: "list:big", kind: KindList, list: big})
	var bigElems []string
	for i := range size(12, 3) {
		bigElems = append(bigElems, text(3000+i*700))
	}
	bigElems = append(bigElems, randBytes(9000))
	add(dsKey{key: "list:bigelems", kind: KindList, list: bigElems})
	// sets
	add(dsKey{key: "set:int16", kind: KindSet, set: []string{"5", "-3", "1000", "0", "32767"}})
	add(dsKey{key: "set:int32", kind: KindSet, set: []string{"1", "70000", "-2147483648"}})
	add(dsKey{key: "set:int64", kind: KindSet, set: []string{"1", "9223372036854775807", "-9223372036854775808"}})
	add(dsKey{key: "set:str", kind: KindSet, set: []string{"a", "b", "1", "007", string(allBytes)}})
	var setInts, setInts512, setStrs []string
	for i := range size(1000, 600) {
		setInts = append(setInts, strconv.Itoa(i*37-4000))
		setStrs = append(setStrs, "m"+strconv.Itoa(i))
	}
	for i := range 512 {
		setInts512 = append(setInts512, strconv.Itoa(i*100000))
	}
	add(dsKey{key: "set:ints512", kind: KindSet, set: setInts512})
	add(dsKey{key: "set:intsbig", kind: KindSet, set: setInts})
	add(dsKey{key: "set:strbig", kind: KindSet, set: setStrs})
	// hashes
	add(dsKey{key: "hash:small", kind: KindHash, hash: [][2]string{{"f1", "v1"}, {"n", "12"}, {"-7", "x"}, {"big", "9223372036854775807"}, {"e", ""}}})
	add(dsKey{key: "hash:64", kind: KindHash, hash: [][2]string{{"f", strings.Repeat("v", 64)}, {strings.Repeat("f", 64), "v"}}})
	add(dsKey{key: "hash:65", kind: KindHash, hash: [][2]string{{"f", strings.Repeat("v", 65)}, {"g", "h"}}})
	var h512, hBig [][2]string
	for i := range 700 {
		p := [2]string{"field:" + strconv.Itoa(i), text(1 + rnd.IntN(40))}
		if i < 512 {
			h512 = append(h512, p)
		}
		hBig = append(hBig, p)
	}
	add(dsKey{key: "hash:512", kind: KindHash, hash: h512})
	add(dsKey{key: "hash:big", kind: KindHash, hash: hBig})
	// sorted sets
	add(dsKey{key: "zset:small", kind: KindZSet, zset: []zpair{
		{"a", 1}, {"b", 1.5}, {"c", -2.25}, {"d", 0.1}, {"e", math.Inf(1)}, {"f", math.Inf(-1)},
		{"g", 1e20}, {"h", 3e-5}, {"10", 10}, {"i", 1}, {"j", -0.0}, {"k", 4503599627370496}, {"l", 123456789.123},
	}})
	var z128, z1000 []zpair
	for i := range size(1000, 200) {
		p := zpair{"member:" + strconv.Itoa(i), float64(rnd.IntN(10000)) / 8}
		if i < 128 {
			z128 = append(z128, p)
		}
		z1000 = append(z1000, p)
	}
	add(dsKey{key: "zset:128", kind: KindZSet, zset: z128})
	add(dsKey{key: "zset:big", kind: KindZSet, zset: z1000})
	add(dsKey{key: "zset:longmember", kind: KindZSet, zset: []zpair{{strings.Repeat("m", 65), 1}, {"x", 2}}})
	// expiries on every kind
	for i, k := range []dsKey{
		{key: "exp:str", kind: KindString, str: "v"},
		{key: "exp:list", kind: KindList, list: []string{"x"}},
		{key: "exp:set", kind: KindSet, set: []string{"1", "2"}},
		{key: "exp:hash", kind: KindHash, hash: [][2]string{{"a", "b"}}},
		{key: "exp:zset", kind: KindZSet, zset: []zpair{{"a", 1}}},
		{key: "exp:bigset", kind: KindSet, set: setStrs[:600]},
	} {
		add(k)
		keys[len(keys)-1].expireMs = expireBase + int64(i)*1001
	}
	// other databases
	for _, db := range []int{3, 15} {
		for i := range 5 {
			add(dsKey{key: fmt.Sprintf("db%d:%d", db, i), kind: KindString, str: strconv.Itoa(db * i)})
			keys[len(keys)-1].db = db
		}
		add(dsKey{key: fmt.Sprintf("db%d:list", db), kind: KindList, list: []string{"x", "y"}})
		keys[len(keys)-1].db = db
	}
	keys[len(keys)-1].expireMs = expireBase + 5
	return keys
}

// canon is the canonical form of a key's value: comparable with == on its
// string form, independent of encoding and of set/hash order.
type canon struct {
	Kind     Kind
	Value    string
	ExpireMs int64
}

func canonOf(kind Kind, str string, elems []string, scores []float64, expireMs int64) canon {
	c := canon{Kind: kind, ExpireMs: max(expireMs, NoExpire)}
	switch kind {
	case KindString:
		c.Value = strconv.Quote(str)
	case KindList:
		c.Value = fmt.Sprintf("%q", elems)
	case KindSet:
		s := slices.Clone(elems)
		slices.Sort(s)
		c.Value = fmt.Sprintf("%q", s)
	case KindHash:
		m := map[string]string{}
		for i := 0; i+1 < len(elems); i += 2 {
			m[elems[i]] = elems[i+1]
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, strconv.Quote(k)+"="+strconv.Quote(m[k]))
		}
		c.Value = fmt.Sprintf("%d:%s", len(elems)/2, strings.Join(parts, ","))
	case KindZSet:
		var parts []string
		for i, m := range elems {
			parts = append(parts, strconv.Quote(m)+"="+strconv.FormatFloat(scores[i], 'g', -1, 64))
		}
		slices.Sort(parts)
		c.Value = strings.Join(parts, ",")
	}
	return c
}

func (k dsKey) canon() canon { return recordCanon(k.record()) }

func recordCanon(r *Record) canon {
	return canonOf(r.Kind, r.Str, r.Elems, r.Scores, r.ExpireMs)
}

// dbKey names a key across databases.
type dbKey struct {
	db  int
	key string
}

// want returns the dataset as canonical values by database and key.
func want(keys []dsKey) map[dbKey]canon {
	m := map[dbKey]canon{}
	for _, k := range keys {
		m[dbKey{k.db, k.key}] = k.canon()
	}
	return m
}

// compareCanon reports every difference between two canonical keyspaces.
func compareCanon(t *testing.T, what string, want, got map[dbKey]canon) {
	t.Helper()
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: db %d key %q missing", what, k.db, k.key)
		case g != w:
			t.Errorf("%s: db %d key %q:\n got %.300v\nwant %.300v", what, k.db, k.key, g, w)
		default:
			continue
		}
		if bad++; bad > 10 {
			t.Fatalf("%s: too many differences", what)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected db %d key %q", what, k.db, k.key)
		}
	}
}

// writeDataset encodes keys (grouped by database, in order) with w.
func writeDataset(t testing.TB, w *Writer, keys []dsKey) {
	t.Helper()
	byDB := map[int][]dsKey{}
	for _, k := range keys {
		byDB[k.db] = append(byDB[k.db], k)
	}
	for _, db := range slices.Sorted(maps.Keys(byDB)) {
		ks := byDB[db]
		expires := 0
		for _, k := range ks {
			if k.expireMs >= 0 {
				expires++
			}
		}
		if err := w.SelectDB(db, uint64(len(ks)), uint64(expires)); err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			if err := writeKey(w, k); err != nil {
				t.Fatalf("write %q: %v", k.key, err)
			}
		}
	}
}

func writeKey(w *Writer, k dsKey) error {
	return writeRecord(w, k.record())
}

// record returns the key as Load would report it.
func (k dsKey) record() *Record {
	r := &Record{DB: k.db, Key: k.key, Kind: k.kind, Str: k.str, ExpireMs: k.expireMs}
	switch k.kind {
	case KindList:
		r.Elems = k.list
	case KindSet:
		r.Elems = k.set
	case KindHash:
		for _, p := range k.hash {
			r.Elems = append(r.Elems, p[0], p[1])
		}
	case KindZSet:
		for _, p := range k.zset {
			r.Elems, r.Scores = append(r.Elems, p.member), append(r.Scores, p.score)
		}
	}
	return r
}

// loadCanon decodes an RDB file into canonical values, checking that each
// record's encoding is one Redis 7.0 writes when fresh7 is set.
func loadCanon(t testing.TB, data []byte) (map[dbKey]canon, map[dbKey]*Record, Summary) {
	t.Helper()
	got := map[dbKey]canon{}
	recs := map[dbKey]*Record{}
	sum, err := Load(strings.NewReader(string(data)), Funcs{OnKey: func(r *Record) error {
		k := dbKey{r.DB, r.Key}
		if _, dup := got[k]; dup {
			return fmt.Errorf("duplicate key %q", r.Key)
		}
		got[k] = recordCanon(r)
		recs[k] = r
		return nil
	}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return got, recs, sum
}
