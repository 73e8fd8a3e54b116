package main

// hactl certs: the TLS material of security.tls (package certs), and the
// hook that makes every command that loads an inventory generate what the
// security section needs and is missing (ACL passwords, CA, certificates).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/certs"
	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/provision"
	"github.com/hactl/hactl/templates"
	"github.com/hactl/hactl/verify"
	"github.com/spf13/cobra"
)

// resolveSecure generates the missing generated passwords and TLS
// material of inv (local files, 0600, under .hactl beside the inventory),
// resolves the secrets and loads the TLS material into them.
func resolveSecure(inv *inventory.Inventory, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*inventory.ResolvedSecrets, error) {
	if _, err := inventory.GenerateSecrets(inv); err != nil {
		return nil, err
	}
	sec, err := inventory.ResolveSecrets(inv, lookupEnv, readFile)
	if err != nil || !inv.Security.TLS.Enabled {
		return sec, err
	}
	t := inv.Security.TLS
	if _, err := certStore(inv).Ensure(subjects(inv), t.CertValidity, t.RenewBefore, time.Now()); err != nil {
		return nil, fmt.Errorf("TLS material: %w", err)
	}
	if sec.TLS, err = loadMaterial(inv); err != nil {
		return nil, err
	}
	return sec, nil
}

// certStore is the local store of inv's TLS material.
func certStore(inv *inventory.Inventory) certs.Store {
	t := inv.Security.TLS
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(inv.File), p) // relative to the inventory, like secret files
	}
	return certs.Store{Dir: inventory.TLSDir(inv), CACert: rel(t.CACert), CAKey: rel(t.CAKey)}
}

// subjects lists a certificate per engine or sentinel host, with its
// name, addresses and bind addresses, and the proxies' names and
// addresses (clients reach the engines through HAProxy, TLS end to end).
func subjects(inv *inventory.Inventory) []certs.Subject {
	var proxies []string
	for _, h := range inv.HostsWith(inventory.RoleHAProxy) {
		proxies = append(proxies, h.Name, h.Address, h.AnnounceAddress())
	}
	var out []certs.Subject
	for _, h := range inv.Hosts {
		if !h.Has(inventory.RoleEngine) && !h.Has(inventory.RoleSentinel) {
			continue
		}
		names := append([]string{h.Name, h.Address, h.AnnounceAddress(), "127.0.0.1", "localhost"}, h.Bind...)
		out = append(out, certs.Subject{Name: h.Name, Names: append(names, proxies...)})
	}
	return out
}

// loadMaterial reads the trust bundle, every host's pair and hactl's
// client pair from the local store.
func loadMaterial(inv *inventory.Inventory) (*inventory.TLSMaterial, error) {
	s := certStore(inv)
	m := &inventory.TLSMaterial{Hosts: map[string]inventory.KeyPair{}}
	for _, sub := range subjects(inv) {
		hm, err := s.Host(sub.Name)
		if err != nil {
			return nil, err
		}
		m.TrustPEM = hm.TrustPEM
		m.Hosts[sub.Name] = inventory.KeyPair{CertPEM: hm.CertPEM, KeyPEM: hm.KeyPEM}
	}
	c, err := s.Client()
	if err != nil {
		return nil, err
	}
	m.TrustPEM = c.TrustPEM
	m.Client = inventory.KeyPair{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM}
	return m, nil
}

// CertsOptions are the flags of hactl certs status and rotate.
type CertsOptions struct {
	IO           *IOStreams
	f            *Factory
	Inventory    string
	Output       string
	Days         int  // rotate: validity of the new certificates; 0 means security.tls.cert_validity
	NewCA        bool // rotate: a new CA, the old one trusted until --drop-previous
	DropPrevious bool
	Timeout      time.Duration
	rotate       bool
}

