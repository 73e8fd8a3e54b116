package main

// hactl certs: the TLS material of security.tls (package certs), and
// what hactl generates for the security section (ACL passwords, CA,
// certificates): every command loads it as it is (resolveSecure) and
// fails naming what is missing; only hactl up generates it
// (prepareMaterial), after checking that no host already runs with
// material this machine lacks.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
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

// restoreHint says how to get the local material back.
const restoreHint = "copy .hactl/ (beside the inventory) from where the cluster was set up; without a copy see docs/security.md, \"Lost .hactl/\""

// missingMaterialError lists the generated local files that are missing.
type missingMaterialError struct {
	Files []string
}

func (e *missingMaterialError) Error() string {
	return fmt.Sprintf("missing local file(s) %s: hactl up generates them for a new cluster; for a running one, %s",
		strings.Join(e.Files, ", "), restoreHint)
}

// missingMaterial lists the local files hactl generates for inv that do
// not exist: generated passwords, and the CA (unless provided), trust
// bundle, host and client pairs when TLS is on. critical are those whose
// loss changes what hosts already use (passwords, the CA); the others are
// re-issued from the CA.
func missingMaterial(inv *inventory.Inventory) (all, critical []string) {
	absent := func(p string) bool {
		_, err := os.Stat(p)
		return errors.Is(err, fs.ErrNotExist)
	}
	for _, u := range inv.Security.ACL.Users {
		if u.Password.Generated && absent(u.Password.Ref) {
			all, critical = append(all, u.Password.Ref), append(critical, u.Password.Ref)
		}
	}
	if !inv.Security.TLS.Enabled {
		return all, critical
	}
	s := certStore(inv)
	if s.CACert == "" {
		for _, f := range []string{"ca.pem", "ca.key"} {
			if p := filepath.Join(s.Dir, f); absent(p) {
				all, critical = append(all, p), append(critical, p)
			}
		}
	}
	names := []string{}
	for _, sub := range subjects(inv) {
		names = append(names, filepath.Join("hosts", sub.Name))
	}
	for _, n := range append(names, "client") {
		for _, p := range []string{filepath.Join(s.Dir, n+".pem"), filepath.Join(s.Dir, n+".key")} {
			if absent(p) {
				all = append(all, p)
			}
		}
	}
	if p := filepath.Join(s.Dir, "trust.pem"); absent(p) {
		all = append(all, p)
	}
	return all, critical
}

// resolveSecure resolves inv's secrets and loads its TLS material as they
// are on disk: it generates nothing and fails with a
// *missingMaterialError naming the generated files that are missing.
func resolveSecure(inv *inventory.Inventory, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*inventory.ResolvedSecrets, error) {
	if all, _ := missingMaterial(inv); len(all) > 0 {
		return nil, &missingMaterialError{Files: all}
	}
	sec, err := inventory.ResolveSecrets(inv, lookupEnv, readFile)
	if err != nil || !inv.Security.TLS.Enabled {
		return sec, err
	}
	if sec.TLS, err = loadMaterial(inv); err != nil {
		return nil, err
	}
	return sec, nil
}

// prepareMaterial is hactl up's part: it generates the missing passwords
// and TLS material of inv, renews due certificates, and resolves the
// secrets. A missing password or CA is generated only when no host holds
// hactl's aclfile naming that user, or its TLS files (a cluster set up from
// another copy of .hactl/): new ones would lock every client out.
//
// renew false leaves the certificates as they are (hactl certs rotate has
// just issued them, maybe with a validity below renew_before).
func prepareMaterial(ctx context.Context, f *Factory, inv *inventory.Inventory, renew bool) (*inventory.ResolvedSecrets, error) {
	if _, critical := missingMaterial(inv); len(critical) > 0 {
		if err := checkNoHostHas(ctx, f, inv, critical); err != nil {
			return nil, err
		}
		made, err := inventory.GenerateSecrets(inv)
		if err != nil {
			return nil, err
		}
		for _, p := range made {
			fmt.Fprintf(f.IO.ErrOut, "generated: %s\n", p)
		}
	}
	if t := inv.Security.TLS; t.Enabled && renew {
		issued, err := certStore(inv).Ensure(subjects(inv), t.CertValidity, t.RenewBefore, time.Now())
		if err != nil {
			return nil, fmt.Errorf("TLS material: %w", err)
		}
		if len(issued) > 0 {
			fmt.Fprintf(f.IO.ErrOut, "issued certificates: %s\n", strings.Join(issued, ", "))
		}
	}
	return resolveSecure(inv, f.LookupEnv, f.ReadFile)
}

// hostMaterial is what a host holds of hactl's generated material.
type hostMaterial struct {
	TLS      bool     // the trust bundle (tls-ca-cert-file) exists
	ACLUsers []string // users of hactl's aclfile, when it exists
}

