package bench

import (
	"fmt"
	"strings"
)

// WriteTable writes rows (the first is the header) to b as columns padded
// to their widest cell: plain text two spaces apart, or with markdown a
// markdown table with a separator line after the header.
func WriteTable(b *strings.Builder, rows [][]string, markdown bool) {
	if len(rows) == 0 {
		return
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for n, r := range rows {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if markdown {
				fmt.Fprintf(b, "| %s%s ", c, pad)
			} else {
				fmt.Fprintf(b, "%s%s  ", c, pad)
			}
		}
		if markdown {
			b.WriteString("|")
		}
		b.WriteString("\n")
		if markdown && n == 0 {
			for i := range r {
				fmt.Fprintf(b, "|%s", strings.Repeat("-", widths[i]+2))
			}
			b.WriteString("|\n")
		}
	}
}
