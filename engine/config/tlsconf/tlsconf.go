// Package tlsconf maps Redis's tls-* directives onto crypto/tls for
// hactl-engine and hactl-sentinel.
//
// Pieces:
//   - Settings: the directives (tls-cert-file, tls-key-file,
//     tls-client-cert-file, tls-client-key-file, tls-ca-cert-file,
//     tls-auth-clients, tls-protocols, tls-ciphers, tls-ciphersuites).
//   - Load reads the files and parses the options into a Material.
//   - Holder keeps the current Material behind an atomic pointer: Reload
//     swaps it (certificate rotation without restart), ServerConfig and
//     ClientConfig build per-handshake configurations from whatever is
//     current, so established connections keep their session and new
//     handshakes use the new files.
//   - ParseProtocols, ParseCiphers, CheckCiphersuites: the option syntax.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Settings are the tls-* directives shared by the engine and the sentinel.
type Settings struct {
	CertFile       string // tls-cert-file
	KeyFile        string // tls-key-file
	ClientCertFile string // tls-client-cert-file (outgoing links; default tls-cert-file)
	ClientKeyFile  string // tls-client-key-file
	CAFile         string // tls-ca-cert-file
	AuthClients    string // tls-auth-clients: yes (default) | no | optional
	Protocols      string // tls-protocols, e.g. "TLSv1.2 TLSv1.3"
	Ciphers        string // tls-ciphers (TLS 1.2 and older), OpenSSL or IANA names, ':'-separated
	Ciphersuites   string // tls-ciphersuites (TLS 1.3), validated only
}

// Material is the loaded certificates, CA pool and parsed options.
type Material struct {
	Cert       tls.Certificate
	ClientCert tls.Certificate
	Pool       *x509.CertPool // nil: the system pool
	MinVersion uint16
	MaxVersion uint16
	Suites     []uint16 // nil: crypto/tls's defaults
	ClientAuth tls.ClientAuthType
	// Warnings are option values accepted with a reduced effect.
	Warnings []string
}

// Load reads the certificate, key and CA files and parses the options.
func Load(s Settings) (*Material, error) {
	if s.CertFile == "" || s.KeyFile == "" {
		return nil, errors.New("tls-cert-file and tls-key-file are required for TLS")
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls-cert-file %s / tls-key-file %s: %w", s.CertFile, s.KeyFile, err)
	}
	m := &Material{Cert: cert, ClientCert: cert}
	if s.ClientCertFile != "" || s.ClientKeyFile != "" {
		if s.ClientCertFile == "" || s.ClientKeyFile == "" {
			return nil, errors.New("tls-client-cert-file and tls-client-key-file must be set together")
		}
		if m.ClientCert, err = tls.LoadX509KeyPair(s.ClientCertFile, s.ClientKeyFile); err != nil {
			return nil, fmt.Errorf("load tls-client-cert-file %s / tls-client-key-file %s: %w", s.ClientCertFile, s.ClientKeyFile, err)
		}
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read tls-ca-cert-file: %w", err)
		}
		m.Pool = x509.NewCertPool()
		if !m.Pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls-ca-cert-file %s holds no PEM certificate", s.CAFile)
		}
	}
	if m.ClientAuth, err = parseAuthClients(s.AuthClients); err != nil {
		return nil, err
	}
	if m.MinVersion, m.MaxVersion, err = ParseProtocols(s.Protocols); err != nil {
		return nil, err
	}
	if m.Suites, err = ParseCiphers(s.Ciphers); err != nil {
		return nil, err
	}
	w, err := CheckCiphersuites(s.Ciphersuites)
	if err != nil {
		return nil, err
	}
	if w != "" {
		m.Warnings = append(m.Warnings, w)
	}
	return m, nil
}

func parseAuthClients(v string) (tls.ClientAuthType, error) {
	switch strings.ToLower(v) {
	case "", "yes":
		return tls.RequireAndVerifyClientCert, nil
	case "no":
		return tls.NoClientCert, nil
	case "optional":
		return tls.VerifyClientCertIfGiven, nil
	}
	return 0, fmt.Errorf("tls-auth-clients must be yes, no or optional, not %q", v)
}

// Holder holds the current Material; the zero value holds none.
type Holder struct{ p atomic.Pointer[Material] }

// Load returns the current material or nil.
func (h *Holder) Load() *Material { return h.p.Load() }

// Reload loads s and makes it current. On error the previous material
// stays in use.
func (h *Holder) Reload(s Settings) (*Material, error) {
	m, err := Load(s)
	if err != nil {
		return nil, err
	}
	h.p.Store(m)
	return m, nil
}

// ServerConfig is the configuration of a TLS listener: every handshake
// takes the current material.
func (h *Holder) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := h.p.Load()
			if m == nil {
				return nil, errors.New("no TLS certificate loaded")
			}
			return &tls.Config{Certificates: []tls.Certificate{m.Cert}, ClientCAs: m.Pool, ClientAuth: m.ClientAuth,
				MinVersion: m.MinVersion, MaxVersion: m.MaxVersion, CipherSuites: m.Suites}, nil
		},
	}
}

// ClientConfig is the configuration of an outgoing link (replication,
// sentinel links) to serverName: the peer is verified against
// tls-ca-cert-file and the client certificate is offered.
func (h *Holder) ClientConfig(serverName string) (*tls.Config, error) {
	m := h.p.Load()
	if m == nil {
		return nil, errors.New("no TLS material loaded (tls-cert-file, tls-key-file)")
	}
	return &tls.Config{RootCAs: m.Pool, ServerName: serverName, Certificates: []tls.Certificate{m.ClientCert},
		MinVersion: m.MinVersion, MaxVersion: m.MaxVersion, CipherSuites: m.Suites}, nil
}
