package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
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
	// HACTL_TEST_IO_MODEL=eventloop serves the TLS clients from the loop.
	set.IOModel = os.Getenv("HACTL_TEST_IO_MODEL")
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
	rr := startRedisTLS(t, ca, node, "--tls-replication", "yes", "--masteruser", "replica-user", "--masterauth", "replpw",
		"--replicaof", "127.0.0.1", strconv.Itoa(port))
	defer rr.Close()
	waitSynced(t, ctx, admin, rr)
	if v := rr.Get(ctx, "app:1").Val(); v != "v" {
		t.Fatalf("redis-server replica over TLS: GET = %q", v)
	}
}

// hookConfig is a testConfig whose CONFIG SET takes port and tls-port and
// calls the change hook like engine/config: every new value in place
// first, the old ones restored and re-reported when the hook fails.
type hookConfig struct {
	testConfig
	hook func(string) error
}

func (h *hookConfig) SetChangeHook(f func(string) error) { h.hook = f }

func (h *hookConfig) Set(args []string) ([]string, error) {
	old := h.set
	var changed []string
	for i := 0; i+1 < len(args); i += 2 {
		n, err := strconv.Atoi(args[i+1])
		if err != nil {
			return nil, fmt.Errorf("ERR bad value %q", args[i+1])
		}
		switch args[i] {
		case "port":
			h.set.Port = n
		case "tls-port":
			h.set.TLS.Port = n
		default:
			return nil, fmt.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", args[i])
		}
		changed = append(changed, args[i])
	}
	for i, name := range changed {
		if err := h.hook(name); err != nil {
			h.set = old
			for _, done := range changed[:i+1] {
				_ = h.hook(done)
			}
			return nil, fmt.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, err)
		}
	}
	return changed, nil
}

// withHookConfig makes s's CONFIG SET go through a hookConfig.
func withHookConfig(s *Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hc := &hookConfig{testConfig: testConfig{set: s.set}}
	hc.SetChangeHook(s.applyChange)
	s.cfg = hc
}

// busyPort returns a loopback port held by another listener until the
// test ends.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestConfigSetPort: CONFIG SET port and tls-port open the new listener
// and close the old one; a port that cannot be bound fails with Redis's
// text and changes nothing (not even the other directives of the
// command); established connections, plain (event loop) and TLS, stay.
func TestConfigSetPort(t *testing.T) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	s, addr := startTestServer(t, func(set *Settings) {
		set.TLS = TLSSettings{CertFile: node.Cert, KeyFile: node.Key, CAFile: ca.CAFile, AuthClients: "no"}
	})
	withHookConfig(s)
	cfg := ca.ClientConfig(t, tlstest.Files{})
	admin := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1})
	defer admin.Close()
	id := admin.ClientID(ctx).Val()
	if err := admin.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	at := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	reachable := func(addr string, tcfg *tls.Config) bool {
		c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tcfg, MaxRetries: -1, DialTimeout: time.Second})
		defer c.Close()
		return c.Get(ctx, "k").Val() == "v"
	}
	configSet := func(args ...any) error {
		t.Helper()
		err := admin.Do(ctx, append([]any{"config", "set"}, args...)...).Err()
		if got := admin.ClientID(ctx).Val(); got != id {
			t.Fatalf("CONFIG SET %v: the connection changed (id %d, was %d)", args, got, id)
		}
		return err
	}
	const failed = "ERR CONFIG SET failed (possibly related to argument '%s') - Unable to listen on this port. Check server logs."

	busy, plain, plain2, tport := busyPort(t), freePort(t), freePort(t), freePort(t)
	for _, tc := range []struct {
		name    string
		args    []any
		wantErr string
		open    []string // reachable afterwards: "plain:ADDR" or "tls:ADDR"
		closed  []string
	}{
		{"port in use", []any{"port", busy}, fmt.Sprintf(failed, "port"), []string{"plain:" + addr}, nil},
		{"new port", []any{"port", plain}, "", []string{"plain:" + at(plain)}, []string{"plain:" + addr}},
		{"tls-port", []any{"tls-port", tport}, "", []string{"plain:" + at(plain), "tls:" + at(tport)}, nil},
		{"tls-port in use rolls port back", []any{"port", plain2, "tls-port", busy}, fmt.Sprintf(failed, "tls-port"),
			[]string{"plain:" + at(plain), "tls:" + at(tport)}, []string{"plain:" + at(plain2)}},
		{"port 0", []any{"port", 0}, "", []string{"tls:" + at(tport)}, []string{"plain:" + at(plain)}},
		{"port back", []any{"port", plain2}, "", []string{"plain:" + at(plain2)}, nil},
		{"tls-port 0", []any{"tls-port", 0}, "", []string{"plain:" + at(plain2)}, []string{"tls:" + at(tport)}},
	} {
		err := configSet(tc.args...)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
			t.Fatalf("%s: CONFIG SET %v = %v, want %q", tc.name, tc.args, err, tc.wantErr)
		}
		for want, addrs := range map[bool][]string{true: tc.open, false: tc.closed} {
			for _, a := range addrs {
				kind, hp, _ := strings.Cut(a, ":")
				var tcfg *tls.Config
				if kind == "tls" {
					tcfg = cfg
				}
				if got := reachable(hp, tcfg); got != want {
					t.Errorf("%s: %s reachable = %v, want %v", tc.name, a, got, want)
				}
			}
		}
	}
	if n := len(s.Addrs()); n != 1 {
		t.Errorf("%d listeners left, want 1 (%v)", n, s.Addrs())
	}
}

