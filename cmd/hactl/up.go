package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/provision"
	"github.com/hactl/hactl/verify"
	"github.com/spf13/cobra"
)

// UpOptions are the options of hactl up.
type UpOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	DryRun    bool
	Output    string
	Timeout   time.Duration // per restarted service to become ready
	// SkipUnreachable: update the hosts that answer when some cannot be
	// reached (exit 1 all the same); by default up changes nothing then.
	SkipUnreachable bool
	Provider        ProviderOptions
	// keepCerts: install the local certificates as they are, renewing
	// none (hactl certs rotate, which has just issued them).
	keepCerts bool
}

// NewCmdUp builds hactl up.
func NewCmdUp(f *Factory, runF func(*UpOptions) error) *cobra.Command {
	opts := &UpOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Install or update every host of the inventory, idempotently",
		Long: `Up asks the running sentinels (or engines) which host is the master now, renders
every host's files toward it (never reverting a failover), probes each host and
applies only what differs: user, directories, binaries (by sha256), files (by
content, mode and owner), daemon-reload, then restarts what changed: the master
first, then the replicas, then the sentinels, then HAProxy, one host at a time,
each waited for until it answers with its role.

Lines the engine rewrites at runtime (replicaof after a failover) are not a
difference while it runs. During a failover (a sentinel reports
failover_in_progress) up refuses with exit code 8.

--dry-run prints that plan and changes nothing.

With provider pulumi or vagrant and no hosts in the inventory, up first asks
the provider for the hosts: it runs the pulumi stack (creating the machines,
then waiting for their SSH port; --dry-run shows pulumi's preview instead) or
reads vagrant ssh-config (vagrant up only with --vagrant-up), writes them into
INVENTORY.hosts.yaml beside the inventory, and goes on with that file.`,
		Args: cobra.NoArgs,
		RunE: runE(opts, &opts.Output, runF, upRun),
	}
	inventoryOutputFlags(cmd, &opts.Inventory, &opts.Output)
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the per-host plan and change nothing")
	cmd.Flags().DurationVar(&opts.Timeout, "wait", 30*time.Second, "how long a restarted service gets to answer")
	cmd.Flags().BoolVar(&opts.SkipUnreachable, "skip-unreachable", false, "update the hosts that answer when some cannot be reached (exit 1 all the same)")
	providerFlags(cmd, &opts.Provider, true)
	return cmd
}

// upHost is one host in hactl up's JSON output.
type upHost struct {
	Host  string      `json:"host"`
	Error string      `json:"error,omitempty"`
	Steps []upStepOut `json:"steps"`
}

type upStepOut struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Reason string `json:"reason"`
	Status string `json:"status"` // "planned" in --dry-run
	Error  string `json:"error,omitempty"`
}

// upOutput is hactl up's JSON output.
type upOutput struct {
	Master  string   `json:"master"`
	DryRun  bool     `json:"dry_run"`
	Changed int      `json:"changed"`
	Hosts   []upHost `json:"hosts"`
}

