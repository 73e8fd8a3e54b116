package resp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func parseAll(t testing.TB, p *Parser, in string) ([][]string, error) {
	t.Helper()
	buf := []byte(in)
	var out [][]string
	for len(buf) > 0 {
		args, n, err := p.Parse(buf, nil)
		if err != nil {
			return out, err
		}
		var cmd []string
		for _, a := range args {
			cmd = append(cmd, string(a))
		}
		if len(cmd) > 0 {
			out = append(out, cmd)
		}
		buf = buf[n:]
	}
	return out, nil
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string
		err      error
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", [][]string{{"GET", "k"}}, nil},
		{"pipeline", "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", [][]string{{"PING"}, {"PING"}}, nil},
		{"inline", "SET k v\r\n", [][]string{{"SET", "k", "v"}}, nil},
		{"inline lf only", "PING\n", [][]string{{"PING"}}, nil},
		{"inline quotes", `SET "a b" 'c d' "\x41\n"` + "\r\n", [][]string{{"SET", "a b", "c d", "A\n"}}, nil},
		{"empty inline", "\r\n\nPING\r\n", [][]string{{"PING"}}, nil},
		{"empty bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [][]string{{"ECHO", ""}}, nil},
		{"zero count", "*0\r\n*-1\r\nPING\r\n", [][]string{{"PING"}}, nil},
		{"binary", "*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\x00\xff\r\n", [][]string{{"ECHO", "\r\n\x00\xff"}}, nil},
		{"expected $", "*1\r\nfoo\r\n", nil, ProtocolError("expected '$', got 'f'")},
		{"bad mbulk", "*x\r\n", nil, ErrInvalidMbulkLen},
		{"bad bulk", "*1\r\n$-5\r\n", nil, ErrInvalidBulkLen},
		{"unbalanced", "SET \"a\r\n", nil, ErrUnbalancedQuotes},
		{"quote then text", "SET \"a\"b\r\n", nil, ErrUnbalancedQuotes},
		{"incomplete", "*2\r\n$3\r\nGET\r\n", nil, ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Parser
			got, err := parseAll(t, &p, tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v; want %v", err, tt.err)
			}
			if tt.err == nil && !equal(got, tt.want) {
				t.Fatalf("got %q; want %q", got, tt.want)
			}
		})
	}
}

func equal(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestLimits(t *testing.T) {
	var p Parser
	big := bytes.Repeat([]byte("a"), MaxInlineSize+1)
	if _, _, err := p.Parse(big, nil); err != ErrTooBigInline {
		t.Fatalf("inline: err = %v", err)
	}
	p.MaxBulk = 10
	if _, _, err := p.Parse([]byte("*1\r\n$11\r\n"), nil); err != ErrInvalidBulkLen {
		t.Fatalf("max bulk: err = %v", err)
	}
	p = Parser{Unauthenticated: true}
	if _, _, err := p.Parse([]byte("*11\r\n"), nil); err != ErrUnauthMbulkLen {
		t.Fatalf("unauth argc: err = %v", err)
	}
	if _, _, err := p.Parse([]byte("*1\r\n$16385\r\n"), nil); err != ErrUnauthBulkLen {
		t.Fatalf("unauth bulk: err = %v", err)
	}
}

// TestRoundTrip encodes random commands, splits the stream at random
// points and checks that incremental parsing returns them unchanged.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want [][]string
	for i := 0; i < 2000; i++ {
		n := 1 + r.IntN(8)
		args := make([][]byte, n)
		var cmd []string
		for j := range args {
			a := make([]byte, r.IntN(40))
			for k := range a {
				a[k] = byte(r.UintN(256))
			}
			args[j] = a
			cmd = append(cmd, string(a))
		}
		want = append(want, cmd)
		stream = AppendCommand(stream, args...)
	}
	var p Parser
	var got [][]string
	start, end := 0, 0
	for end < len(stream) {
		end = min(len(stream), end+1+r.IntN(300))
		for {
			args, n, err := p.Parse(stream[start:end], nil)
			if err == ErrIncomplete {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var cmd []string
			for _, a := range args {
				cmd = append(cmd, string(a))
			}
			got = append(got, cmd)
			start += n
		}
	}
	if !equal(got, want) {
		t.Fatalf("round trip mismatch: got %d commands, want %d", len(got), len(want))
	}
}

func TestParseAllocs(t *testing.T) {
	var p Parser
	in := []byte("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
	argv := make([][]byte, 0, 8)
	n := testing.AllocsPerRun(1000, func() {
		argv, _, _ = p.Parse(in, argv[:0])
	})
	if n > 0 {
		t.Fatalf("Parse allocs = %v; want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING\r\n", "SET \"a\\x41\" 'b'\r\n", "*-1\r\n", "*1\r\n$-1\r\n", "$5\r\nhello\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := Parser{MaxBulk: 1 << 20}
		var argv [][]byte
		buf := in
		for steps := 0; len(buf) > 0 && steps < 10000; steps++ {
			var n int
			var err error
			argv, n, err = p.Parse(buf, argv[:0])
			if err != nil {
				return
			}
			if n <= 0 || n > len(buf) {
				t.Fatalf("Parse consumed %d of %d bytes", n, len(buf))
			}
			for _, a := range argv {
				if len(a) > len(in) {
					t.Fatalf("argument longer than input")
				}
			}
			buf = buf[n:]
		}
	})
}
