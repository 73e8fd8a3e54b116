package pulumi

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdk "github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// cloudConfig is the part of the user data hactl writes.
type cloudConfig struct {
	DeleteKeys *bool             `yaml:"ssh_deletekeys"`
	Keys       map[string]string `yaml:"ssh_keys"`
}

// checkHostKeys checks the machines' user data (a secret cloud-config
// installing an ed25519 host key, one per machine, changes ignored) and
// that hosts.KnownHosts accepts exactly that key at each host's address.
func checkHostKeys(t *testing.T, machines []sdk.MockResourceArgs, hosts Hosts) {
	t.Helper()
	if len(machines) != len(hosts.Hosts) || len(machines) == 0 {
		t.Fatalf("%d machines, %d hosts", len(machines), len(hosts.Hosts))
	}
	cb, err := knownhosts.New(hosts.KnownHosts)
	if err != nil {
		t.Fatalf("known_hosts %q: %v", hosts.KnownHosts, err)
	}
	if b, _ := os.ReadFile(hosts.KnownHosts); strings.Contains(string(b), "PRIVATE") {
		t.Errorf("known_hosts holds a private key:\n%s", b)
	}
	pubs := map[string]ssh.PublicKey{}
	for _, m := range machines {
		ud := m.Inputs["userData"]
		if !ud.IsSecret() {
			t.Errorf("%s: userData %v is not a secret", m.Name, ud.TypeString())
			continue
		}
		text := ud.SecretValue().Element.StringValue()
		if !strings.HasPrefix(text, "#cloud-config\n") {
			t.Errorf("%s: user data does not start with #cloud-config:\n%s", m.Name, text)
		}
		var cc cloudConfig
		if err := yaml.Unmarshal([]byte(text), &cc); err != nil {
			t.Fatalf("%s: user data: %v\n%s", m.Name, err, text)
		}
		if cc.DeleteKeys == nil || !*cc.DeleteKeys || len(cc.Keys) != 2 {
			t.Errorf("%s: ssh_deletekeys %v, ssh_keys %v: want true and exactly ed25519_private/public", m.Name, cc.DeleteKeys, slices.Sorted(maps.Keys(cc.Keys)))
		}
		raw, err := ssh.ParseRawPrivateKey([]byte(cc.Keys["ed25519_private"]))
		if err != nil {
			t.Fatalf("%s: ed25519_private: %v", m.Name, err)
		}
		priv, ok := raw.(*ed25519.PrivateKey)
		if !ok {
			t.Fatalf("%s: private key %T", m.Name, raw)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(cc.Keys["ed25519_public"]))
		if err != nil {
			t.Fatalf("%s: ed25519_public: %v", m.Name, err)
		}
		if want, _ := ssh.NewPublicKey(priv.Public()); string(want.Marshal()) != string(pub.Marshal()) {
			t.Errorf("%s: ed25519_public is not the private key's", m.Name)
		}
		if !slices.Contains(m.RegisterRPC.GetIgnoreChanges(), "userData") {
			t.Errorf("%s: ignoreChanges %v: a user data change would replace the machine", m.Name, m.RegisterRPC.GetIgnoreChanges())
		}
		pubs[m.Name] = pub
	}
	for _, h := range hosts.Hosts {
		addr := net.JoinHostPort(h.Address, "22")
		tcp := &net.TCPAddr{IP: net.ParseIP(h.Address), Port: 22}
		if err := cb(addr, tcp, pubs[h.Name]); err != nil {
			t.Errorf("known_hosts refuses %s's own key at %s: %v", h.Name, addr, err)
		}
		for other, pub := range pubs {
			if other != h.Name && cb(addr, tcp, pub) == nil {
				t.Errorf("known_hosts accepts %s's key at %s (%s)", other, addr, h.Name)
			}
		}
	}
	for _, p := range hosts.Provided() {
		if p.KnownHosts != hosts.KnownHosts {
			t.Errorf("provided host %s: known_hosts %q, want %q", p.Name, p.KnownHosts, hosts.KnownHosts)
		}
	}
}

func TestEnsureHostKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hostkeys")
	keys, err := ensureHostKeys(dir, []string{"db01", "db02"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys["db01"].Public == keys["db02"].Public || !strings.HasPrefix(keys["db01"].Public, "ssh-ed25519 ") {
		t.Fatalf("keys %v: want two different ed25519 keys", keys)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {filepath.Join(dir, "db01"), 0o600}} {
		if fi, err := os.Stat(p.path); err != nil || fi.Mode().Perm() != p.mode {
			t.Errorf("%s: %v %v, want mode %o", p.path, fi.Mode().Perm(), err, p.mode)
		}
	}
	again, err := ensureHostKeys(dir, []string{"db01", "db02", "db03"})
	if err != nil {
		t.Fatal(err)
	}
	if again["db01"] != keys["db01"] || again["db02"] != keys["db02"] || again["db03"].Public == "" {
		t.Errorf("second run changed the keys or made no db03: %v -> %v", keys, again)
	}
	for _, s := range []string{fmt.Sprint(keys), fmt.Sprintf("%+v", keys["db01"]), fmt.Sprintf("%#v", keys["db01"])} {
		if strings.Contains(s, "PRIVATE") {
			t.Errorf("formatting shows the private key: %s", s)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "db02"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureHostKeys(dir, []string{"db02"}); err == nil || !strings.Contains(err.Error(), "want 0600") {
		t.Errorf("world-readable key: %v, want refused", err)
	}
}

func TestWriteKnownHosts(t *testing.T) {
	keys, err := ensureHostKeys(t.TempDir(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	hosts := []Host{{Name: "a", Address: "203.0.113.5"}, {Name: "b", Address: "2001:db8::7", SSHPort: 2222}}
	if err := writeKnownHosts(file, hosts, keys); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	want := []string{"203.0.113.5 " + keys["a"].Public, "[2001:db8::7]:2222 " + keys["b"].Public}
	if !slices.Equal(lines, want) {
		t.Errorf("known_hosts lines\n%q\nwant\n%q", lines, want)
	}
	if err := writeKnownHosts(file, append(hosts, Host{Name: "c", Address: "203.0.113.9"}), keys); err == nil || !strings.Contains(err.Error(), "host c has no host key") {
		t.Errorf("host without key: %v", err)
	}
}

func TestProgramNeedsHostKeys(t *testing.T) {
	sp, err := cloudSpec(t, TargetAWS).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	err = sdk.RunErr(func(ctx *sdk.Context) error {
		_, err := build(ctx, sp)
		return err
	}, sdk.WithMocks("hactl", "test", &mocks{}))
	if err == nil || !strings.Contains(err.Error(), "no ssh host key") {
		t.Errorf("program without host keys: %v, want refused", err)
	}
}
