package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/lab"
	"github.com/hactl/hactl/provision"
	"github.com/hactl/hactl/verify"
	"github.com/spf13/cobra"
)

// LabOptions are the options shared by the hactl lab commands.
type LabOptions struct {
	IO       *IOStreams
	f        *Factory
	StateDir string
	Output   string
	// up
	Nodes   int
	Driver  string
	Engine  string
	Subnet  string
	Proxy   bool          // haproxy role on every node (default: on for nspawn)
	Wait    time.Duration // how long verify may take to pass after up
	Timeout time.Duration // per restarted service (hactl up --wait)
	// down
	Purge bool
}

// addLabCommand adds hactl lab and its subcommands (package lab).
func addLabCommand(root *cobra.Command, f *Factory) {
	opts := &LabOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "lab <command>",
		Short: "A throw-away three-host lab on this machine: create, drill, remove",
		Long: `hactl lab creates hosts on this machine (driver nspawn: Debian 12 containers
with systemd and sshd, root only; driver process: local processes on
127.0.0.81-83), installs the service on them with hactl up and proves it
with hactl verify. Fault drills: kill (power cut), stop/start, isolate/heal
(network partition). Everything lives in the state directory (--state,
default ` + lab.DefaultStateDir() + `); hactl lab down removes it.`,
	}
	cmd.PersistentFlags().StringVar(&opts.StateDir, "state", lab.DefaultStateDir(), "lab state directory")
	up := &cobra.Command{
		Use:   "up",
		Short: "Create (or resume) the lab, install the service with hactl up, verify it",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !c.Flags().Changed("proxy") {
				opts.Proxy = opts.driver() == lab.DriverNspawn
			}
			return labUp(c.Context(), opts)
		},
	}
	up.Flags().IntVar(&opts.Nodes, "nodes", 3, "number of hosts (1 to 9)")
	up.Flags().StringVar(&opts.Driver, "driver", "", "process or nspawn (default: nspawn as root with systemd-nspawn installed, else process)")
	up.Flags().StringVar(&opts.Engine, "engine", "hactl", "hactl (hactl-engine and hactl-sentinel) or redis (Debian's redis-server and redis-sentinel)")
	up.Flags().StringVar(&opts.Subnet, "subnet", "", "first three octets of the nodes' addresses (default 127.0.0 for process, 10.77.0 for nspawn)")
	up.Flags().BoolVar(&opts.Proxy, "proxy", false, fmt.Sprintf("also give every node the haproxy role (frontend on port %d; nspawn only; default on for nspawn)", lab.ProxyPort))
	up.Flags().DurationVar(&opts.Wait, "verify-wait", 60*time.Second, "how long hactl verify may take to pass (replicas syncing)")
	up.Flags().DurationVar(&opts.Timeout, "wait", 30*time.Second, "how long a restarted service gets to answer")
	down := &cobra.Command{
		Use:   "down",
		Short: "Remove everything the lab created (nodes, processes, bridge, firewall rules, files)",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return labDown(c.Context(), opts) },
	}
	down.Flags().BoolVar(&opts.Purge, "purge", false, "also remove the cached nspawn base image")
	status := &cobra.Command{
		Use:   "status",
		Short: "Show every node's state (running, stopped, isolated) and services",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			return labStatus(c.Context(), opts)
		},
	}
	outputFlag(status, &opts.Output)
	inv := &cobra.Command{
		Use:   "inventory",
		Short: "Print the path of the inventory written for the lab's hosts",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, err := openLab(opts.StateDir)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(opts.IO.Out, l.Inventory)
			return err
		},
	}
	cmd.AddCommand(up, down, status, inv)
	drills := []struct {
		name, short string
		do          func(*lab.Lab, context.Context, string) error
	}{
		{"kill", "Power cut of NODE: every process on it dies at once (disk kept)", (*lab.Lab).Kill},
		{"stop", "Clean shutdown of NODE", (*lab.Lab).Stop},
		{"start", "Boot NODE again after kill or stop (its disk is kept)", (*lab.Lab).Start},
		{"isolate", "Cut NODE off the network (root: iptables or the bridge port)", (*lab.Lab).Isolate},
		{"heal", "Reconnect NODE after isolate", (*lab.Lab).Heal},
	}
	for _, d := range drills {
		cmd.AddCommand(&cobra.Command{
			Use:   d.name + " NODE",
			Short: d.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				l, err := openLab(opts.StateDir)
				if err != nil {
					return err
				}
				l.SetProgress(opts.IO.ErrOut)
				return labError(d.do(l, c.Context(), args[0]))
			},
		})
	}
	root.AddCommand(cmd)
}

// openLab opens the lab in dir with a hint when there is none.
func openLab(dir string) (*lab.Lab, error) {
	l, err := lab.Open(dir)
	if errors.Is(err, lab.ErrNoLab) {
		return nil, fmt.Errorf("no lab in %s: create one with hactl lab up (or pass --state DIR)", dir)
	}
	return l, err
}

