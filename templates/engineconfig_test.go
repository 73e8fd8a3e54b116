package templates

import (
	"bytes"
	"testing"

	"github.com/hactl/hactl/engine/config"
)

// TestEngineConfAcceptedByHactlEngine parses the rendered engine.conf with
// hactl-engine's own config parser: every directive hactl renders must be
// supported (no error, no "accepted but has no effect" warning).
func TestEngineConfAcceptedByHactlEngine(t *testing.T) {
	inv, sec := example(t, nil)
	for _, host := range []string{"db01", "db02"} {
		files, err := Render(inv, sec, Params{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse(bytes.NewReader(files[0].Content), files[0].Path)
		if err != nil {
			t.Fatalf("%s for %s: %v", files[0].Path, host, err)
		}
		for _, w := range c.Warnings {
			t.Errorf("%s for %s: %s", files[0].Path, host, w)
		}
		wantMaster := ""
		if host != inv.Master {
			wantMaster = "192.168.69.81"
		}
		if c.ReplicaOfHost != wantMaster {
			t.Errorf("%s: replicaof host = %q; want %q", host, c.ReplicaOfHost, wantMaster)
		}
	}
}
