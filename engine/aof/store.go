package aof

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Name parts of aof.c.
const (
	manifestSuffix = ".manifest"
	tempPrefix     = "temp-"
)

// Defaults of the config directives.
const (
	DefaultDirName  = "appendonlydir"
	DefaultFileName = "appendonly.aof"
)

// incrementalFsyncBytes is REDIS_AUTOSYNC_BYTES: with
// aof-rewrite-incremental-fsync the new base is fsync'ed every 4 MB.
const incrementalFsyncBytes = 4 << 20

// Errors of the rewrite life cycle.
var (
	ErrRewriteInProgress = errors.New("aof: a rewrite is already in progress")
	ErrRewriteAborted    = errors.New("aof: rewrite aborted")
	ErrAlreadyOpen       = errors.New("aof: already open for appending")
)

// Options are the AOF directives of the server config.
type Options struct {
	Dir              string        // dir: holds the AOF directory and the legacy file
	DirName          string        // appenddirname (default appendonlydir)
	FileName         string        // appendfilename (default appendonly.aof)
	Fsync            Policy        // appendfsync
	LoadTruncated    bool          // aof-load-truncated (Redis default yes)
	DisableAutoGC    bool          // aof-disable-auto-gc: keep history files
	IncrementalFsync bool          // aof-rewrite-incremental-fsync (Redis default yes)
	Logger           *slog.Logger  // nil: slog.Default()
	FsyncInterval    time.Duration // everysec period (default 1s; tests shorten it)
	Now              func() time.Time
}

// BaseFunc writes a complete base file to w: an RDB file (with the
// aof-base AUX field set to 1) when rdb is true, else RESP commands that
// rebuild the dataset (SELECT, SET, RPUSH...). The caller supplies it,
// typically writing a snapshot taken when the rewrite started.
type BaseFunc func(w io.Writer, rdb bool) error

// Store manages the AOF directory: the manifest, loading, the Writer of
// the current incr file and rewrites. Its methods are safe for concurrent
// use.
type Store struct {
	opts Options
	dir  string
	log  *slog.Logger

	mu  sync.Mutex
	man *Manifest // guarded by mu; nil until read
	w   *Writer   // guarded by mu; nil while the AOF is not open
	rw  *Rewrite  // guarded by mu; the rewrite in progress
}

