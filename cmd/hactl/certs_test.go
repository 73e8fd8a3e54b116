package main

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/certs"
	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/provision"
	"github.com/hactl/hactl/templates"
)

const materialInventory = `master: db01
hosts:
  - {name: db01, address: 127.0.0.1}
  - {name: db02, address: 127.0.0.2}
  - {name: db03, address: 127.0.0.3}
secrets:
  requirepass: {env: PW}
security:
  tls: {enabled: true, plaintext: false, port: 6380}
  acl:
    users:
      - {name: app, keys: ["app:*"]}
      - {name: repl, role: replica}
`

// materialFactory is a Factory whose hosts are directories under root
// (the local transport, with a layout root per host).
func materialFactory(root string) *Factory {
	f := newTestFactory()
	f.LookupEnv = func(k string) (string, bool) { return "pw", k == "PW" }
	f.Connect = func(_ context.Context, _ *inventory.Inventory, h *inventory.Host) (provision.Transport, provision.Layout, error) {
		return &provision.Local{Host: h.Name}, provision.Layout{Root: filepath.Join(root, h.Name), Services: provision.Processes}, nil
	}
	return f
}

// putOnHost writes a file at p (a host path) on host of the fake hosts.
func putOnHost(t *testing.T, root, host, p, content string) {
	t.Helper()
	full := filepath.Join(root, host, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPrepareMaterial: only hactl up generates passwords and the CA, and
// only when no host already holds what they stand for.
func TestPrepareMaterial(t *testing.T) {
	ca, _, _ := templates.TLSPaths(inventory.EngineHactl)
	acl := path.Join(templates.ConfigDir(inventory.EngineHactl), templates.ACLFileName)
	for _, tc := range []struct {
		name    string
		hosts   func(t *testing.T, root string) // what the hosts hold
		local   []string                        // local files left (relative to .hactl), nil: none
		wantErr []string                        // "" none
	}{
		{"fresh cluster", func(*testing.T, string) {}, nil, nil},
		{"a host has the TLS files, the CA is missing here", func(t *testing.T, root string) {
			putOnHost(t, root, "db02", ca, "x")
		}, nil, []string{"db02 already has hactl's TLS files", "tls/ca.pem", "copy .hactl/"}},
		{"a host has the user, its password is missing here", func(t *testing.T, root string) {
			putOnHost(t, root, "db03", acl, "user default on #ab ~* &* +@all\nuser app on #cd ~app:*\n")
		}, []string{"tls", "secrets/acl-repl"}, []string{"db03 already has ACL user app", "secrets/acl-app", "copy .hactl/"}},
		{"a new user the hosts do not have yet", func(t *testing.T, root string) {
			putOnHost(t, root, "db01", acl, "user default on #ab ~* &* +@all\nuser repl on #cd +psync\n")
			putOnHost(t, root, "db01", ca, "x")
		}, []string{"tls", "secrets/acl-repl"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, root := t.TempDir(), t.TempDir()
			invPath := filepath.Join(dir, "inventory.yaml")
			if err := os.WriteFile(invPath, []byte(materialInventory), 0o600); err != nil {
				t.Fatal(err)
			}
			f := materialFactory(root)
			if tc.local != nil {
				// Set up everything, then keep only tc.local.
				inv, _, err := (&Factory{IO: f.IO, LookupEnv: f.LookupEnv, ReadFile: os.ReadFile, lenient: true}).loadFile(invPath)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := prepareMaterial(context.Background(), f, inv, true); err != nil {
					t.Fatal(err)
				}
				state := filepath.Join(dir, ".hactl")
				keep := map[string][]byte{}
				for _, p := range tc.local {
					filepath.Walk(filepath.Join(state, p), func(q string, fi os.FileInfo, err error) error {
						if err == nil && !fi.IsDir() {
							keep[q], _ = os.ReadFile(q)
						}
						return nil
					})
				}
				os.RemoveAll(state)
				for q, b := range keep {
					os.MkdirAll(filepath.Dir(q), 0o700)
					os.WriteFile(q, b, 0o600)
				}
			}
			tc.hosts(t, root)
			before := listFiles(dir)

			// Every command but up: no generation, a clear error.
			_, _, err := f.load(invPath)
			var miss *missingMaterialError
			if !errors.As(err, &miss) || !strings.Contains(err.Error(), "copy .hactl/") {
				t.Fatalf("load without the material: %v", err)
			}
			if after := listFiles(dir); after != before {
				t.Fatalf("load generated files:\n%s\nwas:\n%s", after, before)
			}

			lf := *f
			lf.lenient = true
			inv, sec, err := lf.loadFile(invPath)
			if err != nil || sec != nil {
				t.Fatalf("lenient load: %v %v", sec, err)
			}
			sec, err = prepareMaterial(context.Background(), f, inv, true)
			if len(tc.wantErr) == 0 {
				if err != nil || sec == nil || sec.TLS == nil || sec.Users["app"] == "" {
					t.Fatalf("prepare: %v", err)
				}
				if _, _, err := f.load(invPath); err != nil {
					t.Errorf("load after up: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("prepare generated over what the hosts hold")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if after := listFiles(dir); after != before {
				t.Errorf("refused prepare generated files:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

// listFiles lists the regular files under dir with their sizes.
func listFiles(dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Name() != ".lock" {
			rel, _ := filepath.Rel(dir, p)
			b.WriteString(rel + "\n")
		}
		return nil
	})
	return b.String()
}

// TestCertRows: certs status fails on an expiring certificate, local or
// served (a host still serving an old certificate after the local one was
// renewed), and on one it cannot read.
func TestCertRows(t *testing.T) {
	now := time.Now()
	ca, err := certs.NewCA("test CA", 3650*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	info := func(validity time.Duration) certs.Info {
		leaf, err := ca.Issue(certs.Request{CommonName: "db01", Names: []string{"127.0.0.1"}, Validity: validity}, now)
		if err != nil {
			t.Fatal(err)
		}
		return certs.InfoOf(leaf.Cert)
	}
	year, short := info(365*24*time.Hour), info(2*24*time.Hour) // min_validity is 7 days
	expired := certs.InfoOf(ca.Cert)
	expired.NotAfter = now.Add(-time.Hour)
	tlsCfg := inventory.TLS{RenewBefore: 30 * 24 * time.Hour, MinValidity: 7 * 24 * time.Hour}
	ok := []certs.NamedInfo{{Name: "ca", Info: certs.InfoOf(ca.Cert)}, {Name: "db01", Info: year}, {Name: "client", Info: year}}
	for _, tc := range []struct {
		name   string
		local  []certs.NamedInfo
		served []servedCert
		bad    bool
		state  string // state of the row named "db01" (last one)
	}{
		{"all valid", ok, []servedCert{{Name: "db01", Addr: "127.0.0.1:6380", Info: year}}, false, "ok"},
		{"local certificate expiring", []certs.NamedInfo{ok[0], {Name: "db01", Info: short}}, nil, true, "below min_validity"},
		{"host serves an expiring one", ok, []servedCert{{Name: "db01", Addr: "127.0.0.1:6380", Info: short}}, true, "below min_validity"},
		{"host unreadable", ok, []servedCert{{Name: "db01", Addr: "127.0.0.1:6380", Err: errors.New("x509: certificate signed by unknown authority")}}, true, "error"},
		{"previous CA expired", append(slices.Clone(ok), certs.NamedInfo{Name: "ca-previous", Info: expired}), []servedCert{{Name: "db01", Addr: "a", Info: year}}, false, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, bad := certRows(tc.local, tc.served, tlsCfg, now)
			if bad != tc.bad {
				t.Errorf("bad = %v, want %v: %+v", bad, tc.bad, rows)
			}
			state := ""
			for _, r := range rows {
				if r.Name == "db01" {
					state = r.State
				}
			}
			if state != tc.state {
				t.Errorf("db01: state %q, want %q", state, tc.state)
			}
		})
	}
}
