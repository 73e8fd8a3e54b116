package persisttest

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	base := Content{
		"0/a": {Type: "string", Value: "1", ExpireAt: -1},
		"1/l": {Type: "list", Value: "2:x\x00y", ExpireAt: 1700000000000},
	}
	with := func(k string, e Entry) Content {
		c := Content{}
		for kk, v := range base {
			c[kk] = v
		}
		if e.Type == "" {
			delete(c, k)
		} else {
			c[k] = e
		}
		return c
	}
	tests := []struct {
		name string
		got  Content
		want string // substring of the only difference, "" for none
	}{
		{"equal", with("0/a", base["0/a"]), ""},
		{"missing", with("0/a", Entry{}), `"0/a": missing`},
		{"extra", with("0/b", Entry{Type: "set", Value: "0:", ExpireAt: -1}), `"0/b": unexpected set key`},
		{"type", with("0/a", Entry{Type: "list", Value: "1", ExpireAt: -1}), "type list, want string"},
		{"value", with("1/l", Entry{Type: "list", Value: "2:y\x00x", ExpireAt: 1700000000000}), "list value differs"},
		{"expiry", with("1/l", Entry{Type: "list", Value: "2:x\x00y", ExpireAt: -1}), "expire time -1, want 1700000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(base, tc.got, 10)
			if tc.want == "" {
				if len(d) != 0 {
					t.Fatalf("Diff = %q, want none", d)
				}
				return
			}
			if len(d) != 1 || !strings.Contains(d[0], tc.want) {
				t.Fatalf("Diff = %q, want one line containing %q", d, tc.want)
			}
		})
	}
}

func TestDiffLimit(t *testing.T) {
	want := Content{}
	for _, k := range []string{"a", "b", "c", "d"} {
		want["0/"+k] = Entry{Type: "string", Value: k, ExpireAt: -1}
	}
	d := Diff(want, Content{}, 2)
	if len(d) != 3 || d[2] != "... and 2 more differences" {
		t.Fatalf("Diff = %q", d)
	}
}
