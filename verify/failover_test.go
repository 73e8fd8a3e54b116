package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// masterOf returns a target func for the lab writer: the address of the
// engine the lab's Config names master now.
func (l *lab) masterOf() func() string {
	return func() string {
		if name, _, err := DiscoverMaster(context.Background(), l.cfg); err == nil {
			return l.engineAddr(name)
		}
		return l.engineAddr("db01")
	}
}

// switchover runs Failover while a writer writes to the master, and checks
// the new master (want; "" for any other node) and that no acknowledged
// write was lost.
func (l *lab) switchover(o FailoverOptions, want string) *FailoverResult {
	l.t.Helper()
	o.Progress = func(s string) { l.t.Log(s) }
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan *writer)
	go func() { done <- l.write(ctx, "w-"+want, l.masterOf(), 2*time.Millisecond) }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	res, err := Failover(context.Background(), l.cfg, o)
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	stop()
	w := <-done
	if err != nil {
		l.t.Fatalf("failover %+v: %v", o, err)
	}
	if want == "" && res.To != res.From { // any other replica
		want = res.To
	}
	if res.To != want || res.Topology.Master != want {
		l.t.Fatalf("failover %+v: promoted %s, topology master %s; want %s", o, res.To, res.Topology.Master, want)
	}
	lost := l.missing(l.engineAddr(want), w.acks)
	l.t.Logf("%s -> %s by %s in %s: %d acknowledged writes, %d errors, %d lost", res.From, res.To, res.Method, took.Round(time.Millisecond), len(w.acks), w.errors, len(lost))
	if len(w.acks) < 100 || len(lost) != 0 {
		l.t.Fatalf("%d acknowledged writes, %d lost (first %v)", len(w.acks), len(lost), lost[:min(len(lost), 3)])
	}
	return res
}

// engines are the engines the lab tests run with: hactl-engine and
// hactl-sentinel, and redis-server and redis-sentinel 7 (the reference).
var engines = []string{"hactl", "redis"}

// needPause skips when the engine does not answer CLIENT PAUSE WRITE, which
// the sentinel-driven switchover needs.
func (l *lab) needPause() {
	cl := l.client(l.engineAddr("db01"))
	defer cl.Close()
	if err := cl.Do(context.Background(), "CLIENT", "PAUSE", "1", "WRITE").Err(); err != nil {
		l.t.Skipf("%s engine: CLIENT PAUSE 1 WRITE: %v (cmdClientPause exists in engine/server/failover.go but is not registered among the CLIENT subcommands)", l.engine, err)
	}
}

// TestFailoverSentinels: hactl failover --to db02, back --to db01 (the
// nominal master), then a plain failover, a writer running throughout:
// zero acknowledged writes lost, every sentinel and replica agreeing at the
// end of each.
func TestFailoverSentinels(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			l := newLab(t, engine, true)
			l.needPause()
			l.switchover(FailoverOptions{To: "db02", Timeout: 40 * time.Second}, "db02")
			l.switchover(FailoverOptions{To: "db01", Timeout: 40 * time.Second}, "db01")
			l.switchover(FailoverOptions{Timeout: 20 * time.Second}, "") // the sentinels choose
			// A replica that must never be promoted is refused, nothing changed.
			cl := l.client(l.engineAddr("db01"))
			defer cl.Close()
			if err := cl.ConfigSet(context.Background(), "replica-priority", "0").Err(); err != nil {
				t.Fatal(err)
			}
			_, err := Failover(context.Background(), l.cfg, FailoverOptions{To: "db01", Timeout: 5 * time.Second})
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("--to a priority-0 replica: %v, want refused", err)
			}
		})
	}
}

// TestFailoverManual: a set without sentinels. A switchover by the
// engine's FAILOVER TO loses nothing; with the master dead, a lagging
// replica is refused unless forced and the most advanced one is promoted;
// a node brought up as master (split brain) is found by Run and repointed
// by Heal.
func TestFailoverManual(t *testing.T) {
	kinds := []string{"hactl"}
	if os.Getenv("HACTL_FAILOVER_REDIS") != "" {
		kinds = engines // redis: the pause/promote path (20 s more)
	}
	for _, engine := range kinds {
		t.Run(engine, func(t *testing.T) {
			l := newLab(t, engine, false)
			// hactl-engine: FAILOVER TO; redis: pause, promote, repoint, unpause.
			l.switchover(FailoverOptions{Manual: true, To: "db02", EngineFailover: engine == "hactl"}, "db02")
			l.switchover(FailoverOptions{Manual: true, To: "db01", EngineFailover: engine == "hactl"}, "db01")

			// db03 dies, the master takes writes that db02 gets, then the
			// master dies and db03 comes back without those writes.
			ctx := context.Background()
			l.kill("db03/engine", syscall.SIGKILL)
			m := l.client(l.engineAddr("db01"))
			for i := range 200 {
				if err := m.Set(ctx, fmt.Sprintf("lag:%d", i), i, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			m.Close()
			l.eventually(5*time.Second, "db02 has every write", func() (bool, string) {
				ev, _ := l.cfg.survey(ctx)
				return offset(ev[0]) == offset(ev[1]), offsets(ev)
			})
			l.kill("db01/engine", syscall.SIGKILL)
			l.startEngine("db03")
			l.eventually(10*time.Second, "db03 back", func() (bool, string) {
				ev, _ := l.cfg.survey(ctx)
				return ev[2].Err == nil && ev[2].Repl["role"] == "slave", fmt.Sprint(ev[2].Err)
			})
			_, err := Failover(ctx, l.cfg, FailoverOptions{Manual: true, To: "db03", Timeout: 5 * time.Second, Progress: func(s string) { t.Log(s) }})
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "behind") {
				t.Fatalf("manual failover to the lagging db03: %v, want refused", err)
			}
			res, err := Failover(ctx, l.cfg, FailoverOptions{Manual: true, Timeout: 10 * time.Second, Progress: func(s string) { t.Log(s) }})
			if err != nil || res.To != "db02" {
				t.Fatalf("manual failover with the master down: %+v, %v; want db02", res, err)
			}

			// The old master returns with its old config: it says role:master.
			l.startEngine("db01")
			l.eventually(10*time.Second, "db01 back", func() (bool, string) {
				ev, _ := l.cfg.survey(ctx)
				return ev[0].Err == nil && ev[0].Repl["loading"] != "1", ""
			})
			rep := Run(ctx, l.cfg)
			found := false
			for _, r := range rep.Results {
				found = found || r.Check == "split-brain" && !r.OK
			}
			if !found {
				t.Fatalf("verify did not report the returning master as split brain: master %s %+v", rep.Master, rep.Results)
			}
			master, acts, err := Heal(ctx, l.cfg, "db02", false)
			if err != nil || master != "db02" || len(acts) != 1 || acts[0].Node != "db01" || acts[0].Error != "" {
				t.Fatalf("heal: %s %+v %v", master, acts, err)
			}
			l.eventually(20*time.Second, "verify passes after heal", func() (bool, string) {
				rep := Run(ctx, l.cfg)
				return rep.Failed() == 0, fmt.Sprintf("%+v", rep.Results)
			})
		})
	}
}
