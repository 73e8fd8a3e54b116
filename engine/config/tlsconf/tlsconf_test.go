package tlsconf

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf/tlstest"
)

func TestParseProtocols(t *testing.T) {
	for _, tc := range []struct {
		in       string
		min, max uint16
		err      string
	}{
		{"", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"tlsv1.3", tls.VersionTLS13, tls.VersionTLS13, ""},
		{"TLSv1.2", tls.VersionTLS12, tls.VersionTLS12, ""},
		{"TLSv1 TLSv1.1 TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, ""},
		{"TLSv1 TLSv1.3", 0, 0, "not a contiguous range"},
		{"SSLv3", 0, 0, "invalid tls-protocols"},
	} {
		lo, hi, err := ParseProtocols(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || lo != tc.min || hi != tc.max {
			t.Errorf("%q = %x %x %v, want %x %x", tc.in, lo, hi, err, tc.min, tc.max)
		}
	}
}

func TestParseCiphers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint16
		err  bool
	}{
		{"", nil, false},
		{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, false},
		{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, false},
		{"HIGH:!aNULL", nil, true},
		{"DHE-RSA-AES128-GCM-SHA256", nil, true},
	} {
		got, err := ParseCiphers(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestCheckCiphersuites(t *testing.T) {
	for _, tc := range []struct {
		in         string
		warn, fail bool
	}{
		{"", false, false},
		{"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", false, false},
		{"TLS_CHACHA20_POLY1305_SHA256", true, false},
		{"TLS_AES_128_CCM_SHA256", false, true},
	} {
		w, err := CheckCiphersuites(tc.in)
		if (err != nil) != tc.fail || (w != "") != tc.warn {
			t.Errorf("%q: warning %q err %v", tc.in, w, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	f := ca.IssueValid("node")
	for _, tc := range []struct {
		name string
		s    Settings
		err  string
	}{
		{"no cert", Settings{KeyFile: f.Key}, "tls-cert-file and tls-key-file are required"},
		{"key mismatch", Settings{CertFile: f.Cert, KeyFile: ca.IssueValid("other").Key}, "load tls-cert-file"},
		{"missing ca", Settings{CertFile: f.Cert, KeyFile: f.Key, CAFile: f.Cert + ".nope"}, "read tls-ca-cert-file"},
		{"ca not pem", Settings{CertFile: f.Cert, KeyFile: f.Key, CAFile: f.Key}, "holds no PEM certificate"},
		{"client half", Settings{CertFile: f.Cert, KeyFile: f.Key, ClientCertFile: f.Cert}, "must be set together"},
		{"auth clients", Settings{CertFile: f.Cert, KeyFile: f.Key, AuthClients: "maybe"}, "tls-auth-clients"},
		{"ok", Settings{CertFile: f.Cert, KeyFile: f.Key, CAFile: ca.CAFile, Protocols: "TLSv1.3"}, ""},
	} {
		_, err := Load(tc.s)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestHolderReload: a connection made before the reload keeps working, a
// new handshake sees the new certificate, a failed reload keeps the old.
func TestHolderReload(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	a, b := ca.IssueValid("a"), ca.IssueValid("b")
	var h Holder
	if _, err := h.Reload(Settings{CertFile: a.Cert, KeyFile: a.Key, CAFile: ca.CAFile, AuthClients: "no"}); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", h.ServerConfig())
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
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					_, _ = c.Write(buf[:n])
				}
			}()
		}
	}()
	dial := func() (*tls.Conn, string) {
		t.Helper()
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ln.Addr().String(), ca.ClientConfig(t, tlstest.Files{}))
		if err != nil {
			t.Fatal(err)
		}
		return c, c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	echo := func(c *tls.Conn) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	old, cn := dial()
	defer old.Close()
	if cn != "a" {
		t.Fatalf("first certificate %q", cn)
	}
	if _, err := h.Reload(Settings{CertFile: b.Cert, KeyFile: b.Key, CAFile: ca.CAFile, AuthClients: "no"}); err != nil {
		t.Fatal(err)
	}
	echo(old)
	c2, cn := dial()
	defer c2.Close()
	if cn != "b" {
		t.Fatalf("after reload the certificate is %q, want b", cn)
	}
	if _, err := h.Reload(Settings{CertFile: b.Cert, KeyFile: a.Key}); err == nil {
		t.Fatal("a mismatched key pair loaded")
	}
	c3, cn := dial()
	defer c3.Close()
	if cn != "b" {
		t.Fatalf("a failed reload replaced the certificate: %q", cn)
	}
}
