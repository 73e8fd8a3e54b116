package aof

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func testStore(t *testing.T, dir string) *Store {
	t.Helper()
	s := New(Options{Dir: dir, LoadTruncated: true, IncrementalFsync: true,
		Logger: slog.New(slog.DiscardHandler), FsyncInterval: 20 * time.Millisecond})
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// commandsBase writes the given commands as a plain AOF base.
func commandsBase(lines ...string) BaseFunc {
	return func(w io.Writer, rdb bool) error {
		if rdb {
			return errors.New("test base only writes commands")
		}
		_, err := w.Write(cmds(lines...))
		return err
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// loadAll loads dir with a fresh Store and returns the commands.
func loadAll(t *testing.T, dir string) ([]string, *LoadResult) {
	t.Helper()
	s := &seen{}
	res, err := testStore(t, dir).Load(s.handler(0))
	if err != nil {
		t.Fatal(err)
	}
	return s.cmds, res
}

func TestOpenFreshAndRewrite(t *testing.T) {
	dir := t.TempDir()
	s := testStore(t, dir)
	if res, err := s.Load(Handler{}); err != nil || res.Found {
		t.Fatalf("empty dir: %+v %v", res, err)
	}
	w, err := s.Open(commandsBase(), false)
	if err != nil {
		t.Fatal(err)
	}
	aofDir := filepath.Join(dir, "appendonlydir")
	if got := readFile(t, s.ManifestPath()); got != "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", got)
	}
	w.Append(cmds("SELECT 0", "set a 1"))
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	rw, err := s.StartRewrite(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartRewrite(false); !errors.Is(err, ErrRewriteInProgress) {
		t.Fatalf("second rewrite: %v", err)
	}
	if got := readFile(t, s.ManifestPath()); !strings.HasSuffix(got, "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n") {
		t.Fatalf("manifest during rewrite %q", got)
	}
	w.Append(cmds("SELECT 0", "set b 2"))
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	if err := rw.Finish(commandsBase("SELECT 0", "set a 1")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, s.ManifestPath()); got != "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n" {
		t.Fatalf("manifest after rewrite %q", got)
	}
	want := []string{"appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"}
	if got := dirNames(t, aofDir); !slices.Equal(got, want) {
		t.Fatalf("files %q", got)
	}
	got, res := loadAll(t, dir)
	if fmt.Sprint(got) != "[SELECT 0 set a 1 SELECT 0 set b 2]" || res.Truncated != nil {
		t.Fatalf("loaded %q %+v", got, res)
	}
	if base, total := s.Sizes(); base != 50 || total != 100 {
		t.Errorf("sizes %d %d", base, total)
	}
}

func TestRewriteAbortKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := testStore(t, dir)
	w, err := s.Open(commandsBase(), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("set a 1"))
	rw, err := s.StartRewrite(false)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("set b 2"))
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	if err := rw.Finish(func(io.Writer, bool) error { return errors.New("disk full") }); err == nil {
		t.Fatal("failed base accepted")
	}
	if got, _ := loadAll(t, dir); fmt.Sprint(got) != "[set a 1 set b 2]" {
		t.Fatalf("after abort %q", got)
	}
	// The next rewrite turns both incr files into history and deletes them.
	rw, err = s.StartRewrite(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Finish(commandsBase("set a 1", "set b 2")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, s.ManifestPath()); got != "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n" {
		t.Fatalf("manifest %q", got)
	}
	if n := len(dirNames(t, s.DirPath())); n != 3 {
		t.Fatalf("%d files left: %q", n, dirNames(t, s.DirPath()))
	}
}

func TestRewriteTurnsAOFOn(t *testing.T) {
	dir := t.TempDir()
	s := testStore(t, dir)
	rw, err := s.StartRewrite(false)
	if err != nil {
		t.Fatal(err)
	}
	rw.Writer().Append(cmds("set during rewrite"))
	if err := rw.Writer().Flush(false); err != nil {
		t.Fatal(err)
	}
	if s.Writer() != nil {
		t.Fatal("writer installed before the rewrite finished")
	}
	if err := rw.Finish(commandsBase("set before x")); err != nil {
		t.Fatal(err)
	}
	if s.Writer() != rw.Writer() {
		t.Fatal("writer not installed")
	}
	if got := readFile(t, s.ManifestPath()); got != "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", got)
	}
	s.Writer().Append(cmds("set after y"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := loadAll(t, dir); fmt.Sprint(got) != "[set before x set during rewrite set after y]" {
		t.Fatalf("loaded %q", got)
	}
}

func TestLegacyUpgrade(t *testing.T) {
	dir := t.TempDir()
	legacy := append([]byte("REDIS0010\xff12345678"), cmds("set a 1")...)
	if err := os.WriteFile(filepath.Join(dir, "appendonly.aof"), legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	s := testStore(t, dir)
	sn := &seen{}
	res, err := s.Load(sn.handler(18))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Upgraded || !res.Found || fmt.Sprint(sn.cmds) != "[set a 1]" || string(sn.rdb) != "REDIS0010\xff12345678" {
		t.Fatalf("%+v %q %q", res, sn.cmds, sn.rdb)
	}
	if got := readFile(t, s.ManifestPath()); got != "file appendonly.aof seq 1 type b\n" {
		t.Fatalf("manifest %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "appendonly.aof")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("legacy file not moved")
	}
	w, err := s.Open(commandsBase(), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("set b 2"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, s.ManifestPath()); got != "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", got)
	}
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	s := testStore(t, dir)
	w, err := s.Open(commandsBase("set base 0"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(cmds("set a 1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	incr := s.Path("appendonly.aof.1.incr.aof")
	f, err := os.OpenFile(incr, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("*3\r\n$3\r\nset\r\n$1\r\nb"))
	f.Close()

	got, res := loadAll(t, dir)
	if fmt.Sprint(got) != "[set base 0 set a 1]" || res.Truncated == nil || res.Truncated.Offset != 27 || res.Truncated.File != "appendonly.aof.1.incr.aof" {
		t.Fatalf("%q %+v", got, res.Truncated)
	}
	strict := New(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if _, err := strict.Load(Handler{}); !errors.Is(err, ErrUnexpectedEOF) {
		t.Fatalf("aof-load-truncated no: %v", err)
	}
	if err := res.Truncated.Apply(); err != nil {
		t.Fatal(err)
	}
	if got, res := loadAll(t, dir); len(got) != 2 || res.Truncated != nil {
		t.Fatalf("after truncation %q %+v", got, res.Truncated)
	}

	// A torn file that is not the last is fatal.
	if err := os.WriteFile(s.Path("appendonly.aof.1.base.aof"), []byte("*1\r\n$3\r\nse"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := testStore(t, dir).Load(Handler{}); err == nil || !strings.Contains(err.Error(), "not the last file") {
		t.Fatalf("torn base: %v", err)
	}
	// A missing file is fatal.
	os.Remove(incr)
	if _, err := testStore(t, dir).Load(Handler{}); err == nil || !strings.Contains(err.Error(), "appendonly.aof.1.incr.aof") {
		t.Fatalf("missing incr: %v", err)
	}
}
