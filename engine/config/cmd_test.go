package config

import (
	"errors"
	"slices"
	"testing"
)

func TestGet(t *testing.T) {
	c := Default()
	c.Save = []SavePoint{{3600, 1}, {300, 100}, {60, 10000}}
	tests := []struct {
		patterns []string
		want     []KV
	}{
		{[]string{"save"}, []KV{{"save", "3600 1 300 100 60 10000"}}},
		{[]string{"client-output-buffer-limit"}, []KV{{"client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"}}},
		{[]string{"PORT"}, []KV{{"PORT", "6379"}}},
		{[]string{"port", "PORT", "p?rt"}, []KV{{"port", "6379"}}},
		{[]string{"slaveof", "replicaof"}, []KV{{"slaveof", ""}, {"replicaof", ""}}},
		{[]string{"*read-only"}, []KV{{"replica-read-only", "yes"}, {"slave-read-only", "yes"}}},
		{[]string{"hash-max-*-entries", "HASH*"}, []KV{{"hash-max-listpack-entries", "512"}, {"hash-max-ziplist-entries", "512"}, {"hash-max-listpack-value", "64"}, {"hash-max-ziplist-value", "64"}}},
		{[]string{"nosuch"}, nil},
		{[]string{"maxmemory"}, []KV{{"maxmemory", "0"}}},
	}
	for _, tt := range tests {
		if got := c.Get(tt.patterns...); !slices.Equal(got, tt.want) {
			t.Errorf("Get(%q) = %q; want %q", tt.patterns, got, tt.want)
		}
	}
	if n := len(c.Get("*")); n != len(byName) {
		t.Errorf("Get(*) has %d names; want %d", n, len(byName))
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"port"}, "ERR wrong number of arguments for 'config|set' command"},
		{[]string{"port", "1", "foo"}, "ERR syntax error"},
		{[]string{"foo", "bar"}, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{[]string{"port", "x", "foo", "1"}, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{[]string{"io-threads", "4"}, "ERR Unknown option or number of arguments for CONFIG SET - 'io-threads'"},
		{[]string{"port", "x"}, "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"},
		{[]string{"Port", "70000"}, "ERR CONFIG SET failed (possibly related to argument 'Port') - argument must be between 0 and 65535 inclusive"},
		{[]string{"daemonize", "no"}, "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"},
		{[]string{"port", "x", "daemonize", "no"}, "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"},
		{[]string{"dir", "/tmp"}, "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		{[]string{"port", "1", "port", "2"}, "ERR CONFIG SET failed (possibly related to argument 'port') - duplicate parameter"},
		{[]string{"slave-read-only", "no", "SLAVE-read-only", "no"}, "ERR CONFIG SET failed (possibly related to argument 'SLAVE-read-only') - duplicate parameter"},
		{[]string{"maxmemory", "-1"}, "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{[]string{"save", "1 2 3"}, "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{[]string{"client-output-buffer-limit", "normal 1 2"}, "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."},
		{[]string{"replicaof", "no one"}, "ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config"},
	}
	for _, tt := range tests {
		c := Default()
		before := c.Get("*")
		changed, err := c.Set(tt.args)
		var se *SetError
		if !errors.As(err, &se) || se.Msg != tt.want {
			t.Errorf("Set(%q) = %q, %v; want %s", tt.args, changed, err, tt.want)
		}
		if after := c.Get("*"); !slices.Equal(before, after) {
			t.Errorf("Set(%q) failed but changed the configuration", tt.args)
		}
	}
}

func TestSetAtomicAndOnChange(t *testing.T) {
	c := Default()
	var calls []string
	c.OnChange = func(name string) error {
		calls = append(calls, name)
		return nil
	}
	// The second value is bad: nothing changes, no hook runs.
	if _, err := c.Set([]string{"maxmemory", "1gb", "appendonly", "maybe"}); err == nil {
		t.Fatal("bad value accepted")
	}
	if c.MaxMemory != 0 || len(calls) != 0 {
		t.Fatalf("maxmemory %d calls %q after failed Set", c.MaxMemory, calls)
	}
	changed, err := c.Set([]string{"maxmemory", "1gb", "slave-read-only", "no", "hz", "10", "save", "", "repl-backlog-size", "1k"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"maxmemory", "replica-read-only", "save", "repl-backlog-size"}
	if !slices.Equal(changed, want) || !slices.Equal(calls, want) {
		t.Errorf("changed %q calls %q; want %q", changed, calls, want)
	}
	if c.MaxMemory != 1<<30 || c.ReplicaReadOnly || len(c.Save) != 0 || c.ReplBacklogSize != 16384 {
		t.Errorf("values not applied: %+v", c.Get("maxmemory", "replica-read-only", "save", "repl-backlog-size"))
	}

	// A failing hook restores everything and re-applies the old values.
	calls = nil
	c.OnChange = func(name string) error {
		calls = append(calls, name)
		if name == "bind" && c.Bind[0] == "192.0.2.1" {
			return errors.New("Failed to bind to specified addresses.")
		}
		return nil
	}
	_, err = c.Set([]string{"timeout", "5", "bind", "192.0.2.1"})
	if err == nil || err.Error() != "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses." {
		t.Errorf("failing hook: %v", err)
	}
	if c.Timeout != 0 || c.Bind[0] != "*" {
		t.Errorf("not rolled back: timeout %d bind %q", c.Timeout, c.Bind)
	}
	if !slices.Equal(calls, []string{"timeout", "bind", "timeout", "bind"}) {
		t.Errorf("hook calls %q", calls)
	}
}

func TestFormatNotify(t *testing.T) {
	tests := map[string]string{"": "", "KEA": "AKE", "Ex": "xE", "AKEnm": "AKEm", "g$lshzxetdn": "A", "$": "$", "Kn": "nK"}
	for in, want := range tests {
		c := Default()
		if _, err := c.Set([]string{"notify-keyspace-events", in}); err != nil {
			t.Fatal(err)
		}
		if got := c.Get("notify-keyspace-events")[0].Value; got != want {
			t.Errorf("notify-keyspace-events %q -> %q; want %q", in, got, want)
		}
	}
}

func TestMemtoull(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"1k", 1000, true}, {"1K", 1000, true}, {"1kb", 1024, true},
		{"1KB", 1024, true}, {"1m", 1000000, true}, {"1mb", 1 << 20, true}, {"1g", 1e9, true},
		{"1gB", 1 << 30, true}, {"5b", 5, true}, {"05", 5, true}, {"-1", 0, false}, {"1.5m", 0, false},
		{" 5", 0, false}, {"1kk", 0, false}, {"1tb", 0, false}, {"99999999999999999999999", 1<<64 - 1, true},
	}
	for _, tt := range tests {
		got, ok := memtoull(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("memtoull(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
