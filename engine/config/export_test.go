package config

import "flag"

var update = flag.Bool("update", false, "regenerate golden files (from a live redis-server where needed)")

// Test hooks for the external config_test package.
var (
	UpdateGolden = update
	// Known reports whether hactl-engine supports or ignores a directive.
	Known = func(name string) (supported, ignoredName bool) {
		_, ign := ignored[name]
		return byName[name] != nil, ign
	}
)
