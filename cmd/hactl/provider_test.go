package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// vagrantInventory writes dir/inventory.yaml with provider vagrant, the
// VMs at 127.0.0.201-203, and its password file.
func vagrantInventory(t *testing.T, dir string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "requirepass"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "inventory.yaml")
	src := "provider: vagrant\nvagrant: {timeout: 10s, addresses: {db01: 127.0.0.201, db02: 127.0.0.202, db03: 127.0.0.203}}\nsecrets:\n  requirepass: {file: requirepass}\n"
	if err := os.WriteFile(inv, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return inv
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
	inv := vagrantInventory(t, dir)

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

// TestLoadWritten: the commands that work on the hosts, given an
// inventory whose provider makes them, say to run hactl up first until it
// has, then use the hosts file it wrote; inventory check keeps checking
// the inventory as written.
func TestLoadWritten(t *testing.T) {
	dir := t.TempDir()
	fakeVagrantCmd(t, filepath.Join(dir, "calls"))
	inv := vagrantInventory(t, dir)
	hostsFile := filepath.Join(dir, "inventory.hosts.yaml")
	commands := [][]string{{"verify"}, {"status"}, {"failover"}, {"heal"}, {"certs", "status"}, {"render"}}

	for _, c := range commands {
		_, errOut, code := hactl(t, append(c, "-i", inv)...)
		if code != ExitError || !strings.Contains(errOut, "run hactl up -i "+inv+" first (it writes "+hostsFile+")") {
			t.Errorf("%v before hactl up: exit %d, want 1 saying to run hactl up\n%s", c, code, errOut)
		}
	}
	if _, _, err := newTestFactory().load(inv); !errors.Is(err, errNotUp) {
		t.Errorf("load before hactl up: %v, want errNotUp", err)
	}
	if out, errOut, code := hactl(t, "inventory", "check", "-i", inv); code != ExitOK || !strings.Contains(out, "0 hosts, engine hactl, provider vagrant") {
		t.Errorf("inventory check: exit %d\n%s%s", code, out, errOut)
	}

	if _, errOut, code := hactl(t, "up", "--dry-run", "-i", inv); !strings.Contains(errOut, "written to "+hostsFile) {
		t.Fatalf("up --dry-run: exit %d\n%s", code, errOut)
	}
	f := newTestFactory()
	got, _, err := f.load(inv)
	if err != nil {
		t.Fatalf("load after hactl up: %v", err)
	}
	if got.File != hostsFile || got.Provider != inventory.ProviderSSH || len(got.Hosts) != 3 || got.Hosts[2].Address != "127.0.0.203" {
		t.Errorf("load after hactl up: %s, provider %s, hosts %+v", got.File, got.Provider, got.Hosts)
	}
	if errOut := f.IO.ErrOut.(*strings.Builder).String(); !strings.Contains(errOut, "hosts: "+hostsFile+" (written by hactl up for "+inv+")") || strings.Contains(errOut, "changed after") {
		t.Errorf("load after hactl up: stderr\n%s", errOut)
	}
	for _, c := range commands {
		// The hosts' addresses are loopback with nothing on them and a
		// key that does not exist: every command fails, on the hosts.
		_, errOut, _ := hactl(t, append(c, "-i", inv)...)
		if !strings.Contains(errOut, "hosts: "+hostsFile) || strings.Contains(errOut, "run hactl up") {
			t.Errorf("%v after hactl up: want the hosts file used\n%s", c, errOut)
		}
	}

	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(inv, later, later); err != nil {
		t.Fatal(err)
	}
	f = newTestFactory()
	if _, _, err := f.load(inv); err != nil {
		t.Fatal(err)
	}
	if errOut := f.IO.ErrOut.(*strings.Builder).String(); !strings.Contains(errOut, "warning: "+inv+" changed after hactl up wrote "+hostsFile) {
		t.Errorf("inventory newer than its hosts file: stderr\n%s", errOut)
	}
}

// TestLoadWrittenPulumiLab: for the pulumi lab target the hosts are the
// lab's inventory, in the state directory; before hactl up there is none.
func TestLoadWrittenPulumiLab(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(filepath.Join(dir, "requirepass"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inv, []byte("provider: pulumi\npulumi: {target: lab, state_dir: st}\nsecrets:\n  requirepass: {file: requirepass}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := newTestFactory().load(inv)
	if !errors.Is(err, errNotUp) || !strings.Contains(err.Error(), "the lab's inventory in "+filepath.Join(dir, "st", "lab")) {
		t.Errorf("load before hactl up: %v, want errNotUp naming the lab's directory", err)
	}
}

// newTestFactory is the production factory writing into buffers.
func newTestFactory() *Factory {
	f := NewFactory()
	f.IO = &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}
	return f
}
