package rdb

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load, seeded with the testdata dumps
// and truncated and bit-flipped copies of them. Load must never panic and
// must report every failure as an *Error with an offset inside the input.
// Run: go test -run '^$' -fuzz FuzzLoad -fuzztime 2m ./engine/rdb/
func FuzzLoad(f *testing.F) {
	for _, file := range testdataFiles(f) {
		data := readFile(f, file)
		if len(data) > 4096 {
			// Large seeds slow every fuzz iteration; keep their start.
			f.Add(data[:4096])
			continue
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		flipped := bytes.Clone(data)
		flipped[len(flipped)/3] ^= 0x10
		f.Add(flipped)
	}
	// Checksum-less files let the fuzzer reach the value decoders.
	for _, file := range []string{"testdata/ziplist_with_integers.rdb", "testdata/listpack.rdb", "testdata/zipmap_big_len.rdb"} {
		data := readFile(f, file)
		if bytes.HasSuffix(data, make([]byte, 8)) {
			continue
		}
		f.Add(append(bytes.Clone(data[:len(data)-8]), make([]byte, 8)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := 0
		_, err := Load(bytes.NewReader(data), Funcs{
			OnKey: func(r *Record) error {
				keys++
				if r.Kind == KindZSet && len(r.Scores) != len(r.Elems) {
					t.Fatalf("zset %q: %d members, %d scores", r.Key, len(r.Elems), len(r.Scores))
				}
				return nil
			},
			OnFunction: func(string) error { return nil },
		})
		if err == nil {
			return
		}
		var le *Error
		if !errors.As(err, &le) {
			t.Fatalf("error %v (%T) is not an *rdb.Error", err, err)
		}
		if le.Offset < 0 || le.Offset > int64(len(data)) || le.At > int64(len(data)) {
			t.Fatalf("offsets %d/%d outside the %d-byte input: %v", le.Offset, le.At, len(data), err)
		}
	})
}
