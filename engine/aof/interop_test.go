package aof

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/difftest"
)

// do sends one command and returns the raw reply.
func do(t *testing.T, c *difftest.Conn, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	r, err := c.Do(ctx, b...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return string(r.Raw)
}

// waitFor polls cond every 20 ms for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timeout waiting for %s", what)
}

// upper renders loaded commands with upper-case names for comparison.
func upper(cmds []string) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		name, rest, _ := strings.Cut(c, " ")
		out[i] = strings.TrimSpace(strings.ToUpper(name) + " " + rest)
	}
	return out
}

// TestRedisWritesWeRead: a real redis-server 7.0.15 writes an AOF
// directory (with a BGREWRITEAOF, so that a base exists); our loader reads
// it and yields the expected commands.
func TestRedisWritesWeRead(t *testing.T) {
	for _, preamble := range []string{"yes", "no"} {
		t.Run("aof-use-rdb-preamble="+preamble, func(t *testing.T) {
			dir := t.TempDir()
			srv := difftest.StartRedis(t, "--appendonly", "yes", "--dir", dir, "--aof-use-rdb-preamble", preamble,
				"--appendfsync", "always") // everysec may postpone a write while an fsync runs
			c := srv.Dial(t)
			do(t, c, "SET", "a", "1")
			do(t, c, "SELECT", "2")
			do(t, c, "RPUSH", "l", "x", "y")
			if r := do(t, c, "BGREWRITEAOF"); !strings.Contains(r, "rewriting started") {
				t.Fatalf("BGREWRITEAOF: %q", r)
			}
			manifest := filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest")
			waitFor(t, "the rewrite", func() bool {
				m, err := ReadManifest(manifest)
				return err == nil && m.Base != nil && m.Base.Seq == 2 && len(m.History) == 0 &&
					strings.Contains(do(t, c, "INFO", "persistence"), "aof_rewrite_in_progress:0")
			})
			do(t, c, "SET", "b", "2")
			do(t, c, "INCRBYFLOAT", "f", "1.5")
			do(t, c, "MULTI")
			do(t, c, "SET", "t", "1")
			do(t, c, "SET", "u", "2") // 7.0 drops MULTI/EXEC around a single write
			do(t, c, "EXEC")
			// With appendfsync always every reply came after its write: all is in
			// the files now.

			s := testStore(t, dir)
			var rdb []byte
			var got []string
			res, err := s.Load(Handler{
				RDB: func(_ string, r *bufio.Reader) error {
					var err error
					rdb, err = io.ReadAll(r) // a base.rdb holds nothing else
					return err
				},
				Command: func(_ string, _ int64, args [][]byte) error {
					got = append(got, string(joinArgs(args)))
					return nil
				},
			})
			if err != nil || res.Truncated != nil {
				t.Fatalf("load: %v %+v", err, res)
			}
			wantBase := "appendonly.aof.2.base.aof"
			wantCmds := []string{"SELECT 0", "SET a 1", "SELECT 2", "RPUSH l x y"}
			if preamble == "yes" {
				wantBase = "appendonly.aof.2.base.rdb"
				wantCmds = nil
				if !strings.HasPrefix(string(rdb), "REDIS0010") || !strings.Contains(string(rdb), "aof-base") {
					t.Fatalf("rdb part %q", rdb)
				}
			}
			wantCmds = append(wantCmds, "SELECT 2", "SET b 2", "SET f 1.5 KEEPTTL", "MULTI", "SET t 1", "SET u 2", "EXEC")
			files := s.Files()
			if len(files) != 2 || files[0].Name != wantBase || files[1].Name != "appendonly.aof.2.incr.aof" {
				t.Fatalf("files %+v", files)
			}
			if !slices.Equal(upper(got), wantCmds) {
				t.Fatalf("commands\n got %q\nwant %q", upper(got), wantCmds)
			}
		})
	}
}

func joinArgs(args [][]byte) []byte {
	var b []byte
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a...)
	}
	return b
}

// emptyRDB is an RDB with no keys and a zero checksum (accepted by Redis as
// "saved with checksum disabled").
const emptyRDB = "REDIS0010\xff\x00\x00\x00\x00\x00\x00\x00\x00"

