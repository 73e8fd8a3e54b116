package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/config"
	"github.com/hactl/hactl/engine/config/tlsconf/tlstest"
	"github.com/hactl/hactl/engine/server"
	"github.com/redis/go-redis/v9"
)

// TestConfigSetSameTLSFileReloads: rotation in place (new bytes at the
// same path) takes effect on CONFIG SET tls-cert-file with an unchanged
// value, like Redis 7 (VOLATILE_CONFIG), through the real config adapter.
func TestConfigSetSameTLSFileReloads(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test")
	a, b := ca.IssueValid("a"), ca.IssueValid("b")
	cert, key := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	install := func(f tlstest.Files) {
		t.Helper()
		for src, dst := range map[string]string{f.Cert: cert, f.Key: key} {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(a)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	path := filepath.Join(dir, "engine.conf")
	conf := fmt.Sprintf("bind 127.0.0.1\nport 0\ntls-port %d\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients no\nsave \"\"\ndir %s\n",
		port, cert, key, ca.CAFile, dir)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(&engineConfig{cfg: cfg, path: path}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	client := func() (*redis.Client, *string) {
		cn := new(string)
		cfg := ca.ClientConfig(t, tlstest.Files{})
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			*cn = cs.PeerCertificates[0].Subject.CommonName
			return nil
		}
		return redis.NewClient(&redis.Options{Addr: addr, TLSConfig: cfg, MaxRetries: -1, PoolSize: 1}), cn
	}
	c, cn := client()
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil || *cn != "a" {
		t.Fatalf("before: ping %v, certificate %q", err, *cn)
	}
	install(b)
	if err := c.ConfigSet(ctx, "tls-cert-file", cert).Err(); err != nil {
		t.Fatalf("CONFIG SET tls-cert-file (same path): %v", err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("the established connection after the reload: %v", err)
	}
	c2, cn2 := client()
	defer c2.Close()
	if err := c2.Ping(ctx).Err(); err != nil || *cn2 != "b" {
		t.Fatalf("after CONFIG SET of the same path: ping %v, certificate %q, want b", err, *cn2)
	}
}
