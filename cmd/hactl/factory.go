package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/lab"
	"github.com/hactl/hactl/provision"
	"github.com/spf13/cobra"
)

// IOStreams is where a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	TTY    bool // Out is a terminal: tables get a header and aligned columns
}

// Factory holds what commands get from the outside world; tests replace it.
type Factory struct {
	IO        *IOStreams
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
	// Connect returns the transport and layout of one host.
	Connect func(ctx context.Context, inv *inventory.Inventory, h *inventory.Host) (provision.Transport, provision.Layout, error)
	// Binaries returns the hactl-engine and hactl-sentinel executables for
	// a GOARCH, by base name.
	Binaries func(ctx context.Context, goarch string) (map[string][]byte, error)
	// lenient: loadFile returns nil secrets instead of failing when
	// generated material is missing. Only hactl up sets it, in a copy,
	// and generates the material (prepareMaterial).
	lenient bool
}

// NewFactory returns the production Factory.
func NewFactory() *Factory {
	return &Factory{
		IO:        &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, TTY: isTerminal(os.Stdout)},
		LookupEnv: os.LookupEnv,
		ReadFile:  os.ReadFile,
		Connect:   connect,
		Binaries:  findBinaries,
	}
}

// runE is a command's RunE: it checks --output when the command has -o
// (output not nil), then the command's own checks, then runs runF when a
// test gave one, else run with the command's context.
func runE[T any](opts *T, output *string, runF func(*T) error, run func(context.Context, *T) error,
	checks ...func() error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, _ []string) error {
		if output != nil {
			if err := checkOutput(*output); err != nil {
				return err
			}
		}
		for _, check := range checks {
			if err := check(); err != nil {
				return err
			}
		}
		if runF != nil {
			return runF(opts)
		}
		return run(c.Context(), opts)
	}
}

// inventoryOutputFlags adds -i and -o table|json to a command.
func inventoryOutputFlags(cmd *cobra.Command, inventory, output *string) {
	inventoryFlag(cmd, inventory)
	outputFlag(cmd, output)
}

// inventoryFlag adds -i to a command.
func inventoryFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "inventory", "i", "", "inventory file (default $HACTL_INVENTORY or ./inventory.yaml)")
}

// outputFlag adds -o table|json.
func outputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", "table", "output format: table or json")
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return flagErrorf("invalid --output %q: use table or json", o)
	}
	return nil
}

// inventoryPath resolves -i, $HACTL_INVENTORY and the default.
func (f *Factory) inventoryPath(flag string) string {
	if flag != "" {
		return flag
	}
	if v, ok := f.LookupEnv("HACTL_INVENTORY"); ok && v != "" {
		return v
	}
	return "inventory.yaml"
}

// load parses the inventory, printing warnings, and resolves its secrets.
// It generates nothing: missing generated passwords or TLS material are
// an error naming the files (only hactl up generates them).
// Every command that works on the hosts loads through here: an inventory
// whose provider makes the hosts (pulumi, vagrant) stands for the
// inventory hactl up wrote with them (loadWritten, provider.go).
func (f *Factory) load(flag string) (*inventory.Inventory, *inventory.ResolvedSecrets, error) {
	inv, sec, err := f.loadFile(flag)
	if err != nil || !inv.Provisioned() {
		return inv, sec, err
	}
	return f.loadWritten(inv)
}

