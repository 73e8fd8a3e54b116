// Package rdb reads and writes Redis RDB snapshot files, version 10 (the
// format redis-server 7.0 writes and the newest it accepts).
//
// The pieces:
//   - Writer (writer.go): a streaming encoder. NewWriter writes the header
//     and the aux fields, SelectDB, WriteString, WriteList, WriteSet,
//     WriteHash and WriteZSet append one record each, choosing the encoding
//     Redis 7.0 would use for the content (integer and LZF strings,
//     QUICKLIST_2 lists, INTSET or SET sets, LISTPACK or HASH hashes,
//     LISTPACK or ZSET_2 sorted sets), and Close writes EOF and the CRC64.
//   - Load (load.go): a streaming decoder that calls a Handler for every aux
//     field, database and key, verifies the CRC64 and reports corruption as
//     a *CorruptError carrying the byte offset. It reads every encoding that
//     Redis 7.0 reads for strings, lists, sets, hashes and sorted sets
//     (ziplist, zipmap, intset, quicklist v1/v2, listpack, zset2), plus the
//     7.2 set listpack.
//   - listpack.go, intset.go, ziplist.go: the compact blob encodings
//     (listpack and intset both ways, byte-identical to Redis; ziplist and
//     zipmap read only).
//   - lzf.go: LZF compression producing the same bytes as Redis's
//     lzf_compress, and bounded decompression.
//   - format.go: opcodes, type codes, length and integer string encodings.
//   - reader.go: the buffered input that tracks the file offset and the
//     running CRC64.
//
// The package depends on no other hactl package (only the internal
// string2ll helper, internal/redisint) so that persistence and
// replication can both use it. It never touches files: the caller owns the
// temporary file, fsync and rename.
package rdb
