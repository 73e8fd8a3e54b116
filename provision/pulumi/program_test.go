package pulumi

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	sdk "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hactl/hactl/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// mocks plays the cloud: it records every registration and answers with the
// inputs plus the computed outputs hactl reads.
type mocks struct {
	mu    sync.Mutex
	regs  []sdk.MockResourceArgs
	calls []sdk.MockCallArgs
}

func (m *mocks) NewResource(a sdk.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs = append(m.regs, a)
	out := a.Inputs.Copy()
	// Registrations run concurrently: addresses derive from the name
	// (db02 -> .102), not from the order.
	n, _ := strconv.Atoi(strings.TrimLeft(a.Name, "abcdefghijklmnopqrstuvwxyz"))
	switch a.TypeToken {
	case tokHcloudServer:
		out["ipv4Address"] = resource.NewStringProperty(fmt.Sprintf("203.0.113.%d", 100+n))
	case tokAWSInstance:
		out["publicIp"] = resource.NewStringProperty(fmt.Sprintf("198.51.100.%d", 100+n))
		out["privateIp"] = resource.NewStringProperty(fmt.Sprintf("172.31.0.%d", 100+n))
	}
	if id, ok := numericIDs[a.TypeToken]; ok {
		return id, out, nil
	}
	return a.Name + "-id", out, nil
}

func (m *mocks) Call(a sdk.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, a)
	if a.Token == tokAWSGetAMI {
		return resource.PropertyMap{"id": resource.NewStringProperty("ami-0debian12")}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", a.Token)
}

// numericIDs are the ids of the hcloud resources referred to by number.
var numericIDs = map[string]string{tokHcloudNetwork: "4711", tokHcloudFirewall: "815"}

