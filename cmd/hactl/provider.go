package main

// Provider glue of hactl up and hactl down: for provider pulumi and vagrant
// without hosts, the hosts come from the stack or from vagrant ssh-config,
// are written into an SSH inventory beside the original
// (INVENTORY.hosts.yaml; the lab target uses the inventory its lab wrote),
// and up and down go on with that inventory exactly as with SSH hosts.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/lab"
	"github.com/hactl/hactl/provision/pulumi"
	"github.com/hactl/hactl/provision/vagrant"
	"github.com/spf13/cobra"
)

// ProviderOptions are the provider flags of hactl up and hactl down.
type ProviderOptions struct {
	PulumiRoot string        // directory holding bin/pulumi
	VagrantUp  bool          // up: run vagrant up first
	SSHTries   int           // up: how often to try each new host's SSH port
	SSHEvery   time.Duration // up: between those tries
	Destroy    bool          // down: destroy the stack
	Yes        bool          // down --destroy: do not ask
}

// providerFlags adds the provider flags; up selects up's or down's.
func providerFlags(cmd *cobra.Command, p *ProviderOptions, up bool) {
	cmd.Flags().StringVar(&p.PulumiRoot, "pulumi-root", "", "directory holding bin/pulumi (default: pulumi.cli of the inventory, else PATH; make pulumi-cli builds one)")
	if up {
		cmd.Flags().BoolVar(&p.VagrantUp, "vagrant-up", false, "provider vagrant: run vagrant up first (never done otherwise)")
		cmd.Flags().IntVar(&p.SSHTries, "ssh-tries", 60, "provider pulumi: how often to try each new host's SSH port")
		cmd.Flags().DurationVar(&p.SSHEvery, "ssh-every", 5*time.Second, "provider pulumi: time between those tries")
		return
	}
	cmd.Flags().BoolVar(&p.Destroy, "destroy", false, "provider pulumi: destroy the stack's machines (asks first)")
	cmd.Flags().BoolVar(&p.Yes, "yes", false, "with --destroy: do not ask")
}

// errNotCreated says the provider made no machines yet: a dry run has
// nothing to diff, other commands nothing to work on.
var errNotCreated = errors.New("the machines do not exist yet")

// errNotUp says hactl up has not yet written the hosts of an inventory
// whose provider makes them.
var errNotUp = errors.New("no hosts from the provider yet")

// providerMode is what the provider is asked for.
type providerMode int

const (
	modeUp      providerMode = iota // create or update, then wait for SSH
	modePreview                     // show the changes, then the existing hosts if any
	modeRead                        // the existing hosts, changing nothing
)

