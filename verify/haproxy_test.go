package verify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hactl/hactl/templates"
	"github.com/redis/go-redis/v9"
)

// seedHAProxy is the seed tutorial's haproxy.cfg (section 4) with check
// inter 1s, as measured in targets.md, on the lab's loopback addresses.
const seedHAProxy = `global
    maxconn 256

defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h

frontend ft_redis
    bind %s name redis
    default_backend bk_redis

backend bk_redis
    option tcp-check
    tcp-check send AUTH\ %s\r\n
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    tcp-check send INFO\ Replication\r\n
    tcp-check expect string role:master
    tcp-check send QUIT\r\n
    tcp-check expect string +OK
    server r1 %s check inter 1s
    server r2 %s check inter 1s
    server r3 %s check inter 1s
`

// startProxies runs hactl's rendered haproxy.cfg on NET.10 and, in a
// plaintext lab, the seed's on NET.11, and waits until they route to the
// master.
func (l *lab) startProxies() {
	l.t.Helper()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil || os.Geteuid() != 0 {
		l.t.Skip("needs haproxy and root (the rendered config chroots to /var/lib/haproxy as user haproxy)")
	}
	if _, err := os.Stat("/var/lib/haproxy"); err != nil {
		l.t.Skip("no /var/lib/haproxy for the chroot")
	}
	cfgs := map[string]string{"hactl": l.hostRoot("lb01") + templates.HAProxyConfig, "seed": filepath.Join(l.root, "seed-haproxy.cfg")}
	seed := fmt.Sprintf(seedHAProxy, l.proxyAddr("seed"), labPass, l.engineAddr("db01"), l.engineAddr("db02"), l.engineAddr("db03"))
	if err := os.WriteFile(cfgs["seed"], []byte(seed), 0o600); err != nil {
		l.t.Fatal(err)
	}
	if out := os.Getenv("HACTL_HAPROXY_LOG"); out != "" {
		l.logChecks(cfgs["hactl"], out)
	}
	for _, p := range l.proxies {
		if out, err := exec.Command(haproxy, "-c", "-f", cfgs[p]).CombinedOutput(); err != nil {
			l.t.Fatalf("haproxy -c %s: %v\n%s", cfgs[p], err, out)
		}
		l.start("haproxy/"+p, haproxy, "-db", "-f", cfgs[p])
	}
	for _, p := range l.proxies {
		l.eventually(10*time.Second, "haproxy on "+p+" routes to db01", func() (bool, string) {
			cl := l.client(l.proxyAddr(p))
			defer cl.Close()
			s, err := cl.Info(context.Background(), "replication").Result()
			return err == nil && ParseInfo(s)["role"] == "master", fmt.Sprint(err)
		})
	}
}

// logChecks makes hactl's haproxy log every health check state change
// with its reason and step (option log-health-checks, to stderr, which the
// lab keeps) and copies that log to out when the test ends
// (HACTL_HAPROXY_LOG=out: how the check phases after a kill were read).
func (l *lab) logChecks(cfg, out string) {
	l.t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	s := strings.Replace(string(b), "log /dev/log local0", "log stderr format iso local0", 1)
	s = strings.Replace(s, "option tcplog", "option tcplog\n    option log-health-checks", 1)
	if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		b, _ := os.ReadFile(filepath.Join(l.root, "haproxy-hactl.log"))
		if err := os.WriteFile(out, b, 0o644); err != nil {
			l.t.Error(err)
		}
	})
}

// proxyAddr is where the "hactl" or "seed" proxy listens.
func (l *lab) proxyAddr(kind string) string {
	ip := l.net + ".10"
	if kind == "seed" {
		ip = l.net + ".11"
	}
	return net.JoinHostPort(ip, strconv.Itoa(labProxyPort))
}