// TestConfigSetTLSPortUnconfigured: tls-port without certificate files
// fails like Redis and opens nothing.
func TestConfigSetTLSPortUnconfigured(t *testing.T) {
	ctx := context.Background()
	s, addr := startTestServer(t, nil)
	withHookConfig(s)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	err := c.Do(ctx, "config", "set", "tls-port", freePort(t)).Err()
	const want = "ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to update TLS configuration. Check server logs."
	if err == nil || err.Error() != want {
		t.Fatalf("CONFIG SET tls-port without files = %v, want %q", err, want)
	}
	if n := len(s.Addrs()); n != 1 {
		t.Errorf("%d listeners, want 1", n)
	}
}

// startRedisTLS starts a TLS-only real redis-server 7 with f as its
// certificate (skipping the test when none is installed) and returns a
// client with the same certificate; args are more redis-server options.
func startRedisTLS(t *testing.T, ca *tlstest.CA, f tlstest.Files, args ...string) *redis.Client {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	port := freePort(t)
	cmd := exec.Command("redis-server", append([]string{"--port", "0", "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir(),
		"--tls-port", strconv.Itoa(port), "--tls-cert-file", f.Cert, "--tls-key-file", f.Key,
		"--tls-ca-cert-file", ca.CAFile}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := tlsClient("127.0.0.1:"+strconv.Itoa(port), ca.ClientConfig(t, f), "", "")
	t.Cleanup(func() { c.Close() })
	waitFor(t, "redis-server TLS port", func() bool {
		err := c.Ping(context.Background()).Err()
		return err == nil || strings.HasPrefix(err.Error(), "NOAUTH")
	})
	return c
}

// TestTLSReplicaOfRedis: hactl-engine replicates over TLS from a real
// redis-server 7 master, authenticating as a replica ACL user
// (masteruser/masterauth) with its client certificate.
func TestTLSReplicaOfRedis(t *testing.T) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	m := startRedisTLS(t, ca, node, "--tls-replication", "yes", "--repl-diskless-sync-delay", "0",
		"--user", "default", "on", ">adminpw", "~*", "&*", "+@all",
		"--user", "replica-user", "on", ">replpw", "-@all", "+psync", "+replconf", "+ping")
	admin := tlsClient(m.Options().Addr, m.Options().TLSConfig, "", "adminpw")
	defer admin.Close()
	for i := range 100 {
		if err := admin.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, mport, _ := net.SplitHostPort(m.Options().Addr)

	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "replica-user", "nope"},
		{"replica user", "replica-user", "replpw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := tlsSettingsForTest(t, ca, node, freePort(t))
			set.Repl.MasterUser, set.Repl.MasterAuth = tc.user, tc.pass
			raddr, _ := runServer(t, set)
			r := tlsClient(raddr, ca.ClientConfig(t, node), "", "")
			defer r.Close()
			if err := r.SlaveOf(ctx, "127.0.0.1", mport).Err(); err != nil {
				t.Fatal(err)
			}
			if tc.pass != "replpw" {
				// The master logs the refused AUTH of replica-user.
				waitFor(t, "the master's ACL LOG entry", func() bool {
					entries, _ := admin.Do(ctx, "acl", "log").Val().([]any)
					for _, e := range entries {
						if strings.Contains(fmt.Sprint(e), "replica-user") {
							return true
						}
					}
					return false
				})
				if st := infoField(ctx, r, "replication", "master_link_status"); st != "down" {
					t.Fatalf("a wrong masterauth: master_link_status %q", st)
				}
				return
			}
			waitSynced(t, ctx, admin, r)
			if err := admin.Set(ctx, "after", "sync", 0).Err(); err != nil {
				t.Fatal(err)
			}
			waitSynced(t, ctx, admin, r)
			if n := r.DBSize(ctx).Val(); n != 101 {
				t.Errorf("replica DBSIZE %d, want 101", n)
			}
			if v := r.Get(ctx, "after").Val(); v != "sync" {
				t.Errorf("replica GET after = %q", v)
			}
			list := admin.ClientList(ctx).Val()
			if !strings.Contains(list, "user=replica-user") || !strings.Contains(list, "flags=S") {
				t.Errorf("the master does not list a replica logged in as replica-user:\n%s", list)
			}
		})
	}
}
