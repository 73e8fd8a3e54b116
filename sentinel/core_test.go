package sentinel

import (
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/resp"
	"github.com/hactl/hactl/sentinel/state"
)

// nopTransport never delivers anything.
type nopTransport struct{}

func (nopTransport) Do(Addr, Auth, [][]string, func([]Reply, error)) {}
func (nopTransport) Subscribe(Addr, Auth, func(string))              {}
func (nopTransport) Drop(Addr)                                       {}
func (nopTransport) LocalIP(Addr) string                             { return "" }
func (nopTransport) OnLinkDown(func(Addr))                           {}

// TestRuntimeChangesPersist: SENTINEL SET / MONITOR / REMOVE survive a
// restart through the state file, over an unchanged static config.
func TestRuntimeChangesPersist(t *testing.T) {
	cfg, err := ParseConfig("s.conf", []byte("sentinel monitor a 127.0.0.1 6379 2\nsentinel monitor b 127.0.0.1 6380 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	var saved state.State
	opts := Options{Save: func(s state.State) error { saved = s; return nil }}
	now := time.Now()
	s, err := New(cfg, state.State{}, nopTransport{}, nil, opts, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{
		"sentinel set a down-after-milliseconds 1234 rename-command CONFIG XCONFIG quorum 1",
		"sentinel monitor c 127.0.0.1 6381 1",
		"sentinel remove b",
	} {
		var w resp.Writer
		s.sentinelCommand(&w, strings.Fields(cmd), now)
		if string(w.B) != "+OK\r\n" {
			t.Fatalf("%s: %q", cmd, w.B)
		}
	}
	// The state file text round-trips too.
	st, err := state.Parse("state", state.Marshal(saved))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(cfg, st, nopTransport{}, nil, Options{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if s2.MyID() != s.MyID() {
		t.Fatalf("myid changed: %s -> %s", s.MyID(), s2.MyID())
	}
	a := s2.masters["a"]
	if a == nil || a.cfg.DownAfter != 1234*time.Millisecond || a.cfg.Renamed["config"] != "XCONFIG" || a.cfg.Quorum != 1 {
		t.Fatalf("master a after restart: %+v", a)
	}
	if s2.masters["b"] != nil || s2.masters["c"] == nil || s2.masters["c"].addr.Port != 6381 {
		t.Fatalf("masters after restart: %v", s2.masterNames())
	}
}