// probeMaterialCmd prints "tls" when the trust bundle exists and
// "user NAME" for every user of the aclfile. It only reads.
func probeMaterialCmd(inv *inventory.Inventory, l provision.Layout) string {
	ca, _, _ := templates.TLSPaths(inv.Engine)
	acl := l.Path(path.Join(templates.ConfigDir(inv.Engine), templates.ACLFileName))
	return fmt.Sprintf("if [ -e %s ]; then echo tls; fi; if [ -e %s ]; then sed -n 's/^user \\([^ ]*\\) .*/user \\1/p' %s; fi",
		provision.Quote(l.Path(ca)), provision.Quote(acl), provision.Quote(acl))
}

// parseMaterial reads probeMaterialCmd's output.
func parseMaterial(out []byte) hostMaterial {
	var m hostMaterial
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "tls" {
			m.TLS = true
		} else if u, ok := strings.CutPrefix(line, "user "); ok {
			m.ACLUsers = append(m.ACLUsers, u)
		}
	}
	return m
}

// checkNoHostHas fails when a host already holds what the missing local
// files stand for: the CA (its TLS files) or a generated user's password
// (the user in its aclfile). A host that cannot be asked fails it too.
func checkNoHostHas(ctx context.Context, f *Factory, inv *inventory.Inventory, missing []string) error {
	caMissing := false
	users := map[string]string{} // user -> its missing password file
	for _, p := range missing {
		if filepath.Dir(p) == certStore(inv).Dir {
			caMissing = true
		}
	}
	for _, u := range inv.Security.ACL.Users {
		if slices.Contains(missing, u.Password.Ref) {
			users[u.Name] = u.Password.Ref
		}
	}
	var errs []error
	for _, h := range inv.Hosts {
		if !h.Has(inventory.RoleEngine) && !h.Has(inventory.RoleSentinel) {
			continue
		}
		t, l, err := f.Connect(ctx, inv, &h)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot check for existing TLS files and aclfile before generating %s: %w",
				h.Name, strings.Join(missing, ", "), err))
			continue
		}
		res, err := t.Run(ctx, probeMaterialCmd(inv, l), nil)
		t.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot check for existing TLS files and aclfile: %w", h.Name, err))
			continue
		}
		m := parseMaterial(res.Stdout)
		if caMissing && m.TLS {
			errs = append(errs, fmt.Errorf("%s already has hactl's TLS files, but the local CA (%s) is missing: a new CA would lock hactl and every client out; %s",
				h.Name, filepath.Join(certStore(inv).Dir, "ca.pem"), restoreHint))
		}
		for _, u := range m.ACLUsers {
			if p, ok := users[u]; ok {
				errs = append(errs, fmt.Errorf("%s already has ACL user %s, but its local password file %s is missing: a new password would lock its clients out; %s",
					h.Name, u, p, restoreHint))
			}
		}
	}
	return errors.Join(errs...)
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
			return certsStatusRun(c.Context(), status)
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

// certRow is one line of hactl certs status: a local file, or what a
// host serves (Source "served").
type certRow struct {
	Name     string     `json:"name"`
	Source   string     `json:"source"` // local, or served HOST:PORT
	Subject  string     `json:"subject,omitempty"`
	Issuer   string     `json:"issuer,omitempty"`
	NotAfter time.Time  `json:"not_after"`
	DaysLeft int        `json:"days_left"`
	State    string     `json:"state"`
	SANs     []string   `json:"sans,omitempty"`
	Error    string     `json:"error,omitempty"`
	Info     certs.Info `json:"-"`
}

// servedCert is the certificate a host presented, or why it did not.
type servedCert struct {
	Name, Addr string
	Info       certs.Info
	Err        error
}

// certRows turns the local certificates and the served ones into rows;
// bad is set when one (but the previous CA) is unreadable, expired or
// below min_validity.
func certRows(local []certs.NamedInfo, served []servedCert, t inventory.TLS, now time.Time) (rows []certRow, bad bool) {
	add := func(r certRow, in certs.Info) {
		if r.Error == "" {
			r.Subject, r.Issuer, r.NotAfter, r.SANs = in.Subject, in.Issuer, in.NotAfter, append(slices.Clone(in.DNSNames), in.IPs...)
			r.DaysLeft = int(in.Left(now).Hours() / 24)
			r.State = string(in.State(now, t.RenewBefore))
			if r.State != string(certs.StateExpired) && in.Left(now) < t.MinValidity {
				r.State = "below min_validity"
			}
		}
		bad = bad || (r.State != string(certs.StateOK) && r.State != string(certs.StateWarn) && r.Name != "ca-previous")
		rows = append(rows, r)
	}
	for _, n := range local {
		add(certRow{Name: n.Name, Source: "local", Error: n.Err, State: "error"}, n.Info)
	}
	for _, s := range served {
		r := certRow{Name: s.Name, Source: "served " + s.Addr, State: "error"}
		if s.Err != nil {
			r.Error = s.Err.Error()
		}
		add(r, s.Info)
	}
	return rows, bad
}

