// Package tlstest generates throw-away certificate authorities and
// certificates for tests of TLS listeners and links (crypto/x509, ECDSA
// P-256, loopback SANs).
//
// Pieces:
//   - CA (NewCA): a self-signed authority in a temporary directory; Pool
//     for clients; CAFile its PEM.
//   - Issue writes name.crt / name.key signed by the CA with a validity
//     window (expired certificates for negative tests); Files names them.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	Dir    string // where CAFile and issued files live
	CAFile string
	Pool   *x509.CertPool
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial atomic.Int64
	t      testing.TB
}

// NewCA creates a CA valid from an hour ago for a day, in t.TempDir().
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ca key: %v", err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("ca certificate: %v", err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &CA{Dir: t.TempDir(), cert: cert, key: key, t: t, Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.serial.Store(1)
	ca.CAFile = ca.write(name+"-ca.crt", "CERTIFICATE", der)
	return ca
}

func (ca *CA) write(name, typ string, b []byte) string {
	p := filepath.Join(ca.Dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
		ca.t.Fatalf("write %s: %v", p, err)
	}
	return p
}

// Files are an issued certificate and its key.
type Files struct {
	Cert, Key string
}

// KeyPair loads the files for a tls.Config.
func (f Files) KeyPair(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatalf("load %s: %v", f.Cert, err)
	}
	return c
}

// Issue writes name.crt and name.key, valid for 127.0.0.1, ::1 and
// localhost from notBefore to notAfter, for server and client use.
func (ca *CA) Issue(name string, notBefore, notAfter time.Time) Files {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatalf("key: %v", err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(ca.serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatalf("certificate %s: %v", name, err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		ca.t.Fatalf("marshal key: %v", err)
	}
	return Files{Cert: ca.write(name+".crt", "CERTIFICATE", der), Key: ca.write(name+".key", "EC PRIVATE KEY", kb)}
}

// IssueValid is Issue valid from an hour ago for a day.
func (ca *CA) IssueValid(name string) Files {
	return ca.Issue(name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// ClientConfig is a client tls.Config trusting the CA, offering f when
// f.Cert is set.
func (ca *CA) ClientConfig(t testing.TB, f Files) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
	if f.Cert != "" {
		cfg.Certificates = []tls.Certificate{f.KeyPair(t)}
	}
	return cfg
}
