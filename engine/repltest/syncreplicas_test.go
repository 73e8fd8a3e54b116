package repltest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSyncReplicasNoLoss: with hactl-sync-replicas 1 and two replicas,
// the master is killed with SIGKILL while four clients write; the most
// advanced replica is promoted and must serve every acknowledged write.
// The same run without the option measures (and logs) how many
// acknowledged writes asynchronous replication loses.
func TestSyncReplicasNoLoss(t *testing.T) {
	const cycles, writers, perWriter = 3, 4, 5000
	for _, tc := range []struct {
		name    string
		args    []string
		mustNot bool // no acknowledged write may be lost
	}{
		{"hactl-sync-replicas 1", []string{"--hactl-sync-replicas", "1", "--hactl-sync-replicas-timeout", "5000"}, true},
		{"asynchronous", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			total, lostTotal := 0, 0
			for cycle := range cycles {
				m := startKind(t, ctx, kindEngine, "m", tc.args...)
				r1 := startKind(t, ctx, kindEngine, "r1")
				r2 := startKind(t, ctx, kindEngine, "r2")
				replicate(t, ctx, r1, m, m.Port)
				replicate(t, ctx, r2, m, m.Port)
				killAfter := 100*time.Millisecond + time.Duration(cycle)*75*time.Millisecond
				acked := WriteUntilKilled(ctx, m, writers, perWriter, killAfter)
				if len(acked) == 0 || len(acked) == writers*perWriter {
					t.Fatalf("cycle %d: %d writes acknowledged: the kill did not land during the writes", cycle, len(acked))
				}
				time.Sleep(100 * time.Millisecond) // let the replicas apply what they received
				best, off := MostAdvanced(ctx, r1, r2)
				if err := best.ReplicaOf(ctx, "", 0); err != nil {
					t.Fatal(err)
				}
				lost, err := Missing(ctx, best, acked)
				if err != nil {
					t.Fatal(err)
				}
				other := r1
				if best == r1 {
					other = r2
				}
				otherLost, err := Missing(ctx, other, acked)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("cycle %d (kill after %v): %d writes acknowledged, promoted %s (offset %d) lacks %d, the other replica lacks %d",
					cycle, killAfter, len(acked), best.Name, off, lost, otherLost)
				total += len(acked)
				lostTotal += lost
				if tc.mustNot && lost > 0 {
					t.Errorf("cycle %d: %d of %d acknowledged writes are missing on the promoted replica", cycle, lost, len(acked))
				}
			}
			t.Logf("%s: %d acknowledged writes lost of %d over %d cycles", tc.name, lostTotal, total, cycles)
		})
	}
}

// TestSyncReplicasTimeout: when no replica acknowledges a write within
// hactl-sync-replicas-timeout, the client gets -NOREPLICAS (after the
// timeout, not before), the write stays applied on the master, and writes
// are acknowledged again once a replica answers.
func TestSyncReplicasTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name string
		// setup returns a function that makes the replicas reachable again.
		setup func(t *testing.T, ctx context.Context, m *Node) (restore func())
	}{
		{"no replica", func(t *testing.T, ctx context.Context, m *Node) func() {
			return func() {
				r := startKind(t, ctx, kindEngine, "r")
				replicate(t, ctx, r, m, m.Port)
			}
		}},
		{"replica stalled", func(t *testing.T, ctx context.Context, m *Node) func() {
			r := startKind(t, ctx, kindEngine, "r")
			p, err := NewProxy(m.Addr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			replicate(t, ctx, r, m, p.Port())
			p.Hold()
			return p.Restore
		}},
		{"replica killed", func(t *testing.T, ctx context.Context, m *Node) func() {
			r := startKind(t, ctx, kindEngine, "r")
			replicate(t, ctx, r, m, m.Port)
			r.Kill()
			return func() {
				r2 := startKind(t, ctx, kindEngine, "r2")
				replicate(t, ctx, r2, m, m.Port)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			m := startKind(t, ctx, kindEngine, "m", "--hactl-sync-replicas", "1",
				"--hactl-sync-replicas-timeout", "300")
			restore := tc.setup(t, ctx, m)
			start := time.Now()
			_, err := m.Do(ctx, "SET", "k", "v1")
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "NOREPLICAS") {
				t.Fatalf("SET without a replica ack = %v, want a NOREPLICAS error", err)
			}
			t.Logf("error after %v: %v", took.Round(time.Millisecond), err)
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("NOREPLICAS after %v, want about %v", took, timeout)
			}
			if v, err := m.Do(ctx, "GET", "k"); err != nil || v != "v1" {
				t.Errorf("GET k on the master = %v, %v; the write is documented as applied", v, err)
			}
			restore()
			start = time.Now()
			if _, err := m.Do(ctx, "SET", "k", "v2"); err != nil {
				t.Fatalf("SET with a replica back: %v", err)
			}
			t.Logf("acknowledged in %v once a replica answers", time.Since(start).Round(time.Microsecond))
		})
	}
}
