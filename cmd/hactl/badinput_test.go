package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/provision"
)

// testSSHD is a real sshd the test starts on 127.0.14.81-83 (one process,
// three listen addresses, one port): root logins with a generated key,
// its own host key. Connections to 127.0.14.83 run through a shim that
// puts a fake uname (aarch64) first in PATH: a host of another
// architecture.
type testSSHD struct {
	dir, key, otherKey, knownHosts string
	port                           int
}

const sshdSubnet = "127.0.14"

func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sshd needs root")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Skip("openssh-server not installed (apt-get install openssh-server)")
	}
	d := &testSSHD{dir: t.TempDir()}
	keygen := func(name string) string {
		p := filepath.Join(d.dir, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		return p
	}
	hostKey := keygen("host_key")
	d.key, d.otherKey = keygen("id_ed25519"), keygen("other_key")
	mustWrite(t, filepath.Join(d.dir, "authorized_keys"), readFile(t, d.key+".pub"), 0o600)
	ln, err := net.Listen("tcp", sshdSubnet+".81:0")
	if err != nil {
		t.Fatal(err)
	}
	d.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var kh strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&kh, "[%s.8%d]:%d %s", sshdSubnet, i, d.port, readFile(t, hostKey+".pub"))
	}
	d.knownHosts = filepath.Join(d.dir, "known_hosts")
	mustWrite(t, d.knownHosts, kh.String(), 0o600)
	fake := filepath.Join(d.dir, "fakebin")
	mustWrite(t, filepath.Join(fake, "uname"), "#!/bin/sh\nif [ \"$1\" = -m ]; then echo aarch64; else exec /bin/uname \"$@\"; fi\n", 0o755)
	mustWrite(t, filepath.Join(d.dir, "shim"), "#!/bin/sh\nPATH="+fake+":$PATH exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n", 0o755)
	cfg := fmt.Sprintf(`ListenAddress %[2]s.81:%[3]d
ListenAddress %[2]s.82:%[3]d
ListenAddress %[2]s.83:%[3]d
HostKey %[1]s/host_key
PidFile %[1]s/sshd.pid
AuthorizedKeysFile %[1]s/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel ERROR
Match LocalAddress %[2]s.83
  ForceCommand %[1]s/shim
`, d.dir, sshdSubnet, d.port)
	mustWrite(t, filepath.Join(d.dir, "sshd_config"), cfg, 0o600)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(d.dir, "sshd_config"))
	cmd.Stderr = &testLog{t: t}
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for i := 1; i <= 3; i++ {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("%s.8%d:%d", sshdSubnet, i, d.port), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sshd does not listen: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return d
}

// testLog writes a child's stderr to the test log.
type testLog struct {
	mu sync.Mutex
	t  *testing.T
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("sshd: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

func mustWrite(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inventory writes an inventory for db01-03 on the test sshd; extra is
// YAML for db02's ssh block (the bad input).
func (d *testSSHD) inventory(t *testing.T, db02 string) string {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "secrets", "requirepass"), "s3cret-password\n", 0o600)
	var hosts strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&hosts, "  - name: db0%d\n    address: %s.8%d\n", i, sshdSubnet, i)
		if i == 2 && db02 != "" {
			fmt.Fprintf(&hosts, "    ssh:\n%s", db02)
		}
	}
	inv := fmt.Sprintf(`service: mymaster
engine: hactl
provider: ssh
master: db01
ssh:
  user: root
  port: %d
  key: %s
  known_hosts: %s
hosts:
%s
server:
  port: 6379
sentinel:
  port: 26379
  quorum: 2
secrets:
  requirepass: {file: secrets/requirepass}
  masterauth: {file: secrets/requirepass}
`, d.port, d.key, d.knownHosts, hosts.String())
	p := filepath.Join(dir, "inventory.yaml")
	mustWrite(t, p, inv, 0o600)
	return p
}

// sandboxManager stands in for systemd on the SSH test hosts: it records
// restarts and runs nothing.
type sandboxManager struct {
	mu       sync.Mutex
	restarts []string
}

func (m *sandboxManager) Running(context.Context, string) (bool, error) { return false, nil }
func (m *sandboxManager) Restart(_ context.Context, name string, _ []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.restarts = append(m.restarts, name)
	return nil
}
func (m *sandboxManager) Stop(context.Context, string) error { return nil }

// sandboxed runs hactl with the production SSH transport, but every host's
// files go under roots/NAME on this machine (Processes layout with a
// recording manager): the real sshd runs as root here, and a test must not
// install into this machine's /etc.
func sandboxed(t *testing.T, roots string, m *sandboxManager, args ...string) (string, string, ExitCode) {
	t.Helper()
	f := NewFactory()
	f.Binaries = func(context.Context, string) (map[string][]byte, error) {
		return map[string][]byte{"hactl-engine": []byte("engine"), "hactl-sentinel": []byte("sentinel")}, nil
	}
	f.Connect = func(ctx context.Context, inv *inventory.Inventory, h *inventory.Host) (provision.Transport, provision.Layout, error) {
		tr, _, err := connect(ctx, inv, h)
		return tr, provision.Layout{Root: filepath.Join(roots, h.Name), Services: provision.Processes, Manager: m}, err
	}
	return runCaptured(f, args)
}

