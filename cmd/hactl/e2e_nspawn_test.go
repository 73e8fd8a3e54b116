package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hactl/hactl/lab"
	"github.com/redis/go-redis/v9"
)

// e2eEnv selects the end-to-end suites: HACTL_E2E=nspawn runs
// TestNspawnEndToEnd (make e2e).
const e2eEnv = "HACTL_E2E"

// TestNspawnEndToEnd is issue 10's story on the nspawn lab: Debian 12
// containers with systemd as PID 1, reached over real SSH, HAProxy on every
// node. lab up → verify green → a bounded write load through HAProxy that
// records every acknowledged key → lab kill of the master → the sentinels
// fail over → the old master is started again and rejoins as a replica →
// verify green with the new master → hactl up changes nothing and keeps it
// → hactl failover --to db01 under the load → every acknowledged key is on
// the final master → with db03 powered off, hactl up installs the others
// and names db03 with its SSH error → lab down leaves nothing behind.
//
// Timings and counts are logged on lines starting with "E2E:". It runs
// only with HACTL_E2E=nspawn, and then fails (never skips) when the nspawn
// driver cannot run. It uses the lab's default bridge (hactl0, 10.77.0.0/24)
// and sends traffic only to the addresses the lab created on it.
func TestNspawnEndToEnd(t *testing.T) {
	if os.Getenv(e2eEnv) != "nspawn" {
		t.Skipf("the nspawn end-to-end suite runs with %s=nspawn (root, systemd-container, debootstrap): make e2e", e2eEnv)
	}
	if err := lab.Available(lab.DriverNspawn); err != nil {
		t.Fatalf("%s=nspawn but the nspawn driver cannot run here: %v", e2eEnv, err)
	}
	e := &nspawnE2E{t: t, state: filepath.Join(t.TempDir(), "lab")}
	e.st = []string{"--state", e.state}
	t.Cleanup(func() {
		if _, err := os.Stat(e.state); err == nil {
			e.lab("down")
		}
	})
	suite := time.Now()

	// lab up: nodes (debootstrap on a cold cache), hactl up, verify green.
	start := time.Now()
	out, errOut, code := hactl(t, append([]string{"lab", "up", "--driver", "nspawn", "--proxy"}, e.st...)...)
	if code != ExitOK {
		t.Fatalf("lab up: exit %d\n%s\n%s", code, out, errOut)
	}
	e.logf("lab_up %s (%s)", took(start), lastLine(errOut, "lab up:"))
	if !strings.Contains(out, fmt.Sprintf("haproxy:       port %d", lab.ProxyPort)) {
		t.Errorf("lab up --proxy does not print the proxy port:\n%s", out)
	}
	e.inv = filepath.Join(e.state, "inventory.yaml")
	pw, err := os.ReadFile(filepath.Join(e.state, "secrets", "requirepass"))
	if err != nil {
		t.Fatal(err)
	}
	e.password = strings.TrimSpace(string(pw))
	start = time.Now()
	if up := upJSON(t, e.inv); up.Changed != 0 || up.Master != "db01" {
		t.Fatalf("hactl up after lab up: %d changes, master %s: %+v", up.Changed, up.Master, up)
	}
	e.logf("hactl_up_nochange %s", took(start))
	waitVerified(t, e.inv, "db01", time.Minute)

	// The load goes through db03's HAProxy: db01 is killed, db02 may be
	// the new master; db03's proxy stays up until the load ends.
	load := startWriteLoad(addrOf("db03", lab.ProxyPort), e.password, 200_000, 5*time.Minute)
	defer load.stop()
	load.waitAcks(t, 500, 30*time.Second)

	killAt := time.Now()
	e.lab("kill", "db01")
	master := waitFailover(t, e.inv, "db01", 90*time.Second)
	e.logf("failover_after_kill %s (new master %s)", took(killAt), master)
	// db01 is down: verify names the new master, and fails only for db01
	// and the replica count on the new master.
	out, _, _ = hactl(t, "verify", "-i", e.inv, "-o", "json")
	if m := jsonMaster(out); m != master {
		t.Errorf("verify with db01 down: master %q, want %s", m, master)
	}
	for _, line := range strings.Split(strings.TrimSpace(failedChecks(out)), "\n") {
		if line != "" && !strings.Contains(line, "db01") && !strings.Contains(line, "connected_slaves") {
			t.Errorf("verify with db01 down fails beyond db01: %s", line)
		}
	}
	back := load.writableAfter(t, killAt, 60*time.Second)
	e.logf("writable_after_kill %s (through HAProxy on db03)", back.Round(time.Millisecond))

	// The old master returns and must rejoin as a replica, never routed to.
	startAt := time.Now()
	e.lab("start", "db01")
	waitVerified(t, e.inv, master, 90*time.Second)
	e.logf("rejoin %s (lab start db01 to verify green with master %s)", took(startAt), master)
	load.waitAcks(t, load.acked()+500, 30*time.Second)

	start = time.Now()
	up := upJSON(t, e.inv)
	if up.Changed != 0 || up.Master != master {
		t.Errorf("hactl up after the failover: %d changes, master %s, want 0 and %s: %+v", up.Changed, up.Master, master, up)
	}
	e.logf("hactl_up_after_failover %s (%d changes)", took(start), up.Changed)

	// Planned switchover back to db01, under the load.
	switchAt := time.Now()
	out, errOut, code = hactl(t, "failover", "-i", e.inv, "--to", "db01", "--timeout", "60s")
	if code != ExitOK {
		t.Fatalf("failover --to db01: exit %d\n%s\n%s", code, out, errOut)
	}
	switchDone := time.Now()
	e.logf("switchover %s (hactl failover --to db01)", switchDone.Sub(switchAt).Round(time.Millisecond))
	waitVerified(t, e.inv, "db01", 60*time.Second)
	load.waitAcksSince(t, switchDone, 200, 30*time.Second)
	load.stop()
	gap := load.maxGap(switchAt, time.Now())
	e.logf("switchover_write_gap %s (longest time without an acknowledged write through HAProxy)", gap.Round(time.Millisecond))

	// Every acknowledged key on the final master.
	acks := load.snapshot()
	lost := missingKeys(t, addrOf("db01", 6379), e.password, acks)
	oldMaster := 0
	for _, a := range acks {
		if a.node == addrOf("db01", 0) && a.at.After(startAt) && a.at.Before(switchAt) {
			oldMaster++
		}
	}
	e.logf("acked_writes %d", len(acks))
	e.logf("acked_writes_lost %d", len(lost))
	e.logf("old_master_writes_after_return %d", oldMaster)
	e.logf("write_errors %d (during the failover and the switchover; not acknowledged)", load.errors())
	if len(lost) > 0 {
		t.Errorf("%d acknowledged writes missing on the final master, e.g. %v", len(lost), lost[:min(len(lost), 10)])
	}
	if oldMaster > 0 {
		t.Errorf("%d writes were acknowledged by the old master after its return", oldMaster)
	}
	if len(acks) < 1000 {
		t.Errorf("only %d acknowledged writes: the load did not run", len(acks))
	}

	e.unreachableHost()

	start = time.Now()
	if code := e.lab("down"); code == ExitOK {
		e.logf("lab_down %s", took(start))
	}
	checkNspawnGone(t, e.state)
	e.logf("total %s", took(suite))
}

