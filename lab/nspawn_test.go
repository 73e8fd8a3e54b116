package lab

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNspawnLab boots a real 3-node nspawn lab. It takes 1-2 minutes the
// first time (debootstrap; the rootfs is cached afterwards), about 10 s
// with the cache. It runs only as root with systemd-nspawn and
// HACTL_LAB_NSPAWN=1, and talks only to the lab's own bridge.
func TestNspawnLab(t *testing.T) {
	if os.Getenv("HACTL_LAB_NSPAWN") != "1" {
		t.Skip("set HACTL_LAB_NSPAWN=1 to boot the nspawn lab (root, systemd-nspawn, debootstrap)")
	}
	if err := Available(DriverNspawn); err != nil {
		t.Fatalf("HACTL_LAB_NSPAWN=1 but: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "lab")
	// A bridge, subnet and prefix of its own: a developer's lab may run.
	sp := Spec{Driver: DriverNspawn, StateDir: dir, Bridge: "hactlt0", Subnet: "10.77.9", Prefix: "hlt",
		Progress: testWriter{t}}
	t0 := time.Now()
	l, err := Up(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Down(context.Background(), dir, testWriter{t}) })
	t.Logf("TIMING nspawn up: %s", since(t0))

	sshOK := func(node, cmd string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "ssh", "-F", l.Hosts[0].SSH.Config, node, cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh %s %q: %v: %s", node, cmd, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, h := range l.Hosts {
		if got := sshOK(h.Name, "hostname; systemd-detect-virt; ps -p 1 -o comm= 2>/dev/null || cat /proc/1/comm"); !strings.Contains(got, h.Name) || !strings.Contains(got, "systemd") {
			t.Errorf("%s: %q", h.Name, got)
		}
	}
	// Nodes reach each other over the bridge, and have no route out.
	sshOK("db02", "exec 3<>/dev/tcp/10.77.9.81/22 && head -c 7 <&3")
	if out := sshOK("db01", "ip route"); strings.Contains(out, "default") {
		t.Errorf("db01 has a default route: %s", out)
	}

	bootID := sshOK("db01", "cat /proc/sys/kernel/random/boot_id")
	t1 := time.Now()
	if err := l.Kill(ctx, "db01"); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING kill: %s", since(t1))
	wantState(t, l, "db01", StateStopped)
	if _, err := exec.CommandContext(ctx, "ssh", "-F", l.Hosts[0].SSH.Config, "-o", "ConnectTimeout=1", "db01", "true").CombinedOutput(); err == nil {
		t.Errorf("db01 answers ssh after kill")
	}
	t1 = time.Now()
	if err := l.Start(ctx, "db01"); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING start after kill: %s", since(t1))
	if id := sshOK("db01", "cat /proc/sys/kernel/random/boot_id"); id == bootID {
		t.Errorf("db01 did not reboot (same boot id)")
	}

	t1 = time.Now()
	if err := l.Stop(ctx, "db02"); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING stop: %s", since(t1))
	wantState(t, l, "db02", StateStopped)
	if b, _ := os.ReadFile(filepath.Join(l.st.Nodes[1].Dir, "console.log")); !strings.Contains(string(b), "System Shutdown") {
		t.Errorf("stop did not power db02 off cleanly; console:\n%s", tail(string(b), 15))
	}
	if err := l.Start(ctx, "db02"); err != nil {
		t.Fatal(err)
	}

	if err := l.Isolate(ctx, "db03"); err != nil {
		t.Fatal(err)
	}
	wantState(t, l, "db03", StateIsolated)
	if out, err := exec.CommandContext(ctx, "ssh", "-F", l.Hosts[0].SSH.Config, "db01",
		"timeout 2 bash -c 'exec 3<>/dev/tcp/10.77.9.83/22'").CombinedOutput(); err == nil {
		t.Errorf("db01 reached isolated db03: %s", out)
	}
	if err := l.Heal(ctx, "db03"); err != nil {
		t.Fatal(err)
	}
	sshOK("db01", "timeout 5 bash -c 'until exec 3<>/dev/tcp/10.77.9.83/22; do sleep 0.2; done'")

	if _, err := l.Services("db01"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Services on nspawn = %v, want ErrUnsupported", err)
	}

	st := l.st
	t1 = time.Now()
	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING down: %s", since(t1))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left: %v", err)
	}
	if err := exec.Command("ip", "link", "show", "hactlt0").Run(); err == nil {
		t.Errorf("bridge left behind")
	}
	for _, r := range st.CgroupRoots {
		if _, err := os.Stat(r); err == nil {
			t.Errorf("cgroup %s left behind", r)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), dir) {
		t.Errorf("mounts left behind")
	}
	if _, err := os.Stat(tarballPath(st.CacheDir, st.Packages)); err != nil {
		t.Errorf("rootfs cache not kept: %v", err)
	}
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
