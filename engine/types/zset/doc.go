// Package zset is hactl-engine's sorted set: members with float64 scores,
// ordered by (score, member) like Redis's zset.
//
// Pieces:
//   - ZSet (zset.go): the value stored under a key, with Redis 7.0's two
//     encodings: "listpack" (a sorted slice, linear member lookup, used
//     below zset-max-listpack-entries/-value) and "skiplist" (an
//     order-statistic B-tree plus a keyspace.Dict from member to score).
//     ZSet implements the member operations (Add with ZADD's flags, Delete,
//     Score, Rank), rank iteration, range bounds and random sampling.
//   - tree (tree.go): a counted B-tree of Items with O(log n) insert,
//     delete, rank-of-key, item-at-rank and iteration from a rank.
//   - ScoreRange and LexRange (range.go): parsed ZRANGEBYSCORE/ZRANGEBYLEX
//     bounds with Redis's parsing rules and error texts.
package zset
