package provision

import (
	"context"
	"fmt"
)

// ServiceMode says how services run on a host.
type ServiceMode string

// The service modes.
const (
	// Systemd manages services with systemctl (real hosts, nspawn lab).
	Systemd ServiceMode = "systemd"
	// Processes runs services as plain processes through a
	// ProcessManager (the process lab, several "hosts" on one machine).
	Processes ServiceMode = "process"
)

// ProcessManager runs the services of a Processes-mode host: it is that
// host's stand-in for systemctl. The process lab implements it (package
// lab: a process group per service, its pid and definition in the lab's
// state directory), so `hactl lab kill|stop|start` see exactly what
// `hactl up` started.
type ProcessManager interface {
	// Running reports whether the service called name runs.
	Running(ctx context.Context, name string) (bool, error)
	// Restart stops the service if it runs, records argv as its command
	// line and starts it.
	Restart(ctx context.Context, name string, argv []string) error
}

// Layout says where a host keeps its files and how it runs services.
type Layout struct {
	Root     string // prefix of every path on the host; "" on real hosts
	Services ServiceMode
	// Manager runs the services in Processes mode; unused with Systemd.
	Manager ProcessManager
}

// Path returns p under the layout's root.
func (l Layout) Path(p string) string { return l.Root + p }

// Service is one long-running program hactl manages on a host.
type Service struct {
	Name  string // systemd unit name without .service, also the process name
	Phase Phase  // when it is (re)started
	// Triggers are the paths (files, binaries) whose change restarts it.
	Triggers []string
	// Exec is the command line in Processes mode (paths under the root).
	Exec []string
}

// StatusCmds returns the commands that succeed when s is running and when
// it is enabled at boot (systemd mode; in Processes mode the probe asks
// the Manager instead).
func (l Layout) StatusCmds(s Service) (active, enabled string) {
	return "systemctl is-active --quiet " + Quote(s.Name), "systemctl is-enabled --quiet " + Quote(s.Name)
}

// RestartCmd (re)starts s with systemctl; "" in Processes mode, where
// RestartFunc does it.
func (l Layout) RestartCmd(s Service) string {
	if l.Services == Processes {
		return ""
	}
	return "systemctl restart " + Quote(s.Name)
}

// RestartFunc (re)starts s through the Manager in Processes mode; nil in
// systemd mode, where RestartCmd does it.
func (l Layout) RestartFunc(s Service) func(context.Context) error {
	if l.Services != Processes {
		return nil
	}
	return func(ctx context.Context) error {
		if l.Manager == nil {
			return fmt.Errorf("restart %s: no process manager for this host", s.Name)
		}
		return l.Manager.Restart(ctx, s.Name, s.Exec)
	}
}

// running asks the Manager which services run (Processes mode).
func (l Layout) running(ctx context.Context, services []Service) (map[string]bool, error) {
	out := map[string]bool{}
	if len(services) == 0 {
		return out, nil
	}
	if l.Manager == nil {
		return nil, fmt.Errorf("no process manager for this host")
	}
	for _, s := range services {
		ok, err := l.Manager.Running(ctx, s.Name)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		}
		out[s.Name] = ok
	}
	return out, nil
}

// EnableCmd enables s at boot; "" in Processes mode.
func (l Layout) EnableCmd(s Service) string {
	if l.Services == Processes {
		return ""
	}
	return "systemctl enable --quiet " + Quote(s.Name)
}

// DaemonReloadCmd makes systemd read changed units; "" in Processes mode.
func (l Layout) DaemonReloadCmd() string {
	if l.Services == Processes {
		return ""
	}
	return "systemctl daemon-reload"
}