// nspawnE2E is the state of one TestNspawnEndToEnd run.
type nspawnE2E struct {
	t        *testing.T
	state    string   // lab state dir
	st       []string // --state flag
	inv      string   // the lab's inventory
	password string
}

// logf logs a result line that is easy to grep ("E2E: ").
func (e *nspawnE2E) logf(format string, args ...any) {
	e.t.Helper()
	e.t.Logf("E2E: "+format, args...)
}

// lab runs hactl lab VERB [NODE] on the test's lab; a failure is fatal.
func (e *nspawnE2E) lab(args ...string) ExitCode {
	e.t.Helper()
	out, errOut, code := hactl(e.t, append(append([]string{"lab"}, args...), e.st...)...)
	if code != ExitOK {
		e.t.Fatalf("lab %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return code
}

// unreachableHost powers db03 off and runs hactl up after a file mode on
// db02 was changed by hand. Without --skip-unreachable up changes nothing,
// names db03 with its SSH error and exits 1; with it, db02 is put right,
// db01 is checked, and the exit code is 1 all the same. Then db03 is
// started again and the set verified.
func (e *nspawnE2E) unreachableHost() {
	t := e.t
	t.Helper()
	ssh := func(node, cmd string) string {
		out, err := exec.Command("ssh", "-F", filepath.Join(e.state, "ssh_config"), node, cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh %s %q: %v: %s", node, cmd, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	const conf = "/etc/hactl/engine.conf"
	ssh("db02", "chmod 0644 "+conf)
	e.lab("stop", "db03")
	sshErr := "connect: db03: ssh root@" + addrOf("db03", 22)

	start := time.Now()
	_, errOut, code := hactl(t, "up", "-i", e.inv)
	e.logf("hactl_up_db03_stopped %s (exit %d, nothing changed)", took(start), code)
	if code != ExitError || !strings.Contains(errOut, sshErr) || !strings.Contains(errOut, "--skip-unreachable") {
		t.Errorf("hactl up with db03 powered off: exit %d, want %d, naming db03 with its SSH error and the way out:\n%s", code, ExitError, errOut)
	}
	if mode := ssh("db02", "stat -c %a "+conf); mode != "644" {
		t.Errorf("hactl up with db03 powered off changed db02 (%s mode %s)", conf, mode)
	}

	start = time.Now()
	out, errOut, code := hactl(t, "up", "-i", e.inv, "--skip-unreachable", "-o", "json")
	e.logf("hactl_up_skip_unreachable %s (exit %d)", took(start), code)
	if code != ExitError || !strings.Contains(errOut, sshErr) {
		t.Errorf("hactl up --skip-unreachable with db03 powered off: exit %d, want %d, naming db03 with its SSH error:\n%s", code, ExitError, errOut)
	}
	var up upOutput
	if err := json.Unmarshal([]byte(out), &up); err != nil {
		t.Fatalf("hactl up -o json with db03 powered off: %v\n%s", err, out)
	}
	fixed := false
	for _, h := range up.Hosts {
		if h.Host == "db03" || h.Error != "" {
			t.Errorf("hactl up with db03 powered off: host %s in the results (error %q)", h.Host, h.Error)
		}
		for _, s := range h.Steps {
			fixed = fixed || h.Host == "db02" && s.Kind == "chmod" && s.Status == "changed"
			if s.Error != "" {
				t.Errorf("hactl up with db03 powered off: %s %s %s: %s", h.Host, s.Kind, s.Target, s.Error)
			}
		}
	}
	if !fixed || len(up.Hosts) != 2 {
		t.Errorf("hactl up with db03 powered off did not bring db01 and db02 up to date:\n%s", out)
	}
	e.lab("start", "db03")
	waitVerified(t, e.inv, "db01", 90*time.Second)
}

// checkNspawnGone fails when lab down left the bridge, a mount under the
// state dir or the state dir itself.
func checkNspawnGone(t *testing.T, state string) {
	t.Helper()
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after lab down: %v", err)
	}
	if out, err := exec.Command("ip", "link", "show", "hactl0").CombinedOutput(); err == nil {
		t.Errorf("bridge hactl0 still there after lab down:\n%s", out)
	}
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil && strings.Contains(string(b), state) {
		t.Errorf("mounts under %s left after lab down", state)
	}
}

// addrOf is the lab address of node dbNN (default subnet), with port when
// port is not 0.
func addrOf(node string, port int) string {
	n, _ := strconv.Atoi(strings.TrimPrefix(node, "db"))
	a := "10.77.0." + strconv.Itoa(80+n)
	if port == 0 {
		return a
	}
	return net.JoinHostPort(a, strconv.Itoa(port))
}

func took(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// lastLine is the last line of text that starts with prefix.
func lastLine(text, prefix string) string {
	var last string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			last = l
		}
	}
	return last
}

// jsonMaster is the "master" of a verify -o json output.
func jsonMaster(out string) string {
	_, after, ok := strings.Cut(out, `"master": "`)
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(after, `"`)
	return m
}

// ack is one acknowledged write: key e2e:SEQ holds SEQ.
type ack struct {
	seq  int
	at   time.Time // when the acknowledgement arrived
	node string    // the engine that answered (its first bind address)
}

// writeLoad is one writer through HAProxy: SET e2e:N N, paced about 1 ms
// apart, pipelined with CONFIG GET bind on the same connection so every
// acknowledgement names the engine that gave it. Bounded by count and
// time; errors (no master, connection cut) are counted and retried after
// 20 ms.
type writeLoad struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	acks []ack
	errs []time.Time
}

func startWriteLoad(addr, password string, maxWrites int, maxTime time.Duration) *writeLoad {
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	w := &writeLoad{cancel: cancel, done: make(chan struct{})}
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, PoolSize: 1, MaxRetries: -1,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second})
	go func() {
		defer close(w.done)
		defer c.Close()
		for seq := 0; seq < maxWrites && ctx.Err() == nil; seq++ {
			pipe := c.Pipeline()
			set := pipe.Set(ctx, "e2e:"+strconv.Itoa(seq), seq, 0)
			bind := pipe.ConfigGet(ctx, "bind")
			pipe.Exec(ctx)
			now := time.Now()
			w.mu.Lock()
			if set.Err() == nil {
				node := ""
				if f := strings.Fields(bind.Val()["bind"]); len(f) > 0 {
					node = f[0]
				}
				w.acks = append(w.acks, ack{seq: seq, at: now, node: node})
			} else {
				w.errs = append(w.errs, now)
			}
			w.mu.Unlock()
			pause := time.Millisecond
			if set.Err() != nil {
				pause = 20 * time.Millisecond
			}
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
		}
	}()
	return w
}

