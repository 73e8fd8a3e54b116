// Package aof implements Redis 7.0's multi-part append-only file for
// hactl-engine: the files it writes are read by redis-server 7.0.15 and
// redis-check-aof, and it reads what they write.
//
// Layout (dir/appenddirname, by default dir/appendonlydir):
//   - <appendfilename>.<seq>.base.rdb or .base.aof: the dataset at the last
//     rewrite, as an RDB (aof-use-rdb-preamble yes) or as commands;
//   - <appendfilename>.<seq>.incr.aof: commands since then, RESP multibulk;
//   - <appendfilename>.manifest: one line per file, "file <name> seq <n>
//     type <b|h|i>", replaced atomically (temp file, fsync, rename, fsync
//     of the directory);
//   - temp-* files while a manifest or a base is being written.
//
// Pieces:
//   - Manifest, ParseManifest, ReadManifest, Manifest.Format (manifest.go):
//     the manifest with aof.c's parsing rules and messages (*ManifestError
//     names the file and line).
//   - Reader (reader.go): the RESP command reader; *LoadError with Redis's
//     ErrBadFormat / ErrUnexpectedEOF, the file and the offset.
//   - LoadFile, Handler (load.go): one file: RDB part handed to
//     Handler.RDB, then commands to Handler.Command with file and offset;
//     transactions delivered only once their EXEC is read.
//   - Store (store.go): Load (with the legacy single-file upgrade and the
//     torn-tail rule), Open (first base and incr at start-up),
//     StartRewrite / Rewrite.Finish / Rewrite.Abort, Files, Sizes, Close.
//   - Writer (writer.go): Append, Flush, Err, Stats and the everysec
//     background fsync.
//
// Guarantees of appendfsync (Writer.Flush is called by the server after
// executing a batch and before sending its replies):
//   - always: Flush writes the buffer and fdatasyncs the file before it
//     returns; a nil error means every command appended before the call is
//     on disk, so a reply sent after it survives a crash of the process or
//     of the machine. A non-nil error means it is not: the batch must not
//     be acknowledged (Redis exits the process), and the error is sticky.
//   - everysec: Flush returns after write(2), so acknowledged writes
//     survive a crash of the process (they are in the kernel). A background
//     goroutine fdatasyncs about once per FsyncInterval (1 s); while that
//     fsync runs, Flush holds new data in memory for up to 2 s (then writes
//     anyway and counts DelayedFsync). A machine crash loses at most the
//     last ~1 s of writes, ~2-3 s when the disk is slow (Stats.LastFsync
//     and LastFsyncAge show the current window).
//   - no: Flush returns after write(2); the kernel writes back when it
//     wants (typically within 30 s). Process crashes lose nothing
//     acknowledged; machine crashes lose what the kernel had not written.
//   - Under every policy Close (shutdown, appendonly no) writes and
//     fdatasyncs. Writes buffered by Append but not yet flushed are lost on
//     a process crash, which is why replies go out only after Flush.
//
// Errors: a failed write keeps the data buffered and is retried at the
// next Flush; Writer.Err reports it until a write succeeds (under always
// it is sticky). A failed fsync is sticky under every policy (after a
// failed fsync Linux may drop the dirty pages, so a later success proves
// nothing) until a rewrite commits a new base that covers the file it
// happened on. While Err is non-nil the server must refuse writes with
// Redis's "-MISCONF Errors writing to the AOF file: <reason>" and report
// aof_last_write_status:err.
//
// Not here: choosing what to write (the server feeds Append with the
// propagated command stream, SELECT included) and executing loaded
// commands (Handler).
package aof
