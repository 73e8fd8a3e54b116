package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// InventoryCheckOptions are the options of hactl inventory check.
type InventoryCheckOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
}

// NewCmdInventory builds hactl inventory.
func NewCmdInventory(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "inventory <command>", Short: "Work with inventory files"}
	cmd.AddCommand(NewCmdInventoryCheck(f, nil))
	return cmd
}

// NewCmdInventoryCheck builds hactl inventory check.
func NewCmdInventoryCheck(f *Factory, runF func(*InventoryCheckOptions) error) *cobra.Command {
	opts := &InventoryCheckOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate an inventory and its secrets, reporting every error with file:line:col",
		Args:  cobra.NoArgs,
		RunE:  runE(opts, nil, runF, inventoryCheckRun),
	}
	inventoryFlag(cmd, &opts.Inventory)
	return cmd
}

func inventoryCheckRun(_ context.Context, opts *InventoryCheckOptions) error {
	inv, _, err := opts.f.loadFile(opts.Inventory)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "%s: ok: service %s, %d hosts, engine %s, provider %s, master %s\n",
		inv.File, inv.Service, len(inv.Hosts), inv.Engine, inv.Provider, inv.Master)
	return nil
}
