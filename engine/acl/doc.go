// Package acl implements Redis 7.0's access control lists for
// hactl-engine: users, their rules, permission checks, the ACL LOG and the
// aclfile.
//
// Pieces:
//   - Category, CategoryNames, ParseCategory (category.go): the command
//     categories (@read, @write, ...) in Redis's order.
//   - Command and Catalog (catalog.go): what the ACL code knows about the
//     server's command table (ids, categories, key positions, channel
//     arguments).
//   - User and selector (user.go): on/off, passwords, key and channel
//     patterns, command bitmaps; SetRule applies one SETUSER modifier with
//     Redis's error texts; Describe renders the canonical rule string (ACL
//     LIST, ACL SAVE) with Redis's category best-fit algorithm.
//   - Check (check.go): the permission check of a command and its
//     arguments (command bit, keys, channels), NOPERM texts.
//   - Store (store.go): the users by name, the default user and
//     requirepass, authentication with constant-time hash comparison, the
//     ACL LOG with Redis's grouping, and aclfile load/save (file.go).
//   - HashPassword, GenPass (password.go).
package acl
