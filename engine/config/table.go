package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// dflag describes how a directive may be changed and shown.
type dflag uint8

const (
	immutable dflag = 1 << iota // CONFIG SET refuses it
	protected                   // CONFIG SET refuses it (enable-protected-configs is not supported)
	sensitive                   // its value never appears in errors
	multiArg                    // takes several words (save, bind, ...)
)

// directive is one supported configuration directive.
type directive struct {
	name    string
	aliases []string
	flags   dflag
	// get formats the value for CONFIG GET.
	get func(c *Config) string
	// set parses args (the words after the name) into c. Errors are
	// *valueError.
	set func(c *Config, args []string) error
	// rewrite returns the lines CONFIG REWRITE writes and whether they
	// must be written even when absent from the file. Nil means one line
	// "name <value>" with value from rwValue (or get), forced when the
	// value differs from the default.
	rewrite func(c *Config, d *directive) (lines []string, force bool)
	// rwValue formats the value in a rewritten line, when it differs from
	// get (memory units, quoted strings).
	rwValue func(c *Config) string
}

// valueError is a rejected value: redis is Redis's CONFIG SET text, want
// says what the file should have held (used in file errors).
type valueError struct {
	redis string
	want  string
}

func (e *valueError) Error() string { return e.redis }

var errWrongArgs = &valueError{redis: "wrong number of arguments"}

func oneArg(args []string) (string, error) {
	if len(args) != 1 {
		return "", errWrongArgs
	}
	return args[0], nil
}

func boolDir(name string, fl dflag, p func(*Config) *bool, aliases ...string) directive {
	return directive{name: name, aliases: aliases, flags: fl,
		get: func(c *Config) string { return yesNo(*p(c)) },
		set: func(c *Config, args []string) error {
			v, err := oneArg(args)
			if err != nil {
				return err
			}
			switch strings.ToLower(v) {
			case "yes":
				*p(c) = true
			case "no":
				*p(c) = false
			default:
				return &valueError{"argument must be 'yes' or 'no'", "is not yes or no"}
			}
			return nil
		}}
}

func rangeError[T int64 | uint64](lo, hi T) *valueError {
	return &valueError{
		redis: fmt.Sprintf("argument must be between %d and %d inclusive", lo, hi),
		want:  fmt.Sprintf("is out of range %d..%d", lo, hi),
	}
}

// intDir is a plain integer directive. clamp, when set, adjusts the value
// after it is accepted (hz).
func intDir[T ~int | ~int64](name string, fl dflag, lo, hi int64, p func(*Config) *T, aliases ...string) directive {
	return directive{name: name, aliases: aliases, flags: fl,
		get: func(c *Config) string { return strconv.FormatInt(int64(*p(c)), 10) },
		set: func(c *Config, args []string) error {
			s, err := oneArg(args)
			if err != nil {
				return err
			}
			v, ok := string2ll(s)
			if !ok {
				return &valueError{"argument couldn't be parsed into an integer",
					fmt.Sprintf("is not an integer in range %d..%d", lo, hi)}
			}
			if v < lo || v > hi {
				return rangeError(lo, hi)
			}
			*p(c) = T(v)
			return nil
		}}
}

var errMemory = &valueError{"argument must be a memory value", "is not a memory value (like 100mb)"}

// memDir is a memory directive stored as int64 (a long long in Redis).
func memDir(name string, fl dflag, lo int64, p func(*Config) *int64, aliases ...string) directive {
	return directive{name: name, aliases: aliases, flags: fl,
		get:     func(c *Config) string { return strconv.FormatInt(*p(c), 10) },
		rwValue: func(c *Config) string { return formatMemory(*p(c)) },
		set: func(c *Config, args []string) error {
			s, err := oneArg(args)
			if err != nil {
				return err
			}
			u, ok := memtoull(s)
			if !ok {
				return errMemory
			}
			v := int64(u) // wraps as the C cast does
			if v < lo {
				return rangeError(lo, math.MaxInt64)
			}
			*p(c) = v
			return nil
		}}
}

