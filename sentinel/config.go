package sentinel

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf"
	"github.com/hactl/hactl/engine/splitargs"
)

// Defaults from Redis 7.0 (sentinel.c).
const (
	DefaultPort            = 26379
	DefaultDownAfter       = 30 * time.Second
	DefaultFailoverTimeout = 180 * time.Second
	DefaultParallelSyncs   = 1
)

// Config is the static configuration, in sentinel.conf syntax. It never
// holds runtime state: that lives in the state file (package state).
type Config struct {
	Port              int
	Bind              []string
	RequirePass       string
	AnnounceIP        string
	AnnouncePort      int
	ResolveHostnames  bool
	AnnounceHostnames bool
	SentinelUser      string
	SentinelPass      string
	// TLSPort is tls-port (0: none). With port 0 and a tls-port the
	// sentinel listens with TLS only.
	TLSPort int
	// TLSReplication is tls-replication: TLS toward masters, replicas and
	// other sentinels.
	TLSReplication bool
	// TLS holds tls-cert-file, tls-key-file, tls-client-cert-file,
	// tls-client-key-file, tls-ca-cert-file, tls-auth-clients,
	// tls-protocols, tls-ciphers and tls-ciphersuites.
	TLS tlsconf.Settings
	// StateFile is where runtime state is persisted ("hactl-state-file";
	// default: sentinel-state.conf in Dir).
	StateFile string
	Dir       string
	LogFile   string
	Masters   []MasterConfig
}

// MasterConfig is one "sentinel monitor" block.
type MasterConfig struct {
	Name            string
	Host            string
	Port            int
	Quorum          int
	DownAfter       time.Duration
	FailoverTimeout time.Duration
	ParallelSyncs   int
	AuthPass        string
	AuthUser        string
	// Renamed maps a command name (lower case) to the name used on the
	// monitored instances.
	Renamed map[string]string
}

// ConfigError is a configuration error at a file line.
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ErrUnknownOption is returned by SetOption for an option it does not know.
var ErrUnknownOption = errors.New("unknown option")

// ignoredDirectives are accepted for compatibility with Redis's
// sentinel.conf and have no effect here.
var ignoredDirectives = map[string]bool{
	"daemonize": true, "pidfile": true, "protected-mode": true, "loglevel": true,
	"user": true, "acllog-max-len": true, "supervised": true, "syslog-enabled": true,
	"latency-tracking-info-percentiles": true, "tcp-keepalive": true, "hz": true,
	"tls-session-caching": true, "tls-session-cache-size": true, "tls-session-cache-timeout": true,
	"tls-prefer-server-ciphers": true, "tls-dh-params-file": true,
}

// tlsString maps the tls-* string directives onto the fields of Config.TLS.
func (c *Config) tlsString(d string) *string {
	switch d {
	case "tls-cert-file":
		return &c.TLS.CertFile
	case "tls-key-file":
		return &c.TLS.KeyFile
	case "tls-client-cert-file":
		return &c.TLS.ClientCertFile
	case "tls-client-key-file":
		return &c.TLS.ClientKeyFile
	case "tls-ca-cert-file":
		return &c.TLS.CAFile
	case "tls-protocols":
		return &c.TLS.Protocols
	case "tls-ciphers":
		return &c.TLS.Ciphers
	case "tls-ciphersuites":
		return &c.TLS.Ciphersuites
	}
	return nil
}

// stateDirectives are Redis's runtime state lines; hactl keeps them in the
// state file and ignores them in sentinel.conf.
var stateDirectives = map[string]bool{
	"myid": true, "current-epoch": true, "config-epoch": true, "leader-epoch": true,
	"known-replica": true, "known-slave": true, "known-sentinel": true,
}

// LoadConfig reads and parses a sentinel.conf file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(path, b)
}

