package bench

import (
	"errors"
	"fmt"
	"strings"
)

// Markers delimit the generated part of a markdown file such as
// docs/performance.md. ReplaceRegion rewrites what lies between them.
const (
	BeginMarker = "<!-- enginebench:begin -->"
	EndMarker   = "<!-- enginebench:end -->"
)

// ErrNoRegion means a document lacks BeginMarker or EndMarker, or has them
// in the wrong order.
var ErrNoRegion = errors.New("bench: no enginebench region in document")

// ReplaceRegion returns doc with the text between BeginMarker and EndMarker
// replaced by body. The markers stay; everything outside them is unchanged.
func ReplaceRegion(doc, body string) (string, error) {
	before, rest, ok := strings.Cut(doc, BeginMarker)
	if !ok {
		return "", fmt.Errorf("%w: missing %s", ErrNoRegion, BeginMarker)
	}
	_, after, ok := strings.Cut(rest, EndMarker)
	if !ok {
		return "", fmt.Errorf("%w: missing %s after %s", ErrNoRegion, EndMarker, BeginMarker)
	}
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return before + BeginMarker + "\n" + body + EndMarker + after, nil
}
