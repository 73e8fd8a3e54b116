// Package templates renders the files hactl installs on a host from a
// resolved inventory and its secrets. It is pure: no network, no process,
// no file system beyond its embedded templates; the same input renders the
// same bytes.
//
// Pieces:
//   - Render returns every File one host needs for its roles and engine:
//     engine.conf / redis.conf, sentinel.conf, the hactl-engine and
//     hactl-sentinel systemd units, a sysctl drop-in, haproxy.cfg.
//   - File carries the path, mode, owner and content of one file, and Seed
//     for files the service rewrites at runtime.
//   - Params says which host to render for and who the current master is
//     (from the running sentinels, not necessarily the inventory's).
//   - The exported path constants name where binaries, configs and data
//     live on the hosts.
//   - security.go adds what security.tls and security.acl need: the
//     CA bundle, certificate and key of each host, the aclfile, and the
//     TLS and ACL directives of every config (Redis's names, so the same
//     files run redis-server and redis-sentinel).
//   - files/*.tmpl are the embedded text/template sources.
package templates

import (
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/hactl/hactl/inventory"
)

//go:embed files/*.tmpl
var sources embed.FS

// Paths on the hosts for engine: hactl.
const (
	EngineBinary    = "/usr/local/bin/hactl-engine"
	SentinelBinary  = "/usr/local/bin/hactl-sentinel"
	EngineConfig    = "/etc/hactl/engine.conf"
	SentinelConfig  = "/etc/hactl/sentinel.conf"
	EngineDataDir   = "/var/lib/hactl/engine"
	SentinelDataDir = "/var/lib/hactl/sentinel"
	EngineUnit      = "/etc/systemd/system/hactl-engine.service"
	SentinelUnit    = "/etc/systemd/system/hactl-sentinel.service"
	// ServiceUser is the system user (and group) the hactl services run as.
	ServiceUser = "hactl"
)

// Paths on the hosts for engine: redis (Debian's redis-server and
// redis-sentinel packages, whose own systemd units are used).
const (
	RedisConfig         = "/etc/redis/redis.conf"
	RedisSentinelConfig = "/etc/redis/sentinel.conf"
	RedisDataDir        = "/var/lib/redis"
	RedisUser           = "redis"
	// The pid and log files Debian's units and logrotate expect.
	RedisPidFile         = "/run/redis/redis-server.pid"
	RedisLogFile         = "/var/log/redis/redis-server.log"
	RedisSentinelPidFile = "/run/sentinel/redis-sentinel.pid"
	RedisSentinelLogFile = "/var/log/redis/redis-sentinel.log"
)

// Paths on the hosts shared by both engines.
const (
	SysctlConfig  = "/etc/sysctl.d/60-hactl.conf"
	HAProxyConfig = "/etc/haproxy/haproxy.cfg"
)

// Header starts every rendered file; a file that starts with it was
// installed by hactl.
const Header = "# Managed by hactl"

// File is one rendered file.
type File struct {
	Path    string      // absolute path on the host
	Mode    fs.FileMode // permission bits to write it with
	Owner   string      // "user:group"
	Content []byte
	// Seed marks a file the service rewrites at runtime (redis-sentinel
	// keeps its state in its config file): install it only when the file
	// is missing or does not start with Header, never over a file hactl
	// installed before.
	Seed bool
	// Runtime lists the directives the service itself rewrites in this
	// file (CONFIG REWRITE after a sentinel's REPLICAOF). While the service
	// runs, a file differing from the rendered one only in those lines
	// (and in comments, quoting or what the rewrite adds) is left alone.
	Runtime []string
}

// EngineRuntime are the engine.conf/redis.conf directives the server
// rewrites at runtime: replication (the sentinels' business after a
// failover), and what redis-server's CONFIG REWRITE adds on its own.
var EngineRuntime = []string{"replicaof", "slaveof", "user", "latency-tracking-info-percentiles"}

// Params selects what to render.
type Params struct {
	Host   string // inventory name of the host to render for
	Master string // inventory name of the current master; "" means the inventory's initial master
	// Root prefixes every path on the host, in file paths and in file
	// contents. It is "" for real hosts; the process lab runs several hosts
	// on one machine, each under its own root directory.
	Root string
}

// backend is one server line of haproxy.cfg.
type backend struct {
	Name    string
	Address string
}

// unit is the data of one systemd unit.
type unit struct {
	Type           string // notify, or exec for a binary that does not sd_notify
	Description    string
	Binary         string
	Config         string
	User           string
	DataDir        string
	StateDirectory string // DataDir relative to /var/lib
}

