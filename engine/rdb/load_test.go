package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/hdt3213/rdb/core"
	"github.com/hdt3213/rdb/model"
)

// testdataFiles lists the .rdb files in testdata: Redis 7.0.15 fixtures and
// older encodings from hdt3213/rdb's cases (see testdata/README.md).
func testdataFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.rdb")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

// theirCanon decodes a file with hdt3213/rdb's decoder.
func theirCanon(t *testing.T, data []byte) map[dbKey]canon {
	t.Helper()
	got := map[dbKey]canon{}
	err := core.NewDecoder(bytes.NewReader(data)).Parse(func(o model.RedisObject) bool {
		exp := NoExpire
		if e := o.GetExpiration(); e != nil {
			exp = e.UnixMilli()
		}
		var c canon
		switch v := o.(type) {
		case *model.StringObject:
			c = canonOf(KindString, string(v.Value), nil, nil, exp)
		case *model.ListObject:
			c = canonOf(KindList, "", byteStrings(v.Values), nil, exp)
		case *model.SetObject:
			c = canonOf(KindSet, "", byteStrings(v.Members), nil, exp)
		case *model.HashObject:
			var e []string
			for f, val := range v.Hash {
				e = append(e, f, string(val))
			}
			c = canonOf(KindHash, "", e, nil, exp)
		case *model.ZSetObject:
			var e []string
			var s []float64
			for _, p := range v.Entries {
				e, s = append(e, p.Member), append(s, p.Score)
			}
			c = canonOf(KindZSet, "", e, s, exp)
		default:
			return true
		}
		got[dbKey{o.GetDBIndex(), o.GetKey()}] = c
		return true
	})
	if err != nil {
		t.Fatalf("hdt3213 decoder: %v", err)
	}
	return got
}

func byteStrings(b [][]byte) []string {
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = string(v)
	}
	return s
}

// TestLoadMatchesReferenceDecoder decodes every testdata file with Load and
// with hdt3213/rdb's decoder and compares the results.
func TestLoadMatchesReferenceDecoder(t *testing.T) {
	for _, file := range testdataFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data := readFile(t, file)
			ours, _, sum := loadCanon(t, data)
			compareCanon(t, file, theirCanon(t, data), ours)
			if sum.Size != int64(len(data)) {
				t.Errorf("Size %d, file has %d bytes", sum.Size, len(data))
			}
		})
	}
}

// TestLoadOldEncodings checks that the old encodings are really covered by
// testdata.
func TestLoadOldEncodings(t *testing.T) {
	seen := map[Type]bool{}
	for _, file := range testdataFiles(t) {
		_, recs, _ := loadCanon(t, readFile(t, file))
		for _, r := range recs {
			seen[r.Type] = true
		}
	}
	for _, typ := range []Type{TypeString, TypeList, TypeSet, TypeZSet, TypeHash, TypeZSet2, TypeHashZipmap,
		TypeListZiplist, TypeSetIntset, TypeZSetZiplist, TypeHashZiplist, TypeListQuicklist,
		TypeHashListpack, TypeZSetListpack, TypeListQuicklist2, TypeSetListpack} {
		if !seen[typ] {
			t.Errorf("no testdata key of type %v", typ)
		}
	}
}

// checkLoadError asserts that err is a *Error with a sane offset.
func checkLoadError(t *testing.T, what string, err error, size int) *Error {
	t.Helper()
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("%s: error %v (%T) is not an *rdb.Error", what, err, err)
	}
	if le.Offset < 0 || le.Offset > int64(size) {
		t.Fatalf("%s: offset %d outside the %d-byte file", what, le.Offset, size)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", le.Offset)) {
		t.Fatalf("%s: message %q does not name the offset", what, err)
	}
	return le
}

