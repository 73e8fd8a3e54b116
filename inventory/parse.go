package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads the inventory file at path and parses it (see Parse).
func Load(path string) (*Inventory, []*Error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read inventory: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates an inventory. file names the source in
// diagnostics and anchors relative secret file paths. It returns the
// resolved inventory and its warnings, or, when anything is wrong, a nil
// inventory, the warnings and an ErrorList holding every error found,
// ordered by position.
func Parse(file string, data []byte) (*Inventory, []*Error, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, ErrorList{syntaxError(file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, nil, ErrorList{{File: file, Msg: "empty inventory", Hint: "start from inventory.example.yaml"}}
	}
	inv := Defaults()
	inv.File = file
	p := &parser{d: &decoder{file: file, pos: map[string]Pos{}}, inv: &inv, ssh: DefaultSSH()}
	p.root(resolve(doc.Content[0]))

	diags := p.d.diags
	sort.SliceStable(diags, func(i, j int) bool {
		if diags[i].Line != diags[j].Line {
			return diags[i].Line < diags[j].Line
		}
		return diags[i].Col < diags[j].Col
	})
	var errs ErrorList
	var warnings []*Error
	for _, e := range diags {
		if e.Warning {
			warnings = append(warnings, e)
		} else {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, warnings, errs
	}
	return &inv, warnings, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML syntax error into an *Error with its line.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	e := &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: "),
		Hint: "the problem is at or after this line: check indentation, quotes and brackets"}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
	}
	return e
}

// parser holds the state of one Parse call.
type parser struct {
	d   *decoder
	inv *Inventory
	ssh SSH // top-level ssh settings, merged under each host's

	hostNodes []*yaml.Node // hosts[i] mapping, for late checks
	sshNodes  []*yaml.Node // hosts[i].ssh, nil when absent
	secrets   *yaml.Node
	haproxy   bool // the haproxy section was written
}

func (p *parser) root(n *yaml.Node) {
	d, inv := p.d, p.inv
	ok := d.mapping(n, "", map[string]fieldFunc{
		"service": func(f string, v *yaml.Node) {
			if d.str(v, f, &inv.Service) && !isName(inv.Service) {
				d.errorf(v, f, "use letters, digits, '.', '_' and '-'", "invalid service name %q", inv.Service)
			}
		},
		"engine": func(f string, v *yaml.Node) {
			var s string
			if d.oneOf(v, f, &s, string(EngineHactl), string(EngineRedis)) {
				inv.Engine = EngineKind(s)
			}
		},
		"provider": func(f string, v *yaml.Node) {
			var s string
			if d.oneOf(v, f, &s, string(ProviderSSH), string(ProviderVagrant), string(ProviderPulumi), string(ProviderLab)) {
				inv.Provider = Provider(s)
			}
		},
		"master":   func(f string, v *yaml.Node) { d.str(v, f, &inv.Master) },
		"ssh":      func(f string, v *yaml.Node) { p.sshSection(v, f, &p.ssh) },
		"hosts":    p.hosts,
		"server":   p.server,
		"sentinel": p.sentinel,
		"secrets":  func(_ string, v *yaml.Node) { p.secrets = v },
		"haproxy":  p.haproxySection,
		"security": p.security,
		"pulumi":   p.pulumiSection,
		"vagrant":  p.vagrantSection,
	})
	if !ok {
		return
	}
	p.hostsOrProvider(n)
	// Secrets are decoded last: their relative paths and defaults do not
	// depend on the order of keys.
	p.secretsSection(n)
	for i := range inv.Hosts {
		inv.Hosts[i].SSH = p.ssh
		if p.sshNodes[i] != nil {
			p.sshSection(p.sshNodes[i], fmt.Sprintf("hosts[%d].ssh", i), &inv.Hosts[i].SSH)
		}
	}
	p.validate()
}

func (p *parser) hosts(field string, n *yaml.Node) {
	p.d.sequence(n, field, p.host)
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.d.errorf(n, field, "list the machines, each with name and address", "no hosts")
	}
}

