package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/hactl/hactl/engine/resp"
)

// cmds encodes commands written as space-separated words.
func cmds(lines ...string) []byte {
	var b []byte
	for _, l := range lines {
		var args [][]byte
		for _, w := range strings.Fields(l) {
			args = append(args, []byte(w))
		}
		b = resp.AppendCommand(b, args...)
	}
	return b
}

type seen struct {
	cmds    []string
	offsets []int64
	rdb     []byte
}

func (s *seen) handler(rdbLen int) Handler {
	return Handler{
		RDB: func(_ string, r *bufio.Reader) error {
			s.rdb = make([]byte, rdbLen)
			_, err := io.ReadFull(r, s.rdb)
			return err
		},
		Command: func(_ string, off int64, args [][]byte) error {
			parts := make([]string, len(args))
			for i, a := range args {
				parts[i] = string(a)
			}
			s.cmds = append(s.cmds, strings.Join(parts, " "))
			s.offsets = append(s.offsets, off)
			return nil
		},
	}
}

func load(data []byte, rdbLen int) (*seen, FileResult, error) {
	s := &seen{}
	res, err := loadStream(bytes.NewReader(data), "f", int64(len(data)), s.handler(rdbLen), FileResult{Name: "f"})
	return s, res, err
}

func TestLoadCommands(t *testing.T) {
	data := cmds("SELECT 0", "set a 1")
	data = append(data, "#TS:1700000000\r\n"...)
	data = append(data, cmds("MULTI", "incr n", "EXEC", "del a")...)
	s, res, err := load(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT 0", "set a 1", "MULTI", "incr n", "EXEC", "del a"}
	if fmt.Sprint(s.cmds) != fmt.Sprint(want) || res.Commands != 6 {
		t.Fatalf("got %q (%d)", s.cmds, res.Commands)
	}
	if s.offsets[0] != 0 || s.offsets[1] != 23 || s.offsets[2] != 23+27+16 {
		t.Errorf("offsets %v", s.offsets)
	}
}

func TestLoadRDBPreamble(t *testing.T) {
	rdb := []byte("REDIS0010\xfa\x08aof-base\xc0\x01\xff12345678")
	data := append(bytes.Clone(rdb), cmds("set k v")...)
	s, res, err := load(data, len(rdb))
	if err != nil {
		t.Fatal(err)
	}
	if !res.RDB || !bytes.Equal(s.rdb, rdb) || len(s.cmds) != 1 || s.offsets[0] != int64(len(rdb)) {
		t.Fatalf("rdb %q cmds %q offsets %v", s.rdb, s.cmds, s.offsets)
	}
	// Without an RDB loader the file is refused.
	if _, err := loadStream(bytes.NewReader(data), "f", int64(len(data)), Handler{}, FileResult{}); err == nil {
		t.Error("RDB without a loader accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	ok := cmds("set a 1")
	tests := []struct {
		name string
		data string
		kind error
		off  int64
	}{
		{"garbage", "hello\r\n", ErrBadFormat, 0},
		{"empty line", "\r\n", ErrBadFormat, 0},
		{"garbage after a command", string(ok) + "x\r\n", ErrBadFormat, 27},
		{"zero args", "*0\r\n", ErrBadFormat, 0},
		{"negative args", "*-1\r\n", ErrBadFormat, 0},
		{"bad bulk header", "*1\r\n:3\r\n", ErrBadFormat, 4},
		{"bad bulk length", "*1\r\n$x\r\n", ErrBadFormat, 4},
		{"no CRLF after bulk", "*1\r\n$1\r\naXY", ErrBadFormat, 9},
		{"LF only", "*1\n$1\na\n", ErrBadFormat, 0},
		{"long line", "*" + strings.Repeat("1", 2000) + "\r\n", ErrBadFormat, 0},
		{"torn header", string(ok) + "*2\r", ErrUnexpectedEOF, 27},
		{"torn bulk", string(ok) + "*2\r\n$3\r\nset\r\n$5\r\nab", ErrUnexpectedEOF, 27},
		{"huge bulk", string(ok) + "*1\r\n$999999999999\r\n", ErrUnexpectedEOF, 27},
		{"huge argc", "*2000000000\r\n$1\r\na\r\n", ErrUnexpectedEOF, 0},
		{"open MULTI", string(ok) + string(cmds("MULTI", "set b 2")), ErrUnexpectedEOF, 27},
		{"torn annotation", string(ok) + "#TS:1", ErrUnexpectedEOF, 27},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := load([]byte(tt.data), 0)
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, tt.kind) || le.Offset != tt.off {
				t.Fatalf("err = %v; want %v at %d", err, tt.kind, tt.off)
			}
			if tt.kind == ErrUnexpectedEOF && tt.off > 0 && len(s.cmds) != 1 {
				t.Errorf("commands before the torn tail: %q", s.cmds)
			}
			if !strings.Contains(err.Error(), "reading the append only file f at offset") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// TestEveryPrefix: any prefix of a valid stream (what a crash leaves) is
// either complete or a torn tail whose offset is a command boundary;
// never a format error.
func TestEveryPrefix(t *testing.T) {
	data := cmds("SELECT 1", "set key value", "MULTI", "rpush l a b c", "EXEC", "del key")
	bounds := map[int64]int{0: 0}
	s, _, _ := load(data, 0)
	for i, off := range s.offsets {
		bounds[off] = i
	}
	for n := 0; n <= len(data); n++ {
		s, _, err := load(data[:n], 0)
		off, torn := IsTruncated(err)
		switch {
		case err == nil:
			if _, ok := bounds[int64(n)]; !ok && n != len(data) {
				t.Fatalf("prefix %d loaded without error", n)
			}
		case torn:
			if want, ok := bounds[off]; !ok || want != len(s.cmds) {
				t.Fatalf("prefix %d: truncate to %d after %d commands", n, off, len(s.cmds))
			}
		default:
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
}

func TestCallbackError(t *testing.T) {
	data := cmds("set a 1", "bogus x")
	h := Handler{Command: func(_ string, _ int64, args [][]byte) error {
		if string(args[0]) == "bogus" {
			return errors.New("Unknown command 'bogus' reading the append only file")
		}
		return nil
	}}
	_, err := loadStream(bytes.NewReader(data), "f", int64(len(data)), h, FileResult{})
	if err == nil || !strings.Contains(err.Error(), "f at offset 27: Unknown command") {
		t.Fatalf("err = %v", err)
	}
}
