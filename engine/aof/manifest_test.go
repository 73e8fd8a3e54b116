package aof

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	long := "file " + strings.Repeat("a", 1100) + " seq 1 type b\n"
	tests := []struct {
		name    string
		in      string
		want    string // Format() of the result
		msg     string // ManifestError.Msg
		line    int
		baseSeq int64
		incrSeq int64
	}{
		{name: "fresh", in: "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
			want: "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", baseSeq: 1, incrSeq: 1},
		{name: "any order, unknown keys, comments, CRLF", in: "# hello\r\ntype i  seq 3 extra x file a.3.incr.aof\r\n\tfile b seq 2 type b \n",
			want: "file b seq 2 type b\nfile a.3.incr.aof seq 3 type i\n", baseSeq: 2, incrSeq: 3},
		{name: "history", in: "file x.2.base.rdb seq 2 type b\nfile x.1.incr.aof seq 1 type h\nfile x.2.incr.aof seq 2 type i\n",
			want: "file x.2.base.rdb seq 2 type b\nfile x.1.incr.aof seq 1 type h\nfile x.2.incr.aof seq 2 type i\n", baseSeq: 2, incrSeq: 2},
		{name: "quoted name", in: `file "a b\x01\"" seq 1 type i` + "\n", want: `file "a b\x01\"" seq 1 type i` + "\n", incrSeq: 1},
		{name: "case-insensitive keys, lenient seq", in: "FILE a SEQ 7abc TYPE incr\n", want: "file a seq 7 type i\n", incrSeq: 7},
		{name: "empty", in: "", msg: msgEmptyManifest},
		{name: "only comments is fine", in: "# x\n", want: ""},
		{name: "no final newline", in: "file a seq 1 type b", msg: msgLongLine, line: 1},
		{name: "too long", in: long, msg: msgLongLine, line: 1},
		{name: "blank line", in: "file a seq 1 type b\n  \n", msg: msgInvalidFormat, line: 2},
		{name: "five tokens", in: "file a seq 1 type\n", msg: msgInvalidFormat, line: 1},
		{name: "odd tokens", in: "file a seq 1 type b x\n", msg: msgInvalidFormat, line: 1},
		{name: "unbalanced quotes", in: "file \"a seq 1 type b\n", msg: msgInvalidFormat, line: 1},
		{name: "seq zero", in: "file a seq 0 type b\n", msg: msgInvalidFormat, line: 1},
		{name: "seq not a number", in: "file a seq x type b\n", msg: msgInvalidFormat, line: 1},
		{name: "no file key", in: "name a seq 1 type b\n", msg: msgInvalidFormat, line: 1},
		{name: "empty type", in: "file a seq 1 type ''\n", msg: msgInvalidFormat, line: 1},
		{name: "path", in: "file ../a seq 1 type b\n", msg: msgNotBaseName, line: 1},
		{name: "backslash", in: `file 'a\b' seq 1 type b` + "\n", msg: msgNotBaseName, line: 1},
		{name: "two bases", in: "file a seq 1 type b\nfile b seq 2 type b\n", msg: msgDuplicateBase, line: 2},
		{name: "incr not increasing", in: "file a seq 2 type i\nfile b seq 2 type i\n", msg: msgNonMonotonicSeq, line: 2},
		{name: "negative incr", in: "file a seq -1 type i\n", msg: msgNonMonotonicSeq, line: 1},
		{name: "unknown type", in: "file a seq 1 type x\n", msg: msgUnknownType, line: 1},
		{name: "NUL hides the newline", in: "file a seq 1 type b\x00\n", msg: msgLongLine, line: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest(strings.NewReader(tt.in), "m")
			if tt.msg != "" {
				var me *ManifestError
				if !errors.As(err, &me) || me.Msg != tt.msg || me.Line != tt.line || !errors.Is(err, ErrManifest) {
					t.Fatalf("err = %v; want %q at line %d", err, tt.msg, tt.line)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m.Format()); got != tt.want {
				t.Errorf("Format = %q; want %q", got, tt.want)
			}
			if m.BaseSeq != tt.baseSeq || m.IncrSeq != tt.incrSeq {
				t.Errorf("seqs = %d/%d; want %d/%d", m.BaseSeq, m.IncrSeq, tt.baseSeq, tt.incrSeq)
			}
			// What Format writes parses back to the same manifest.
			m2, err := ParseManifest(strings.NewReader(string(m.Format())+"# end\n"), "m2")
			if err != nil || string(m2.Format()) != tt.want {
				t.Errorf("round trip: %v %q", err, m2.Format())
			}
		})
	}
}

func TestAtoll(t *testing.T) {
	for in, want := range map[string]int64{
		"12": 12, " +7x": 7, "-3": -3, "": 0, "abc": 0,
		"99999999999999999999": 1<<63 - 1, "-99999999999999999999": -1 << 63,
		"9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63,
	} {
		if got := atoll([]byte(in)); got != want {
			t.Errorf("atoll(%q) = %d; want %d", in, got, want)
		}
	}
}

// TestFormatGolden pins the manifest Redis writes after a rewrite.
func TestFormatGolden(t *testing.T) {
	m := &Manifest{
		Base:    &FileInfo{Name: "appendonly.aof.3.base.aof", Seq: 3, Type: TypeBase},
		History: []FileInfo{{Name: "appendonly.aof.2.base.rdb", Seq: 2, Type: TypeHistory}},
		Incr:    []FileInfo{{Name: "appendonly.aof.3.incr.aof", Seq: 3, Type: TypeIncr}, {Name: "é x", Seq: 4, Type: TypeIncr}},
	}
	golden(t, "manifest.golden", m.Format())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n got %q\nwant %q", name, got, want)
	}
}
