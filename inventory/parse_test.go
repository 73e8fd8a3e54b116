package inventory

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hosts3 is a valid three-host inventory of 6 lines; cases append to it, so
// their own lines start at line 7.
const hosts3 = `hosts:
  - {name: db01, address: 192.0.2.1}
  - {name: db02, address: 192.0.2.2}
  - {name: db03, address: 192.0.2.3}
secrets:
  requirepass: {env: PW}
`

// diagnose parses src and returns the error and warning lines.
func diagnose(t *testing.T, src string) (*Inventory, []string, []string) {
	t.Helper()
	inv, warns, err := Parse("inv.yaml", []byte(src))
	var errs, ws []string
	if err != nil {
		l := AsErrorList(err)
		if l == nil {
			t.Fatalf("Parse error %T is not an ErrorList: %v", err, err)
		}
		if inv != nil {
			t.Errorf("Parse returned an inventory with errors")
		}
		for _, e := range l {
			errs = append(errs, e.Error())
		}
	}
	for _, w := range warns {
		if !w.Warning {
			t.Errorf("warning %q has Warning=false", w)
		}
		ws = append(ws, w.Error())
	}
	return inv, errs, ws
}

func TestParseDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		errs  []string
		warns []string
	}{
		{name: "valid", src: hosts3},
		{
			name: "yaml syntax",
			src:  "hosts:\n  - name: db01\n   address: x\n",
			errs: []string{`inv.yaml:1: invalid YAML: did not find expected '-' indicator (hint: the problem is at or after this line: check indentation, quotes and brackets)`},
		},
		{
			name: "empty",
			src:  "# nothing\n",
			errs: []string{`inv.yaml: empty inventory (hint: start from inventory.example.yaml)`},
		},
		{
			name: "root not a mapping",
			src:  "- db01\n",
			errs: []string{`inv.yaml:1:1: must be a mapping, got a list`},
		},
		{
			name: "unknown key suggests closest",
			src:  hosts3 + "provder: ssh\n",
			errs: []string{`inv.yaml:7:1: provder: unknown key "provder" (hint: did you mean "provider"?)`},
		},
		{
			name: "unknown key lists valid keys",
			src:  hosts3 + "sentinel: {colour: blue}\n",
			errs: []string{`inv.yaml:7:12: sentinel.colour: unknown key "colour" (hint: valid keys: down_after, failover_timeout, parallel_syncs, port, profile, quorum)`},
		},
		{
			name: "unknown host key",
			src:  "hosts:\n  - name: db01\n    adress: 192.0.2.1\n" + "secrets: {requirepass: {env: PW}}\n",
			errs: []string{
				`inv.yaml:2:5: hosts[0].address: missing required field "address" (hint: give the IP address or DNS name hactl connects to)`,
				`inv.yaml:3:5: hosts[0].adress: unknown key "adress" (hint: did you mean "address"?)`,
			},
			warns: []string{`inv.yaml:2:3: warning: hosts: only one engine host: no replica, no failover (hint: the seed uses three hosts: one master and two replicas)`},
		},
		{
			name: "duplicate key",
			src:  hosts3 + "service: a\nservice: b\n",
			errs: []string{`inv.yaml:8:1: service: duplicate key "service" (first at line 7) (hint: remove one of them)`},
		},
		{
			name: "duplicate host name and address",
			src: `hosts:
  - {name: db01, address: 192.0.2.1}
  - {name: db01, address: 192.0.2.2}
  - {name: db03, address: "::ffff:192.0.2.1"}
secrets: {requirepass: {env: PW}}
`,
			errs: []string{
				`inv.yaml:3:12: hosts[1].name: duplicate host name "db01" (first at line 2) (hint: give each host a unique name)`,
				`inv.yaml:4:27: hosts[2].address: duplicate address "::ffff:192.0.2.1" (also used by db01 at line 2) (hint: each host needs its own address)`,
			},
		},
		{
			name: "wrong types",
			src:  hosts3 + "server: {port: six, appendonly: maybe}\nsentinel: {quorum: [2]}\nhosts: {}\n",
			errs: []string{
				`inv.yaml:7:16: server.port: must be a port number, got "six"`,
				`inv.yaml:7:33: server.appendonly: must be true or false, got "maybe"`,
				`inv.yaml:8:20: sentinel.quorum: must be an integer, got a list`,
				`inv.yaml:9:1: hosts: duplicate key "hosts" (first at line 1) (hint: remove one of them)`,
			},
		},
		{
			name: "missing hosts and secrets",
			src:  "service: mymaster\n",
			errs: []string{
				`inv.yaml:1:1: hosts: missing required field "hosts" (hint: list the machines under hosts:, each with name and address)`,
				`inv.yaml:1:1: secrets.requirepass: missing secret requirepass (hint: add secrets: {requirepass: {file: secrets/requirepass}} (or env: NAME))`,
			},
		},
		{
			name: "missing requirepass",
			src:  strings.Replace(hosts3, "requirepass: {env: PW}", "masterauth: {env: PW}", 1),
			errs: []string{`inv.yaml:6:3: secrets.requirepass: missing secret requirepass (hint: add requirepass: {file: secrets/requirepass} (or env: NAME))`},
		},
		{
			name: "inline secret as a string is refused without echoing it",
			src:  strings.Replace(hosts3, "{env: PW}", "hunter2", 1),
			errs: []string{`inv.yaml:6:16: secrets.requirepass: must be a secret source such as {file: PATH}, got a string (hint: write {file: PATH} or {env: NAME}; keep passwords out of the inventory)`},
		},
		{
			name:  "inline value is a warning",
			src:   strings.Replace(hosts3, "{env: PW}", "{value: hunter2}", 1),
			warns: []string{`inv.yaml:6:24: warning: secrets.requirepass.value: inline secret: it ends up in version control and backups (hint: move it to a file with mode 0600 and write {file: PATH})`},
		},
		{
			name: "bad secret sources",
			src:  hosts3 + "  masterauth: {file: a, env: B}\n  sentinel_password: {}\n",
			errs: []string{
				`inv.yaml:7:15: secrets.masterauth: several secret sources (hint: keep only one of file, env and value)`,
				`inv.yaml:8:22: secrets.sentinel_password: missing secret source (hint: write {file: PATH} or {env: NAME}; keep passwords out of the inventory)`,
			},
		},
		{
			name: "master not among hosts",
			src:  hosts3 + "master: db1\n",
			errs: []string{`inv.yaml:7:9: master: initial master "db1" is not among the hosts (hint: use one of: db01, db02, db03)`},
		},
		{
			name: "master without the engine",
			src: `master: s1
hosts:
  - {name: db01, address: 192.0.2.1}
  - {name: s1, address: 192.0.2.9, roles: [sentinel]}
secrets: {requirepass: {env: PW}}
`,
			errs:  []string{`inv.yaml:1:9: master: initial master "s1" does not run the engine (hint: add engine to its roles or choose another host)`},
			warns: []string{`inv.yaml:3:3: warning: hosts: only one engine host: no replica, no failover (hint: the seed uses three hosts: one master and two replicas)`, `inv.yaml:3:3: warning: hosts: even number of sentinels (2): a partition in halves leaves no majority to fail over (hint: add a sentinel-only host (roles: [sentinel]) or remove one)`},
		},
		{
			name: "quorum too large",
			src:  hosts3 + "sentinel: {quorum: 4}\n",
			errs: []string{`inv.yaml:7:20: sentinel.quorum: quorum 4 is larger than the number of sentinels (3) (hint: use at most 3; a majority (2) is usual)`},
		},
		{
			name: "quorum below one",
			src:  hosts3 + "sentinel: {quorum: 0}\n",
			errs: []string{`inv.yaml:7:20: sentinel.quorum: quorum 0 must be at least 1 (hint: a quorum of a majority of the sentinels, e.g. 2 of 3, is usual)`},
		},
		{
			name: "even sentinels warn",
			src: `hosts:
  - {name: db01, address: 192.0.2.1}
  - {name: db02, address: 192.0.2.2}
secrets: {requirepass: {env: PW}}
`,
			warns: []string{`inv.yaml:2:3: warning: hosts: even number of sentinels (2): a partition in halves leaves no majority to fail over (hint: add a sentinel-only host (roles: [sentinel]) or remove one)`},
		},
		{
			name: "invalid addresses",
			src: `hosts:
  - {name: db01, address: 192.168.69.081}
  - {name: db02, address: "0.0.0.0"}
  - {name: db_3, address: -db03.example.com}
  - {name: db04, address: db04.example.com}
  - {name: db05, address: db05.example.com, bind: [db05]}
  - {name: "db 6", address: "fe80::1%eth0", announce: "999.1.1.1"}
secrets: {requirepass: {env: PW}}
`,
			errs: []string{
				`inv.yaml:2:27: hosts[0].address: invalid address "192.168.69.081": not an IP address or a hostname (hint: use an IP address such as 192.0.2.10 or a DNS name such as db01.example.com)`,
				`inv.yaml:3:27: hosts[1].address: invalid address "0.0.0.0": the unspecified address cannot be reached (hint: use an IP address such as 192.0.2.10 or a DNS name such as db01.example.com)`,
				`inv.yaml:4:27: hosts[2].address: invalid address "-db03.example.com": not an IP address or a hostname (hint: use an IP address such as 192.0.2.10 or a DNS name such as db01.example.com)`,
				`inv.yaml:5:27: hosts[3].address: address "db04.example.com" is a hostname and the host has no bind addresses (hint: add bind: [IP] with the address(es) to listen on)`,
				`inv.yaml:6:52: hosts[4].bind[0]: invalid bind address "db05" (hint: bind takes IP addresses, e.g. 192.0.2.10)`,
				`inv.yaml:7:12: hosts[5].name: invalid host name "db 6" (hint: use letters, digits, '.', '_' and '-')`,
				`inv.yaml:7:29: hosts[5].address: invalid address "fe80::1%eth0": IPv6 zones are not supported (hint: use an IP address such as 192.0.2.10 or a DNS name such as db01.example.com)`,
				`inv.yaml:7:55: hosts[5].announce: invalid address "999.1.1.1": not an IP address or a hostname (hint: use an IP address such as 192.0.2.10 or a DNS name such as db01.example.com)`,
			},
			warns: []string{`inv.yaml:2:3: warning: hosts: even number of sentinels (6): a partition in halves leaves no majority to fail over (hint: add a sentinel-only host (roles: [sentinel]) or remove one)`},
		},
		{
			name: "ports out of range",
			src:  hosts3 + "server: {port: 0}\nsentinel: {port: 65536}\nssh: {port: -1}\n",
			errs: []string{
				`inv.yaml:7:16: server.port: port 0 out of range (hint: use a port between 1 and 65535)`,
				`inv.yaml:8:18: sentinel.port: port 65536 out of range (hint: use a port between 1 and 65535)`,
				`inv.yaml:9:13: ssh.port: port -1 out of range (hint: use a port between 1 and 65535)`,
			},
		},
		{
			name: "port clash",
			src:  hosts3 + "sentinel: {port: 6379}\n",
			errs: []string{`inv.yaml:7:18: sentinel.port: port 6379 of the sentinel clashes with the engine on host db01 (hint: set sentinel.port to another port)`},
		},
		{
			name: "engine and provider",
			src:  hosts3 + "engine: valkey\nprovider: docker\n",
			errs: []string{
				`inv.yaml:7:9: engine: invalid value "valkey" (hint: use one of: hactl, redis)`,
				`inv.yaml:8:11: provider: invalid value "docker" (hint: use one of: ssh, vagrant, pulumi, lab)`,
			},
		},
		{
			name: "durations",
			src:  hosts3 + "sentinel:\n  down_after: 60000\n  failover_timeout: 3 minutes\nhaproxy: {check_interval: 1500us}\n",
			errs: []string{
				`inv.yaml:8:15: sentinel.down_after: duration 60000 has no unit (hint: write 60000ms or a value with another unit such as "60s")`,
				`inv.yaml:9:21: sentinel.failover_timeout: invalid duration "3 minutes" (hint: use a number with a unit: ms, s, m or h, e.g. "60s")`,
				`inv.yaml:10:27: haproxy.check_interval: invalid duration "1500us" (hint: use a positive whole number of milliseconds)`,
			},
			warns: []string{`inv.yaml:10:10: warning: haproxy: haproxy settings but no host has the haproxy role (hint: add haproxy to the roles of the proxy hosts)`},
		},
		{
			name: "server settings",
			src: hosts3 + `server:
  save: ["900 1", "60"]
  maxmemory: 2zb
  appendfsync: sometimes
  appendfilename: ../x.aof
  extra: {dir: /tmp, Bad_Name: 1, tcp-keepalive: 300}
`,
			errs: []string{
				`inv.yaml:8:19: server.save[1]: invalid save point "60" (hint: write "SECONDS CHANGES", e.g. "900 1"; an empty list disables snapshots)`,
				`inv.yaml:9:14: server.maxmemory: invalid memory size "2zb" (hint: use bytes or a unit: "512mb", "2gb")`,
				`inv.yaml:10:16: server.appendfsync: invalid value "sometimes" (hint: use one of: always, everysec, no)`,
				`inv.yaml:11:19: server.appendfilename: invalid file name "../x.aof" (hint: use a plain file name such as appendonly.aof)`,
				`inv.yaml:12:11: server.extra.dir: directive "dir" is managed by hactl (hint: hactl sets it; it cannot be overridden)`,
				`inv.yaml:12:22: server.extra.Bad_Name: invalid directive name "Bad_Name" (hint: directive names are lowercase words joined by '-')`,
			},
		},
		{
			name: "extra list",
			src:  hosts3 + "server:\n  extra:\n    - replicaof 192.0.2.1 6379\n    - \"rename-command FLUSHALL \\\"\\\"\"\n",
			errs: []string{`inv.yaml:9:7: server.extra[0]: directive "replicaof" is managed by hactl (hint: hactl points replicas at the current master itself)`},
		},
		{
			name: "ssh",
			src:  hosts3 + "ssh: {user: \"r oot\", jump: \"me@bastion:99999\", strict_host_key_checking: no}\n",
			errs: []string{
				`inv.yaml:7:13: ssh.user: invalid user name "r oot"`,
				`inv.yaml:7:28: ssh.jump: invalid jump host "me@bastion:99999": port "99999" out of range (hint: write [user@]host[:port], e.g. admin@bastion.example.com:22)`,
			},
			warns: []string{`inv.yaml:7:74: warning: ssh.strict_host_key_checking: host keys are not verified: anyone on the path can impersonate the hosts (hint: add the host keys to known_hosts instead)`},
		},
		{
			name: "roles",
			src:  "hosts:\n  - {name: db01, address: 192.0.2.1, roles: [engine, engine, proxy]}\n  - {name: db02, address: 192.0.2.2, roles: []}\nsecrets: {requirepass: {env: PW}}\n",
			errs: []string{
				`inv.yaml:2:3: hosts: no host runs a sentinel: failover is impossible (hint: give hosts the sentinel role (the default when roles is not written))`,
				`inv.yaml:2:54: hosts[0].roles[1]: duplicate role "engine" (hint: remove the duplicate)`,
				`inv.yaml:2:62: hosts[0].roles[2]: invalid value "proxy" (hint: use one of: engine, sentinel, haproxy)`,
				`inv.yaml:3:45: hosts[1].roles: no roles (hint: use engine, sentinel and/or haproxy, or remove the host)`,
			},
			warns: []string{`inv.yaml:2:3: warning: hosts: only one engine host: no replica, no failover (hint: the seed uses three hosts: one master and two replicas)`},
		},
		{
			name: "unknown key without a close match",
			src:  hosts3 + "base: 1\n",
			errs: []string{`inv.yaml:7:1: base: unknown key "base" (hint: valid keys: engine, haproxy, hosts, master, provider, pulumi, secrets, security, sentinel, server, service, ssh, vagrant)`},
		},
		{
			name: "merge keys",
			src:  hosts3 + "server: &s {port: 6380}\nsentinel:\n  <<: *s\n",
			errs: []string{`inv.yaml:9:3: sentinel.<<: YAML merge keys are not supported (hint: write the keys out)`},
		},
		{
			name: "security",
			src: hosts3 + `security:
  tls: {plaintext: false, ca_cert: /ca.pem, renew_before: 9000h, auth_clients: maybe}
  acl:
    users:
      - {name: default, password: {env: A}}
      - {name: app, password: {env: A}, commands: ["@read"], keys: ["a b"]}
      - {name: app, password: {env: A}}
      - {name: x, role: replica}
      - {name: y, role: replica}
      - {name: z, role: boss}
`,
			errs: []string{
				`inv.yaml:8:20: security.tls.plaintext: plaintext: false without TLS leaves no port open (hint: set security.tls.enabled: true)`,
				`inv.yaml:8:36: security.tls.ca_key: ca_cert and ca_key go together (hint: give both ca_cert and ca_key, or neither to let hactl generate a CA)`,
				`inv.yaml:8:59: security.tls.renew_before: renew_before 9000h0m0s is not shorter than cert_validity 8760h0m0s (hint: renew_before must be shorter than cert_validity)`,
				`inv.yaml:8:80: security.tls.auth_clients: invalid value "maybe" (hint: use one of: yes, no, optional)`,
				`inv.yaml:11:16: security.acl.users[0].name: user "default" is managed by hactl (hint: the default user takes secrets.requirepass; choose another name)`,
				`inv.yaml:12:52: security.acl.users[1].commands[0]: invalid command rule "@read" (hint: write +COMMAND, -COMMAND, +@CATEGORY or -@CATEGORY)`,
				`inv.yaml:12:69: security.acl.users[1].keys[0]: invalid pattern "a b" (hint: ACL patterns cannot contain spaces)`,
				`inv.yaml:13:16: security.acl.users[2].name: duplicate user "app" (first at line 12) (hint: give each user a unique name)`,
				`inv.yaml:15:25: security.acl.users[4].role: second replica user (first at line 14) (hint: keep one replica user)`,
				`inv.yaml:16:25: security.acl.users[5].role: invalid value "boss" (hint: use one of: app, replica, sentinel, monitor)`,
			},
		},
	}
	checkDiagnostics(t, tests)
}

