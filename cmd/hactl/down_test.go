package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/templates"
)

// downRun runs hactl down with -o json and returns its output and exit code.
func downJSON(t *testing.T, args ...string) (upOutput, string, ExitCode) {
	t.Helper()
	out, errOut, code := hactl(t, append([]string{"down", "-o", "json"}, args...)...)
	var o upOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("down %v: exit %d, output is not JSON: %v\n%s\n%s", args, code, err, out, errOut)
	}
	return o, errOut, code
}

// TestDownProcessLab takes hactl off a process lab (127.0.12.81-83):
// --dry-run changes nothing, down stops every service and removes units,
// configs and binaries but keeps the data, a second down changes nothing,
// --purge removes the data, and up brings the service back.
func TestDownProcessLab(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	state := filepath.Join(t.TempDir(), "lab")
	st := []string{"--state", state}
	t.Cleanup(func() { hactl(t, append([]string{"lab", "down"}, st...)...) })
	if out, errOut, code := hactl(t, append([]string{"lab", "up", "--driver", "process", "--subnet", "127.0.12"}, st...)...); code != ExitOK {
		t.Fatalf("lab up: exit %d\n%s\n%s", code, out, errOut)
	}
	inv := filepath.Join(state, "inventory.yaml")
	root := func(host, p string) string { return filepath.Join(state, "nodes", host, "root") + p }
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	listening := func(addr string) bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}

	t.Run("wrong password in the inventory", func(t *testing.T) { wrongPassword(t, state, inv) })

	dry, _, code := downJSON(t, "-i", inv, "--dry-run")
	// Per host: stop engine and sentinel, remove engine.conf, sentinel.conf,
	// the two units, the sysctl drop-in and the two binaries.
	if code != ExitOK || !dry.DryRun || dry.Changed != 3*9 {
		t.Fatalf("down --dry-run: exit %d, dry_run %v, %d planned, want 27: %+v", code, dry.DryRun, dry.Changed, dry.Hosts)
	}
	if !listening("127.0.12.81:6379") || !exists(root("db01", templates.EngineConfig)) {
		t.Fatal("down --dry-run changed something")
	}

	start := time.Now()
	o, errOut, code := downJSON(t, "-i", inv)
	if code != ExitOK || o.Changed != 27 {
		t.Fatalf("down: exit %d, %d changes, want 27\n%s", code, o.Changed, errOut)
	}
	t.Logf("down: %s", time.Since(start))
	for _, h := range []string{"db01", "db02", "db03"} {
		for _, p := range []string{templates.EngineConfig, templates.SentinelConfig, templates.EngineUnit, templates.EngineBinary} {
			if exists(root(h, p)) {
				t.Errorf("%s: %s left after down", h, p)
			}
		}
		if !exists(root(h, templates.EngineDataDir)) {
			t.Errorf("%s: data dir removed without --purge", h)
		}
	}
	for _, a := range []string{"127.0.12.81:6379", "127.0.12.82:6379", "127.0.12.83:26379"} {
		if listening(a) {
			t.Errorf("%s still answers after down", a)
		}
	}
	// lab start must not bring the services back: down removed their definitions.
	if out, errOut, code := hactl(t, append([]string{"lab", "start", "db01"}, st...)...); code != ExitOK {
		t.Fatalf("lab start: exit %d\n%s\n%s", code, out, errOut)
	}
	if listening("127.0.12.81:6379") {
		t.Error("lab start restarted the engine hactl down removed")
	}

	if again, errOut, code := downJSON(t, "-i", inv); code != ExitOK || again.Changed != 0 {
		t.Fatalf("second down: exit %d, %d changes, want 0\n%s", code, again.Changed, errOut)
	}
	purge, errOut, code := downJSON(t, "-i", inv, "--purge")
	if code != ExitOK || purge.Changed != 3*2 { // engine and sentinel data dirs
		t.Fatalf("down --purge: exit %d, %d changes, want 6\n%s", code, purge.Changed, errOut)
	}
	if exists(root("db02", templates.EngineDataDir)) || exists(root("db02", templates.SentinelDataDir)) {
		t.Error("down --purge left the data dirs")
	}
	if again, _, _ := downJSON(t, "-i", inv, "--purge"); again.Changed != 0 {
		t.Fatalf("second down --purge: %d changes, want 0", again.Changed)
	}
	if out, errOut, code := hactl(t, "up", "-i", inv); code != ExitOK {
		t.Fatalf("up after down: exit %d\n%s\n%s", code, out, errOut)
	}
	if !listening("127.0.12.81:6379") || !listening("127.0.12.83:26379") {
		t.Error("up after down did not start the services")
	}
}

// wrongPassword replaces the lab's password file with a wrong password:
// verify fails on every node with the authentication error, up --dry-run
// is logged (see the report), and nothing is changed.
func wrongPassword(t *testing.T, state, inv string) {
	secret := filepath.Join(state, "secrets", "requirepass")
	good := readFile(t, secret)
	mustWrite(t, secret, "wrong-password\n", 0o600)
	defer mustWrite(t, secret, good, 0o600)
	out, errOut, code := hactl(t, "verify", "-i", inv, "-o", "json")
	var rep struct {
		Checks []struct {
			Node, Check, Detail string
			OK                  bool
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != ExitVerify {
		t.Fatalf("verify: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	refused := map[string]bool{}
	for _, c := range rep.Checks {
		if !c.OK && c.Check == "reachable" && strings.Contains(c.Detail, "WRONGPASS") {
			refused[c.Node] = true
		}
	}
	if len(refused) != 3 {
		t.Errorf("verify: WRONGPASS on %v, want db01-03:\n%s", refused, out)
	}
	out, errOut, code = hactl(t, "up", "-i", inv, "--dry-run")
	t.Logf("up --dry-run with the wrong password: exit %d\n%s\n%s", code, out, errOut)
}
