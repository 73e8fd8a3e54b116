package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/engine/aof"
	"github.com/hactl/hactl/engine/keyspace"
	"github.com/hactl/hactl/engine/rdb"
	"github.com/hactl/hactl/engine/types/hash"
	"github.com/hactl/hactl/engine/types/list"
	"github.com/hactl/hactl/engine/types/set"
	"github.com/hactl/hactl/engine/types/zset"
)

// Persistence: RDB snapshots (SAVE, BGSAVE, save points), the append-only
// file (engine/aof) fed by the write stream, loading at start-up with the
// LOADING state, and saving at shutdown.

// SavePoint is one "save <seconds> <changes>" rule.
type SavePoint struct{ Seconds, Changes int64 }

// PersistSettings are the persistence directives.
type PersistSettings struct {
	Dir                     string
	DBFilename              string
	RDBCompression          bool
	RDBChecksum             bool
	Save                    []SavePoint
	StopWritesOnBgsaveError bool
	AppendOnly              bool
	AppendFilename          string
	AppendDirname           string
	AppendFsync             string
	AOFUseRDBPreamble       bool
	AutoAOFRewritePercent   int
	AutoAOFRewriteMinSize   int64
	AOFLoadTruncated        bool
}

// persistState is guarded by the server lock.
type persistState struct {
	lastSave         time.Time
	lastBgsaveOK     bool
	lastBgsaveTry    time.Time
	lastBgsaveSecs   int64
	bgsaveStart      time.Time
	bgsaveRunning    bool
	rdbSaves         int64
	dirtyAtSave      int64
	lastMaxPause     time.Duration
	loading          bool
	loadingStart     time.Time
	loadedKeys       int64
	loadExpired      int64
	aofStore         *aof.Store
	aofRewriting     bool
	aofRewriteStart  time.Time
	aofLastRewriteS  int64
	aofLastRewriteOK bool
	aofRewrites      int64
	aofBaseSize      int64
	aofScheduled     bool
	bgsavePending    bool
}

// aofFeed appends the write stream to the AOF.
type aofFeed struct{ w *aof.Writer }

func (f aofFeed) Write(b []byte) { f.w.Append(b) }

func persistCommands() []*command {
	return []*command{
		{name: "save", arity: 1, flags: flagAdmin | flagNoScript, group: "server", run: cmdSave},
		{name: "bgsave", arity: -1, flags: flagAdmin | flagNoScript, group: "server", run: cmdBgsave},
		{name: "bgrewriteaof", arity: 1, flags: flagAdmin | flagNoScript, group: "server", run: cmdBgrewriteaof},
		{name: "lastsave", arity: 1, flags: flagLoading | flagStale | flagFast, group: "server", run: cmdLastsave},
	}
}

func (s *Server) rdbPath() string {
	return filepath.Join(s.set.Persist.Dir, s.set.Persist.DBFilename)
}

// saveRDB writes the dataset to the RDB file: temp file, fsync, rename,
// fsync of the directory. With locked the caller holds s.mu throughout
// (SAVE, shutdown); otherwise only per snapshot step (BGSAVE).
func (s *Server) saveRDB(j *snapshotJob, locked bool) error {
	dir := s.set.Persist.Dir
	path := s.rdbPath()
	tmp := filepath.Join(dir, fmt.Sprintf("temp-%d-%d.rdb", os.Getpid(), time.Now().UnixNano()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		if !locked {
			s.mu.Lock()
		}
		j.snap.Abort()
		s.snapJob = nil
		if !locked {
			s.mu.Unlock()
		}
		return fmt.Errorf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %w", filepath.Base(tmp), dir, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = j.run(bw, locked)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write error saving DB on disk: %w", err)
	}
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// saveNow runs SAVE; s.mu is held.
func (s *Server) saveNow() error {
	if s.pst.bgsaveRunning {
		return errors.New("ERR Background save already in progress")
	}
	j, err := s.beginSnapshot(false, false)
	if err != nil {
		return fmt.Errorf("ERR %v", err)
	}
	t0 := time.Now()
	if err := s.saveRDB(j, true); err != nil {
		s.log.Warn(err.Error())
		s.pst.lastBgsaveOK = false
		return errors.New("ERR " + err.Error())
	}
	s.pst.dirtyAtSave = s.dirty
	s.dirty = 0
	s.pst.lastSave = time.Now()
	s.pst.lastBgsaveOK = true
	s.pst.rdbSaves++
	s.log.Info("DB saved on disk", "keys", j.Keys, "ms", time.Since(t0).Milliseconds())
	return nil
}

// bgsave starts a background save; s.mu is held.
func (s *Server) bgsave() error {
	if s.pst.bgsaveRunning {
		return errors.New("ERR Background save already in progress")
	}
	j, err := s.beginSnapshot(false, false)
	if err != nil {
		return errors.New("ERR Background save already in progress")
	}
	s.pst.bgsaveRunning = true
	s.pst.bgsaveStart = time.Now()
	s.pst.lastBgsaveTry = s.pst.bgsaveStart
	dirty := s.dirty
	s.log.Info("Background saving started")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.saveRDB(j, false)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pst.bgsaveRunning = false
		s.pst.lastBgsaveSecs = int64(time.Since(s.pst.bgsaveStart).Seconds())
		s.pst.lastMaxPause = j.MaxPause
		if err != nil {
			s.pst.lastBgsaveOK = false
			s.log.Warn("Background saving error", "err", err)
			return
		}
		s.pst.lastBgsaveOK = true
		s.pst.lastSave = time.Now()
		s.pst.rdbSaves++
		s.dirty -= dirty
		s.log.Info("Background saving terminated with success", "keys", j.Keys, "max_pause_us", j.MaxPause.Microseconds())
	}()
	return nil
}

