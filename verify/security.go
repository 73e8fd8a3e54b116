package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/redis/go-redis/v9"
)

// Security is what verify checks when the inventory's security section is
// on; nil means no security checks.
type Security struct {
	// PlainPorts are the engines' plaintext addresses that must be closed
	// (security.tls.plaintext: false).
	PlainPorts []Node
	// Users are the ACL users to log in as and to probe.
	Users []UserCheck
	// CertWarn and CertMin: an engine's certificate with less than CertMin
	// left fails, with less than CertWarn left passes with a warning.
	CertWarn, CertMin time.Duration
	// ClientCertRequired: engines must refuse TLS clients without a
	// certificate (security.tls.auth_clients: yes).
	ClientCertRequired bool
	// TLSErr is why hactl's client TLS configuration could not be built
	// from the loaded material; the TLS checks report it.
	TLSErr error
	Now    func() time.Time // nil means time.Now
}

// UserCheck is one ACL user and its role.
type UserCheck struct {
	Name     string
	Password string
	Role     inventory.UserRole
	Keys     []string // the app user's key patterns
}

// tlsSetup fills the TLS settings of c from the inventory: the client
// configuration (hactl's client certificate, the trust bundle) and which
// addresses speak TLS. Without loaded material (sec.TLS nil) or with
// unreadable material, TLS connections fail their handshake.
func (c *Config) tlsSetup(inv *inventory.Inventory, sec *inventory.ResolvedSecrets) {
	t := inv.Security.TLS
	s := &Security{CertWarn: t.RenewBefore, CertMin: t.MinValidity, ClientCertRequired: t.AuthClients == "yes"}
	if t.Enabled {
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
		if sec.TLS == nil {
			s.TLSErr = errors.New("no TLS material loaded")
		} else if cfg, err := ClientTLS(sec.TLS.TrustPEM, sec.TLS.Client.CertPEM, sec.TLS.Client.KeyPEM); err != nil {
			s.TLSErr = err
		} else {
			c.TLS = cfg
		}
		c.tlsAddrs = map[string]bool{}
		if t.ReplicationTLS() {
			for _, n := range append(append([]Node{}, c.Engines...), c.Proxies...) {
				c.tlsAddrs[n.Addr] = true
			}
		}
		if t.TLSOnly() {
			for _, n := range c.Sentinels {
				c.tlsAddrs[n.Addr] = true
			}
		}
	}
	if t.TLSOnly() {
		for _, h := range inv.HostsWith(inventory.RoleEngine) {
			s.PlainPorts = append(s.PlainPorts, Node{h.Name, net.JoinHostPort(h.AnnounceAddress(), strconv.Itoa(inv.Server.Port))})
		}
	}
	for _, u := range inv.Security.ACL.Users {
		s.Users = append(s.Users, UserCheck{Name: u.Name, Password: sec.Users[u.Name], Role: u.Role, Keys: u.Keys})
	}
	if t.Enabled || len(s.Users) > 0 {
		c.Security = s
	}
}

