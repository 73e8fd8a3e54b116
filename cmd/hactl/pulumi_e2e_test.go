package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/lab"
	"github.com/hactl/hactl/provision/pulumi"
)

// pulumiRoot is the CLI the Pulumi end-to-end test uses: HACTL_PULUMI_ROOT,
// else where make pulumi-cli puts it.
func pulumiRoot() string {
	if r := os.Getenv("HACTL_PULUMI_ROOT"); r != "" {
		return r
	}
	return "/var/cache/hactl/pulumi/v" + pulumi.CLIVersion
}

// TestPulumiLabEndToEnd is hactl up with provider pulumi, target lab, for
// real (pulumi CLI, hactl's provider plugin, a lab on this machine): the
// bad inputs fail clearly and create nothing, --dry-run shows the preview,
// up creates the nodes and installs on them, verify is green, a re-run
// changes nothing and creates no second lab, down --destroy asks and then
// leaves nothing. HACTL_PULUMI_E2E=1 turns it on (make e2e-pulumi); the
// nspawn driver runs too as root with systemd-nspawn (SSH for real, and an
// unreachable node after create).
func TestPulumiLabEndToEnd(t *testing.T) {
	if os.Getenv("HACTL_PULUMI_E2E") != "1" {
		t.Skip("HACTL_PULUMI_E2E=1 runs it (make e2e-pulumi builds the pulumi CLI)")
	}
	if _, err := os.Stat(filepath.Join(pulumiRoot(), "bin", "pulumi")); err != nil {
		t.Fatalf("no pulumi CLI in %s: make pulumi-cli builds it: %v", pulumiRoot(), err)
	}
	plugins := t.TempDir()
	start := time.Now()
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "pulumi-resource-hactl"), "../pulumi-resource-hactl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	t.Logf("timing: plugin build %s", since(start))
	drivers := []struct{ driver, subnet string }{{"process", "127.0.79"}}
	if _, err := exec.LookPath("systemd-nspawn"); err == nil && os.Geteuid() == 0 && os.Getenv("HACTL_PULUMI_E2E_NSPAWN") != "0" {
		drivers = append(drivers, struct{ driver, subnet string }{"nspawn", "10.79.0"})
	}
	for _, d := range drivers {
		t.Run(d.driver, func(t *testing.T) { pulumiStory(t, plugins, d.driver, d.subnet) })
	}
}

