package inventory

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestExampleInventory loads the repository's inventory.example.yaml and
// checks that it mirrors the seed tutorial.
func TestExampleInventory(t *testing.T) {
	inv, warns, err := Load("../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("unexpected warning: %v", w)
	}
	var addrs []string
	for _, h := range inv.HostsWith(RoleEngine) {
		addrs = append(addrs, h.Name+"="+h.Address)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"engine hosts", addrs, []string{"db01=192.168.69.81", "db02=192.168.69.82", "db03=192.168.69.83"}},
		{"sentinels", len(inv.HostsWith(RoleSentinel)), 3},
		{"haproxy", len(inv.HostsWith(RoleHAProxy)), 1},
		{"service", inv.Service, "mymaster"},
		{"engine", inv.Engine, EngineHactl},
		{"master", inv.Master, "db01"},
		{"quorum", inv.Sentinel.Quorum, 2},
		{"down-after", inv.Sentinel.DownAfter, 60000 * time.Millisecond},
		{"failover-timeout", inv.Sentinel.FailoverTimeout, 180000 * time.Millisecond},
		{"parallel-syncs", inv.Sentinel.ParallelSyncs, 1},
		{"save", inv.Server.Save, []SavePoint{{900, 1}, {300, 10}, {60, 10000}}},
		{"appendonly", inv.Server.AppendOnly, true},
		{"appendfsync", inv.Server.AppendFsync, "everysec"},
		{"requirepass from a file", inv.Secrets.RequirePass.Source, SecretFile},
		{"requirepass path", inv.Secrets.RequirePass.Ref, "../secrets/requirepass"},
		{"sentinel from a file", inv.Secrets.Sentinel.Source, SecretFile},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
}

// TestDocsFullExample parses the "Full example" of docs/inventory.md.
func TestDocsFullExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/inventory.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Full example\n\n```yaml\n")
	if !ok {
		t.Fatal("no full example in docs/inventory.md")
	}
	src, _, _ := strings.Cut(rest, "```")
	inv, warns, err := Parse("docs/inventory.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	if inv.Sentinel.DownAfter != 5*time.Second || inv.Server.MaxMemory != 2<<30 {
		t.Errorf("profile or maxmemory not applied: %+v %+v", inv.Sentinel, inv.Server)
	}
}