// loadFile is load of the inventory as written, without the provider's
// hosts: for hactl up and down, which make or read them, and inventory
// check.
func (f *Factory) loadFile(flag string) (*inventory.Inventory, *inventory.ResolvedSecrets, error) {
	path := f.inventoryPath(flag)
	data, err := f.ReadFile(path)
	if err != nil {
		return nil, nil, &FlagError{Err: fmt.Errorf("read inventory: %w", err)}
	}
	inv, warns, err := inventory.Parse(path, data)
	for _, w := range warns {
		fmt.Fprintln(f.IO.ErrOut, w)
	}
	if err != nil {
		return nil, nil, err
	}
	sec, err := resolveSecure(inv, f.LookupEnv, f.ReadFile)
	if miss := (*missingMaterialError)(nil); f.lenient && errors.As(err, &miss) {
		return inv, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return inv, sec, nil
}

// LabLocal reports whether a host is a process-lab node: provider lab and
// a loopback address. Such hosts are reached with the local transport and
// keep every path under LabRoot.
func LabLocal(inv *inventory.Inventory, h *inventory.Host) bool {
	ip := net.ParseIP(h.Address)
	return inv.Provider == inventory.ProviderLab && ip != nil && ip.IsLoopback()
}

// LabRoot is the root directory of a process-lab node: NAME/root under the
// nodes directory beside the inventory (the layout lab/ writes, see
// lab.Host.Root).
func LabRoot(inv *inventory.Inventory, h *inventory.Host) string {
	dir, _ := filepath.Abs(filepath.Dir(inv.File))
	return filepath.Join(dir, "nodes", h.Name, "root")
}

// layoutFor says where a host keeps its files and how it runs services.
func layoutFor(inv *inventory.Inventory, h *inventory.Host) provision.Layout {
	if LabLocal(inv, h) {
		return provision.Layout{Root: LabRoot(inv, h), Services: provision.Processes}
	}
	return provision.Layout{Services: provision.Systemd}
}

// connect is the production Factory.Connect. Process-lab hosts run their
// services through the lab beside the inventory (lab.Open), the same
// process groups hactl lab kill/stop/start act on.
func connect(ctx context.Context, inv *inventory.Inventory, h *inventory.Host) (provision.Transport, provision.Layout, error) {
	l := layoutFor(inv, h)
	if l.Services == provision.Processes {
		lb, err := lab.Open(filepath.Dir(inv.File))
		switch {
		case errors.Is(err, lab.ErrNoLab):
			// Nothing runs without a lab: plans (--dry-run) show every
			// service as not running; hactl up refuses before applying.
			l.Manager = noLab{err: err}
		case err != nil:
			return nil, l, fmt.Errorf("%s: %w", h.Name, err)
		default:
			l.Manager = labServices{lab: lb, node: h.Name}
		}
		return &provision.Local{Host: h.Name}, l, nil
	}
	s := h.SSH
	t, err := provision.DialSSH(ctx, provision.SSHConfig{Host: h.Name, Address: h.Address, Port: s.Port, User: s.User, Key: s.Key,
		Jump: s.Jump, KnownHosts: s.KnownHosts, Insecure: !s.StrictHostKeyChecking})
	return t, l, err
}

// findBinaries looks for hactl-engine and hactl-sentinel next to the hactl
// executable (NAME or NAME-linux-GOARCH), else builds them from the source
// tree hactl runs in (CGO_ENABLED=0, static) into the user cache.
func findBinaries(ctx context.Context, goarch string) (map[string][]byte, error) {
	out := map[string][]byte{}
	exe, _ := os.Executable()
	for _, name := range []string{"hactl-engine", "hactl-sentinel"} {
		var cands []string
		if exe != "" {
			d := filepath.Dir(exe)
			cands = append(cands, filepath.Join(d, name+"-linux-"+goarch))
			if goarch == runtime.GOARCH {
				cands = append(cands, filepath.Join(d, name))
			}
		}
		for _, c := range cands {
			if b, err := os.ReadFile(c); err == nil {
				out[name] = b
				break
			}
		}
		if out[name] != nil {
			continue
		}
		b, err := buildBinary(ctx, name, goarch)
		if err != nil {
			return nil, fmt.Errorf("no %s for linux/%s next to %s, and building it failed: %w", name, goarch, exe, err)
		}
		out[name] = b
	}
	return out, nil
}

// buildBinary runs go build for ./cmd/NAME from the module root above the
// working directory.
func buildBinary(ctx context.Context, name, goarch string) ([]byte, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/hactl/hactl\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("not inside the hactl source tree")
		}
		dir = parent
	}
	if _, err := os.Stat(filepath.Join(dir, "cmd", name)); err != nil {
		return nil, fmt.Errorf("./cmd/%s does not exist yet", name)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dest := filepath.Join(cache, "hactl", "bin", name+"-linux-"+goarch)
	// -buildvcs=false: the same source gives the same bytes, so hactl up
	// does not reinstall (and restart) because another commit happened.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-o", dest, "./cmd/"+name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return os.ReadFile(dest)
}

// goarchOf maps uname -m to GOARCH.
func goarchOf(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "armv7l", "armv6l":
		return "arm"
	case "i686", "i386":
		return "386"
	}
	return machine
}

// printTable prints rows: aligned with a header on a TTY, tab-separated
// without header when piped.
func printTable(io *IOStreams, header []string, rows [][]string) error {
	if !io.TTY {
		for _, r := range rows {
			if _, err := fmt.Fprintln(io.Out, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
