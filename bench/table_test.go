package bench

import (
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	rows := [][]string{{"op", "µs"}, {"SET", "7"}}
	for _, tc := range []struct {
		markdown bool
		want     string
	}{
		{false, "op   µs  \nSET  7   \n"},
		{true, "| op  | µs |\n|-----|----|\n| SET | 7  |\n"},
	} {
		var b strings.Builder
		WriteTable(&b, rows, tc.markdown)
		if b.String() != tc.want {
			t.Errorf("WriteTable(markdown %v) = %q, want %q", tc.markdown, b.String(), tc.want)
		}
	}
	var b strings.Builder
	if WriteTable(&b, nil, true); b.Len() != 0 {
		t.Errorf("WriteTable(nil) wrote %q", b.String())
	}
}
