package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// testBinaries builds hactl-engine and hactl-sentinel once per test run.
var testBinaries = sync.OnceValues(func() (map[string][]byte, error) {
	return findBinaries(context.Background(), runtime.GOARCH)
})

// hactl runs one command line in-process and returns stdout, stderr and
// the exit code.
func hactl(t *testing.T, args ...string) (string, string, ExitCode) {
	t.Helper()
	f := NewFactory()
	f.Binaries = func(context.Context, string) (map[string][]byte, error) { return testBinaries() }
	return runCaptured(f, args)
}

// runCaptured runs one command line in-process with f, empty stdin, and
// returns stdout, stderr and the exit code.
func runCaptured(f *Factory, args []string) (string, string, ExitCode) {
	var out, errb bytes.Buffer
	f.IO = &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}
	code := run(context.Background(), f, args)
	return out.String(), errb.String(), code
}

// TestLabEndToEnd is the lab story on the process driver (loopback only):
// hactl lab up (lab + hactl up + hactl verify), hactl up again changes
// nothing, hactl lab kill of the master, the sentinels fail over, the old
// master is started again and rejoins as a replica, hactl verify passes on
// the new topology, hactl up keeps the new master with zero changes, and
// hactl lab down leaves nothing behind. Engine hactl always; engine redis
// when redis-server and redis-sentinel are installed.
func TestLabEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, tc := range []struct{ engine, subnet string }{
		// Subnets of their own: the lab package's tests use 127.0.0.81-83
		// with the same ports, and packages are tested in parallel.
		{"hactl", "127.0.10"},
		{"redis", "127.0.11"},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			if tc.engine == "redis" {
				for _, p := range []string{"redis-server", "redis-sentinel"} {
					if _, err := exec.LookPath(p); err != nil {
						t.Skipf("%s not installed", p)
					}
				}
			}
			labStory(t, tc.engine, tc.subnet)
		})
	}
}