// labError makes an unknown node a usage error (exit 2).
func labError(err error) error {
	if errors.Is(err, lab.ErrUnknownNode) {
		return &FlagError{Err: err}
	}
	return err
}

// labUp creates the lab, runs hactl up and hactl verify on it, and prints
// how to reach the service.
func labUp(ctx context.Context, opts *LabOptions) error {
	if opts.Driver != "" && opts.Driver != string(lab.DriverProcess) && opts.Driver != string(lab.DriverNspawn) {
		return flagErrorf("invalid --driver %q: use process or nspawn", opts.Driver)
	}
	if opts.Engine != "hactl" && opts.Engine != "redis" {
		return flagErrorf("invalid --engine %q: use hactl or redis", opts.Engine)
	}
	if opts.Proxy && opts.driver() != lab.DriverNspawn {
		return flagErrorf("--proxy needs the nspawn driver: the %s driver runs no haproxy", opts.driver())
	}
	t0 := time.Now()
	l, err := lab.Up(ctx, lab.Spec{Nodes: opts.Nodes, Driver: lab.Driver(opts.Driver), Engine: opts.Engine,
		Subnet: opts.Subnet, StateDir: opts.StateDir, Proxy: opts.Proxy, Progress: opts.IO.ErrOut})
	if err != nil {
		return err
	}
	tLab := time.Since(t0)
	t1 := time.Now()
	up := &UpOptions{IO: &IOStreams{In: opts.IO.In, Out: io.Discard, ErrOut: opts.IO.ErrOut}, f: opts.f,
		Inventory: l.Inventory, Output: "table", Timeout: opts.Timeout}
	if err := upRun(ctx, up); err != nil {
		return fmt.Errorf("hactl up on the lab: %w (the lab stays up: fix and re-run hactl lab up, or hactl lab down)", err)
	}
	tUp := time.Since(t1)
	t2 := time.Now()
	inv, sec, err := opts.f.load(l.Inventory)
	if err != nil {
		return err
	}
	vc := verify.FromInventory(inv, sec)
	rep := verifyUntil(ctx, vc, opts.Wait)
	tVerify := time.Since(t2)
	if rep.Failed() > 0 {
		printReport(opts.IO, "table", rep)
		fmt.Fprintf(opts.IO.ErrOut, "%d of %d checks failed after %s\n", rep.Failed(), len(rep.Results), opts.Wait)
		return ErrVerifyFailed
	}
	fmt.Fprintf(opts.IO.ErrOut, "lab up: %d %s nodes, engine %s, all %d checks passed in %s (lab %s, hactl up %s, verify %s)\n",
		len(l.Hosts), l.Driver, inv.Engine, len(rep.Results), since(t0), since2(tLab), since2(tUp), since2(tVerify))
	return printLabSummary(ctx, opts, l, vc, rep.Master)
}

