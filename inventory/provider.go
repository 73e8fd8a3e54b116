package inventory

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Pulumi targets (pulumi.target).
const (
	PulumiHcloud = "hcloud"
	PulumiAWS    = "aws"
	PulumiLab    = "lab"
)

// DefaultProvidedNames are the host names a pulumi stack creates when
// pulumi.names is not written.
var DefaultProvidedNames = []string{"db01", "db02", "db03"}

// Pulumi is the pulumi: section (provider: pulumi without hosts): the stack
// hactl up runs to create the hosts. Paths are resolved against the
// inventory file's directory.
type Pulumi struct {
	Target       string   // PulumiHcloud, PulumiAWS or PulumiLab
	Project      string   // Pulumi project; "" means hactl
	Stack        string   // Pulumi stack; "" means default
	Names        []string // host names; default DefaultProvidedNames
	Size         string   // server type / instance type
	Location     string   // hcloud location or AWS region
	Image        string   // image name / AMI id
	SSHUser      string   // login user of the image
	SSHPublicKey string   // file holding the authorized_keys line
	OperatorCIDR string   // who may reach port 22
	PrivateCIDR  string   // hcloud private network
	StateDir     string   // file backend and work dir; default .hactl-pulumi beside the inventory
	// Passphrase encrypts the stack's secrets: a file or an environment
	// variable. Source "" means PULUMI_CONFIG_PASSPHRASE(_FILE) from the
	// environment hactl runs in.
	Passphrase SecretRef
	CLI        string // directory holding bin/pulumi; "" means --pulumi-root or PATH
	PluginDir  string // directory holding pulumi-resource-hactl (lab target)
	Lab        PulumiLabSettings
	Pos        Pos
}

// PulumiLabSettings is pulumi.lab: the lab the lab target creates.
type PulumiLabSettings struct {
	Driver string // process or nspawn; "" means process
	Subnet string // first three octets of the node addresses
	Engine string // hactl or redis
	Bridge string // nspawn bridge; "" means hactl0
	Prefix string // nspawn machine name prefix; "" means the lab's default
}

// Vagrant is the vagrant: section (provider: vagrant without hosts): hactl
// up reads the hosts from `vagrant ssh-config` run in Dir.
type Vagrant struct {
	Dir     string        // directory of the Vagrantfile; default the inventory's
	Timeout time.Duration // for each vagrant command; default 2m
	// Network is the first three octets of the private network; host i
	// (in `vagrant ssh-config` order) is Network.(80+i), as
	// vagrant/Vagrantfile assigns them. Addresses overrides it per host.
	Network   string
	Addresses map[string]string
	Pos       Pos
}

// ProvidedHost is one host a provider (a pulumi stack, vagrant) reports,
// as Materialize writes it into an inventory.
type ProvidedHost struct {
	Name       string
	Address    string // what hactl connects to (SSH, engine, sentinel)
	Announce   string // private address peers use; "" means Address
	User       string // SSH login user; "" keeps the inventory's
	Port       int    // SSH port; 0 keeps the inventory's
	Key        string // SSH private key file; "" keeps the inventory's
	KnownHosts string // known_hosts file; "" keeps the inventory's
	// Insecure turns off host key checking for this host (vagrant's boxes
	// say StrictHostKeyChecking no); the parser warns about it.
	Insecure bool
}

// Provisioned reports whether hactl up must ask the provider for the
// hosts: provider pulumi or vagrant and no hosts written.
func (inv *Inventory) Provisioned() bool {
	return len(inv.Hosts) == 0 && (inv.Provider == ProviderPulumi || inv.Provider == ProviderVagrant)
}

// path decodes a file or directory path, relative to the inventory's
// directory unless absolute; "~" is refused (it is not expanded).
func (p *parser) path(n *yaml.Node, field string, dst *string) bool {
	if !p.d.str(n, field, dst) {
		return false
	}
	if strings.HasPrefix(*dst, "~") {
		p.d.errorf(n, field, "use an absolute path or one relative to the inventory file", "~ is not expanded in %q", *dst)
		return false
	}
	if !filepath.IsAbs(*dst) {
		*dst = filepath.Join(filepath.Dir(p.d.file), *dst)
	}
	return true
}

