package repltest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestNetworkCut breaks the link between a master and its replica with a
// Proxy, writes on the master meanwhile, restores the link and checks how
// the replica resynchronized (INFO stats sync_full / sync_partial_ok on
// the master) and that both serve the same keys. redis-server runs the
// same table as the reference.
func TestNetworkCut(t *testing.T) {
	cases := []struct {
		name    string
		backlog string
		break_  func(p *Proxy)
		// writes while broken: keys and value size.
		keys, size int
		// awaitDown waits for the replica to report the link down before
		// writing.
		awaitDown bool
		// wantFull, wantPartial: increments of sync_full and
		// sync_partial_ok on the master.
		wantFull, wantPartial int64
	}{
		{name: "cut shorter than the backlog", backlog: "1mb", break_: (*Proxy).Cut,
			keys: 300, size: 50, awaitDown: true, wantFull: 0, wantPartial: 1},
		{name: "cut while more than the backlog is written", backlog: "64kb", break_: (*Proxy).Cut,
			keys: 1000, size: 400, awaitDown: true, wantFull: 1, wantPartial: 0},
		{name: "stall shorter than repl-timeout", backlog: "1mb", break_: (*Proxy).Hold,
			keys: 300, size: 50, wantFull: 0, wantPartial: 0},
	}
	for _, k := range []kind{kindEngine, kindRedis} {
		for _, tc := range cases {
			t.Run(string(k)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				m := startKind(t, ctx, k, "m", "--repl-backlog-size", tc.backlog, "--repl-timeout", "10")
				r := startKind(t, ctx, k, "r", "--repl-timeout", "10")
				p, err := NewProxy(m.Addr())
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				writeMixed(t, ctx, m, "before", 500, 20)
				replicate(t, ctx, r, m, p.Port())
				full0 := stat(t, ctx, m, "stats", "sync_full")
				partial0 := stat(t, ctx, m, "stats", "sync_partial_ok")
				accepted0 := p.Accepted()

				tc.break_(p)
				if tc.awaitDown {
					err := WaitUntil(ctx, 5*time.Second, func() error {
						in, err := r.Info(ctx, "replication")
						if err != nil {
							return err
						}
						if s := in.Get("master_link_status"); s != "down" {
							return fmt.Errorf("master_link_status:%s", s)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				writeMixed(t, ctx, m, "during", tc.keys, tc.size)
				time.Sleep(300 * time.Millisecond)
				p.Restore()
				waitSynced(t, ctx, m, r)
				// One more write proves the link streams again.
				writeMixed(t, ctx, m, "after", 50, 10)
				waitSynced(t, ctx, m, r)

				full := stat(t, ctx, m, "stats", "sync_full") - full0
				partial := stat(t, ctx, m, "stats", "sync_partial_ok") - partial0
				t.Logf("sync_full +%d, sync_partial_ok +%d, proxied connections +%d", full, partial, p.Accepted()-accepted0)
				if full != tc.wantFull || partial != tc.wantPartial {
					t.Errorf("sync_full +%d, sync_partial_ok +%d; want +%d, +%d", full, partial, tc.wantFull, tc.wantPartial)
				}
				if !tc.awaitDown && p.Accepted() != accepted0 {
					t.Errorf("the replica reconnected (%d new connections) during a stall shorter than repl-timeout", p.Accepted()-accepted0)
				}
				sameKeys(t, ctx, tc.name, m, r)
			})
		}
	}
}
