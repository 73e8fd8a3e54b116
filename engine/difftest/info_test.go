package difftest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// infoSectionHeaders maps the INFO argument to the header Redis prints.
var infoSectionHeaders = map[string]string{
	"server": "Server", "clients": "Clients", "memory": "Memory",
	"persistence": "Persistence", "stats": "Stats", "replication": "Replication",
	"cpu": "CPU", "keyspace": "Keyspace",
}

// loadInfoFields reads testdata/info_fields.list: "section field" lines.
func loadInfoFields(t *testing.T) map[string][]string {
	t.Helper()
	text, err := os.ReadFile("testdata/info_fields.list")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		sec, field, ok := strings.Cut(line, " ")
		if _, known := infoSectionHeaders[sec]; !ok || !known {
			t.Fatalf("info_fields.list:%d: bad line %q", i+1, line)
		}
		want[sec] = append(want[sec], field)
	}
	return want
}

// infoFields parses the field names of one INFO section reply.
func infoFields(t *testing.T, r Reply, header string) map[string]bool {
	t.Helper()
	if r.Type != '$' {
		t.Errorf("INFO %s: reply %q is not a bulk string", header, r.Raw)
		return nil
	}
	if !strings.HasPrefix(r.Str, "# "+header+"\r\n") {
		t.Errorf("INFO %s: reply does not start with %q: %q", header, "# "+header, r.Str)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(r.Str, "\r\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			got[name] = true
		}
	}
	return got
}

// TestInfoFields checks that each declared INFO field is present, first on
// redis-server (which proves the list) and then on hactl-engine.
func TestInfoFields(t *testing.T) {
	want := loadInfoFields(t)
	servers := []func(*testing.T) *Server{func(t *testing.T) *Server { return StartRedis(t) }}
	names := []string{"redis"}
	if !selfMode() {
		servers = append(servers, func(t *testing.T) *Server { return StartEngine(t) })
		names = append(names, "engine")
	}
	for i, start := range servers {
		t.Run(names[i], func(t *testing.T) {
			srv := start(t)
			c := srv.Dial(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if r, err := c.Do(ctx, []byte("SET"), []byte("k"), []byte("v")); err != nil || string(r.Raw) != "+OK\r\n" {
				t.Fatalf("SET: %q %v", r.Raw, err)
			}
			for sec, fields := range want {
				r, err := c.Do(ctx, []byte("INFO"), []byte(sec))
				if err != nil {
					t.Fatalf("INFO %s: %v", sec, err)
				}
				got := infoFields(t, r, infoSectionHeaders[sec])
				var missing []string
				for _, f := range fields {
					if !got[f] {
						missing = append(missing, f)
					}
				}
				if len(missing) > 0 {
					t.Errorf("INFO %s on %s lacks %d of %d fields: %s", sec, srv.Name, len(missing), len(fields), strings.Join(missing, " "))
				}
			}
		})
	}
}
