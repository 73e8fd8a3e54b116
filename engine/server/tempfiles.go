package server

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// staleTempPID returns the pid in the name of a temporary file this
// engine writes in its dir (temp-PID-*.rdb for SAVE/BGSAVE and a replica's
// full sync, temp-repl-PID-*.rdb for a disk-backed sync), or 0 when name
// is not one of them.
func staleTempPID(name string) int {
	rest, ok := strings.CutPrefix(name, "temp-")
	if !ok || !strings.HasSuffix(name, ".rdb") {
		return 0
	}
	rest = strings.TrimPrefix(rest, "repl-")
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeStaleTemps removes the temporary RDB files that an engine killed
// in the middle of a save or a full sync left in dir: snapshots are
// written in-process (no fork), so a kill -9 leaves them behind, and they
// can be as large as the dataset. Files of a live process (another engine
// sharing the dir, or this one) are kept. It returns the names removed.
func removeStaleTemps(dir string, self int) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	for _, e := range ents {
		pid := staleTempPID(e.Name())
		if pid == 0 || pid == self || !e.Type().IsRegular() || processAlive(pid) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
