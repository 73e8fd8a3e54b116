package resp

import (
	"math"
	"testing"
)

func TestWriterDowngrade(t *testing.T) {
	tests := []struct {
		name   string
		write  func(w *Writer)
		r2, r3 string
	}{
		{"null", func(w *Writer) { w.Null() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *Writer) { w.NullArray() }, "*-1\r\n", "_\r\n"},
		{"map", func(w *Writer) { w.Map(1); w.BulkString("a"); w.Int(1) }, "*2\r\n$1\r\na\r\n:1\r\n", "%1\r\n$1\r\na\r\n:1\r\n"},
		{"set", func(w *Writer) { w.Set(0) }, "*0\r\n", "~0\r\n"},
		{"bool", func(w *Writer) { w.Bool(true) }, ":1\r\n", "#t\r\n"},
		{"double", func(w *Writer) { w.Double(1.1) }, "$18\r\n1.1000000000000001\r\n", ",1.1000000000000001\r\n"},
		{"double int", func(w *Writer) { w.Double(2) }, "$1\r\n2\r\n", ",2\r\n"},
		{"double inf", func(w *Writer) { w.Double(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"verbatim", func(w *Writer) { w.Verbatim("x") }, "$1\r\nx\r\n", "=5\r\ntxt:x\r\n"},
		{"error crlf", func(w *Writer) { w.Error("ERR a\r\nb") }, "-ERR a  b\r\n", "-ERR a  b\r\n"},
		{"int", func(w *Writer) { w.Int(-12) }, ":-12\r\n", ":-12\r\n"},
	}
	for _, tt := range tests {
		for proto, want := range map[int]string{2: tt.r2, 3: tt.r3} {
			w := Writer{Proto: proto}
			tt.write(&w)
			if string(w.B) != want {
				t.Errorf("%s RESP%d = %q; want %q", tt.name, proto, w.B, want)
			}
		}
	}
}

func TestG17(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1.1, "1.1000000000000001"}, {0, "0"}, {1e20, "1e+20"}, {1.5e-5, "1.5e-05"}, {1.1e-5, "1.1e-05"}, {3.3e-7, "3.3000000000000002e-07"},
		{123456789, "123456789"}, {0.0001, "0.0001"}, {-2.5, "-2.5"}, {1e16, "10000000000000000"}, {1e17, "1e+17"},
	}
	for _, tt := range tests {
		if got := string(AppendG17(nil, tt.f)); got != tt.want {
			t.Errorf("AppendG17(%v) = %q; want %q", tt.f, got, tt.want)
		}
	}
}

func TestWriterAllocs(t *testing.T) {
	w := Writer{Proto: 2, B: make([]byte, 0, 1024)}
	v := []byte("value")
	n := testing.AllocsPerRun(1000, func() {
		w.B = w.B[:0]
		w.Bulk(v)
		w.Int(12345)
		w.OK()
	})
	if n > 0 {
		t.Fatalf("Writer allocs = %v; want 0", n)
	}
}
