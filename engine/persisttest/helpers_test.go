package persisttest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hactl/hactl/engine/difftest"
	"github.com/hactl/hactl/internal/testproc"
)

func TestMain(m *testing.M) {
	code := m.Run()
	difftest.RemoveEngineBinary()
	os.Exit(code)
}

// newEngine describes an hactl-engine process in dir (not started); it is
// killed at test end and its log printed if the test failed.
func newEngine(t *testing.T, dir string, args ...string) *Proc {
	t.Helper()
	bin, err := difftest.EngineBinary()
	if err != nil {
		if os.Getenv("CI") != "true" && err == difftest.ErrNoEngine {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return newProc(t, "engine", bin, dir, args)
}

// newRedis describes a redis-server process in dir (not started); the test
// is skipped when redis-server is missing, except under CI=true.
func newRedis(t *testing.T, dir string, args ...string) *Proc {
	t.Helper()
	difftest.RequireRedis(t)
	return newProc(t, "redis", difftest.RedisServerPath, dir, args)
}

func newProc(t *testing.T, name, bin, dir string, args []string) *Proc {
	t.Helper()
	p, err := NewProc(name, bin, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", p.Name, p.LogPath(), testproc.Tail(p.Log(), 8000))
		}
	})
	return p
}

// start starts p and fails the test if it does not become ready.
func start(t *testing.T, ctx context.Context, p *Proc) {
	t.Helper()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

// mustDump reads every key of the dataset databases.
func mustDump(t *testing.T, ctx context.Context, p *Proc) Content {
	t.Helper()
	c, err := Dump(ctx, p.Addr(), DatasetDBs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameContent fails the test when got differs from want.
func sameContent(t *testing.T, what string, want, got Content) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the reference is empty", what)
	}
	if d := Diff(want, got, 20); len(d) > 0 {
		t.Fatalf("%s: %d keys wanted, %d found; differences:\n  %s", what, len(want), len(got), strings.Join(d, "\n  "))
	}
}

// do sends one command on a fresh go-redis client of db 0 and fails the
// test on error.
func do(t *testing.T, ctx context.Context, p *Proc, args ...any) any {
	t.Helper()
	c := Client(p.Addr(), 0)
	defer c.Close()
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		t.Fatalf("%s %v: %v", p.Name, args, err)
	}
	return v
}
