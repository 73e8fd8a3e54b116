package config_test

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/hactl/hactl/engine/config"
	"github.com/hactl/hactl/engine/difftest"
	"github.com/hactl/hactl/engine/splitargs"
)

// do sends one command to the reference server.
func do(t *testing.T, c *difftest.Conn, args ...string) difftest.Reply {
	t.Helper()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Do(ctx, b...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return r
}

// argsAsConf renders redis-server "--name value..." arguments as config
// file lines, quoting every value.
func argsAsConf(args []string) string {
	var b strings.Builder
	for _, a := range args {
		if strings.HasPrefix(a, "--") {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(a[2:])
			continue
		}
		b.WriteString(" " + strconv.Quote(a))
	}
	return b.String() + "\n"
}

const goldenDefaults = "testdata/redis-7.0.15-config-get.golden"

// configGetAll returns CONFIG GET * of a live server as a map.
func configGetAll(t *testing.T, conn *difftest.Conn) map[string]string {
	t.Helper()
	r := do(t, conn, "CONFIG", "GET", "*")
	if r.Type != '*' || len(r.Elems)%2 != 0 {
		t.Fatalf("CONFIG GET *: %+v", r)
	}
	m := make(map[string]string)
	for i := 0; i < len(r.Elems); i += 2 {
		m[r.Elems[i].Str] = r.Elems[i+1].Str
	}
	return m
}

// compareGet checks that every name we support answers as redis does.
func compareGet(t *testing.T, what string, c *Config, live map[string]string) {
	t.Helper()
	for _, kv := range c.Get("*") {
		want, ok := live[kv.Name]
		if !ok && strings.HasPrefix(kv.Name, "hactl-") {
			continue // hactl's own directives
		}
		if !ok {
			t.Errorf("%s: redis has no %s", what, kv.Name)
		} else if kv.Value != want {
			t.Errorf("%s: %s = %q; redis %q", what, kv.Name, kv.Value, want)
		}
	}
}

// placeholders replace what the test harness sets in the golden file.
var placeholders = map[string]string{"port": "<port>", "bind": "<bind>", "dir": "<dir>", "enable-debug-command": "<debug>"}

// TestDefaultsGolden compares Default with CONFIG GET * of redis-server
// 7.0.15 started without a config file (save put back to its default), and
// checks that every name redis knows is either supported or ignored.
func TestDefaultsGolden(t *testing.T) {
	if *UpdateGolden {
		conn := difftest.StartRedis(t, "--save", "3600 1 300 100 60 10000").Dial(t)
		live := configGetAll(t, conn)
		var b strings.Builder
		for _, name := range slices.Sorted(maps.Keys(live)) {
			v := live[name]
			if p, ok := placeholders[name]; ok {
				v = p
			}
			fmt.Fprintf(&b, "%s %s\n", name, strconv.Quote(v))
		}
		if err := os.WriteFile(goldenDefaults, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(goldenDefaults)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	golden := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, quoted, _ := strings.Cut(sc.Text(), " ")
		v, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("golden line %q: %v", sc.Text(), err)
		}
		golden[name] = v
	}
	for name := range golden {
		if sup, ign := Known(name); !sup && !ign {
			t.Errorf("redis directive %s is neither supported nor ignored", name)
		}
	}
	c := Default()
	for _, kv := range c.Get("*") {
		want, ok := golden[kv.Name]
		switch {
		case !ok && strings.HasPrefix(kv.Name, "hactl-"):
			// hactl's own directives have no Redis counterpart.
		case !ok:
			t.Errorf("%s is not a redis 7.0.15 directive", kv.Name)
		case placeholders[kv.Name] != "":
			// Set by the harness; checked below.
		case kv.Value != want:
			t.Errorf("default %s = %q; redis %q", kv.Name, kv.Value, want)
		}
	}
	if got := c.Get("port")[0].Value + "|" + c.Get("bind")[0].Value + "|" + c.Get("enable-debug-command")[0].Value; got != "6379|* -::*|no" {
		t.Errorf("default port|bind|enable-debug-command = %q", got)
	}
}

// liveConf sets most supported directives away from their defaults, with
// aliases, units and multi-line forms.
const liveConf = `
# differential test configuration
protected-mode no
maxclients 123
timeout 7
tcp-keepalive 0
proto-max-bulk-len 2mb
client-query-buffer-limit 3MB
client-output-buffer-limit normal 1mb 2mb 3
client-output-buffer-limit slave 1gb 512m 120
hz 1000
dynamic-hz no
supervised systemd
pidfile "hactl test.pid"
loglevel warning
syslog-enabled no
enable-debug-command local
dbfilename "x.rdb"
rdbcompression no
save 100 1
save 200 2
stop-writes-on-bgsave-error no
appendfilename "a.aof"
appenddirname "aofdir"
appendfsync always
no-appendfsync-on-rewrite yes
auto-aof-rewrite-percentage 50
auto-aof-rewrite-min-size 1g
aof-use-rdb-preamble no
masteruser "repl"
slave-read-only no
replica-serve-stale-data no
slave-priority 7
replica-announce-ip 127.0.0.9
slave-announce-port 6390
repl-timeout 30
repl-ping-slave-period 3
repl-backlog-size 1kb
repl-backlog-ttl 0
repl-diskless-sync no
repl-diskless-sync-delay 0
min-slaves-to-write 1
min-replicas-max-lag 4
maxmemory 100mb
maxmemory-policy allkeys-lfu
maxmemory-samples 9
lazyfree-lazy-eviction yes
lazyfree-lazy-expire yes
lazyfree-lazy-server-del yes
lazyfree-lazy-user-del yes
lazyfree-lazy-user-flush yes
notify-keyspace-events "KEA"
hash-max-ziplist-entries 100
hash-max-listpack-value 1k
list-max-ziplist-size 7
set-max-intset-entries 1000
zset-max-listpack-entries 10
zset-max-ziplist-value 128
active-expire-effort 3
io-threads 2
`

// TestConfigGetAgainstRedis gives the same configuration to redis-server
// (as options) and to Load (as a file) and compares every value we
// support.
func TestConfigGetAgainstRedis(t *testing.T) {
	var confArgs []string
	for _, line := range strings.Split(liveConf, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		words, err := splitargs.Split([]byte(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		confArgs = append(confArgs, "--"+string(words[0]))
		for _, w := range words[1:] {
			confArgs = append(confArgs, string(w))
		}
	}
	srv := difftest.StartRedis(t, confArgs...)
	// The harness options come first on redis-server's command line.
	harness := srv.Args[:len(srv.Args)-len(confArgs)]
	path := filepath.Join(t.TempDir(), "live.conf")
	if err := os.WriteFile(path, []byte(argsAsConf(harness)+liveConf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	compareGet(t, "loaded", c, configGetAll(t, srv.Dial(t)))
}

// TestConfigSetAgainstRedis sends the same CONFIG SET commands to
// redis-server and to Config and compares replies and resulting values.
func TestConfigSetAgainstRedis(t *testing.T) {
	srv := difftest.StartRedis(t)
	conn := srv.Dial(t)
	c, err := Load("", srv.Args)
	if err != nil {
		t.Fatal(err)
	}
	compareGet(t, "start", c, configGetAll(t, conn))
	cmds := [][]string{
		{"foo", "bar"}, {"port"}, {"port", "1", "x"}, {"port", "x"}, {"port", "70000"}, {"port", "07"},
		{"port", "-0"}, {"port", "+1"}, {"timeout", "-1"}, {"maxclients", "0"},
		{"daemonize", "no"}, {"databases", "4"}, {"dir", "/tmp"}, {"dbfilename", "x"},
		{"supervised", "no"}, {"replicaof", "a 1"}, {"slaveof", "no one"}, {"aclfile", "x"},
		{"appendonly", "maybe"}, {"appendonly", "YES"}, {"appendonly", "no"},
		{"maxmemory", "1x"}, {"maxmemory", "-1"}, {"maxmemory", "1.5m"}, {"maxmemory", "2Gb"},
		{"maxmemory", ""}, {"maxmemory", "99999999999999999999999"}, {"maxmemory", "0"},
		{"proto-max-bulk-len", "10"}, {"proto-max-bulk-len", "99999999999999999999"}, {"proto-max-bulk-len", "4mb"},
		{"maxmemory-policy", "foo"}, {"maxmemory-policy", "VOLATILE-TTL"}, {"loglevel", "foo"}, {"loglevel", "WARNING"},
		{"appendfsync", "foo"}, {"appendfsync", "no"}, {"tls-auth-clients", "x"}, {"tls-auth-clients", "optional"},
		{"save", "1 2 3"}, {"save", "a b"}, {"save", "0 1"}, {"save", "1 -1"}, {"save", " "}, {"save", "1  2"},
		{"save", "100 5 20 3"}, {"save", ""},
		{"client-output-buffer-limit", "foo 1 2 3"}, {"client-output-buffer-limit", "normal 1 2"},
		{"client-output-buffer-limit", "normal 1 x 2"}, {"client-output-buffer-limit", "normal 1 2 -1"},
		{"client-output-buffer-limit", "master 1 2 3"}, {"client-output-buffer-limit", ""},
		{"client-output-buffer-limit", "pubsub 1mb 2k 5 replica 1 2 3"},
		{"notify-keyspace-events", "Q"}, {"notify-keyspace-events", "KEA"}, {"notify-keyspace-events", "AKEnm"},
		{"notify-keyspace-events", "Ex"}, {"notify-keyspace-events", "g$lshzxetdn"}, {"notify-keyspace-events", ""},
		{"hz", "1000"}, {"hz", "0"}, {"hz", "10"}, {"active-expire-effort", "11"}, {"list-max-listpack-size", "0"},
		{"repl-backlog-size", "0"}, {"repl-backlog-size", "1K"}, {"repl-backlog-size", "3mb"},
		{"repl-backlog-ttl", "99999999999999"}, {"hash-max-listpack-value", "99999999999999999999"},
		{"port", "1", "port", "2"}, {"slave-read-only", "no", "replica-read-only", "no"},
		{"slave-read-only", "no", "min-slaves-to-write", "-1"}, {"slave-read-only", "no", "slave-priority", "5"},
		{"timeout", "x", "daemonize", "no"}, {"daemonize", "no", "timeout", "x"}, {"timeout", "1", "foo", "1"},
		{"masteruser", "bob"}, {"replica-announce-ip", "127.0.0.5"}, {"tls-port", "70000"},
		{"enable-debug-command", "yes"}, {"tcp-backlog", "5"},
	}
	for _, args := range cmds {
		r := do(t, conn, append([]string{"CONFIG", "SET"}, args...)...)
		want := "OK"
		if r.Type == '-' {
			want = r.Str
		}
		got := "OK"
		if _, err := c.Set(args); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("CONFIG SET %q: got %q; redis %q", args, got, want)
		}
		compareGet(t, fmt.Sprintf("after CONFIG SET %q", args), c, configGetAll(t, conn))
	}
}
