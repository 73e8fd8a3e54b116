package bench

import (
	"errors"
	"testing"
)

func TestReplaceRegion(t *testing.T) {
	const b, e = BeginMarker, EndMarker
	tests := []struct {
		name, doc, body, want string
		wantErr               error
	}{
		{"replaces old table", "# Perf\n" + b + "\nold\n" + e + "\ntail\n", "new\n", "# Perf\n" + b + "\nnew\n" + e + "\ntail\n", nil},
		{"empty region", "x " + b + e + " y", "t", "x " + b + "\nt\n" + e + " y", nil},
		{"no begin", "text " + e, "t", "", ErrNoRegion},
		{"end before begin", e + " " + b, "t", "", ErrNoRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReplaceRegion(tt.doc, tt.body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReplaceRegion() error = %v; want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ReplaceRegion() = %q; want %q", got, tt.want)
			}
		})
	}
}
