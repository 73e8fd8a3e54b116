package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testConfig is a fixed in-memory configuration for tests.
type testConfig struct{ set Settings }

func (t *testConfig) Settings() Settings { return t.set }
func (t *testConfig) Get(patterns ...string) [][2]string {
	return [][2]string{{"save", ""}, {"appendonly", "no"}}
}
func (t *testConfig) Set(args []string) ([]string, error) {
	return nil, fmt.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", args[0])
}
func (t *testConfig) Rewrite(RuntimeState) error { return nil }

// startTestServer runs a server on a free loopback port.
func startTestServer(t testing.TB, mod func(*Settings)) (*Server, string) {
	t.Helper()
	set := Settings{Bind: []string{"127.0.0.1"}, Port: 0, ProtectedMode: true, MaxClients: 10000, Hz: 10, EnableDebugCommand: "yes"}
	// HACTL_TEST_IO_MODEL=eventloop runs the package's tests on the event loop.
	set.IOModel = os.Getenv("HACTL_TEST_IO_MODEL")
	if mod != nil {
		mod(&set)
	}
	s := New(&testConfig{set: set}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop within 5s")
		}
	})
	return s, s.Addrs()[0].String()
}

func TestGoRedisBasics(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			_, addr := startTestServer(t, nil)
			ctx := context.Background()
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto})
			defer rdb.Close()
			if err := rdb.Set(ctx, "foo", "bar", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := rdb.Get(ctx, "foo").Result(); err != nil || v != "bar" {
				t.Fatalf("GET foo = %q, %v; want bar", v, err)
			}
			if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
				t.Fatalf("GET missing err = %v; want redis.Nil", err)
			}
			if n, err := rdb.Incr(ctx, "n").Result(); err != nil || n != 1 {
				t.Fatalf("INCR = %d, %v", n, err)
			}
			if err := rdb.Set(ctx, "ttl", "x", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			if d, err := rdb.TTL(ctx, "ttl").Result(); err != nil || d < 59*time.Second {
				t.Fatalf("TTL = %v, %v", d, err)
			}
			if n, err := rdb.Del(ctx, "foo", "n", "missing").Result(); err != nil || n != 2 {
				t.Fatalf("DEL = %d, %v", n, err)
			}
			info, err := rdb.Info(ctx, "server").Result()
			if err != nil || len(info) < 100 {
				t.Fatalf("INFO = %q, %v", info, err)
			}
		})
	}
}

func TestPipelineAndInline(t *testing.T) {
	_, addr := startTestServer(t, nil)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\nset 'a b' \"c\\x41\"\nGET \"a b\"\r\n"
	conn.Write([]byte(req))
	want := "+PONG\r\n+OK\r\n$1\r\nv\r\n+OK\r\n$2\r\ncA\r\n"
	got := make([]byte, len(want))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}
