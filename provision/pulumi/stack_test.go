package pulumi

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/lab"
)

func TestSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		sp   Spec
		want string
	}{
		{"no target", Spec{StateDir: "x"}, `target ""`},
		{"no state dir", Spec{Target: TargetLab}, "state directory: empty"},
		{"open ssh", Spec{Target: TargetAWS, StateDir: "x", SSHPublicKey: "ssh-ed25519 AAAA", OperatorCIDR: "0.0.0.0/0"}, "never 0.0.0.0/0"},
		{"no key", Spec{Target: TargetHcloud, StateDir: "x", OperatorCIDR: "192.0.2.1/32"}, "ssh public key"},
		{"dup names", Spec{Target: TargetLab, StateDir: "x", Names: []string{"a", "a"}}, `host name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sp.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCLIEnvPassphrase(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	if _, err := cliEnv(Spec{}, none); !errors.Is(err, ErrNoPassphrase) {
		t.Errorf("no passphrase: %v, want ErrNoPassphrase", err)
	}
	f := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(f, []byte("s3cret-phrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := cliEnv(Spec{PassphraseFile: f, PluginDirs: []string{"/plugins"}, DisablePluginAcquisition: true},
		func(k string) (string, bool) { return map[string]string{"PATH": "/usr/bin"}[k], k == "PATH" })
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		if strings.Contains(v, "s3cret") {
			t.Errorf("env %s carries the passphrase itself", k)
		}
	}
	if env["PULUMI_CONFIG_PASSPHRASE_FILE"] != f || env["PATH"] != "/plugins:/usr/bin" || env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] != "true" {
		t.Errorf("env %v", env)
	}
	if _, err := cliEnv(Spec{}, func(k string) (string, bool) { return "x", k == "PULUMI_CONFIG_PASSPHRASE" }); err != nil {
		t.Errorf("passphrase from env: %v", err)
	}
	env, err = cliEnv(Spec{PassphraseEnv: "MY_PASS"}, func(k string) (string, bool) { return "from-env", k == "MY_PASS" })
	if err != nil || env["PULUMI_CONFIG_PASSPHRASE"] != "from-env" {
		t.Errorf("passphrase from MY_PASS: %v %v", env, err)
	}
	if _, err := cliEnv(Spec{PassphraseEnv: "MY_PASS"}, none); !errors.Is(err, ErrNoPassphrase) || !strings.Contains(err.Error(), "MY_PASS") {
		t.Errorf("MY_PASS unset: %v, want ErrNoPassphrase naming it", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cliEnv(Spec{PassphraseFile: empty}, none); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty passphrase file: %v", err)
	}
}

func TestMissingCLI(t *testing.T) {
	_, err := Up(context.Background(), Spec{Target: TargetLab, StateDir: t.TempDir(), PassphraseFile: "stack_test.go",
		PulumiRoot: t.TempDir()})
	if !errors.Is(err, ErrNoCLI) || !strings.Contains(err.Error(), "tools/pulumi/build.sh") {
		t.Errorf("up without a CLI: %v, want ErrNoCLI with how to build it", err)
	}
}

func TestWaitSSH(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var log strings.Builder
	up := []Host{{Name: "db01", Address: "127.0.0.1", SSHPort: port}, {Name: "lab", Address: "127.0.0.99", Transport: "local"}}
	if err := WaitSSH(context.Background(), up, 2, 50*time.Millisecond, &log); err != nil {
		t.Errorf("listening host: %v", err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cport := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	err = WaitSSH(context.Background(), []Host{{Name: "db02", Address: "127.0.0.1", SSHPort: cport}}, 3, 20*time.Millisecond, &log)
	if err == nil || !strings.Contains(err.Error(), "after 3 tries") || strings.Count(log.String(), "waiting for ssh on db02") != 3 {
		t.Errorf("closed port: %v, progress:\n%s", err, log.String())
	}
}

// TestLabEndToEnd runs the lab target through the real pulumi CLI and
// hactl's provider plugin: up creates the lab nodes, a second up changes
// nothing, destroy removes them. HACTL_PULUMI_E2E=1 turns it on; the CLI
// comes from HACTL_PULUMI_ROOT (default /var/cache/hactl/pulumi/v3.274.1,
// where tools/pulumi/build.sh puts it).
func TestLabEndToEnd(t *testing.T) {
	if os.Getenv("HACTL_PULUMI_E2E") != "1" {
		t.Skip("HACTL_PULUMI_E2E=1 runs it (needs the pulumi CLI from tools/pulumi/build.sh)")
	}
	root := os.Getenv("HACTL_PULUMI_ROOT")
	if root == "" {
		root = "/var/cache/hactl/pulumi/v" + CLIVersion
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	plugins := filepath.Join(tmp, "plugins")
	_, file, _, _ := runtime.Caller(0)
	start := time.Now()
	build := exec.CommandContext(ctx, "go", "build", "-o", plugins+"/pulumi-resource-hactl", "./cmd/pulumi-resource-hactl")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	t.Logf("plugin built in %v", time.Since(start).Round(time.Millisecond))
	pass := filepath.Join(tmp, "passphrase")
	if err := os.WriteFile(pass, []byte("e2e-test-passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	sp := Spec{Target: TargetLab, StateDir: filepath.Join(tmp, "state"), PassphraseFile: pass, PulumiRoot: root,
		PulumiHome: filepath.Join(tmp, "home"), PluginDirs: []string{plugins}, Lab: LabSpec{Subnet: "127.0.78"},
		Progress: &progress}
	labDir := filepath.Join(sp.StateDir, "lab")
	defer func() {
		if t.Failed() {
			t.Logf("pulumi output:\n%s", progress.String())
			_ = lab.Down(context.Background(), labDir, nil)
		}
	}()

	// A missing plugin fails fast (no download) and creates nothing.
	noPlugin := sp
	noPlugin.PluginDirs, noPlugin.StateDir = nil, filepath.Join(tmp, "state-noplugin")
	start = time.Now()
	if _, err := Up(ctx, noPlugin); err == nil || !strings.Contains(err.Error(), "hactl") {
		t.Errorf("up without the plugin: %v, want an error naming the hactl plugin", err)
	}
	t.Logf("missing plugin refused in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	changes, err := Preview(ctx, sp)
	if err != nil || changes["create"] != 2 { // the stack and the lab
		t.Fatalf("preview: %v %v, want 2 creates", changes, err)
	}
	t.Logf("preview in %v", time.Since(start).Round(time.Millisecond))
	if _, err := lab.Open(labDir); err == nil {
		t.Fatal("preview created the lab")
	}

	start = time.Now()
	hosts, err := Up(ctx, sp)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Logf("up (create) in %v", time.Since(start).Round(time.Millisecond))
	l, err := lab.Open(labDir)
	if err != nil {
		t.Fatalf("lab after up: %v", err)
	}
	if len(hosts.Hosts) != 3 || hosts.Inventory != l.Inventory || hosts.Hosts[2].Address != "127.0.78.83" || hosts.Hosts[2].Root != l.Hosts[2].Root {
		t.Errorf("hosts %+v (inventory %q), lab %+v", hosts.Hosts, hosts.Inventory, l.Hosts)
	}
	if err := WaitSSH(ctx, hosts.Hosts, 1, time.Second, nil); err != nil {
		t.Errorf("local hosts need no ssh: %v", err)
	}

	start = time.Now()
	again, err := Up(ctx, sp)
	if err != nil || len(again.Hosts) != 3 || again.Hosts[0] != hosts.Hosts[0] {
		t.Errorf("second up: %+v %v, want the same hosts", again.Hosts, err)
	}
	t.Logf("up (no change) in %v", time.Since(start).Round(time.Millisecond))
	if out, err := Outputs(ctx, sp); err != nil || len(out.Hosts) != 3 {
		t.Errorf("outputs: %+v %v", out, err)
	}

	start = time.Now()
	if err := Destroy(ctx, sp); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	t.Logf("destroy in %v", time.Since(start).Round(time.Millisecond))
	if _, err := lab.Open(labDir); !errors.Is(err, lab.ErrNoLab) {
		t.Errorf("lab after destroy: %v, want ErrNoLab", err)
	}
	if _, err := os.Stat(l.Hosts[0].Root); !os.IsNotExist(err) {
		t.Errorf("node root after destroy: %v", err)
	}
}