func (p *parser) host(field string, n *yaml.Node) {
	d := p.d
	h := Host{ReplicaPriority: DefaultReplicaPriority, Roles: defaultRoles(), Pos: Pos{n.Line, n.Column}}
	var sshNode *yaml.Node
	checkAddr := func(f string, v *yaml.Node, dst *string) {
		if d.str(v, f, dst) {
			if msg := checkAddress(*dst); msg != "" {
				d.errorf(v, f, "use an IP address such as 192.0.2.10 or a DNS name such as db01.example.com",
					"invalid address %q: %s", *dst, msg)
			}
		}
	}
	ok := d.mapping(n, field, map[string]fieldFunc{
		"name": func(f string, v *yaml.Node) {
			if d.str(v, f, &h.Name) && !isName(h.Name) {
				d.errorf(v, f, "use letters, digits, '.', '_' and '-'", "invalid host name %q", h.Name)
			}
		},
		"address":  func(f string, v *yaml.Node) { checkAddr(f, v, &h.Address) },
		"announce": func(f string, v *yaml.Node) { checkAddr(f, v, &h.Announce) },
		"bind": func(f string, v *yaml.Node) {
			h.Bind = []string{}
			d.sequence(v, f, func(sub string, item *yaml.Node) {
				var s string
				if !d.str(item, sub, &s) {
					return
				}
				if !IsIP(s) {
					d.errorf(item, sub, "bind takes IP addresses, e.g. 192.0.2.10", "invalid bind address %q", s)
					return
				}
				h.Bind = append(h.Bind, s)
			})
		},
		"replica_priority": func(f string, v *yaml.Node) { d.integer(v, f, 0, 1<<31-1, &h.ReplicaPriority) },
		"roles":            func(f string, v *yaml.Node) { h.Roles = p.roles(f, v) },
		"ssh":              func(_ string, v *yaml.Node) { sshNode = v },
	})
	if ok {
		d.require(n, field, map[string]string{
			"name":    "give the host a short unique name such as db01",
			"address": "give the IP address or DNS name hactl connects to",
		}, "name", "address")
	}
	if h.Bind == nil && h.Address != "" && checkAddress(h.Address) == "" {
		if IsIP(h.Address) {
			h.Bind = []string{h.Address}
		} else if h.Has(RoleEngine) || h.Has(RoleSentinel) {
			d.errorAt(field+".address", "add bind: [IP] with the address(es) to listen on",
				"address %q is a hostname and the host has no bind addresses", h.Address)
		}
	}
	p.inv.Hosts = append(p.inv.Hosts, h)
	p.hostNodes = append(p.hostNodes, n)
	p.sshNodes = append(p.sshNodes, sshNode)
}

// roles decodes a host's roles into canonical order.
func (p *parser) roles(field string, n *yaml.Node) []Role {
	set := map[Role]bool{}
	p.d.sequence(n, field, func(sub string, item *yaml.Node) {
		var s string
		if !p.d.oneOf(item, sub, &s, string(RoleEngine), string(RoleSentinel), string(RoleHAProxy)) {
			return
		}
		if set[Role(s)] {
			p.d.errorf(item, sub, "remove the duplicate", "duplicate role %q", s)
		}
		set[Role(s)] = true
	})
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.d.errorf(n, field, "use engine, sentinel and/or haproxy, or remove the host", "no roles")
	}
	var roles []Role
	for _, r := range []Role{RoleEngine, RoleSentinel, RoleHAProxy} {
		if set[r] {
			roles = append(roles, r)
		}
	}
	return roles
}

