package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// TLS for clients, replicas and the replication link (tls-port,
// tls-cert-file, tls-key-file, tls-ca-cert-file, tls-auth-clients,
// tls-replication), with Go's crypto/tls. Certificates are read again by
// ReloadTLS (CONFIG SET of a tls-* directive, SIGHUP) without a restart:
// new handshakes use the new files, established connections continue.

// TLSSettings are the TLS directives.
type TLSSettings struct {
	Port        int
	CertFile    string
	KeyFile     string
	CAFile      string
	AuthClients string // no | yes | optional
	Replication bool
}

// tlsMaterial is the loaded certificate and CA pool.
type tlsMaterial struct {
	cert *tls.Certificate
	pool *x509.CertPool
}

type tlsState struct {
	mat atomic.Pointer[tlsMaterial]
}

// ReloadTLSFiles is ReloadTLS for callers outside the server (SIGHUP).
func (s *Server) ReloadTLSFiles() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set.TLS.Port <= 0 && !s.set.TLS.Replication {
		return nil
	}
	return s.ReloadTLS()
}

// ReloadTLS (re)reads the certificate, key and CA files; s.mu is held (or
// the server is not serving yet). The old material stays in use when the
// new files are invalid.
func (s *Server) ReloadTLS() error {
	t := s.set.TLS
	if t.CertFile == "" || t.KeyFile == "" {
		return errors.New("tls-cert-file and tls-key-file are required for TLS")
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("failed to load the TLS certificate %s / key %s: %w", t.CertFile, t.KeyFile, err)
	}
	m := &tlsMaterial{cert: &cert}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fmt.Errorf("failed to read tls-ca-cert-file %s: %w", t.CAFile, err)
		}
		m.pool = x509.NewCertPool()
		if !m.pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls-ca-cert-file %s holds no PEM certificate", t.CAFile)
		}
	}
	s.tls.mat.Store(m)
	s.log.Info("TLS material loaded", "cert", t.CertFile, "ca", t.CAFile)
	return nil
}

// serverTLSConfig is the configuration of the TLS listeners.
func (s *Server) serverTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.tls.mat.Load()
			if m == nil {
				return nil, errors.New("no TLS certificate loaded")
			}
			cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*m.cert}, ClientCAs: m.pool}
			switch strings.ToLower(s.tlsAuthClients.Load().(string)) {
			case "no":
				cfg.ClientAuth = tls.NoClientCert
			case "optional":
				cfg.ClientAuth = tls.VerifyClientCertIfGiven
			default: // yes, Redis's default
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return cfg, nil
		},
	}
}

// clientTLSConfig is used by the replication link toward a TLS master:
// the master is verified against the CA, and our certificate is offered.
func (s *Server) clientTLSConfig(host string) (*tls.Config, error) {
	m := s.tls.mat.Load()
	if m == nil {
		return nil, errors.New("tls-replication is on but no TLS material is loaded")
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: m.pool, ServerName: host,
		Certificates: []tls.Certificate{*m.cert}}, nil
}

// listenTLS opens the tls-port listeners on the bind addresses.
func (s *Server) listenTLS(ctx context.Context, binds []string) error {
	t := s.set.TLS
	if t.Port <= 0 {
		return nil
	}
	if err := s.ReloadTLS(); err != nil {
		return err
	}
	var lc net.ListenConfig
	cfg := s.serverTLSConfig()
	n := 0
	for _, b := range binds {
		optional := strings.HasPrefix(b, "-")
		b = strings.TrimPrefix(b, "-")
		host, network := b, "tcp"
		switch b {
		case "*":
			host, network = "0.0.0.0", "tcp4"
		case "::*":
			host, network = "::", "tcp6"
		}
		addr := net.JoinHostPort(host, strconv.Itoa(t.Port))
		ln, err := lc.Listen(ctx, network, addr)
		if err != nil {
			if optional {
				continue
			}
			return fmt.Errorf("Failed listening on port %d (tls), aborting: listen %s: %w", t.Port, addr, err)
		}
		s.listeners = append(s.listeners, tls.NewListener(ln, cfg))
		n++
	}
	if n == 0 {
		return fmt.Errorf("Failed listening on port %d (tls), aborting: no usable bind address", t.Port)
	}
	return nil
}
