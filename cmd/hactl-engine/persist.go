package main

import (
	"github.com/hactl/hactl/engine/config"
	"github.com/hactl/hactl/engine/server"
)

// persistSettings maps the persistence directives.
func persistSettings(c *config.Config) server.PersistSettings {
	p := server.PersistSettings{
		Dir:                     c.Dir,
		DBFilename:              c.DBFilename,
		RDBCompression:          c.RDBCompression,
		RDBChecksum:             c.RDBChecksum,
		StopWritesOnBgsaveError: c.StopWritesOnBgsaveError,
		AppendOnly:              c.AppendOnly,
		AppendFilename:          c.AppendFilename,
		AppendDirname:           c.AppendDirname,
		AppendFsync:             c.AppendFsync,
		AOFUseRDBPreamble:       c.AOFUseRDBPreamble,
		AutoAOFRewritePercent:   c.AutoAOFRewritePercent,
		AutoAOFRewriteMinSize:   c.AutoAOFRewriteMinSize,
		// aof-load-truncated is not configurable yet: Redis's default.
		AOFLoadTruncated: true,
	}
	for _, sp := range c.Save {
		p.Save = append(p.Save, server.SavePoint{Seconds: sp.Seconds, Changes: sp.Changes})
	}
	return p
}