// sshSection decodes ssh settings over dst, which holds the defaults.
func (p *parser) sshSection(n *yaml.Node, field string, dst *SSH) {
	d := p.d
	d.mapping(n, field, map[string]fieldFunc{
		"user": func(f string, v *yaml.Node) {
			if d.str(v, f, &dst.User) && !isName(dst.User) {
				d.errorf(v, f, "", "invalid user name %q", dst.User)
			}
		},
		"port": func(f string, v *yaml.Node) { d.port(v, f, &dst.Port) },
		"key":  func(f string, v *yaml.Node) { d.str(v, f, &dst.Key) },
		"jump": func(f string, v *yaml.Node) {
			if d.str(v, f, &dst.Jump) {
				if msg := checkJump(dst.Jump); msg != "" {
					d.errorf(v, f, "write [user@]host[:port], e.g. admin@bastion.example.com:22", "invalid jump host %q: %s", dst.Jump, msg)
				}
			}
		},
		"known_hosts": func(f string, v *yaml.Node) { d.str(v, f, &dst.KnownHosts) },
		"strict_host_key_checking": func(f string, v *yaml.Node) {
			if d.boolean(v, f, &dst.StrictHostKeyChecking) && !dst.StrictHostKeyChecking {
				d.warnf(v, f, "add the host keys to known_hosts instead", "host keys are not verified: anyone on the path can impersonate the hosts")
			}
		},
	})
}

func (p *parser) server(field string, n *yaml.Node) {
	d, s := p.d, &p.inv.Server
	d.mapping(n, field, map[string]fieldFunc{
		"port": func(f string, v *yaml.Node) { d.port(v, f, &s.Port) },
		"maxmemory": func(f string, v *yaml.Node) {
			if v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!int" || v.ShortTag() == "!!str") {
				if b, ok := parseMemory(v.Value); ok {
					s.MaxMemory = b
					return
				}
			}
			d.errorf(v, f, `use bytes or a unit: "512mb", "2gb"`, "invalid memory size %s", kindName(v))
		},
		"maxmemory_policy": func(f string, v *yaml.Node) {
			d.oneOf(v, f, &s.MaxMemoryPolicy, "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
				"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")
		},
		"save": func(f string, v *yaml.Node) {
			s.Save = []SavePoint{}
			d.sequence(v, f, func(sub string, item *yaml.Node) {
				if sp, ok := parseSavePoint(item); ok {
					s.Save = append(s.Save, sp)
					return
				}
				d.errorf(item, sub, `write "SECONDS CHANGES", e.g. "900 1"; an empty list disables snapshots`,
					"invalid save point %s", kindName(item))
			})
		},
		"appendonly":     func(f string, v *yaml.Node) { d.boolean(v, f, &s.AppendOnly) },
		"appendfsync":    func(f string, v *yaml.Node) { d.oneOf(v, f, &s.AppendFsync, "always", "everysec", "no") },
		"appendfilename": func(f string, v *yaml.Node) { p.appendFilename(f, v) },
		"extra":          p.extra,
	})
}

func (p *parser) appendFilename(field string, n *yaml.Node) {
	s := &p.inv.Server
	if !p.d.str(n, field, &s.AppendFilename) {
		return
	}
	if strings.ContainsAny(s.AppendFilename, "/\\\n\r\t \"'") || s.AppendFilename == "." || s.AppendFilename == ".." {
		p.d.errorf(n, field, "use a plain file name such as appendonly.aof", "invalid file name %q", s.AppendFilename)
	}
}

// parseSavePoint parses "SECONDS CHANGES".
func parseSavePoint(n *yaml.Node) (SavePoint, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return SavePoint{}, false
	}
	f := strings.Fields(n.Value)
	if len(f) != 2 {
		return SavePoint{}, false
	}
	secs, err1 := strconv.Atoi(f[0])
	changes, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || secs < 1 || changes < 1 {
		return SavePoint{}, false
	}
	return SavePoint{Seconds: secs, Changes: changes}, true
}

