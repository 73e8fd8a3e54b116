package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const day = 24 * time.Hour

func TestIssue(t *testing.T) {
	ca, err := NewCA("test CA", 3650*day, t0)
	if err != nil {
		t.Fatal(err)
	}
	if in := InfoOf(ca.Cert); !in.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("CA info %+v, key usage %v", in, ca.Cert.KeyUsage)
	}
	for _, tc := range []struct {
		name     string
		req      Request
		dns, ips []string
		notAfter time.Time
		verifyAs string
	}{
		{"ip and name", Request{"db01", []string{"db01", "10.0.0.1", "db01.example", "10.0.0.1"}, 365 * day},
			[]string{"db01", "db01.example"}, []string{"10.0.0.1"}, t0.Add(365 * day), "10.0.0.1"},
		{"ipv6", Request{"db02", []string{"::1"}, 30 * day}, nil, []string{"::1"}, t0.Add(30 * day), "::1"},
		{"capped by the CA", Request{"db03", []string{"db03"}, 5000 * day}, []string{"db03"}, nil, ca.Cert.NotAfter, "db03"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf, err := ca.Issue(tc.req, t0)
			if err != nil {
				t.Fatal(err)
			}
			in, err := Inspect(leaf.CertPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(in.DNSNames, tc.dns) || !slices.Equal(in.IPs, tc.ips) {
				t.Errorf("SANs %v %v, want %v %v", in.DNSNames, in.IPs, tc.dns, tc.ips)
			}
			if !in.NotAfter.Equal(tc.notAfter) || !in.NotBefore.Equal(t0.Add(-backdate)) {
				t.Errorf("validity %s..%s, want ..%s", in.NotBefore, in.NotAfter, tc.notAfter)
			}
			if !in.Server || !in.Client || in.IsCA || in.Issuer != "test CA" {
				t.Errorf("usage/issuer: %+v", in)
			}
			if leaf.Cert.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("key usage %v", leaf.Cert.KeyUsage)
			}
			if err := Verify(leaf.CertPEM, ca.CertPEM, tc.verifyAs, t0); err != nil {
				t.Errorf("verify: %v", err)
			}
			if err := Verify(leaf.CertPEM, ca.CertPEM, "other.example", t0); err == nil {
				t.Error("verify for a name not in the SANs passed")
			}
			if err := Verify(leaf.CertPEM, ca.CertPEM, tc.verifyAs, in.NotAfter.Add(time.Second)); err == nil {
				t.Error("verify after expiry passed")
			}
			if _, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
				t.Errorf("key pair: %v", err)
			}
		})
	}
}

