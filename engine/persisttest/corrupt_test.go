package persisttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// refuses starts p on a damaged file and checks that it exits with a
// non-zero status and an error log line matching want, without a panic,
// and without touching the file.
func refuses(t *testing.T, ctx context.Context, p *Proc, file string, want *regexp.Regexp) {
	t.Helper()
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	logStart := len(p.Log())
	if err := p.Launch(); err != nil {
		t.Fatal(err)
	}
	// The process must exit. Answering +PONG for 2 s means it serves the
	// damaged data; a +PONG just before the exit is logged (the engine
	// serves briefly between the load error and its exit).
	var firstPong time.Time
	for deadline := time.Now().Add(20 * time.Second); p.Alive(); {
		if time.Now().After(deadline) {
			p.Kill()
			t.Fatalf("the engine neither serves nor exits on a damaged %s", filepath.Base(file))
		}
		if ping(ctx, p.Addr()) == nil && firstPong.IsZero() {
			firstPong = time.Now()
		}
		if !firstPong.IsZero() && time.Since(firstPong) > 2*time.Second {
			p.Kill()
			t.Fatalf("the engine started and serves on a damaged %s", filepath.Base(file))
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !firstPong.IsZero() {
		t.Logf("the engine answered +PONG before exiting on a damaged %s", filepath.Base(file))
	}
	code, err := p.WaitExit(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	log := p.Log()[logStart:]
	if code == 0 {
		t.Errorf("exit status 0 on a damaged %s", filepath.Base(file))
	}
	if strings.Contains(log, "panic:") || strings.Contains(log, "goroutine ") {
		t.Errorf("the engine panicked on a damaged %s:\n%s", filepath.Base(file), log)
	}
	if !want.MatchString(log) {
		t.Errorf("log does not match %q:\n%s", want, log)
	}
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("%s was modified by the failed start (%d bytes, was %d)", filepath.Base(file), len(after), len(before))
	}
}

// savedRDB returns the bytes of a dump.rdb holding the test dataset.
func savedRDB(t *testing.T, ctx context.Context) []byte {
	t.Helper()
	p := newEngine(t, t.TempDir(), "--save", "", "--appendonly", "no")
	start(t, ctx, p)
	if err := Fill(ctx, p.Addr(), 6); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, p, "SAVE")
	p.Kill()
	b, err := os.ReadFile(filepath.Join(p.Dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorruptRDB: a truncated or bit-flipped dump.rdb stops the start with
// an error naming the file, never a panic, and is left as it was.
func TestCorruptRDB(t *testing.T) {
	ctx := context.Background()
	good := savedRDB(t, ctx)
	n := len(good)
	type damage struct {
		name string
		edit func([]byte) []byte
	}
	var cases []damage
	for _, cut := range []int{5, 9, n / 3, n / 2, n - 9, n - 1} {
		cases = append(cases, damage{fmt.Sprintf("truncated_at_%d", cut), func(b []byte) []byte { return b[:cut] }})
	}
	for _, at := range []int{n / 5, n / 2, 4 * n / 5, n - 3} {
		cases = append(cases, damage{fmt.Sprintf("byte_flipped_at_%d", at), func(b []byte) []byte {
			b[at] ^= 0x5a
			return b
		}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newEngine(t, t.TempDir(), "--save", "", "--appendonly", "no")
			path := filepath.Join(p.Dir, "dump.rdb")
			if err := os.WriteFile(path, tc.edit(bytes.Clone(good)), 0o644); err != nil {
				t.Fatal(err)
			}
			refuses(t, ctx, p, path, regexp.MustCompile(`(?i)dump\.rdb`))
		})
	}
}

// aofFixture starts an engine with appendfsync always, writes keys k0..k49
// and then SET torn-key, kills it and returns it with the path of its incr
// file and the offset where the last command starts.
func aofFixture(t *testing.T, ctx context.Context, args ...string) (p *Proc, incr string, lastCmd int) {
	t.Helper()
	p = newEngine(t, t.TempDir(), append([]string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}, args...)...)
	start(t, ctx, p)
	for i := range 50 {
		do(t, ctx, p, "SET", fmt.Sprintf("k%d", i), fmt.Sprintf("value-%d", i))
	}
	do(t, ctx, p, "SET", "torn-key", "torn-value")
	p.Kill()
	files, _ := filepath.Glob(filepath.Join(p.Dir, "appendonlydir", "*.incr.aof"))
	if len(files) != 1 {
		t.Fatalf("want one incr file, have %q", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	lastCmd = bytes.LastIndex(b, []byte("*3\r\n$3\r\nSET\r\n$8\r\ntorn-key"))
	if lastCmd < 0 {
		t.Fatalf("the last SET is not in %s", files[0])
	}
	return p, files[0], lastCmd
}

// checkKeys fails unless k0..k49 hold their values.
func checkKeys(t *testing.T, ctx context.Context, p *Proc) {
	t.Helper()
	c := Client(p.Addr(), 0)
	defer c.Close()
	for i := range 50 {
		if v, err := c.Get(ctx, fmt.Sprintf("k%d", i)).Result(); err != nil || v != fmt.Sprintf("value-%d", i) {
			t.Fatalf("k%d = %q (%v) after loading the AOF", i, v, err)
		}
	}
}

// TestTornAOFTail: a last command cut short is dropped with a log line,
// the rest loads, and writes after the restart survive the next one.
func TestTornAOFTail(t *testing.T) {
	ctx := context.Background()
	p, incr, last := aofFixture(t, ctx)
	fi, err := os.Stat(incr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(incr, fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	logStart := len(p.Log())
	start(t, ctx, p)
	if log := p.Log()[logStart:]; !strings.Contains(log, "AOF loaded anyway because aof-load-truncated is enabled") {
		t.Errorf("no aof-load-truncated log line:\n%s", log)
	}
	checkKeys(t, ctx, p)
	if n := do(t, ctx, p, "EXISTS", "torn-key").(int64); n != 0 {
		t.Errorf("the torn SET was applied")
	}
	if fi, err := os.Stat(incr); err != nil || fi.Size() < int64(last) {
		t.Errorf("incr file cut below the last whole command: %v %v", fi.Size(), err)
	}
	do(t, ctx, p, "SET", "after-restart", "yes")
	p.Kill()
	start(t, ctx, p)
	checkKeys(t, ctx, p)
	if v := do(t, ctx, p, "GET", "after-restart"); v != "yes" {
		t.Errorf("a write after the truncated load was lost: %v", v)
	}
}

// TestDamagedAOF: corruption before the end of the AOF, or a torn tail
// with aof-load-truncated no, stops the start with an error naming the
// file and the offset; nothing is loaded and the file is not modified.
func TestDamagedAOF(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		args []string
		edit func(b []byte, last int) []byte
	}{
		{"bad_multibulk_header", nil, func(b []byte, last int) []byte {
			i := bytes.Index(b, []byte("*3\r\n$3\r\nSET\r\n$3\r\nk20"))
			b[i] = '!'
			return b
		}},
		{"bad_bulk_length", nil, func(b []byte, last int) []byte {
			i := bytes.Index(b, []byte("$3\r\nk25"))
			b[i+1] = 'x'
			return b
		}},
		{"garbage_in_the_middle", nil, func(b []byte, last int) []byte {
			i := bytes.Index(b, []byte("*3\r\n$3\r\nSET\r\n$3\r\nk30"))
			return append(b[:i:i], append([]byte("hello\r\n"), b[i:]...)...)
		}},
		{"torn_tail_not_allowed", []string{"--aof-load-truncated", "no"}, func(b []byte, last int) []byte {
			return b[:len(b)-5]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, incr, last := aofFixture(t, ctx, tc.args...)
			b, err := os.ReadFile(incr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(incr, tc.edit(b, last), 0o644); err != nil {
				t.Fatal(err)
			}
			name := regexp.QuoteMeta(filepath.Base(incr))
			refuses(t, ctx, p, incr, regexp.MustCompile(name+`.*offset[ =]\d+`))
		})
	}
}
