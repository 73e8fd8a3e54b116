// Package keyspace holds hactl-engine's data: numbered databases of keys,
// their values and their expiry times.
//
// The pieces:
//   - Dict, a hash table with Redis's dict guarantees (cursor scan across
//     resizes, random sampling, incremental rehash), used for the main key
//     table and the expires table.
//   - DB, one database: lookups that honour expiry (lazy expiry), writes,
//     expiry times, SCAN/KEYS/RANDOMKEY support, and the active expiry cycle
//     (a port of Redis's adaptive activeExpireCycle).
//   - Value, a key's value: its type, its encoding and the data.
//
// Nothing here is safe for concurrent use: the server serialises all access
// to the keyspace (Redis's single execution thread).
package keyspace