// ParseConfig parses sentinel.conf text; file names the source in errors.
func ParseConfig(file string, text []byte) (*Config, error) {
	c := &Config{Port: DefaultPort}
	for ln, line := range bytes.Split(text, []byte("\n")) {
		ln++
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		raw, err := splitargs.Split(line)
		if err != nil {
			return nil, &ConfigError{file, ln, err.Error()}
		}
		a := make([]string, len(raw))
		for i, r := range raw {
			a[i] = string(r)
		}
		if err := c.directive(a); err != nil {
			return nil, &ConfigError{file, ln, err.Error()}
		}
	}
	return c, nil
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", v)
	}
	return n, nil
}

func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("argument must be 'yes' or 'no'")
}

func (c *Config) directive(a []string) error {
	d := strings.ToLower(a[0])
	args := a[1:]
	one := func() error {
		if len(args) != 1 {
			return fmt.Errorf("wrong number of arguments for %q", d)
		}
		return nil
	}
	var err error
	switch d {
	case "port":
		if err = one(); err == nil {
			c.Port, err = parsePort(args[0])
		}
	case "bind":
		if len(args) == 0 {
			return fmt.Errorf("wrong number of arguments for %q", d)
		}
		c.Bind = append([]string(nil), args...)
	case "requirepass":
		if err = one(); err == nil {
			c.RequirePass = args[0]
		}
	case "tls-port":
		if err = one(); err == nil {
			c.TLSPort, err = parsePort(args[0])
		}
	case "tls-replication":
		if err = one(); err == nil {
			c.TLSReplication, err = parseYesNo(args[0])
		}
	case "tls-auth-clients":
		if err = one(); err == nil {
			switch v := strings.ToLower(args[0]); v {
			case "yes", "no", "optional":
				c.TLS.AuthClients = v
			default:
				err = fmt.Errorf("tls-auth-clients must be yes, no or optional")
			}
		}
	case "tls-cert-file", "tls-key-file", "tls-client-cert-file", "tls-client-key-file", "tls-ca-cert-file",
		"tls-protocols", "tls-ciphers", "tls-ciphersuites":
		if err = one(); err == nil {
			*c.tlsString(d) = args[0]
		}
	case "dir":
		if err = one(); err == nil {
			c.Dir = args[0]
		}
	case "logfile":
		if err = one(); err == nil {
			c.LogFile = args[0]
		}
	case "hactl-state-file":
		if err = one(); err == nil {
			c.StateFile = args[0]
		}
	case "sentinel":
		if len(args) == 0 {
			return fmt.Errorf("wrong number of arguments for %q", d)
		}
		return c.sentinelDirective(strings.ToLower(args[0]), args[1:])
	default:
		if !ignoredDirectives[d] {
			return fmt.Errorf("unknown directive %q", a[0])
		}
	}
	return err
}

func (c *Config) master(name string) *MasterConfig {
	for i := range c.Masters {
		if c.Masters[i].Name == name {
			return &c.Masters[i]
		}
	}
	return nil
}

// NewMasterConfig returns a master block with Redis's defaults.
func NewMasterConfig(name, host string, port, quorum int) MasterConfig {
	return MasterConfig{Name: name, Host: host, Port: port, Quorum: quorum,
		DownAfter: DefaultDownAfter, FailoverTimeout: DefaultFailoverTimeout, ParallelSyncs: DefaultParallelSyncs}
}

