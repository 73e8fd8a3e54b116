package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hactl/hactl/provision"
	"github.com/hactl/hactl/templates"
	"github.com/spf13/cobra"
)

// RenderOptions are the options of hactl render.
type RenderOptions struct {
	IO        *IOStreams
	f         *Factory
	Inventory string
	Host      string
	Master    string
	Out       string
}

// NewCmdRender builds hactl render.
func NewCmdRender(f *Factory, runF func(*RenderOptions) error) *cobra.Command {
	opts := &RenderOptions{IO: f.IO, f: f}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print or write the files hactl up installs on each host",
		Long: `Render prints the files of every host (or --host), exactly as hactl up
writes them for the given master (default: the inventory's). With --out DIR it
writes them under DIR/HOST/<path on the host> instead. The output holds the
passwords: keep it private.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return renderRun(opts)
		},
	}
	inventoryFlag(cmd, &opts.Inventory)
	cmd.Flags().StringVar(&opts.Host, "host", "", "render only this host")
	cmd.Flags().StringVar(&opts.Master, "master", "", "render replicas toward this master (default: the inventory's)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "write the files under this directory instead of printing them")
	return cmd
}

func renderRun(opts *RenderOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	hosts := inv.Hosts
	if opts.Host != "" {
		h, ok := inv.Host(opts.Host)
		if !ok {
			return flagErrorf("--host %s: no such host in %s", opts.Host, inv.File)
		}
		hosts = hosts[:0:0]
		hosts = append(hosts, *h)
	}
	for _, h := range hosts {
		l := layoutFor(inv, &h)
		files, err := templates.Render(inv, sec, templates.Params{Host: h.Name, Master: opts.Master, Root: l.Root})
		if err != nil {
			return err
		}
		for _, fl := range files {
			if l.Services == provision.Processes {
				fl.Owner = "" // as provision.BuildSpec: lab processes run as the invoking user
			}
			if opts.Out == "" {
				fmt.Fprintf(opts.IO.Out, "==> %s:%s (%04o %s) <==\n%s\n", h.Name, fl.Path, fl.Mode, fl.Owner, fl.Content)
				continue
			}
			dest := filepath.Join(opts.Out, h.Name, fl.Path)
			if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(dest, fl.Content, fl.Mode); err != nil {
				return fmt.Errorf("write %s: %w", dest, err)
			}
			fmt.Fprintln(opts.IO.Out, dest)
		}
	}
	return nil
}