// byType returns the registrations of one type token, in order.
func (m *mocks) byType(tok string) []sdk.MockResourceArgs {
	var out []sdk.MockResourceArgs
	for _, r := range m.regs {
		if r.TypeToken == tok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b sdk.MockResourceArgs) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// run runs sp's program against the mocks and returns the hosts it exports,
// decoded exactly as Up decodes stack outputs.
func run(t *testing.T, sp Spec) (*mocks, Hosts) {
	t.Helper()
	sp, err := sp.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if sp.hostKeys, err = ensureHostKeys(hostKeysDir(sp.StateDir), sp.Names); err != nil {
		t.Fatal(err)
	}
	m := &mocks{}
	var (
		mu  sync.Mutex
		raw []any
	)
	err = sdk.RunErr(func(ctx *sdk.Context) error {
		out, err := build(ctx, sp)
		if err != nil {
			return err
		}
		out.hosts.ApplyT(func(v []any) []any {
			mu.Lock()
			defer mu.Unlock()
			raw = v
			return v
		})
		return nil
	}, sdk.WithMocks("hactl", "test", m))
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	hs, err := decodeHosts(raw)
	if err != nil {
		t.Fatalf("decode hosts: %v", err)
	}
	hosts, err := finishHosts(sp, Hosts{Target: sp.Target, Hosts: hs})
	if err != nil {
		t.Fatalf("finish hosts: %v", err)
	}
	return m, hosts
}

func cloudSpec(t *testing.T, target Target) Spec {
	return Spec{Target: target, StateDir: t.TempDir(), SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO0 op@laptop",
		OperatorCIDR: "192.0.2.7/32"}
}

func str(m resource.PropertyMap, k string) string {
	v, ok := m[resource.PropertyKey(k)]
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

func TestHcloudProgram(t *testing.T) {
	m, hosts := run(t, cloudSpec(t, TargetHcloud))
	counts := map[string]int{}
	for _, r := range m.regs {
		counts[r.TypeToken]++
		if r.RegisterRPC == nil || r.RegisterRPC.Version != HcloudVersion {
			t.Errorf("%s %s: provider version %v, want pinned %s", r.TypeToken, r.Name, r.RegisterRPC.GetVersion(), HcloudVersion)
		}
	}
	want := map[string]int{tokHcloudProvider: 1, tokHcloudSSHKey: 1, tokHcloudNetwork: 1, tokHcloudSubnet: 1, tokHcloudFirewall: 1, tokHcloudServer: 3}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("registered %v, want %v", counts, want)
	}
	servers := m.byType(tokHcloudServer)
	for i, s := range servers {
		name := fmt.Sprintf("db0%d", i+1)
		for k, v := range map[string]string{"name": name, "serverType": "cx22", "image": "debian-12", "location": "nbg1"} {
			if got := str(s.Inputs, k); got != v {
				t.Errorf("server %s: %s = %q, want %q", s.Name, k, got, v)
			}
		}
		if s.Provider == "" || !strings.Contains(s.Provider, "hcloud") {
			t.Errorf("server %s: provider %q, want the explicit hcloud provider", s.Name, s.Provider)
		}
		nets := s.Inputs["networks"].ArrayValue()
		if len(nets) != 1 || str(nets[0].ObjectValue(), "ip") != fmt.Sprintf("10.0.1.%d", 11+i) {
			t.Errorf("server %s: networks %v, want one with ip 10.0.1.%d", s.Name, nets, 11+i)
		}
		if fw := s.Inputs["firewallIds"].ArrayValue(); len(fw) != 1 || fw[0].NumberValue() != 815 {
			t.Errorf("server %s: firewallIds %v, want [815] (the firewall)", s.Name, fw)
		}
		if id := nets[0].ObjectValue()["networkId"]; !id.IsNumber() || id.NumberValue() != 4711 {
			t.Errorf("server %s: networkId %v, want 4711 (the network)", s.Name, id)
		}
		if keys := s.Inputs["sshKeys"].ArrayValue(); len(keys) != 1 || keys[0].StringValue() != "operator-id" {
			t.Errorf("server %s: sshKeys %v, want the operator key", s.Name, keys)
		}
	}
	if sub := m.byType(tokHcloudSubnet)[0]; sub.Inputs["networkId"].NumberValue() != 4711 || str(sub.Inputs, "networkZone") != "eu-central" ||
		str(sub.Inputs, "ipRange") != "10.0.1.0/24" {
		t.Errorf("subnet inputs %v", sub.Inputs)
	}
	fw := m.byType(tokHcloudFirewall)[0]
	rules := fw.Inputs["rules"].ArrayValue()
	if len(rules) != 1 {
		t.Fatalf("firewall rules %v, want exactly one (ssh)", rules)
	}
	r := rules[0].ObjectValue()
	src := r["sourceIps"].ArrayValue()
	if str(r, "port") != "22" || str(r, "direction") != "in" || len(src) != 1 || src[0].StringValue() != "192.0.2.7/32" {
		t.Errorf("firewall rule %v, want 22 in from 192.0.2.7/32 only", r)
	}
	if k := m.byType(tokHcloudSSHKey)[0]; !strings.HasPrefix(str(k.Inputs, "publicKey"), "ssh-ed25519 ") {
		t.Errorf("ssh key input %v", k.Inputs)
	}
	checkHostKeys(t, servers, hosts)
	want0 := Host{Name: "db01", Address: "203.0.113.101", PrivateAddress: "10.0.1.11", SSHUser: "root", SSHPort: 22, ID: "db01-id"}
	if len(hosts.Hosts) != 3 || hosts.Hosts[0] != want0 {
		t.Errorf("hosts %+v, want 3 with db01 = %+v", hosts.Hosts, want0)
	}
	checkInventory(t, hosts, "hcloud")
}

func TestAWSProgram(t *testing.T) {
	m, hosts := run(t, cloudSpec(t, TargetAWS))
	counts := map[string]int{}
	for _, r := range m.regs {
		counts[r.TypeToken]++
		if r.RegisterRPC.GetVersion() != AWSVersion {
			t.Errorf("%s %s: provider version %q, want pinned %s", r.TypeToken, r.Name, r.RegisterRPC.GetVersion(), AWSVersion)
		}
	}
	want := map[string]int{tokAWSProvider: 1, tokAWSKeyPair: 1, tokAWSGroup: 1, tokAWSInstance: 3}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("registered %v, want %v", counts, want)
	}
	if p := m.byType(tokAWSProvider)[0]; str(p.Inputs, "region") != "eu-central-1" {
		t.Errorf("aws provider region %q", str(p.Inputs, "region"))
	}
	if len(m.calls) != 1 || !strings.Contains(fmt.Sprint(m.calls[0].Args), debianOwner) ||
		!strings.Contains(fmt.Sprint(m.calls[0].Args), "debian-12-amd64-") {
		t.Errorf("ami lookup %v, want one getAmi of owner %s, debian-12-amd64-*", m.calls, debianOwner)
	}
	for _, in := range m.byType(tokAWSInstance) {
		if str(in.Inputs, "ami") != "ami-0debian12" || str(in.Inputs, "instanceType") != "t3.small" || str(in.Inputs, "keyName") != "operator-id" {
			t.Errorf("instance %s inputs %v", in.Name, in.Inputs)
		}
		if g := in.Inputs["vpcSecurityGroupIds"].ArrayValue(); len(g) != 1 || g[0].StringValue() != "hosts-id" {
			t.Errorf("instance %s: security groups %v", in.Name, g)
		}
	}
	checkHostKeys(t, m.byType(tokAWSInstance), hosts)
	// Ingress: 22 from the operator only; 6379 and 26379 from the group
	// itself (the hosts); nothing else.
	var got []string
	for _, r := range m.byType(tokAWSGroup)[0].Inputs["ingress"].ArrayValue() {
		o := r.ObjectValue()
		src := fmt.Sprint(o["cidrBlocks"].V)
		if o["self"].IsBool() && o["self"].BoolValue() {
			src = "self"
		}
		got = append(got, fmt.Sprintf("%s %v-%v from %s", str(o, "protocol"), o["fromPort"].V, o["toPort"].V, src))
	}
	wantIn := []string{"tcp 22-22 from [{192.0.2.7/32}]", "tcp 6379-6379 from self", "tcp 26379-26379 from self"}
	if fmt.Sprint(got) != fmt.Sprint(wantIn) {
		t.Errorf("ingress %q, want %q", got, wantIn)
	}
	if h := hosts.Hosts[1]; h.Name != "db02" || h.SSHUser != "admin" || !strings.HasPrefix(h.Address, "198.51.100.") || !strings.HasPrefix(h.PrivateAddress, "172.31.0.") {
		t.Errorf("host 1 = %+v", h)
	}
	checkInventory(t, hosts, "aws")
}