// proxyRun is what one writer through one proxy saw in a kill/restart run.
type proxyRun struct {
	Proxy        string
	Acked        int
	Outage       time.Duration // longest gap between acknowledged writes that survive, after the kill
	Lost         int           // acknowledged writes missing on the final master
	OnOldMaster  int           // of those, acknowledged after the old master restarted
	LostAfter    int           // of those, sent once the killed master was gone (never allowed)
	LostAfterBy  time.Duration // the latest of those, after the kill
	LostWindow   time.Duration // the longest time before the kill a lost write was sent (replication window)
	WritableOld  time.Duration // direct writes accepted by the restarted old master
	Engine       string
	Scenario     string
	FinalMaster  string
	DirectWrites int
}

// killRestartRun writes through the lab's proxies, kills the master with
// SIGKILL, restarts it restartAfter later (with its old config: it says
// role:master; never when restartAfter < 0) and keeps writing until total
// after the kill.
func (l *lab) killRestartRun(restartAfter, total time.Duration) []proxyRun {
	l.t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	type out struct {
		proxy string
		w     *writer
	}
	done := make(chan out, len(l.proxies))
	for _, p := range l.proxies {
		addr := l.proxyAddr(p)
		go func() { done <- out{p, l.write(ctx, "via-"+p, func() string { return addr }, 2*time.Millisecond)} }()
	}
	// HAProxy runs each check at a fixed phase (every inter since it
	// started); a kill at a fixed time after the lab starts would measure
	// one phase only. A random extra 0-1 s samples them.
	jitter := rand.N(time.Second)
	time.Sleep(time.Second + jitter)
	killed := time.Now()
	l.t.Logf("kill -9 of db01 at %s (after %s of writes)", killed.Format("15:04:05.000"), time.Second+jitter)
	l.kill("db01/engine", syscall.SIGKILL)
	// Writes sent before the old master was gone may have been applied by
	// it alone (asynchronous replication) and acknowledged after the kill
	// instant: only writes sent after that may never be lost.
	dead := l.waitRefused(l.engineAddr("db01"), 2*time.Second)
	if restartAfter < 0 { // no restart: direct probe and restart skipped
		restartAfter = total
	}
	time.Sleep(restartAfter)
	restarted := time.Now()
	if restartAfter < total {
		l.startEngine("db01")
	}
	// Direct writes to the old master: how long it accepts them.
	direct := make(chan struct {
		d time.Duration
		n int
	}, 1)
	go func() {
		cl := l.client(l.engineAddr("db01"))
		defer cl.Close()
		var first, last time.Time
		n := 0
		for deadline := killed.Add(total); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			err := cl.Set(context.Background(), fmt.Sprintf("direct:%d", n), n, 0).Err()
			if err == nil {
				if first.IsZero() {
					first = time.Now()
				}
				last = time.Now()
				n++
			} else if strings.HasPrefix(err.Error(), "READONLY") {
				break
			}
		}
		d := last.Sub(first)
		if first.IsZero() {
			d = 0
		}
		direct <- struct {
			d time.Duration
			n int
		}{d, n}
	}()
	time.Sleep(time.Until(killed.Add(total)))
	stop()
	dw := <-direct
	if restartAfter >= total {
		// After the load, so the checks below find every replica; hactl
		// heal repoints it without waiting for the sentinels.
		l.startEngine("db01")
		l.eventually(10*time.Second, "the old master back and healed", func() (bool, string) {
			v := l.cfg.askEngine(context.Background(), Node{"db01", l.engineAddr("db01")})
			if v.Err != nil || v.Repl["role"] != "slave" {
				_, acts, err := Heal(context.Background(), l.cfg, "", false)
				return false, fmt.Sprint(v.Err, acts, err)
			}
			return true, ""
		})
	}
	var runs []proxyRun
	ws := map[string]*writer{}
	for range l.proxies {
		o := <-done
		ws[o.proxy] = o.w
	}
	// The final master, once the sentinels agree and replicas caught up.
	var master string
	l.eventually(30*time.Second, "sentinels agree after the run", func() (bool, string) {
		name, src, err := DiscoverMaster(context.Background(), l.cfg)
		master = name
		return err == nil && src == "sentinels" && name != "db01", fmt.Sprint(name, err)
	})
	l.waitSettled(master)
	l.waitCaughtUp(master)
	for _, p := range l.proxies {
		w := ws[p]
		r := proxyRun{Proxy: p, Acked: len(w.acks), Engine: l.engine, FinalMaster: master, WritableOld: dw.d, DirectWrites: dw.n}
		lost := map[string]bool{}
		for _, a := range l.missing(l.engineAddr(master), w.acks) {
			lost[a.key] = true
			r.Lost++
			if a.at.After(restarted) {
				r.OnOldMaster++
			}
			if a.sent.After(dead) {
				r.LostAfter++
				r.LostAfterBy = max(r.LostAfterBy, a.at.Sub(killed))
			} else {
				r.LostWindow = max(r.LostWindow, killed.Sub(a.sent))
			}
		}
		// The outage: the longest time without an acknowledged write that
		// survives, over the gaps ending after the kill.
		var prev time.Time
		for _, a := range w.acks {
			if lost[a.key] {
				continue
			}
			if a.at.After(killed) && !prev.IsZero() {
				r.Outage = max(r.Outage, a.at.Sub(prev))
			}
			prev = a.at
		}
		runs = append(runs, r)
	}
	return runs
}