// extra decodes extra redis.conf directives, as a mapping (rendered sorted
// by name) or as a list of lines (rendered in order).
func (p *parser) extra(field string, n *yaml.Node) {
	d, s := p.d, &p.inv.Server
	s.Extra = []Directive{}
	add := func(f string, at *yaml.Node, name, args string) {
		if !isDirectiveName(name) {
			d.errorf(at, f, "directive names are lowercase words joined by '-'", "invalid directive name %q", name)
			return
		}
		if hint, managed := managedDirective(name); managed {
			d.errorf(at, f, hint, "directive %q is managed by hactl", name)
			return
		}
		if strings.ContainsAny(args, "\n\r") {
			d.errorf(at, f, "write one directive per entry", "directive %q spans several lines", name)
			return
		}
		s.Extra = append(s.Extra, Directive{Name: name, Args: args})
	}
	switch n.Kind {
	case yaml.MappingNode:
		fs := map[string]fieldFunc{}
		for i := 0; i < len(n.Content); i += 2 {
			name := n.Content[i].Value
			fs[name] = func(f string, v *yaml.Node) {
				if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" || v.Value == "" {
					d.typeError(v, f, "a value", "")
					return
				}
				add(f, n.Content[i], name, v.Value)
			}
		}
		d.mapping(n, field, fs)
		sort.SliceStable(s.Extra, func(i, j int) bool { return s.Extra[i].Name < s.Extra[j].Name })
	case yaml.SequenceNode:
		d.sequence(n, field, func(sub string, item *yaml.Node) {
			var line string
			if !d.str(item, sub, &line) {
				return
			}
			name, args, _ := strings.Cut(strings.TrimSpace(line), " ")
			add(sub, item, strings.ToLower(name), strings.TrimSpace(args))
		})
	default:
		d.typeError(n, field, `a mapping (name: value) or a list of lines`, "")
	}
}

// isDirectiveName reports whether s looks like a redis.conf directive.
func isDirectiveName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// managedDirective says whether hactl writes directive name itself, and
// where to set it instead.
func managedDirective(name string) (hint string, managed bool) {
	switch name {
	case "port":
		return "set server.port", true
	case "bind":
		return "set hosts[].bind", true
	case "requirepass":
		return "set secrets.requirepass", true
	case "masterauth":
		return "set secrets.masterauth", true
	case "save":
		return "set server.save", true
	case "appendonly", "appendfsync", "appendfilename", "maxmemory":
		return "set server." + name, true
	case "maxmemory-policy":
		return "set server.maxmemory_policy", true
	case "replica-priority", "slave-priority":
		return "set hosts[].replica_priority", true
	case "replica-announce-ip", "slave-announce-ip":
		return "set hosts[].announce", true
	case "replicaof", "slaveof":
		return "hactl points replicas at the current master itself", true
	case "masteruser", "user", "aclfile":
		return "use security.acl", true
	case "protected-mode", "dir", "include", "daemonize", "supervised", "pidfile", "logfile":
		return "hactl sets it; it cannot be overridden", true
	}
	if strings.HasPrefix(name, "tls-") {
		return "use security.tls", true
	}
	return "", false
}

func (p *parser) sentinel(field string, n *yaml.Node) {
	d, s := p.d, &p.inv.Sentinel
	var downAfter, failoverTimeout time.Duration
	d.mapping(n, field, map[string]fieldFunc{
		"port": func(f string, v *yaml.Node) { d.port(v, f, &s.Port) },
		"quorum": func(f string, v *yaml.Node) {
			if d.integer(v, f, -1<<31, 1<<31-1, &s.Quorum) && s.Quorum < 1 {
				d.errorf(v, f, "a quorum of a majority of the sentinels, e.g. 2 of 3, is usual", "quorum %d must be at least 1", s.Quorum)
			}
		},
		"profile":          func(f string, v *yaml.Node) { d.oneOf(v, f, &s.Profile, ProfileSeed, ProfileFast) },
		"down_after":       func(f string, v *yaml.Node) { d.duration(v, f, &downAfter) },
		"failover_timeout": func(f string, v *yaml.Node) { d.duration(v, f, &failoverTimeout) },
		"parallel_syncs":   func(f string, v *yaml.Node) { d.integer(v, f, 1, 1000, &s.ParallelSyncs) },
	})
	if da, ft, ok := profileTiming(s.Profile); ok {
		s.DownAfter, s.FailoverTimeout = da, ft
	}
	if downAfter > 0 {
		s.DownAfter = downAfter
	}
	if failoverTimeout > 0 {
		s.FailoverTimeout = failoverTimeout
	}
}

