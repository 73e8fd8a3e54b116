package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/provision"
	"github.com/redis/go-redis/v9"
)

// hactl runs one command line in-process and returns stdout, stderr and
// the exit code.
func hactl(t *testing.T, args ...string) (string, string, ExitCode) {
	t.Helper()
	f := NewFactory()
	var out, errb bytes.Buffer
	f.IO = &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}
	code := run(context.Background(), f, args)
	return out.String(), errb.String(), code
}

const labInventory = `service: mymaster
engine: %s
provider: lab
master: db01
hosts:
  - {name: db01, address: 127.0.0.81}
  - {name: db02, address: 127.0.0.82}
  - {name: db03, address: 127.0.0.83}
sentinel:
  profile: fast
secrets:
  requirepass: {file: secrets/requirepass}
`

// TestUpVerifyLab installs three nodes as local processes on
// 127.0.0.81-83 with hactl up, verifies them, re-runs up (no change),
// forces a sentinel failover and checks that up keeps the new master.
// HACTL_E2E_ENGINE selects the engine (redis by default; hactl once
// hactl-engine replicates and hactl-sentinel exists).
func TestUpVerifyLab(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	engine := os.Getenv("HACTL_E2E_ENGINE")
	if engine == "" {
		engine = "redis"
	}
	if _, err := exec.LookPath("redis-server"); err != nil && engine == "redis" {
		t.Skip("redis-server not installed")
	}
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
	os.WriteFile(filepath.Join(dir, "secrets", "requirepass"), []byte("e2e-pass\n"), 0o600)
	os.WriteFile(inv, []byte(fmt.Sprintf(labInventory, engine)), 0o600)
	t.Cleanup(func() { stopLab(dir) })

	start := time.Now()
	out, errOut, code := hactl(t, "up", "-i", inv, "-o", "json")
	if code != ExitOK {
		t.Fatalf("up: exit %d\n%s\n%s", code, out, errOut)
	}
	var up upOutput
	if err := json.Unmarshal([]byte(out), &up); err != nil || up.Master != "db01" || up.Changed == 0 {
		t.Fatalf("up output %v: %+v", err, up)
	}
	waitVerified(t, inv, "db01")
	t.Logf("3 fresh hosts to verified: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	out, _, code = hactl(t, "up", "-i", inv, "-o", "json")
	json.Unmarshal([]byte(out), &up)
	if code != ExitOK || up.Changed != 0 {
		t.Fatalf("second up: exit %d, %d changes\n%s", code, up.Changed, out)
	}
	t.Logf("re-run with nothing to change: %s", time.Since(start).Round(time.Millisecond))

	// Fail over through the sentinels; hactl up must keep the new master.
	sc := redis.NewClient(&redis.Options{Addr: "127.0.0.81:26379", Password: "e2e-pass", Protocol: 2, DisableIdentity: true})
	defer sc.Close()
	if err := sc.Do(context.Background(), "SENTINEL", "FAILOVER", "mymaster").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	// Wait until the failover is complete: every sentinel names the new master.
	var master string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && master == ""; time.Sleep(200 * time.Millisecond) {
		named := map[string]bool{}
		for _, n := range []string{"81", "82", "83"} {
			c := redis.NewClient(&redis.Options{Addr: "127.0.0." + n + ":26379", Password: "e2e-pass", Protocol: 2, DisableIdentity: true})
			if m, err := c.Do(context.Background(), "SENTINEL", "MASTER", "mymaster").Slice(); err == nil {
				f := map[string]string{}
				for i := 0; i+1 < len(m); i += 2 {
					f[fmt.Sprint(m[i])] = fmt.Sprint(m[i+1])
				}
				named[f["ip"]+" "+f["flags"]] = true
			}
			c.Close()
		}
		for k := range named {
			if len(named) == 1 && strings.HasSuffix(k, " master") && !strings.HasPrefix(k, "127.0.0.81 ") {
				master = "db0" + k[len("127.0.0.8"):len("127.0.0.8")+1]
			}
		}
	}
	if master == "" {
		t.Fatal("no failover within 30 s")
	}
	out, errOut, code = hactl(t, "up", "-i", inv, "-o", "json")
	json.Unmarshal([]byte(out), &up)
	if code != ExitOK || up.Master != master {
		t.Fatalf("up after failover: exit %d, master %q, want %q\n%s\n%s", code, up.Master, master, out, errOut)
	}
	waitVerified(t, inv, master)
	out, _, _ = hactl(t, "status", "-i", inv, "-o", "json")
	if !strings.Contains(out, `"master": "`+master+`"`) {
		t.Errorf("status after failover:\n%s", out)
	}
}

// waitVerified runs hactl verify until it passes with the given master
// (a replica may still be in its first full sync), for at most 30 s.
func waitVerified(t *testing.T, inv, master string) {
	t.Helper()
	var out string
	var code ExitCode
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		out, _, code = hactl(t, "verify", "-i", inv, "-o", "json")
		var rep struct{ Master string }
		json.Unmarshal([]byte(out), &rep)
		if code == ExitOK && rep.Master == master {
			return
		}
	}
	t.Fatalf("verify did not pass with master %s: exit %d\n%s", master, code, out)
}

// stopLab stops every service the test started.
func stopLab(dir string) {
	pids, _ := filepath.Glob(filepath.Join(dir, "nodes", "*", "root", "run", "hactl", "*.pid"))
	for _, p := range pids {
		exec.Command("/bin/sh", "-c", "start-stop-daemon --stop --quiet --oknodo --remove-pidfile --retry TERM/5/KILL/2 --pidfile "+provision.Quote(p)).Run()
	}
}
