package difftest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// selfEnv selects self mode: both sides are redis-server.
const selfEnv = "DIFFTEST_SELF"

// traceEnv makes TestDiff log every step with both replies.
const traceEnv = "DIFFTEST_TRACE"

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveEngineBinary()
	os.Exit(code)
}

func selfMode() bool { return os.Getenv(selfEnv) == "1" }

// startPair starts the reference and the candidate with the same extra args.
func startPair(t *testing.T, args ...string) (a, b *Server) {
	t.Helper()
	a = StartRedis(t, args...)
	if selfMode() {
		return a, StartRedis(t, args...)
	}
	return a, StartEngine(t, args...)
}

// TestDiff plays every testdata/*.txt scenario on a fresh pair of servers.
func TestDiff(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata: %v", err)
	}
	RequireRedis(t)
	var (
		mu      sync.Mutex
		reports []*Report
	)
	t.Run("files", func(t *testing.T) {
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".txt")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				text, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				script, err := ParseScript(filepath.Base(f), string(text))
				if err != nil {
					t.Fatal(err)
				}
				a, b := startPair(t, script.Config...)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				r := &Runner{A: a, B: b, SkipEngine: !selfMode()}
				if os.Getenv(traceEnv) == "1" {
					r.Trace = func(line string) { t.Log(line) }
				}
				rep, err := r.Run(ctx, script)
				if err != nil {
					t.Errorf("%v", err)
				}
				nameA, nameB := "redis", b.Name
				if selfMode() {
					nameA, nameB = "redis-A", "redis-B"
				}
				for _, m := range rep.Mismatches {
					t.Errorf("%s", m.Format(rep.File, nameA, nameB))
				}
				t.Logf("%s", Summary([]*Report{rep}))
				mu.Lock()
				reports = append(reports, rep)
				mu.Unlock()
			})
		}
	})
	mode := "redis vs engine"
	if selfMode() {
		mode = "redis vs redis (self mode)"
	}
	t.Logf("%s: %s", mode, Summary(reports))
}