// loadProvided loads the inventory; when its provider makes the hosts it
// asks the provider for them (creating them in modeUp) and returns the
// inventory with the hosts written in.
func loadProvided(ctx context.Context, f *Factory, flag string, po ProviderOptions, mode providerMode) (*inventory.Inventory, *inventory.ResolvedSecrets, error) {
	inv, sec, err := f.loadFile(flag)
	if err != nil || !inv.Provisioned() {
		return inv, sec, err
	}
	var provided []inventory.ProvidedHost
	var labInventory, what string
	switch inv.Provider {
	case inventory.ProviderPulumi:
		hosts, err := pulumiHosts(ctx, f, inv, po, mode)
		if err != nil {
			return nil, nil, err
		}
		provided, labInventory = hosts.Provided(), hosts.Inventory
		what = fmt.Sprintf("pulumi stack, target %s", inv.Pulumi.Target)
	case inventory.ProviderVagrant:
		if provided, err = vagrantHosts(ctx, f, inv, po.VagrantUp && mode == modeUp); err != nil {
			return nil, nil, err
		}
		what = "vagrant ssh-config in " + inv.Vagrant.Dir
	}
	if labInventory != "" {
		fmt.Fprintf(f.IO.ErrOut, "hosts: the lab's inventory %s\n", labInventory)
		return f.loadFile(labInventory)
	}
	data, err := f.ReadFile(inv.File)
	if err != nil {
		return nil, nil, fmt.Errorf("read inventory: %w", err)
	}
	out := hostsFile(inv.File)
	header := fmt.Sprintf("Written by hactl from %s (%s): the hosts the provider made.\nRewritten on every hactl up; edit %s instead. hactl verify, status,\nfailover, heal and certs use this file when given that one.",
		filepath.Base(inv.File), what, filepath.Base(inv.File))
	b, err := inventory.Materialize(data, provided, header)
	if err != nil {
		return nil, nil, err
	}
	// 0600: the secrets section is copied verbatim (an inline value is
	// accepted with a warning).
	if err := os.WriteFile(out, b, 0o600); err != nil {
		return nil, nil, fmt.Errorf("write the hosts' inventory: %w", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "hosts: %d from the %s, written to %s\n", len(provided), what, out)
	return f.loadFile(out)
}

// hostsFile is where the inventory with the provider's hosts is written:
// beside the original, so relative paths stay valid.
func hostsFile(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".hosts.yaml"
}

// writtenFile is the inventory hactl up wrote with the hosts of inv's
// provider: the lab's for the pulumi lab target, else hostsFile. The
// error wraps errNotUp when hactl up did not write it yet.
func writtenFile(f *Factory, inv *inventory.Inventory) (string, error) {
	notUp := func(path string) error {
		return fmt.Errorf("%s: provider %s: %w: run hactl up -i %s first (it writes %s)",
			inv.File, inv.Provider, errNotUp, inv.File, path)
	}
	if inv.Provider == inventory.ProviderPulumi && inv.Pulumi.Target == inventory.PulumiLab {
		dir := pulumi.LabDir(inv.Pulumi.StateDir)
		l, err := lab.Open(dir)
		switch {
		case errors.Is(err, lab.ErrNoLab):
			return "", notUp("the lab's inventory in " + dir)
		case err != nil:
			return "", fmt.Errorf("%s: the pulumi lab target's lab: %w", inv.File, err)
		}
		return l.Inventory, nil
	}
	path := hostsFile(inv.File)
	if _, err := f.ReadFile(path); errors.Is(err, os.ErrNotExist) {
		return "", notUp(path)
	}
	return path, nil
}

// loadWritten loads the inventory hactl up wrote for inv (writtenFile), so
// verify, status, failover, heal, certs and render work on the provider's
// hosts given the inventory the user wrote. Before the first hactl up it
// says to run it; when inv changed since, it warns that the hosts file is
// older.
func (f *Factory) loadWritten(inv *inventory.Inventory) (*inventory.Inventory, *inventory.ResolvedSecrets, error) {
	path, err := writtenFile(f, inv)
	if err != nil {
		return nil, nil, err
	}
	// The lab's inventory is written once, with the lab: only the hosts
	// file follows the inventory on every hactl up.
	if src, err := os.Stat(inv.File); err == nil && path == hostsFile(inv.File) {
		if dst, err := os.Stat(path); err == nil && src.ModTime().After(dst.ModTime()) {
			fmt.Fprintf(f.IO.ErrOut, "warning: %s changed after hactl up wrote %s: run hactl up to apply the change\n", inv.File, path)
		}
	}
	fmt.Fprintf(f.IO.ErrOut, "hosts: %s (written by hactl up for %s)\n", path, inv.File)
	return f.loadFile(path)
}

// pulumiSpec turns the inventory's pulumi section and the flags into a
// stack spec.
func pulumiSpec(f *Factory, inv *inventory.Inventory, po ProviderOptions) (pulumi.Spec, error) {
	p := inv.Pulumi
	sp := pulumi.Spec{Target: pulumi.Target(p.Target), Project: p.Project, Stack: p.Stack, StateDir: p.StateDir,
		PulumiRoot: p.CLI, Names: p.Names, Size: p.Size, Location: p.Location, Image: p.Image, SSHUser: p.SSHUser,
		OperatorCIDR: p.OperatorCIDR, PrivateCIDR: p.PrivateCIDR, Progress: f.IO.ErrOut,
		Lab: pulumi.LabSpec{Driver: p.Lab.Driver, Subnet: p.Lab.Subnet, Engine: p.Lab.Engine, Bridge: p.Lab.Bridge, Prefix: p.Lab.Prefix}}
	if po.PulumiRoot != "" {
		sp.PulumiRoot = po.PulumiRoot
	}
	switch p.Passphrase.Source {
	case inventory.SecretFile:
		sp.PassphraseFile = p.Passphrase.Ref
	case inventory.SecretEnv:
		sp.PassphraseEnv = p.Passphrase.Ref
	}
	if p.SSHPublicKey != "" {
		b, err := f.ReadFile(p.SSHPublicKey)
		if err != nil {
			return sp, fmt.Errorf("pulumi.ssh_public_key: %w", err)
		}
		sp.SSHPublicKey = strings.TrimSpace(string(b))
	}
	if sp.Target == pulumi.TargetLab {
		// The plugin: pulumi.plugin_dir, else beside the hactl binary.
		if p.PluginDir != "" {
			sp.PluginDirs = []string{p.PluginDir}
		} else if exe, err := os.Executable(); err == nil {
			sp.PluginDirs = []string{filepath.Dir(exe)}
		}
	}
	return sp, nil
}

// pulumiHosts runs the stack as mode says and returns its hosts.
func pulumiHosts(ctx context.Context, f *Factory, inv *inventory.Inventory, po ProviderOptions, mode providerMode) (pulumi.Hosts, error) {
	sp, err := pulumiSpec(f, inv, po)
	if err != nil {
		return pulumi.Hosts{}, err
	}
	start := time.Now()
	switch mode {
	case modePreview:
		changes, err := pulumi.Preview(ctx, sp)
		if err != nil {
			return pulumi.Hosts{}, err
		}
		fmt.Fprintf(f.IO.ErrOut, "pulumi preview: %v\n", changes)
		hosts, err := pulumi.Outputs(ctx, sp)
		if err != nil {
			return pulumi.Hosts{}, fmt.Errorf("%w: hactl up creates them (%v)", errNotCreated, err)
		}
		return hosts, nil
	case modeRead:
		return pulumi.Outputs(ctx, sp)
	}
	hosts, err := pulumi.Up(ctx, sp)
	if err != nil {
		return pulumi.Hosts{}, err
	}
	fmt.Fprintf(f.IO.ErrOut, "pulumi up: %d hosts in %s\n", len(hosts.Hosts), time.Since(start).Round(time.Millisecond))
	if err := pulumi.WaitSSH(ctx, hosts.Hosts, max(po.SSHTries, 1), po.SSHEvery, f.IO.ErrOut); err != nil {
		return pulumi.Hosts{}, err
	}
	return hosts, nil
}

// vagrantHosts reads the VMs from vagrant ssh-config (after vagrant up
// when asked).
func vagrantHosts(ctx context.Context, f *Factory, inv *inventory.Inventory, up bool) ([]inventory.ProvidedHost, error) {
	v := inv.Vagrant
	if up {
		fmt.Fprintf(f.IO.ErrOut, "vagrant up in %s\n", v.Dir)
		// Booting three VMs takes minutes: give it ten timeouts.
		if err := vagrant.Up(ctx, v.Dir, 10*v.Timeout, f.IO.ErrOut); err != nil {
			return nil, err
		}
	}
	out, err := vagrant.SSHConfig(ctx, v.Dir, v.Timeout)
	if err != nil {
		return nil, err
	}
	hosts, err := vagrant.Parse(out)
	if err != nil {
		return nil, err
	}
	return vagrant.Provided(hosts, v.Network, v.Addresses)
}

// destroyStack destroys the inventory's pulumi stack after asking (unless
// yes).
func destroyStack(ctx context.Context, f *Factory, flag string, po ProviderOptions) error {
	inv, _, err := f.loadFile(flag)
	if err != nil {
		return err
	}
	if inv.Provider != inventory.ProviderPulumi || !inv.Provisioned() {
		hint := "it only destroys what a pulumi stack created"
		if inv.Provider == inventory.ProviderVagrant {
			hint = "for vagrant VMs run vagrant destroy -f in " + inv.Vagrant.Dir
		}
		return flagErrorf("--destroy: %s has provider %s with hosts from the file: %s", inv.File, inv.Provider, hint)
	}
	sp, err := pulumiSpec(f, inv, po)
	if err != nil {
		return err
	}
	if !po.Yes {
		fmt.Fprintf(f.IO.ErrOut, "destroy every machine of the pulumi stack (target %s, state %s)? type yes: ", inv.Pulumi.Target, inv.Pulumi.StateDir)
		line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			return errors.New("not confirmed: nothing destroyed (--yes skips the question)")
		}
	}
	start := time.Now()
	if err := pulumi.Destroy(ctx, sp); err != nil {
		return err
	}
	if err := os.Remove(hostsFile(inv.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the hosts' inventory: %w", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "destroyed in %s (the empty stack's state stays in %s)\n", time.Since(start).Round(time.Millisecond), inv.Pulumi.StateDir)
	return nil
}