func TestWrongCA(t *testing.T) {
	a, _ := NewCA("a", 10*day, t0)
	b, _ := NewCA("b", 10*day, t0)
	leaf, err := a.Issue(Request{"h", []string{"127.0.0.1"}, day}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(leaf.CertPEM, b.CertPEM, "127.0.0.1", t0); err == nil {
		t.Fatal("leaf of CA a verified against CA b")
	}
	if _, err := LoadCA(a.CertPEM, b.KeyPEM); err == nil {
		t.Fatal("LoadCA accepted a key of another CA")
	}
	if _, err := LoadCA(leaf.CertPEM, leaf.KeyPEM); err == nil {
		t.Fatal("LoadCA accepted a leaf")
	}
}

func TestState(t *testing.T) {
	in := Info{NotBefore: t0, NotAfter: t0.Add(100 * day)}
	for _, tc := range []struct {
		at   time.Time
		want State
	}{
		{t0.Add(-time.Second), StateExpired},
		{t0, StateOK},
		{t0.Add(69 * day), StateOK},
		{t0.Add(71 * day), StateWarn},
		{t0.Add(100 * day), StateExpired},
	} {
		if got := in.State(tc.at, 30*day); got != tc.want {
			t.Errorf("state at %s: %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	s := Store{Dir: dir}
	// Repeated names (address = announce address) must not make every
	// run re-issue.
	subs := []Subject{{"db01", []string{"db01", "127.0.0.1", "127.0.0.1", "db01"}}, {"db02", []string{"db02", "127.0.0.2"}}}
	steps := []struct {
		name string
		at   time.Time
		subs []Subject
		want []string
	}{
		{"fresh", t0, subs, []string{"db01", "db02", "client"}},
		{"nothing to do", t0.Add(day), subs, nil},
		{"a SAN changed", t0.Add(day), []Subject{subs[0], {"db02", []string{"db02", "127.0.0.9"}}}, []string{"db02"}},
		{"renew when due", t0.Add(340 * day), subs, []string{"db01", "db02", "client"}},
	}
	for _, st := range steps {
		got, err := s.Ensure(st.subs, 365*day, 30*day, st.at)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: issued %v, want %v", st.name, got, st.want)
		}
	}
	// Every file is private.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	m, err := s.Host("db01")
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(m.CertPEM, m.TrustPEM, "127.0.0.1", t0.Add(341*day)); err != nil {
		t.Fatal(err)
	}
	oldTrust := m.TrustPEM

	// A new CA, first phase: only the trust bundle changes (both CAs),
	// every certificate stays, also through Ensure (hactl up), since the
	// hosts do not trust the new CA yet.
	now := t0.Add(342 * day)
	if got, err := s.Rotate(subs, RotateOptions{NewCA: true, Validity: 365 * day}, now); err != nil || got != nil {
		t.Fatalf("rotate --new-ca: issued %v, %v", got, err)
	}
	if got, err := s.Ensure(subs, 365*day, 30*day, now); err != nil || got != nil {
		t.Fatalf("ensure during a CA rotation: issued %v, %v", got, err)
	}
	mid, _ := s.Host("db01")
	if string(mid.CertPEM) != string(m.CertPEM) {
		t.Error("rotate --new-ca replaced a certificate before the hosts trust the new CA")
	}
	if _, err := s.Rotate(subs, RotateOptions{NewCA: true, Validity: 365 * day}, now); !errors.Is(err, ErrRotationPending) {
		t.Errorf("second --new-ca during a rotation: %v", err)
	}
	// Second phase: new certificates of the new CA; the old one stays
	// trusted, so hosts that still hold an old certificate keep talking
	// to those with a new one.
	if got, err := s.Rotate(subs, RotateOptions{Validity: 365 * day}, now); err != nil || len(got) != 3 {
		t.Fatalf("rotate after --new-ca: issued %v, %v", got, err)
	}
	m2, _ := s.Host("db01")
	for _, tc := range []struct {
		leaf, trust []byte
	}{{m.CertPEM, m2.TrustPEM}, {m2.CertPEM, m2.TrustPEM}} {
		if err := Verify(tc.leaf, tc.trust, "127.0.0.1", now); err != nil {
			t.Errorf("cross trust: %v", err)
		}
	}
	if err := Verify(m2.CertPEM, oldTrust, "127.0.0.1", now); err == nil {
		t.Error("new certificate verified against the old CA alone")
	}
	st, err := s.Status(subs)
	if err != nil || len(st) != 5 || st[1].Name != "ca-previous" {
		t.Fatalf("status %+v %v", st, err)
	}
	// Dropping the previous CA ends the overlap.
	if _, err := s.Rotate(subs, RotateOptions{DropPrevious: true, Validity: 365 * day}, now); err != nil {
		t.Fatal(err)
	}
	m3, _ := s.Host("db01")
	if err := Verify(m.CertPEM, m3.TrustPEM, "127.0.0.1", now); err == nil {
		t.Error("old certificate still trusted after DropPrevious")
	}
}

func TestStoreProvidedCA(t *testing.T) {
	dir := t.TempDir()
	ca, _ := NewCA("ops CA", 100*day, t0)
	cp, kp := filepath.Join(dir, "ops.pem"), filepath.Join(dir, "ops.key")
	os.WriteFile(cp, ca.CertPEM, 0o600)
	os.WriteFile(kp, ca.KeyPEM, 0o600)
	s := Store{Dir: filepath.Join(dir, "tls"), CACert: cp, CAKey: kp}
	if _, err := s.Ensure([]Subject{{"db01", []string{"::1"}}}, 365*day, 30*day, t0); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Host("db01")
	if err := Verify(m.CertPEM, ca.CertPEM, "::1", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(nil, RotateOptions{NewCA: true}, t0); err == nil {
		t.Fatal("rotate --new-ca replaced an operator CA")
	}
	if _, err := (Store{Dir: t.TempDir(), CACert: filepath.Join(dir, "nope"), CAKey: kp}).Ensure(nil, day, 0, t0); err == nil {
		t.Fatal("missing operator CA was generated instead of reported")
	}
}

// TestHandshake proves the material works for a mutual-TLS connection
// over loopback, and that a client of another CA is refused.
func TestHandshake(t *testing.T) {
	ca, _ := NewCA("ca", 10*day, time.Now())
	other, _ := NewCA("other", 10*day, time.Now())
	srv, _ := ca.Issue(Request{"db01", []string{"127.0.0.1"}, day}, time.Now())
	good, _ := ca.Issue(Request{"client", nil, day}, time.Now())
	bad, _ := other.Issue(Request{"client", nil, day}, time.Now())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	sc, _ := tls.X509KeyPair(srv.CertPEM, srv.KeyPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{sc}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Write([]byte("+OK\r\n"))
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		leaf *Leaf
		ok   bool
	}{{"same CA", good, true}, {"other CA", bad, false}} {
		cc, _ := tls.X509KeyPair(tc.leaf.CertPEM, tc.leaf.KeyPEM)
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ln.Addr().String(),
			&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cc}, ServerName: "127.0.0.1"})
		if err == nil {
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.Read(make([]byte, 5))
			conn.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

// TestStoreRepairs: Ensure re-issues a pair that a crash or a second
// writer left inconsistent.
func TestStoreRepairs(t *testing.T) {
	subs := []Subject{{"db01", []string{"db01", "127.0.0.1"}}}
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, s Store)
	}{
		{"key of another certificate", func(t *testing.T, s Store) {
			other, _ := s.Host("client")
			_, k := s.pairPaths("db01")
			writeFile(t, k, other.KeyPEM)
		}},
		{"key missing", func(t *testing.T, s Store) {
			_, k := s.pairPaths("db01")
			os.Remove(k)
		}},
		{"certificate of another CA", func(t *testing.T, s Store) {
			ca, _ := NewCA("other", 10*day, t0)
			leaf, _ := ca.Issue(Request{CommonName: "db01", Names: subs[0].Names, Validity: 5 * day}, t0)
			c, k := s.pairPaths("db01")
			writeFile(t, c, leaf.CertPEM)
			writeFile(t, k, leaf.KeyPEM)
		}},
		{"half-written certificate", func(t *testing.T, s Store) {
			c, _ := s.pairPaths("db01")
			b, _ := os.ReadFile(c)
			writeFile(t, c, b[:len(b)/2])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			if _, err := s.Ensure(subs, 365*day, 30*day, t0); err != nil {
				t.Fatal(err)
			}
			tc.break_(t, s)
			got, err := s.Ensure(subs, 365*day, 30*day, t0)
			if err != nil || !slices.Equal(got, []string{"db01"}) {
				t.Fatalf("issued %v, %v; want db01", got, err)
			}
			checkPair(t, s, "db01")
		})
	}
}

// TestStoreConcurrent: several writers on one store (hactl up while a cron
// job verifies) end with one CA and matching pairs, no temporary file
// left.
func TestStoreConcurrent(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "tls")}
	subs := []Subject{{"db01", []string{"db01"}}, {"db02", []string{"db02"}}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = s.Ensure(subs, 365*day, 30*day, t0)
			} else {
				_, err = s.Rotate(subs, RotateOptions{Validity: 365 * day}, t0)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"db01", "db02", "client"} {
		checkPair(t, s, n)
	}
	filepath.Walk(s.Dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), ".tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// checkPair fails unless name's certificate and key match and chain to
// the store's CA.
func checkPair(t *testing.T, s Store, name string) {
	t.Helper()
	m, err := s.Host(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(m.CertPEM, m.KeyPEM); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	ca, err := s.CA()
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCert(m.CertPEM)
	if err != nil || c.CheckSignatureFrom(ca.Cert) != nil {
		t.Errorf("%s: not signed by the CA: %v", name, err)
	}
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
