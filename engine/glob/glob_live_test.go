package glob

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hactl/hactl/engine/config/redislive"
)

// TestMatchAgainstRedis runs patterns through KEYS on a real redis-server
// and compares the matched keys with Match over the same keys.
func TestMatchAgainstRedis(t *testing.T) {
	srv := redislive.Start(t)
	keys := []string{"", "a", "b", "ab", "ba", "aab", "abc", "A", "AB", "-", "]", "[", "^", "\\",
		"*", "?", "a*b", "a?b", "a\\b", "hello", "hallo", "hxllo", "heeello", "\x00", "a\x00b",
		"\xe9", "\x80", "\xff", "z", "Z", "user:1:name", "user:22:name", "user::name"}
	for _, k := range keys {
		if r := srv.MustDo(t, "SET", k, "1"); r.Kind != '+' {
			t.Fatalf("SET %q: %+v", k, r)
		}
	}
	patterns := []string{}
	for _, tt := range matchTests {
		patterns = append(patterns, tt.pattern)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab*?[]^-\\AZz\x00\xe9\x80\xff:")
	for range 1500 {
		p := make([]byte, rng.IntN(8))
		for i := range p {
			p[i] = alphabet[rng.IntN(len(alphabet))]
		}
		patterns = append(patterns, string(p))
	}
	for _, p := range patterns {
		if p == "*" {
			continue // KEYS special-cases it without calling the matcher
		}
		r := srv.MustDo(t, "KEYS", p)
		if r.Kind != '*' {
			t.Fatalf("KEYS %q: %+v", p, r)
		}
		got := r.Strings()
		var want []string
		for _, k := range keys {
			if MatchString(p, k, false) {
				want = append(want, k)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("KEYS %q: redis %q, Match %q", p, got, want)
		}
	}
}