// checkDiagnostics parses each case's src and compares the error and
// warning lines.
func checkDiagnostics(t *testing.T, tests []struct {
	name  string
	src   string
	errs  []string
	warns []string
}) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, warns := diagnose(t, tt.src)
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors:\n got %s\nwant %s", strings.Join(errs, "\n     "), strings.Join(tt.errs, "\n     "))
			}
			if !reflect.DeepEqual(warns, tt.warns) {
				t.Errorf("warnings:\n got %s\nwant %s", strings.Join(warns, "\n     "), strings.Join(tt.warns, "\n     "))
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	inv, errs, warns := diagnose(t, hosts3)
	if errs != nil || warns != nil {
		t.Fatalf("errors %v, warnings %v", errs, warns)
	}
	want := Defaults()
	want.File = "inv.yaml"
	want.Master = "db01"
	want.Sentinel.Quorum = 2
	pw := SecretRef{Source: SecretEnv, Ref: "PW", Field: "secrets.requirepass", Pos: Pos{6, 16}}
	want.Secrets = Secrets{RequirePass: pw, MasterAuth: pw, Sentinel: pw}
	for i, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		want.Hosts = append(want.Hosts, Host{
			Name: "db0" + string(rune('1'+i)), Address: a, Bind: []string{a},
			ReplicaPriority: 100, Roles: []Role{RoleEngine, RoleSentinel}, SSH: DefaultSSH(), Pos: Pos{2 + i, 5},
		})
	}
	if !reflect.DeepEqual(*inv, want) {
		t.Errorf("Parse(hosts3) =\n%+v\nwant\n%+v", *inv, want)
	}
}

