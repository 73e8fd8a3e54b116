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
// With hactl-io-model eventloop (Linux) TCP clients, plain and TLS, are
// instead served like Redis does: one goroutine waits in epoll_wait, reads once
// from every ready client, runs all their requests under one acquisition
// of the lock, writes the AOF once and then each client's replies. A
// client that blocks, subscribes, monitors, becomes a replica or has more
// output than its socket takes is handed over to its own goroutine (the
// path above) in the middle of its batch, and stays there. A TLS client
// does its handshake on a goroutine, then joins the loop through a
// mode-switching net.Conn under its tls.Conn (tlsloop_linux.go).
//
// Files: server.go (Server, listeners, cron), client.go (connection loop),
// eventloop_linux.go (the epoll loop and the hand-over), tlsloop_linux.go
// (TLS clients on the loop), tls.go (certificates, reload),
// command.go (command table and dispatch), cmd_*.go (handlers by group),
// info.go (INFO), errors.go (Redis's error strings).
package server
