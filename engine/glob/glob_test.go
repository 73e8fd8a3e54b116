package glob

import (
	"strings"
	"testing"
	"time"
)

var matchTests = []struct {
	pattern, s string
	nocase     bool
	want       bool
}{
	{"", "", false, true},
	{"", "a", false, false},
	{"*", "", false, false}, // Redis quirk: callers special-case "*"
	{"**", "", false, false},
	{"*", "anything", false, true},
	{"a*", "a", false, true},
	{"a**", "a", false, true},
	{"h?llo", "hello", false, true},
	{"h?llo", "hllo", false, false},
	{"h*llo", "hllo", false, true},
	{"h*llo", "heeeello", false, true},
	{"h[ae]llo", "hallo", false, true},
	{"h[ae]llo", "hillo", false, false},
	{"h[^e]llo", "hallo", false, true},
	{"h[^e]llo", "hello", false, false},
	{"h[a-b]llo", "hbllo", false, true},
	{"h[b-a]llo", "hallo", false, true}, // reversed range
	{"h[a-b]llo", "hcllo", false, false},
	{"h\\*llo", "h*llo", false, true},
	{"h\\*llo", "hello", false, false},
	{"\\", "\\", false, true}, // trailing backslash is literal
	{"a\\", "a\\", false, true},
	{"[\\]]", "]", false, true},
	{"[\\-]", "-", false, true},
	{"[a\\", "\\", false, true}, // trailing backslash in class is a member
	{"[abc", "c", false, true},  // unterminated class ends at pattern end
	{"[abc", "d", false, false},
	{"[", "a", false, false},
	{"[^", "a", false, true},
	{"[]", "a", false, false},
	{"[^]", "a", false, true},
	{"[a-]", "-", false, false}, // "a-" then "]" is not a range: needs 3 bytes
	{"[a-]", "a", false, true},
	{"HELLO", "hello", true, true},
	{"HELLO", "hello", false, false},
	{"[A-Z]", "q", true, true},
	{"[a-z]", "Q", true, true},
	{"[a-z]", "Q", false, false},
	{"[Q]", "q", true, true},
	{"\\Q", "q", true, true},
	{"[\\Q]", "q", true, false},     // escaped class member is case-sensitive
	{"\xe9", "\xc9", true, false},   // nocase folds ASCII only
	{"[a-\xff]", "b", false, false}, // signed chars: range is -1..'a'
	{"[a-\xff]", "\x00", false, true},
	{"[\x80-\xff]", "\x90", false, true},
	{"*a*b*c", "xxaxxbxxc", false, true},
	{"*a*b*c", "xxaxxbxx", false, false},
	{"user:*:name", "user:1000:name", false, true},
	{"?", "", false, false},
	{"a?", "a", false, false},
	{"*?", "a", false, true},
	{"**?", "", false, false},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchTests {
		if got := MatchString(tt.pattern, tt.s, tt.nocase); got != tt.want {
			t.Errorf("MatchString(%q, %q, %v) = %v; want %v", tt.pattern, tt.s, tt.nocase, got, tt.want)
		}
		if got := Match([]byte(tt.pattern), []byte(tt.s), tt.nocase); got != tt.want {
			t.Errorf("Match(%q, %q, %v) = %v; want %v", tt.pattern, tt.s, tt.nocase, got, tt.want)
		}
	}
}

// TestPathological checks the CVE-2022-36021 protections: patterns with
// many stars against long non-matching subjects finish quickly.
func TestPathological(t *testing.T) {
	cases := []struct{ pattern, s string }{
		{strings.Repeat("*a", 100) + "b", strings.Repeat("a", 1000)},
		{strings.Repeat("a*", 500) + "b", strings.Repeat("a", 2000)},
		{strings.Repeat("*?", 3000), strings.Repeat("x", 2000)},
		{strings.Repeat("*[a-z]", 200) + "!", strings.Repeat("q", 1000)},
	}
	for _, c := range cases {
		start := time.Now()
		_ = MatchString(c.pattern, c.s, false)
		_ = MatchString(c.pattern, c.s, true)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("pattern of %d bytes against %d bytes took %v", len(c.pattern), len(c.s), d)
		}
	}
	// Past 1000 nested stars Redis answers "no match" even when it would match.
	deep := strings.Repeat("a*", 1200)
	if MatchString(deep, strings.Repeat("a", 1200), false) {
		t.Errorf("pattern nested past %d stars matched; Redis gives up", maxNesting)
	}
	if !MatchString(strings.Repeat("a*", 900), strings.Repeat("a", 900), false) {
		t.Errorf("pattern nested 900 stars did not match")
	}
}

func TestMatchAllocs(t *testing.T) {
	p, s := "*user:[0-9]*:na?e\\*", "xuser:1234:name*"
	pb, sb := []byte(p), []byte(s)
	if n := testing.AllocsPerRun(200, func() {
		MatchString(p, s, true)
		Match(pb, sb, false)
	}); n > 0 {
		t.Errorf("Match allocs = %v; want 0", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	p, s := []byte("user:*:session:[0-9]*"), []byte("user:1234567:session:42")
	for b.Loop() {
		Match(p, s, false)
	}
}

func FuzzMatch(f *testing.F) {
	for _, tt := range matchTests {
		f.Add(tt.pattern, tt.s, tt.nocase)
	}
	f.Fuzz(func(t *testing.T, pattern, s string, nocase bool) {
		if len(pattern) > 4096 || len(s) > 4096 {
			return
		}
		start := time.Now()
		got := MatchString(pattern, s, nocase)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("MatchString(%q, %q) took %v", pattern, s, d)
		}
		if got != Match([]byte(pattern), []byte(s), nocase) {
			t.Fatalf("Match and MatchString disagree on %q, %q", pattern, s)
		}
		// A pattern without special bytes matches exactly itself.
		want := pattern == s
		if nocase {
			want = asciiLower(pattern) == asciiLower(s)
		}
		if !strings.ContainsAny(pattern, "*?[\\") && got != want {
			t.Fatalf("literal pattern %q vs %q = %v", pattern, s, got)
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
