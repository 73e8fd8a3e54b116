package templates

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hactl/hactl/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeSecrets stands in for the secret files of inventory.example.yaml.
func fakeSecrets(path string) ([]byte, error) {
	switch filepath.Base(path) {
	case "requirepass":
		return []byte("example-requirepass\n"), nil
	case "sentinel":
		return []byte("example sentinel \"pass\"\n"), nil
	}
	return nil, fmt.Errorf("no fake secret %s", path)
}

func noEnv(string) (string, bool) { return "", false }

// example loads inventory.example.yaml, optionally edited, with fake secrets.
func example(t *testing.T, edit func(string) string) (*inventory.Inventory, *inventory.ResolvedSecrets) {
	t.Helper()
	data, err := os.ReadFile("../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	if edit != nil {
		src = edit(src)
	}
	inv, _, err := inventory.Parse("inventory.example.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := inventory.ResolveSecrets(inv, noEnv, fakeSecrets)
	if err != nil {
		t.Fatal(err)
	}
	return inv, sec
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	redis := func(s string) string { return strings.Replace(s, "engine: hactl", "engine: redis", 1) }
	tests := []struct {
		variant string
		edit    func(string) string
		host    string
		master  string
	}{
		{"hactl", nil, "db01", ""},
		{"hactl", nil, "db02", ""},
		{"hactl", nil, "lb01", ""},
		{"hactl-after-failover", nil, "db01", "db03"},
		{"redis", redis, "db01", ""},
		{"redis", redis, "db02", ""},
	}
	for _, tt := range tests {
		t.Run(tt.variant+"/"+tt.host, func(t *testing.T) {
			inv, sec := example(t, tt.edit)
			files, err := Render(inv, sec, Params{Host: tt.host, Master: tt.master})
			if err != nil {
				t.Fatal(err)
			}
			var manifest bytes.Buffer
			for _, f := range files {
				fmt.Fprintf(&manifest, "%s %#o %s seed=%v runtime=%v\n", f.Path, f.Mode, f.Owner, f.Seed, f.Runtime)
				golden(t, tt.variant+"-"+tt.host+"-"+filepath.Base(f.Path), f.Content)
				if !bytes.HasPrefix(f.Content, []byte(Header)) {
					t.Errorf("%s does not start with %q", f.Path, Header)
				}
			}
			golden(t, tt.variant+"-"+tt.host+".files", manifest.Bytes())
		})
	}
}

// TestRenderDeterministic renders twice and compares bytes; the extra
// directives come from a map, so the order must not depend on map order.
func TestRenderDeterministic(t *testing.T) {
	inv, sec := example(t, func(s string) string {
		return strings.Replace(s, "  appendfsync: everysec\n",
			"  appendfsync: everysec\n  extra: {tcp-keepalive: 300, hz: 20, timeout: 0, lazyfree-lazy-eviction: yes, latency-tracking: no}\n", 1)
	})
	first, err := Render(inv, sec, Params{Host: "db02"})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Render(inv, sec, Params{Host: "db02"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range first {
			if !bytes.Equal(first[i].Content, again[i].Content) {
				t.Fatalf("%s rendered differently", first[i].Path)
			}
		}
	}
	want := "hz 20\nlatency-tracking no\nlazyfree-lazy-eviction yes\ntcp-keepalive 300\ntimeout 0\n"
	if !strings.HasSuffix(string(first[0].Content), want) {
		t.Errorf("engine.conf ends with\n%s\nwant sorted extra directives\n%s", first[0].Content, want)
	}
}

func TestRenderErrors(t *testing.T) {
	inv, sec := example(t, nil)
	tls, tlsSec := example(t, func(s string) string { return s + "security: {tls: {enabled: true}}\n" })
	tests := []struct {
		name string
		inv  *inventory.Inventory
		sec  *inventory.ResolvedSecrets
		p    Params
		want string
	}{
		{"unknown host", inv, sec, Params{Host: "db9"}, `render: host "db9" is not in the inventory`},
		{"unknown master", inv, sec, Params{Host: "db01", Master: "db9"}, `render: master "db9" is not an engine host of the inventory`},
		{"proxy as master", inv, sec, Params{Host: "db01", Master: "lb01"}, `render: master "lb01" is not an engine host of the inventory`},
		{"no secrets", inv, nil, Params{Host: "db01"}, `render: no secrets (resolve them with inventory.ResolveSecrets)`},
		{"tls without material", tls, tlsSec, Params{Host: "db01"}, `render: security.tls is on but no TLS material was loaded (hactl up generates it)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.inv, tt.sec, tt.p)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Render error = %v; want %s", err, tt.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain-Pass_1!", "plain-Pass_1!"},
		{"", `""`},
		{"with space", `"with space"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"it's", `"it's"`},
		{"tab\there\n", `"tab\there\n"`},
		{"é\x01", `"\xc3\xa9\x01"`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestRespCommand(t *testing.T) {
	got := string(respCommand("AUTH", "p w"))
	if want := "*2\r\n$4\r\nAUTH\r\n$3\r\np w\r\n"; got != want {
		t.Errorf("respCommand = %q; want %q", got, want)
	}
}

// TestRenderLabRoot renders for the process lab: loopback addresses (no
// extra 127.0.0.1 bind) and every path under a per-host root.
func TestRenderLabRoot(t *testing.T) {
	for _, engine := range []string{"hactl", "redis"} {
		t.Run(engine, func(t *testing.T) {
			inv, sec := example(t, func(s string) string {
				s = strings.Replace(s, "engine: hactl", "engine: "+engine, 1)
				s = strings.Replace(s, "provider: ssh", "provider: lab", 1)
				return strings.NewReplacer("192.168.69.8", "127.0.0.8").Replace(s)
			})
			files, err := Render(inv, sec, Params{Host: "db02", Root: "/srv/lab/db02"})
			if err != nil {
				t.Fatal(err)
			}
			var all bytes.Buffer
			for _, f := range files {
				fmt.Fprintf(&all, "==> %s %04o %s seed=%v runtime=%v\n%s", f.Path, f.Mode, f.Owner, f.Seed, f.Runtime, f.Content)
			}
			golden(t, "lab-"+engine+"-db02", all.Bytes())
			if strings.Contains(all.String(), "127.0.0.1") {
				t.Errorf("lab host binds 127.0.0.1, which the three lab hosts cannot share")
			}
		})
	}
}

func TestBindAddrs(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"192.0.2.1"}, []string{"192.0.2.1", "127.0.0.1"}},
		{[]string{"127.0.0.81"}, []string{"127.0.0.81"}},
		{[]string{"192.0.2.1", "::1"}, []string{"192.0.2.1", "::1"}},
		{nil, []string{"127.0.0.1"}},
	}
	for _, tt := range tests {
		if got := bindAddrs(tt.in); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("bindAddrs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHAProxyReplicaCheck: with two or more engine hosts every engine check
// refuses a master without an attached replica (connected_slaves:[1-9],
// after role:master, before the sentinels are asked); with one engine host
// it would never route, so the line is left out.
func TestHAProxyReplicaCheck(t *testing.T) {
	const replicas = "    tcp-check expect min-recv 0 rstring connected_slaves:[1-9]\n"
	tests := []struct {
		name   string
		edit   func(string) string
		checks int // check backends, one per engine and sentinel majority
		want   int // replica lines
	}{
		{"three engines", nil, 9, 9},
		{"two engines", func(s string) string {
			return strings.Replace(s, "  - name: db03\n    address: 192.168.69.83\n", "", 1)
		}, 2, 2},
		{"one engine", func(s string) string {
			s = strings.Replace(s, "  - name: db02\n    address: 192.168.69.82\n  - name: db03\n    address: 192.168.69.83\n", "", 1)
			return strings.Replace(s, "quorum: 2", "quorum: 1", 1)
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, sec := example(t, tt.edit)
			files, err := Render(inv, sec, Params{Host: "lb01"})
			if err != nil {
				t.Fatal(err)
			}
			var cfg string
			for _, f := range files {
				if f.Path == HAProxyConfig {
					cfg = string(f.Content)
				}
			}
			if got := strings.Count(cfg, "\nbackend chk_"); got != tt.checks {
				t.Fatalf("%d check backends, want %d", got, tt.checks)
			}
			if got := strings.Count(cfg, replicas); got != tt.want {
				t.Errorf("%d replica checks, want %d", got, tt.want)
			}
			// Ordered within each check: role, then replicas, then sentinels.
			for _, chk := range strings.Split(cfg, "\nbackend chk_")[1:] {
				role := strings.Index(chk, "string role:master\n")
				rep := strings.Index(chk, replicas)
				sent := strings.Index(chk, "tcp-check connect addr")
				if role < 0 || sent < role || (tt.want > 0 && (rep < role || rep > sent)) {
					t.Errorf("check out of order (role %d, replicas %d, sentinels %d):\n%s", role, rep, sent, chk)
				}
			}
		})
	}
}
