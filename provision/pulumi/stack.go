package pulumi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// Errors callers can test with errors.Is.
var (
	// ErrNoCLI means the pulumi CLI was not found.
	ErrNoCLI = errors.New("pulumi CLI not found")
	// ErrNoPassphrase means no passphrase source is set.
	ErrNoPassphrase = errors.New("no pulumi passphrase")
)

// Up creates or updates the stack sp describes and returns the hosts it
// holds. A re-run after a failure continues the same stack (its state is in
// sp.StateDir): machines already created are kept, not duplicated.
func Up(ctx context.Context, sp Spec) (Hosts, error) {
	st, sp, err := open(ctx, sp)
	if err != nil {
		return Hosts{}, err
	}
	res, err := st.Up(ctx, optup.ProgressStreams(sp.Progress), optup.ErrorProgressStreams(sp.Progress))
	if err != nil {
		return Hosts{}, fmt.Errorf("pulumi up (state kept in %s, run again to continue): %w", sp.StateDir, err)
	}
	return hostsFromOutputs(sp, res.Outputs)
}

// Preview shows what Up would change, on sp.Progress, and returns the
// number of changes by kind ("create", "same", ...).
func Preview(ctx context.Context, sp Spec) (map[string]int, error) {
	st, sp, err := open(ctx, sp)
	if err != nil {
		return nil, err
	}
	res, err := st.Preview(ctx, optpreview.ProgressStreams(sp.Progress), optpreview.ErrorProgressStreams(sp.Progress))
	if err != nil {
		return nil, fmt.Errorf("pulumi preview: %w", err)
	}
	out := map[string]int{}
	for op, n := range res.ChangeSummary {
		out[string(op)] = n
	}
	return out, nil
}

// Destroy deletes every resource of the stack, then the machines' host
// keys and known_hosts. The (then empty) stack state stays in sp.StateDir.
func Destroy(ctx context.Context, sp Spec) error {
	st, sp, err := open(ctx, sp)
	if err != nil {
		return err
	}
	if _, err := st.Destroy(ctx, optdestroy.ProgressStreams(sp.Progress), optdestroy.ErrorProgressStreams(sp.Progress)); err != nil {
		return fmt.Errorf("pulumi destroy (state kept in %s, run again to continue): %w", sp.StateDir, err)
	}
	for _, p := range []string{hostKeysDir(sp.StateDir), knownHostsFile(sp.StateDir)} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("pulumi destroy: remove the machines' host keys: %w", err)
		}
	}
	return nil
}

// Outputs returns the hosts of an existing stack without changing it.
func Outputs(ctx context.Context, sp Spec) (Hosts, error) {
	st, sp, err := open(ctx, sp)
	if err != nil {
		return Hosts{}, err
	}
	out, err := st.Outputs(ctx)
	if err != nil {
		return Hosts{}, fmt.Errorf("pulumi stack outputs: %w", err)
	}
	return hostsFromOutputs(sp, out)
}

// hostsFromOutputs decodes the stack's hosts; for the cloud targets it
// writes their known_hosts (see finishHosts).
func hostsFromOutputs(sp Spec, out auto.OutputMap) (Hosts, error) {
	v, ok := out[outHosts]
	if !ok {
		return Hosts{}, fmt.Errorf("stack has no %q output (not created yet?)", outHosts)
	}
	hs, err := decodeHosts(v.Value)
	if err != nil {
		return Hosts{}, err
	}
	h := Hosts{Target: sp.Target, Hosts: hs}
	if inv, ok := out[outInventory]; ok {
		h.Inventory, _ = inv.Value.(string)
	}
	return finishHosts(sp, h)
}

// finishHosts writes the known_hosts file of a cloud stack's hosts, from
// the host keys hactl made, and names it in h.KnownHosts. The lab target's
// hosts come with the lab's own inventory: nothing to do.
func finishHosts(sp Spec, h Hosts) (Hosts, error) {
	if sp.Target == TargetLab {
		return h, nil
	}
	h.KnownHosts = knownHostsFile(sp.StateDir)
	if err := writeKnownHosts(h.KnownHosts, h.Hosts, sp.hostKeys); err != nil {
		return Hosts{}, err
	}
	return h, nil
}