// verifyUntil runs the checks until they all pass (a replica may still be
// in its first sync) or wait is over, and returns the last report.
func verifyUntil(ctx context.Context, c verify.Config, wait time.Duration) *verify.Report {
	deadline := time.Now().Add(wait)
	for {
		rep := verify.Run(ctx, c)
		if rep.Failed() == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return rep
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// driver is the --driver value, or the driver lab up would pick.
func (opts *LabOptions) driver() lab.Driver {
	if opts.Driver == "" {
		return lab.DefaultDriver()
	}
	return lab.Driver(opts.Driver)
}

func since(t time.Time) string      { return since2(time.Since(t)) }
func since2(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// labFlag is the --state flag to repeat in the printed commands ("" for
// the default state directory).
func labFlag(opts *LabOptions) string {
	if opts.StateDir == lab.DefaultStateDir() {
		return ""
	}
	return " --state " + provision.Quote(opts.StateDir)
}

// printLabSummary prints the nodes, where the password is, and what to try.
func printLabSummary(ctx context.Context, opts *LabOptions, l *lab.Lab, vc verify.Config, master string) error {
	var rows [][]string
	for _, h := range l.Hosts {
		role := "replica"
		if h.Name == master {
			role = "master"
		}
		rows = append(rows, []string{h.Name, h.Address, h.Address + ":6379", h.Address + ":26379", role})
	}
	tty := *opts.IO
	tty.TTY = true // the summary is for people: always with a header
	if err := printTable(&tty, []string{"NODE", "ADDRESS", "ENGINE", "SENTINEL", "ROLE"}, rows); err != nil {
		return err
	}
	self, flag := selfName(), labFlag(opts)
	pw := relPath(l.PasswordFile)
	inv := relPath(l.Inventory)
	ma := l.Hosts[0].Address
	for _, h := range l.Hosts {
		if h.Name == master {
			ma = h.Address
		}
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "\npassword file: %s\ninventory:     %s\n", pw, inv)
	if l.Proxy {
		fmt.Fprintf(out, "haproxy:       port %d of every node, routes to the master\n", lab.ProxyPort)
	}
	// The password goes through redis-cli's REDISCLI_AUTH, not -a: a
	// command-line argument is visible to every user in ps.
	fmt.Fprintf(out, "\nNext:\n")
	fmt.Fprintf(out, "  export REDISCLI_AUTH=\"$(cat %s)\"   # redis-cli reads the password from it (not -a: ps shows arguments)\n", pw)
	fmt.Fprintf(out, "  redis-cli -h %s -p 6379 info replication\n", ma)
	if l.Proxy {
		last := l.Hosts[len(l.Hosts)-1].Address
		fmt.Fprintf(out, "  redis-cli -h %s -p %d set hello world   # through HAProxy\n", last, lab.ProxyPort)
	}
	fmt.Fprintf(out, "  redis-cli -h %s -p 26379 sentinel get-master-addr-by-name %s\n", l.Hosts[0].Address, vc.Service)
	fmt.Fprintf(out, "  %s status -i %s\n", self, inv)
	fmt.Fprintf(out, "  %s lab kill %s%s       # power cut of the master; the sentinels fail over\n", self, master, flag)
	fmt.Fprintf(out, "  %s verify -i %s\n", self, inv)
	fmt.Fprintf(out, "  %s lab start %s%s      # the old master returns as a replica\n", self, master, flag)
	fmt.Fprintf(out, "  %s lab down%s\n", self, flag)
	return nil
}

// selfName is how to run this hactl again from the current directory.
func selfName() string {
	exe, err := os.Executable()
	if err != nil {
		return "hactl"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/hactl"
	}
	if rel := relPath(exe); !filepath.IsAbs(rel) {
		if !strings.Contains(rel, string(filepath.Separator)) {
			return "./" + rel
		}
		return rel
	}
	return exe
}

// relPath is p relative to the working directory when it is below it.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return rel
}

func labDown(ctx context.Context, opts *LabOptions) error {
	if err := lab.Down(ctx, opts.StateDir, opts.IO.ErrOut); err != nil {
		return err
	}
	if opts.Purge {
		return lab.PurgeCache(lab.DefaultCacheDir())
	}
	return nil
}

// labNode is one node in hactl lab status -o json.
type labNode struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	State   string `json:"state"`
	Detail  string `json:"detail"`
}

func labStatus(ctx context.Context, opts *LabOptions) error {
	l, err := openLab(opts.StateDir)
	if err != nil {
		return err
	}
	st, err := l.Status(ctx)
	if err != nil {
		return err
	}
	var nodes []labNode
	var rows [][]string
	for _, s := range st {
		nodes = append(nodes, labNode{s.Host.Name, s.Host.Address, string(s.State), s.Detail})
		rows = append(rows, []string{s.Host.Name, s.Host.Address, string(s.State), s.Detail})
	}
	if opts.Output == "json" {
		return printJSON(opts.IO.Out, map[string]any{"driver": l.Driver, "inventory": l.Inventory, "nodes": nodes})
	}
	return printTable(opts.IO, []string{"NODE", "ADDRESS", "STATE", "DETAIL"}, rows)
}

// labServices runs a process-lab node's services through the lab: the
// provision.ProcessManager of the node.
type labServices struct {
	lab  *lab.Lab
	node string
}

// Running implements provision.ProcessManager.
func (s labServices) Running(_ context.Context, name string) (bool, error) {
	svcs, err := s.lab.Services(s.node)
	if err != nil {
		return false, err
	}
	for _, sv := range svcs {
		if sv.Name == name {
			return sv.Running, nil
		}
	}
	return false, nil
}

// Restart implements provision.ProcessManager.
func (s labServices) Restart(ctx context.Context, name string, argv []string) error {
	return s.lab.RestartService(ctx, s.node, lab.Service{Name: name, Argv: argv})
}

// noLab is the ProcessManager of loopback lab hosts whose lab does not
// exist: nothing runs, nothing can be started.
type noLab struct{ err error }

// Running implements provision.ProcessManager.
func (noLab) Running(context.Context, string) (bool, error) { return false, nil }

// Restart implements provision.ProcessManager.
func (n noLab) Restart(_ context.Context, name string, _ []string) error {
	return fmt.Errorf("start %s: %w (create the lab with hactl lab up)", name, n.err)
}

// checkLabs refuses to apply to loopback lab hosts without their lab: the
// services could not be started, and the files would land in a directory
// no lab owns.
func checkLabs(inv *inventory.Inventory) error {
	for _, h := range inv.Hosts {
		if !LabLocal(inv, &h) {
			continue
		}
		if _, err := lab.Open(filepath.Dir(inv.File)); err != nil {
			return fmt.Errorf("host %s is a process-lab host (provider lab, loopback address) and %w: create the lab with hactl lab up, which writes its own inventory", h.Name, err)
		}
		return nil
	}
	return nil
}