func (c *Config) sentinelDirective(d string, args []string) error {
	n := func(k int) error {
		if len(args) != k {
			return fmt.Errorf("wrong number of arguments for 'sentinel %s'", d)
		}
		return nil
	}
	switch d {
	case "monitor":
		if err := n(4); err != nil {
			return err
		}
		if c.master(args[0]) != nil {
			return fmt.Errorf("duplicate master name %q", args[0])
		}
		port, err := parsePort(args[2])
		if err != nil || port == 0 {
			return fmt.Errorf("invalid port %q", args[2])
		}
		q, err := strconv.Atoi(args[3])
		if err != nil || q < 1 {
			return fmt.Errorf("quorum must be 1 or greater")
		}
		if net.ParseIP(args[1]) == nil && !c.ResolveHostnames {
			return fmt.Errorf("invalid IP address %q (hostnames need 'sentinel resolve-hostnames yes')", args[1])
		}
		c.Masters = append(c.Masters, NewMasterConfig(args[0], args[1], port, q))
	case "announce-ip":
		if err := n(1); err != nil {
			return err
		}
		c.AnnounceIP = args[0]
	case "announce-port":
		if err := n(1); err != nil {
			return err
		}
		p, err := parsePort(args[0])
		if err != nil {
			return err
		}
		c.AnnouncePort = p
	case "resolve-hostnames", "announce-hostnames":
		if err := n(1); err != nil {
			return err
		}
		v, err := parseYesNo(args[0])
		if err != nil {
			return err
		}
		if d == "resolve-hostnames" {
			c.ResolveHostnames = v
		} else {
			c.AnnounceHostnames = v
		}
	case "sentinel-user", "sentinel-pass":
		if err := n(1); err != nil {
			return err
		}
		if d == "sentinel-user" {
			c.SentinelUser = args[0]
		} else {
			c.SentinelPass = args[0]
		}
	case "deny-scripts-reconfig":
		return n(1)
	default:
		if stateDirectives[d] {
			return nil
		}
		if len(args) < 2 {
			return fmt.Errorf("unknown or malformed directive 'sentinel %s'", d)
		}
		m := c.master(args[0])
		if m == nil {
			return fmt.Errorf("no such master %q (the monitor line must come first)", args[0])
		}
		if err := m.SetOption(d, args[1:]); err != nil {
			return fmt.Errorf("sentinel %s: %w", d, err)
		}
	}
	return nil
}

// SetOption applies one per-master option as in sentinel.conf and
// SENTINEL SET. It returns ErrUnknownOption for unknown options or a wrong
// number of values, and another error for an invalid value.
func (m *MasterConfig) SetOption(opt string, vals []string) error {
	opt = strings.ToLower(opt)
	if opt == "rename-command" {
		if len(vals) != 2 {
			return ErrUnknownOption
		}
		if m.Renamed == nil {
			m.Renamed = map[string]string{}
		}
		m.Renamed[strings.ToLower(vals[0])] = vals[1]
		return nil
	}
	if len(vals) != 1 {
		return ErrUnknownOption
	}
	v := vals[0]
	ms := func() (time.Duration, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("invalid argument %q", v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	var err error
	switch opt {
	case "down-after-milliseconds":
		m.DownAfter, err = ms()
	case "failover-timeout":
		m.FailoverTimeout, err = ms()
	case "parallel-syncs", "quorum":
		k, e := strconv.Atoi(v)
		if e != nil || k <= 0 {
			return fmt.Errorf("invalid argument %q", v)
		}
		if opt == "quorum" {
			m.Quorum = k
		} else {
			m.ParallelSyncs = k
		}
	case "auth-pass":
		m.AuthPass = v
	case "auth-user":
		m.AuthUser = v
	case "notification-script", "client-reconfig-script", "master-reboot-down-after-period":
		// Accepted for compatibility; scripts are not run by hactl-sentinel.
	default:
		return ErrUnknownOption
	}
	return err
}

// Listeners returns the plaintext addresses to listen on: none with port 0
// and a tls-port.
func (c *Config) Listeners() []string {
	if c.Port == 0 && c.TLSPort > 0 {
		return nil
	}
	return c.listenAddrs(c.Port)
}

// TLSListeners returns the tls-port addresses to listen on.
func (c *Config) TLSListeners() []string {
	if c.TLSPort == 0 {
		return nil
	}
	return c.listenAddrs(c.TLSPort)
}

func (c *Config) listenAddrs(port int) []string {
	binds := c.Bind
	if len(binds) == 0 {
		binds = []string{""}
	}
	out := make([]string, 0, len(binds))
	for _, b := range binds {
		b = strings.TrimPrefix(b, "-")
		out = append(out, net.JoinHostPort(b, strconv.Itoa(port)))
	}
	return out
}