func upRun(ctx context.Context, opts *UpOptions) error {
	mode := modeUp
	if opts.DryRun {
		mode = modePreview
	}
	lenient := *opts.f
	lenient.lenient = true // the material is generated below, when it may be
	inv, _, err := loadProvided(ctx, &lenient, opts.Inventory, opts.Provider, mode)
	if errors.Is(err, errNotCreated) {
		fmt.Fprintf(opts.IO.ErrOut, "%v: no plan to show\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	sec, err := prepareMaterial(ctx, opts.f, inv, !opts.keepCerts)
	if err != nil {
		return err
	}
	if !opts.DryRun {
		if err := checkLabs(inv); err != nil {
			return err
		}
	}
	start := time.Now()
	vc := verify.FromInventory(inv, sec)
	vc.Timeout = time.Second
	master, source, err := verify.DiscoverMaster(ctx, vc)
	switch {
	case errors.Is(err, verify.ErrFailoverInProgress):
		return fmt.Errorf("%w: %v: not rendering toward a master that is changing; run hactl up again when it is over (hactl status)", ErrPending, err)
	case errors.Is(err, verify.ErrNoMaster):
		master = inv.Master
		fmt.Fprintf(opts.IO.ErrOut, "master: %s (from the inventory: no running sentinel or engine names one)\n", master)
	case err != nil:
		return err
	default:
		fmt.Fprintf(opts.IO.ErrOut, "master: %s (named by the running %s)\n", master, source)
	}
	targets, transports, unreachable, err := opts.connect(ctx, inv, sec, master)
	defer func() {
		for _, t := range transports {
			t.Close()
		}
	}()
	if err != nil {
		return err
	}
	if unreachable != nil {
		if !opts.SkipUnreachable || len(targets) == 0 {
			return fmt.Errorf("%w\nnothing was changed on any host: bring it back, or run hactl up --skip-unreachable to update the hosts that answer", unreachable)
		}
		// The reachable hosts are brought up to date; the exit code
		// says the set is not complete.
		fmt.Fprintf(opts.IO.ErrOut, "left as they are, unreachable: %v\n", unreachable)
	}
	plans := provision.Plan(ctx, targets)
	for i := range plans {
		if arch := goarchOf(plans[i].State.Arch); plans[i].Err == nil && inv.Engine == inventory.EngineHactl && arch != runtime.GOARCH {
			plans[i].Err = fmt.Errorf("%s: host is linux/%s, hactl has binaries for linux/%s only: put hactl-engine-linux-%s next to hactl", plans[i].Host, arch, runtime.GOARCH, arch)
			plans[i].Steps = nil
		}
	}
	out := upOutput{Master: master, DryRun: opts.DryRun}
	if opts.DryRun {
		for _, hp := range plans {
			h := upHost{Host: hp.Host, Steps: []upStepOut{}}
			if hp.Err != nil {
				h.Error = hp.Err.Error()
			}
			for _, s := range hp.Steps {
				h.Steps = append(h.Steps, upStepOut{Kind: s.Kind, Target: s.Target, Reason: s.Reason, Status: "planned"})
				out.Changed++
			}
			out.Hosts = append(out.Hosts, h)
		}
		if err := printUp(opts, out); err != nil {
			return err
		}
		return errors.Join(planErrors(plans), unreachable)
	}
	wait := func(ctx context.Context, host, service string) error {
		role := "slave"
		if host == master {
			role = "master"
		}
		if service == "haproxy" {
			return nil
		}
		return verify.WaitReady(ctx, vc, host, strings.HasSuffix(service, "sentinel"), role, opts.Timeout)
	}
	var mu sync.Mutex
	progress := func(r provision.StepResult) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(opts.IO.ErrOut, "%s: %s %s: %s (%s)\n", r.Host, r.Kind, r.Target, r.Status, r.Reason)
	}
	results, applyErr := provision.Apply(ctx, plans, transports, wait, progress)
	byHost := map[string]*upHost{}
	for _, hp := range plans {
		h := &upHost{Host: hp.Host, Steps: []upStepOut{}}
		if hp.Err != nil {
			h.Error = hp.Err.Error()
		}
		byHost[hp.Host] = h
	}
	for _, r := range results {
		h := byHost[r.Host]
		h.Steps = append(h.Steps, upStepOut{Kind: r.Kind, Target: r.Target, Reason: r.Reason, Status: r.Status, Error: r.Error})
		if r.Status == provision.StatusChanged {
			out.Changed++
		}
	}
	for _, hp := range plans {
		out.Hosts = append(out.Hosts, *byHost[hp.Host])
	}
	fmt.Fprintf(opts.IO.ErrOut, "%d changes in %s\n", out.Changed, time.Since(start).Round(time.Millisecond))
	if err := printUp(opts, out); err != nil {
		return err
	}
	return errors.Join(applyErr, unreachable)
}

// planErrors joins the probe errors of a plan.
func planErrors(plans []provision.HostPlan) error {
	var errs []error
	for _, hp := range plans {
		if hp.Err != nil {
			errs = append(errs, hp.Err)
		}
	}
	return errors.Join(errs...)
}

// connect reaches every host and builds its spec, master first. The hosts
// it cannot reach are in unreachable (one error each, naming the host and
// the SSH error), apart from err: with --skip-unreachable up goes on with
// the others.
func (opts *UpOptions) connect(ctx context.Context, inv *inventory.Inventory, sec *inventory.ResolvedSecrets, master string) (targets []provision.Target, transports map[string]provision.Transport, unreachable, err error) {
	hosts := slices.Clone(inv.Hosts)
	slices.SortStableFunc(hosts, func(a, b inventory.Host) int {
		return btoi(b.Name == master) - btoi(a.Name == master)
	})
	var bins map[string][]byte
	if inv.Engine == inventory.EngineHactl {
		var err error
		if bins, err = opts.f.Binaries(ctx, runtime.GOARCH); err != nil {
			return nil, nil, nil, err
		}
	}
	transports = map[string]provision.Transport{}
	var errs, down []error
	for _, h := range hosts {
		t, l, err := opts.f.Connect(ctx, inv, &h)
		if err != nil {
			down = append(down, fmt.Errorf("connect: %w", err))
			continue
		}
		transports[h.Name] = t
		spec, err := provision.BuildSpec(inv, sec, provision.SpecParams{Host: h.Name, Master: master, Layout: l, Binaries: bins})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
			continue
		}
		targets = append(targets, provision.Target{Spec: spec, Transport: t})
	}
	return targets, transports, errors.Join(down...), errors.Join(errs...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printUp prints the plan or the results.
func printUp(opts *UpOptions, out upOutput) error {
	if opts.Output == "json" {
		return printJSON(opts.IO.Out, out)
	}
	var rows [][]string
	for _, h := range out.Hosts {
		if h.Error != "" {
			rows = append(rows, []string{h.Host, "error", "", "", h.Error})
		}
		for _, s := range h.Steps {
			detail := s.Reason
			if s.Error != "" {
				detail += ": " + s.Error
			}
			rows = append(rows, []string{h.Host, s.Status, s.Kind, s.Target, detail})
		}
	}
	if err := printTable(opts.IO, []string{"HOST", "STATUS", "STEP", "TARGET", "DETAIL"}, rows); err != nil {
		return err
	}
	if opts.IO.TTY || out.Changed == 0 {
		verb := "changed"
		if out.DryRun {
			verb = "would change"
		}
		fmt.Fprintf(opts.IO.ErrOut, "%d %s, master %s\n", out.Changed, verb, out.Master)
	}
	return nil
}