// TestLoadTruncated cuts files at many offsets: every cut is an error that
// names the offset, never a success or a panic.
func TestLoadTruncated(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	for _, file := range testdataFiles(t) {
		data := readFile(t, file)
		cuts := make([]int, 0, len(data))
		if len(data) <= 2000 {
			for i := range len(data) {
				cuts = append(cuts, i)
			}
		} else {
			for range 300 {
				cuts = append(cuts, rnd.IntN(len(data)))
			}
		}
		for _, cut := range cuts {
			if bytes.HasSuffix(data, make([]byte, 8)) && cut >= len(data)-8 {
				continue // a missing zero checksum: see TestLoadNoChecksum
			}
			_, err := Load(bytes.NewReader(data[:cut]), Funcs{OnFunction: func(string) error { return nil }})
			if err == nil {
				t.Fatalf("%s cut at %d: no error", file, cut)
			}
			le := checkLoadError(t, fmt.Sprintf("%s cut at %d", file, cut), err, cut)
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s cut at %d: %v is neither truncated nor corrupt", file, cut, le)
			}
		}
	}
}

// TestLoadBitFlips flips single bits in the checksummed fixture: every flip
// must be detected (structure error or checksum mismatch).
func TestLoadBitFlips(t *testing.T) {
	data := readFile(t, fixtureFile)
	rnd := rand.New(rand.NewPCG(9, 10))
	checksums := 0
	for range 2000 {
		bad := slices.Clone(data)
		i := rnd.IntN(len(bad))
		bad[i] ^= 1 << rnd.IntN(8)
		_, err := Load(bytes.NewReader(bad), Funcs{})
		if err == nil {
			t.Fatalf("flip at %d not detected", i)
		}
		checkLoadError(t, fmt.Sprintf("flip at %d", i), err, len(bad))
		if errors.Is(err, ErrChecksum) {
			checksums++
		}
	}
	t.Logf("2000 flips: %d caught by the checksum, the rest by structure checks", checksums)
}

// buildFile returns a checksummed RDB file with body between the header and
// EOF.
func buildFile(version int, body ...[]byte) []byte {
	b := fmt.Appendf(nil, "REDIS%04d", version)
	for _, p := range body {
		b = append(b, p...)
	}
	b = append(b, opEOF)
	var sum [8]byte
	w := NewWriter(&bytes.Buffer{}, Options{})
	w.crc.Write(b)
	binary.LittleEndian.PutUint64(sum[:], w.crc.Sum64())
	return append(b, sum[:]...)
}