// pulumiFields are the keys of the pulumi section that only the cloud
// targets use, and those only the lab target uses.
var (
	pulumiCloudOnly = []string{"size", "location", "region", "image", "ssh_user", "ssh_public_key", "operator_cidr", "private_cidr"}
	pulumiLabOnly   = []string{"lab", "plugin_dir"}
)

func (p *parser) pulumiSection(field string, n *yaml.Node) {
	d, pu := p.d, &p.inv.Pulumi
	pu.Pos = Pos{n.Line, n.Column}
	str := func(dst *string) fieldFunc { return func(f string, v *yaml.Node) { d.str(v, f, dst) } }
	path := func(dst *string) fieldFunc { return func(f string, v *yaml.Node) { p.path(v, f, dst) } }
	cidr := func(dst *string, what string) fieldFunc {
		return func(f string, v *yaml.Node) {
			if !d.str(v, f, dst) {
				return
			}
			if pr, err := netip.ParsePrefix(*dst); err != nil || pr.Bits() == 0 {
				d.errorf(v, f, what, "invalid CIDR %q", *dst)
			}
		}
	}
	ok := d.mapping(n, field, map[string]fieldFunc{
		"target":  func(f string, v *yaml.Node) { d.oneOf(v, f, &pu.Target, PulumiHcloud, PulumiAWS, PulumiLab) },
		"project": str(&pu.Project),
		"stack":   str(&pu.Stack),
		"names": func(f string, v *yaml.Node) {
			d.strings(v, f, &pu.Names)
			seen := map[string]bool{}
			for i, name := range pu.Names {
				sub := fmt.Sprintf("%s[%d]", f, i)
				switch {
				case !isName(name):
					d.errorAt(sub, "use letters, digits, '.', '_' and '-'", "invalid host name %q", name)
				case seen[name]:
					d.errorAt(sub, "give each host a unique name", "duplicate host name %q", name)
				}
				seen[name] = true
			}
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.errorf(v, f, "remove the key for db01, db02, db03", "no names")
			}
		},
		"size":           str(&pu.Size),
		"location":       str(&pu.Location),
		"region":         str(&pu.Location),
		"image":          str(&pu.Image),
		"ssh_user":       func(f string, v *yaml.Node) { p.userName(v, f, &pu.SSHUser) },
		"ssh_public_key": path(&pu.SSHPublicKey),
		"operator_cidr":  cidr(&pu.OperatorCIDR, "the address SSH comes from, e.g. 203.0.113.7/32 (never 0.0.0.0/0)"),
		"private_cidr":   cidr(&pu.PrivateCIDR, "an IPv4 network such as 10.0.1.0/24"),
		"state_dir":      path(&pu.StateDir),
		"passphrase": func(f string, v *yaml.Node) {
			pu.Passphrase = p.secretRef(f, v)
			if pu.Passphrase.Source == SecretValue {
				d.errorf(v, f, "write {file: PATH} or {env: NAME}", "the passphrase must not be written in the inventory")
			}
		},
		"cli":        path(&pu.CLI),
		"plugin_dir": path(&pu.PluginDir),
		"lab": func(f string, v *yaml.Node) {
			d.mapping(v, f, map[string]fieldFunc{
				"driver": func(f string, v *yaml.Node) { d.oneOf(v, f, &pu.Lab.Driver, "process", "nspawn") },
				"subnet": func(f string, v *yaml.Node) { p.subnet(v, f, &pu.Lab.Subnet) },
				"engine": func(f string, v *yaml.Node) { d.oneOf(v, f, &pu.Lab.Engine, string(EngineHactl), string(EngineRedis)) },
				"bridge": func(f string, v *yaml.Node) { p.ifName(v, f, &pu.Lab.Bridge, 15) },
				"prefix": func(f string, v *yaml.Node) { p.ifName(v, f, &pu.Lab.Prefix, 7) },
			})
		},
	})
	if !ok {
		return
	}
	d.require(n, field, map[string]string{"target": "use hcloud, aws or lab (docs/pulumi.md)"}, "target")
	if has(n, "location") && has(n, "region") {
		d.errorAt(field+".region", "keep one of them: they are the same setting", "location and region together")
	}
	if len(pu.Names) == 0 {
		pu.Names = slices.Clone(DefaultProvidedNames)
	}
	if pu.StateDir == "" {
		pu.StateDir = filepath.Join(filepath.Dir(d.file), ".hactl-pulumi")
	}
	switch pu.Target {
	case PulumiLab:
		for _, k := range pulumiCloudOnly {
			if has(n, k) {
				d.errorAt(join(field, k), "remove it, or choose target hcloud or aws", "%s is not used by target lab", k)
			}
		}
	case PulumiHcloud, PulumiAWS:
		for _, k := range pulumiLabOnly {
			if has(n, k) {
				d.errorAt(join(field, k), "remove it, or choose target lab", "%s is only used by target lab", k)
			}
		}
		d.require(n, field, map[string]string{
			"ssh_public_key": "give the .pub file of the key hactl logs in with, e.g. keys/id_ed25519.pub",
			"operator_cidr":  "give the address SSH comes from, e.g. 203.0.113.7/32",
		}, "ssh_public_key", "operator_cidr")
	}
}

