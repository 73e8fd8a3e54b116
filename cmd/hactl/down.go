package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/provision"
	"github.com/spf13/cobra"
)

// DownOptions are the options of hactl down.
type DownOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	DryRun    bool
	Purge     bool
	Output    string
	Provider  ProviderOptions
}

// NewCmdDown builds hactl down.
func NewCmdDown(f *Factory, runF func(*DownOptions) error) *cobra.Command {
	opts := &DownOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove hactl's services from every host (data kept unless --purge)",
		Long: `Down probes every host (read only) and takes off what hactl installed: it stops
and disables the services (proxy, sentinel, engine), removes the files hactl
wrote (units, configs, sysctl drop-in: only those still carrying hactl's header)
and the hactl binaries, and runs daemon-reload. Data directories (the engine's
RDB/AOF, the sentinel's state) and the service user are kept unless --purge.
Distribution packages (engine: redis) are not uninstalled.

Hosts are handled in parallel; a host that fails stops at its failed step, the
others go on. A second run finds nothing left and changes nothing.

--dry-run prints the plan and changes nothing.

With provider pulumi or vagrant and no hosts in the inventory, the hosts are
the stack's outputs (nothing is changed) or vagrant ssh-config's. --destroy
(provider pulumi) instead destroys the stack's machines, after asking (--yes
does not ask); the services on them go with them.`,
		Args: cobra.NoArgs,
		RunE: runE(opts, &opts.Output, runF, downRun),
	}
	inventoryOutputFlags(cmd, &opts.Inventory, &opts.Output)
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the per-host plan and change nothing")
	cmd.Flags().BoolVar(&opts.Purge, "purge", false, "also remove the data directories and the service user")
	providerFlags(cmd, &opts.Provider, false)
	return cmd
}

func downRun(ctx context.Context, opts *DownOptions) error {
	if opts.Provider.Destroy {
		if opts.DryRun {
			return flagErrorf("--destroy with --dry-run: hactl up --dry-run shows the stack; --destroy asks before it changes anything")
		}
		return destroyStack(ctx, opts.f, opts.Inventory, opts.Provider)
	}
	inv, sec, err := loadProvided(ctx, opts.f, opts.Inventory, opts.Provider, modeRead)
	if err != nil {
		return err
	}
	start := time.Now()
	targets, transports, connErrs := downTargets(ctx, opts.f, inv, sec)
	defer func() {
		for _, t := range transports {
			t.Close()
		}
	}()
	plans := append(provision.PlanDown(ctx, targets, opts.Purge), connErrs...)
	var results []provision.StepResult
	var applyErr error
	if opts.DryRun {
		for _, hp := range plans {
			for _, st := range hp.Steps {
				results = append(results, provision.StepResult{Step: st, Status: "planned"})
			}
		}
		applyErr = planErrors(plans)
	} else {
		var mu sync.Mutex
		progress := func(r provision.StepResult) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(opts.IO.ErrOut, "%s: %s %s: %s (%s)\n", r.Host, r.Kind, r.Target, r.Status, r.Reason)
		}
		results, applyErr = provision.Apply(ctx, plans, transports, nil, progress)
	}
	out := downOutput(inv.Master, opts.DryRun, plans, results)
	if !opts.DryRun {
		fmt.Fprintf(opts.IO.ErrOut, "%d changes in %s\n", out.Changed, time.Since(start).Round(time.Millisecond))
	}
	if err := printUp(&UpOptions{IO: opts.IO, Output: opts.Output}, out); err != nil {
		return err
	}
	return applyErr
}

// downOutput groups step results by host, in the plans' order, in up's
// output shape; planned (dry run) and changed steps count as changes.
func downOutput(master string, dryRun bool, plans []provision.HostPlan, results []provision.StepResult) upOutput {
	out := upOutput{Master: master, DryRun: dryRun, Hosts: make([]upHost, len(plans))}
	idx := map[string]int{}
	for i, hp := range plans {
		idx[hp.Host] = i
		out.Hosts[i] = upHost{Host: hp.Host, Steps: []upStepOut{}}
		if hp.Err != nil {
			out.Hosts[i].Error = hp.Err.Error()
		}
	}
	for _, r := range results {
		h := &out.Hosts[idx[r.Host]]
		h.Steps = append(h.Steps, upStepOut{Kind: r.Kind, Target: r.Target, Reason: r.Reason, Status: r.Status, Error: r.Error})
		if r.Status == provision.StatusChanged || r.Status == "planned" {
			out.Changed++
		}
	}
	return out
}

// downPlaceholder stands for the hactl binaries in down's host specs: down
// only needs their paths, so it neither builds nor reads them.
var downPlaceholder = []byte("placeholder: hactl down never uploads binaries")

// downTargets reaches every host and builds its spec. A host that cannot
// be reached or specified becomes a HostPlan carrying the error (naming the
// host and the step), so the other hosts still go down.
func downTargets(ctx context.Context, f *Factory, inv *inventory.Inventory, sec *inventory.ResolvedSecrets) ([]provision.Target, map[string]provision.Transport, []provision.HostPlan) {
	bins := map[string][]byte{"hactl-engine": downPlaceholder, "hactl-sentinel": downPlaceholder}
	transports := map[string]provision.Transport{}
	var targets []provision.Target
	var failed []provision.HostPlan
	for _, h := range inv.Hosts {
		t, l, err := f.Connect(ctx, inv, &h)
		if err != nil {
			failed = append(failed, provision.HostPlan{Host: h.Name, Err: fmt.Errorf("connect: %w", err)})
			continue
		}
		transports[h.Name] = t
		spec, err := provision.BuildSpec(inv, sec, provision.SpecParams{Host: h.Name, Master: inv.Master, Layout: l, Binaries: bins})
		if err != nil {
			failed = append(failed, provision.HostPlan{Host: h.Name, Err: fmt.Errorf("%s: spec: %w", h.Name, err)})
			continue
		}
		targets = append(targets, provision.Target{Spec: spec, Transport: t})
	}
	return targets, transports, failed
}

// Stop implements provision.ProcessStopper: the lab's StopService stops
// the process group and forgets the definition, so lab start leaves it off.
func (s labServices) Stop(ctx context.Context, name string) error {
	return s.lab.StopService(ctx, s.node, name)
}

// Stop implements provision.ProcessStopper: without a lab nothing runs.
func (noLab) Stop(context.Context, string) error { return nil }
