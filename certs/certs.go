// Package certs creates and inspects the TLS material of a hactl service
// with crypto/x509 (no openssl): one ECDSA P-256 certificate authority and
// a certificate per host, signed by it.
//
// Pieces:
//   - CA: NewCA creates one, LoadCA reads one back from PEM; CA.Issue signs
//     a Leaf for a Request (the host's names and addresses as SANs, server
//     and client usage: hactl-engine offers its server certificate as the
//     client certificate of the replication link, like redis-server).
//   - Inspect reads a PEM certificate into an Info (subject, SANs, validity,
//     usages); Info.State says ok, warn or expired at a given time.
//   - Store keeps the material in a local directory (0700, files 0600):
//     ca.pem/ca.key, trust.pem (the CAs hosts trust: the current one, and
//     the previous one during a CA rotation), hosts/NAME.pem/.key. Ensure
//     creates what is missing or due, Rotate renews every host certificate
//     (optionally under a new CA, keeping the old one in trust.pem).
//
// Time is an input (now) everywhere, so tests check validity windows
// without sleeping.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// backdate is how far before now certificates become valid: clocks of
// the hosts may lag a little behind the machine running hactl.
const backdate = 5 * time.Minute

// CA is a certificate authority with its key.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// Leaf is a certificate signed by a CA, with its key.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
}

// Request says what a Leaf certifies.
type Request struct {
	CommonName string
	Names      []string // DNS names and IP addresses; IPs become IP SANs
	Validity   time.Duration
}

// NewCA creates a self-signed CA named name, valid from now for validity.
func NewCA(name string, validity time.Duration, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"hactl"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return LoadCA(pemBlock("CERTIFICATE", der), keyPEM)
}

// LoadCA reads a CA certificate and its ECDSA key from PEM.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("CA certificate %q is not a CA (basic constraints)", cert.Subject.CommonName)
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("CA key: no PEM block")
	}
	key, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		k8, err8 := x509.ParsePKCS8PrivateKey(b.Bytes)
		ek, ok := k8.(*ecdsa.PrivateKey)
		if err8 != nil || !ok {
			return nil, fmt.Errorf("CA key: want an ECDSA key: %w", err)
		}
		key = ek
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("CA key does not match the CA certificate")
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// Issue signs a certificate for r, valid from now for r.Validity but never
// beyond the CA's own expiry. It is usable as server and as client
// certificate.
func (ca *CA) Issue(r Request, now time.Time) (*Leaf, error) {
	if r.CommonName == "" {
		return nil, errors.New("issue certificate: empty common name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", r.CommonName, err)
	}
	notAfter := now.Add(r.Validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: r.CommonName, Organization: []string{"hactl"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, n := range sans(r.Names) {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", r.CommonName, err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate for %s: %w", r.CommonName, err)
	}
	return &Leaf{Cert: cert, CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: keyPEM}, nil
}

// State is the health of a certificate at a given time.
type State string

// The states of a certificate.
const (
	StateOK      State = "ok"
	StateWarn    State = "warn"    // expires within the warning period
	StateExpired State = "expired" // not valid now (expired or not yet valid)
)

// Info is what Inspect reads from a certificate.
type Info struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dns_names,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	IsCA      bool      `json:"is_ca"`
	Server    bool      `json:"server_auth"`
	Client    bool      `json:"client_auth"`
}

// Inspect reads the first certificate of a PEM file.
func Inspect(certPEM []byte) (Info, error) {
	c, err := parseCert(certPEM)
	if err != nil {
		return Info{}, err
	}
	return InfoOf(c), nil
}

// InfoOf is Inspect of a parsed certificate.
func InfoOf(c *x509.Certificate) Info {
	in := Info{Subject: c.Subject.CommonName, Issuer: c.Issuer.CommonName, DNSNames: c.DNSNames,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, IsCA: c.IsCA}
	for _, ip := range c.IPAddresses {
		in.IPs = append(in.IPs, ip.String())
	}
	for _, u := range c.ExtKeyUsage {
		in.Server = in.Server || u == x509.ExtKeyUsageServerAuth
		in.Client = in.Client || u == x509.ExtKeyUsageClientAuth
	}
	return in
}

// Left is how long the certificate stays valid after now (negative once
// expired).
func (in Info) Left(now time.Time) time.Duration { return in.NotAfter.Sub(now) }

// State is ok, warn when less than warn is left, expired when not valid
// at now.
func (in Info) State(now time.Time, warn time.Duration) State {
	switch {
	case now.Before(in.NotBefore) || !now.Before(in.NotAfter):
		return StateExpired
	case in.Left(now) < warn:
		return StateWarn
	}
	return StateOK
}

// Verify checks that leafPEM chains to one of the CAs in trustPEM and is
// valid for name (a DNS name or IP address) at now.
func Verify(leafPEM, trustPEM []byte, name string, now time.Time) error {
	leaf, err := parseCert(leafPEM)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(trustPEM) {
		return errors.New("trust bundle holds no PEM certificate")
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return fmt.Errorf("certificate %q: %w", leaf.Subject.CommonName, err)
	}
	return nil
}

// ParseAll reads every certificate of a PEM bundle.
func ParseAll(bundle []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	cs, err := ParseAll(certPEM)
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pemBlock("EC PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: typ, Bytes: der})
	return b.Bytes()
}

// serial is a random 128-bit serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}
