package main

import (
	"time"

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
		AOFLoadTruncated:        c.AOFLoadTruncated,
	}
	for _, sp := range c.Save {
		p.Save = append(p.Save, server.SavePoint{Seconds: sp.Seconds, Changes: sp.Changes})
	}
	return p
}

// replSettings maps the replication directives.
func replSettings(c *config.Config) server.ReplSettings {
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	return server.ReplSettings{
		ReplicaOfHost:         c.ReplicaOfHost,
		ReplicaOfPort:         c.ReplicaOfPort,
		MasterAuth:            c.MasterAuth,
		MasterUser:            c.MasterUser,
		ReplicaReadOnly:       c.ReplicaReadOnly,
		ReplicaServeStaleData: c.ReplicaServeStaleData,
		ReplicaPriority:       c.ReplicaPriority,
		ReplicaAnnounceIP:     c.ReplicaAnnounceIP,
		ReplicaAnnouncePort:   c.ReplicaAnnouncePort,
		Timeout:               sec(c.ReplTimeout),
		PingPeriod:            sec(c.ReplPingReplicaPeriod),
		BacklogSize:           c.ReplBacklogSize,
		BacklogTTL:            sec(int(c.ReplBacklogTTL)),
		DisklessSync:          c.ReplDisklessSync,
		DisklessSyncDelay:     sec(c.ReplDisklessSyncDelay),
		MinReplicasToWrite:    c.MinReplicasToWrite,
		MinReplicasMaxLag:     sec(c.MinReplicasMaxLag),
		ReplicaOutputLimit: server.OutputLimit{
			Hard:        int64(c.ClientOutputBufferLimit[config.ClassReplica].HardBytes),
			Soft:        int64(c.ClientOutputBufferLimit[config.ClassReplica].SoftBytes),
			SoftSeconds: c.ClientOutputBufferLimit[config.ClassReplica].SoftSeconds,
		},
		SyncReplicas:        c.SyncReplicas,
		SyncReplicasTimeout: time.Duration(c.SyncReplicasTimeoutMs) * time.Millisecond,
	}
}

// tlsSettings maps the TLS directives.
func tlsSettings(c *config.Config) server.TLSSettings {
	return server.TLSSettings{Port: c.TLSPort, CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile,
		CAFile: c.TLSCACertFile, AuthClients: c.TLSAuthClients, Replication: c.TLSReplication,
		ClientCertFile: c.TLSClientCertFile, ClientKeyFile: c.TLSClientKeyFile, Protocols: c.TLSProtocols,
		Ciphers: c.TLSCiphers, Ciphersuites: c.TLSCiphersuites}
}
