// Package difftest runs the same RESP scenarios against the reference
// redis-server 7.0.15 and against hactl-engine and compares the raw replies
// byte for byte.
//
// Pieces:
//   - Server, StartRedis, StartEngine (server.go): a child process on a free
//     loopback port, ready once it answers PING, killed at test end, its log
//     printed when the test fails.
//   - Conn and Reply (conn.go, reply.go): a raw RESP client that sends a
//     command as multibulk, inline or exact bytes and reads exactly one
//     RESP2/RESP3 reply, keeping its raw bytes.
//   - ParseScript and Unescape (script.go): the scenario format of
//     testdata/*.txt (redis-cli quoting, split by engine/splitargs, plus !
//     directives, see ParseScript).
//   - Runner (runner.go): plays a Script on two servers and collects a Report
//     of mismatches and skipped lines.
//
// TestDiff plays every testdata/*.txt file on a fresh pair of servers:
// redis-server vs hactl-engine by default, redis-server vs redis-server when
// the environment has DIFFTEST_SELF=1 (which proves a scenario is
// deterministic before it is used against the engine).
package difftest
