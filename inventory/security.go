package inventory

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// UserRole says what hactl uses an ACL user for.
type UserRole string

// The ACL user roles.
const (
	// RoleApp is an application user: its keys, channels and commands
	// come from the inventory.
	RoleApp UserRole = "app"
	// RoleReplica is the user replicas authenticate with (masteruser):
	// only what replication needs.
	RoleReplica UserRole = "replica"
	// RoleSentinelUser is the user sentinels authenticate with (sentinel
	// auth-user): only what Sentinel needs.
	RoleSentinelUser UserRole = "sentinel"
	// RoleMonitor is the user HAProxy's health checks authenticate with
	// on the engines: only what the checks send.
	RoleMonitor UserRole = "monitor"
)

var userRoles = []string{string(RoleApp), string(RoleReplica), string(RoleSentinelUser), string(RoleMonitor)}

// ReplicaCommands are the rules of a replica user without commands:
// what a replica sends to its master (Redis's ACL documentation).
var ReplicaCommands = []string{"+psync", "+replconf", "+ping"}

// SentinelCommands are the rules of a sentinel user without commands: what
// Sentinel sends to the servers it monitors (Redis's sentinel
// documentation), plus its hello channel.
var SentinelCommands = []string{"+multi", "+slaveof", "+replicaof", "+ping", "+exec", "+subscribe", "+config|rewrite",
	"+role", "+publish", "+info", "+client|setname", "+client|kill", "+script|kill"}

// MonitorCommands are the rules of a monitor user without commands:
// exactly what HAProxy's engine checks send after AUTH (always allowed):
// PING, INFO replication and QUIT (Redis 7.0 lets any user QUIT,
// hactl-engine checks it like any command).
var MonitorCommands = []string{"+ping", "+info", "+quit"}

// StateDir is where hactl keeps what it generates for an inventory
// (passwords, TLS material): .hactl beside the inventory file.
func StateDir(inv *Inventory) string { return filepath.Join(filepath.Dir(inv.File), ".hactl") }

// TLSDir is the local directory of the service's TLS material.
func TLSDir(inv *Inventory) string { return filepath.Join(StateDir(inv), "tls") }

// User returns the ACL user with the given role; app users are many, so
// ask for replica, sentinel or monitor.
func (a ACL) User(r UserRole) (User, bool) {
	for _, u := range a.Users {
		if u.Role == r {
			return u, true
		}
	}
	return User{}, false
}

// Rules are the ACL rules of u after its password: key and channel
// patterns and commands, with the role's defaults.
func (u User) Rules() []string {
	var out []string
	for _, k := range u.Keys {
		out = append(out, "~"+k)
	}
	chans := u.Channels
	if u.Role == RoleSentinelUser && len(chans) == 0 {
		chans = []string{"*"}
	}
	for _, c := range chans {
		out = append(out, "&"+c)
	}
	cmds := u.Commands
	if len(cmds) == 0 {
		switch u.Role {
		case RoleReplica:
			cmds = ReplicaCommands
		case RoleSentinelUser:
			cmds = SentinelCommands
		case RoleMonitor:
			cmds = MonitorCommands
		}
	}
	return append(out, cmds...)
}

// defaultUser fills a user's role and, without a password source, points
// it at a generated password file in the state directory.
func (p *parser) defaultUser(u *User, field string) {
	if u.Role == "" {
		u.Role = RoleApp
	}
	if u.Password.Source == "" && u.Name != "" {
		dir := filepath.Join(filepath.Dir(p.d.file), ".hactl", "secrets")
		u.Password = SecretRef{Source: SecretFile, Ref: filepath.Join(dir, "acl-"+u.Name), Field: field + ".password",
			Pos: u.Pos, Generated: true}
	}
}

// checkUsers reports a second replica, sentinel or monitor user.
func (p *parser) checkUsers() {
	first := map[UserRole]int{}
	for i, u := range p.inv.Security.ACL.Users {
		if u.Role == RoleApp {
			continue
		}
		field := fmt.Sprintf("security.acl.users[%d].role", i)
		if line, ok := first[u.Role]; ok {
			p.d.errorAt(field, "keep one "+string(u.Role)+" user", "second %s user (first at line %d)", u.Role, line)
			continue
		}
		first[u.Role] = u.Pos.Line
	}
	t := p.inv.Security.TLS
	if t.MinValidity >= t.RenewBefore {
		p.d.errorAt("security.tls.min_validity", "min_validity must be shorter than renew_before (verify warns first, then fails)",
			"min_validity %s is not shorter than renew_before %s", t.MinValidity, t.RenewBefore)
	}
}

// GenerateSecrets creates the missing generated password files of inv
// (random, 32 bytes of entropy, mode 0600 in a 0700 directory) and returns
// their paths. Existing files are kept.
func GenerateSecrets(inv *Inventory) ([]string, error) {
	var made []string
	for _, u := range inv.Security.ACL.Users {
		ref := u.Password
		if !ref.Generated {
			continue
		}
		if _, err := os.Stat(ref.Ref); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return made, fmt.Errorf("password file of user %s: %w", u.Name, err)
		}
		if err := os.MkdirAll(filepath.Dir(ref.Ref), 0o700); err != nil {
			return made, fmt.Errorf("create secrets directory: %w", err)
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return made, fmt.Errorf("random password: %w", err)
		}
		f, err := os.OpenFile(ref.Ref, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return made, fmt.Errorf("password file of user %s: %w", u.Name, err)
		}
		_, err = f.WriteString(base64.RawURLEncoding.EncodeToString(b) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return made, fmt.Errorf("write password file of user %s: %w", u.Name, err)
		}
		made = append(made, ref.Ref)
	}
	return made, nil
}

// TLSMaterial is the PEM material of a TLS setup, kept by package certs
// and loaded by hactl before rendering. Never log it.
type TLSMaterial struct {
	TrustPEM []byte             // the CAs hosts trust (current, and previous during a CA rotation)
	Hosts    map[string]KeyPair // by host name
	Client   KeyPair            // hactl's own client certificate (verify, HAProxy checks)
}

// KeyPair is a certificate and its private key, PEM.
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// TLSOnly reports whether the plaintext port is closed.
func (t TLS) TLSOnly() bool { return t.Enabled && !t.Plaintext }

// ReplicationTLS reports whether replicas and sentinels talk TLS to the
// engines: always when the plaintext port is closed.
func (t TLS) ReplicationTLS() bool { return t.Enabled && (t.Replication || !t.Plaintext) }

// EnginePort is the port replicas, sentinels and HAProxy use to reach an
// engine: the TLS port when replication runs over TLS, else server.port.
func (inv *Inventory) EnginePort() int {
	if inv.Security.TLS.ReplicationTLS() {
		return inv.Security.TLS.Port
	}
	return inv.Server.Port
}
