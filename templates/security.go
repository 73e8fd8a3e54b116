package templates

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"

	"github.com/hactl/hactl/inventory"
)

// Paths on the hosts of the TLS material and the ACL file, under the
// engine's config directory (/etc/hactl or /etc/redis).
const (
	TLSSubdir     = "tls"
	CAFile        = "ca.pem"     // trust bundle (tls-ca-cert-file)
	CertFile      = "server.pem" // host certificate (tls-cert-file)
	KeyFile       = "server.key" // its key (tls-key-file)
	ACLFileName   = "users.acl"  // aclfile
	HAProxyCAFile = "/etc/haproxy/hactl-ca.pem"
	// HAProxyClientFile holds HAProxy's client certificate and key (crt).
	HAProxyClientFile = "/etc/haproxy/hactl-client.pem"
)

// ConfigDir is the directory of the engine's config on a host.
func ConfigDir(engine inventory.EngineKind) string {
	if engine == inventory.EngineRedis {
		return path.Dir(RedisConfig)
	}
	return path.Dir(EngineConfig)
}

// TLSPaths are the trust bundle, certificate and key paths on a host of
// the given engine (without the lab root).
func TLSPaths(engine inventory.EngineKind) (ca, cert, key string) {
	d := path.Join(ConfigDir(engine), TLSSubdir)
	return path.Join(d, CAFile), path.Join(d, CertFile), path.Join(d, KeyFile)
}

// secView is the security part of the template data.
type secView struct {
	TLS         bool   // tls-* directives
	TLSOnly     bool   // port 0, sentinel on tls-port too
	ReplTLS     bool   // tls-replication yes
	TLSPort     int    // engine tls-port
	AuthClients string // tls-auth-clients
	CA          string // paths as the services see them
	Cert        string
	Key         string
	HAProxyCA   string
	HAProxyCrt  string
	ACLFile     string             // "" without ACL users
	Users       []aclUser          // for the aclfile, default first
	MasterUser  string             // masteruser; "" means the default user
	MasterPass  string             // masterauth
	MonitorUser string             // sentinel auth-user; "" means the default user
	MonitorPass string             // sentinel auth-pass
	CheckUser   string             // user of HAProxy's engine checks; "" means the default user
	CheckPass   string             // its password
	Port        int                // engine plaintext port (0 when TLS only)
	EnginePort  int                // port replicas, sentinels and HAProxy reach engines on
	Material    *inventory.KeyPair // this host's pair; nil without TLS
}

// aclUser is one line of the aclfile.
type aclUser struct {
	Name     string
	Password string
	Rules    []string
}

// addSecurity fills v.Sec from the inventory's security section.
func (v *view) addSecurity(inv *inventory.Inventory, sec *inventory.ResolvedSecrets, root string) error {
	t := inv.Security.TLS
	s := &v.Sec
	s.Port, s.EnginePort = inv.Server.Port, inv.EnginePort()
	s.MasterPass, s.MonitorPass = sec.MasterAuth, sec.RequirePass
	if t.Enabled {
		if sec.TLS == nil {
			return fmt.Errorf("render: security.tls is on but no TLS material was loaded (hactl up generates it)")
		}
		pair, ok := sec.TLS.Hosts[v.Host.Name]
		if !ok && (v.Host.Has(inventory.RoleEngine) || v.Host.Has(inventory.RoleSentinel)) {
			return fmt.Errorf("render: no certificate for host %s (hactl up generates it)", v.Host.Name)
		}
		s.Material = &pair
		s.TLS, s.TLSOnly, s.ReplTLS, s.TLSPort, s.AuthClients = true, t.TLSOnly(), t.ReplicationTLS(), t.Port, t.AuthClients
		if t.TLSOnly() {
			s.Port = 0
		}
		ca, cert, key := TLSPaths(inv.Engine)
		s.CA, s.Cert, s.Key = root+ca, root+cert, root+key
		s.HAProxyCA, s.HAProxyCrt = root+HAProxyCAFile, root+HAProxyClientFile
	}
	if len(inv.Security.ACL.Users) == 0 {
		return nil
	}
	s.ACLFile = root + path.Join(ConfigDir(inv.Engine), ACLFileName)
	s.Users = []aclUser{{Name: "default", Password: sec.RequirePass, Rules: []string{"~*", "&*", "+@all"}}}
	for _, u := range inv.Security.ACL.Users {
		pw, ok := sec.Users[u.Name]
		if !ok || pw == "" {
			return fmt.Errorf("render: no password for ACL user %s", u.Name)
		}
		s.Users = append(s.Users, aclUser{Name: u.Name, Password: pw, Rules: u.Rules()})
		switch u.Role {
		case inventory.RoleReplica:
			s.MasterUser, s.MasterPass = u.Name, pw
		case inventory.RoleSentinelUser:
			s.MonitorUser, s.MonitorPass = u.Name, pw
		case inventory.RoleMonitor:
			s.CheckUser, s.CheckPass = u.Name, pw
		}
	}
	return nil
}

// securityJobs lists the TLS files and the aclfile host h needs.
func securityJobs(v *view, h *inventory.Host, svc string) []job {
	s := v.Sec
	var jobs []job
	secret := func(p, owner string, content []byte) {
		jobs = append(jobs, job{file: File{Path: p, Mode: 0o600, Owner: owner, Content: content}})
	}
	if s.TLS && (h.Has(inventory.RoleEngine) || h.Has(inventory.RoleSentinel)) {
		secret(s.CA, svc, v.Secrets.TLS.TrustPEM)
		secret(s.Cert, svc, s.Material.CertPEM)
		secret(s.Key, svc, s.Material.KeyPEM)
	}
	if s.ACLFile != "" && h.Has(inventory.RoleEngine) {
		jobs = append(jobs, job{tmpl: "users.acl.tmpl", file: File{Path: s.ACLFile, Mode: 0o600, Owner: svc}})
	}
	if s.TLS && h.Has(inventory.RoleHAProxy) {
		c := v.Secrets.TLS.Client
		secret(s.HAProxyCA, "root:root", v.Secrets.TLS.TrustPEM)
		secret(s.HAProxyCrt, "root:root", append(append([]byte{}, c.CertPEM...), c.KeyPEM...))
	}
	return jobs
}

// sha256Hex is the aclfile's #<hash> form of a password.
func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