// stop ends the load and waits for the writer.
func (w *writeLoad) stop() {
	w.cancel()
	<-w.done
}

func (w *writeLoad) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acks)
}

func (w *writeLoad) errors() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.errs)
}

func (w *writeLoad) snapshot() []ack {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ack(nil), w.acks...)
}

// waitAcks waits until n writes are acknowledged.
func (w *writeLoad) waitAcks(t *testing.T, n int, wait time.Duration) {
	t.Helper()
	w.waitFor(t, wait, fmt.Sprintf("%d acknowledged writes", n), func() bool { return len(w.acks) >= n })
}

// waitAcksSince waits until n writes are acknowledged after since.
func (w *writeLoad) waitAcksSince(t *testing.T, since time.Time, n int, wait time.Duration) {
	t.Helper()
	w.waitFor(t, wait, fmt.Sprintf("%d acknowledged writes after %s", n, since.Format(time.TimeOnly)), func() bool {
		k := 0
		for i := len(w.acks) - 1; i >= 0 && w.acks[i].at.After(since); i-- {
			k++
		}
		return k >= n
	})
}

// writableAfter waits for the load to be acknowledged again after the
// first error following at, and returns how long after at that was.
func (w *writeLoad) writableAfter(t *testing.T, at time.Time, wait time.Duration) time.Duration {
	t.Helper()
	var d time.Duration
	w.waitFor(t, wait, "writes acknowledged again after the kill", func() bool {
		var firstErr time.Time
		for _, e := range w.errs {
			if e.After(at) {
				firstErr = e
				break
			}
		}
		if firstErr.IsZero() {
			return false
		}
		for _, a := range w.acks {
			if a.at.After(firstErr) {
				d = a.at.Sub(at)
				return true
			}
		}
		return false
	})
	return d
}

