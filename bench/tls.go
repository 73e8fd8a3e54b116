package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/certs"
)

// TLSFiles are a CA and a server certificate for TLS benchmarks, written
// by WritePKI with hactl's own certificate code (package certs).
type TLSFiles struct {
	CA, Cert, Key string
}

// WritePKI writes a throw-away CA and a certificate for 127.0.0.1 into dir
// (mode 0600), valid for a day.
func WritePKI(dir string) (TLSFiles, error) {
	now := time.Now()
	ca, err := certs.NewCA("hactl bench CA", 24*time.Hour, now)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("bench pki: %w", err)
	}
	leaf, err := ca.Issue(certs.Request{CommonName: "127.0.0.1", Names: []string{"127.0.0.1", "localhost"}, Validity: 24 * time.Hour}, now)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("bench pki: %w", err)
	}
	f := TLSFiles{CA: filepath.Join(dir, "bench-ca.crt"), Cert: filepath.Join(dir, "bench.crt"), Key: filepath.Join(dir, "bench.key")}
	for path, b := range map[string][]byte{f.CA: ca.CertPEM, f.Cert: leaf.CertPEM, f.Key: leaf.KeyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return TLSFiles{}, fmt.Errorf("bench pki: %w", err)
		}
	}
	return f, nil
}

// ServerArgs are ServerArgs for a TLS-only server (port 0, tls-port; they
// follow and override testproc's --port) that does not ask clients for
// certificates, like a typical TLS deployment with password authentication.
func (f TLSFiles) ServerArgs(port int) []string {
	return append(ServerArgs(), "--port", "0", "--tls-port", strconv.Itoa(port), "--tls-cert-file", f.Cert,
		"--tls-key-file", f.Key, "--tls-ca-cert-file", f.CA, "--tls-auth-clients", "no")
}

// BenchmarkArgs are the redis-benchmark arguments for the TLS port.
func (f TLSFiles) BenchmarkArgs() []string {
	return []string{"--tls", "--cacert", f.CA}
}

// StartTLSServer is StartServer for a TLS-only server; readiness is a PING
// over TLS verified against the CA.
func StartTLSServer(ctx context.Context, name, bin, dir string, port int, readyTimeout time.Duration, f TLSFiles) (*Server, error) {
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("start %s: no certificate in %s", name, f.CA)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	probe := func(ctx context.Context, addr string) error { return tlsPing(ctx, addr, cfg) }
	return startServer(ctx, &Server{Name: name, Bin: bin, Dir: dir, Port: port, Args: f.ServerArgs(port),
		Ready: probe, ReadyTimeout: readyTimeout})
}

func tlsPing(ctx context.Context, addr string, cfg *tls.Config) error {
	if _, _, err := splitLoopback(addr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("tls ping %s: %w", addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("tls ping %s: %w", addr, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("tls ping %s: %w", addr, err)
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("tls ping %s answered %q", addr, strings.TrimSpace(line))
	}
	return nil
}
