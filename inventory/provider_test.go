package inventory

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// secretsOnly is the rest of an inventory whose hosts a provider makes
// (2 lines, so the cases' own lines start at line 3).
const secretsOnly = "secrets:\n  requirepass: {env: PW}\n"

func TestProviderDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		errs  []string
		warns []string
	}{
		{name: "pulumi lab", src: secretsOnly + "provider: pulumi\npulumi: {target: lab, lab: {driver: nspawn, subnet: 10.9.8, bridge: br-x1, prefix: e2e}}\n"},
		{name: "pulumi cloud", src: secretsOnly + "provider: pulumi\npulumi:\n  target: hcloud\n  ssh_public_key: k.pub\n  operator_cidr: 203.0.113.7/32\n  passphrase: {file: pass}\n"},
		{name: "vagrant", src: secretsOnly + "provider: vagrant\nvagrant: {dir: vagrant, timeout: 30s}\n"},
		{name: "vagrant without section", src: secretsOnly + "provider: vagrant\n"},
		{
			name: "pulumi without section",
			src:  secretsOnly + "provider: pulumi\n",
			errs: []string{`inv.yaml:3:11: provider: provider pulumi without hosts needs a pulumi section (hint: add a pulumi: section with the target (docs/pulumi.md), or list the hosts)`},
		},
		{
			name: "section without its provider",
			src:  secretsOnly + "pulumi: {target: lab}\nvagrant: {}\n" + "hosts: [{name: db01, address: 192.0.2.1}]\n",
			errs: []string{
				`inv.yaml:3:9: pulumi: pulumi section but provider is ssh (hint: set provider: pulumi, or remove the section)`,
				`inv.yaml:4:10: vagrant: vagrant section but provider is ssh (hint: set provider: vagrant, or remove the section)`,
			},
			warns: []string{`inv.yaml:5:8: warning: hosts: only one engine host: no replica, no failover (hint: the seed uses three hosts: one master and two replicas)`},
		},
		{
			name: "hosts and section",
			src:  hosts3 + "provider: vagrant\nvagrant: {}\n",
			errs: []string{`inv.yaml:8:10: vagrant: hosts and a vagrant section together (hint: remove hosts: the vagrant provider makes them (or remove vagrant: to use the hosts as written))`},
		},
		{
			name: "no hosts for ssh",
			src:  secretsOnly,
			errs: []string{`inv.yaml:1:1: hosts: missing required field "hosts" (hint: list the machines under hosts:, each with name and address)`},
		},
		{
			name: "cloud mistakes",
			src: secretsOnly + `provider: pulumi
master: db09
pulumi:
  target: aws
  names: [db01, db01, "a b"]
  location: eu-central-1
  region: eu-west-1
  operator_cidr: 0.0.0.0/0
  passphrase: {value: hunter2}
  lab: {driver: process}
`,
			errs: []string{
				`inv.yaml:4:9: master: initial master "db09" is not among pulumi.names (hint: use one of: db01, db01, a b)`,
				`inv.yaml:6:3: pulumi.ssh_public_key: missing required field "ssh_public_key" (hint: give the .pub file of the key hactl logs in with, e.g. keys/id_ed25519.pub)`,
				`inv.yaml:7:17: pulumi.names[1]: duplicate host name "db01" (hint: give each host a unique name)`,
				`inv.yaml:7:23: pulumi.names[2]: invalid host name "a b" (hint: use letters, digits, '.', '_' and '-')`,
				`inv.yaml:9:11: pulumi.region: location and region together (hint: keep one of them: they are the same setting)`,
				`inv.yaml:10:18: pulumi.operator_cidr: invalid CIDR "0.0.0.0/0" (hint: the address SSH comes from, e.g. 203.0.113.7/32 (never 0.0.0.0/0))`,
				`inv.yaml:11:15: pulumi.passphrase: the passphrase must not be written in the inventory (hint: write {file: PATH} or {env: NAME})`,
				`inv.yaml:12:8: pulumi.lab: lab is only used by target lab (hint: remove it, or choose target lab)`,
			},
			warns: []string{`inv.yaml:11:23: warning: pulumi.passphrase.value: inline secret: it ends up in version control and backups (hint: move it to a file with mode 0600 and write {file: PATH})`},
		},
		{
			name: "lab mistakes",
			src:  secretsOnly + "provider: pulumi\npulumi: {size: cx22, lab: {driver: kvm, subnet: 10.1}, cli: ~/pulumi}\n",
			errs: []string{
				`inv.yaml:4:9: pulumi.target: missing required field "target" (hint: use hcloud, aws or lab (docs/pulumi.md))`,
				`inv.yaml:4:36: pulumi.lab.driver: invalid value "kvm" (hint: use one of: process, nspawn)`,
				`inv.yaml:4:49: pulumi.lab.subnet: invalid network "10.1" (hint: write the first three octets, e.g. 192.168.56)`,
				`inv.yaml:4:61: pulumi.cli: ~ is not expanded in "~/pulumi" (hint: use an absolute path or one relative to the inventory file)`,
			},
		},
		{
			name: "vagrant mistakes",
			src:  secretsOnly + "provider: vagrant\nvagrant: {dir: vm, timeout: 30, addresses: {db01: db01.local}, box: x}\n",
			errs: []string{
				`inv.yaml:4:29: vagrant.timeout: duration 30 has no unit (hint: write 30ms or a value with another unit such as "60s")`,
				`inv.yaml:4:51: vagrant.addresses.db01: invalid address "db01.local" (hint: use the VM's private IP address, e.g. 192.168.56.81)`,
				`inv.yaml:4:64: vagrant.box: unknown key "box" (hint: valid keys: addresses, dir, network, timeout)`,
			},
		},
	}
	checkDiagnostics(t, tests)
}

