//go:build unix

package certs

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the file flock'ed to serialize writers (and readers) of a
// Store directory across hactl processes.
const lockFile = ".lock"

// lock takes an flock on the store directory, exclusive for writers,
// shared for readers, and returns its release. It creates the directory.
func (s Store) lock(exclusive bool) (func(), error) {
	if err := os.MkdirAll(s.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("create TLS directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, lockFile), os.O_RDWR|os.O_CREATE, secretMode)
	if err != nil {
		return nil, fmt.Errorf("lock TLS directory: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock TLS directory %s: %w", s.Dir, err)
	}
	return func() { f.Close() }, nil // closing releases the flock
}
