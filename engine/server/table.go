package server

import "sort"

// buildCommands assembles the command table.
func buildCommands() commandTable {
	t := commandTable{}
	t.add(connectionCommands()...)
	t.add(serverCommands()...)
	t.add(keyCommands()...)
	t.add(stringCommands()...)
	t.add(pubsubCommands()...)
	t.add(multiCommands()...)
	t.add(blockingCommands()...)
	t.add(persistCommands()...)
	t.add(replCommands()...)
	t.add(hashCommands()...)
	t.add(listCommands()...)
	t.add(setCommands()...)
	t.add(zsetCommands()...)
	t.add(aclCommands()...)
	return t
}

func (s *Server) commands() commandTable { return s.cmds }

func sortStrings(a []string) { sort.Strings(a) }