func TestAWSProgramGivenAMI(t *testing.T) {
	sp := cloudSpec(t, TargetAWS)
	sp.Image, sp.Size, sp.Names = "ami-0given", "m6i.large", []string{"a1", "a2"}
	m, hosts := run(t, sp)
	if len(m.calls) != 0 {
		t.Errorf("invokes %v, want none with a given AMI", m.calls)
	}
	ins := m.byType(tokAWSInstance)
	if len(ins) != 2 || str(ins[0].Inputs, "ami") != "ami-0given" || str(ins[1].Inputs, "instanceType") != "m6i.large" {
		t.Errorf("instances %v", ins)
	}
	if len(hosts.Hosts) != 2 || hosts.Hosts[1].Name != "a2" {
		t.Errorf("hosts %+v", hosts.Hosts)
	}
}

// checkInventory renders the inventory for hosts, compares it with the
// golden file and checks that hactl's parser accepts it without a problem.
func checkInventory(t *testing.T, hosts Hosts, name string) {
	t.Helper()
	b, err := hosts.InventoryYAML(InventoryOptions{SSHKey: "~/.ssh/id_ed25519", KnownHosts: "/state/known_hosts"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", name+"-inventory.yaml.golden")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(want) {
		t.Errorf("inventory differs from %s (go test -update):\n%s", golden, b)
	}
	inv, diags, err := inventory.Parse(name+".yaml", b)
	if err != nil {
		t.Fatalf("parse rendered inventory: %v", err)
	}
	for _, d := range diags {
		t.Errorf("rendered inventory: %v", d)
	}
	if inv.Provider != inventory.ProviderPulumi || len(inv.Hosts) != len(hosts.Hosts) {
		t.Fatalf("inventory provider %s, %d hosts", inv.Provider, len(inv.Hosts))
	}
	for i, h := range inv.Hosts {
		x := hosts.Hosts[i]
		if h.Name != x.Name || h.Address != x.Address || h.Announce != x.PrivateAddress || h.SSH.User != x.SSHUser {
			t.Errorf("inventory host %d = %+v, from %+v", i, h, x)
		}
	}
}
