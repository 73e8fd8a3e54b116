package server

// hashCommands returns the hash commands (issue 4, being written).
func hashCommands() []*command { return nil }
