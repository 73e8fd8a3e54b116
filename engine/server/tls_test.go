package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf/tlstest"
	"github.com/redis/go-redis/v9"
)

// tlsSettingsForTest is a TLS-only (port 0) server with replication
// settings, f as its certificate, clients authenticated by the CA.
func tlsSettingsForTest(t *testing.T, ca *tlstest.CA, f tlstest.Files, port int) Settings {
	set := replSettingsForTest(t.TempDir())
	set.Port = 0 // TLS only
	set.TLS = TLSSettings{Port: port, CertFile: f.Cert, KeyFile: f.Key, CAFile: ca.CAFile, AuthClients: "yes", Replication: true}
	return set
}

func tlsClient(addr string, cfg *tls.Config, user, pass string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, TLSConfig: cfg, Username: user, Password: pass, MaxRetries: -1,
		DialTimeout: 2 * time.Second})
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	port := freePort(t)
	addr, _ := runServer(t, tlsSettingsForTest(t, ca, node, port))
	// Plaintext is closed (port 0), a client without a certificate is
	// refused (tls-auth-clients yes), a client with one works.
	plain := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Fatal("plaintext PING on the TLS port succeeded")
	}
	plain.Close()
	noCert := tlsClient(addr, ca.ClientConfig(t, tlstest.Files{}), "", "")
	if err := noCert.Ping(ctx).Err(); err == nil {
		t.Fatal("a client without a certificate was accepted with tls-auth-clients yes")
	}
	noCert.Close()
	c := tlsClient(addr, ca.ClientConfig(t, node), "", "")
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// redis-cli --tls with the same CA and certificate.
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		out, err := exec.Command(cli, "--tls", "--cacert", ca.CAFile, "--cert", node.Cert,
			"--key", node.Key, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "GET", "k").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "v" {
			t.Fatalf("redis-cli --tls GET k = %q, %v", out, err)
		}
	}
	// A replica over TLS (tls-replication yes).
	raddr, _ := runServer(t, tlsSettingsForTest(t, ca, node, freePort(t)))
	r := tlsClient(raddr, ca.ClientConfig(t, node), "", "")
	defer r.Close()
	if err := r.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, c, r)
	if v := r.Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("replica over TLS: GET k = %q", v)
	}
}

// TestTLSNegative: a wrong CA on either side, expired certificates and a
// missing client certificate fail the handshake with a clear error, and
// the server keeps serving.
func TestTLSNegative(t *testing.T) {
	ctx := context.Background()
	ca, other := tlstest.NewCA(t, "test"), tlstest.NewCA(t, "other")
	node := ca.IssueValid("node")
	past := time.Now().Add(-48 * time.Hour)
	expired := ca.Issue("expired", past, past.Add(time.Hour))
	addr, _ := runServer(t, tlsSettingsForTest(t, ca, node, freePort(t)))
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		want string
	}{
		{"client trusts another CA", other.ClientConfig(t, node), "certificate signed by unknown authority"},
		{"client certificate from another CA", ca.ClientConfig(t, other.IssueValid("stranger")), "tls"},
		{"expired client certificate", ca.ClientConfig(t, expired), "tls"},
		{"no client certificate", ca.ClientConfig(t, tlstest.Files{}), "certificate"},
	} {
		c := tlsClient(addr, tc.cfg, "", "")
		err := c.Ping(ctx).Err()
		c.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// The server presents an expired certificate: clients refuse it.
	eaddr, _ := runServer(t, tlsSettingsForTest(t, ca, expired, freePort(t)))
	c := tlsClient(eaddr, ca.ClientConfig(t, node), "", "")
	if err := c.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired server certificate: %v", err)
	}
	c.Close()
	good := tlsClient(addr, ca.ClientConfig(t, node), "", "")
	defer good.Close()
	if err := good.Ping(ctx).Err(); err != nil {
		t.Fatalf("the server stopped serving after refused handshakes: %v", err)
	}
	// A server whose files do not load refuses to start, naming them.
	bad := tlsSettingsForTest(t, ca, tlstest.Files{Cert: node.Cert, Key: expired.Key}, freePort(t))
	s := New(&testConfig{set: bad}, slog.New(slog.DiscardHandler))
	if err := s.Listen(ctx); err == nil || !strings.Contains(err.Error(), "tls-key-file") {
		t.Fatalf("mismatched key: Listen = %v", err)
	}
}