// TestHAProxyOldMasterReturns: through a real haproxy 2.6 with hactl's
// rendered config and with the seed's, in the same run: kill -9 the master,
// let the sentinels fail over, restart the old master 1.5 s later (it comes
// back saying role:master). hactl's config must route no write to it (0
// acknowledged writes lost after its restart); the seed's numbers are
// logged. HACTL_FAILOVER_BENCH=N repeats it N times per engine (hactl and
// redis) and prints a table (HACTL_FAILOVER_BENCH_OUT: also to a file).
func TestHAProxyOldMasterReturns(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("HACTL_FAILOVER_BENCH"))
	kinds := []string{"hactl"}
	total := 8 * time.Second
	restarts := []time.Duration{1500 * time.Millisecond}
	if rounds > 0 {
		kinds, total = engines, 16*time.Second
		restarts = append(restarts, -1)
	} else {
		rounds = 1
	}
	var all []proxyRun
	for _, restart := range restarts {
		scenario := "kill -9"
		if restart >= 0 {
			scenario = fmt.Sprintf("kill -9, restarted after %s", restart)
		}
		for _, engine := range kinds {
			for i := range rounds {
				t.Run(fmt.Sprintf("%s-%s-%d", strings.ReplaceAll(scenario, " ", "_"), engine, i), func(t *testing.T) {
					l := newLab(t, engine, true)
					l.startProxies()
					runs := l.killRestartRun(restart, total)
					for i := range runs {
						runs[i].Scenario = scenario
					}
					for _, r := range runs {
						t.Log(r)
					}
					all = append(all, runs...)
					checkOurs(t, runs[0])
				})
			}
		}
	}
	if len(all) > 0 && os.Getenv("HACTL_FAILOVER_BENCH") != "" {
		table := benchTable(all)
		t.Log("\n" + table)
		if p := os.Getenv("HACTL_FAILOVER_BENCH_OUT"); p != "" {
			os.WriteFile(p, []byte(table), 0o644)
		}
	}
}

// String is the log line of a run.
func (r proxyRun) String() string {
	return fmt.Sprintf("%s engine, proxy %s: %d acked, outage %s, %d lost (%d sent after the killed master was gone, the others sent at most %s before the kill), %d acked after the old master restarted (old master accepted direct writes for %s, %d writes); final master %s",
		r.Engine, r.Proxy, r.Acked, r.Outage.Round(time.Millisecond), r.Lost, r.LostAfter, r.LostWindow.Round(time.Millisecond), r.OnOldMaster, r.WritableOld.Round(time.Millisecond), r.DirectWrites, r.FinalMaster)
}

// checkOurs fails t unless the run through hactl's haproxy.cfg acknowledged
// enough writes, had an outage (the kill) of at most 10 s and routed no
// acknowledged write to the returning old master.
func checkOurs(t *testing.T, r proxyRun) {
	t.Helper()
	if r.Proxy != "hactl" {
		t.Fatalf("checkOurs on proxy %s", r.Proxy)
	}
	if r.Acked < 500 || r.Outage == 0 || r.Outage > 10*time.Second {
		t.Errorf("hactl's haproxy.cfg: %d acked, outage %s", r.Acked, r.Outage)
	}
	if r.OnOldMaster != 0 {
		t.Errorf("hactl's haproxy.cfg routed %d acknowledged writes to the returning old master", r.OnOldMaster)
	}
}