// TestBadInputOverSSH runs hactl up and down against a real sshd with one
// bad host each time: the error names the host and the step, and the other
// hosts are left consistent (nothing half-installed).
func TestBadInputOverSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd")
	}
	d := startSSHD(t)
	free, err := net.Listen("tcp", sshdSubnet+".82:0") // a port nobody listens on once closed
	if err != nil {
		t.Fatal(err)
	}
	closedPort := free.Addr().(*net.TCPAddr).Port
	free.Close()
	otherHostKey := filepath.Join(d.dir, "other_known_hosts")
	mustWrite(t, otherHostKey, fmt.Sprintf("[%s.82]:%d %s", sshdSubnet, d.port, readFile(t, d.otherKey+".pub")), 0o600)

	t.Run("good inventory plans every host over ssh", func(t *testing.T) {
		inv := d.inventory(t, "")
		out, errOut, code := sandboxed(t, t.TempDir(), &sandboxManager{}, "up", "-i", inv, "--dry-run", "-o", "json")
		var o upOutput
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("exit %d: %v\n%s\n%s", code, err, out, errOut)
		}
		// db03 answers aarch64 (the shim): refused, the two others planned.
		if code != ExitError || o.Hosts[0].Error != "" || len(o.Hosts[0].Steps) == 0 || o.Hosts[1].Error != "" || len(o.Hosts[1].Steps) == 0 {
			t.Fatalf("exit %d: %+v\n%s", code, o.Hosts, errOut)
		}
	})

	for _, tc := range []struct {
		name string
		db02 string // db02's ssh block
		want []string
	}{
		{"unreachable host", fmt.Sprintf("      port: %d\n", closedPort),
			[]string{"connect: db02: ssh root@" + sshdSubnet + ".82:", "connection refused"}},
		{"wrong ssh key", "      key: " + d.otherKey + "\n",
			[]string{"connect: db02: ssh root@" + sshdSubnet + ".82:", "unable to authenticate"}},
		{"host key mismatch", "      known_hosts: " + otherHostKey + "\n",
			[]string{"connect: db02: ssh root@" + sshdSubnet + ".82:", "key mismatch"}},
		{"unreadable key file", "      key: " + filepath.Join(d.dir, "missing_key") + "\n",
			[]string{"connect: db02: ssh auth: key ", "missing_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := d.inventory(t, tc.db02)
			roots, m := t.TempDir(), &sandboxManager{}
			start := time.Now()
			_, errOut, code := sandboxed(t, roots, m, "up", "-i", inv)
			if code != ExitError {
				t.Fatalf("up: exit %d, want 1\n%s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("up: stderr lacks %q:\n%s", w, errOut)
				}
			}
			t.Logf("up: %s", strings.TrimSpace(errOut))
			if time.Since(start) > 15*time.Second {
				t.Errorf("up took %s to fail", time.Since(start))
			}
			// Consistent: up stops before changing any host when one cannot
			// be reached, so no host is half-installed.
			if entries, _ := os.ReadDir(roots); len(entries) != 0 || len(m.restarts) != 0 {
				t.Errorf("up changed hosts despite the bad one: %v, restarts %v", entries, m.restarts)
			}
			// down goes on with the hosts it can reach and names the bad one.
			out, errOut, code := sandboxed(t, roots, m, "down", "-i", inv, "-o", "json")
			var o upOutput
			if err := json.Unmarshal([]byte(out), &o); err != nil || code != ExitError {
				t.Fatalf("down: exit %d, %v\n%s\n%s", code, err, out, errOut)
			}
			for _, h := range o.Hosts {
				if (h.Error != "") != (h.Host == "db02") || (h.Host == "db02" && !strings.Contains(h.Error, tc.want[0])) {
					t.Errorf("down: host %s error %q", h.Host, h.Error)
				}
			}
		})
	}

	t.Run("missing binary for the architecture", func(t *testing.T) {
		inv := d.inventory(t, "")
		roots, m := t.TempDir(), &sandboxManager{}
		out, errOut, code := sandboxed(t, roots, m, "up", "-i", inv, "--dry-run")
		if code != ExitError {
			t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
		}
		for _, w := range []string{"db03: host is linux/arm64", "hactl-engine-linux-arm64"} {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("output lacks %q:\n%s\n%s", w, out, errOut)
			}
		}
		if entries, _ := os.ReadDir(roots); len(entries) != 0 {
			t.Errorf("--dry-run wrote %v", entries)
		}
	})
}
