package pulumi

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
)

// Target says where the machines are created.
type Target string

// The targets.
const (
	// TargetHcloud creates Hetzner Cloud servers.
	TargetHcloud Target = "hcloud"
	// TargetAWS creates AWS EC2 instances.
	TargetAWS Target = "aws"
	// TargetLab creates a lab on this machine through hactl's own
	// provider plugin (pulumi-resource-hactl).
	TargetLab Target = "lab"
)

// Pinned versions of the provider plugins the programs ask for. A change
// here is a change of the infrastructure code: bump deliberately.
const (
	HcloudVersion = "1.18.1"
	AWSVersion    = "6.0.0"
	// CLIVersion is the pulumi CLI the Automation API is built against
	// (tools/pulumi builds it).
	CLIVersion = "3.274.1"
)

// Defaults per target, used when Spec leaves a field empty.
var targetDefaults = map[Target]struct{ size, location, image, user string }{
	TargetHcloud: {"cx22", "nbg1", "debian-12", "root"},
	// AWS: image "" means the newest official Debian 12 AMI (owner
	// 136693071363), looked up at deploy time.
	TargetAWS: {"t3.small", "eu-central-1", "", "admin"},
}

// Spec says what stack to run. Fields left empty take the target's defaults.
type Spec struct {
	Target  Target
	Project string // Pulumi project name; default "hactl"
	Stack   string // Pulumi stack name; default "default"
	// StateDir keeps the file:// backend (StateDir/backend) and the
	// persistent workspace (StateDir/work). Required; hactl puts it next to
	// the inventory. Keep it: it is the only record of what was created.
	StateDir string
	// PassphraseFile holds the passphrase that encrypts the stack's
	// secrets. Empty means PULUMI_CONFIG_PASSPHRASE or
	// PULUMI_CONFIG_PASSPHRASE_FILE from the environment.
	PassphraseFile string
	// PassphraseEnv names an environment variable of hactl holding the
	// passphrase; the CLI gets it as PULUMI_CONFIG_PASSPHRASE (its
	// environment, never its command line).
	PassphraseEnv string
	// PulumiRoot is the directory holding bin/pulumi; "" means PATH.
	PulumiRoot string
	// PluginDirs are put first on the CLI's PATH so it finds provider
	// plugins there (the lab target's pulumi-resource-hactl).
	PluginDirs []string
	// PulumiHome is PULUMI_HOME for the CLI (plugins, credentials); ""
	// leaves the CLI's default (~/.pulumi).
	PulumiHome string
	// DisablePluginAcquisition stops the CLI from downloading provider
	// plugins (always on for the lab target).
	DisablePluginAcquisition bool

	Names           []string // host names; default db01, db02, db03
	Size            string   // hcloud server type, EC2 instance type
	Location        string   // hcloud location, AWS region
	Image           string   // hcloud image name, EC2 AMI id
	SSHUser         string   // login user of the image
	SSHPublicKey    string   // authorized key line ("ssh-ed25519 AAAA... comment")
	OperatorCIDR    string   // who may reach port 22, e.g. 203.0.113.7/32
	PrivateCIDR     string   // hcloud private subnet; default 10.0.1.0/24
	ProviderVersion string   // default HcloudVersion or AWSVersion

	Lab LabSpec

	// hostKeys are the machines' SSH host keys by name (cloud targets),
	// filled by open from StateDir/hostkeys.
	hostKeys map[string]HostKey

	// Progress receives the CLI's output; nil discards it.
	Progress io.Writer
}

// LabSpec says what lab the lab target creates (see package lab).
type LabSpec struct {
	Driver string // "process" (default) or "nspawn"
	Subnet string // first three octets of the node addresses
	Engine string // "hactl" (default) or "redis"
	Bridge string // nspawn bridge; "" means the lab's default (hactl0)
	Prefix string // nspawn machine name prefix; "" means the lab's default
	// Dir is the lab's state directory; default StateDir/lab.
	Dir string
}

// LabDir is where the lab target keeps its lab for a state directory
// (LabSpec.Dir's default); the lab's inventory is in there.
func LabDir(stateDir string) string { return filepath.Join(stateDir, "lab") }

// withDefaults returns sp completed with its defaults, or what is wrong.
func (sp Spec) withDefaults() (Spec, error) {
	if sp.Project == "" {
		sp.Project = "hactl"
	}
	if sp.Stack == "" {
		sp.Stack = "default"
	}
	if len(sp.Names) == 0 {
		sp.Names = []string{"db01", "db02", "db03"}
	}
	if sp.Progress == nil {
		sp.Progress = io.Discard
	}
	var errs []error
	if sp.StateDir == "" {
		errs = append(errs, errors.New("state directory: empty (hactl keeps it next to the inventory)"))
	} else if abs, err := filepath.Abs(sp.StateDir); err == nil {
		sp.StateDir = abs
	}
	switch sp.Target {
	case TargetLab:
		if sp.Lab.Driver == "" {
			sp.Lab.Driver = "process"
		}
		if sp.Lab.Engine == "" {
			sp.Lab.Engine = "hactl"
		}
		if sp.Lab.Dir == "" {
			sp.Lab.Dir = LabDir(sp.StateDir)
		}
		sp.DisablePluginAcquisition = true
	case TargetHcloud, TargetAWS:
		d := targetDefaults[sp.Target]
		sp.Size = or(sp.Size, d.size)
		sp.Location = or(sp.Location, d.location)
		sp.Image = or(sp.Image, d.image)
		sp.SSHUser = or(sp.SSHUser, d.user)
		sp.PrivateCIDR = or(sp.PrivateCIDR, "10.0.1.0/24")
		if sp.ProviderVersion == "" {
			sp.ProviderVersion = map[Target]string{TargetHcloud: HcloudVersion, TargetAWS: AWSVersion}[sp.Target]
		}
		if f := strings.Fields(sp.SSHPublicKey); len(f) < 2 || !strings.HasPrefix(f[0], "ssh-") && !strings.HasPrefix(f[0], "ecdsa-") {
			errs = append(errs, errors.New(`ssh public key: want one authorized_keys line ("ssh-ed25519 AAAA... comment")`))
		}
		if p, err := netip.ParsePrefix(sp.OperatorCIDR); err != nil || p.Bits() == 0 {
			errs = append(errs, fmt.Errorf("operator cidr %q: want the address SSH comes from, e.g. 203.0.113.7/32 (never 0.0.0.0/0)", sp.OperatorCIDR))
		}
		if p, err := netip.ParsePrefix(sp.PrivateCIDR); err != nil || !p.Addr().Is4() || p.Bits() > 24 {
			errs = append(errs, fmt.Errorf("private cidr %q: want an IPv4 /24 or larger, e.g. 10.0.1.0/24", sp.PrivateCIDR))
		}
		if len(sp.Names) > 200 {
			errs = append(errs, fmt.Errorf("%d hosts: at most 200", len(sp.Names)))
		}
	default:
		errs = append(errs, fmt.Errorf("target %q: use %s, %s or %s", sp.Target, TargetHcloud, TargetAWS, TargetLab))
	}
	seen := map[string]bool{}
	for _, n := range sp.Names {
		if n == "" || seen[n] || strings.ContainsAny(n, " /:") {
			errs = append(errs, fmt.Errorf("host name %q: want unique names like db01", n))
		}
		seen[n] = true
	}
	if err := errors.Join(errs...); err != nil {
		return sp, fmt.Errorf("pulumi spec: %w", err)
	}
	return sp, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