// servedCerts asks every engine, and every sentinel when they speak TLS,
// for the certificate it presents.
func servedCerts(ctx context.Context, vc verify.Config, tlsOnly bool) []servedCert {
	nodes := slices.Clone(vc.Engines)
	if tlsOnly {
		nodes = append(nodes, vc.Sentinels...)
	}
	var out []servedCert
	for _, n := range nodes {
		s := servedCert{Name: n.Name, Addr: n.Addr}
		if cert, err := verify.ServedCertificate(ctx, vc, n.Addr); err != nil {
			s.Err = err
		} else {
			s.Info = certs.InfoOf(cert)
		}
		out = append(out, s)
	}
	return out
}

// certsStatusRun shows the local certificates and those the hosts serve;
// it generates and renews nothing (hactl up and certs rotate do).
func certsStatusRun(ctx context.Context, opts *CertsOptions) error {
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	if !inv.Security.TLS.Enabled {
		return flagErrorf("security.tls is not enabled in %s", inv.File)
	}
	local, err := certStore(inv).Status(subjects(inv))
	if err != nil {
		return err
	}
	rows, bad := certRows(local, servedCerts(ctx, verify.FromInventory(inv, sec), inv.Security.TLS.TLSOnly()), inv.Security.TLS, time.Now())
	if opts.Output == "json" {
		if err := printJSON(opts.IO.Out, rows); err != nil {
			return err
		}
	} else {
		var tab [][]string
		for _, r := range rows {
			tab = append(tab, []string{r.Name, r.State, strconv.Itoa(r.DaysLeft), r.NotAfter.UTC().Format(time.DateOnly), r.Issuer, r.Source, strings.Join(r.SANs, ",") + r.Error})
		}
		if err := printTable(opts.IO, []string{"NAME", "STATE", "DAYS", "NOT AFTER", "ISSUER", "SOURCE", "SANS"}, tab); err != nil {
			return err
		}
	}
	if bad {
		return ErrVerifyFailed
	}
	return nil
}

// certsRotateRun renews the certificates and reloads them on the hosts.
// With --new-ca it runs in two phases: first the trust bundle with both
// CAs is installed and reloaded everywhere (the certificates stay those of
// the old CA), then certificates of the new CA are issued, installed and
// reloaded: no host ever presents a certificate another does not trust.
func certsRotateRun(ctx context.Context, opts *CertsOptions) error {
	if opts.NewCA && opts.DropPrevious {
		return flagErrorf("--new-ca and --drop-previous together would distrust the CA the hosts still use: drop it in a later run")
	}
	inv, sec, err := opts.f.load(opts.Inventory)
	if err != nil {
		return err
	}
	if !inv.Security.TLS.Enabled {
		return flagErrorf("security.tls is not enabled in %s", inv.File)
	}
	validity := inv.Security.TLS.CertValidity
	if opts.Days > 0 {
		validity = time.Duration(opts.Days) * 24 * time.Hour
	}
	store := certStore(inv)
	if opts.NewCA {
		if _, err := store.Rotate(subjects(inv), certs.RotateOptions{NewCA: true}, time.Now()); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.ErrOut, "new CA: installing the trust bundle with both CAs first")
		if err := installAndReload(ctx, opts, sec.TLS.Client); err != nil {
			return fmt.Errorf("phase 1 of --new-ca (trust both CAs): %w; once fixed run hactl certs rotate (without --new-ca) to finish", err)
		}
		if _, sec, err = opts.f.load(opts.Inventory); err != nil {
			return err
		}
	}
	// The hosts' running certificates are of the previous client's CA:
	// the reload connects with the client certificate they know.
	old := sec.TLS.Client
	issued, err := store.Rotate(subjects(inv), certs.RotateOptions{DropPrevious: opts.DropPrevious, Validity: validity}, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "issued: %s\n", strings.Join(issued, ", "))
	return installAndReload(ctx, opts, old)
}

// installAndReload installs the local TLS material with hactl up (whose
// plan restarts nothing for certificate files alone; its report goes to
// stderr), then reloads it: the engines by CONFIG SET, connecting with the
// client certificate old, the sentinels by a restart.
func installAndReload(ctx context.Context, opts *CertsOptions, old inventory.KeyPair) error {
	upIO := *opts.IO
	upIO.Out = opts.IO.ErrOut
	if err := upRun(ctx, &UpOptions{IO: &upIO, f: opts.f, Inventory: opts.Inventory, Output: "table", Timeout: opts.Timeout, keepCerts: true}); err != nil {
		return fmt.Errorf("install the TLS files: %w", err)
	}
	inv, sec, err := opts.f.load(opts.Inventory)
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