func pulumiStory(t *testing.T, plugins, driver, subnet string) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("requirepass", "not-used-the-lab-has-its-own\n")
	write("passphrase", "e2e-passphrase\n")
	inventory := func(name, pulumiExtra string) string {
		return write(name, fmt.Sprintf(`service: mymaster
provider: pulumi
pulumi:
  target: lab
  stack: e2e
  cli: %s
  lab: {driver: %s, subnet: %s, bridge: hactlpu0, prefix: pu}
%s
secrets:
  requirepass: {file: requirepass}
`, pulumiRoot(), driver, subnet, pulumiExtra))
	}
	inv := inventory("inventory.yaml", "  passphrase: {file: passphrase}\n  plugin_dir: "+plugins)
	labDir := filepath.Join(dir, ".hactl-pulumi", "lab")
	t.Cleanup(func() {
		if _, err := lab.Open(labDir); err == nil {
			t.Log("cleanup: the lab is still there; removing it")
			_ = lab.Down(context.Background(), labDir, nil)
		}
	})
	noLab := func(when string) {
		t.Helper()
		if _, err := lab.Open(labDir); !errors.Is(err, lab.ErrNoLab) {
			t.Errorf("%s: lab exists or is unreadable: %v", when, err)
		}
	}
	expectFail := func(what, want string, args ...string) {
		t.Helper()
		start := time.Now()
		out, errOut, code := hactl(t, args...)
		if code == ExitOK || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, want an error containing %q\n%s\n%s", what, code, want, out, lastLines(errOut, 15))
		}
		t.Logf("timing: %s refused in %s", what, since(start))
	}

	// Bad input: each refused with a clear message, nothing created.
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
	noPass := inventory("nopass.yaml", "  plugin_dir: "+plugins)
	expectFail("missing passphrase", "no pulumi passphrase", "up", "-i", noPass)
	expectFail("missing CLI", "make pulumi-cli", "up", "-i", inv, "--pulumi-root", t.TempDir())
	noPlugin := inventory("noplugin.yaml", "  passphrase: {file: passphrase}\n  plugin_dir: "+t.TempDir())
	expectFail("missing plugin", "pulumi-resource-hactl", "up", "-i", noPlugin)
	noLab("after the bad inputs")

	start := time.Now()
	out, errOut, code := hactl(t, "up", "--dry-run", "-i", inv)
	if code != ExitOK || !strings.Contains(errOut, "pulumi preview: map[create:1 same:1]") || !strings.Contains(errOut, "do not exist yet") {
		t.Fatalf("up --dry-run before create: exit %d\n%s\n%s", code, out, lastLines(errOut, 20))
	}
	t.Logf("timing: up --dry-run (preview, nothing created) %s", since(start))
	noLab("after --dry-run")

	start = time.Now()
	out, errOut, code = hactl(t, "up", "-i", inv)
	if code != ExitOK {
		t.Fatalf("up: exit %d\n%s\n%s", code, out, lastLines(errOut, 30))
	}
	t.Logf("timing: up (pulumi create + install) %s", since(start))
	l, err := lab.Open(labDir)
	if err != nil {
		t.Fatalf("lab after up: %v", err)
	}
	if string(l.Driver) != driver || len(l.Hosts) != 3 || !strings.HasPrefix(l.Hosts[0].Address, subnet+".") {
		t.Errorf("lab %+v, want 3 %s nodes on %s", l, driver, subnet)
	}

	// Replicas sync after up returns: verify until green, bounded.
	start = time.Now()
	for try := 1; ; try++ {
		out, errOut, code := hactl(t, "verify", "-i", l.Inventory)
		if code == ExitOK {
			break
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("verify not green after %s (%d tries): exit %d\n%s\n%s", since(start), try, code, out, lastLines(errOut, 20))
		}
		time.Sleep(time.Second)
	}
	t.Logf("timing: verify green after %s", since(start))

	if driver == "nspawn" {
		// A node that does not answer after create: a clear error, the
		// stack kept; healed, the re-run continues with the same lab.
		if err := l.Isolate(context.Background(), "db02"); err != nil {
			t.Fatalf("isolate: %v", err)
		}
		expectFail("unreachable node", "does not answer on ssh after 2 tries", "up", "-i", inv, "--ssh-tries", "2", "--ssh-every", "500ms")
		if err := l.Heal(context.Background(), "db02"); err != nil {
			t.Fatalf("heal: %v", err)
		}
	}

	start = time.Now()
	out, errOut, code = hactl(t, "up", "-i", inv)
	if code != ExitOK || !strings.Contains(errOut, "0 changes") {
		t.Errorf("second up: exit %d, want 0 changes\n%s\n%s", code, out, lastLines(errOut, 20))
	}
	t.Logf("timing: up again (no change) %s", since(start))
	if again, err := lab.Open(labDir); err != nil || again.Hosts[0].Address != l.Hosts[0].Address || again.Inventory != l.Inventory {
		t.Errorf("lab after the second up: %+v %v; want the same lab", again, err)
	}
	if out, errOut, code := hactl(t, "up", "--dry-run", "-i", inv); code != ExitOK || !strings.Contains(errOut, "pulumi preview: map[same:2]") {
		t.Errorf("up --dry-run after create: exit %d\n%s\n%s", code, out, lastLines(errOut, 20))
	}

	expectFail("destroy not confirmed", "not confirmed", "down", "--destroy", "-i", inv)
	if _, err := lab.Open(labDir); err != nil {
		t.Fatalf("the lab went without confirmation: %v", err)
	}
	start = time.Now()
	if out, errOut, code := hactl(t, "down", "--destroy", "--yes", "-i", inv); code != ExitOK {
		t.Fatalf("down --destroy: exit %d\n%s\n%s", code, out, lastLines(errOut, 20))
	}
	t.Logf("timing: down --destroy %s", since(start))
	noLab("after destroy")
	for _, h := range l.Hosts {
		if h.Root != "" {
			if _, err := os.Stat(h.Root); !os.IsNotExist(err) {
				t.Errorf("%s: root %s left behind: %v", h.Name, h.Root, err)
			}
		}
	}
	if _, err := os.Stat(l.Inventory); !os.IsNotExist(err) {
		t.Errorf("lab inventory left behind: %v", err)
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