// TestHAProxyTLSOldMasterReturns is one round of the restart scenario on a
// TLS-only + ACL lab (3 hactl-engines, 3 hactl-sentinels, TLS only) through
// a real haproxy 2.6 running hactl's haproxy.cfg rendered for it (checks
// with check-ssl and hactl's client certificate, AUTH, the sentinel
// majority over TLS as the sentinels' requirepass); the writers speak TLS
// end to end through the proxy. It fails on a write routed to the
// returning old master and on an acknowledged write missing from the
// final master, except in the replication window just before the kill.
func TestHAProxyTLSOldMasterReturns(t *testing.T) {
	l := newLabWith(t, "hactl", true, true)
	l.startProxies()
	ctx := context.Background()
	proxy := l.proxyAddr("hactl")
	// mode tcp passes TLS through: a plaintext client gets nothing.
	plain := redis.NewClient(&redis.Options{Addr: proxy, Password: labPass, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("a plaintext client got an answer through the TLS proxy")
	}
	plain.Close()
	// The application user through the proxy: its keys only.
	app := l.cfg.userClient(proxy, "app", labEnv["LAB_APP_PASS"])
	if err := app.Set(ctx, "via-app", 1, 0).Err(); err != nil {
		t.Errorf("app user through the proxy: %v", err)
	}
	if err := app.Set(ctx, "other", 1, 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("app user outside its keys through the proxy: %v, want NOPERM", err)
	}
	app.Close()
	r := l.killRestartRun(1500*time.Millisecond, 8*time.Second)[0]
	t.Log("TLS-only + ACL: ", r)
	checkOurs(t, r)
	// Replication is asynchronous: a write acknowledged in the last
	// milliseconds before kill -9 may not have reached a replica (Redis
	// alike). Anything else missing is a loss.
	if r.LostAfter != 0 || r.LostWindow > lossWindow {
		t.Errorf("%d acknowledged writes missing from the final master %s: %d sent after the killed master was gone (acknowledged up to %s after the kill), the others sent up to %s before it (replication window %s)",
			r.Lost, r.FinalMaster, r.LostAfter, r.LostAfterBy, r.LostWindow, lossWindow)
	}
}

// lossWindow is how long before a kill -9 an acknowledged write may still
// be missing from the replicas (asynchronous replication, TLS, 2 shared
// cores).
const lossWindow = 100 * time.Millisecond

// benchTable summarizes runs per engine and proxy: medians and maxima.
func benchTable(runs []proxyRun) string {
	type key struct{ scenario, engine, proxy string }
	groups := map[key][]proxyRun{}
	var keys []key
	for _, r := range runs {
		k := key{r.Scenario, r.Engine, r.Proxy}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var b strings.Builder
	b.WriteString("| scenario | engine + sentinel | haproxy.cfg | runs | outage: longest time without a surviving acknowledged write (median / max) | acked writes lost (median / max) | of which on the returning old master (total) | old master accepted direct writes for (median / max) |\n|---|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		g := groups[k]
		out := make([]time.Duration, len(g))
		lost := make([]int, len(g))
		wr := make([]time.Duration, len(g))
		old := 0
		for i, r := range g {
			out[i], lost[i], wr[i], old = r.Outage, r.Lost, r.WritableOld, old+r.OnOldMaster
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		sort.Ints(lost)
		sort.Slice(wr, func(i, j int) bool { return wr[i] < wr[j] })
		sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s / %s | %d / %d | %d | %s / %s |\n", k.scenario, k.engine, k.proxy, len(g),
			sec(out[len(out)/2]), sec(out[len(out)-1]), lost[len(lost)/2], lost[len(lost)-1], old, sec(wr[len(wr)/2]), sec(wr[len(wr)-1]))
	}
	return b.String()
}
