package lab

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hactl/hactl/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderInventory(t *testing.T) {
	for _, tc := range []struct {
		name string
		sp   Spec
	}{
		{"process", Spec{Driver: DriverProcess}},
		{"nspawn", Spec{Driver: DriverNspawn, Nodes: 5, Engine: "redis"}},
		{"nspawn-proxy", Spec{Driver: DriverNspawn, Proxy: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := tc.sp
			sp.CacheDir = "/cache"
			sp.fill()
			l := &Lab{StateDir: "/srv/lab", st: newState(&sp, "/srv/lab", true)}
			l.fillPublic()
			got, err := renderInventory(l)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".inventory.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("inventory differs from %s (go test -update):\n%s", golden, got)
			}
			// It must be a valid inventory (the secret file need not exist to parse).
			inv, _, err := inventory.Parse("/srv/lab/inventory.yaml", got)
			if err != nil {
				t.Fatalf("rendered inventory does not parse: %v", err)
			}
			if len(inv.Hosts) != sp.Nodes || inv.Sentinel.Quorum != sp.Nodes/2+1 || inv.Master != "db01" {
				t.Errorf("parsed inventory: %d hosts, quorum %d, master %s", len(inv.Hosts), inv.Sentinel.Quorum, inv.Master)
			}
			if proxies := len(inv.HostsWith(inventory.RoleHAProxy)); proxies != map[bool]int{true: sp.Nodes}[sp.Proxy] || sp.Proxy && inv.HAProxy.Port != ProxyPort {
				t.Errorf("parsed inventory: %d haproxy hosts, haproxy port %d", proxies, inv.HAProxy.Port)
			}
			if sp.Driver == DriverNspawn && inv.Hosts[0].SSH.Key != "/srv/lab/id_ed25519" {
				t.Errorf("ssh key = %q", inv.Hosts[0].SSH.Key)
			}
		})
	}
}

func TestProxyNeedsNspawn(t *testing.T) {
	sp := Spec{Driver: DriverProcess, Proxy: true}
	sp.fill()
	if err := sp.validate(); err == nil || !strings.Contains(err.Error(), "nspawn") {
		t.Errorf("process lab with proxy: %v", err)
	}
	sp = Spec{Driver: DriverNspawn, Proxy: true}
	sp.fill()
	if err := sp.validate(); err != nil {
		t.Errorf("nspawn lab with proxy: %v", err)
	}
}

func TestMirrorFrom(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"deb822", "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n", "http://deb.debian.org/debian"},
		{"security first", "URIs: http://deb.debian.org/debian-security\n\nURIs: https://mirror.example/debian\n", "https://mirror.example/debian"},
		{"one-line", "# comment\ndeb http://ftp.fr.debian.org/debian bookworm main\n", "http://ftp.fr.debian.org/debian"},
		{"one-line options", "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n", "http://m.example/debian"},
		{"cdrom only", "deb cdrom:[Debian]/ bookworm main\n", ""},
		{"empty", "", ""},
	} {
		if got := mirrorFrom(tc.text); got != tc.want {
			t.Errorf("%s: mirrorFrom = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestBaseID(t *testing.T) {
	a := baseID(basePackages(&Spec{Engine: "hactl"}))
	b := baseID(basePackages(&Spec{Engine: "redis"}))
	c := baseID(basePackages(&Spec{Engine: "hactl", ExtraPackages: []string{"procps"}}))
	if a == b || a == c || b == c {
		t.Errorf("base ids collide: %s %s %s", a, b, c)
	}
	if !slices.Contains(basePackages(&Spec{}), "haproxy") {
		t.Errorf("haproxy is not in the base: nodes cannot install it (no route out)")
	}
	if a != baseID(basePackages(&Spec{Engine: "hactl"})) {
		t.Errorf("base id not stable")
	}
}