// waitFor polls cond (called with w.mu held) every 50 ms.
func (w *writeLoad) waitFor(t *testing.T, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		w.mu.Lock()
		ok := cond()
		acks, errs := len(w.acks), len(w.errs)
		w.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s (%d acknowledged, %d errors)", what, wait, acks, errs)
		}
	}
}

// maxGap is the longest time between two acknowledgements (or from..to's
// ends) within [from, to].
func (w *writeLoad) maxGap(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, gap := from, time.Duration(0)
	for _, a := range w.acks {
		if a.at.Before(from) || a.at.After(to) {
			continue
		}
		gap = max(gap, a.at.Sub(prev))
		prev = a.at
	}
	return max(gap, to.Sub(prev))
}

// missingKeys returns the acknowledged keys that addr does not hold with
// their value.
func missingKeys(t *testing.T, addr, password string, acks []ack) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password})
	defer c.Close()
	var lost []string
	for i := 0; i < len(acks); i += 1000 {
		batch := acks[i:min(i+1000, len(acks))]
		keys := make([]string, len(batch))
		for j, a := range batch {
			keys[j] = "e2e:" + strconv.Itoa(a.seq)
		}
		vals, err := c.MGet(ctx, keys...).Result()
		if err != nil {
			t.Fatalf("read back the acknowledged keys from %s: %v", addr, err)
		}
		for j, v := range vals {
			if v != strconv.Itoa(batch[j].seq) {
				lost = append(lost, keys[j])
			}
		}
	}
	return lost
}
