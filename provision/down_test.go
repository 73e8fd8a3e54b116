package provision

import (
	"context"
	"strings"
	"testing"
)

func TestPlanDownHost(t *testing.T) {
	spec := testSpec()
	all := []string{
		"stop hactl-engine running", "remove /etc/hactl/engine.conf written by hactl",
		"remove /etc/systemd/system/hactl-engine.service written by hactl",
		"remove /etc/redis/sentinel.conf written by hactl",
		"remove /usr/local/bin/hactl-engine installed by hactl", "daemon-reload systemd units removed"}
	tests := []struct {
		name  string
		purge bool
		edit  func(*HostState)
		want  []string // kind target reason
	}{
		{"installed", false, func(*HostState) {}, all},
		{"installed, purge", true, func(*HostState) {}, append(all[:len(all):len(all)], "purge /var/lib/hactl/engine --purge", "user hactl --purge")},
		{"nothing left", false, func(st *HostState) { *st = HostState{} }, nil},
		{"nothing left, purge", true, func(st *HostState) { *st = HostState{} }, nil},
		{"data and user left: kept without purge", false, func(st *HostState) {
			*st = HostState{User: true, Files: map[string]FileState{"/var/lib/hactl/engine": {IsDir: true}}}
		}, nil},
		{"stopped but enabled", false, func(st *HostState) {
			*st = HostState{Enabled: map[string]bool{"hactl-engine": true}}
		}, []string{"stop hactl-engine enabled"}},
		{"a file not written by hactl is left alone", false, func(st *HostState) {
			*st = HostState{Files: map[string]FileState{"/etc/redis/sentinel.conf": {SHA256: "pkg"}}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := converged(spec)
			tt.edit(&st)
			var got []string
			for _, s := range PlanDownHost(spec, st, tt.purge) {
				got = append(got, s.Kind+" "+s.Target+" "+s.Reason)
				if s.Host != "db01" || s.Cmd == "" || s.Phase != PhasePrepare {
					t.Errorf("step %+v", s)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// stopper is a ProcessManager that can also stop services.
type stopper struct {
	fakeManager
	stopped []string
}

func (s *stopper) Stop(_ context.Context, name string) error {
	s.stopped = append(s.stopped, name)
	return nil
}

func TestPlanDownProcesses(t *testing.T) {
	spec := testSpec()
	m := &stopper{}
	spec.Layout = Layout{Root: "/lab/db01", Services: Processes, Manager: m}
	st := converged(spec)
	st.Active["hactl-engine"], st.Enabled = false, nil // killed: its definition is left
	steps := PlanDownHost(spec, st, false)
	if len(steps) == 0 || steps[0].Kind != "stop" || steps[0].Reason != "defined" || steps[0].Do == nil {
		t.Fatalf("first step %+v, want a stop through the manager", steps)
	}
	if err := steps[0].Do(context.Background()); err != nil || strings.Join(m.stopped, ",") != "hactl-engine" {
		t.Fatalf("stop: %v, stopped %v", err, m.stopped)
	}
	for _, s := range steps {
		if s.Kind == "daemon-reload" {
			t.Error("daemon-reload in Processes mode")
		}
	}
	// A manager that cannot stop gives a clear error.
	spec.Layout.Manager = &fakeManager{}
	steps = PlanDownHost(spec, st, false)
	if err := steps[0].Do(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot stop") {
		t.Fatalf("stop without a stopper: %v", err)
	}
}
