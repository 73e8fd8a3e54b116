// Package persisttest proves hactl-engine's persistence from the outside:
// it starts the built binary (and the reference redis-server 7.0.15) as
// child processes on loopback ports, kills them with SIGKILL, corrupts
// their files, restarts them and compares what they serve.
//
// Pieces (exported so that bench/cmd/persistbench reuses them):
//   - Proc (proc.go): one server process whose data directory outlives it:
//     Start / Launch + WaitReady (ready on +PONG, not while -LOADING),
//     Kill (SIGKILL), Stop (SIGTERM), WaitExit, Log.
//   - Fill (dataset.go): every type in small and big encodings, integers,
//     binary strings, special scores, expiry times, in several databases.
//   - Dump, Content, Diff (dump.go): every key of a server read through the
//     protocol (type, canonical value, PEXPIRETIME) and the comparison.
//
// The tests (run by `make test`): crash_test.go (SIGKILL under write load
// with appendfsync always and everysec, SAVE and interrupted BGSAVE),
// interop_test.go (RDB and AOF files exchanged with redis-server both
// ways), corrupt_test.go (truncated and corrupted RDB and AOF files).
// The engine binary is built once per test binary by engine/difftest
// (or taken from $HACTL_ENGINE_BIN).
package persisttest
