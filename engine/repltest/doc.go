// Package repltest proves hactl-engine's replication from the outside: it
// starts the built binary and the reference redis-server 7.0.15 as child
// processes on loopback ports, links them with REPLICAOF (directly or
// through a TCP proxy that can cut or stall the link), kills them with
// SIGKILL and compares what every node serves.
//
// Pieces (exported so that bench/cmd/replbench reuses them):
//   - Node (node.go): one server process on 127.0.0.1 with its log file:
//     Start, Kill (SIGKILL), Alive, Log, Do, Info.
//   - Proxy (proxy.go): a TCP forwarder on 127.0.0.1 in front of a master:
//     Cut (close every connection and refuse new ones), Hold (stop
//     forwarding, keep the connections), Restore.
//   - ParseInfo, Info (info.go): INFO text as ordered fields, and
//     WaitSynced (link up and offsets equal).
//   - Snapshot, Diff (keys.go): every key of a node with its type, value
//     and TTL presence, and the comparison of two snapshots.
//
// The tests (run by `make test`): netcut_test.go (cut shorter than the
// backlog: partial resync; longer: full resync; stall shorter than
// repl-timeout: no resync), topology_test.go (the seed's INFO Replication
// fields on a master, two replicas and a chained replica, on the engine
// and on redis-server), badinput_test.go (wrong masterauth, replica of
// itself, of a closed port, of an HTTP server), syncreplicas_test.go
// (hactl-sync-replicas: no acknowledged write lost across a SIGKILL of the
// master, -NOREPLICAS after the timeout). The engine binary is built once
// per test binary by engine/difftest (or taken from $HACTL_ENGINE_BIN).
package repltest
