// Package list is hactl-engine's list value: a sequence of byte strings
// stored like Redis's quicklist, in packed chunks of at most about 8 KiB
// (list-max-listpack-size -2), so that a list of small elements costs a few
// bytes per element instead of a Go string header and an allocation each.
//
// The pieces:
//   - entry.go: the entry encoding inside a chunk, a length varint before
//     and a reversed length varint after the bytes, so a chunk can be walked
//     in both directions (like a listpack's backlen).
//   - chunk.go: one chunk, a byte buffer with free room at both ends so that
//     pushes and pops at either end of the list are O(1) amortized.
//   - list.go: List, a slice of chunks with the operations the list
//     commands need (push, pop, index, set, range, trim, remove, insert,
//     copy) and Iter, a cursor in either direction.
//
// Slices returned by List and Iter alias the list's memory: they are valid
// until the next change to the list and must be copied to be kept. Nothing
// here is safe for concurrent use.
package list
