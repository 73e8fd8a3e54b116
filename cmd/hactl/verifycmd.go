package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hactl/hactl/verify"
	"github.com/spf13/cobra"
)

// VerifyOptions are the options of hactl verify.
type VerifyOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	Output    string
	Timeout   time.Duration
}

// NewCmdVerify builds hactl verify.
func NewCmdVerify(f *Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the running service the way the seed tutorial does, and more",
		Long: `Verify checks every engine (role, connected_slaves, slaveN state and lag,
master_link_status, master_sync_in_progress, same master_replid, persistence
settings, auth enforced), a write on the master read back from every replica,
every sentinel (master named, flags, quorum, peers, replicas, CKQUORUM,
agreement), split brain, and HAProxy routing. Exit code 3 when a check fails.`,
		Args: cobra.NoArgs,
		RunE: runE(opts, &opts.Output, runF, verifyRun),
	}
	inventoryOutputFlags(cmd, &opts.Inventory, &opts.Output)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Second, "per request timeout")
	return cmd
}

func verifyRun(ctx context.Context, opts *VerifyOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	c := verify.FromInventory(inv, sec)
	c.Timeout = opts.Timeout
	rep := verify.Run(ctx, c)
	if err := printReport(opts.IO, opts.Output, rep); err != nil {
		return err
	}
	if n := rep.Failed(); n > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%d of %d checks failed\n", n, len(rep.Results))
		return ErrVerifyFailed
	}
	fmt.Fprintf(opts.IO.ErrOut, "all %d checks passed, master %s\n", len(rep.Results), rep.Master)
	return nil
}

// printReport prints a verify report as a table or JSON.
func printReport(io *IOStreams, output string, rep *verify.Report) error {
	if output == "json" {
		return printJSON(io.Out, rep)
	}
	var rows [][]string
	for _, r := range rep.Results {
		status := "ok"
		detail := r.Detail
		if !r.OK {
			status = "FAIL"
			if r.Hint != "" {
				detail += " (hint: " + r.Hint + ")"
			}
		}
		node := r.Node
		if node == "" {
			node = "-"
		}
		rows = append(rows, []string{node, r.Check, status, detail})
	}
	return printTable(io, []string{"NODE", "CHECK", "STATUS", "DETAIL"}, rows)
}

// StatusOptions are the options of hactl status.
type StatusOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	Output    string
}

// NewCmdStatus builds hactl status.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the live topology: master, replicas with offsets and lag, sentinels",
		Args:  cobra.NoArgs,
		RunE:  runE(opts, &opts.Output, runF, statusRun),
	}
	inventoryOutputFlags(cmd, &opts.Inventory, &opts.Output)
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	c := verify.FromInventory(inv, sec)
	t := verify.Status(ctx, c)
	if opts.Output == "json" {
		return printJSON(opts.IO.Out, t)
	}
	rows := [][]string{{t.Master, "master", strconv.FormatInt(t.MasterOffset, 10), "0", "", ""}}
	for _, r := range t.Replicas {
		rows = append(rows, []string{r.Name, "replica", strconv.FormatInt(r.Offset, 10), strconv.FormatInt(r.Lag, 10), r.Link, r.Error})
	}
	for _, s := range t.Sentinels {
		rows = append(rows, []string{s.Name, "sentinel", "", "", "names " + s.Master + " epoch " + strconv.FormatInt(s.Epoch, 10), s.Error})
	}
	if t.Master == "" {
		rows[0][0] = "?"
	}
	return printTable(opts.IO, []string{"NODE", "ROLE", "OFFSET", "LAG", "LINK/VIEW", "ERROR"}, rows)
}