func enumDir(name string, fl dflag, values []string, p func(*Config) *string, aliases ...string) directive {
	return directive{name: name, aliases: aliases, flags: fl,
		get: func(c *Config) string { return *p(c) },
		set: func(c *Config, args []string) error {
			s, err := oneArg(args)
			if err != nil {
				return err
			}
			for _, v := range values {
				if strings.EqualFold(s, v) {
					*p(c) = v
					return nil
				}
			}
			return &valueError{"argument(s) must be one of the following: " + strings.Join(values, ", "),
				"is not one of " + strings.Join(values, ", ")}
		}}
}

func strDir(name string, fl dflag, p func(*Config) *string, aliases ...string) directive {
	return directive{name: name, aliases: aliases, flags: fl,
		get:     func(c *Config) string { return *p(c) },
		rwValue: func(c *Config) string { return repr(*p(c)) },
		set: func(c *Config, args []string) error {
			s, err := oneArg(args)
			if err != nil {
				return err
			}
			*p(c) = s
			return nil
		}}
}

// directives is the table of supported directives, in the order CONFIG GET
// answers and CONFIG REWRITE appends.
var directives = []directive{
	intDir("port", 0, 0, 65535, func(c *Config) *int { return &c.Port }),
	bindDirective(),
	boolDir("protected-mode", 0, func(c *Config) *bool { return &c.ProtectedMode }),
	strDir("requirepass", sensitive, func(c *Config) *string { return &c.RequirePass }),
	intDir("databases", immutable, 1, math.MaxInt32, func(c *Config) *int { return &c.Databases }),
	intDir("maxclients", 0, 1, math.MaxUint32, func(c *Config) *int { return &c.MaxClients }),
	intDir("timeout", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.Timeout }),
	intDir("tcp-keepalive", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.TCPKeepalive }),
	intDir("tcp-backlog", immutable, 0, math.MaxInt32, func(c *Config) *int { return &c.TCPBacklog }),
	memDir("proto-max-bulk-len", 0, 1024*1024, func(c *Config) *int64 { return &c.ProtoMaxBulkLen }),
	memDir("client-query-buffer-limit", 0, 1024*1024, func(c *Config) *int64 { return &c.ClientQueryBufferLimit }),
	clientOutputBufferLimitDirective(),
	hzDirective(),
	boolDir("dynamic-hz", 0, func(c *Config) *bool { return &c.DynamicHz }),
	boolDir("daemonize", immutable, func(c *Config) *bool { return &c.Daemonize }),
	enumDir("supervised", immutable, []string{"upstart", "systemd", "auto", "no"}, func(c *Config) *string { return &c.Supervised }),
	strDir("pidfile", immutable, func(c *Config) *string { return &c.PidFile }),
	strDir("logfile", immutable, func(c *Config) *string { return &c.LogFile }),
	enumDir("loglevel", 0, []string{"debug", "verbose", "notice", "warning"}, func(c *Config) *string { return &c.LogLevel }),
	boolDir("syslog-enabled", immutable, func(c *Config) *bool { return &c.SyslogEnabled }),
	enumDir("enable-debug-command", immutable, []string{"no", "yes", "local"}, func(c *Config) *string { return &c.EnableDebugCommand }),
	dirDirective(),
	strDir("dbfilename", protected, func(c *Config) *string { return &c.DBFilename }),
	boolDir("rdbcompression", 0, func(c *Config) *bool { return &c.RDBCompression }),
	boolDir("rdbchecksum", immutable, func(c *Config) *bool { return &c.RDBChecksum }),
	saveDirective(),
	boolDir("stop-writes-on-bgsave-error", 0, func(c *Config) *bool { return &c.StopWritesOnBgsaveError }),
	boolDir("appendonly", 0, func(c *Config) *bool { return &c.AppendOnly }),
	strDir("appendfilename", immutable, func(c *Config) *string { return &c.AppendFilename }),
	strDir("appenddirname", immutable, func(c *Config) *string { return &c.AppendDirname }),
	enumDir("appendfsync", 0, []string{"everysec", "always", "no"}, func(c *Config) *string { return &c.AppendFsync }),
	boolDir("no-appendfsync-on-rewrite", 0, func(c *Config) *bool { return &c.NoAppendFsyncOnRewrite }),
	intDir("auto-aof-rewrite-percentage", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.AutoAOFRewritePercent }),
	memDir("auto-aof-rewrite-min-size", 0, 0, func(c *Config) *int64 { return &c.AutoAOFRewriteMinSize }),
	boolDir("aof-use-rdb-preamble", 0, func(c *Config) *bool { return &c.AOFUseRDBPreamble }),
	boolDir("aof-load-truncated", 0, func(c *Config) *bool { return &c.AOFLoadTruncated }),
	replicaOfDirective(),
	strDir("masterauth", sensitive, func(c *Config) *string { return &c.MasterAuth }),
	strDir("masteruser", 0, func(c *Config) *string { return &c.MasterUser }),
	boolDir("replica-read-only", 0, func(c *Config) *bool { return &c.ReplicaReadOnly }, "slave-read-only"),
	boolDir("replica-serve-stale-data", 0, func(c *Config) *bool { return &c.ReplicaServeStaleData }, "slave-serve-stale-data"),
	intDir("replica-priority", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.ReplicaPriority }, "slave-priority"),
	strDir("replica-announce-ip", 0, func(c *Config) *string { return &c.ReplicaAnnounceIP }, "slave-announce-ip"),
	intDir("replica-announce-port", 0, 0, 65535, func(c *Config) *int { return &c.ReplicaAnnouncePort }, "slave-announce-port"),
	intDir("repl-timeout", 0, 1, math.MaxInt32, func(c *Config) *int { return &c.ReplTimeout }),
	intDir("repl-ping-replica-period", 0, 1, math.MaxInt32, func(c *Config) *int { return &c.ReplPingReplicaPeriod }, "repl-ping-slave-period"),
	memDir("repl-backlog-size", 0, 1, func(c *Config) *int64 { return &c.ReplBacklogSize }),
	intDir("repl-backlog-ttl", 0, 0, math.MaxInt64, func(c *Config) *int64 { return &c.ReplBacklogTTL }),
	boolDir("repl-diskless-sync", 0, func(c *Config) *bool { return &c.ReplDisklessSync }),
	intDir("repl-diskless-sync-delay", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.ReplDisklessSyncDelay }),
	intDir("min-replicas-to-write", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.MinReplicasToWrite }, "min-slaves-to-write"),
	// hactl's own: synchronous acknowledgement by replicas.
	intDir("hactl-sync-replicas", 0, 0, 1000, func(c *Config) *int { return &c.SyncReplicas }),
	intDir("hactl-sync-replicas-timeout", 0, 1, math.MaxInt32, func(c *Config) *int { return &c.SyncReplicasTimeoutMs }),
	// hactl's own: one goroutine per connection, or an epoll event loop.
	enumDir("hactl-io-model", immutable, []string{"goroutine", "eventloop"}, func(c *Config) *string { return &c.IOModel }),
	intDir("min-replicas-max-lag", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.MinReplicasMaxLag }, "min-slaves-max-lag"),
	maxMemoryDirective(),
	enumDir("maxmemory-policy", 0, []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
		"allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}, func(c *Config) *string { return &c.MaxMemoryPolicy }),
	intDir("maxmemory-samples", 0, 1, math.MaxInt32, func(c *Config) *int { return &c.MaxMemorySamples }),
	intDir("lfu-log-factor", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.LFULogFactor }),
	intDir("lfu-decay-time", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.LFUDecayTime }),
	boolDir("lazyfree-lazy-eviction", 0, func(c *Config) *bool { return &c.LazyfreeLazyEviction }),
	boolDir("lazyfree-lazy-expire", 0, func(c *Config) *bool { return &c.LazyfreeLazyExpire }),
	boolDir("lazyfree-lazy-server-del", 0, func(c *Config) *bool { return &c.LazyfreeLazyServerDel }),
	boolDir("lazyfree-lazy-user-del", 0, func(c *Config) *bool { return &c.LazyfreeLazyUserDel }),
	boolDir("lazyfree-lazy-user-flush", 0, func(c *Config) *bool { return &c.LazyfreeLazyUserFlush }),
	notifyDirective(),
	intDir("hash-max-listpack-entries", 0, 0, math.MaxInt64, func(c *Config) *int64 { return &c.HashMaxListpackEntries }, "hash-max-ziplist-entries"),
	memDir("hash-max-listpack-value", 0, 0, func(c *Config) *int64 { return &c.HashMaxListpackValue }, "hash-max-ziplist-value"),
	intDir("list-max-listpack-size", 0, math.MinInt32, math.MaxInt32, func(c *Config) *int { return &c.ListMaxListpackSize }, "list-max-ziplist-size"),
	intDir("set-max-intset-entries", 0, 0, math.MaxInt64, func(c *Config) *int64 { return &c.SetMaxIntsetEntries }),
	intDir("zset-max-listpack-entries", 0, 0, math.MaxInt64, func(c *Config) *int64 { return &c.ZsetMaxListpackEntries }, "zset-max-ziplist-entries"),
	memDir("zset-max-listpack-value", 0, 0, func(c *Config) *int64 { return &c.ZsetMaxListpackValue }, "zset-max-ziplist-value"),
	intDir("active-expire-effort", 0, 1, 10, func(c *Config) *int { return &c.ActiveExpireEffort }),
	strDir("aclfile", immutable, func(c *Config) *string { return &c.ACLFile }),
	intDir("tls-port", 0, 0, 65535, func(c *Config) *int { return &c.TLSPort }),
	strDir("tls-cert-file", 0, func(c *Config) *string { return &c.TLSCertFile }),
	strDir("tls-key-file", 0, func(c *Config) *string { return &c.TLSKeyFile }),
	strDir("tls-key-file-pass", sensitive, func(c *Config) *string { return &c.TLSKeyFilePass }),
	strDir("tls-ca-cert-file", 0, func(c *Config) *string { return &c.TLSCACertFile }),
	enumDir("tls-auth-clients", 0, []string{"no", "yes", "optional"}, func(c *Config) *string { return &c.TLSAuthClients }),
	boolDir("tls-replication", 0, func(c *Config) *bool { return &c.TLSReplication }),
	strDir("tls-client-cert-file", 0, func(c *Config) *string { return &c.TLSClientCertFile }),
	strDir("tls-client-key-file", 0, func(c *Config) *string { return &c.TLSClientKeyFile }),
	strDir("tls-protocols", 0, func(c *Config) *string { return &c.TLSProtocols }),
	strDir("tls-ciphers", 0, func(c *Config) *string { return &c.TLSCiphers }),
	strDir("tls-ciphersuites", 0, func(c *Config) *string { return &c.TLSCiphersuites }),
	intDir("acllog-max-len", 0, 0, math.MaxInt32, func(c *Config) *int { return &c.ACLLogMaxLen }),
}

// byName maps every lowercase name and alias to its directive.
var byName = func() map[string]*directive {
	m := make(map[string]*directive)
	for i := range directives {
		d := &directives[i]
		m[d.name] = d
		for _, a := range d.aliases {
			m[a] = d
		}
	}
	return m
}()

// defaults is the default configuration, read only.
var defaults = Default()
