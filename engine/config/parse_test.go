package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func parseString(t *testing.T, text string) (*Config, error) {
	t.Helper()
	return Parse(strings.NewReader(text), "test.conf")
}

func TestParseValues(t *testing.T) {
	c, err := parseString(t, `
# comment
  port 7000
bind 127.0.0.1 ::1
PROTECTED-MODE No
maxmemory 2GB
maxmemory-policy ALLKEYS-LRU
client-output-buffer-limit replica 1gb 1mb 30
client-output-buffer-limit pubsub 1k 2kb 3
save 100 1
save 200 2
slaveof 10.0.0.1 6380
slave-read-only no
min-slaves-to-write 2
hash-max-ziplist-entries 99
notify-keyspace-events "Kx"
requirepass "s3cret pass"
list-max-ziplist-size 5
hz 1000
repl-backlog-size 1kb
dir /var/lib/hactl
`)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"port", c.Port, 7000},
		{"bind", c.Bind, []string{"127.0.0.1", "::1"}},
		{"protected-mode", c.ProtectedMode, false},
		{"maxmemory", c.MaxMemory, uint64(2 << 30)},
		{"maxmemory-policy", c.MaxMemoryPolicy, "allkeys-lru"},
		{"cobl replica", c.ClientOutputBufferLimit[ClassReplica], BufferLimit{1 << 30, 1 << 20, 30}},
		{"cobl pubsub", c.ClientOutputBufferLimit[ClassPubSub], BufferLimit{1000, 2048, 3}},
		{"cobl normal", c.ClientOutputBufferLimit[ClassNormal], BufferLimit{}},
		{"save", c.Save, []SavePoint{{100, 1}, {200, 2}}},
		{"replicaof host", c.ReplicaOfHost, "10.0.0.1"},
		{"replicaof port", c.ReplicaOfPort, 6380},
		{"replica-read-only", c.ReplicaReadOnly, false},
		{"min-replicas-to-write", c.MinReplicasToWrite, 2},
		{"hash-max-listpack-entries", c.HashMaxListpackEntries, int64(99)},
		{"notify", c.NotifyKeyspaceEvents, NotifyKeyspace | NotifyExpired},
		{"requirepass", c.RequirePass, "s3cret pass"},
		{"list-max-listpack-size", c.ListMaxListpackSize, 5},
		{"hz", c.Hz, 500},
		{"repl-backlog-size", c.ReplBacklogSize, int64(1024)},
		{"dir", c.Dir, "/var/lib/hactl"},
	}
	for _, ch := range checks {
		if !equalAny(ch.got, ch.want) {
			t.Errorf("%s = %#v; want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	case []SavePoint:
		return slices.Equal(x, b.([]SavePoint))
	}
	return a == b
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"port x", `test.conf:1: port: value "x" is not an integer in range 0..65535`},
		{"port 70000", `test.conf:1: port: value "70000" is out of range 0..65535`},
		{"\n\nport 1 2", `test.conf:3: port: wrong number of arguments`},
		{"prot 1", `test.conf:1: unknown directive "prot" (did you mean "port"?)`},
		{"maxmemory-polcy x", `test.conf:1: unknown directive "maxmemory-polcy" (did you mean "maxmemory-policy"?)`},
		{"zzzzzz 1", `test.conf:1: unknown directive "zzzzzz"`},
		{"appendonly maybe", `test.conf:1: appendonly: value "maybe" is not yes or no`},
		{"loglevel loud", `test.conf:1: loglevel: value "loud" is not one of debug, verbose, notice, warning`},
		{"maxmemory 1tb", `test.conf:1: maxmemory: value "1tb" is not a memory value (like 100mb)`},
		{"save 0 1", `test.conf:1: save: value "0 1" is not a list of <seconds> <changes> pairs (seconds >= 1)`},
		{`port "1`, `test.conf:1: unbalanced quotes in configuration line`},
		{"client-output-buffer-limit master 1 2 3", `test.conf:1: client-output-buffer-limit: value "master 1 2 3" has a class other than normal, replica (slave) or pubsub`},
		{"notify-keyspace-events Q", `test.conf:1: notify-keyspace-events: value "Q" has a character outside 'Ag$lshzxeKEtmdn'`},
		{"replicaof host", `test.conf:1: replicaof: wrong number of arguments`},
		{"replicaof host port", `test.conf:1: replicaof: value "host port" has a port outside 0..65535`},
		{"rename-command CONFIG x", `test.conf:1: rename-command: not supported by hactl-engine: restrict commands with ACL rules in the aclfile instead`},
		{"daemonize yes", `test.conf:1: daemonize: "yes" is not supported: hactl-engine runs in the foreground under systemd (set "daemonize no" and "supervised systemd")`},
		{"supervised upstart\nsupervised maybe", `test.conf:2: supervised: value "maybe" is not one of upstart, systemd, auto, no`},
		{"include /nonexistent/x.conf", `config: open /nonexistent/x.conf: no such file or directory`},
	}
	for _, tt := range tests {
		_, err := parseString(t, tt.text)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v; want %s", tt.text, err, tt.want)
		}
	}
}

func TestParseSecretsNotInErrors(t *testing.T) {
	for _, text := range []string{
		`requirepass "hunter2hunter2" extra`,
		`masterauth hunter2hunter2 x`,
		`tls-key-file-pass hunter2hunter2 x`,
		`requirepass "hunter2hunter2`,
		`requirepass hunter2hunter2"`,
	} {
		_, err := parseString(t, text)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", text)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error shows the secret: %v", text, err)
		}
	}
}

