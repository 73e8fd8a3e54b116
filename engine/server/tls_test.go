package server

import (
	"context"
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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testPKI writes a CA and a certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (dir string, pool *x509.CertPool, clientCert tls.Certificate) {
	t.Helper()
	dir = t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hactl test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER)
	write("node.crt", "CERTIFICATE", der)
	write("node.key", "EC PRIVATE KEY", kb)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	clientCert, err = tls.LoadX509KeyPair(filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, pool, clientCert
}

func tlsSettingsForTest(t *testing.T, pki string, port int) Settings {
	set := replSettingsForTest(t.TempDir())
	set.Port = 0 // TLS only
	set.TLS = TLSSettings{Port: port, CertFile: filepath.Join(pki, "node.crt"), KeyFile: filepath.Join(pki, "node.key"),
		CAFile: filepath.Join(pki, "ca.crt"), AuthClients: "yes", Replication: true}
	return set
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	pki, pool, cert := testPKI(t)
	port := freePort(t)
	addr, _ := runServer(t, tlsSettingsForTest(t, pki, port))
	// Plaintext is closed (port 0), a client without a certificate is
	// refused (tls-auth-clients yes), a client with one works.
	plain := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Fatal("plaintext PING on the TLS port succeeded")
	}
	plain.Close()
	noCert := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if err := noCert.Ping(ctx).Err(); err == nil {
		t.Fatal("a client without a certificate was accepted with tls-auth-clients yes")
	}
	noCert.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// redis-cli --tls with the same CA and certificate.
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		out, err := exec.Command(cli, "--tls", "--cacert", filepath.Join(pki, "ca.crt"), "--cert", filepath.Join(pki, "node.crt"),
			"--key", filepath.Join(pki, "node.key"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "GET", "k").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "v" {
			t.Fatalf("redis-cli --tls GET k = %q, %v", out, err)
		}
	}
	// A replica over TLS (tls-replication yes).
	rport := freePort(t)
	raddr, _ := runServer(t, tlsSettingsForTest(t, pki, rport))
	r := redis.NewClient(&redis.Options{Addr: raddr, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}})
	defer r.Close()
	if err := r.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ctx, c, r)
	if v := r.Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("replica over TLS: GET k = %q", v)
	}
}