// secretsSection decodes the secrets mapping (p.secrets, may be nil) and
// fills the defaults: masterauth and sentinel_password fall back to
// requirepass.
func (p *parser) secretsSection(root *yaml.Node) {
	d, s := p.d, &p.inv.Secrets
	if p.secrets == nil {
		d.errorf(root, "secrets.requirepass", "add secrets: {requirepass: {file: secrets/requirepass}} (or env: NAME)",
			"missing secret requirepass")
		return
	}
	ok := d.mapping(p.secrets, "secrets", map[string]fieldFunc{
		"requirepass":       func(f string, v *yaml.Node) { s.RequirePass = p.secretRef(f, v) },
		"masterauth":        func(f string, v *yaml.Node) { s.MasterAuth = p.secretRef(f, v) },
		"sentinel_password": func(f string, v *yaml.Node) { s.Sentinel = p.secretRef(f, v) },
	})
	if ok && !has(p.secrets, "requirepass") {
		d.errorf(p.secrets, "secrets.requirepass", "add requirepass: {file: secrets/requirepass} (or env: NAME)",
			"missing secret requirepass")
	}
	if s.MasterAuth.Source == "" {
		s.MasterAuth = s.RequirePass
	}
	if s.Sentinel.Source == "" {
		s.Sentinel = s.RequirePass
	}
}

// secretRef decodes {file: PATH} | {env: NAME} | {value: SECRET}. It never
// echoes an inline secret in a message.
func (p *parser) secretRef(field string, n *yaml.Node) SecretRef {
	d := p.d
	ref := SecretRef{Field: field, Pos: Pos{n.Line, n.Column}}
	const hint = "write {file: PATH} or {env: NAME}; keep passwords out of the inventory"
	if n.Kind != yaml.MappingNode {
		what := "a string"
		if n.Kind != yaml.ScalarNode {
			what = kindName(n)
		}
		d.errorf(n, field, hint, "must be a secret source such as {file: PATH}, got %s", what)
		return ref
	}
	var count int
	set := func(src SecretSource) fieldFunc {
		return func(f string, v *yaml.Node) {
			count++
			if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" || v.Value == "" {
				d.errorf(v, f, hint, "must not be empty")
				return
			}
			ref.Source, ref.Ref = src, v.Value
			switch src {
			case SecretFile:
				if strings.HasPrefix(ref.Ref, "~") {
					d.errorf(v, f, "use an absolute path or one relative to the inventory file", "~ is not expanded in %q", ref.Ref)
				} else if !filepath.IsAbs(ref.Ref) {
					ref.Ref = filepath.Join(filepath.Dir(d.file), ref.Ref)
				}
			case SecretEnv:
				if !isEnvName(ref.Ref) {
					d.errorf(v, f, "use letters, digits and '_', e.g. HACTL_REQUIREPASS", "invalid environment variable name %q", ref.Ref)
				}
			case SecretValue:
				d.warnf(v, f, "move it to a file with mode 0600 and write {file: PATH}", "inline secret: it ends up in version control and backups")
			}
		}
	}
	d.mapping(n, field, map[string]fieldFunc{
		"file":  set(SecretFile),
		"env":   set(SecretEnv),
		"value": set(SecretValue),
	})
	switch {
	case count == 0:
		d.errorf(n, field, hint, "missing secret source")
	case count > 1:
		d.errorf(n, field, "keep only one of file, env and value", "several secret sources")
	}
	return ref
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (p *parser) haproxySection(field string, n *yaml.Node) {
	d, h := p.d, &p.inv.HAProxy
	p.haproxy = true
	d.mapping(n, field, map[string]fieldFunc{
		"port":           func(f string, v *yaml.Node) { d.port(v, f, &h.Port) },
		"check_interval": func(f string, v *yaml.Node) { d.duration(v, f, &h.CheckInterval) },
		"maxconn":        func(f string, v *yaml.Node) { d.integer(v, f, 1, 1000000, &h.MaxConn) },
	})
}