// open completes sp and selects (or creates) its stack in a persistent
// workspace with a file:// backend.
func open(ctx context.Context, sp Spec) (auto.Stack, Spec, error) {
	sp, err := sp.withDefaults()
	if err != nil {
		return auto.Stack{}, sp, err
	}
	env, err := cliEnv(sp, os.LookupEnv)
	if err != nil {
		return auto.Stack{}, sp, err
	}
	cmd, err := findCLI(sp.PulumiRoot)
	if err != nil {
		return auto.Stack{}, sp, err
	}
	backend, work := filepath.Join(sp.StateDir, "backend"), filepath.Join(sp.StateDir, "work")
	for _, d := range []string{backend, work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return auto.Stack{}, sp, fmt.Errorf("pulumi state: %w", err)
		}
	}
	if sp.Target != TargetLab {
		if sp.hostKeys, err = ensureHostKeys(hostKeysDir(sp.StateDir), sp.Names); err != nil {
			return auto.Stack{}, sp, err
		}
	}
	prog, err := Program(sp)
	if err != nil {
		return auto.Stack{}, sp, err
	}
	proj := workspace.Project{
		Name:    tokens.PackageName(sanitize(sp.Project)),
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: "file://" + backend},
	}
	st, err := auto.UpsertStackInlineSource(ctx, sp.Stack, proj.Name.String(), prog,
		auto.WorkDir(work), auto.Project(proj), auto.EnvVars(env), auto.Pulumi(cmd), auto.SecretsProvider("passphrase"))
	if err != nil {
		return auto.Stack{}, sp, fmt.Errorf("pulumi stack %s (state %s): %w", sp.Stack, sp.StateDir, err)
	}
	return st, sp, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

// cliEnv is the environment added to the CLI's: never the passphrase
// itself, only the name of its file.
func cliEnv(sp Spec, lookup func(string) (string, bool)) (map[string]string, error) {
	env := map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"}
	switch {
	case sp.PassphraseFile != "":
		abs, err := filepath.Abs(sp.PassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		if fi.Size() == 0 {
			return nil, fmt.Errorf("passphrase file %s: empty", abs)
		}
		env["PULUMI_CONFIG_PASSPHRASE_FILE"] = abs
	case sp.PassphraseEnv != "":
		v, ok := lookup(sp.PassphraseEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("%w: environment variable %s (pulumi.passphrase) is not set", ErrNoPassphrase, sp.PassphraseEnv)
		}
		env["PULUMI_CONFIG_PASSPHRASE"] = v
	default:
		_, ok1 := lookup("PULUMI_CONFIG_PASSPHRASE")
		_, ok2 := lookup("PULUMI_CONFIG_PASSPHRASE_FILE")
		if !ok1 && !ok2 {
			return nil, fmt.Errorf("%w: set PULUMI_CONFIG_PASSPHRASE_FILE (or PULUMI_CONFIG_PASSPHRASE) or give a passphrase file; it encrypts the stack's secrets, keep it", ErrNoPassphrase)
		}
	}
	if sp.PulumiHome != "" {
		env["PULUMI_HOME"] = sp.PulumiHome
	}
	if sp.DisablePluginAcquisition {
		env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
	}
	if len(sp.PluginDirs) > 0 {
		path, _ := lookup("PATH")
		env["PATH"] = strings.Join(append(append([]string{}, sp.PluginDirs...), path), string(os.PathListSeparator))
	}
	return env, nil
}

// findCLI finds the pulumi CLI in root/bin or on PATH and checks its
// version. It never downloads one.
func findCLI(root string) (auto.PulumiCommand, error) {
	bin := filepath.Join(root, "bin", "pulumi")
	if root == "" {
		p, err := exec.LookPath("pulumi")
		if err != nil {
			return nil, fmt.Errorf("%w on PATH: build it with make pulumi-cli (tools/pulumi/build.sh; or install pulumi %s) and pass --pulumi-root DIR or set pulumi.cli; hactl never downloads it", ErrNoCLI, CLIVersion)
		}
		bin = p
	} else if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w in %s: build it with make pulumi-cli PULUMI_CACHE=%s (tools/pulumi/build.sh); hactl never downloads it", ErrNoCLI, root, filepath.Dir(root))
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, Version: semver.MustParse(CLIVersion)})
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI %s: %w", bin, err)
	}
	return cmd, nil
}
