package persisttest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// server describes one side of an interop test.
type server struct {
	name string
	new  func(t *testing.T, dir string, args ...string) *Proc
}

var (
	redisSide  = server{"redis", newRedis}
	engineSide = server{"engine", newEngine}
)

// TestInteropRDB: a dump.rdb written by one server (SAVE) is loaded by the
// other with the same content: every key, type, value and expiry time in
// every database.
func TestInteropRDB(t *testing.T) {
	for _, tc := range []struct{ from, to server }{{redisSide, engineSide}, {engineSide, redisSide}} {
		t.Run(tc.from.name+"_to_"+tc.to.name, func(t *testing.T) {
			ctx := context.Background()
			src := tc.from.new(t, t.TempDir(), "--save", "", "--appendonly", "no")
			dst := tc.to.new(t, t.TempDir(), "--save", "", "--appendonly", "no")
			start(t, ctx, src)
			if err := Fill(ctx, src.Addr(), 3); err != nil {
				t.Fatal(err)
			}
			want := mustDump(t, ctx, src)
			do(t, ctx, src, "SAVE")
			src.Kill()
			copyFile(t, filepath.Join(src.Dir, "dump.rdb"), filepath.Join(dst.Dir, "dump.rdb"))
			start(t, ctx, dst)
			sameContent(t, tc.from.name+"'s dump.rdb loaded by "+tc.to.name, want, mustDump(t, ctx, dst))
		})
	}
}

// TestInteropAOF: the appendonlydir of one server (a base written by
// BGREWRITEAOF, as RDB or as commands, then an incr file) is loaded by
// the other with the same content.
func TestInteropAOF(t *testing.T) {
	for _, tc := range []struct{ from, to server }{{redisSide, engineSide}, {engineSide, redisSide}} {
		for _, preamble := range []string{"yes", "no"} {
			t.Run(tc.from.name+"_to_"+tc.to.name+"_preamble_"+preamble, func(t *testing.T) {
				ctx := context.Background()
				args := []string{"--save", "", "--appendonly", "yes", "--aof-use-rdb-preamble", preamble}
				src := tc.from.new(t, t.TempDir(), args...)
				dst := tc.to.new(t, t.TempDir(), args...)
				start(t, ctx, src)
				if err := Fill(ctx, src.Addr(), 4); err != nil {
					t.Fatal(err)
				}
				do(t, ctx, src, "BGREWRITEAOF")
				waitRewrite(t, ctx, src)
				// Incremental commands on top of the base: the same fill
				// again (pushes, adds, new expiry times) and deletions.
				if err := Fill(ctx, src.Addr(), 5); err != nil {
					t.Fatal(err)
				}
				do(t, ctx, src, "DEL", "hash:big:db0", "str:random:db0")
				do(t, ctx, src, "PERSIST", "str:ttl:db0")
				want := mustDump(t, ctx, src)
				if !src.Stop(10 * time.Second) {
					t.Fatalf("%s did not stop on SIGTERM", src.Name)
				}
				copyDir(t, filepath.Join(src.Dir, "appendonlydir"), filepath.Join(dst.Dir, "appendonlydir"))
				start(t, ctx, dst)
				sameContent(t, tc.from.name+"'s appendonlydir loaded by "+tc.to.name, want, mustDump(t, ctx, dst))
			})
		}
	}
}

// waitRewrite polls INFO persistence until no AOF rewrite runs or is
// scheduled (at most 30 s).
func waitRewrite(t *testing.T, ctx context.Context, p *Proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info := do(t, ctx, p, "INFO", "persistence").(string)
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			if !strings.Contains(info, "aof_last_bgrewrite_status:ok") {
				t.Fatalf("%s: AOF rewrite failed:\n%s", p.Name, info)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: AOF rewrite still running after 30s", p.Name)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		copyFile(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
	}
}