func TestParseSettings(t *testing.T) {
	src := `service: cache
engine: redis
provider: lab
master: db02
ssh: {user: admin, key: /k, jump: "ops@[2001:db8::1]:2222"}
hosts:
  - name: db01
    address: 192.0.2.1
    announce: 198.51.100.1
    ssh: {port: 2201, user: other}
  - &h2 {name: db02, address: db02.example.com, bind: [192.0.2.2, "2001:db8::2"], replica_priority: 10}
  - {name: q1, address: 192.0.2.3, roles: [sentinel, haproxy]}
server:
  save: []
  appendonly: no
  maxmemory: 512mb
  maxmemory_policy: allkeys-lru
  extra: {tcp-keepalive: 300, hz: 20, client-output-buffer-limit: "replica 256mb 64mb 60"}
sentinel: {profile: fast, failover_timeout: 90s, parallel_syncs: &two 2}
secrets:
  requirepass: {file: pw/req}
  sentinel_password: {file: /etc/hactl/sentinel}
haproxy: {port: 7000, maxconn: *two}
security:
  tls: {enabled: true, plaintext: off}
  acl:
    users:
      - {name: app, password: {env: APP_PW}, keys: ["app:*"], commands: ["+@read", "-flushall"]}
`
	inv, errs, warns := diagnose(t, src)
	if errs != nil || warns != nil {
		t.Fatalf("errors %v, warnings %v", errs, warns)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"service", inv.Service, "cache"},
		{"engine", inv.Engine, EngineRedis},
		{"provider", inv.Provider, ProviderLab},
		{"master", inv.Master, "db02"},
		{"db01 ssh", inv.Hosts[0].SSH, SSH{User: "other", Port: 2201, Key: "/k", Jump: "ops@[2001:db8::1]:2222", KnownHosts: "~/.ssh/known_hosts", StrictHostKeyChecking: true}},
		{"db02 ssh", inv.Hosts[1].SSH.Port, 22},
		{"announce", inv.Hosts[0].AnnounceAddress(), "198.51.100.1"},
		{"bind", inv.Hosts[1].Bind, []string{"192.0.2.2", "2001:db8::2"}},
		{"priority", inv.Hosts[1].ReplicaPriority, 10},
		{"q1 roles", inv.Hosts[2].Roles, []Role{RoleSentinel, RoleHAProxy}},
		{"sentinels", len(inv.HostsWith(RoleSentinel)), 3},
		{"save disabled", inv.Server.Save, []SavePoint{}},
		{"appendonly", inv.Server.AppendOnly, false},
		{"maxmemory", inv.Server.MaxMemory, int64(512 << 20)},
		{"policy", inv.Server.MaxMemoryPolicy, "allkeys-lru"},
		{"extra sorted", inv.Server.Extra, []Directive{{"client-output-buffer-limit", "replica 256mb 64mb 60"}, {"hz", "20"}, {"tcp-keepalive", "300"}}},
		{"profile down-after", inv.Sentinel.DownAfter, 5 * time.Second},
		{"explicit failover-timeout", inv.Sentinel.FailoverTimeout, 90 * time.Second},
		{"parallel-syncs", inv.Sentinel.ParallelSyncs, 2},
		{"quorum", inv.Sentinel.Quorum, 2},
		{"file secret relative to inventory", inv.Secrets.RequirePass.Ref, "pw/req"},
		{"masterauth defaults to requirepass", inv.Secrets.MasterAuth.Ref, "pw/req"},
		{"sentinel secret", inv.Secrets.Sentinel.Ref, "/etc/hactl/sentinel"},
		{"haproxy with an alias", inv.HAProxy, HAProxy{Port: 7000, CheckInterval: time.Second, MaxConn: 2}},
		{"tls", inv.Security.TLS.Enabled && !inv.Security.TLS.Plaintext, true},
		{"acl user", inv.Security.ACL.Users[0].Keys, []string{"app:*"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
}

func TestParseRelativeSecretPath(t *testing.T) {
	src := strings.Replace(hosts3, "{env: PW}", "{file: secrets/pw}", 1)
	inv, _, err := Parse("deploy/prod/inventory.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inv.Secrets.RequirePass.Ref, "deploy/prod/secrets/pw"; got != want {
		t.Errorf("secret path = %q; want %q", got, want)
	}
}

func TestErrorListUnwrap(t *testing.T) {
	_, _, err := Parse("inv.yaml", []byte(hosts3+"master: nope\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) = false", err)
	}
	if e.File != "inv.yaml" || e.Line != 7 || e.Col != 9 || e.Field != "master" || e.Hint == "" {
		t.Errorf("first error = %+v", *e)
	}
	if got := AsErrorList(err); len(got) != 1 {
		t.Errorf("AsErrorList = %v; want one error", got)
	}
}