// TestTLSReload: CONFIG SET of a tls-* file (and SIGHUP) reloads the
// certificate: an established connection keeps working, a new one sees the
// new certificate; invalid files keep the old one.
func TestTLSReload(t *testing.T) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "test")
	a, b := ca.IssueValid("a"), ca.IssueValid("b")
	port := freePort(t)
	s, addr := startTestServer(t, func(set *Settings) {
		set.Bind = []string{"127.0.0.1"}
		set.Port = 0
		set.TLS = TLSSettings{Port: port, CertFile: a.Cert, KeyFile: a.Key, CAFile: ca.CAFile, AuthClients: "no"}
	})
	peerCN := func() string {
		t.Helper()
		cfg := ca.ClientConfig(t, tlstest.Files{})
		cn := ""
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			cn = cs.PeerCertificates[0].Subject.CommonName
			return nil
		}
		c := tlsClient(addr, cfg, "", "")
		defer c.Close()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		return cn
	}
	old := tlsClient(addr, ca.ClientConfig(t, tlstest.Files{}), "", "")
	defer old.Close()
	if err := old.Set(ctx, "k", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if cn := peerCN(); cn != "a" {
		t.Fatalf("certificate %q, want a", cn)
	}
	reload := func(f tlstest.Files) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.set.TLS.CertFile, s.set.TLS.KeyFile = f.Cert, f.Key
		return s.ReloadTLS()
	}
	if err := reload(b); err != nil {
		t.Fatal(err)
	}
	if err := old.Incr(ctx, "k").Err(); err != nil {
		t.Fatalf("established connection after the reload: %v", err)
	}
	if cn := peerCN(); cn != "b" {
		t.Fatalf("certificate after reload %q, want b", cn)
	}
	if err := reload(tlstest.Files{Cert: a.Cert, Key: b.Key}); err == nil {
		t.Fatal("a mismatched pair was accepted")
	}
	if err := s.ReloadTLSFiles(); err == nil {
		t.Fatal("SIGHUP reload of a mismatched pair succeeded")
	}
	if cn := peerCN(); cn != "b" {
		t.Fatalf("a failed reload changed the certificate to %q", cn)
	}
}

// TestTLSRoleUsers: a TLS-only master with ACL users; a hactl-engine
// replica and a real redis-server replica authenticate as the replica user
// (masteruser/masterauth) over TLS; the replica user cannot run anything
// else.
func TestTLSRoleUsers(t *testing.T) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	port := freePort(t)
	set := tlsSettingsForTest(t, ca, node, port)
	set.Users = [][]string{
		{"default", "on", ">adminpw", "~*", "&*", "+@all"},
		{"replica-user", "on", ">replpw", "-@all", "+psync", "+replconf", "+ping"},
		{"app", "on", ">apppw", "~app:*", "-@all", "+@read", "+@write", "+@connection", "-@dangerous"},
	}
	addr, _ := runServer(t, set)
	cfg := ca.ClientConfig(t, node)
	admin := tlsClient(addr, cfg, "", "adminpw")
	defer admin.Close()
	app := tlsClient(addr, cfg, "app", "apppw")
	defer app.Close()
	if err := app.Set(ctx, "app:1", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := app.Set(ctx, "other", "v", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("app SET other: %v", err)
	}
	repl := tlsClient(addr, cfg, "replica-user", "replpw")
	defer repl.Close()
	if err := repl.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := repl.FlushAll(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("replica user FLUSHALL: %v", err)
	}

	rset := tlsSettingsForTest(t, ca, node, freePort(t))
	rset.Repl.MasterUser, rset.Repl.MasterAuth = "replica-user", "replpw"
	raddr, _ := runServer(t, rset)
	r := tlsClient(raddr, cfg, "", "")
	defer r.Close()
	if err := r.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, admin, r)
	if v := r.Get(ctx, "app:1").Val(); v != "v" {
		t.Fatalf("engine replica over TLS as replica-user: GET = %q", v)
	}

	// A real redis-server 7 replica, TLS only, as replica-user.
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	rport := freePort(t)
	cmd := exec.Command("redis-server", "--port", "0", "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir(),
		"--tls-port", strconv.Itoa(rport), "--tls-cert-file", node.Cert, "--tls-key-file", node.Key,
		"--tls-ca-cert-file", ca.CAFile, "--tls-replication", "yes", "--masteruser", "replica-user", "--masterauth", "replpw",
		"--replicaof", "127.0.0.1", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rr := tlsClient("127.0.0.1:"+strconv.Itoa(rport), cfg, "", "")
	defer rr.Close()
	waitFor(t, "redis-server TLS port", func() bool { return rr.Ping(ctx).Err() == nil })
	waitSynced(t, ctx, admin, rr)
	if v := rr.Get(ctx, "app:1").Val(); v != "v" {
		t.Fatalf("redis-server replica over TLS: GET = %q", v)
	}
}
