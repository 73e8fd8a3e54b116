package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hactl/hactl/inventory"
)

// fakeVagrantCmd puts a vagrant script first on PATH that appends its
// arguments to calls and prints ssh-config for db01-db03.
func fakeVagrantCmd(t *testing.T, calls string) {
	dir := t.TempDir()
	var cfg strings.Builder
	for _, n := range []string{"db01", "db02", "db03"} {
		cfg.WriteString("Host " + n + "\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  PasswordAuthentication no\n\n  IdentityFile /nonexistent/" + n + "/private_key\n\n  IdentitiesOnly yes\n  LogLevel FATAL\n\n")
	}
	script := "#!/bin/sh\necho \"$*\" >> " + calls + "\n[ \"$1\" = ssh-config ] && cat <<'EOF'\n" + cfg.String() + "EOF\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "vagrant"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestVagrantProvider runs hactl up with provider vagrant against a
// stand-in vagrant: the hosts land in inventory.hosts.yaml at their
// private addresses with Vagrant's user and key, vagrant up runs only with
// --vagrant-up, and the install then fails on the missing key (nothing is
// reached beyond this machine: the addresses are loopback).
func TestVagrantProvider(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fakeVagrantCmd(t, calls)
	if err := os.WriteFile(filepath.Join(dir, "requirepass"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "inventory.yaml")
	src := "provider: vagrant\nvagrant: {timeout: 10s, addresses: {db01: 127.0.0.201, db02: 127.0.0.202, db03: 127.0.0.203}}\nsecrets:\n  requirepass: {file: requirepass}\n"
	if err := os.WriteFile(inv, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	_, errOut, code := hactl(t, "up", "--dry-run", "-i", inv)
	hostsFile := filepath.Join(dir, "inventory.hosts.yaml")
	if !strings.Contains(errOut, "hosts: 3 from the vagrant ssh-config in "+dir+", written to "+hostsFile) {
		t.Errorf("up --dry-run: exit %d\n%s", code, errOut)
	}
	got, warns, err := inventory.Load(hostsFile)
	if err != nil {
		t.Fatalf("hosts file: %v", err)
	}
	if len(warns) != 3 {
		t.Errorf("warnings %v, want one unchecked host key per host", warns)
	}
	if got.Provider != inventory.ProviderSSH || len(got.Hosts) != 3 {
		t.Fatalf("hosts file: provider %s, %d hosts", got.Provider, len(got.Hosts))
	}
	if h := got.Hosts[1]; h.Address != "127.0.0.202" || h.SSH.User != "vagrant" || h.SSH.Port != 22 ||
		h.SSH.Key != "/nonexistent/db02/private_key" || h.SSH.StrictHostKeyChecking {
		t.Errorf("db02 %+v", h)
	}

	_, errOut, code = hactl(t, "up", "--vagrant-up", "-i", inv)
	if code == ExitOK || !strings.Contains(errOut, "/nonexistent/db01/private_key") {
		t.Errorf("up with missing keys: exit %d, want the key named\n%s", code, errOut)
	}
	b, _ := os.ReadFile(calls)
	if string(b) != "ssh-config\nup\nssh-config\n" {
		t.Errorf("vagrant calls %q: want ssh-config (dry run), then up and ssh-config (--vagrant-up)", b)
	}

	_, errOut, code = hactl(t, "down", "--destroy", "-i", inv)
	if code == ExitOK || !strings.Contains(errOut, "vagrant destroy -f in "+dir) {
		t.Errorf("down --destroy on vagrant: exit %d\n%s", code, errOut)
	}
	_, errOut, code = hactl(t, "down", "--destroy", "--dry-run", "-i", inv)
	if code == ExitOK || !strings.Contains(errOut, "--destroy with --dry-run") {
		t.Errorf("down --destroy --dry-run: exit %d\n%s", code, errOut)
	}
}