// userName decodes an SSH login user name.
func (p *parser) userName(n *yaml.Node, field string, dst *string) {
	if p.d.str(n, field, dst) && !isName(*dst) {
		p.d.errorf(n, field, "", "invalid user name %q", *dst)
	}
}

// subnet decodes the first three octets of an IPv4 /24, e.g. 192.168.56.
func (p *parser) subnet(n *yaml.Node, field string, dst *string) {
	if !p.d.str(n, field, dst) {
		return
	}
	if a, err := netip.ParseAddr(*dst + ".1"); err != nil || !a.Is4() || strings.Count(*dst, ".") != 2 {
		p.d.errorf(n, field, "write the first three octets, e.g. 192.168.56", "invalid network %q", *dst)
	}
}

// ifName decodes a short name of letters, digits and '-' (a bridge or
// machine name prefix) of at most max characters.
func (p *parser) ifName(n *yaml.Node, field string, dst *string, max int) {
	if !p.d.str(n, field, dst) {
		return
	}
	ok := len(*dst) <= max
	for _, c := range *dst {
		ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')
	}
	if !ok {
		p.d.errorf(n, field, fmt.Sprintf("use at most %d lowercase letters, digits and '-'", max), "invalid name %q", *dst)
	}
}

func (p *parser) vagrantSection(field string, n *yaml.Node) {
	d, va := p.d, &p.inv.Vagrant
	va.Pos = Pos{n.Line, n.Column}
	d.mapping(n, field, map[string]fieldFunc{
		"dir":     func(f string, v *yaml.Node) { p.path(v, f, &va.Dir) },
		"timeout": func(f string, v *yaml.Node) { d.duration(v, f, &va.Timeout) },
		"network": func(f string, v *yaml.Node) { p.subnet(v, f, &va.Network) },
		"addresses": func(f string, v *yaml.Node) {
			va.Addresses = map[string]string{}
			fs := map[string]fieldFunc{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				name := v.Content[i].Value
				fs[name] = func(f string, a *yaml.Node) {
					var s string
					if d.str(a, f, &s) && !IsIP(s) {
						d.errorf(a, f, "use the VM's private IP address, e.g. 192.168.56.81", "invalid address %q", s)
						return
					}
					va.Addresses[name] = s
				}
			}
			d.mapping(v, f, fs)
		},
	})
}