// writeOurDir writes an AOF directory with our code: a base (commands, or an
// empty RDB) and incr commands, some through a rewrite.
func writeOurDir(t *testing.T, dir string, rdb bool) {
	t.Helper()
	s := testStore(t, dir)
	base := func(w io.Writer, isRDB bool) error {
		if isRDB {
			_, err := io.WriteString(w, emptyRDB)
			return err
		}
		_, err := w.Write(cmds("SELECT 0", "SET k0 v0", "SELECT 3", "RPUSH list a b c"))
		return err
	}
	w, err := s.Open(base, rdb)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("SELECT 0", "SET k1 v1", "MULTI", "SET k2 v2", "INCR n", "EXEC"))
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	rw, err := s.StartRewrite(rdb)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("SELECT 0", "SET k3 v3", "SELECT 5", "SADD set x y"))
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	rewritten := func(wr io.Writer, isRDB bool) error {
		if isRDB {
			// An empty RDB would lose k0..k2: write them as an AOF tail,
			// which Redis also reads after an RDB base.
			if _, err := io.WriteString(wr, emptyRDB); err != nil {
				return err
			}
		}
		_, err := wr.Write(cmds("SELECT 0", "SET k0 v0", "SET k1 v1", "SET k2 v2", "SET n 1", "SELECT 3", "RPUSH list a b c"))
		return err
	}
	if err := rw.Finish(rewritten); err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("SELECT 0", "SET k4 v4"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWeWriteRedisReads: a directory written by this package loads into a
// real redis-server 7.0.15 and every key is there; redis-check-aof accepts
// it.
func TestWeWriteRedisReads(t *testing.T) {
	for _, rdb := range []bool{false, true} {
		t.Run(fmt.Sprintf("rdb=%v", rdb), func(t *testing.T) {
			difftest.RequireRedis(t)
			dir := t.TempDir()
			writeOurDir(t, dir, rdb)
			out := checkAOF(t, filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"), 0)
			if !strings.Contains(out, "All AOF files and manifest are valid") {
				t.Fatalf("redis-check-aof:\n%s", out)
			}
			srv := difftest.StartRedis(t, "--appendonly", "yes", "--dir", dir)
			c := srv.Dial(t)
			for k, v := range map[string]string{"k0": "v0", "k1": "v1", "k2": "v2", "k3": "v3", "k4": "v4", "n": "1"} {
				if got := do(t, c, "GET", k); got != fmt.Sprintf("$%d\r\n%s\r\n", len(v), v) {
					t.Errorf("GET %s = %q", k, got)
				}
			}
			if got := do(t, c, "DBSIZE"); got != ":6\r\n" {
				t.Errorf("DBSIZE db0 = %q", got)
			}
			do(t, c, "SELECT", "3")
			if got := do(t, c, "LRANGE", "list", "0", "-1"); got != "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n" {
				t.Errorf("LRANGE = %q", got)
			}
			do(t, c, "SELECT", "5")
			if got := do(t, c, "SCARD", "set"); got != ":2\r\n" {
				t.Errorf("SCARD = %q", got)
			}
		})
	}
}

// checkAOF runs redis-check-aof on path with stdin input and wants exit code
// rc; it returns the output.
func checkAOF(t *testing.T, path string, rc int, args ...string) string {
	t.Helper()
	bin := "/usr/bin/redis-check-aof"
	if _, err := os.Stat(bin); err != nil {
		difftest.RequireRedis(t)
		bin = difftest.RedisServerPath // the same binary, dispatching on argv[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, path)...)
	cmd.Stdin = strings.NewReader("y\n")
	out, err := cmd.CombinedOutput()
	if got := cmd.ProcessState.ExitCode(); got != rc {
		t.Fatalf("redis-check-aof %s: exit %d (%v), want %d:\n%s", path, got, err, rc, out)
	}
	return string(out)
}

// TestCheckAOFTruncated: a torn tail we produce is reported by
// redis-check-aof at the same offset our loader gives, --fix truncates to
// it, and redis-server truncates there too.
func TestCheckAOFTruncated(t *testing.T) {
	difftest.RequireRedis(t)
	dir := t.TempDir()
	writeOurDir(t, dir, false)
	s := testStore(t, dir)
	incr := s.Path("appendonly.aof.2.incr.aof")
	before, err := os.Stat(incr)
	if err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a write: half of a command.
	torn := cmds("SET k5 v5")
	f, err := os.OpenFile(incr, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(torn[:len(torn)/2])
	f.Close()

	res, err := s.Load(Handler{})
	if err != nil || res.Truncated == nil || res.Truncated.Offset != before.Size() {
		t.Fatalf("our loader: %v %+v (want offset %d)", err, res.Truncated, before.Size())
	}
	out := checkAOF(t, s.ManifestPath(), 1)
	m := regexp.MustCompile(`filename=appendonly.aof.2.incr.aof, size=(\d+), ok_up_to=(\d+)`).FindStringSubmatch(out)
	if m == nil || m[2] != strconv.FormatInt(before.Size(), 10) || !strings.Contains(out, "is not valid") {
		t.Fatalf("redis-check-aof:\n%s", out)
	}
	t.Logf("redis-check-aof on our torn file:\n%s", out)

	// redis-server (aof-load-truncated yes) truncates at the same offset.
	redisDir := t.TempDir()
	if err := os.CopyFS(redisDir, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	srv := difftest.StartRedis(t, "--appendonly", "yes", "--dir", redisDir)
	if got := do(t, srv.Dial(t), "GET", "k4"); got != "$2\r\nv4\r\n" {
		t.Errorf("redis lost k4: %q", got)
	}
	if !strings.Contains(srv.Log(), fmt.Sprintf("Truncating the AOF appendonly.aof.2.incr.aof at offset %d", before.Size())) {
		t.Errorf("redis log:\n%s", srv.Log())
	}

	out = checkAOF(t, s.ManifestPath(), 0, "--fix")
	if st, _ := os.Stat(incr); st.Size() != before.Size() {
		t.Fatalf("--fix left %d bytes, want %d:\n%s", st.Size(), before.Size(), out)
	}
}