// ClientTLS builds a client TLS configuration from PEM: the CAs to trust
// and the client certificate to offer (tls-auth-clients yes).
func ClientTLS(trustPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(trustPEM) {
		return nil, errors.New("verify: the trust bundle holds no PEM certificate")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if len(certPEM) > 0 {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("verify: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// tlsFor is the TLS configuration for addr, nil for plaintext.
func (c Config) tlsFor(addr string) *tls.Config {
	if c.TLS == nil || !c.tlsAddrs[addr] {
		return nil
	}
	return c.TLS.Clone()
}

// userClient opens a client that logs in as user.
func (c Config) userClient(addr, user, password string) *redis.Client {
	t := c.timeout()
	return redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: password, DialTimeout: t, ReadTimeout: t, WriteTimeout: t,
		MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true, TLSConfig: c.tlsFor(addr)})
}

// checkSecurity runs the security checks against the master (users) and
// every engine (ports, certificates).
func (c Config) checkSecurity(ctx context.Context, master *engineView, add addFunc) {
	s := c.Security
	if s == nil {
		return
	}
	for _, n := range s.PlainPorts {
		d := net.Dialer{Timeout: c.timeout()}
		conn, err := d.DialContext(ctx, "tcp", n.Addr)
		if err == nil {
			conn.Close()
		}
		add(n.Name, "plaintext-closed", err != nil, "plaintext "+n.Addr+": "+errDetail(err, "open"),
			"security.tls.plaintext is false but the engine listens in plaintext: run hactl up")
	}
	if s.TLSErr != nil {
		add("hactl", "client-tls", false, "hactl's client TLS configuration: "+s.TLSErr.Error(),
			"check .hactl/tls (client.pem, client.key, trust.pem): hactl certs status")
	}
	if c.TLS != nil {
		for _, e := range c.Engines {
			if c.tlsAddrs[e.Addr] {
				c.checkCert(ctx, e, add)
				if s.ClientCertRequired {
					c.checkNoClientCert(ctx, e, add)
				}
			}
		}
	}
	if master == nil || master.Err != nil {
		return
	}
	for _, u := range s.Users {
		c.checkUser(ctx, master.Node, u, add)
	}
}

// checkCert reads the certificate an engine presents and checks its
// remaining validity.
func (c Config) checkCert(ctx context.Context, n Node, add addFunc) {
	now := time.Now()
	if c.Security.Now != nil {
		now = c.Security.Now()
	}
	cert, err := ServedCertificate(ctx, c, n.Addr)
	if err != nil {
		add(n.Name, "certificate", false, err.Error(),
			"the engine's certificate is not signed by the hactl CA, expired, or lacks this address: run hactl certs status")
		return
	}
	left := cert.NotAfter.Sub(now)
	days := fmt.Sprintf("%s: expires %s (%d days left)", cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
	switch {
	case left < c.Security.CertMin:
		add(n.Name, "certificate", false, days, "rotate now: hactl certs rotate")
	case left < c.Security.CertWarn:
		add(n.Name, "certificate", true, "warn: "+days, "rotate soon: hactl certs rotate")
	default:
		add(n.Name, "certificate", true, days, "")
	}
}

// ServedCertificate is the certificate the node at addr presents in a TLS
// handshake with hactl's client configuration (verified against the trust
// bundle, hactl's client certificate offered).
func ServedCertificate(ctx context.Context, c Config, addr string) (*x509.Certificate, error) {
	cfg := c.tlsFor(addr)
	if cfg == nil {
		return nil, fmt.Errorf("%s does not speak TLS in this inventory", addr)
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: c.timeout()}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// checkNoClientCert: a TLS client without a certificate must be refused
// (tls-auth-clients yes) with a TLS certificate error; any other error
// (the engine is down, a timeout) does not show that it would be.
func (c Config) checkNoClientCert(ctx context.Context, n Node, add addFunc) {
	cfg := c.tlsFor(n.Addr)
	cfg.Certificates = nil
	t := c.timeout()
	cl := redis.NewClient(&redis.Options{Addr: n.Addr, Password: c.Password, DialTimeout: t, ReadTimeout: t, WriteTimeout: t,
		MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true, TLSConfig: cfg})
	defer cl.Close()
	err := cl.Ping(ctx).Err()
	hint := "the engine accepts TLS clients without a certificate: run hactl up (security.tls.auth_clients is yes)"
	if err != nil {
		hint = "the engine did not answer with a TLS certificate error: is it running? (hactl status)"
	}
	add(n.Name, "client-certificate", TLSCertError(err), "PING without a client certificate: "+errDetail(err, "PONG"), hint)
}

// checkUser logs in as u on the master and checks that its role's limits
// hold. Destructive commands are probed with ACL DRYRUN (as the default
// user), never run.
func (c Config) checkUser(ctx context.Context, n Node, u UserCheck, add addFunc) {
	cl := c.userClient(n.Addr, u.Name, u.Password)
	defer cl.Close()
	err := cl.Ping(ctx).Err()
	loginOK := err == nil || strings.HasPrefix(err.Error(), "NOPERM") // logged in, PING not allowed
	add(n.Name, "user:"+u.Name, loginOK, "AUTH as "+u.Name+": "+errDetail(err, "ok"),
		"the user cannot log in: run hactl up (aclfile) and check its password source")
	if !loginOK {
		return
	}
	admin := c.client(n.Addr, c.Password)
	defer admin.Close()
	deny := func(what string, args ...any) {
		res, err := admin.Do(ctx, append([]any{"ACL", "DRYRUN", u.Name}, args...)...).Text()
		ok := err == nil && res != "OK"
		add(n.Name, "user:"+u.Name, ok, fmt.Sprintf("%s: %s", what, errDetail(err, res)),
			"the user may do more than its role: check security.acl.users")
	}
	switch u.Role {
	case inventory.RoleReplica:
		deny("FLUSHALL refused", "FLUSHALL")
		deny("GET refused", "GET", "x")
	case inventory.RoleSentinelUser:
		deny("FLUSHALL refused", "FLUSHALL")
		deny("SET refused", "SET", "x", "y")
	case inventory.RoleMonitor:
		deny("GET refused", "GET", "x")
		deny("SET refused", "SET", "x", "y")
		deny("CONFIG refused", "CONFIG", "GET", "requirepass")
	default:
		if len(u.Keys) > 0 {
			// A read outside its patterns, really run: harmless if allowed.
			key := "hactl-verify-outside:" + strconv.FormatInt(time.Now().UnixNano(), 36)
			err := cl.Exists(ctx, key).Err()
			ok := err != nil && strings.HasPrefix(err.Error(), "NOPERM")
			add(n.Name, "user:"+u.Name, ok, "EXISTS outside its keys: "+errDetail(err, "allowed"),
				"the user reaches keys outside security.acl.users[].keys")
		}
	}
}

// ConfigSet runs CONFIG SET name value [name value ...] on the engine at
// addr as the default user (hactl certs rotate reloads certificates so).
func ConfigSet(ctx context.Context, c Config, addr string, kv ...string) error {
	cl := c.client(addr, c.Password)
	defer cl.Close()
	args := []any{"CONFIG", "SET"}
	for _, s := range kv {
		args = append(args, s)
	}
	if err := cl.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("CONFIG SET on %s: %w", addr, err)
	}
	return nil
}

// TLSCertError reports whether err is a TLS certificate failure: ours
// rejected (an x509 verification error) or the peer's alert about our
// certificate (bad, unknown CA, expired, required...). A plaintext peer
// on a TLS port ("first record does not look like a TLS handshake") or a
// closed port is not one.
func TLSCertError(err error) bool {
	if err == nil {
		return false
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		switch alert {
		case 42, 43, 44, 45, 46, 48, 116: // bad, unsupported, revoked, expired, unknown certificate, unknown CA, certificate required
			return true
		}
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return true
	}
	// Errors that crossed a string boundary (go-redis wraps some).
	m := err.Error()
	if strings.Contains(m, "x509: ") {
		return true
	}
	for _, a := range []string{"bad certificate", "unsupported certificate", "revoked certificate", "expired certificate",
		"unknown certificate", "unknown certificate authority", "certificate required"} {
		if strings.Contains(m, "tls: "+a) {
			return true
		}
	}
	return false
}
