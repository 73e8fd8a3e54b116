//go:build linux

package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf/tlstest"
)

// tlsOnly makes a test server TLS-only on a free port with node's
// certificate, clients authenticated by ca.
func tlsOnly(t *testing.T, ca *tlstest.CA, node tlstest.Files) func(*Settings) {
	return func(s *Settings) {
		s.Port = 0
		s.TLS = TLSSettings{Port: freePort(t), CertFile: node.Cert, KeyFile: node.Key, CAFile: ca.CAFile, AuthClients: "yes"}
	}
}

// heldConn is a client's TCP connection whose writes can be held back and
// released in chosen pieces: the tests decide where TLS records are cut.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	held []byte
}

func (h *heldConn) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold {
		h.held = append(h.held, b...)
		return len(b), nil
	}
	return h.Conn.Write(b)
}

// release writes the held bytes in pieces of size (all at once when size
// is 0) and stops holding.
func (h *heldConn) release(size int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.held
	h.held, h.hold = nil, false
	if size <= 0 {
		size = len(b)
	}
	for len(b) > 0 {
		n := min(size, len(b))
		if _, err := h.Conn.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// dialTLSHeld opens a TLS 1.3 connection whose writes after the
// ClientHello are held: the client's last handshake flight stays in h.
func dialTLSHeld(t *testing.T, addr string, cfg *tls.Config) (*rawClient, *heldConn) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h := &heldConn{Conn: raw}
	cfg = cfg.Clone()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	first := true
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		// Asked after the server's flight: the ClientHello is out.
		h.mu.Lock()
		h.hold = first
		first = false
		h.mu.Unlock()
		return &cfg.Certificates[0], nil
	}
	tc := tls.Client(h, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	return newRawClient(t, tc), h
}

// TestTLSIOModelScenarios runs the connection scenarios over TLS in both
// I/O models, plus the ways TLS records can arrive.
func TestTLSIOModelScenarios(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	cfg := ca.ClientConfig(t, node)
	dialTLS := func(cfg *tls.Config) func(t *testing.T, addr string) *rawClient {
		return func(t *testing.T, addr string) *rawClient {
			t.Helper()
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return newRawClient(t, conn)
		}
	}
	tls12 := cfg.Clone()
	tls12.MaxVersion = tls.VersionTLS12
	held := func(t *testing.T, addr string) *rawClient { c, _ := dialTLSHeld(t, addr, cfg); return c }
	tests := append(ioScenarios(),
		ioScenario{"close_notify behind requests", nil, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			c.send("SET cn 1", "GET cn")
			if err := c.conn.(*tls.Conn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c.expect("+OK", "$1")
			c.expectEOF()
		}},
	)
	t.Run("tls1.3", func(t *testing.T) { runIOScenarios(t, tests, tlsOnly(t, ca, node), dialTLS(cfg)) })
	t.Run("tls1.2", func(t *testing.T) { runIOScenarios(t, tests, tlsOnly(t, ca, node), dialTLS(tls12)) })
	runIOScenarios(t, []ioScenario{
		{"requests behind the handshake and records cut anywhere", nil, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			// dial held the client's Finished: the first requests go in
			// the same write, so the server's handshake reads them.
			c.send("SET h 1", "GET h")
			h := c.conn.(*tls.Conn).NetConn().(*heldConn)
			if err := h.release(0); err != nil {
				t.Fatal(err)
			}
			c.expect("+OK", "$1")
			// A pipeline whose records arrive one byte per write.
			h.mu.Lock()
			h.hold = true
			h.mu.Unlock()
			c.send("INCR n", "INCR n", "SET big "+strings.Repeat("x", 3000), "STRLEN big")
			if err := h.release(1); err != nil {
				t.Fatal(err)
			}
			c.expect(":1", ":2", "+OK", ":3000")
		}},
		{"client gone in the middle of a record", nil, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			h := c.conn.(*tls.Conn).NetConn().(*heldConn)
			h.release(0)
			c.send("PING")
			c.expect("+PONG")
			h.mu.Lock()
			h.hold = true
			h.mu.Unlock()
			c.send("SET half 1")
			h.mu.Lock()
			part := h.held[:len(h.held)/2]
			h.held = part
			h.mu.Unlock()
			h.release(0)
			time.Sleep(20 * time.Millisecond)
			h.Conn.Close()
			other := dial()
			h2 := other.conn.(*tls.Conn).NetConn().(*heldConn)
			h2.release(0)
			deadline := time.Now().Add(5 * time.Second)
			for {
				other.send("EXISTS half", "INFO clients")
				other.expect(":0")
				if strings.Contains(other.reply(), "connected_clients:1\r\n") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the client that left mid-record is still connected")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}},
	}, tlsOnly(t, ca, node), held)
	t.Run("many clients", func(t *testing.T) {
		manyClients(t, tlsOnly(t, ca, node), func(addr string) (net.Conn, error) { return tls.Dial("tcp", addr, cfg) })
	})
}

// TestTLSClientsOnLoop: in eventloop mode an established TLS client costs
// no goroutine; on the goroutine path each has one (so the check can fail).
func TestTLSClientsOnLoop(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	cfg := ca.ClientConfig(t, node)
	for _, tc := range []struct {
		model    string
		min, max int
	}{{IOModelGoroutine, 20, 1000}, {IOModelEventLoop, -1000, 5}} {
		t.Run(tc.model, func(t *testing.T) {
			mod := tlsOnly(t, ca, node)
			_, addr := startTestServer(t, func(s *Settings) { mod(s); s.IOModel = tc.model })
			before := runtime.NumGoroutine()
			for range 20 {
				conn, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				c := newRawClient(t, conn)
				c.send("PING")
				c.expect("+PONG")
			}
			time.Sleep(50 * time.Millisecond) // handshake goroutines end
			if d := runtime.NumGoroutine() - before; d < tc.min || d > tc.max {
				t.Fatalf("20 TLS clients added %d goroutines; want %d..%d", d, tc.min, tc.max)
			}
		})
	}
}

// TestTLSKeyUpdate: a TLS 1.3 KeyUpdate asking for ours (openssl s_client's
// "K" command) arrives between requests; tls.Conn answers it from inside
// Read, and the requests before and after it are served in both models.
func TestTLSKeyUpdate(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	ca := tlstest.NewCA(t, "test")
	node := ca.IssueValid("node")
	ioModels(t, tlsOnly(t, ca, node), func(t *testing.T, addr string) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, "-CAfile", ca.CAFile,
			"-cert", node.Cert, "-key", node.Key, "-tls1_3", "-crlf")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out // KEYUPDATE goes to stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// s_client reads one line at a time: give each its own moment.
		for _, line := range []string{"SET ku 1", "K", "INCR ku", "K", "INCR ku"} {
			time.Sleep(200 * time.Millisecond)
			io.WriteString(in, line+"\n")
		}
		time.Sleep(300 * time.Millisecond)
		in.Close()
		cmd.Wait()
		got := out.String()
		at := 0
		for _, want := range []string{"+OK", "KEYUPDATE", ":2", "KEYUPDATE", ":3"} {
			i := strings.Index(got[at:], want)
			if i < 0 {
				t.Fatalf("s_client output lacks %q after byte %d:\n%s", want, at, got)
			}
			at += i + len(want)
		}
	})
}
