package difftest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUnescape(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: `*1\r\n$4\r\nPING\r\n`, want: "*1\r\n$4\r\nPING\r\n"},
		{in: `a\tb\0c\\d\x7e`, want: "a\tb\x00c\\d~"},
		{in: `{{repeat 3 ab}}!`, want: "ababab!"},
		{in: `x{{repeat 2 \r\n}}`, want: "x\r\n\r\n"},
		{in: `{{repeat 0 a}}`, want: ""},
		{in: `\q`, bad: true},
		{in: `a\`, bad: true},
		{in: `\x4`, bad: true},
		{in: `{{repeat x a}}`, bad: true},
		{in: `{{repeat 3 a`, bad: true},
		{in: `{{repeat 2000000 a}}`, bad: true},
	}
	for _, tt := range tests {
		got, err := Unescape(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("Unescape(%q) error %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && string(got) != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseScript(t *testing.T) {
	text := strings.Join([]string{
		"# comment",
		"!config requirepass \"s e\"",
		"",
		"SET k \"v 1\"",
		"!approx 2 TTL k",
		"!sorted KEYS *",
		"!type TIME",
		"!scanall SCAN 0 MATCH a*",
		"!sleep 20ms",
		"!conn other",
		"!inline ECHO \"x\"",
		"!raw *0\\r\\n",
		"!skip-engine not yet",
		"GET k",
	}, "\n")
	s, err := ParseScript("t.txt", text)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--requirepass", "s e"}; !reflect.DeepEqual(s.Config, want) {
		t.Errorf("Config = %q, want %q", s.Config, want)
	}
	type row struct {
		line int
		kind Kind
		cmp  Compare
		arg0 string
	}
	want := []row{
		{4, KindCommand, CompareExact, "SET"},
		{5, KindCommand, CompareApprox, "TTL"},
		{6, KindCommand, CompareSorted, "KEYS"},
		{7, KindCommand, CompareType, "TIME"},
		{8, KindCommand, CompareScanAll, "SCAN"},
		{9, KindSleep, CompareExact, ""},
		{10, KindConn, CompareExact, ""},
		{11, KindInline, CompareExact, ""},
		{12, KindRaw, CompareExact, ""},
		{14, KindCommand, CompareExact, "GET"},
	}
	if len(s.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(s.Steps), len(want))
	}
	for i, w := range want {
		st := s.Steps[i]
		got := row{st.Line, st.Kind, st.Compare, ""}
		if len(st.Args) > 0 {
			got.arg0 = string(st.Args[0])
		}
		if got != w {
			t.Errorf("step %d = %+v, want %+v", i, got, w)
		}
	}
	if got := string(s.Steps[0].Args[2]); got != "v 1" {
		t.Errorf("quoted arg = %q", got)
	}
	if s.Steps[1].Tolerance != 2 || s.Steps[5].Sleep != 20*time.Millisecond || s.Steps[6].Conn != "other" {
		t.Errorf("directive values not parsed: %+v %+v %+v", s.Steps[1], s.Steps[5], s.Steps[6])
	}
	if got := string(s.Steps[7].Raw); got != "ECHO \"x\"\r\n" {
		t.Errorf("!inline raw = %q", got)
	}
	if got := string(s.Steps[8].Raw); got != "*0\r\n" {
		t.Errorf("!raw raw = %q", got)
	}
	if s.Steps[9].SkipEngine != "not yet" || s.Steps[0].SkipEngine != "" {
		t.Errorf("skip reasons: %q %q", s.Steps[9].SkipEngine, s.Steps[0].SkipEngine)
	}
}

func TestParseScriptErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"PING\n!config a b", "t.txt:2: !config after the first step"},
		{"!config onlyname", "t.txt:1: !config wants"},
		{"!nosuch x", "t.txt:1: unknown directive"},
		{"!sleep forever", "t.txt:1: !sleep"},
		{"!sleep 1h", "t.txt:1: !sleep"},
		{"!approx x TTL k", "t.txt:1: !approx"},
		{"!approx 1", "t.txt:1: empty command"},
		{"!scanall SSCAN k", "t.txt:1: !scanall"},
		{"!skip-engine", "t.txt:1: !skip-engine wants a reason"},
		{"!skip-engine why", "t.txt:1: !skip-engine at end of file"},
		{"!skip-engine a\n!skip-engine b\nPING", "t.txt:2: two !skip-engine"},
		{"!skip-engine a\n!sleep 1ms", "t.txt:2: !skip-engine before a line"},
		{"ECHO \"open", "t.txt:1: splitargs: unbalanced quotes"},
		{"!raw \\q", "t.txt:1: !raw"},
		{"!conn a b", "t.txt:1: !conn"},
		{"!inline", "t.txt:1: !inline"},
	}
	for _, tt := range tests {
		_, err := ParseScript("t.txt", tt.text)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseScript(%q) error %v, want prefix %q", tt.text, err, tt.want)
		}
	}
}