// view is the data every template sees.
type view struct {
	Service    string
	Host       *inventory.Host
	IsMaster   bool
	MasterAddr string
	// MonitorAddr is the master sentinel.conf names: the current master
	// for redis-sentinel (its file is a seed, installed once), the
	// inventory's initial master for hactl-sentinel, whose state file
	// wins over its static config (a failover changes nothing here).
	MonitorAddr      string
	Bind             []string // host bind addresses, then 127.0.0.1
	Redis            bool     // engine: redis
	DataDir          string
	SentinelDir      string
	PidFile          string // engine: redis only
	LogFile          string // engine: redis only
	SentinelPidFile  string // engine: redis only
	SentinelLogFile  string // engine: redis only
	ResolveHostnames bool
	Server           inventory.Server
	Sentinel         inventory.Sentinel
	HAProxy          inventory.HAProxy
	Secrets          *inventory.ResolvedSecrets
	AuthHex          string // AUTH of HAProxy's engine checks, RESP in hex
	Backends         []backend
	Unit             unit
	Sec              secView // TLS and ACL; zero when security is off
}

// Render renders every file host p.Host needs, in a fixed order: engine
// config, engine unit, sysctl drop-in, sentinel config, sentinel unit,
// haproxy.cfg (each only for the matching roles; units only for engine
// hactl). Replicas point at p.Master.
func Render(inv *inventory.Inventory, sec *inventory.ResolvedSecrets, p Params) ([]File, error) {
	v, err := newView(inv, sec, p)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("").Funcs(funcs()).ParseFS(sources, "files/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	h := v.Host
	at := func(path string) string { return p.Root + path }
	root := "root:root"
	svc := ServiceUser + ":" + ServiceUser
	if v.Redis {
		svc = RedisUser + ":" + RedisUser
	}
	var jobs []job
	if h.Has(inventory.RoleEngine) {
		if v.Redis {
			jobs = append(jobs, job{tmpl: "engine.conf.tmpl", file: File{Path: at(RedisConfig), Mode: 0o600, Owner: svc, Runtime: EngineRuntime}})
		} else {
			jobs = append(jobs,
				job{tmpl: "engine.conf.tmpl", file: File{Path: at(EngineConfig), Mode: 0o600, Owner: svc, Runtime: EngineRuntime}},
				job{tmpl: "unit.service.tmpl", file: File{Path: at(EngineUnit), Mode: 0o644, Owner: root},
					unit: newUnit("notify", "hactl-engine: Redis-compatible server of service "+inv.Service, p.Root, EngineBinary, EngineConfig, EngineDataDir)})
		}
		jobs = append(jobs, job{tmpl: "sysctl.conf.tmpl", file: File{Path: at(SysctlConfig), Mode: 0o644, Owner: root}})
	}
	if h.Has(inventory.RoleSentinel) {
		if v.Redis {
			jobs = append(jobs, job{tmpl: "sentinel.conf.tmpl", file: File{Path: at(RedisSentinelConfig), Mode: 0o600, Owner: svc, Seed: true}})
		} else {
			jobs = append(jobs,
				job{tmpl: "sentinel.conf.tmpl", file: File{Path: at(SentinelConfig), Mode: 0o600, Owner: svc}},
				job{tmpl: "unit.service.tmpl", file: File{Path: at(SentinelUnit), Mode: 0o644, Owner: root},
					// hactl-sentinel does not send sd_notify READY yet:
					// with Type=notify systemctl start would hang.
					unit: newUnit("notify", "hactl-sentinel: failover monitor of service "+inv.Service, p.Root, SentinelBinary, SentinelConfig, SentinelDataDir)})
		}
	}
	if h.Has(inventory.RoleHAProxy) {
		jobs = append(jobs, job{tmpl: "haproxy.cfg.tmpl", file: File{Path: at(HAProxyConfig), Mode: 0o600, Owner: root}})
	}
	jobs = append(jobs, securityJobs(v, h, svc)...)
	files := make([]File, 0, len(jobs))
	for _, j := range jobs {
		if j.tmpl == "" { // a file of fixed content (TLS material)
			files = append(files, j.file)
			continue
		}
		v.Unit = j.unit
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, j.tmpl, v); err != nil {
			return nil, fmt.Errorf("render %s for host %s: %w", j.file.Path, h.Name, err)
		}
		j.file.Content = b.Bytes()
		files = append(files, j.file)
	}
	return files, nil
}

// job is one file to render: through template tmpl, or with fixed
// content when tmpl is "".
type job struct {
	tmpl string
	file File
	unit unit
}

