package config

import (
	"os"
	"path/filepath"
)

// Client classes of client-output-buffer-limit, indexes of
// Config.ClientOutputBufferLimit.
const (
	ClassNormal = iota
	ClassReplica
	ClassPubSub
	numClasses
)

// classNames are the names CONFIG GET and REWRITE print, as Redis 7.0 does.
var classNames = [numClasses]string{"normal", "slave", "pubsub"}

// Keyspace notification flags of Config.NotifyKeyspaceEvents (notify.c).
const (
	NotifyKeyspace = 1 << 0  // K
	NotifyKeyevent = 1 << 1  // E
	NotifyGeneric  = 1 << 2  // g
	NotifyString   = 1 << 3  // $
	NotifyList     = 1 << 4  // l
	NotifySet      = 1 << 5  // s
	NotifyHash     = 1 << 6  // h
	NotifyZset     = 1 << 7  // z
	NotifyExpired  = 1 << 8  // x
	NotifyEvicted  = 1 << 9  // e
	NotifyStream   = 1 << 10 // t
	NotifyKeyMiss  = 1 << 11 // m, not part of A
	NotifyModule   = 1 << 13 // d
	NotifyNew      = 1 << 14 // n, not part of A
	// NotifyAll is what "A" stands for.
	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash |
		NotifyZset | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

// SavePoint is one "save <seconds> <changes>" rule.
type SavePoint struct {
	Seconds int64
	Changes int64
}

// BufferLimit is one class of client-output-buffer-limit.
type BufferLimit struct {
	HardBytes   uint64
	SoftBytes   uint64
	SoftSeconds int64
}

// KV is one name and value of a CONFIG GET reply.
type KV struct {
	Name, Value string
}

// Config is the configuration of hactl-engine. Field comments give the
// directive names; the values are already parsed and validated.
type Config struct {
	Port                    int                     // port
	Bind                    []string                // bind (addresses, "-" prefix = optional)
	ProtectedMode           bool                    // protected-mode
	RequirePass             string                  // requirepass (secret)
	Databases               int                     // databases
	MaxClients              int                     // maxclients
	Timeout                 int                     // timeout (seconds)
	TCPKeepalive            int                     // tcp-keepalive (seconds)
	TCPBacklog              int                     // tcp-backlog
	ProtoMaxBulkLen         int64                   // proto-max-bulk-len (bytes)
	ClientQueryBufferLimit  int64                   // client-query-buffer-limit (bytes)
	ClientOutputBufferLimit [numClasses]BufferLimit // client-output-buffer-limit, by Class*
	Hz                      int                     // hz (clamped to 1..500 as Redis does)
	DynamicHz               bool                    // dynamic-hz
	Daemonize               bool                    // daemonize (must end up false)
	Supervised              string                  // supervised: upstart|systemd|auto|no
	PidFile                 string                  // pidfile
	LogFile                 string                  // logfile ("" = stdout)
	LogLevel                string                  // loglevel: debug|verbose|notice|warning
	SyslogEnabled           bool                    // syslog-enabled
	EnableDebugCommand      string                  // enable-debug-command: no|yes|local
	Dir                     string                  // dir
	DBFilename              string                  // dbfilename
	RDBCompression          bool                    // rdbcompression
	RDBChecksum             bool                    // rdbchecksum
	Save                    []SavePoint             // save (empty = no snapshots)
	StopWritesOnBgsaveError bool                    // stop-writes-on-bgsave-error
	AppendOnly              bool                    // appendonly
	AppendFilename          string                  // appendfilename
	AppendDirname           string                  // appenddirname
	AppendFsync             string                  // appendfsync: always|everysec|no
	NoAppendFsyncOnRewrite  bool                    // no-appendfsync-on-rewrite
	AutoAOFRewritePercent   int                     // auto-aof-rewrite-percentage
	AutoAOFRewriteMinSize   int64                   // auto-aof-rewrite-min-size (bytes)
	AOFLoadTruncated        bool                    // aof-load-truncated
	AOFUseRDBPreamble       bool                    // aof-use-rdb-preamble
	ReplicaOfHost           string                  // replicaof / slaveof host ("" = master)
	ReplicaOfPort           int                     // replicaof / slaveof port
	MasterAuth              string                  // masterauth (secret)
	MasterUser              string                  // masteruser
	ReplicaReadOnly         bool                    // replica-read-only / slave-read-only
	ReplicaServeStaleData   bool                    // replica-serve-stale-data / slave-serve-stale-data
	ReplicaPriority         int                     // replica-priority / slave-priority
	ReplicaAnnounceIP       string                  // replica-announce-ip / slave-announce-ip
	ReplicaAnnouncePort     int                     // replica-announce-port / slave-announce-port
	ReplTimeout             int                     // repl-timeout (seconds)
	ReplPingReplicaPeriod   int                     // repl-ping-replica-period / repl-ping-slave-period
	ReplBacklogSize         int64                   // repl-backlog-size (bytes)
	ReplBacklogTTL          int64                   // repl-backlog-ttl (seconds)
	ReplDisklessSync        bool                    // repl-diskless-sync
	ReplDisklessSyncDelay   int                     // repl-diskless-sync-delay (seconds)
	MinReplicasToWrite      int                     // min-replicas-to-write / min-slaves-to-write
	MinReplicasMaxLag       int                     // min-replicas-max-lag / min-slaves-max-lag
	SyncReplicas            int                     // hactl-sync-replicas: replicas that must ACK a write before its reply
	SyncReplicasTimeoutMs   int                     // hactl-sync-replicas-timeout (ms): then the client gets -NOREPLICAS
	IOModel                 string                  // hactl-io-model: goroutine|eventloop (how client sockets are served)
	MaxMemory               uint64                  // maxmemory (bytes, 0 = no limit)
	MaxMemoryPolicy         string                  // maxmemory-policy
	MaxMemorySamples        int                     // maxmemory-samples
	LFULogFactor            int                     // lfu-log-factor
	LFUDecayTime            int                     // lfu-decay-time (minutes)
	LazyfreeLazyEviction    bool                    // lazyfree-lazy-eviction
	LazyfreeLazyExpire      bool                    // lazyfree-lazy-expire
	LazyfreeLazyServerDel   bool                    // lazyfree-lazy-server-del
	LazyfreeLazyUserDel     bool                    // lazyfree-lazy-user-del
	LazyfreeLazyUserFlush   bool                    // lazyfree-lazy-user-flush
	NotifyKeyspaceEvents    int                     // notify-keyspace-events, Notify* flags
	HashMaxListpackEntries  int64                   // hash-max-listpack-entries / hash-max-ziplist-entries
	HashMaxListpackValue    int64                   // hash-max-listpack-value / hash-max-ziplist-value
	ListMaxListpackSize     int                     // list-max-listpack-size / list-max-ziplist-size
	SetMaxIntsetEntries     int64                   // set-max-intset-entries
	ZsetMaxListpackEntries  int64                   // zset-max-listpack-entries / zset-max-ziplist-entries
	ZsetMaxListpackValue    int64                   // zset-max-listpack-value / zset-max-ziplist-value
	ActiveExpireEffort      int                     // active-expire-effort
	ACLFile                 string                  // aclfile
	Users                   [][]string              // user directives (arguments after "user")
	TLSPort                 int                     // tls-port
	TLSCertFile             string                  // tls-cert-file
	TLSKeyFile              string                  // tls-key-file
	TLSKeyFilePass          string                  // tls-key-file-pass (secret)
	TLSCACertFile           string                  // tls-ca-cert-file
	TLSAuthClients          string                  // tls-auth-clients: no|yes|optional
	TLSReplication          bool                    // tls-replication
	TLSClientCertFile       string                  // tls-client-cert-file
	TLSClientKeyFile        string                  // tls-client-key-file
	TLSProtocols            string                  // tls-protocols
	TLSCiphers              string                  // tls-ciphers
	TLSCiphersuites         string                  // tls-ciphersuites
	ACLLogMaxLen            int                     // acllog-max-len

	// Warnings lists, as "file:line: name: accepted but has no effect in
	// hactl-engine", the directives of the loaded files that Redis 7.0
	// knows and hactl-engine ignores.
	Warnings []string

	// OnChange, when set, is called by Set for each directive whose value
	// changed (canonical name), after all new values are in place. An error
	// makes Set restore every old value, call OnChange again for the names
	// already reported so the server can re-apply them, and fail.
	OnChange func(name string) error
}

// Default returns the configuration redis-server 7.0.15 starts with when
// given no file and no options.
func Default() *Config {
	return &Config{
		Port:                   6379,
		Bind:                   []string{"*", "-::*"},
		ProtectedMode:          true,
		Databases:              16,
		MaxClients:             10000,
		TCPKeepalive:           300,
		TCPBacklog:             511,
		ProtoMaxBulkLen:        512 << 20,
		ClientQueryBufferLimit: 1 << 30,
		ClientOutputBufferLimit: [numClasses]BufferLimit{
			ClassNormal:  {},
			ClassReplica: {HardBytes: 256 << 20, SoftBytes: 64 << 20, SoftSeconds: 60},
			ClassPubSub:  {HardBytes: 32 << 20, SoftBytes: 8 << 20, SoftSeconds: 60},
		},
		Hz:                      10,
		DynamicHz:               true,
		Supervised:              "no",
		LogLevel:                "notice",
		EnableDebugCommand:      "no",
		Dir:                     ".",
		DBFilename:              "dump.rdb",
		RDBCompression:          true,
		RDBChecksum:             true,
		Save:                    []SavePoint{{3600, 1}, {300, 100}, {60, 10000}},
		StopWritesOnBgsaveError: true,
		AppendFilename:          "appendonly.aof",
		AppendDirname:           "appendonlydir",
		AppendFsync:             "everysec",
		AutoAOFRewritePercent:   100,
		AutoAOFRewriteMinSize:   64 << 20,
		AOFUseRDBPreamble:       true,
		AOFLoadTruncated:        true,
		ReplicaReadOnly:         true,
		ReplicaServeStaleData:   true,
		ReplicaPriority:         100,
		ReplTimeout:             60,
		SyncReplicasTimeoutMs:   1000,
		IOModel:                 "eventloop",
		ReplPingReplicaPeriod:   10,
		ReplBacklogSize:         1 << 20,
		ReplBacklogTTL:          3600,
		ReplDisklessSync:        true,
		ReplDisklessSyncDelay:   5,
		MinReplicasMaxLag:       10,
		MaxMemoryPolicy:         "noeviction",
		MaxMemorySamples:        5,
		LFULogFactor:            10,
		LFUDecayTime:            1,
		HashMaxListpackEntries:  512,
		HashMaxListpackValue:    64,
		ListMaxListpackSize:     -2,
		SetMaxIntsetEntries:     512,
		ZsetMaxListpackEntries:  128,
		ZsetMaxListpackValue:    64,
		ActiveExpireEffort:      1,
		ACLLogMaxLen:            128,
		TLSAuthClients:          "yes",
	}
}

// absDir is what CONFIG GET dir answers: the absolute directory.
func (c *Config) absDir() string {
	if filepath.IsAbs(c.Dir) {
		return c.Dir
	}
	if wd, err := os.Getwd(); err == nil {
		return filepath.Join(wd, c.Dir)
	}
	return c.Dir
}
