package difftest

import (
	"context"
	"strings"
	"testing"
	"time"
)

func reply(t *testing.T, raw string) *Reply {
	t.Helper()
	r, err := ReadReply(bufioString(raw))
	if err != nil {
		t.Fatalf("bad test reply %q: %v", raw, err)
	}
	return &r
}

func TestSame(t *testing.T) {
	tests := []struct {
		name string
		st   Step
		a, b string
		want bool
	}{
		{"exact equal", Step{}, "+OK\r\n", "+OK\r\n", true},
		{"exact differ", Step{}, ":1\r\n", ":2\r\n", false},
		{"approx within", Step{Compare: CompareApprox, Tolerance: 2}, ":100\r\n", ":98\r\n", true},
		{"approx outside", Step{Compare: CompareApprox, Tolerance: 1}, ":100\r\n", ":98\r\n", false},
		{"approx non-integer", Step{Compare: CompareApprox, Tolerance: 5}, "$1\r\n1\r\n", ":1\r\n", false},
		{"sorted same set", Step{Compare: CompareSorted}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n", true},
		{"sorted multiset", Step{Compare: CompareSorted}, "*2\r\n$1\r\na\r\n$1\r\na\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n", false},
		{"sorted type", Step{Compare: CompareSorted}, "*1\r\n:1\r\n", "~1\r\n:1\r\n", false},
		{"sorted map pairs", Step{Compare: CompareSorted}, "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n", true},
		{"sorted map swapped values", Step{Compare: CompareSorted}, "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+a\r\n:2\r\n+b\r\n:1\r\n", false},
		{"sorted error", Step{Compare: CompareSorted}, "-ERR x\r\n", "-ERR y\r\n", false},
		{"type same", Step{Compare: CompareType}, ":1\r\n", ":2\r\n", true},
		{"type differ", Step{Compare: CompareType}, ":1\r\n", "$1\r\n1\r\n", false},
	}
	for _, tt := range tests {
		got := same(tt.st, outcome{reply: reply(t, tt.a)}, outcome{reply: reply(t, tt.b)})
		if got != tt.want {
			t.Errorf("%s: same = %v, want %v", tt.name, got, tt.want)
		}
	}
	ok := outcome{reply: reply(t, "+OK\r\n")}
	if same(Step{}, ok, outcome{fail: "no reply"}) {
		t.Error("a reply and no reply compared equal")
	}
	closed := ok
	closed.peer = PeerClosed
	if same(Step{}, ok, closed) {
		t.Error("different close states compared equal")
	}
	if !same(Step{}, outcome{scan: []string{"a"}}, outcome{scan: []string{"a"}}) ||
		same(Step{}, outcome{scan: []string{"a"}}, outcome{scan: []string{}}) {
		t.Error("scan sets compared wrongly")
	}
}

// TestRunnerDetectsMismatch runs a script on two redis-servers configured
// differently, so the harness must report the lines whose replies differ.
func TestRunnerDetectsMismatch(t *testing.T) {
	a := StartRedis(t)
	b := StartRedis(t, "--databases", "4")
	script, err := ParseScript("m.txt", strings.Join([]string{
		"SELECT 2",                // 1: same
		"SELECT 5",                // 2: differs
		"!type SELECT 3",          // 3: same
		"!skip-engine known",      // 4
		"SELECT 6",                // 5: skipped
		"!raw *1\\r\\nPING\\r\\n", // 6: same error and close
		"!conn x",
		"!sorted CONFIG GET databases", // 8: differs
		"!raw *0\\r\\n",                // 9: no reply, open
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &Runner{A: a, B: b, SkipEngine: true}
	rep, err := r.Run(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, m := range rep.Mismatches {
		lines = append(lines, m.Step.Line)
	}
	if len(lines) != 2 || lines[0] != 2 || lines[1] != 8 {
		t.Fatalf("mismatch lines %v, want [2 8]; report %+v", lines, rep)
	}
	if rep.Compared != 6 || rep.Identical != 4 || len(rep.Skipped) != 1 {
		t.Errorf("counts compared=%d identical=%d skipped=%d, want 6 4 1", rep.Compared, rep.Identical, len(rep.Skipped))
	}
	msg := rep.Mismatches[0].Format("m.txt", "redis", "other")
	for _, want := range []string{"m.txt:2: SELECT 5", `"+OK\r\n"`, `"-ERR DB index is out of range\r\n"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("mismatch report %q lacks %q", msg, want)
		}
	}
	sum := Summary([]*Report{rep})
	if !strings.HasPrefix(sum, "6 commands compared, 4 identical, 1 skipped") || !strings.Contains(sum, "m.txt:5 SELECT 6 (known)") {
		t.Errorf("summary %q", sum)
	}
}
