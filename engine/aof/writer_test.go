package aof

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testWriter(t *testing.T, f *os.File, p Policy, interval time.Duration, clock func() time.Time) *Writer {
	t.Helper()
	w := newWriter(f, filepath.Base(f.Name()), 0, writerConfig{policy: p, interval: interval,
		log: slog.New(slog.DiscardHandler), now: clock})
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func createFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPolicies(t *testing.T) {
	for _, p := range []Policy{FsyncAlways, FsyncEverysec, FsyncNo} {
		t.Run(p.String(), func(t *testing.T) {
			if q, err := ParsePolicy(p.String()); err != nil || q != p {
				t.Fatalf("ParsePolicy: %v %v", q, err)
			}
			f := createFile(t, "a.incr.aof")
			w := testWriter(t, f, p, 10*time.Millisecond, time.Now)
			w.Append([]byte("*1\r\n$4\r\nPING\r\n"))
			if st := w.Stats(); st.BufferLen != 14 || st.IncrSize != 0 {
				t.Fatalf("before flush %+v", st)
			}
			if err := w.Flush(false); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, f.Name()); got != "*1\r\n$4\r\nPING\r\n" {
				t.Fatalf("file %q", got)
			}
			st := w.Stats()
			switch p {
			case FsyncAlways:
				if st.Unsynced != 0 {
					t.Fatalf("always left %d bytes unsynced", st.Unsynced)
				}
			case FsyncEverysec:
				deadline := time.Now().Add(5 * time.Second)
				for w.Stats().Unsynced != 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if w.Stats().Unsynced != 0 || w.LastFsyncAge() != 0 {
					t.Fatalf("everysec never synced: %+v", w.Stats())
				}
			case FsyncNo:
				time.Sleep(50 * time.Millisecond)
				if st := w.Stats(); st.Unsynced != 14 {
					t.Fatalf("no synced by itself: %+v", st)
				}
				if err := w.Flush(true); err != nil || w.Stats().Unsynced != 0 {
					t.Fatalf("Flush(true): %v %+v", err, w.Stats())
				}
			}
		})
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestEverysecPostpones(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	f := createFile(t, "a.incr.aof")
	w := testWriter(t, f, FsyncEverysec, time.Hour, clock.now)
	w.mu.Lock()
	w.syncing = true // a background fsync is running
	w.mu.Unlock()
	w.Append([]byte("x"))
	for range 2 {
		if err := w.Flush(false); err != nil {
			t.Fatal(err)
		}
		clock.add(time.Second)
	}
	if st := w.Stats(); st.BufferLen != 1 || st.IncrSize != 0 {
		t.Fatalf("not postponed: %+v", st)
	}
	clock.add(10 * time.Millisecond)
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.BufferLen != 0 || st.IncrSize != 1 || st.DelayedFsync != 1 {
		t.Fatalf("after 2 s: %+v", st)
	}
	w.mu.Lock()
	w.syncing = false
	w.mu.Unlock()
}

func TestWriteErrorRecovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.incr.aof")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(path) // read-only: write(2) fails with EBADF
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Policy{FsyncEverysec, FsyncAlways} {
		t.Run(p.String(), func(t *testing.T) {
			ro, _ := os.Open(path)
			w := testWriter(t, ro, p, time.Hour, time.Now)
			w.Append([]byte("data"))
			err := w.Flush(false)
			var ioe *IOError
			if !errors.As(err, &ioe) || ioe.Op != "write" || !errors.Is(err, syscall.EBADF) {
				t.Fatalf("Flush: %v", err)
			}
			if w.Err() == nil || w.Stats().BufferLen != 4 {
				t.Fatalf("error not kept or data dropped: %+v", w.Stats())
			}
			// The next file takes the kept data; under everysec the error
			// clears, under always it stays until a rewrite commits.
			good := createFile(t, "b.incr.aof")
			gen := w.switchFile(good, "b.incr.aof", 0)
			err = w.Flush(false)
			if got := readFile(t, good.Name()); got != "data" {
				t.Fatalf("kept data not written: %q", got)
			}
			if p == FsyncEverysec && err != nil {
				t.Fatalf("everysec error did not clear: %v", err)
			}
			if p == FsyncAlways {
				if err == nil {
					t.Fatal("always error not sticky")
				}
				w.clearErrorsBefore(gen)
				if err := w.Flush(false); err != nil {
					t.Fatalf("after rewrite: %v", err)
				}
			}
		})
	}
	ro.Close()
}

func TestClosedWriter(t *testing.T) {
	w := testWriter(t, createFile(t, "a"), FsyncNo, time.Hour, time.Now)
	w.Append([]byte("abc"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
}
