//go:build !unix

package certs

// lock is a no-op where flock does not exist: concurrent hactl processes
// on one store are not serialized there.
func (s Store) lock(bool) (func(), error) { return func() {}, nil }
