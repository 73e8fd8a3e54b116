package glob_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/difftest"
	"github.com/hactl/hactl/engine/glob"
)

// TestMatchAgainstRedis runs patterns through KEYS on a real redis-server
// and compares the matched keys with Match over the same keys.
func TestMatchAgainstRedis(t *testing.T) {
	conn := difftest.StartRedis(t).Dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys := []string{"", "a", "b", "ab", "ba", "aab", "abc", "A", "AB", "-", "]", "[", "^", "\\",
		"*", "?", "a*b", "a?b", "a\\b", "hello", "hallo", "hxllo", "heeello", "\x00", "a\x00b",
		"\xe9", "\x80", "\xff", "z", "Z", "user:1:name", "user:22:name", "user::name"}
	for _, k := range keys {
		if r, err := conn.Do(ctx, []byte("SET"), []byte(k), []byte("1")); err != nil || r.Type != '+' {
			t.Fatalf("SET %q: %+v, %v", k, r, err)
		}
	}
	patterns := []string{}
	patterns = append(patterns, "", "**", "h?llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "[b-a]",
		"h\\*llo", "\\", "a\\", "[\\]]", "[a\\", "[abc", "[", "[^", "[]", "[^]", "[a-]",
		"[a-\xff]", "[\x80-\xff]", "*a*b*c", "user:*:name", "a?", "*?", "**?")
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
		r, err := conn.Do(ctx, []byte("KEYS"), []byte(p))
		if err != nil || r.Type != '*' {
			t.Fatalf("KEYS %q: %+v, %v", p, r, err)
		}
		var got []string
		for _, e := range r.Elems {
			got = append(got, e.Str)
		}
		var want []string
		for _, k := range keys {
			if glob.MatchString(p, k, false) {
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