func cmdSave(c *Client, args [][]byte) {
	if err := c.srv.saveNow(); err != nil {
		c.replyError(err.Error())
		return
	}
	c.w.OK()
}

func cmdBgsave(c *Client, args [][]byte) {
	s := c.srv
	schedule := false
	if len(args) > 1 {
		if len(args) == 2 && strings.EqualFold(string(args[1]), "schedule") {
			schedule = true
		} else {
			c.replyError(errSyntax)
			return
		}
	}
	if s.pst.bgsaveRunning {
		if schedule {
			c.w.Simple("Background saving scheduled")
			return
		}
		c.replyError("ERR Background save already in progress")
		return
	}
	if s.pst.aofRewriting {
		if schedule {
			s.pst.bgsavePending = true
			c.w.Simple("Background saving scheduled")
			return
		}
		c.replyError("ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
		return
	}
	if err := s.bgsave(); err != nil {
		c.replyError(err.Error())
		return
	}
	c.w.Simple("Background saving started")
}

func cmdLastsave(c *Client, args [][]byte) { c.w.Int(c.srv.pst.lastSave.Unix()) }

// writesRefused is the MISCONF check for write commands; s.mu is held.
func (s *Server) writesRefused() string {
	p := s.set.Persist
	if p.StopWritesOnBgsaveError && len(p.Save) > 0 && !s.pst.lastBgsaveOK {
		return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
	}
	if w := s.aofW.Load(); w != nil {
		if err := w.Err(); err != nil {
			return "MISCONF Errors writing to the AOF file: " + err.Error()
		}
	}
	return ""
}

// persistCron runs the save points and the automatic AOF rewrite; s.mu is
// held.
func (s *Server) persistCron(now time.Time) {
	p := s.set.Persist
	if s.pst.loading || s.pst.bgsaveRunning || s.pst.aofRewriting || s.snapJob != nil {
		return
	}
	if s.pst.bgsavePending {
		s.pst.bgsavePending = false
		s.bgsave()
		return
	}
	for _, sp := range p.Save {
		if s.dirty >= sp.Changes && now.Sub(s.pst.lastSave) > time.Duration(sp.Seconds)*time.Second &&
			(s.pst.lastBgsaveOK || now.Sub(s.pst.lastBgsaveTry) > 5*time.Second) {
			s.log.Info(fmt.Sprintf("%d changes in %d seconds. Saving...", sp.Changes, sp.Seconds))
			s.bgsave()
			return
		}
	}
	if s.pst.aofStore != nil && s.aofW.Load() != nil && p.AutoAOFRewritePercent > 0 {
		_, total := s.pst.aofStore.Sizes()
		base := max(s.pst.aofBaseSize, 1)
		growth := (total - base) * 100 / base
		if total > p.AutoAOFRewriteMinSize && growth >= int64(p.AutoAOFRewritePercent) {
			s.log.Info("Starting automatic rewriting of AOF", "growth_pct", growth)
			s.startAOFRewrite()
		}
	}
}

// ---- loading ----

// loadRecord turns an RDB record into a value in the right database.
func (s *Server) loadRecord(rec *rdb.Record, replica bool) error {
	if rec.DB < 0 || rec.DB >= len(s.dbs) {
		return fmt.Errorf("key %q: database %d is out of range (databases %d)", rec.Key, rec.DB, len(s.dbs))
	}
	db := s.dbs[rec.DB]
	if rec.ExpireMs != rdb.NoExpire && rec.ExpireMs <= s.ctx.Now && !replica {
		s.pst.loadExpired++
		return nil
	}
	key := []byte(rec.Key)
	switch rec.Kind {
	case rdb.KindString:
		// The decoder's strings are private: stored without copies.
		db.AddString(&s.ctx, rec.Key, rec.Str)
	case rdb.KindList:
		l := list.New()
		for _, e := range rec.Elems {
			l.PushBack([]byte(e))
		}
		db.Add(&s.ctx, key, keyspace.Value{Type: keyspace.TypeList, Obj: l})
	case rdb.KindSet:
		if len(rec.Elems) == 0 {
			return nil
		}
		st := set.New([]byte(rec.Elems[0]))
		for _, m := range rec.Elems {
			st.Add([]byte(m), s.set.SetMaxIntsetEntries)
		}
		db.Add(&s.ctx, key, keyspace.Value{Type: keyspace.TypeSet, Obj: st})
	case rdb.KindHash:
		h := hash.New()
		for i := 0; i+1 < len(rec.Elems); i += 2 {
			h.Set([]byte(rec.Elems[i]), []byte(rec.Elems[i+1]), s.set.HashMaxListpackEntries, s.set.HashMaxListpackValue)
		}
		db.Add(&s.ctx, key, keyspace.Value{Type: keyspace.TypeHash, Obj: h})
	case rdb.KindZSet:
		z := zset.New()
		lim := zset.Limits{Entries: s.set.ZsetMaxListpackEntries, Value: s.set.ZsetMaxListpackValue}
		for i, m := range rec.Elems {
			z.Insert(m, rec.Scores[i], lim)
		}
		db.Add(&s.ctx, key, keyspace.Value{Type: keyspace.TypeZSet, Obj: z})
	default:
		return fmt.Errorf("key %q: unsupported type %v", rec.Key, rec.Kind)
	}
	if rec.ExpireMs != rdb.NoExpire {
		db.SetExpire(key, rec.ExpireMs)
	}
	s.pst.loadedKeys++
	return nil
}

// loadRDBStream loads an RDB from r, taking the lock per batch of keys.
// The caller does not hold s.mu.
func (s *Server) loadRDBStream(r io.Reader) (rdb.Summary, error) {
	n := 0
	s.mu.Lock()
	locked := true
	defer func() {
		if locked {
			s.mu.Unlock()
		}
	}()
	var replid string
	replOff := int64(-1)
	curDB := 0
	sum, err := rdb.Load(r, rdb.Funcs{
		OnAux: func(key, value string) error {
			switch key {
			case "repl-id":
				replid = value
			case "repl-offset":
				if n, err := strconv.ParseInt(value, 10, 64); err == nil {
					replOff = n
				}
			}
			return nil
		},
		OnSelectDB: func(id int) error {
			curDB = id
			return nil
		},
		OnResizeDB: func(size, expires uint64) error {
			if curDB >= 0 && curDB < len(s.dbs) && size < 1<<31 && expires < 1<<31 {
				s.dbs[curDB].Reserve(int(size), int(expires))
			}
			return nil
		},
		OnKey: func(rec *rdb.Record) error {
			if n++; n%1024 == 0 {
				s.mu.Unlock()
				s.mu.Lock()
				s.refreshCtx()
			}
			return s.loadRecord(rec, false)
		},
	})
	if err == nil && len(replid) == 40 && replOff >= 0 {
		// Keep the history of the saved dataset so a restarted node can
		// continue with a partial resynchronization (Redis 7.0 does too).
		s.repl.replid, s.repl.offset = replid, replOff
	}
	return sum, err
}

// MarkLoading makes the server answer -LOADING from now on until LoadData
// completes. Call it before Serve so that no client can see the empty
// dataset in the instant between the listeners opening and the load.
func (s *Server) MarkLoading() {
	s.mu.Lock()
	s.pst.loading = true
	s.pst.loadingStart = time.Now()
	s.mu.Unlock()
}

// LoadData loads the dataset at start-up: from the AOF when appendonly is
// on, else from the RDB file. Clients are answered -LOADING meanwhile.
func (s *Server) LoadData() error {
	s.mu.Lock()
	s.pst.loading = true
	s.pst.loadingStart = time.Now()
	s.refreshCtx()
	p := s.set.Persist
	s.mu.Unlock()
	if removed, err := removeStaleTemps(p.Dir, os.Getpid()); err != nil {
		s.log.Warn("can't remove stale temporary files", "dir", p.Dir, "err", err)
	} else if len(removed) > 0 {
		s.log.Info("removed temporary files left by a killed engine", "dir", p.Dir, "files", removed)
	}
	loaded := false
	defer func() {
		// After a fatal load error the server keeps answering -LOADING
		// until the caller stops it: no client may see partial data.
		if loaded {
			s.mu.Lock()
			s.pst.loading = false
			s.mu.Unlock()
		}
	}()
	t0 := time.Now()
	defer func() {
		if loaded {
			s.startConfiguredReplication()
		}
	}()
	if p.AppendOnly {
		if err := s.loadAOF(); err != nil {
			return err
		}
		s.log.Info("DB loaded from append only file", "seconds", time.Since(t0).Seconds())
		loaded = true
		return nil
	}
	f, err := os.Open(s.rdbPath())
	if errors.Is(err, os.ErrNotExist) {
		loaded = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("Fatal error loading the DB: %w", err)
	}
	defer f.Close()
	sum, err := s.loadRDBStream(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("Fatal error loading the DB %s: %w", s.rdbPath(), err)
	}
	s.mu.Lock()
	s.pst.lastSave = time.Now()
	s.pst.lastBgsaveOK = true
	s.mu.Unlock()
	loaded = true
	s.log.Info("DB loaded from disk", "file", s.rdbPath(), "keys", sum.Keys, "rdb_version", sum.Version, "seconds", time.Since(t0).Seconds())
	return nil
}

func (s *Server) aofOptions() aof.Options {
	p := s.set.Persist
	pol, err := aof.ParsePolicy(p.AppendFsync)
	if err != nil {
		pol = aof.FsyncEverysec
	}
	return aof.Options{Dir: p.Dir, DirName: p.AppendDirname, FileName: p.AppendFilename, Fsync: pol,
		LoadTruncated: p.AOFLoadTruncated, IncrementalFsync: true, Logger: s.log}
}

// loadAOF replays the AOF and opens it for appending.
func (s *Server) loadAOF() error {
	st := aof.New(s.aofOptions())
	fake := s.newFakeClient()
	n := 0
	res, err := st.Load(aof.Handler{
		RDB: func(file string, r *bufio.Reader) error {
			_, err := s.loadRDBStream(r)
			return err
		},
		Command: func(file string, off int64, args [][]byte) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if n++; n%1024 == 1 {
				s.refreshCtx()
			}
			if s.commands().lookup(args[0]) == nil {
				return fmt.Errorf("Unknown command '%s' reading the append only file %s at offset %d", args[0], file, off)
			}
			fake.exec(args)
			fake.w.Reset()
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("Bad file format reading the append only file: %w", err)
	}
	if res.Truncated != nil {
		if err := os.Truncate(res.Truncated.Path, res.Truncated.Offset); err != nil {
			return fmt.Errorf("error truncating the AOF file %s: %w", res.Truncated.File, err)
		}
		s.log.Warn("AOF loaded anyway because aof-load-truncated is enabled", "file", res.Truncated.File, "truncated_to", res.Truncated.Offset)
	}
	return s.openAOF(st)
}

// openAOF opens the AOF for appending and attaches it to the write stream.
func (s *Server) openAOF(st *aof.Store) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := st.Open(func(out io.Writer, useRDB bool) error {
		j, err := s.beginSnapshot(true, !useRDB)
		if err != nil {
			return err
		}
		return j.run(out, true)
	}, s.set.Persist.AOFUseRDBPreamble)
	if err != nil {
		return fmt.Errorf("can't open the append-only file: %w", err)
	}
	s.pst.aofStore = st
	s.pst.aofBaseSize, _ = st.Sizes()
	s.aofW.Store(w)
	s.str.feeds = append(s.str.feeds, aofFeed{w})
	s.str.lastDB = -1 // the next command re-selects its database
	return nil
}

// newFakeClient is the AOF loader's client: no connection, no replies.
func (s *Server) newFakeClient() *Client {
	c := &Client{srv: s, id: -1, addr: "aof", user: "default", authenticated: true, created: time.Now()}
	c.w.Proto = 2
	return c
}

// ---- AOF rewrite ----

func cmdBgrewriteaof(c *Client, args [][]byte) {
	s := c.srv
	switch {
	case s.pst.aofRewriting:
		c.replyError("ERR Background append only file rewriting already in progress")
	case s.pst.bgsaveRunning:
		s.pst.aofScheduled = true
		c.w.Simple("Background append only file rewriting scheduled")
	default:
		if err := s.startAOFRewrite(); err != nil {
			c.replyError("ERR " + err.Error())
			return
		}
		c.w.Simple("Background append only file rewriting started")
	}
}

// startAOFRewrite starts BGREWRITEAOF, or turns the AOF on when it is
// off (CONFIG SET appendonly yes); s.mu is held.
func (s *Server) startAOFRewrite() error {
	st := s.pst.aofStore
	if st == nil {
		st = aof.New(s.aofOptions())
	}
	useRDB := s.set.Persist.AOFUseRDBPreamble
	rw, err := st.StartRewrite(useRDB)
	if err != nil {
		return err
	}
	j, err := s.beginSnapshot(true, !useRDB)
	if err != nil {
		rw.Abort()
		return err
	}
	enabling := s.aofW.Load() == nil
	if enabling {
		// Writes go to the temporary incr file from this instant on.
		s.str.feeds = append(s.str.feeds, aofFeed{rw.Writer()})
		s.str.lastDB = -1
	}
	s.pst.aofRewriting = true
	s.pst.aofRewriteStart = time.Now()
	s.log.Info("Background append only file rewriting started")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := rw.Finish(func(out io.Writer, _ bool) error { return j.run(out, false) })
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pst.aofRewriting = false
		s.pst.aofLastRewriteS = int64(time.Since(s.pst.aofRewriteStart).Seconds())
		if err != nil {
			s.pst.aofLastRewriteOK = false
			s.log.Warn("Background AOF rewrite failed", "err", err)
			if enabling {
				s.removeFeed(rw.Writer())
			}
			return
		}
		s.pst.aofLastRewriteOK = true
		s.pst.aofRewrites++
		s.pst.aofStore = st
		if enabling {
			s.aofW.Store(rw.Writer())
		}
		s.pst.aofBaseSize, _ = st.Sizes()
		s.log.Info("Background AOF rewrite finished successfully")
	}()
	return nil
}

