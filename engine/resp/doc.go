// Package resp reads and writes the Redis serialization protocol (RESP2 and
// RESP3) for hactl-engine and hactl-sentinel.
//
// The pieces:
//   - Parser parses client requests (multibulk and inline) out of a byte
//     buffer without copying: every argument is a sub-slice of the buffer and
//     is valid only until the buffer is compacted (after the batch that holds
//     it has been executed). Callers copy what they keep.
//   - Writer builds replies by appending into one reusable buffer; the
//     connection flushes it once per pipeline batch. Writer knows the
//     connection's protocol version and downgrades RESP3 types (map, set,
//     double, null, boolean, verbatim, push) to their RESP2 forms exactly as
//     Redis 7.0 does.
//   - The Append* functions are the same encoders, usable on any []byte (AOF
//     and the replication stream use AppendCommand).
//
// Error strings and limits follow Redis 7.0.15 (src/networking.c).
package resp
