package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() State {
	return State{MyID: strings.Repeat("ab", 20), CurrentEpoch: 3, Masters: []Master{
		{Name: "gone", Removed: true},
		{Name: "mymaster", IP: "127.0.0.1", Port: 16381, Quorum: 2, ConfigEpoch: 3, LeaderEpoch: 3,
			Replicas:  []Addr{{"127.0.0.1", 16379}, {"127.0.0.1", 16380}},
			Sentinels: []Sentinel{{Addr{"127.0.0.1", 26380}, strings.Repeat("cd", 20)}},
			Settings:  [][2]string{{"auth-pass", "p w\"d"}}},
	}}
}

func TestRoundTripAndGolden(t *testing.T) {
	s := sample()
	text := Marshal(s)
	golden := filepath.Join("testdata", "state.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != string(want) {
		t.Fatalf("Marshal =\n%s\nwant\n%s", text, want)
	}
	got, err := Parse("state", text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got, s)
	}
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.conf")
	if s, err := Load(path); err != nil || s.MyID != "" {
		t.Fatalf("missing file: %+v %v", s, err)
	}
	if err := Save(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, sample()) {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".sentinel-state-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"sentinel myid short", "f:1: myid must be 40 characters"},
		{"sentinel config-epoch m 1", "f:1: master \"m\" used before its monitor line"},
		{"sentinel monitor m 1.2.3.4 0 2", "f:1: invalid port"},
		{"port 1", "f:1: expected a sentinel directive"},
		{"\nsentinel what", "f:2: unknown or malformed directive"},
	}
	for _, tt := range tests {
		if _, err := Parse("f", []byte(tt.text)); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v; want %q", tt.text, err, tt.want)
		}
	}
}
