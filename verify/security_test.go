package verify

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/certs"
	"github.com/hactl/hactl/inventory"
)

// tlsPKI is a CA with a server and a client certificate.
type tlsPKI struct {
	ca             *certs.CA
	server, client *certs.Leaf
}

func newPKI(t *testing.T) tlsPKI {
	t.Helper()
	now := time.Now()
	ca, err := certs.NewCA("test CA", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(certs.Request{CommonName: "db01", Names: []string{"127.0.0.1"}, Validity: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ca.Issue(certs.Request{CommonName: "client", Validity: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	return tlsPKI{ca, srv, cl}
}

// serveRESP runs a TLS server on loopback that answers every line with
// +PONG (enough for PING, AUTH and HELLO-less go-redis clients) and
// returns its address.
func serveRESP(t *testing.T, p tlsPKI, auth tls.ClientAuthType) string {
	t.Helper()
	pair, err := tls.X509KeyPair(p.server.CertPEM, p.server.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if !strings.HasPrefix(line, "*") && !strings.HasPrefix(line, "$") {
						fmt.Fprint(conn, "+PONG\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func tlsConfig(t *testing.T, p tlsPKI, caPEM []byte) Config {
	t.Helper()
	cfg, err := ClientTLS(caPEM, p.client.CertPEM, p.client.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return Config{TLS: cfg, Timeout: 2 * time.Second, tlsAddrs: map[string]bool{}}
}

// TestTLSCertError classifies real handshake failures over loopback.
func TestTLSCertError(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		auth   tls.ClientAuthType
		trust  []byte // the CA the client trusts
		noCert bool
		want   bool
	}{
		{"accepted", tls.RequireAndVerifyClientCert, p.ca.CertPEM, false, false},
		{"server of an unknown CA", tls.RequireAndVerifyClientCert, other.ca.CertPEM, false, true},
		{"no client certificate", tls.RequireAndVerifyClientCert, p.ca.CertPEM, true, true},
		{"client certificate of another CA", tls.RequireAndVerifyClientCert, p.ca.CertPEM, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveRESP(t, p, tc.auth)
			c := tlsConfig(t, p, tc.trust)
			if tc.name == "client certificate of another CA" {
				c = tlsConfig(t, other, append(other.ca.CertPEM, p.ca.CertPEM...))
			}
			if tc.noCert {
				c.TLS.Certificates = nil
			}
			c.tlsAddrs[addr] = true
			cl := c.client(addr, "")
			err := cl.Ping(ctx).Err()
			cl.Close()
			if got := TLSCertError(err); got != tc.want {
				t.Errorf("PING: %v: TLSCertError = %v, want %v", err, got, tc.want)
			}
		})
	}
	for _, err := range []error{
		nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused"),
		errors.New("tls: first record does not look like a TLS handshake"), context.DeadlineExceeded,
	} {
		if TLSCertError(err) {
			t.Errorf("TLSCertError(%v) = true", err)
		}
	}
}

// TestCheckNoClientCert: the check runs only with auth_clients yes, passes
// only on a TLS certificate refusal, not on an engine that is down.
func TestCheckNoClientCert(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name     string
		required bool
		addr     string
		want     []bool // results of the client-certificate check
	}{
		{"required and refused", true, serveRESP(t, p, tls.RequireAndVerifyClientCert), []bool{true}},
		{"required but accepted", true, serveRESP(t, p, tls.VerifyClientCertIfGiven), []bool{false}},
		{"required, engine down", true, closedAddr(t), []bool{false}},
		{"optional: not checked", false, serveRESP(t, p, tls.VerifyClientCertIfGiven), nil},
		{"no: not checked", false, serveRESP(t, p, tls.NoClientCert), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tlsConfig(t, p, p.ca.CertPEM)
			c.tlsAddrs[tc.addr] = true
			c.Engines = []Node{{"db01", tc.addr}}
			c.Security = &Security{ClientCertRequired: tc.required}
			var got []bool
			c.checkSecurity(context.Background(), nil, func(node, check string, ok bool, detail, hint string) {
				if check == "client-certificate" {
					got = append(got, ok)
					t.Logf("%s %v %s %s", check, ok, detail, hint)
				}
			})
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("client-certificate results %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTLSSetup: auth_clients decides the client-certificate check, and
// unusable client material is a failed check with its cause.
func TestTLSSetup(t *testing.T) {
	p := newPKI(t)
	good := &inventory.TLSMaterial{TrustPEM: p.ca.CertPEM, Client: inventory.KeyPair{CertPEM: p.client.CertPEM, KeyPEM: p.client.KeyPEM}}
	mismatched := &inventory.TLSMaterial{TrustPEM: p.ca.CertPEM, Client: inventory.KeyPair{CertPEM: p.client.CertPEM, KeyPEM: p.server.KeyPEM}}
	for _, tc := range []struct {
		name, authClients string
		m                 *inventory.TLSMaterial
		required          bool
		tlsErr            string
	}{
		{"yes", "yes", good, true, ""},
		{"optional", "optional", good, false, ""},
		{"no", "no", good, false, ""},
		{"key of another certificate", "yes", mismatched, true, "private key does not match public key"},
		{"no trust bundle", "yes", &inventory.TLSMaterial{}, true, "trust bundle holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "master: db01\nhosts:\n  - {name: db01, address: 127.0.0.1}\nsecrets:\n  requirepass: {env: PW}\n" +
				"security:\n  tls: {enabled: true, plaintext: false, auth_clients: " + tc.authClients + "}\n"
			inv, _, err := inventory.Parse("inv.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			c := FromInventory(inv, &inventory.ResolvedSecrets{RequirePass: "pw", TLS: tc.m})
			if c.Security == nil || c.Security.ClientCertRequired != tc.required {
				t.Fatalf("security %+v", c.Security)
			}
			gotErr := ""
			if c.Security.TLSErr != nil {
				gotErr = c.Security.TLSErr.Error()
			}
			if tc.tlsErr == "" && gotErr != "" || !strings.Contains(gotErr, tc.tlsErr) {
				t.Fatalf("TLSErr %q, want %q", gotErr, tc.tlsErr)
			}
			var failed []string
			c.Engines = nil
			c.Security.PlainPorts = nil
			c.checkSecurity(context.Background(), nil, func(node, check string, ok bool, detail, hint string) {
				if !ok {
					failed = append(failed, check+": "+detail)
				}
			})
			if (tc.tlsErr != "") != (len(failed) == 1 && strings.Contains(failed[0], tc.tlsErr)) {
				t.Errorf("failed checks %q, want the client-tls cause %q", failed, tc.tlsErr)
			}
		})
	}
}