func TestProviderDefaults(t *testing.T) {
	inv, _, err := Parse("/etc/hactl/inv.yaml", []byte(secretsOnly+"provider: pulumi\npulumi: {target: lab, passphrase: {env: PP}, plugin_dir: plugins}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Pulumi{Target: PulumiLab, Names: DefaultProvidedNames, StateDir: "/etc/hactl/.hactl-pulumi", PluginDir: "/etc/hactl/plugins",
		Passphrase: SecretRef{Source: SecretEnv, Ref: "PP", Field: "pulumi.passphrase", Pos: Pos{4, 35}}, Pos: Pos{4, 9}}
	if !inv.Provisioned() || !reflect.DeepEqual(inv.Pulumi, want) {
		t.Errorf("pulumi %+v (provisioned %v)\nwant %+v", inv.Pulumi, inv.Provisioned(), want)
	}
	inv, _, err = Parse("/v/inv.yaml", []byte(secretsOnly+"provider: vagrant\n"))
	if err != nil {
		t.Fatal(err)
	}
	if wantV := (Vagrant{Dir: "/v", Timeout: 2 * time.Minute, Network: "192.168.56"}); !inv.Provisioned() || !reflect.DeepEqual(inv.Vagrant, wantV) {
		t.Errorf("vagrant %+v, want %+v", inv.Vagrant, wantV)
	}
	inv, _, err = Parse("inv.yaml", []byte(hosts3+"provider: pulumi\n"))
	if err != nil || inv.Provisioned() {
		t.Errorf("pulumi with hosts written: %v, provisioned %v; want the hosts as written", err, inv != nil && inv.Provisioned())
	}
}

func TestMaterialize(t *testing.T) {
	src := "# my cluster\nservice: cache # the name\nprovider: vagrant\nvagrant: {dir: vm}\nssh: {user: root, key: id}\n" + secretsOnly
	hosts := []ProvidedHost{
		{Name: "db01", Address: "192.168.56.81", User: "vagrant", Key: "/k/db01", Insecure: true},
		{Name: "db02", Address: "203.0.113.2", Announce: "10.0.1.12", Port: 2222},
		{Name: "db03", Address: "203.0.113.3", KnownHosts: "/s/known_hosts"},
	}
	out, err := Materialize([]byte(src), hosts, "Written by hactl up")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Written by hactl up\n", "# my cluster", "# the name", "provider: ssh\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("materialized inventory lacks %q:\n%s", want, out)
		}
	}
	inv, warns, err := Parse("inv.yaml", out)
	if err != nil {
		t.Fatalf("materialized inventory does not parse: %v\n%s", err, out)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Error(), "host keys are not verified") {
		t.Errorf("warnings %v, want only the one for db01's unchecked host key", warns)
	}
	got := []SSH{inv.Hosts[0].SSH, inv.Hosts[1].SSH, inv.Hosts[2].SSH}
	want := []SSH{{User: "vagrant", Port: 22, Key: "/k/db01"}, {User: "root", Port: 2222, Key: "id", StrictHostKeyChecking: true},
		{User: "root", Port: 22, Key: "id", KnownHosts: "/s/known_hosts", StrictHostKeyChecking: true}}
	for i := range want {
		want[i].KnownHosts = map[bool]string{true: want[i].KnownHosts, false: inv.Hosts[0].SSH.KnownHosts}[want[i].KnownHosts != ""]
	}
	if !reflect.DeepEqual(got, want) || inv.Service != "cache" || inv.Provider != ProviderSSH || inv.Provisioned() {
		t.Errorf("ssh %+v\nwant %+v\n(service %s provider %s)", got, want, inv.Service, inv.Provider)
	}
	if h := inv.Hosts[1]; h.Announce != "10.0.1.12" || !reflect.DeepEqual(h.Bind, []string{"10.0.1.12"}) || inv.Master != "db01" {
		t.Errorf("db02 %+v, master %s", h, inv.Master)
	}
	if _, err := Materialize([]byte(src), nil, ""); err == nil {
		t.Error("no hosts: want an error")
	}
	if _, err := Materialize([]byte("- a list\n"), hosts, ""); err == nil {
		t.Error("not a mapping: want an error")
	}
}