func TestParseSave(t *testing.T) {
	tests := []struct {
		text      string
		overrides []string
		want      string
	}{
		{"", nil, "3600 1 300 100 60 10000"},
		{"save 10 1", nil, "10 1"},
		{"save 10 1\nsave 20 2", nil, "10 1 20 2"},
		{"save 10 1 20 2", nil, "10 1 20 2"},
		{`save ""`, nil, ""},
		{"save 10 1\nsave \"\"", nil, ""},
		{"save \"\"\nsave 10 1", nil, "10 1"},
		{"save 10 1", []string{"--save", ""}, ""},
		{"save 10 1", []string{"--save"}, ""},
		{"save 10 1", []string{"--save", "30 3"}, "10 1 30 3"},
		{"", []string{"--save", "30", "3", "--port", "1"}, "30 3"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "r.conf")
		if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, tt.overrides)
		if err != nil {
			t.Errorf("Load(%q, %q): %v", tt.text, tt.overrides, err)
			continue
		}
		if got := c.Get("save")[0].Value; got != tt.want {
			t.Errorf("Load(%q, %q) save = %q; want %q", tt.text, tt.overrides, got, tt.want)
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.conf")
	if err := os.WriteFile(path, []byte("port 6000\ndaemonize yes\nloglevel debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, []string{"--port", "7000", "--daemonize", "no", "--bind", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7000 || c.Daemonize || c.LogLevel != "debug" || !slices.Equal(c.Bind, []string{"127.0.0.1", "::1"}) {
		t.Errorf("got port %d daemonize %v loglevel %s bind %q", c.Port, c.Daemonize, c.LogLevel, c.Bind)
	}
	_, err = Load("", []string{"7000"})
	var ce *Error
	if !errors.As(err, &ce) || ce.File != "(command line)" || ce.Line != 1 {
		t.Errorf("bare word: %v", err)
	}
	_, err = Load("", []string{"--port", "1", "--port", "x"})
	if err == nil || err.Error() != `(command line):3: port: value "x" is not an integer in range 0..65535` {
		t.Errorf("bad override: %v", err)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.conf")
	main := filepath.Join(dir, "main.conf")
	loop := filepath.Join(dir, "loop.conf")
	files := map[string]string{
		inc:  "port 7001\nio-threads 4\n",
		main: "port 7000\ninclude " + inc + "\nmaxclients 5\n",
		loop: "include " + loop + "\n",
	}
	for p, text := range files {
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(main, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7001 || c.MaxClients != 5 {
		t.Errorf("port %d maxclients %d", c.Port, c.MaxClients)
	}
	want := []string{inc + ":2: io-threads: accepted but has no effect in hactl-engine"}
	if !slices.Equal(c.Warnings, want) {
		t.Errorf("warnings %q; want %q", c.Warnings, want)
	}
	if _, err := Load(loop, nil); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("include loop: %v", err)
	}
}

// TestDebianStockConfig loads the redis.conf that Debian's redis-server
// package installs, with the options of Debian's systemd unit.
func TestDebianStockConfig(t *testing.T) {
	paths := []string{"testdata/debian-redis.conf"}
	if _, err := os.Stat("/etc/redis/redis.conf"); err == nil {
		paths = append(paths, "/etc/redis/redis.conf")
	}
	for _, path := range paths {
		c, err := Load(path, []string{"--supervised", "systemd", "--daemonize", "no"})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if len(c.Warnings) == 0 {
			t.Errorf("%s: no warnings", path)
		}
		for _, w := range c.Warnings {
			if !strings.HasPrefix(w, path+":") || !strings.HasSuffix(w, ": accepted but has no effect in hactl-engine") {
				t.Errorf("%s: warning %q", path, w)
			}
		}
		if c.Dir != "/var/lib/redis" || c.Supervised != "systemd" || !slices.Equal(c.Bind, []string{"127.0.0.1", "-::1"}) {
			t.Errorf("%s: dir %q supervised %q bind %q", path, c.Dir, c.Supervised, c.Bind)
		}
		// Without the unit's options, daemonize yes is refused.
		if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "daemonize") {
			t.Errorf("%s without --daemonize no: %v", path, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("port 7000\nsave 10 1\nsave 20 2\nbind a b\n")
	f.Add("client-output-buffer-limit normal 1mb 2k 3\nnotify-keyspace-events AKEnm\n")
	f.Add("slaveof h 1\nrequirepass \"a b\\x00\"\nmaxmemory 3GB\n# c\n\n io-threads 4\n")
	f.Add("save \"\"\nreplicaof no one\ndir \"/tmp/x y\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(strings.ToLower(text), "include") {
			return // would open arbitrary files
		}
		c, err := Parse(strings.NewReader(text), "fuzz.conf")
		if err != nil {
			return
		}
		// A configuration survives a rewrite of its own file unchanged.
		path := filepath.Join(t.TempDir(), "fuzz.conf")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := c.Rewrite(path); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		again, err := Load(path, nil)
		if err != nil {
			b, _ := os.ReadFile(path)
			t.Fatalf("reload after rewrite: %v\n%s", err, b)
		}
		if g1, g2 := c.Get("*"), again.Get("*"); !slices.Equal(g1, g2) {
			t.Fatalf("rewrite changed the configuration:\n%v\n%v", g1, g2)
		}
	})
}