// NewCmdCerts builds hactl certs.
func NewCmdCerts(f *Factory, runF func(*CertsOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs <command>",
		Short: "Inspect and rotate the TLS certificates of security.tls",
		Long: `hactl keeps a CA and a certificate per host under .hactl/tls beside the
inventory (mode 0600); hactl up creates what is missing. See docs/security.md.`,
	}
	status := &CertsOptions{IO: f.IO, f: f}
	st := &cobra.Command{
		Use:   "status",
		Short: "Show the CA and host certificates and how long they stay valid",
		Long:  "Show the CA and host certificates. Exit 1 when one is expired or has less than security.tls.min_validity left.\n\n" + exitHelp,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkOutput(status.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(status)
			}
			return certsStatusRun(status)
		},
	}
	inventoryFlag(st, &status.Inventory)
	outputFlag(st, &status.Output)
	rot := &CertsOptions{IO: f.IO, f: f, rotate: true}
	rt := &cobra.Command{
		Use:   "rotate",
		Short: "Issue new certificates, install them and reload them without downtime",
		Long: `Issue a new certificate for every host (and hactl's client), install them
with hactl up (no restart), then reload them: CONFIG SET tls-cert-file on
each engine (replicas first, then the master), and a restart of each
sentinel, one at a time.

--new-ca also replaces a generated CA; the old CA stays in the trust bundle
so old and new certificates keep talking during the rotation. Run
hactl certs rotate --drop-previous once every host has the new ones.

` + exitHelp,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if rot.Days < 0 {
				return flagErrorf("invalid --days %d: must be positive", rot.Days)
			}
			if runF != nil {
				return runF(rot)
			}
			return certsRotateRun(c.Context(), rot)
		},
	}
	inventoryFlag(rt, &rot.Inventory)
	rt.Flags().IntVar(&rot.Days, "days", 0, "validity of the new certificates in days (default security.tls.cert_validity)")
	rt.Flags().BoolVar(&rot.NewCA, "new-ca", false, "also replace the CA (the old one stays trusted until --drop-previous)")
	rt.Flags().BoolVar(&rot.DropPrevious, "drop-previous", false, "stop trusting the previous CA")
	rt.Flags().DurationVar(&rot.Timeout, "wait", 30*time.Second, "how long a restarted sentinel gets to answer")
	cmd.AddCommand(st, rt)
	return cmd
}

// certRow is one line of hactl certs status.
type certRow struct {
	Name     string     `json:"name"`
	Subject  string     `json:"subject,omitempty"`
	Issuer   string     `json:"issuer,omitempty"`
	NotAfter time.Time  `json:"not_after"`
	DaysLeft int        `json:"days_left"`
	State    string     `json:"state"`
	SANs     []string   `json:"sans,omitempty"`
	Error    string     `json:"error,omitempty"`
	Info     certs.Info `json:"-"`
}

func certsStatusRun(opts *CertsOptions) error {
	inv, _, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	if !inv.Security.TLS.Enabled {
		return flagErrorf("security.tls is not enabled in %s", inv.File)
	}
	st, err := certStore(inv).Status(subjects(inv))
	if err != nil {
		return err
	}
	now, t := time.Now(), inv.Security.TLS
	var rows []certRow
	bad := false
	for _, n := range st {
		r := certRow{Name: n.Name, Error: n.Err, State: "error"}
		if n.Err == "" {
			in := n.Info
			r.Subject, r.Issuer, r.NotAfter, r.SANs = in.Subject, in.Issuer, in.NotAfter, append(slices.Clone(in.DNSNames), in.IPs...)
			r.DaysLeft = int(in.Left(now).Hours() / 24)
			r.State = string(in.State(now, t.RenewBefore))
			if r.State != string(certs.StateExpired) && in.Left(now) < t.MinValidity {
				r.State = "below min_validity"
			}
		}
		bad = bad || (r.State != string(certs.StateOK) && r.State != string(certs.StateWarn) && n.Name != "ca-previous")
		rows = append(rows, r)
	}
	if opts.Output == "json" {
		if err := printJSON(opts.IO.Out, rows); err != nil {
			return err
		}
	} else {
		var tab [][]string
		for _, r := range rows {
			tab = append(tab, []string{r.Name, r.State, strconv.Itoa(r.DaysLeft), r.NotAfter.UTC().Format(time.DateOnly), r.Issuer, strings.Join(r.SANs, ",") + r.Error})
		}
		if err := printTable(opts.IO, []string{"NAME", "STATE", "DAYS", "NOT AFTER", "ISSUER", "SANS"}, tab); err != nil {
			return err
		}
	}
	if bad {
		return ErrVerifyFailed
	}
	return nil
}

