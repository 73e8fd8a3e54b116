package server

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestStaleTempPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
	}{
		{"temp-123-456.rdb", 123},
		{"temp-123-abc.rdb", 123},
		{"temp-repl-77-1.rdb", 77},
		{"temp-rewriteaof-bg-5.aof", 0},
		{"temp-123-456.aof", 0},
		{"dump.rdb", 0},
		{"temp--1.rdb", 0},
		{"temp-x-1.rdb", 0},
		{"temp-0-1.rdb", 0},
		{"temp-123.rdb", 0},
	} {
		if got := staleTempPID(tc.name); got != tc.want {
			t.Errorf("staleTempPID(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	// A pid that existed and is gone: a child that ran and was reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	self := os.Getpid()
	files := map[string]bool{ // name -> must survive
		"dump.rdb":                             true,
		filepath.Base(t.Name()) + ".rdb":       true,
		fmtTemp("temp-%d-1.rdb", dead):         false,
		fmtTemp("temp-repl-%d-2.rdb", dead):    false,
		fmtTemp("temp-%d-3.rdb", self):         true, // ours
		fmtTemp("temp-%d-4.rdb", os.Getppid()): true, // alive
		"temp-rewriteaof-bg-1.aof":             true, // not ours to judge
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := removeStaleTemps(dir, self)
	if err != nil {
		t.Fatal(err)
	}
	for name, keep := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if exists := err == nil; exists != keep {
			t.Errorf("%s: exists=%v, want %v", name, exists, keep)
		}
		if slices.Contains(removed, name) == keep {
			t.Errorf("%s: reported removed=%v, want %v", name, !keep, !keep)
		}
	}
	if got, err := removeStaleTemps(filepath.Join(dir, "missing"), self); err != nil || got != nil {
		t.Errorf("missing dir: %v, %v", got, err)
	}
}

func fmtTemp(format string, pid int) string { return fmt.Sprintf(format, pid) }