func (s *Server) removeFeed(w *aof.Writer) {
	out := s.str.feeds[:0]
	for _, f := range s.str.feeds {
		if af, ok := f.(aofFeed); ok && af.w == w {
			continue
		}
		out = append(out, f)
	}
	s.str.feeds = out
}

// stopAOF closes the AOF (CONFIG SET appendonly no, shutdown); s.mu held.
func (s *Server) stopAOF() error {
	w := s.aofW.Load()
	if w == nil || s.pst.aofStore == nil {
		return nil
	}
	s.removeFeed(w)
	s.aofW.Store(nil)
	return s.pst.aofStore.Close()
}

// flushAOF writes (and under always fsyncs) the AOF before replies are
// sent. It is called without s.mu: concurrent callers share one write.
func (s *Server) flushAOF() error {
	w := s.aofW.Load()
	if w == nil {
		return nil
	}
	return w.Flush(false)
}

// shutdownPersist saves as Redis's SHUTDOWN does; s.mu is held.
func (s *Server) shutdownPersist(save, nosave bool) error {
	if w := s.aofW.Load(); w != nil {
		if err := w.Flush(true); err != nil {
			s.log.Warn("error flushing the AOF at shutdown", "err", err)
		}
	}
	if (len(s.set.Persist.Save) > 0 || save) && !nosave {
		s.log.Info("Saving the final RDB snapshot before exiting.")
		if s.snapJob != nil {
			s.snapJob.snap.Abort()
			s.snapJob = nil
			s.pst.bgsaveRunning = false
		}
		if err := s.saveNow(); err != nil {
			return err
		}
	}
	if err := s.stopAOF(); err != nil {
		s.log.Warn("error closing the AOF", "err", err)
	}
	return nil
}

// aofAlways is read without the lock (after a batch); applySettings
// keeps it current.
func (s *Server) aofAlways() bool { return s.aofAlwaysFlag.Load() }

// startConfiguredReplication follows the replicaof directive after the
// dataset is loaded.
func (s *Server) startConfiguredReplication() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.set.Repl.ReplicaOfHost; h != "" && s.repl.link == nil {
		s.startLink(h, s.set.Repl.ReplicaOfPort)
	}
}