// New returns a Store for opts; it does no I/O.
func New(opts Options) *Store {
	if opts.DirName == "" {
		opts.DirName = DefaultDirName
	}
	if opts.FileName == "" {
		opts.FileName = DefaultFileName
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FsyncInterval <= 0 {
		opts.FsyncInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{opts: opts, dir: filepath.Join(opts.Dir, opts.DirName), log: opts.Logger}
}

// DirPath is the AOF directory (dir/appenddirname).
func (s *Store) DirPath() string { return s.dir }

// Path is the path of a file of the AOF directory.
func (s *Store) Path(name string) string { return filepath.Join(s.dir, name) }

// ManifestPath is the path of the manifest.
func (s *Store) ManifestPath() string { return s.Path(s.opts.FileName + manifestSuffix) }

// Manifest returns a copy of the current manifest (an empty one when none
// has been read or created).
func (s *Store) Manifest() *Manifest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.man == nil {
		return &Manifest{}
	}
	return s.man.Clone()
}

// Files lists the files to load, in order: base, then incr files.
func (s *Store) Files() []FileInfo { return s.Manifest().LoadOrder() }

// Writer returns the open Writer, or nil.
func (s *Store) Writer() *Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

// Sizes stats the base and incr files: aof_base_size and
// aof_current_size of INFO.
func (s *Store) Sizes() (base, total int64) {
	m := s.Manifest()
	for i, fi := range m.LoadOrder() {
		st, err := os.Stat(s.Path(fi.Name))
		if err != nil {
			continue
		}
		if i == 0 && m.Base != nil {
			base = st.Size()
		}
		total += st.Size()
	}
	return base, total
}

// readManifestLocked reads the manifest if the directory and the file
// exist; otherwise it starts from an empty one (a fresh or legacy setup).
func (s *Store) readManifestLocked() error {
	if s.man != nil {
		return nil
	}
	m, err := ReadManifest(s.ManifestPath())
	if errors.Is(err, fs.ErrNotExist) {
		s.man = &Manifest{}
		return nil
	}
	if err != nil {
		return err
	}
	s.man = m
	return nil
}

// Truncation is a torn tail found in the last file.
type Truncation struct {
	File   string
	Path   string
	Offset int64 // truncate the file to this size
	Size   int64 // its size when loaded
	Reason string
}

// Apply truncates the file to Offset and fsyncs it.
func (t *Truncation) Apply() error {
	f, err := os.OpenFile(t.Path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("error truncating the AOF file %s: %w", t.File, err)
	}
	defer f.Close()
	if err := f.Truncate(t.Offset); err != nil {
		return fmt.Errorf("error truncating the AOF file %s: %w", t.File, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync the truncated AOF file %s: %w", t.File, err)
	}
	return nil
}

// LoadResult describes a Load.
type LoadResult struct {
	Found     bool // the manifest lists a base or incr file
	Upgraded  bool // a legacy single-file AOF was moved into the directory
	Files     []FileResult
	BaseSize  int64
	TotalSize int64
	// Truncated is set when the last file ends with a torn command and
	// LoadTruncated is on: everything before Offset was delivered; the
	// caller logs it and calls Apply, as Redis does.
	Truncated *Truncation
}

// Load reads the manifest and delivers the content of every file to h, in
// load order (base, then incr files). Like Redis 7.0: when dir holds a
// legacy appendfilename and there is no usable manifest, the file is
// first moved into the AOF directory as the base of a new manifest; no
// manifest and no legacy file means nothing to load (Found false); a file
// the manifest names but that is missing is an error; a torn last command
// is tolerated only in the last file and only with LoadTruncated; any
// other error stops the load.
func (s *Store) Load(h Handler) (*LoadResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &LoadResult{}
	if err := s.readManifestLocked(); err != nil {
		return nil, err
	}
	up, err := s.upgradeLocked()
	if err != nil {
		return nil, err
	}
	res.Upgraded = up
	files := s.man.LoadOrder()
	if len(files) == 0 {
		return res, nil
	}
	res.Found = true
	for i, fi := range files {
		st, err := os.Stat(s.Path(fi.Name))
		if err != nil {
			return nil, fmt.Errorf("the append log file %s listed in the manifest can't be read: %w", fi.Name, err)
		}
		if i == 0 && s.man.Base != nil {
			res.BaseSize = st.Size()
		}
		res.TotalSize += st.Size()
	}
	for i, fi := range files {
		last := i == len(files)-1
		fr, err := LoadFile(s.Path(fi.Name), fi.Name, h)
		res.Files = append(res.Files, fr)
		off, torn := IsTruncated(err)
		switch {
		case err == nil:
		case torn && last && s.opts.LoadTruncated:
			res.Truncated = &Truncation{File: fi.Name, Path: s.Path(fi.Name), Offset: off,
				Size: fr.Size, Reason: err.Error()}
			s.log.Warn("short read while loading the AOF file", "file", fi.Name, "truncate_to", off, "err", err)
		case torn && !last:
			return res, fmt.Errorf("fatal error: the truncated file is not the last file: %w", err)
		default:
			return res, err
		}
	}
	return res, nil
}

// upgradeLocked moves a legacy dir/appendfilename into the AOF directory
// with a manifest naming it as base seq 1 (aofUpgradePrepare), in the
// three cases of loadAppendOnlyFiles.
func (s *Store) upgradeLocked() (bool, error) {
	legacy := filepath.Join(s.opts.Dir, s.opts.FileName)
	if st, err := os.Stat(legacy); err != nil || !st.Mode().IsRegular() {
		return false, nil
	}
	m := s.man
	_, dirErr := os.Stat(s.dir)
	inDir := fileExists(s.Path(s.opts.FileName))
	if !(dirErr != nil ||
		(m.Base == nil && len(m.Incr) == 0) ||
		(m.Base != nil && len(m.Incr) == 0 && m.Base.Name == s.opts.FileName && !inDir)) {
		return false, nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return false, fmt.Errorf("can't open or create append-only dir %s: %w", s.dir, err)
	}
	nm := m.Clone()
	nm.Base = &FileInfo{Name: s.opts.FileName, Seq: 1, Type: TypeBase}
	nm.BaseSeq = 1
	if err := s.persistLocked(nm); err != nil {
		return false, err
	}
	s.man = nm
	if err := os.Rename(legacy, s.Path(s.opts.FileName)); err != nil {
		return false, fmt.Errorf("error trying to move the old AOF file %s into dir %s: %w", s.opts.FileName, s.dir, err)
	}
	if err := syncDir(s.opts.Dir); err != nil {
		return false, err
	}
	s.log.Info(fmt.Sprintf("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", s.opts.FileName, s.opts.DirName))
	return true, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// persistLocked writes m as the manifest: temp file, fsync, rename, fsync
// of the directory (writeAofManifestFile).
func (s *Store) persistLocked(m *Manifest) error {
	tmp := s.Path(tempPrefix + s.opts.FileName + manifestSuffix)
	if err := writeFileSync(tmp, m.Format()); err != nil {
		return fmt.Errorf("write the temporary AOF manifest: %w", err)
	}
	if err := os.Rename(tmp, s.ManifestPath()); err != nil {
		return fmt.Errorf("rename the temporary AOF manifest: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// newBaseLocked names the next base in m and turns the old one into
// history (getNewBaseFileNameAndMarkPreAsHistory).
func (s *Store) newBase(m *Manifest, rdb bool) string {
	if m.Base != nil {
		old := *m.Base
		old.Type = TypeHistory
		m.History = append([]FileInfo{old}, m.History...)
	}
	m.BaseSeq++
	ext := ".aof"
	if rdb {
		ext = ".rdb"
	}
	name := s.opts.FileName + "." + strconv.FormatInt(m.BaseSeq, 10) + ".base" + ext
	m.Base = &FileInfo{Name: name, Seq: m.BaseSeq, Type: TypeBase}
	return name
}

// newIncr appends the next incr file to m (getNewIncrAofName).
func (s *Store) newIncr(m *Manifest) string {
	m.IncrSeq++
	name := s.opts.FileName + "." + strconv.FormatInt(m.IncrSeq, 10) + ".incr.aof"
	m.Incr = append(m.Incr, FileInfo{Name: name, Seq: m.IncrSeq, Type: TypeIncr})
	return name
}

// writeBase writes a base through fn into path: buffered, fsync'ed every 4
// MB with IncrementalFsync, fsync'ed and closed at the end. On error the
// file is removed.
func (s *Store) writeBase(path string, fn BaseFunc, rdb bool) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("opening the temp file for AOF rewrite: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	var out io.Writer = f
	if s.opts.IncrementalFsync {
		out = &autoSync{f: f}
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	if err := fn(bw, rdb); err != nil {
		return fmt.Errorf("write error writing append only file on disk: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write error writing append only file on disk: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync the new AOF base: %w", err)
	}
	return f.Close()
}

// autoSync fsyncs its file every incrementalFsyncBytes.
type autoSync struct {
	f       *os.File
	pending int
}

func (a *autoSync) Write(p []byte) (int, error) {
	n, err := a.f.Write(p)
	a.pending += n
	if err == nil && a.pending >= incrementalFsyncBytes {
		a.pending = 0
		err = fdatasync(a.f)
	}
	return n, err
}

func (s *Store) writerConfig() writerConfig {
	return writerConfig{policy: s.opts.Fsync, interval: s.opts.FsyncInterval, log: s.log, now: s.opts.Now}
}

// Open prepares appending at start-up, after Load
// (aofOpenIfNeededOnServerStart): it creates the directory; when the
// manifest lists no file at all it writes a first base through base (the
// dataset as loaded, usually empty) named <file>.1.base.rdb or .aof after
// rdb; it opens the last incr file for appending, or creates the next
// one, and persists the manifest. Close the Writer through Store.Close.
func (s *Store) Open(base BaseFunc, rdb bool) (*Writer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		return nil, ErrAlreadyOpen
	}
	if err := s.readManifestLocked(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("can't open or create append-only dir %s: %w", s.dir, err)
	}
	m := s.man.Clone()
	dirty := false
	if m.Base == nil && len(m.Incr) == 0 {
		name := s.newBase(m, rdb)
		if err := s.writeBase(s.Path(name), base, rdb); err != nil {
			return nil, err
		}
		s.log.Info("Creating AOF base file " + name + " on server start")
		dirty = true
	}
	var name string
	if n := len(m.Incr); n > 0 {
		name = m.Incr[n-1].Name
	} else {
		name, dirty = s.newIncr(m), true
	}
	f, err := os.OpenFile(s.Path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("can't open the append-only file %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat the append-only file %s: %w", name, err)
	}
	if dirty {
		if err := s.persistLocked(m); err != nil {
			f.Close()
			return nil, err
		}
	}
	s.man = m
	s.w = newWriter(f, name, st.Size(), s.writerConfig())
	return s.w, nil
}

// Close aborts a rewrite in progress and closes the Writer (write, fsync,
// close), if open: shutdown, or CONFIG SET appendonly no (stopAppendOnly).
// The Store can be opened again.
func (s *Store) Close() error {
	s.mu.Lock()
	w := s.w
	s.w = nil
	if s.rw != nil {
		s.rw.abortLocked()
	}
	s.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.Close()
}

// Rewrite is a rewrite in progress (BGREWRITEAOF, an automatic rewrite, or
// the rewrite that turns the AOF on at run time).
type Rewrite struct {
	s        *Store
	rdb      bool
	gen      int     // writer generation at the switch
	w        *Writer // the writer appends go to from now on
	enabling bool    // the AOF was off: w writes a temp incr file
	aborted  bool    // guarded by s.mu
	tempBase string
}

// RDB reports whether the base must be an RDB.
func (r *Rewrite) RDB() bool { return r.rdb }

// Writer is where the command stream goes from the start of the rewrite
// on. When the rewrite turns the AOF on, it is a new Writer on a temp incr
// file that becomes the Store's Writer when Finish succeeds.
func (r *Rewrite) Writer() *Writer { return r.w }

// StartRewrite starts a rewrite. Call it at the exact point of the command
// stream where the caller takes the snapshot the new base will hold
// (under the server lock). If the AOF is open it writes out the buffer,
// opens the next incr file, persists the manifest listing it and switches
// the Writer to it (openNewIncrAofForAppend). If the AOF is not open (it
// is being turned on), appends go to a new Writer on
// temp-<file>.incr until Finish. rdb selects the base format.
func (s *Store) StartRewrite(rdb bool) (*Rewrite, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rw != nil {
		return nil, ErrRewriteInProgress
	}
	if err := s.readManifestLocked(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("can't open or create append-only dir %s: %w", s.dir, err)
	}
	rw := &Rewrite{s: s, rdb: rdb,
		tempBase: s.Path(fmt.Sprintf("temp-rewriteaof-bg-%d.aof", os.Getpid()))}
	if s.w == nil {
		name := tempPrefix + s.opts.FileName + ".incr"
		f, err := os.OpenFile(s.Path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("can't open the append-only file %s: %w", name, err)
		}
		rw.w, rw.enabling = newWriter(f, name, 0, s.writerConfig()), true
	} else {
		m := s.man.Clone()
		name := s.newIncr(m)
		f, err := os.OpenFile(s.Path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("can't open the append-only file %s: %w", name, err)
		}
		if err := s.persistLocked(m); err != nil {
			f.Close()
			return nil, err
		}
		s.man = m
		rw.gen = s.w.switchFile(f, name, 0)
		rw.w = s.w
		s.log.Info("Creating AOF incr file " + name + " on background rewrite")
	}
	s.rw = rw
	return rw, nil
}

// Finish writes the new base through base (normally in a background
// goroutine, from the snapshot taken at StartRewrite), then commits
// (backgroundRewriteDoneHandler): the temp base is renamed to the next
// base name, the old base and the incr files older than the current one
// become history, the manifest is persisted atomically, and history files
// are deleted unless DisableAutoGC. On any error the rewrite is aborted
// and the previous manifest stays in force.
func (r *Rewrite) Finish(base BaseFunc) error {
	s := r.s
	if err := s.writeBase(r.tempBase, base, r.rdb); err != nil {
		r.Abort()
		return err
	}
	s.log.Info("Successfully created the temporary AOF base file " + filepath.Base(r.tempBase))
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.aborted || s.rw != r {
		os.Remove(r.tempBase)
		return ErrRewriteAborted
	}
	s.rw = nil
	m := s.man.Clone()
	baseName := s.newBase(m, r.rdb)
	if err := os.Rename(r.tempBase, s.Path(baseName)); err != nil {
		r.abortLocked()
		return fmt.Errorf("error trying to rename the temporary AOF base file into %s: %w", baseName, err)
	}
	var incrName string
	if r.enabling {
		incrName = s.newIncr(m)
		if err := os.Rename(s.Path(r.w.Stats().File), s.Path(incrName)); err != nil {
			os.Remove(s.Path(baseName))
			r.abortLocked()
			return fmt.Errorf("error trying to rename the temporary AOF incr file into %s: %w", incrName, err)
		}
		r.w.rename(incrName)
	}
	// markRewrittenIncrAofAsHistory: every incr file but the current one.
	if n := len(m.Incr); n > 1 {
		var hist []FileInfo
		for _, fi := range m.Incr[:n-1] {
			fi.Type = TypeHistory
			hist = append(hist, fi)
		}
		m.History = append(hist, m.History...)
		m.Incr = m.Incr[n-1:]
	}
	if err := s.persistLocked(m); err != nil {
		os.Remove(s.Path(baseName))
		if r.enabling {
			os.Remove(s.Path(incrName))
			r.w.Close()
		}
		return err
	}
	s.man = m
	if r.enabling {
		s.w = r.w
	} else {
		r.w.clearErrorsBefore(r.gen)
	}
	s.log.Info("Background AOF rewrite finished successfully", "base", baseName)
	return s.gcLocked()
}

// gcLocked deletes history files and persists the manifest without them
// (aofDelHistoryFiles).
func (s *Store) gcLocked() error {
	if s.opts.DisableAutoGC || len(s.man.History) == 0 {
		return nil
	}
	m := s.man.Clone()
	for _, fi := range m.History {
		s.log.Info("Removing the history file " + fi.Name)
		if err := os.Remove(s.Path(fi.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("can't remove AOF history file", "file", fi.Name, "err", err)
		}
	}
	m.History = nil
	if err := s.persistLocked(m); err != nil {
		return fmt.Errorf("history files deleted but the manifest was not updated: %w", err)
	}
	s.man = m
	return nil
}

// Abort drops the rewrite: the temp base is removed; when the rewrite was
// turning the AOF on, its Writer is closed and the temp incr file removed.
// The incr file opened by StartRewrite stays in the manifest, as in Redis.
func (r *Rewrite) Abort() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.abortLocked()
}

func (r *Rewrite) abortLocked() {
	if r.s.rw == r {
		r.s.rw = nil
	}
	r.aborted = true
	os.Remove(r.tempBase)
	if r.enabling {
		name := r.w.Stats().File
		r.w.Close()
		os.Remove(r.s.Path(name))
	}
}
