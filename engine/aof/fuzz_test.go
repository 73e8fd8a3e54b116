package aof

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{
		"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
		"# c\nfile \"a\\x00b\" seq -3 type h extra 1\n",
		"file a seq 1 type b\nfile b seq 1 type b\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(bytes.NewReader(data), "m")
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Whatever parses formats to a manifest that parses to itself
		// (when not empty: an empty manifest is refused).
		out := m.Format()
		if len(out) == 0 {
			return
		}
		m2, err := ParseManifest(bytes.NewReader(out), "m2")
		if err != nil || !bytes.Equal(m2.Format(), out) {
			t.Fatalf("round trip of %q: %v", out, err)
		}
	})
}

func FuzzLoad(f *testing.F) {
	f.Add(cmds("SELECT 0", "set a 1", "MULTI", "incr x", "EXEC"))
	f.Add([]byte("REDIS0010\xff12345678*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte("#TS:1\r\n*2\r\n$999999999\r\n"))
	f.Add([]byte("*1\r\n$1\r\nx\n\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n int64
		var last int64 = -1
		h := Handler{
			// The test RDB part is the 18 bytes of the seed (or fewer).
			RDB: func(_ string, r *bufio.Reader) error {
				_, err := io.CopyN(io.Discard, r, 18)
				return err
			},
			Command: func(_ string, off int64, args [][]byte) error {
				if len(args) == 0 || off <= last || off >= int64(len(data)) {
					t.Fatalf("command %q at %d after %d", args, off, last)
				}
				last = off
				n++
				return nil
			},
		}
		res, err := loadStream(bytes.NewReader(data), "f", int64(len(data)), h, FileResult{})
		if res.Commands != n {
			t.Fatalf("counted %d, delivered %d", res.Commands, n)
		}
		var le *LoadError
		if errors.As(err, &le) && (le.Offset < 0 || le.Offset > int64(len(data))) {
			t.Fatalf("offset %d out of range", le.Offset)
		}
		// Truncating at the reported offset gives a clean file with the
		// same commands.
		if off, torn := IsTruncated(err); torn {
			n2 := n
			n, last = 0, -1
			res2, err := loadStream(bytes.NewReader(data[:off]), "f", off, h, FileResult{})
			if err != nil || res2.Commands != n2 {
				t.Fatalf("after truncation to %d: %v, %d commands, want %d", off, err, res2.Commands, n2)
			}
		}
	})
}
