package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ProcessStopper is implemented by a ProcessManager that can stop a
// service and forget its definition (systemctl disable --now): hactl down
// needs it on Processes-mode hosts.
type ProcessStopper interface {
	// Stop stops the service called name, if it runs, and removes its
	// definition; an unknown service is not an error.
	Stop(ctx context.Context, name string) error
}

// RemoveCmd removes files (rm -f): a missing file is not an error.
func RemoveCmd(paths ...string) string { return "rm -f -- " + quoteAll(paths) }

// PurgeCmd removes directories and everything in them.
func PurgeCmd(paths ...string) string { return "rm -rf -- " + quoteAll(paths) }

// StopCmd stops s and disables it at boot; "" in Processes mode, where
// StopFunc does it.
func (l Layout) StopCmd(s Service) string {
	if l.Services == Processes {
		return ""
	}
	return "systemctl disable --now --quiet " + Quote(s.Name)
}

// StopFunc stops s through the Manager in Processes mode; nil in systemd
// mode, where StopCmd does it.
func (l Layout) StopFunc(s Service) func(context.Context) error {
	if l.Services != Processes {
		return nil
	}
	return func(ctx context.Context) error {
		st, ok := l.Manager.(ProcessStopper)
		if !ok {
			return fmt.Errorf("stop %s: the process manager of this host cannot stop services", s.Name)
		}
		return st.Stop(ctx, s.Name)
	}
}

// PlanDownHost compares a host spec with what the probe saw and returns
// the steps that take hactl off the host, in order: stop and disable each
// service (proxy, sentinel, then engine), remove the files hactl wrote
// (those that still carry its header: units, configs, sysctl drop-in) and
// its binaries, daemon-reload when a unit went away; with purge also the
// data directories and the service user. Data is kept without purge. A
// host with nothing of hactl left gets no step, so down is idempotent. It
// is pure.
func PlanDownHost(spec HostSpec, st HostState, purge bool) []Step {
	var steps []Step
	add := func(s Step) {
		s.Host, s.Phase = spec.Name, PhasePrepare
		steps = append(steps, s)
	}
	services := slices.Clone(spec.Services)
	slices.SortStableFunc(services, func(a, b Service) int { return int(b.Phase) - int(a.Phase) })
	for _, s := range services {
		reason := serviceLeft(spec, st, s)
		if reason == "" {
			continue
		}
		add(Step{Kind: "stop", Target: s.Name, Reason: reason, Cmd: spec.Layout.StopCmd(s), Do: spec.Layout.StopFunc(s), Service: s.Name})
	}
	unitGone := false
	for _, f := range spec.Files {
		cur, ok := st.Files[f.Path]
		if !ok || cur.IsDir || !cur.Managed {
			continue // absent, or not written by hactl (a package's file): left alone
		}
		unitGone = unitGone || isUnit(f.Path)
		add(Step{Kind: "remove", Target: f.Path, Reason: "written by hactl", Cmd: RemoveCmd(f.Path)})
	}
	for _, b := range spec.Binaries {
		if _, ok := st.Files[b.Path]; ok {
			add(Step{Kind: "remove", Target: b.Path, Reason: "installed by hactl", Cmd: RemoveCmd(b.Path)})
		}
	}
	if unitGone && spec.Layout.Services == Systemd {
		add(Step{Kind: "daemon-reload", Target: "systemd", Reason: "units removed", Cmd: spec.Layout.DaemonReloadCmd()})
	}
	if !purge {
		return steps
	}
	for _, d := range spec.Dirs {
		if cur, ok := st.Files[d.Path]; ok && cur.IsDir {
			add(Step{Kind: "purge", Target: d.Path, Reason: "--purge", Cmd: PurgeCmd(d.Path)})
		}
	}
	if spec.User != "" && st.User {
		add(Step{Kind: "user", Target: spec.User, Reason: "--purge", Cmd: "userdel " + Quote(spec.User)})
	}
	return steps
}

// serviceLeft says why s still has to be stopped, or "" when it is gone.
func serviceLeft(spec HostSpec, st HostState, s Service) string {
	switch {
	case st.Active[s.Name]:
		return "running"
	case st.Enabled[s.Name]:
		return "enabled"
	}
	// Processes mode has no "enabled": a definition is left while any of
	// the service's files hactl wrote is.
	if spec.Layout.Services == Processes {
		for _, p := range s.Triggers {
			if cur, ok := st.Files[p]; ok && (cur.Managed || slices.ContainsFunc(spec.Binaries, func(b Binary) bool { return b.Path == p })) {
				return "defined"
			}
		}
	}
	return ""
}

// isUnit reports whether p is a systemd unit file.
func isUnit(p string) bool {
	return strings.Contains(p, "/systemd/system/") && strings.HasSuffix(p, ".service")
}

// PlanDown probes every host in parallel (read only) and plans the steps
// that take hactl off it; Apply runs them (every step is in the prepare
// phase: hosts in parallel, each host's steps in order).
func PlanDown(ctx context.Context, targets []Target, purge bool) []HostPlan {
	return planAll(ctx, targets, func(s HostSpec, st HostState) []Step { return PlanDownHost(s, st, purge) })
}
