package vagrant

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/inventory"
)

// virtualbox is `vagrant ssh-config` of vagrant/Vagrantfile on VirtualBox
// (Vagrant 2.3 template: NAT port forwards on 127.0.0.1, one key per VM,
// a blank line after each IdentityFile and each block).
const virtualbox = `Host db01
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/ann/hactl/vagrant/.vagrant/machines/db01/virtualbox/private_key

  IdentitiesOnly yes
  LogLevel FATAL

Host db02
  HostName 127.0.0.1
  User vagrant
  Port 2200
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile "/home/ann/my vms/.vagrant/machines/db02/virtualbox/private_key"

  IdentitiesOnly yes
  LogLevel FATAL

`

// libvirt is the same on vagrant-libvirt: the VM's management address on
// port 22, and a box whose host key Vagrant checks.
const libvirt = `Host db01
  HostName 192.168.121.45
  User vagrant
  Port 22
  PasswordAuthentication no

  IdentityFile /home/ann/hactl/vagrant/.vagrant/machines/db01/libvirt/private_key

  IdentityFile /home/ann/.vagrant.d/insecure_private_key

  IdentitiesOnly yes
  LogLevel FATAL
  ForwardAgent yes
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Host
		err  string
	}{
		{name: "virtualbox, two hosts", in: virtualbox, want: []Host{
			{Name: "db01", HostName: "127.0.0.1", User: "vagrant", Port: 2222, IdentityFile: "/home/ann/hactl/vagrant/.vagrant/machines/db01/virtualbox/private_key", Line: 1},
			{Name: "db02", HostName: "127.0.0.1", User: "vagrant", Port: 2200, IdentityFile: "/home/ann/my vms/.vagrant/machines/db02/virtualbox/private_key", Line: 14},
		}},
		{name: "libvirt, first key, host key checked", in: libvirt, want: []Host{
			{Name: "db01", HostName: "192.168.121.45", User: "vagrant", Port: 22, IdentityFile: "/home/ann/hactl/vagrant/.vagrant/machines/db01/libvirt/private_key", StrictHostKeyChecking: true, Line: 1},
		}},
		{name: "key=value form", in: "Host=db03\nHostName=10.0.0.3\nUser=vagrant\nIdentityFile=/k\n", want: []Host{
			{Name: "db03", HostName: "10.0.0.3", User: "vagrant", Port: 22, IdentityFile: "/k", StrictHostKeyChecking: true, Line: 1},
		}},
		{name: "empty", in: "\n\n", err: "no Host entries (are the VMs created? vagrant status)"},
		{name: "missing fields", in: "Host db01\n  Port 2222\nHost db02\n  HostName 127.0.0.1\n  User vagrant\n",
			err: "line 1: host db01 has no HostName\nline 1: host db01 has no User\nline 1: host db01 has no IdentityFile\nline 3: host db02 has no IdentityFile"},
		{name: "garbage", in: "The provider for this Vagrant-managed machine is reporting that it\n",
			err: `line 1: "The provider for this Vagrant-managed ma..." is not ssh-config output`},
		{name: "not key value", in: "Host db01\n  -\n  HostName h\n  User u\n  IdentityFile k\n", err: `line 2: "-" is not a keyword and a value`},
		{name: "before host and bad port", in: "User vagrant\nHost db01\n HostName h\n User u\n IdentityFile k\n Port 70000\n",
			err: "line 1: User before the first Host\nline 6: host db01: port \"70000\" is not a port number"},
		{name: "patterns and duplicates", in: "Host db*\n HostName h\n User u\n IdentityFile k\nHost db*\n HostName h\n User u\n IdentityFile k\n",
			err: "line 1: Host \"db*\": want one VM name\nline 5: Host \"db*\": want one VM name\nline 5: host db* already at line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != "vagrant ssh-config: "+tt.err {
					t.Errorf("error:\n%v\nwant:\nvagrant ssh-config: %s", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestProvided(t *testing.T) {
	hosts, err := Parse([]byte(virtualbox + strings.ReplaceAll(libvirt, "db01", "db03")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Provided(hosts, "192.168.56", map[string]string{"db03": "192.168.121.45"})
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.ProvidedHost{
		{Name: "db01", Address: "192.168.56.81", User: "vagrant", Port: 22, Key: hosts[0].IdentityFile, Insecure: true},
		{Name: "db02", Address: "192.168.56.82", User: "vagrant", Port: 22, Key: hosts[1].IdentityFile, Insecure: true},
		{Name: "db03", Address: "192.168.121.45", User: "vagrant", Port: 22, Key: hosts[2].IdentityFile},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := Provided(hosts, "", nil); err == nil || !strings.Contains(err.Error(), "vagrant.addresses") {
		t.Errorf("no network and no addresses: %v", err)
	}
}

// fakeVagrant puts a vagrant script running body first on PATH.
func fakeVagrant(t *testing.T, body string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vagrant"), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestSSHConfigCommand(t *testing.T) {
	dir := t.TempDir()
	fakeVagrant(t, `[ "$1" = ssh-config ] && [ "$VAGRANT_CHECKPOINT_DISABLE" = 1 ] && pwd && exit 0; exit 3`)
	out, err := SSHConfig(context.Background(), dir, 5*time.Second)
	if err != nil || strings.TrimSpace(string(out)) != dir {
		t.Errorf("ssh-config ran as %q, %v; want in %s", out, err, dir)
	}

	fakeVagrant(t, `echo "The provider for this Vagrant-managed machine is reporting that it is not yet ready for SSH." >&2; exit 1`)
	_, err = SSHConfig(context.Background(), dir, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not yet ready for SSH") || !strings.Contains(err.Error(), "hactl up --vagrant-up") {
		t.Errorf("VMs not up: %v", err)
	}

	fakeVagrant(t, `exec sleep 10`)
	start := time.Now()
	_, err = SSHConfig(context.Background(), dir, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out after 200ms") || time.Since(start) > 5*time.Second {
		t.Errorf("hanging vagrant: %v after %v", err, time.Since(start))
	}

	// A child that keeps the output pipe open after vagrant is killed
	// (ruby, ssh): the process group is killed and the timeout returns.
	fakeVagrant(t, `sleep 30 & sleep 30`)
	start = time.Now()
	err = Up(context.Background(), dir, 200*time.Millisecond, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "timed out after 200ms") || time.Since(start) > 10*time.Second {
		t.Errorf("vagrant with a child holding the pipe: %v after %v", err, time.Since(start))
	}

	t.Setenv("PATH", t.TempDir())
	if _, err := SSHConfig(context.Background(), dir, time.Second); err == nil || !strings.Contains(err.Error(), "apt-get install vagrant") {
		t.Errorf("no vagrant: %v", err)
	}
}

// repoVagrantfile is vagrant/Vagrantfile.
func repoVagrantfile(t *testing.T) []byte {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "vagrant", "Vagrantfile"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVagrantfileValidates runs the real vagrant (Debian's package) on
// vagrant/Vagrantfile, copied to a temporary directory: `vagrant validate`
// accepts it, a bad knob is refused, and `vagrant ssh-config` without
// created VMs gives hactl's hint. Nothing is downloaded.
func TestVagrantfileValidates(t *testing.T) {
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Skip("vagrant not on PATH (Debian: apt-get install vagrant)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Vagrantfile"), repoVagrantfile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAGRANT_HOME", filepath.Join(dir, "vagrant.d"))
	ctx := context.Background()
	out, err := run(ctx, dir, time.Minute, nil, "validate", "--ignore-provider")
	if err != nil || !strings.Contains(string(out), "validated successfully") || !strings.Contains(string(out), "db03") {
		t.Errorf("vagrant validate: %v\n%s", err, out)
	}
	t.Setenv("HACTL_VAGRANT_NODES", "12")
	if _, err := run(ctx, dir, time.Minute, nil, "validate", "--ignore-provider"); err == nil || !strings.Contains(err.Error(), "must be 1..9") {
		t.Errorf("12 nodes: %v, want the Vagrantfile's refusal", err)
	}
	t.Setenv("HACTL_VAGRANT_NODES", "3")
	if _, err := SSHConfig(ctx, dir, time.Minute); err == nil || !strings.Contains(err.Error(), "vagrant up") {
		t.Errorf("ssh-config without VMs: %v, want an error with the hint", err)
	}
}