// vagrantDefaults fills what the vagrant section left out.
func (p *parser) vagrantDefaults() {
	va := &p.inv.Vagrant
	if va.Dir == "" {
		va.Dir = filepath.Dir(p.d.file)
	}
	if va.Timeout == 0 {
		va.Timeout = 2 * time.Minute
	}
	if va.Network == "" && va.Addresses == nil {
		va.Network = "192.168.56"
	}
}

// hostsOrProvider requires hosts, unless the provider creates them; it
// checks that the provider sections match the provider.
func (p *parser) hostsOrProvider(root *yaml.Node) {
	d, inv := p.d, p.inv
	hosts := has(root, "hosts")
	for _, s := range []struct {
		key      string
		provider Provider
	}{{"pulumi", ProviderPulumi}, {"vagrant", ProviderVagrant}} {
		if !has(root, s.key) {
			continue
		}
		switch {
		case inv.Provider != s.provider:
			d.errorAt(s.key, fmt.Sprintf("set provider: %s, or remove the section", s.provider),
				"%s section but provider is %s", s.key, inv.Provider)
		case hosts:
			d.errorAt(s.key, fmt.Sprintf("remove hosts: the %s provider makes them (or remove %s: to use the hosts as written)", s.key, s.key),
				"hosts and a %s section together", s.key)
		}
	}
	switch {
	case hosts:
	case inv.Provider == ProviderPulumi:
		if !has(root, "pulumi") {
			d.errorAt("provider", "add a pulumi: section with the target (docs/pulumi.md), or list the hosts",
				"provider pulumi without hosts needs a pulumi section")
		} else if m := inv.Master; m != "" && !slices.Contains(inv.Pulumi.Names, m) {
			d.errorAt("master", "use one of: "+strings.Join(inv.Pulumi.Names, ", "), "initial master %q is not among pulumi.names", m)
		}
	case inv.Provider == ProviderVagrant:
		p.vagrantDefaults()
	default:
		d.require(root, "", map[string]string{"hosts": "list the machines under hosts:, each with name and address"}, "hosts")
	}
}

// Materialize returns the inventory data with the provider's hosts written
// in: the pulumi and vagrant sections are dropped and the provider becomes
// ssh, so the result is an ordinary SSH inventory (comments and every other
// setting kept). header is put on top as a comment. Relative paths stay
// valid when the result is written beside the original file.
func Materialize(data []byte, hosts []ProvidedHost, header string) ([]byte, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("materialize inventory: no hosts")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("materialize inventory: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("materialize inventory: not a mapping")
	}
	root := doc.Content[0]
	var content []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "pulumi", "vagrant", "hosts":
			continue
		case "provider":
			v = scalar(string(ProviderSSH))
		}
		content = append(content, k, v)
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, h := range hosts {
		m := &yaml.Node{Kind: yaml.MappingNode}
		add := func(n *yaml.Node, k string, v *yaml.Node) { n.Content = append(n.Content, scalar(k), v) }
		add(m, "name", scalar(h.Name))
		add(m, "address", scalar(h.Address))
		if h.Announce != "" && h.Announce != h.Address {
			add(m, "announce", scalar(h.Announce))
			add(m, "bind", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar(h.Announce)}})
		}
		ssh := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, kv := range [][2]string{{"user", h.User}, {"key", h.Key}, {"known_hosts", h.KnownHosts}} {
			if kv[1] != "" {
				add(ssh, kv[0], scalar(kv[1]))
			}
		}
		if h.Port != 0 {
			add(ssh, "port", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(h.Port)})
		}
		if h.Insecure {
			add(ssh, "strict_host_key_checking", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
		}
		if len(ssh.Content) > 0 {
			add(m, "ssh", ssh)
		}
		seq.Content = append(seq.Content, m)
	}
	root.Content = append(content, scalar("hosts"), seq)
	doc.HeadComment = header
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("materialize inventory: %w", err)
	}
	return b.Bytes(), enc.Close()
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
