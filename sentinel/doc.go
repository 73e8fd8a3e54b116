// Package sentinel is hactl-sentinel: automatic failover for Redis-compatible
// servers, speaking Redis Sentinel 7's protocol so that go-redis's
// FailoverClient, redis-cli and real redis-sentinel processes work with it
// unchanged.
//
// The pieces:
//   - Config (config.go): sentinel.conf parsing with file:line errors. It is
//     static; runtime facts live in the state file (package state).
//   - Sentinel (core.go, monitor.go, failover.go): the monitoring and
//     failover core. It never touches a socket or the clock: time comes in
//     as an argument (Tick and callbacks, Options.Now) and links go through
//     the Transport interface, so tests drive several sentinels over fake
//     links with a fake clock (sim_test.go).
//   - The failover state machine (failover.go) is a loop over explicit
//     states, one function per state: wait_start (election), select_slave,
//     send_slaveof_noone, wait_promotion, reconf_slaves, update_config.
//   - NetTransport (link.go): the real links, one pipelined command
//     connection per instance with a reader goroutine that notices a
//     dropped connection at once, and one hello subscription per data node.
//   - Server (server.go, commands.go): the sentinel port (PING, AUTH,
//     HELLO, CLIENT, INFO, ROLE, SENTINEL ..., PUBLISH hello,
//     (P)SUBSCRIBE); it is also the EventSink that publishes every event.
//   - LogSink (events.go): events in Redis's log line format.
//   - Start (run.go): wires everything for cmd/hactl-sentinel.
//
// Differences from Redis Sentinel that make failovers faster and prevent
// double promotions are listed in docs/sentinel.md.
package sentinel
