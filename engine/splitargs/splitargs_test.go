package splitargs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

var splitTests = []struct {
	in   string
	want []string // nil with err
	err  error
}{
	{"", nil, nil},
	{"   \t\r\n", nil, nil},
	{"set foo bar", []string{"set", "foo", "bar"}, nil},
	{"  set   foo\tbar\r\n", []string{"set", "foo", "bar"}, nil},
	{`"hello world"`, []string{"hello world"}, nil},
	{`"a\nb\rc\td\be\af"`, []string{"a\nb\rc\td\be\af"}, nil},
	{`"\\ \" \q"`, []string{`\ " q`}, nil},
	{`"\x41\x4a\x7e\xff\x00z"`, []string{"AJ~\xff\x00z"}, nil},
	{`"\x4g"`, []string{"x4g"}, nil}, // not two hex digits: \x is just x
	{`"\x4"`, []string{"x4"}, nil},
	{`'it\'s'`, []string{"it's"}, nil},
	{`'a\nb\\ '`, []string{`a\nb\\ `}, nil},
	{`'a\\'`, nil, ErrUnbalancedQuotes}, // \' is an escaped quote even after \
	{`''`, []string{""}, nil},
	{`""`, []string{""}, nil},
	{`save ""`, []string{"save", ""}, nil},
	{`a"b c"`, []string{"ab c"}, nil},
	{`a'b c' d`, []string{"ab c", "d"}, nil},
	{`"a"b`, nil, ErrUnbalancedQuotes},
	{`'a'b`, nil, ErrUnbalancedQuotes},
	{`"abc`, nil, ErrUnbalancedQuotes},
	{`'abc`, nil, ErrUnbalancedQuotes},
	{`"abc\"`, nil, ErrUnbalancedQuotes},
	{`"a"` + "\t" + `b`, []string{"a", "b"}, nil},
	{"\"a\"\vb", []string{"a", "b"}, nil}, // \v after a quote is a blank
	{"a\vb", []string{"a\vb"}, nil},       // but does not end an unquoted word
	{"\va", []string{"a"}, nil},           // and is skipped before a word
	{"a\x00b c", []string{"a"}, nil},      // NUL ends the line
	{"\"a\x00b\"", nil, ErrUnbalancedQuotes},
	{"\"ab\\", nil, ErrUnbalancedQuotes},
	{"€ 日本", []string{"€", "日本"}, nil},
}

func TestSplit(t *testing.T) {
	for _, tt := range splitTests {
		got, err := Split([]byte(tt.in))
		if !errors.Is(err, tt.err) {
			t.Errorf("Split(%q) err = %v; want %v", tt.in, err, tt.err)
			continue
		}
		if !slices.Equal(toStrings(got), tt.want) {
			t.Errorf("Split(%q) = %q; want %q", tt.in, toStrings(got), tt.want)
		}
	}
}

func TestSplitNoAlias(t *testing.T) {
	line := []byte("aaa bbb")
	args, err := Split(line)
	if err != nil {
		t.Fatal(err)
	}
	args[0] = append(args[0], 'X')
	line[4] = 'Z'
	if got := toStrings(args); !slices.Equal(got, []string{"aaaX", "bbb"}) {
		t.Errorf("after append and edit of the input: %q", got)
	}
}

func TestSplitAllocs(t *testing.T) {
	line := []byte(`SET "key with space" 'val' \x00 plain`)
	if n := testing.AllocsPerRun(100, func() { _, _ = Split(line) }); n > 2 {
		t.Errorf("Split allocs = %v; want <= 2", n)
	}
	blank := []byte("   ")
	if n := testing.AllocsPerRun(100, func() { _, _ = Split(blank) }); n > 0 {
		t.Errorf("Split(blank) allocs = %v; want 0", n)
	}
}

func BenchmarkSplit(b *testing.B) {
	b.ReportAllocs()
	line := []byte(`SET mykey "hello \"world\"" EX 100`)
	for b.Loop() {
		_, _ = Split(line)
	}
}

// quote renders arg so that Split reads it back as one argument.
func quote(arg []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range arg {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, "\\x%02x", c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

func FuzzSplit(f *testing.F) {
	for _, tt := range splitTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		args, err := Split(line)
		if err != nil {
			if !errors.Is(err, ErrUnbalancedQuotes) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		total := 0
		for _, a := range args {
			total += len(a)
		}
		if total > len(line) {
			t.Fatalf("output %d bytes longer than input %d", total, len(line))
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = quote(a)
		}
		again, err := Split([]byte(strings.Join(quoted, " ")))
		if err != nil || !slices.Equal(toStrings(again), toStrings(args)) {
			t.Fatalf("round trip of %q: %q, %v", toStrings(args), toStrings(again), err)
		}
	})
}

func toStrings(b [][]byte) []string {
	if b == nil {
		return nil
	}
	out := make([]string, len(b))
	for i, a := range b {
		out[i] = string(a)
	}
	return out
}