func TestLoadErrors(t *testing.T) {
	str := func(s string) []byte { return append(appendLen(nil, uint64(len(s))), s...) }
	key := func(t Type, k string, v ...byte) []byte { return append(append([]byte{byte(t)}, str(k)...), v...) }
	good := buildFile(10, key(TypeString, "k", str("v")...))
	badSum := slices.Clone(good)
	badSum[len(badSum)-1] ^= 1
	tests := []struct {
		name   string
		file   []byte
		is     error
		offset int64
	}{
		{"bad magic", []byte("REDIX0010\xff"), ErrCorrupt, 0},
		{"bad version", []byte("REDIS00x0\xff"), ErrCorrupt, 5},
		{"version 12", buildFile(12), ErrUnsupported, 5},
		{"empty", nil, ErrTruncated, 0},
		{"checksum", badSum, ErrChecksum, int64(len(badSum) - 8)},
		{"unknown type", buildFile(10, key(99, "k")), ErrCorrupt, 9},
		{"stream", buildFile(10, key(TypeStreamLP2, "k")), ErrUnsupported, 9},
		{"module", buildFile(10, key(TypeModule2, "k")), ErrUnsupported, 9},
		{"module aux", buildFile(10, []byte{opModuleAux}), ErrUnsupported, 9},
		{"function without handler", buildFile(10, append([]byte{opFunction2}, str("code")...)), ErrUnsupported, 9},
		{"huge string", buildFile(10, key(TypeString, "k", 0x81, 0, 0, 1, 0, 0, 0, 0, 0)), ErrTruncated, 9},
		{"huge list", buildFile(10, key(TypeList, "k", 0x81, 0x10, 0, 0, 0, 0, 0, 0, 0)), ErrCorrupt, 9},
		{"lzf ratio", buildFile(10, key(TypeString, "k", 0xc3, 2, 0x80, 0, 0x10, 0, 0, 0, 'a')), ErrCorrupt, 9},
		{"bad string encoding", buildFile(10, key(TypeString, "k", 0xc7)), ErrCorrupt, 9},
		{"bad length byte", buildFile(10, key(TypeList, "k", 0x82)), ErrCorrupt, 9},
		{"odd hash listpack", buildFile(10, key(TypeHashListpack, "k", str("\x0a\x00\x00\x00\x01\x00\x01\x01\x01\xff")...)), ErrCorrupt, 9},
		{"bad listpack", buildFile(10, key(TypeHashListpack, "k", str("\x0a\x00\x00\x00")...)), ErrCorrupt, 9},
		{"nan score", buildFile(10, key(TypeZSet, "k", append(append([]byte{1}, str("m")...), 253)...)), ErrCorrupt, 9},
		{"bad container", buildFile(10, key(TypeListQuicklist2, "k", 1, 3)), ErrCorrupt, 9},
		{"select db overflow", buildFile(10, []byte{opSelectDB, 0x81, 1, 0, 0, 0, 0, 0, 0, 0}), ErrCorrupt, 9},
	}
	for _, tt := range tests {
		_, err := Load(bytes.NewReader(tt.file), Funcs{})
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.is)
			continue
		}
		if le := checkLoadError(t, tt.name, err, len(tt.file)); le.Offset != tt.offset {
			t.Errorf("%s: offset %d, want %d (%v)", tt.name, le.Offset, tt.offset, err)
		}
	}
	if _, err := Load(bytes.NewReader(good), Funcs{}); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func TestLoadFunctionsAndVersion11(t *testing.T) {
	str := func(s string) []byte { return append(appendLen(nil, uint64(len(s))), s...) }
	file := buildFile(11, append([]byte{opFunction2}, str("#!lua name=lib")...),
		append([]byte{opSelectDB, 0, byte(TypeString)}, append(str("k"), str("v")...)...))
	var code string
	sum, err := Load(bytes.NewReader(file), Funcs{OnFunction: func(c string) error { code = c; return nil }})
	if err != nil || code != "#!lua name=lib" || sum.Version != 11 || sum.Keys != 1 {
		t.Errorf("Load = %+v, %v, function %q", sum, err, code)
	}
}

func TestLoadNoChecksum(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{})
	if err := w.WriteString("k", "v", NoExpire); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	data[len(data)-10] ^= 0xff // corrupt the value: not detected without a checksum
	if sum, err := Load(bytes.NewReader(data), Funcs{}); err != nil || sum.Checksum != 0 {
		t.Errorf("Load without checksum = %+v, %v", sum, err)
	}
}

func TestLoadHandlerError(t *testing.T) {
	stop := errors.New("stop here")
	_, err := Load(bytes.NewReader(readFile(t, fixtureFile)), Funcs{OnKey: func(r *Record) error {
		if r.Key == "list:small" {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), `"list:small"`) {
		t.Errorf("err %v, want the handler's error naming the key", err)
	}
}

// TestLoadBoundedAllocation feeds lengths far beyond the input: the
// decoder must fail without reserving memory for them.
func TestLoadBoundedAllocation(t *testing.T) {
	str := func(s string) []byte { return append(appendLen(nil, uint64(len(s))), s...) }
	huge := []byte{0x81, 0, 0, 0, 0x10, 0, 0, 0, 0} // 2^36
	files := [][]byte{
		buildFile(10, append([]byte{byte(TypeString)}, append(str("k"), huge...)...)),
		buildFile(10, append([]byte{byte(TypeSet)}, append(str("k"), huge...)...)),
		buildFile(10, append([]byte{byte(TypeZSet2)}, append(str("k"), huge...)...)),
		buildFile(10, append([]byte{byte(TypeListQuicklist2)}, append(str("k"), huge...)...)),
		buildFile(10, append([]byte{byte(TypeString)}, append(str("k"), append([]byte{0xc3, 1}, huge...)...)...)),
	}
	for i, f := range files {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Load(bytes.NewReader(f), Funcs{})
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("file %d: no error", i)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("file %d: allocated %d bytes for a %d-byte file (%v)", i, alloc, len(f), err)
		}
	}
}
