package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hactl/hactl/engine/config"
	"github.com/hactl/hactl/engine/server"
)

// TestRewriteFollowsReplicaOf: CONFIG REWRITE persists the REPLICAOF
// state, so a node restarted after a failover comes back as a replica of
// the master it last followed, and a promoted node drops the line.
func TestRewriteFollowsReplicaOf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine.conf")
	if err := os.WriteFile(path, []byte("port 7777\nreplicaof 10.0.0.1 6379\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &engineConfig{cfg: cfg, path: path}
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := e.Rewrite(server.RuntimeState{ReplicaOfHost: "127.0.0.2", ReplicaOfPort: 6380}); err != nil {
		t.Fatal(err)
	}
	if got := read(); !strings.Contains(got, "replicaof 127.0.0.2 6380") || strings.Contains(got, "10.0.0.1") {
		t.Fatalf("after REPLICAOF + rewrite:\n%s", got)
	}
	if err := e.Rewrite(server.RuntimeState{}); err != nil {
		t.Fatal(err)
	}
	if got := read(); strings.Contains(got, "replicaof") {
		t.Fatalf("after promotion + rewrite the file still names a master:\n%s", got)
	}
}
