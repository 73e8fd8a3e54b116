package inventory

import (
	"net/netip"
	"time"
)

// EngineKind says which server software hactl installs on the data hosts.
type EngineKind string

// The engines hactl can install.
const (
	// EngineHactl is hactl's own hactl-engine and hactl-sentinel (the default).
	EngineHactl EngineKind = "hactl"
	// EngineRedis is the distribution's redis-server and redis-sentinel
	// packages, useful for comparison.
	EngineRedis EngineKind = "redis"
)

// Provider says where the hosts come from.
type Provider string

// The providers hactl knows.
const (
	ProviderSSH     Provider = "ssh"
	ProviderVagrant Provider = "vagrant"
	ProviderPulumi  Provider = "pulumi"
	ProviderLab     Provider = "lab"
)

// Role is one job a host does.
type Role string

// The roles a host can have. Hosts without a roles key are engine and
// sentinel hosts.
const (
	RoleEngine   Role = "engine"
	RoleSentinel Role = "sentinel"
	RoleHAProxy  Role = "haproxy"
)

// Pos is a 1-based position in the inventory file; the zero Pos means
// "not from the file" (a default).
type Pos struct {
	Line int
	Col  int
}

// Inventory is a parsed, validated inventory with every default filled in.
// The templates consume it; it holds secret sources, never secret values
// (see ResolveSecrets).
type Inventory struct {
	File     string     // path the inventory was read from, as given
	Service  string     // sentinel master name, e.g. "mymaster"
	Engine   EngineKind // which engine to install
	Provider Provider   // where the hosts come from
	Master   string     // name of the initial master host (bootstrap only)
	Hosts    []Host     // in file order
	Server   Server     // engine settings shared by every engine host
	Sentinel Sentinel   // sentinel settings
	Secrets  Secrets    // where the passwords come from
	HAProxy  HAProxy    // proxy settings, used by hosts with the haproxy role
	Security Security   // TLS and ACL settings (issue 12)
	Pulumi   Pulumi     // the stack that creates the hosts (provider pulumi)
	Vagrant  Vagrant    // the VMs that are the hosts (provider vagrant)
}

// Host is one machine of the inventory.
type Host struct {
	Name            string
	Address         string   // IP or hostname hactl connects to
	Announce        string   // address announced to peers (NAT); "" means Address
	Bind            []string // addresses the engine and sentinel listen on, besides 127.0.0.1
	ReplicaPriority int      // replica-priority; 0 means never promoted
	Roles           []Role   // sorted: engine, sentinel, haproxy
	SSH             SSH      // per-host SSH settings merged over the defaults
	Pos             Pos      // where the host is declared
}

// SSH holds how hactl reaches a host.
type SSH struct {
	User       string
	Port       int
	Key        string // private key file; "" means ssh-agent
	Jump       string // jump host as [user@]host[:port]; "" means none
	KnownHosts string // known_hosts file used to verify host keys
	// StrictHostKeyChecking refuses hosts whose key is unknown or changed;
	// turning it off is an explicit opt-out.
	StrictHostKeyChecking bool
}

// Server holds the engine (redis.conf) settings.
type Server struct {
	Port            int
	Save            []SavePoint // empty means snapshots disabled (save "")
	AppendOnly      bool
	AppendFsync     string // always, everysec or no
	AppendFilename  string
	MaxMemory       int64  // bytes; 0 means no limit
	MaxMemoryPolicy string // "" means the engine's default (noeviction)
	Extra           []Directive
}

// SavePoint is one "save SECONDS CHANGES" rule.
type SavePoint struct {
	Seconds int
	Changes int
}

// Directive is one extra redis.conf line: Name then Args as written.
type Directive struct {
	Name string
	Args string
}

// Sentinel holds the sentinel settings.
type Sentinel struct {
	Port            int
	Quorum          int
	Profile         string // ProfileSeed or ProfileFast
	DownAfter       time.Duration
	FailoverTimeout time.Duration
	ParallelSyncs   int
}

// Secrets says where each password comes from.
type Secrets struct {
	RequirePass SecretRef // clients and replicas authenticate with it
	MasterAuth  SecretRef // replicas send it to the master; defaults to RequirePass
	Sentinel    SecretRef // sentinel's own requirepass; defaults to RequirePass
}

// SecretSource says how a secret is read.
type SecretSource string

// The secret sources.
const (
	SecretFile  SecretSource = "file"  // Ref is a path, relative to the inventory file's directory
	SecretEnv   SecretSource = "env"   // Ref is an environment variable name
	SecretValue SecretSource = "value" // Ref is the secret itself (warned against)
)

// SecretRef is the source of one secret.
type SecretRef struct {
	Source SecretSource
	Ref    string
	Field  string // inventory field it came from, for messages
	Pos    Pos
	// Generated marks a file hactl creates with a random password when it
	// is missing (GenerateSecrets); Source is SecretFile.
	Generated bool
}

// HAProxy holds the proxy settings.
type HAProxy struct {
	Port          int
	CheckInterval time.Duration
	MaxConn       int
}

// Security holds the TLS and ACL settings (docs/security.md).
type Security struct {
	TLS TLS
	ACL ACL
}

// TLS holds the TLS settings of issue 12.
type TLS struct {
	Enabled      bool
	Port         int           // tls-port
	Plaintext    bool          // keep the plaintext port open
	AuthClients  string        // yes, no or optional
	Replication  bool          // replicas talk TLS to the master
	CACert       string        // CA certificate file; "" means hactl generates a CA
	CAKey        string        // CA key file; required with CACert
	CertValidity time.Duration // lifetime of generated host certificates
	RenewBefore  time.Duration // rotate when less than this is left; verify warns
	MinValidity  time.Duration // verify fails when less than this is left
}

// ACL holds the ACL users of issue 12.
type ACL struct {
	Users []User
}

// User is one ACL user.
type User struct {
	Name     string
	Role     UserRole  // what hactl uses the user for
	Password SecretRef // Generated when the inventory gives none
	Keys     []string  // key patterns, without the leading "~"
	Channels []string  // pub/sub channel patterns, without the leading "&"
	Commands []string  // rules such as "+@read", "-flushall"
	Pos      Pos
}

// Host returns the host with the given name.
func (inv *Inventory) Host(name string) (*Host, bool) {
	for i := range inv.Hosts {
		if inv.Hosts[i].Name == name {
			return &inv.Hosts[i], true
		}
	}
	return nil, false
}

// HostsWith returns the hosts that have role r, in file order.
func (inv *Inventory) HostsWith(r Role) []Host {
	var hs []Host
	for _, h := range inv.Hosts {
		if h.Has(r) {
			hs = append(hs, h)
		}
	}
	return hs
}

// Has reports whether the host has role r.
func (h *Host) Has(r Role) bool {
	for _, x := range h.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// AnnounceAddress is the address peers use to reach the host: Announce when
// set, else Address.
func (h *Host) AnnounceAddress() string {
	if h.Announce != "" {
		return h.Announce
	}
	return h.Address
}

// IsIP reports whether s is an IP address (v4 or v6, no zone).
func IsIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}