func (p *parser) security(field string, n *yaml.Node) {
	d, sec := p.d, &p.inv.Security
	t := &sec.TLS
	d.mapping(n, field, map[string]fieldFunc{
		"tls": func(f string, v *yaml.Node) {
			d.mapping(v, f, map[string]fieldFunc{
				"enabled":       func(f string, v *yaml.Node) { d.boolean(v, f, &t.Enabled) },
				"port":          func(f string, v *yaml.Node) { d.port(v, f, &t.Port) },
				"plaintext":     func(f string, v *yaml.Node) { d.boolean(v, f, &t.Plaintext) },
				"auth_clients":  func(f string, v *yaml.Node) { d.oneOf(v, f, &t.AuthClients, "yes", "no", "optional") },
				"replication":   func(f string, v *yaml.Node) { d.boolean(v, f, &t.Replication) },
				"ca_cert":       func(f string, v *yaml.Node) { d.str(v, f, &t.CACert) },
				"ca_key":        func(f string, v *yaml.Node) { d.str(v, f, &t.CAKey) },
				"cert_validity": func(f string, v *yaml.Node) { d.duration(v, f, &t.CertValidity) },
				"renew_before":  func(f string, v *yaml.Node) { d.duration(v, f, &t.RenewBefore) },
				"min_validity":  func(f string, v *yaml.Node) { d.duration(v, f, &t.MinValidity) },
			})
		},
		"acl": func(f string, v *yaml.Node) {
			d.mapping(v, f, map[string]fieldFunc{
				"users": func(f string, v *yaml.Node) { d.sequence(v, f, p.aclUser) },
			})
		},
	})
}

func (p *parser) aclUser(field string, n *yaml.Node) {
	d := p.d
	u := User{Pos: Pos{n.Line, n.Column}}
	patterns := func(dst *[]string) fieldFunc {
		return func(f string, v *yaml.Node) {
			d.strings(v, f, dst)
			for i, s := range *dst {
				if strings.ContainsAny(s, " \t\r\n") {
					d.errorAt(fmt.Sprintf("%s[%d]", f, i), "ACL patterns cannot contain spaces", "invalid pattern %q", s)
				}
			}
		}
	}
	ok := d.mapping(n, field, map[string]fieldFunc{
		"name": func(f string, v *yaml.Node) {
			if d.str(v, f, &u.Name) && !isName(u.Name) {
				d.errorf(v, f, "use letters, digits, '.', '_' and '-'", "invalid user name %q", u.Name)
			}
		},
		"password": func(f string, v *yaml.Node) { u.Password = p.secretRef(f, v) },
		"role":     func(f string, v *yaml.Node) { d.oneOf(v, f, (*string)(&u.Role), userRoles...) },
		"keys":     patterns(&u.Keys),
		"channels": patterns(&u.Channels),
		"commands": func(f string, v *yaml.Node) {
			patterns(&u.Commands)(f, v)
			for i, c := range u.Commands {
				if !strings.HasPrefix(c, "+") && !strings.HasPrefix(c, "-") && c != "allcommands" && c != "nocommands" {
					d.errorAt(fmt.Sprintf("%s[%d]", f, i), `write +COMMAND, -COMMAND, +@CATEGORY or -@CATEGORY`, "invalid command rule %q", c)
				}
			}
		},
	})
	if ok {
		d.require(n, field, nil, "name")
	}
	p.defaultUser(&u, field)
	p.inv.Security.ACL.Users = append(p.inv.Security.ACL.Users, u)
}
