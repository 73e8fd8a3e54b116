// Package verify checks a running replicated service the way the seed
// tutorial does by hand, and reports structured results.
//
// It knows Redis semantics (through go-redis), not SSH or files.
//
// Pieces:
//   - Config is what to check: the engines, sentinels and proxies with their
//     addresses, the passwords and the expected settings; FromInventory
//     builds it.
//   - Run performs every check (role, connected_slaves, slaveN state and lag,
//     master_link_status, master_sync_in_progress, same master_replid,
//     persistence settings, auth enforced, a write on the master read back
//     from every replica, sentinel view/quorum/ckquorum/agreement, split
//     brain, HAProxy routing) and returns a Report of Results.
//   - DiscoverMaster asks the running sentinels (then the engines) which
//     host is the master now; hactl up renders replicas toward it.
//   - Status gathers the live topology for hactl status.
//   - ParseInfo and ParseFields read INFO text and its key=value lists.
package verify
