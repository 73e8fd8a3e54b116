package hash

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// contents returns the hash as a Go map, checking Len on the way.
func contents(t *testing.T, h *Hash) map[string]string {
	t.Helper()
	m := map[string]string{}
	h.Range(func(f, v []byte) bool {
		if _, dup := m[string(f)]; dup {
			t.Fatalf("field %q returned twice", f)
		}
		m[string(f)] = string(v)
		return true
	})
	if len(m) != h.Len() {
		t.Fatalf("Range saw %d fields, Len is %d", len(m), h.Len())
	}
	return m
}

func TestOperationsBothEncodings(t *testing.T) {
	type op struct {
		kind        string // set, del
		field, val  string
		wantChanged bool
	}
	ops := []op{
		{"set", "a", "1", true},
		{"set", "", "empty field", true},
		{"set", "b", "", true},
		{"set", "a", "longer value", false},
		{"set", "c", "3", true},
		{"del", "b", "", true},
		{"del", "nosuch", "", false},
		{"set", "", "changed", false},
		{"del", "", "", true},
		{"set", "\x00bin\r\n", "v\x00", true},
	}
	want := map[string]string{"a": "longer value", "c": "3", "\x00bin\r\n": "v\x00"}
	for _, enc := range []string{"listpack", "hashtable"} {
		t.Run(enc, func(t *testing.T) {
			h := New()
			if enc == "hashtable" {
				h.Convert()
			}
			for _, o := range ops {
				var got bool
				if o.kind == "set" {
					got = h.Set([]byte(o.field), []byte(o.val), 1000, 1000)
				} else {
					got = h.Delete([]byte(o.field))
				}
				if got != o.wantChanged {
					t.Fatalf("%s %q: got %v, want %v", o.kind, o.field, got, o.wantChanged)
				}
			}
			if h.Encoding() != enc {
				t.Fatalf("encoding %s, want %s", h.Encoding(), enc)
			}
			if got := contents(t, h); !maps.Equal(got, want) {
				t.Fatalf("contents %q, want %q", got, want)
			}
			for f, v := range want {
				got, ok := h.Get([]byte(f))
				if !ok || string(got) != v || !h.Has([]byte(f)) {
					t.Fatalf("Get(%q) = %q, %v", f, got, ok)
				}
			}
			if _, ok := h.Get([]byte("b")); ok || h.Has([]byte("")) {
				t.Fatal("deleted fields still present")
			}
			cp := h.Copy().(*Hash)
			cp.Set([]byte("a"), []byte("copy"), 1000, 1000)
			if v, _ := h.Get([]byte("a")); string(v) != "longer value" {
				t.Fatalf("Copy shares memory: original now %q", v)
			}
			if cp.Encoding() != enc {
				t.Fatalf("copy encoding %s", cp.Encoding())
			}
		})
	}
}

func TestListpackOrderAndConversion(t *testing.T) {
	tests := []struct {
		name       string
		pairs      []string
		maxEntries int64
		maxValue   int64
		want       string
	}{
		{"within limits", []string{"a", "1", "b", "2"}, 2, 5, "listpack"},
		{"too many entries", []string{"a", "1", "b", "2", "c", "3"}, 2, 5, "hashtable"},
		{"update does not count", []string{"a", "1", "b", "2", "a", "3"}, 2, 5, "listpack"},
		{"long value", []string{"a", "123456"}, 10, 5, "hashtable"},
		{"long field", []string{"abcdef", "1"}, 10, 5, "hashtable"},
		{"value at the limit", []string{"abcde", "12345"}, 10, 5, "listpack"},
		{"zero entries", []string{"a", "1"}, 0, 5, "hashtable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New()
			for i := 0; i < len(tt.pairs); i += 2 {
				h.Set([]byte(tt.pairs[i]), []byte(tt.pairs[i+1]), tt.maxEntries, tt.maxValue)
			}
			if h.Encoding() != tt.want {
				t.Fatalf("encoding %s, want %s", h.Encoding(), tt.want)
			}
		})
	}
	h := New()
	for _, f := range []string{"z", "y", "x"} {
		h.Set([]byte(f), []byte("v"+f), 10, 10)
	}
	h.Set([]byte("y"), []byte("new"), 10, 10)
	h.Set([]byte("z"), []byte("Z!"), 10, 10) // same size: in place
	var order []string
	for _, p := range h.Pairs() {
		order = append(order, string(p.Field)+"="+string(p.Value))
	}
	if got := strings.Join(order, " "); got != "z=Z! y=new x=vx" {
		t.Fatalf("listpack order %q", got)
	}
	h.ConvertIfLonger([][]byte{[]byte("short"), []byte("loooong")}, 5)
	if h.Encoding() != "hashtable" {
		t.Fatal("ConvertIfLonger did not convert")
	}
	if got := contents(t, h); got["y"] != "new" || len(got) != 3 {
		t.Fatalf("after conversion %q", got)
	}
}

func TestRandomAndScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 5, 300} {
		h := New()
		for i := range n {
			h.Set(fmt.Appendf(nil, "f%d", i), fmt.Appendf(nil, "v%d", i), 128, 64)
		}
		for range 50 {
			f, v := h.Random(r)
			if got, _ := h.Get(f); string(got) != string(v) {
				t.Fatalf("Random pair %q=%q does not match", f, v)
			}
		}
		got := map[string]string{}
		var cursor uint64
		for steps := 0; ; steps++ {
			cursor = h.ScanStep(cursor, func(f, v []byte) { got[string(f)] = string(v) })
			if cursor == 0 {
				break
			}
			if steps > 10*n {
				t.Fatal("scan does not terminate")
			}
		}
		if want := contents(t, h); !maps.Equal(got, want) {
			t.Fatalf("scan of %d fields saw %d", n, len(got))
		}
	}
}
