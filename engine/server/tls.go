package server

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/hactl/hactl/engine/config/tlsconf"
)

// TLS for clients, replicas and the replication link (tls-port,
// tls-cert-file, tls-key-file, tls-client-cert-file, tls-client-key-file,
// tls-ca-cert-file, tls-auth-clients, tls-protocols, tls-ciphers,
// tls-ciphersuites, tls-replication), with Go's crypto/tls through package
// tlsconf. Certificates are read again by ReloadTLS (CONFIG SET of a tls-*
// directive, SIGHUP) without a restart: new handshakes use the new files,
// established connections continue.

// TLSSettings are the TLS directives.
type TLSSettings struct {
	Port        int
	CertFile    string
	KeyFile     string
	CAFile      string
	AuthClients string // no | yes | optional
	Replication bool
	// ClientCertFile and ClientKeyFile are offered on outgoing links
	// (replication); tls-cert-file when empty.
	ClientCertFile string
	ClientKeyFile  string
	Protocols      string // tls-protocols
	Ciphers        string // tls-ciphers
	Ciphersuites   string // tls-ciphersuites
}

// files maps the settings onto tlsconf's.
func (t TLSSettings) files() tlsconf.Settings {
	return tlsconf.Settings{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCertFile: t.ClientCertFile,
		ClientKeyFile: t.ClientKeyFile, CAFile: t.CAFile, AuthClients: t.AuthClients, Protocols: t.Protocols,
		Ciphers: t.Ciphers, Ciphersuites: t.Ciphersuites}
}

// tlsState is the current TLS material.
type tlsState struct {
	tlsconf.Holder
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
func (s *Server) ReloadTLS() error { return s.loadTLS(s.set.TLS) }

// loadTLS makes the files of t the current TLS material.
func (s *Server) loadTLS(t TLSSettings) error {
	m, err := s.tls.Reload(t.files())
	if err != nil {
		return err
	}
	for _, w := range m.Warnings {
		s.log.Warn(w)
	}
	s.log.Info("TLS material loaded", "cert", t.CertFile, "ca", t.CAFile)
	return nil
}

// clientTLSConfig is used by the replication link toward a TLS master:
// the master is verified against the CA, and our (client) certificate is
// offered.
func (s *Server) clientTLSConfig(host string) (*tls.Config, error) {
	if s.tls.Load() == nil {
		if err := s.ReloadTLS(); err != nil {
			return nil, fmt.Errorf("tls-replication is on: %w", err)
		}
	}
	return s.tls.ClientConfig(host)
}

// listenTLS opens the tls-port listeners on the bind addresses.
func (s *Server) listenTLS(ctx context.Context, binds []string) error {
	t := s.set.TLS
	if t.Port <= 0 {
		if t.Replication && t.CertFile != "" {
			// A plaintext server replicating from a TLS master.
			return s.ReloadTLS()
		}
		return nil
	}
	if err := s.ReloadTLS(); err != nil {
		return err
	}
	lns, err := s.openListeners(ctx, binds, t.Port, s.tls.ServerConfig())
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, lns...)
	return nil
}
