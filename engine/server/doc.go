// Package server is hactl-engine's network server: listeners, client
// connections, authentication, the command table and the command handlers.
//
// Concurrency model: one goroutine per connection reads and parses a batch
// of pipelined requests without any lock, then takes the server's execution
// lock once, runs the whole batch against the keyspace, releases the lock
// and writes all replies with one write. Commands therefore run one at a
// time, as in Redis's single execution thread, while parsing and socket I/O
// run in parallel.
//
// Files: server.go (Server, listeners, cron), client.go (connection loop),
// command.go (command table and dispatch), cmd_*.go (handlers by group),
// info.go (INFO), errors.go (Redis's error strings).
package server
