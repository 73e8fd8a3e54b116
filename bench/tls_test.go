package bench

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestStartTLSServer: a TLS-only redis-server with the generated PKI
// answers the TLS probe, and its plaintext probe fails.
func TestStartTLSServer(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	dir := t.TempDir()
	f, err := WritePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if args := f.BenchmarkArgs(); !slices.Equal(args, []string{"--tls", "--cacert", f.CA}) {
		t.Fatalf("benchmark args %q", args)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := StartTLSServer(ctx, "redis", bin, dir, port, 10*time.Second, f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(5 * time.Second)
	if err := ping(ctx, s.Addr()); err == nil {
		t.Fatal("plaintext PING answered on a TLS-only server")
	}
	if err := s.Ready(ctx, s.Addr()); err != nil {
		t.Fatal(err)
	}
}