func certsRotateRun(ctx context.Context, opts *CertsOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	if !inv.Security.TLS.Enabled {
		return flagErrorf("security.tls is not enabled in %s", inv.File)
	}
	// The engines still trust the old CA only: reload them with the old
	// client certificate and the new trust bundle.
	old := sec.TLS.Client
	validity := inv.Security.TLS.CertValidity
	if opts.Days > 0 {
		validity = time.Duration(opts.Days) * 24 * time.Hour
	}
	issued, err := certStore(inv).Rotate(subjects(inv), certs.RotateOptions{NewCA: opts.NewCA, DropPrevious: opts.DropPrevious, Validity: validity}, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "issued: %s\n", strings.Join(issued, ", "))
	// Install the files: hactl up, whose plan restarts nothing for
	// certificate files alone. Its report goes to stderr.
	upIO := *opts.IO
	upIO.Out = opts.IO.ErrOut
	if err := upRun(ctx, &UpOptions{IO: &upIO, f: opts.f, Inventory: opts.Inventory, Output: "table", Timeout: opts.Timeout}); err != nil {
		return fmt.Errorf("install the new certificates: %w", err)
	}
	inv, sec, err = opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	vc := verify.FromInventory(inv, sec)
	if vc.TLS, err = verify.ClientTLS(sec.TLS.TrustPEM, old.CertPEM, old.KeyPEM); err != nil {
		return err
	}
	master, _, err := verify.DiscoverMaster(ctx, vc)
	if err != nil {
		return fmt.Errorf("find the master before reloading: %w", err)
	}
	if err := reloadEngines(ctx, opts, inv, vc, master); err != nil {
		return err
	}
	return restartSentinels(ctx, opts, inv, sec, master)
}

// reloadEngines makes every engine read its certificate files again
// (CONFIG SET of the tls-* paths, Redis's reload), replicas first.
func reloadEngines(ctx context.Context, opts *CertsOptions, inv *inventory.Inventory, vc verify.Config, master string) error {
	engines := slices.Clone(vc.Engines)
	slices.SortStableFunc(engines, func(a, b verify.Node) int { return btoi(a.Name == master) - btoi(b.Name == master) })
	var errs []error
	for _, e := range engines {
		h, _ := inv.Host(e.Name)
		root := layoutFor(inv, h).Root
		ca, cert, key := templates.TLSPaths(inv.Engine)
		// Redis and hactl-engine reload on any CONFIG SET of these paths,
		// even with the same value (VOLATILE_CONFIG).
		err := verify.ConfigSet(ctx, vc, e.Addr, "tls-cert-file", root+cert, "tls-key-file", root+key, "tls-ca-cert-file", root+ca)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: reload certificates: %w", e.Name, err))
			continue
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s: certificates reloaded (CONFIG SET tls-cert-file)\n", e.Name)
	}
	return errors.Join(errs...)
}

// restartSentinels restarts the sentinels one at a time, each answering
// before the next: sentinels have no certificate reload.
func restartSentinels(ctx context.Context, opts *CertsOptions, inv *inventory.Inventory, sec *inventory.ResolvedSecrets, master string) error {
	vc := verify.FromInventory(inv, sec)
	for _, h := range inv.HostsWith(inventory.RoleSentinel) {
		t, l, err := opts.f.Connect(ctx, inv, &h)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		spec, err := provision.BuildSpec(inv, sec, provision.SpecParams{Host: h.Name, Master: master, Layout: l, Binaries: map[string][]byte{"hactl-engine": {0}, "hactl-sentinel": {0}}})
		if err != nil {
			t.Close()
			return err
		}
		for _, s := range spec.Services {
			if !strings.HasSuffix(s.Name, "sentinel") {
				continue
			}
			if do := l.RestartFunc(s); do != nil {
				err = do(ctx)
			} else {
				_, err = t.Run(ctx, l.RestartCmd(s), nil)
			}
			if err == nil {
				err = verify.WaitReady(ctx, vc, h.Name, true, "", opts.Timeout)
			}
			if err != nil {
				t.Close()
				return fmt.Errorf("%s: restart %s: %w", h.Name, s.Name, err)
			}
			fmt.Fprintf(opts.IO.ErrOut, "%s: %s restarted with the new certificate\n", h.Name, s.Name)
		}
		t.Close()
	}
	return nil
}
