package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/verify"
	"github.com/spf13/cobra"
)

// Exit codes of hactl failover (docs/failover.md).
const (
	ExitRefused  ExitCode = 4 // failover refused as unsafe; nothing changed
	ExitTimedOut ExitCode = 5 // failover did not complete within --timeout
)

// failoverExitCode maps failover outcomes to their exit codes; 0 for
// other errors.
func failoverExitCode(err error) ExitCode {
	switch {
	case errors.Is(err, verify.ErrRefused):
		return ExitRefused
	case errors.Is(err, verify.ErrTimedOut):
		return ExitTimedOut
	}
	return 0
}

// FailoverOptions are the options of hactl failover.
type FailoverOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	Output    string
	To        string
	Timeout   time.Duration
	Manual    bool
	Force     bool
}

// NewCmdFailover builds hactl failover.
func NewCmdFailover(f *Factory, runF func(*FailoverOptions) error) *cobra.Command {
	opts := &FailoverOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Move the master: through the sentinels, to a chosen replica, or by hand",
		Long: `Failover moves the master and waits until every sentinel and every replica
agree on the new one, printing each step, then the new topology.

Default: writes on the master are paused (CLIENT PAUSE WRITE) until the
replicas have every write, the sentinels fail over (SENTINEL FAILOVER) and
the old master is made a replica before the pause ends: no acknowledged
write is lost. --to HOST steers the sentinels to that replica (replica-priority
0 on the others while it runs, then restored).

--manual is for a set whose sentinels do not run: with a live master it is
a switchover (the engine's FAILOVER TO for engine hactl; pause, wait for the
offset, promote, repoint, unpause for redis); with a dead master it promotes
the replica with the largest offset, and refuses a lagging --to without
--force.

Exit codes: 0 done, 4 refused (nothing changed), 5 timed out, 1 error.`,
		Args: cobra.NoArgs,
		RunE: runE(opts, &opts.Output, runF, failoverRun, func() error {
			if opts.Force && !opts.Manual && opts.To == "" {
				return flagErrorf("--force needs --manual or --to")
			}
			return nil
		}),
	}
	inventoryOutputFlags(cmd, &opts.Inventory, &opts.Output)
	cmd.Flags().StringVar(&opts.To, "to", "", "replica to promote (planned switchover, no acknowledged write lost)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 30*time.Second, "give up (exit 5) after this long")
	cmd.Flags().BoolVar(&opts.Manual, "manual", false, "seed's manual procedure, for a set without running sentinels")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "promote a lagging replica, or go on although sentinels run")
	return cmd
}

func failoverRun(ctx context.Context, opts *FailoverOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	c := verify.FromInventory(inv, sec)
	start := time.Now()
	res, err := verify.Failover(ctx, c, verify.FailoverOptions{
		To: opts.To, Manual: opts.Manual, Force: opts.Force, Timeout: opts.Timeout,
		EngineFailover: inv.Engine == inventory.EngineHactl,
		Progress: func(s string) {
			fmt.Fprintf(opts.IO.ErrOut, "%6.2fs  %s\n", time.Since(start).Seconds(), s)
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "%6.2fs  done: %s -> %s (%s)\n", time.Since(start).Seconds(), res.From, res.To, res.Method)
	if opts.Output == "json" {
		return printJSON(opts.IO.Out, res)
	}
	return printTopology(opts.IO, res.Topology)
}

// printTopology prints the new topology: one line per engine and sentinel.
func printTopology(io *IOStreams, t *verify.Topology) error {
	rows := [][]string{{t.Master, "master", "offset " + strconv.FormatInt(t.MasterOffset, 10)}}
	for _, r := range t.Replicas {
		rows = append(rows, []string{r.Name, "replica", fmt.Sprintf("offset %d lag %d link %s%s", r.Offset, r.Lag, r.Link, r.Error)})
	}
	for _, s := range t.Sentinels {
		rows = append(rows, []string{s.Name, "sentinel", fmt.Sprintf("names %s epoch %d%s", s.Master, s.Epoch, s.Error)})
	}
	return printTable(io, []string{"NODE", "ROLE", "STATE"}, rows)
}

// HealOptions are the options of hactl heal.
type HealOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	Output    string
	Master    string
	DryRun    bool
}

// NewCmdHeal builds hactl heal.
func NewCmdHeal(f *Factory, runF func(*HealOptions) error) *cobra.Command {
	opts := &HealOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Repoint engines that claim master (split brain) or follow the wrong node",
		Long: `Heal asks the sentinels (else the engines) who the master is and sends
REPLICAOF to every other engine that says role:master (an old master that came
back: hactl verify reports it as split-brain) or replicates from another node.
--master names the master when nothing else can (a set without sentinels with
two engines claiming master).`,
		Args: cobra.NoArgs,
		RunE: runE(opts, &opts.Output, runF, healRun),
	}
	inventoryOutputFlags(cmd, &opts.Inventory, &opts.Output)
	cmd.Flags().StringVar(&opts.Master, "master", "", "the master to keep (default: the one the sentinels name)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be repointed, change nothing")
	return cmd
}

func healRun(ctx context.Context, opts *HealOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	master, acts, err := verify.Heal(ctx, verify.FromInventory(inv, sec), opts.Master, opts.DryRun)
	if err != nil {
		return err
	}
	failed := 0
	for _, a := range acts {
		if a.Error != "" {
			failed++
		}
	}
	if opts.Output == "json" {
		err = printJSON(opts.IO.Out, map[string]any{"master": master, "dry_run": opts.DryRun, "actions": acts})
	} else {
		var rows [][]string
		for _, a := range acts {
			rows = append(rows, []string{a.Node, a.Reason, a.Action, a.Error})
		}
		err = printTable(opts.IO, []string{"NODE", "REASON", "ACTION", "ERROR"}, rows)
	}
	fmt.Fprintf(opts.IO.ErrOut, "master %s: %d node(s) to repoint, %d failed\n", master, len(acts), failed)
	if err == nil && failed > 0 {
		return ErrSilent
	}
	return err
}
