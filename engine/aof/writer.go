package aof

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Policy is the appendfsync setting.
type Policy int

// The appendfsync values. The zero value is everysec, Redis's default.
const (
	FsyncEverysec Policy = iota
	FsyncAlways
	FsyncNo
)

// ParsePolicy reads an appendfsync value (case-insensitive).
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(s) {
	case "everysec":
		return FsyncEverysec, nil
	case "always":
		return FsyncAlways, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("aof: unknown appendfsync value %q (want always, everysec or no)", s)
}

// String is the config spelling.
func (p Policy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return "everysec"
}

// postponeLimit is how long everysec may hold data back while a background
// fsync is running (aof.c flushAppendOnlyFile: 2 seconds).
const postponeLimit = 2 * time.Second

// keepWriteBuf is the largest append buffer reused after a write.
const keepWriteBuf = 64 << 10

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("aof: writer closed")

// IOError is a failed write, truncate or fsync of an AOF file. Err is the
// system error (a syscall.Errno inside *os.PathError in most cases).
type IOError struct {
	Op   string // "write" or "fsync"
	File string
	Err  error
}

func (e *IOError) Error() string {
	return fmt.Sprintf("aof: %s %s: %v", e.Op, e.File, e.Err)
}

// Unwrap returns the system error.
func (e *IOError) Unwrap() error { return e.Err }

// Stats is what INFO persistence reports about the writer.
type Stats struct {
	Policy       Policy
	File         string    // current incr file name
	BufferLen    int       // aof_buffer_length: appended, not yet written
	IncrSize     int64     // bytes written to the current incr file
	Unsynced     int64     // bytes written to it and not yet fsync'ed
	PendingFsync bool      // aof_pending_bio_fsync: a background fsync is running
	DelayedFsync int64     // aof_delayed_fsync: writes done after waiting 2 s for an fsync
	LastFsync    time.Time // last moment everything written was known to be on disk
	Err          error     // nil: aof_last_write_status:ok
}

// Writer appends the command stream to the current incr file. Append and
// Flush may be called from any goroutine (the server calls them under its
// lock); a background goroutine does the everysec fsyncs.
type Writer struct {
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration

	mu        sync.Mutex
	f         *os.File // guarded by mu
	name      string   // guarded by mu
	gen       int      // guarded by mu: bumped by each file switch
	policy    Policy   // guarded by mu
	buf       []byte   // guarded by mu
	size      int64    // guarded by mu: bytes written to f
	synced    int64    // guarded by mu: size at the last good fsync of f
	syncing   bool     // guarded by mu
	postponed time.Time
	delayed   int64
	lastSync  time.Time
	writeErr  *IOError // guarded by mu: cleared by a later good write (not under always)
	fatalErr  *IOError // guarded by mu: sticky (fsync errors, write errors under always)
	fatalGen  int      // guarded by mu: gen of the file fatalErr happened on
	closed    bool

	stop   chan struct{}
	done   chan struct{}
	oldFds sync.WaitGroup // old files being fsync'ed and closed
}

// writerConfig holds what a Writer takes from Options.
type writerConfig struct {
	policy   Policy
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
}

func newWriter(f *os.File, name string, size int64, cfg writerConfig) *Writer {
	w := &Writer{
		log: cfg.log, now: cfg.now, interval: cfg.interval,
		f: f, name: name, policy: cfg.policy, size: size, synced: size,
		lastSync: cfg.now(),
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	go w.loop()
	return w
}

// Append adds an encoded command (or several) to the buffer. p is copied.
// Nothing reaches the file before Flush (or, under everysec, the next
// background tick).
func (w *Writer) Append(p []byte) {
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
}

// Flush writes the buffer to the file, then:
//   - always, or sync true: fsyncs (fdatasync) before returning. A nil
//     error means everything appended so far is on disk.
//   - everysec: returns after write(2); the background goroutine fsyncs
//     within about a second. If that fsync is still running, the write is
//     postponed (data stays buffered) for up to 2 s, then done anyway
//     (DelayedFsync counts it), as Redis does.
//   - no: returns after write(2); the kernel decides when to write back.
//
// The error is the writer's status (see Err): the server must not
// acknowledge the batch under always, and must refuse writes while it is
// non-nil under every policy.
func (w *Writer) Flush(sync bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if len(w.buf) > 0 && !sync && w.policy == FsyncEverysec && w.syncing {
		now := w.now()
		if w.postponed.IsZero() {
			w.postponed = now
			return w.errLocked()
		}
		if now.Sub(w.postponed) < postponeLimit {
			return w.errLocked()
		}
		w.delayed++
		w.log.Warn("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.")
	}
	w.writeLocked()
	if err := w.errLocked(); err != nil {
		return err
	}
	if sync || w.policy == FsyncAlways {
		w.fsyncLocked()
	}
	return w.errLocked()
}

// Err returns the writer's error status: nil, or an *IOError. Under
// everysec and no a failed write leaves the data in the buffer, is retried
// at each Flush, and the error clears when a write succeeds (Redis's
// aof_last_write_status). A failed fsync, and under always any failure,
// is sticky: the kernel may have dropped the dirty pages, so a later
// success proves nothing. It clears only when a rewrite has replaced the
// file it happened on (the new base holds the whole dataset).
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errLocked()
}

func (w *Writer) errLocked() error {
	if w.fatalErr != nil {
		return w.fatalErr
	}
	if w.writeErr != nil {
		return w.writeErr
	}
	return nil
}

// SetPolicy changes appendfsync at run time.
func (w *Writer) SetPolicy(p Policy) {
	w.mu.Lock()
	w.policy = p
	w.mu.Unlock()
}