func labStory(t *testing.T, engine, subnet string) {
	state := filepath.Join(t.TempDir(), "lab")
	st := []string{"--state", state}
	t.Cleanup(func() {
		if _, err := os.Stat(state); err == nil {
			hactl(t, append([]string{"lab", "down"}, st...)...)
		}
	})
	addr := func(name string) string { return subnet + ".8" + name[len(name)-1:] }

	start := time.Now()
	out, errOut, code := hactl(t, append([]string{"lab", "up", "--driver", "process", "--engine", engine, "--subnet", subnet}, st...)...)
	if code != ExitOK {
		t.Fatalf("lab up: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("timing: hactl lab up (3 fresh nodes to verified): %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"password file:", "db01  " + addr("db01"), "master", "lab kill db01"} {
		if !strings.Contains(out, want) {
			t.Errorf("lab up output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = hactl(t, append([]string{"lab", "inventory"}, st...)...)
	inv := strings.TrimSpace(out)
	if code != ExitOK || inv != filepath.Join(state, "inventory.yaml") {
		t.Fatalf("lab inventory: exit %d, %q", code, out)
	}

	start = time.Now()
	if up := upJSON(t, inv); up.Changed != 0 || up.Master != "db01" {
		t.Fatalf("second up: %d changes, master %s: %+v", up.Changed, up.Master, up)
	}
	t.Logf("timing: hactl up with nothing to change: %s", time.Since(start).Round(time.Millisecond))

	// Power cut of the master: the sentinels must elect another one.
	if _, errOut, code := hactl(t, append([]string{"lab", "kill", "db01"}, st...)...); code != ExitOK {
		t.Fatalf("lab kill: exit %d: %s", code, errOut)
	}
	start = time.Now()
	master := waitFailover(t, inv, "db01", 60*time.Second)
	t.Logf("timing: kill of the master to a new master named by every live sentinel: %s (new master %s)", time.Since(start).Round(time.Millisecond), master)

	// The old master comes back and must rejoin as a replica.
	if _, errOut, code := hactl(t, append([]string{"lab", "start", "db01"}, st...)...); code != ExitOK {
		t.Fatalf("lab start: exit %d: %s", code, errOut)
	}
	start = time.Now()
	waitVerified(t, inv, master, 60*time.Second)
	t.Logf("timing: old master started to verify green with master %s: %s", master, time.Since(start).Round(time.Millisecond))

	// hactl up keeps the new master and restarts nothing. hactl-engine's
	// rewritten config is no change at all; redis-server's CONFIG REWRITE
	// leaves its file mode 0644, which up sets back to 0600 (no restart).
	start = time.Now()
	up := upJSON(t, inv)
	for _, h := range up.Hosts {
		for _, s := range h.Steps {
			if engine == "hactl" || s.Kind != "chmod" {
				t.Errorf("up after the failover: %s: %s %s (%s)", h.Host, s.Kind, s.Target, s.Reason)
			}
		}
	}
	if up.Master != master {
		t.Fatalf("up after the failover: master %s, want %s", up.Master, master)
	}
	if up = upJSON(t, inv); up.Changed != 0 {
		t.Errorf("up re-run after the failover: %d changes: %+v", up.Changed, up)
	}
	t.Logf("timing: hactl up twice after the failover: %s", time.Since(start).Round(time.Millisecond))
	out, _, _ = hactl(t, append([]string{"lab", "status", "-o", "json"}, st...)...)
	if strings.Count(out, `"state": "running"`) != 3 {
		t.Errorf("lab status:\n%s", out)
	}

	// Down leaves nothing: no state directory, nothing listening.
	if _, errOut, code := hactl(t, append([]string{"lab", "down"}, st...)...); code != ExitOK {
		t.Fatalf("lab down: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state directory after down: %v", err)
	}
	for _, n := range []string{"db01", "db02", "db03"} {
		for _, port := range []string{"6379", "26379"} {
			ln, err := net.Listen("tcp", net.JoinHostPort(addr(n), port))
			if err != nil {
				t.Errorf("after lab down: %v", err)
				continue
			}
			ln.Close()
		}
	}
}

// upJSON runs hactl up -o json and decodes it; a non-zero exit fails.
func upJSON(t *testing.T, inv string) upOutput {
	t.Helper()
	out, errOut, code := hactl(t, "up", "-i", inv, "-o", "json")
	var up upOutput
	if err := json.Unmarshal([]byte(out), &up); code != ExitOK || err != nil {
		t.Fatalf("up: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	return up
}

// waitFailover waits until every sentinel that answers names the same
// master, other than old, and returns it.
func waitFailover(t *testing.T, inv, old string, wait time.Duration) string {
	t.Helper()
	var out string
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _, _ = hactl(t, "status", "-i", inv, "-o", "json")
		var top struct {
			Sentinels []struct{ Name, Master, Error string }
		}
		json.Unmarshal([]byte(out), &top)
		named := map[string]int{}
		live := 0
		for _, s := range top.Sentinels {
			if s.Error == "" {
				live++
				named[s.Master]++
			}
		}
		for m, n := range named {
			if m != "" && m != old && n == live && live >= 2 {
				return m
			}
		}
	}
	t.Fatalf("no failover away from %s within %s:\n%s", old, wait, out)
	return ""
}

// waitVerified runs hactl verify until it passes with the given master
// (a replica may still be in its first full sync).
func waitVerified(t *testing.T, inv, master string, wait time.Duration) {
	t.Helper()
	var out string
	var code ExitCode
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		out, _, code = hactl(t, "verify", "-i", inv, "-o", "json")
		var rep struct{ Master string }
		json.Unmarshal([]byte(out), &rep)
		if code == ExitOK && rep.Master == master {
			return
		}
	}
	t.Fatalf("verify did not pass with master %s: exit %d\n%s", master, code, failedChecks(out))
}

// failedChecks keeps the failed checks of a verify -o json output.
func failedChecks(out string) string {
	var rep struct {
		Checks []struct {
			Node, Check, Detail string
			OK                  bool
		}
	}
	if json.Unmarshal([]byte(out), &rep) != nil {
		return out
	}
	var b strings.Builder
	for _, c := range rep.Checks {
		if !c.OK {
			fmt.Fprintf(&b, "%s %s: %s\n", c.Node, c.Check, c.Detail)
		}
	}
	return b.String()
}
