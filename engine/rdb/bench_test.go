package rdb

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// benchKeys is the size of the benchmark keyspace: small string keys.
const benchKeys = 1_000_000

func benchData() (keys, vals []string) {
	keys = make([]string, benchKeys)
	vals = make([]string, benchKeys)
	for i := range benchKeys {
		keys[i] = "key:" + strconv.Itoa(i)
		vals[i] = "value:" + strconv.Itoa(i*7)
	}
	return keys, vals
}

func encodeBench(b *testing.B, out io.Writer, keys, vals []string) *Writer {
	w := NewWriter(out, Options{Compression: true, Checksum: true})
	if err := w.SelectDB(0, uint64(len(keys)), 0); err != nil {
		b.Fatal(err)
	}
	for i, k := range keys {
		if err := w.WriteString(k, vals[i], NoExpire); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkWrite1M encodes 1M small string keys (MB/s of RDB produced).
func BenchmarkWrite1M(b *testing.B) {
	keys, vals := benchData()
	var size int64
	b.ResetTimer()
	for b.Loop() {
		size = encodeBench(b, io.Discard, keys, vals).Written()
	}
	b.SetBytes(size)
}

// BenchmarkLoad1M decodes 1M small string keys (MB/s of RDB consumed).
func BenchmarkLoad1M(b *testing.B) {
	keys, vals := benchData()
	var buf bytes.Buffer
	encodeBench(b, &buf, keys, vals)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		sum, err := Load(bytes.NewReader(data), Funcs{OnKey: func(*Record) error { n++; return nil }})
		if err != nil || n != benchKeys || sum.Keys != benchKeys {
			b.Fatalf("load: %v, %d keys", err, n)
		}
	}
}