// Stats returns a snapshot for INFO.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{
		Policy: w.policy, File: w.name, BufferLen: len(w.buf), IncrSize: w.size,
		Unsynced: w.size - w.synced, PendingFsync: w.syncing, DelayedFsync: w.delayed,
		LastFsync: w.lastSync, Err: w.errLocked(),
	}
}

// LastFsyncAge is how long ago everything written was last known to be on
// disk: under everysec it stays around a second or less while the disk
// keeps up.
func (w *Writer) LastFsyncAge() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size == w.synced && len(w.buf) == 0 {
		return 0
	}
	return w.now().Sub(w.lastSync)
}

// Close writes the buffer, fsyncs and closes the file (as Redis does at
// shutdown, whatever the policy) and stops the background goroutine.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	w.writeLocked()
	if w.errLocked() == nil {
		w.fsyncLocked()
	}
	err := w.errLocked()
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = &IOError{Op: "close", File: w.name, Err: cerr}
	}
	w.mu.Unlock()
	w.oldFds.Wait()
	return err
}

// writeLocked writes the whole buffer. On failure a partial write is cut
// off with ftruncate when possible (else the written part leaves the
// buffer), and the error is recorded.
func (w *Writer) writeLocked() {
	w.postponed = time.Time{}
	if len(w.buf) == 0 {
		return
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		if n > 0 {
			if terr := w.f.Truncate(w.size); terr == nil {
				n = 0
			} else {
				w.log.Warn("Could not remove short write from the append-only file. Redis may refuse to load the AOF the next time it starts.", "file", w.name, "err", terr)
			}
		}
		w.size += int64(n)
		w.buf = w.buf[n:]
		ioe := &IOError{Op: "write", File: w.name, Err: err}
		if w.writeErr == nil {
			w.log.Warn("Error writing to the AOF file", "file", w.name, "err", err)
		}
		w.writeErr = ioe
		if w.policy == FsyncAlways {
			w.setFatalLocked(ioe, w.gen)
		}
		return
	}
	w.size += int64(n)
	if cap(w.buf) > keepWriteBuf {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	if w.writeErr != nil {
		w.log.Warn("AOF write error looks solved, Redis can write again.")
		w.writeErr = nil
	}
}

// setFatalLocked records a sticky error that happened on the file of
// generation gen.
func (w *Writer) setFatalLocked(e *IOError, gen int) {
	if w.fatalErr == nil {
		w.fatalErr, w.fatalGen = e, gen
	}
}

// fsyncLocked fsyncs the current file while holding mu.
func (w *Writer) fsyncLocked() {
	if w.size == w.synced {
		w.lastSync = w.now()
		return
	}
	if err := fdatasync(w.f); err != nil {
		w.log.Warn("Can't persist AOF for fsync error", "file", w.name, "err", err)
		w.setFatalLocked(&IOError{Op: "fsync", File: w.name, Err: err}, w.gen)
		return
	}
	w.synced, w.lastSync = w.size, w.now()
}

// loop is the everysec background fsync (Redis's bio AOF fsync job plus
// the flush of postponed writes from serverCron).
func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.tick()
		}
	}
}

func (w *Writer) tick() {
	w.mu.Lock()
	if w.policy != FsyncEverysec || w.closed {
		w.mu.Unlock()
		return
	}
	w.writeLocked() // postponed data, if any
	if w.size == w.synced {
		if len(w.buf) == 0 {
			w.lastSync = w.now()
		}
		w.mu.Unlock()
		return
	}
	f, gen, target := w.f, w.gen, w.size
	w.syncing = true
	w.mu.Unlock()

	err := fdatasync(f)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncing = false
	if gen != w.gen {
		return // the file was switched meanwhile; its closer fsyncs it
	}
	if err != nil {
		w.log.Warn("Fail to fsync the AOF file", "file", w.name, "err", err)
		w.setFatalLocked(&IOError{Op: "fsync", File: w.name, Err: err}, gen)
		return
	}
	w.synced = max(w.synced, target)
	if w.synced == w.size && len(w.buf) == 0 {
		w.lastSync = w.now()
	}
}

// switchFile makes f (named name, size bytes long) the file appended to:
// the buffer is written to the old file first (what fails stays buffered
// and goes to the new file), then the old file is fsync'ed and closed in
// the background. It returns the new generation.
func (w *Writer) switchFile(f *os.File, name string, size int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeLocked()
	old, oldName, oldGen := w.f, w.name, w.gen
	w.f, w.name, w.size, w.synced = f, name, size, size
	w.gen++
	w.oldFds.Add(1)
	go func() {
		defer w.oldFds.Done()
		err := fdatasync(old)
		if err == nil {
			err = old.Close()
		} else {
			_ = old.Close()
		}
		if err != nil {
			w.log.Warn("Fail to fsync the old AOF file", "file", oldName, "err", err)
			w.mu.Lock()
			w.setFatalLocked(&IOError{Op: "fsync", File: oldName, Err: err}, oldGen)
			w.mu.Unlock()
		}
	}()
	return w.gen
}

// clearErrorsBefore drops a sticky error that happened on a file older
// than generation gen (its content is now covered by a new base).
func (w *Writer) clearErrorsBefore(gen int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fatalErr != nil && w.fatalGen < gen {
		w.log.Warn("AOF error cleared by a successful rewrite", "err", w.fatalErr)
		w.fatalErr = nil
	}
}

// fdatasync is redis_fsync on Linux.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// rename records that the current file was renamed (a temp incr file
// becoming a real one when a rewrite turned the AOF on).
func (w *Writer) rename(name string) {
	w.mu.Lock()
	w.name = name
	w.mu.Unlock()
}