// newView checks the render inputs and builds the template data.
func newView(inv *inventory.Inventory, sec *inventory.ResolvedSecrets, p Params) (*view, error) {
	if sec == nil {
		return nil, fmt.Errorf("render: no secrets (resolve them with inventory.ResolveSecrets)")
	}
	host, ok := inv.Host(p.Host)
	if !ok {
		return nil, fmt.Errorf("render: host %q is not in the inventory", p.Host)
	}
	if host.Announce == "" && isLoopback(host.Address) {
		// Lab hosts share 127.0.0.1 as the source of their connections:
		// announce their own address so the master and the sentinels tell
		// them apart.
		h := *host
		h.Announce = h.Address
		host = &h
	}
	masterName := p.Master
	if masterName == "" {
		masterName = inv.Master
	}
	master, ok := inv.Host(masterName)
	if !ok || !master.Has(inventory.RoleEngine) {
		return nil, fmt.Errorf("render: master %q is not an engine host of the inventory", masterName)
	}
	v := &view{
		Service:     inv.Service,
		Host:        host,
		IsMaster:    host.Name == master.Name,
		MasterAddr:  master.AnnounceAddress(),
		MonitorAddr: master.AnnounceAddress(),
		Bind:        bindAddrs(host.Bind),
		Redis:       inv.Engine == inventory.EngineRedis,
		DataDir:     p.Root + EngineDataDir,
		SentinelDir: p.Root + SentinelDataDir,
		Server:      inv.Server,
		Sentinel:    inv.Sentinel,
		HAProxy:     inv.HAProxy,
		Secrets:     sec,
	}
	if initial, ok := inv.Host(inv.Master); ok && !v.Redis {
		v.MonitorAddr = initial.AnnounceAddress()
	}
	if v.Redis {
		v.DataDir, v.SentinelDir = p.Root+RedisDataDir, p.Root+RedisDataDir
		v.PidFile, v.LogFile = p.Root+RedisPidFile, p.Root+RedisLogFile
		v.SentinelPidFile, v.SentinelLogFile = p.Root+RedisSentinelPidFile, p.Root+RedisSentinelLogFile
	}
	if err := v.addSecurity(inv, sec, p.Root); err != nil {
		return nil, err
	}
	auth := respCommand("AUTH", sec.RequirePass)
	if v.Sec.CheckUser != "" {
		auth = respCommand("AUTH", v.Sec.CheckUser, v.Sec.CheckPass)
	}
	v.AuthHex = hex.EncodeToString(auth)
	for _, e := range inv.HostsWith(inventory.RoleEngine) {
		v.Backends = append(v.Backends, backend{Name: e.Name, Address: e.AnnounceAddress()})
		if !inventory.IsIP(e.AnnounceAddress()) {
			v.ResolveHostnames = true
		}
	}
	return v, nil
}

// isLoopback reports whether a is a loopback IP address.
func isLoopback(a string) bool {
	ip := net.ParseIP(a)
	return ip != nil && ip.IsLoopback()
}

// bindAddrs is the host's bind addresses followed by 127.0.0.1, unless one
// of them is already a loopback address: hosts of the process lab live on
// 127.0.0.81-83 of one machine and cannot all listen on 127.0.0.1 too.
func bindAddrs(hostBind []string) []string {
	out := append([]string{}, hostBind...)
	for _, a := range hostBind {
		if isLoopback(a) {
			return out
		}
	}
	return append(out, "127.0.0.1")
}

// newUnit describes a hactl systemd unit; root prefixes its paths.
func newUnit(typ, desc, root, binary, config, dataDir string) unit {
	return unit{
		Type:           typ,
		Description:    desc,
		Binary:         root + binary,
		Config:         root + config,
		User:           ServiceUser,
		DataDir:        root + dataDir,
		StateDirectory: strings.TrimPrefix(dataDir, "/var/lib/"),
	}
}

// funcs returns the template helpers.
func funcs() template.FuncMap {
	return template.FuncMap{
		"q":        quote,
		"join":     strings.Join,
		"yesno":    yesno,
		"ms":       func(d time.Duration) int64 { return d.Milliseconds() },
		"sha256":   sha256Hex,
		"hostport": func(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) },
	}
}

// yesno writes a redis.conf boolean.
func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// quote writes s as one redis.conf argument: bare when it holds only
// printable ASCII without spaces or quotes, else double-quoted with
// escapes that Redis's sdssplitargs reads back.
func quote(s string) string {
	bare := s != ""
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		bare = c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\'
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// respCommand encodes a command as a RESP array of bulk strings.
func respCommand(args ...string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}
