package templates

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/certs"
	"github.com/hactl/hactl/inventory"
)

// securitySection is a TLS-only inventory with an application user, a
// replica user, a sentinel user and the monitor user of HAProxy's checks.
const securitySection = `
security:
  tls: {enabled: true, plaintext: false, port: 6380}
  acl:
    users:
      - {name: app, keys: ["app:*"], commands: ["+@all", "-@dangerous"], password: {env: APP_PW}}
      - {name: repl, role: replica, password: {env: REPL_PW}}
      - {name: watcher, role: sentinel, password: {env: WATCH_PW}}
      - {name: hap, role: monitor, password: {env: HAP_PW}}
`

var securityEnv = map[string]string{"APP_PW": "app-pw", "REPL_PW": "repl pw", "WATCH_PW": "watch-pw", "HAP_PW": "hap-pw"}

// secured loads the example inventory with securitySection, edited, and
// TLS material from mat (fake PEM when nil).
func secured(t *testing.T, edit func(string) string, mat func(*inventory.Inventory) *inventory.TLSMaterial) (*inventory.Inventory, *inventory.ResolvedSecrets) {
	t.Helper()
	data, err := os.ReadFile("../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data) + securitySection
	if edit != nil {
		src = edit(src)
	}
	inv, _, err := inventory.Parse("inventory.example.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := inventory.ResolveSecrets(inv, func(k string) (string, bool) { v, ok := securityEnv[k]; return v, ok }, fakeSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if mat == nil {
		mat = fakeMaterial
	}
	sec.TLS = mat(inv)
	return inv, sec
}

// fakeMaterial stands in for certificates: rendering passes PEM through.
func fakeMaterial(inv *inventory.Inventory) *inventory.TLSMaterial {
	m := &inventory.TLSMaterial{TrustPEM: []byte("fake CA\n"), Hosts: map[string]inventory.KeyPair{},
		Client: inventory.KeyPair{CertPEM: []byte("fake client cert\n"), KeyPEM: []byte("fake client key\n")}}
	for _, h := range inv.Hosts {
		m.Hosts[h.Name] = inventory.KeyPair{CertPEM: []byte("fake cert " + h.Name + "\n"), KeyPEM: []byte("fake key " + h.Name + "\n")}
	}
	return m
}

func TestRenderSecurityGolden(t *testing.T) {
	redis := func(s string) string { return strings.Replace(s, "engine: hactl", "engine: redis", 1) }
	for _, tt := range []struct {
		variant string
		edit    func(string) string
		host    string
	}{
		{"tls-acl-hactl", nil, "db01"},
		{"tls-acl-hactl", nil, "db02"},
		{"tls-acl-hactl", nil, "lb01"},
		{"tls-acl-redis", redis, "db02"},
	} {
		t.Run(tt.variant+"/"+tt.host, func(t *testing.T) {
			inv, sec := secured(t, tt.edit, nil)
			files, err := Render(inv, sec, Params{Host: tt.host})
			if err != nil {
				t.Fatal(err)
			}
			var manifest bytes.Buffer
			for _, f := range files {
				fmt.Fprintf(&manifest, "%s %#o %s seed=%v runtime=%v\n", f.Path, f.Mode, f.Owner, f.Seed, f.Runtime)
				if strings.HasPrefix(string(f.Content), "fake ") {
					continue // PEM passed through, checked below
				}
				golden(t, tt.variant+"-"+tt.host+"-"+filepath.Base(f.Path), f.Content)
			}
			golden(t, tt.variant+"-"+tt.host+".files", manifest.Bytes())
			for _, f := range files {
				if f.Mode != 0o600 && strings.Contains(f.Path, "/tls/") {
					t.Errorf("%s mode %o", f.Path, f.Mode)
				}
			}
			// With a monitor user the checks never carry the default
			// user's password (hex-encoded in send-binary).
			for _, f := range files {
				if strings.HasSuffix(f.Path, HAProxyConfig) && strings.Contains(string(f.Content), hex.EncodeToString([]byte(sec.RequirePass))) {
					t.Errorf("haproxy.cfg holds requirepass although security.acl has a monitor user")
				}
			}
			for _, pw := range securityEnv {
				for _, f := range files {
					if strings.HasSuffix(f.Path, ACLFileName) && strings.Contains(string(f.Content), pw) {
						t.Errorf("aclfile holds a clear-text password")
					}
				}
			}
		})
	}
}

// TestRenderSecurityErrors: missing material is reported, not rendered
// as empty files.
func TestRenderSecurityErrors(t *testing.T) {
	inv, sec := secured(t, nil, func(inv *inventory.Inventory) *inventory.TLSMaterial {
		m := fakeMaterial(inv)
		delete(m.Hosts, "db02")
		return m
	})
	if _, err := Render(inv, sec, Params{Host: "db02"}); err == nil || !strings.Contains(err.Error(), "no certificate for host db02") {
		t.Errorf("render without db02's certificate: %v", err)
	}
	if _, err := Render(inv, sec, Params{Host: "db01"}); err != nil {
		t.Errorf("render db01: %v", err)
	}
}

// realMaterial issues real certificates for the hosts' addresses.
func realMaterial(t *testing.T) func(*inventory.Inventory) *inventory.TLSMaterial {
	return func(inv *inventory.Inventory) *inventory.TLSMaterial {
		s := certs.Store{Dir: filepath.Join(t.TempDir(), "tls")}
		var subs []certs.Subject
		for _, h := range inv.Hosts {
			subs = append(subs, certs.Subject{Name: h.Name, Names: []string{h.Name, h.Address}})
		}
		if _, err := s.Ensure(subs, 24*time.Hour, time.Hour, time.Now()); err != nil {
			t.Fatal(err)
		}
		m := &inventory.TLSMaterial{Hosts: map[string]inventory.KeyPair{}}
		for _, sub := range subs {
			hm, err := s.Host(sub.Name)
			if err != nil {
				t.Fatal(err)
			}
			m.TrustPEM = hm.TrustPEM
			m.Hosts[sub.Name] = inventory.KeyPair{CertPEM: hm.CertPEM, KeyPEM: hm.KeyPEM}
		}
		c, err := s.Client()
		if err != nil {
			t.Fatal(err)
		}
		m.Client = inventory.KeyPair{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM}
		return m
	}
}

// TestSecureConfigsRunOnRedis runs the TLS-only + ACL files of both
// variants on redis-server 7 (master db01, replica db02 on their own
// loopback addresses, each under its own root) and checks: the replica
// links over TLS as the replica user, the plaintext port is closed, and
// redis-cli --tls with the hactl CA gets each user's rights only.
func TestSecureConfigsRunOnRedis(t *testing.T) {
	server := need(t, "/usr/bin/redis-server")
	cli := need(t, "/usr/bin/redis-cli")
	for _, engine := range []string{"hactl", "redis"} {
		t.Run(engine, func(t *testing.T) {
			port, tport, sport := freePort(t), freePort(t), freePort(t)
			inv, sec := secured(t, func(s string) string {
				s = strings.ReplaceAll(s, "192.168.69.8", "127.0.0.8")
				s = strings.Replace(s, "engine: hactl", "engine: "+engine, 1)
				s = strings.Replace(s, "server:\n  port: 6379", "server:\n  port: "+strconv.Itoa(port), 1)
				s = strings.Replace(s, "port: 26379", "port: "+strconv.Itoa(sport), 1)
				return strings.Replace(s, "port: 6380", "port: "+strconv.Itoa(tport), 1)
			}, realMaterial(t))
			conf := EngineConfig
			if engine == "redis" {
				conf = RedisConfig
			}
			for _, name := range []string{"db01", "db02"} {
				root := t.TempDir()
				files, err := Render(inv, sec, Params{Host: name, Root: root})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					os.MkdirAll(filepath.Dir(f.Path), 0o700)
					if err := os.WriteFile(f.Path, f.Content, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				for _, d := range []string{EngineDataDir, RedisDataDir, "/run/redis", "/var/log/redis"} {
					os.MkdirAll(root+d, 0o700)
				}
				h, _ := inv.Host(name)
				args := []string{root + conf, "--bind", h.Address}
				if engine == "hactl" {
					args = append(args, "--supervised", "no")
				} else {
					args = append(args, "--logfile", "")
				}
				start(t, server, args...)
				if name == "db01" {
					writeClient(t, sec, root)
				}
			}
			dir := t.TempDir()
			writeClient(t, sec, dir)
			rcli := func(host, user, pw string, args ...string) string {
				c := exec.Command(cli, append([]string{"--tls", "--cacert", filepath.Join(dir, "ca.pem"), "--cert", filepath.Join(dir, "c.pem"),
					"--key", filepath.Join(dir, "c.key"), "-h", host, "-p", strconv.Itoa(tport), "--user", user, "--no-auth-warning"}, args...)...)
				c.Env = append(os.Environ(), "REDISCLI_AUTH="+pw)
				out, err := c.CombinedOutput()
				if err != nil {
					return fmt.Sprintf("%s %v", out, err)
				}
				return strings.TrimSpace(string(out))
			}
			eventually(t, 10*time.Second, "replica linked over TLS as the replica user", func() (bool, string) {
				got := rcli("127.0.0.82", "default", "example-requirepass", "INFO", "replication")
				return strings.Contains(got, "master_link_status:up"), got
			})
			for _, tc := range []struct {
				name, user, pw string
				args           []string
				want           string
			}{
				{"app in its keys", "app", "app-pw", []string{"SET", "app:1", "v"}, "OK"},
				{"app outside its keys", "app", "app-pw", []string{"SET", "other", "v"}, "NOPERM"},
				{"app dangerous", "app", "app-pw", []string{"FLUSHALL"}, "NOPERM"},
				{"replica user FLUSHALL", "repl", "repl pw", []string{"FLUSHALL"}, "NOPERM"},
				{"replica user GET", "repl", "repl pw", []string{"GET", "app:1"}, "NOPERM"},
				{"sentinel user INFO", "watcher", "watch-pw", []string{"ROLE"}, "master"},
				{"sentinel user FLUSHALL", "watcher", "watch-pw", []string{"FLUSHALL"}, "NOPERM"},
				// The monitor user may send what HAProxy's checks send, nothing else.
				{"monitor user PING", "hap", "hap-pw", []string{"PING"}, "PONG"},
				{"monitor user INFO", "hap", "hap-pw", []string{"INFO", "replication"}, "role:master"},
				{"monitor user QUIT", "hap", "hap-pw", []string{"QUIT"}, "OK"},
				{"monitor user GET", "hap", "hap-pw", []string{"GET", "app:1"}, "NOPERM"},
				{"monitor user SET", "hap", "hap-pw", []string{"SET", "app:1", "v"}, "NOPERM"},
				{"monitor user CONFIG", "hap", "hap-pw", []string{"CONFIG", "GET", "maxmemory"}, "NOPERM"},
				{"monitor user FLUSHALL", "hap", "hap-pw", []string{"FLUSHALL"}, "NOPERM"},
				{"wrong password", "app", "nope", []string{"PING"}, "WRONGPASS"},
			} {
				if got := rcli("127.0.0.81", tc.user, tc.pw, tc.args...); !strings.Contains(got, tc.want) {
					t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
				}
			}
			// Nothing listens on the plaintext port.
			if c, err := net.DialTimeout("tcp", "127.0.0.81:"+strconv.Itoa(port), time.Second); err == nil {
				c.Close()
				t.Error("plaintext port open with plaintext: false")
			}
		})
	}
}

// writeClient writes hactl's client certificate and the CA to dir.
func writeClient(t *testing.T, sec *inventory.ResolvedSecrets, dir string) {
	t.Helper()
	for name, b := range map[string][]byte{"ca.pem": sec.TLS.TrustPEM, "c.pem": sec.TLS.Client.CertPEM, "c.key": sec.TLS.Client.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSecureHAProxyConfig checks the TLS haproxy.cfg (check-ssl, ca-file,
// crt, tcp-check connect ssl) with haproxy -c and real certificate files.
func TestSecureHAProxyConfig(t *testing.T) {
	haproxy := need(t, "/usr/sbin/haproxy")
	inv, sec := secured(t, nil, realMaterial(t))
	root := t.TempDir()
	files, err := Render(inv, sec, Params{Host: "lb01", Root: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		os.MkdirAll(filepath.Dir(f.Path), 0o700)
		if err := os.WriteFile(f.Path, f.Content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(haproxy, "-c", "-f", root+HAProxyConfig).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}
