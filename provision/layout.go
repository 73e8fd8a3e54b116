package provision

import (
	"fmt"
	"path"
)

// ServiceMode says how services run on a host.
type ServiceMode string

// The service modes.
const (
	// Systemd manages services with systemctl (real hosts, nspawn lab).
	Systemd ServiceMode = "systemd"
	// Processes runs services as plain background processes tracked by a
	// pid file (start-stop-daemon), for the process lab on one machine.
	Processes ServiceMode = "process"
)

// Layout says where a host keeps its files and how it runs services.
type Layout struct {
	Root     string // prefix of every path on the host; "" on real hosts
	Services ServiceMode
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

// pidFile is where Processes mode keeps the service's pid.
func (l Layout) pidFile(s Service) string { return l.Path("/run/hactl/" + s.Name + ".pid") }

// outFile is where Processes mode sends the service's stdout and stderr.
func (l Layout) outFile(s Service) string { return l.Path("/var/log/hactl/" + s.Name + ".out") }

// StatusCmds returns the commands that succeed when s is running and when
// it is enabled at boot (always true in Processes mode).
func (l Layout) StatusCmds(s Service) (active, enabled string) {
	if l.Services == Processes {
		return "start-stop-daemon --status --pidfile " + Quote(l.pidFile(s)), "true"
	}
	return "systemctl is-active --quiet " + Quote(s.Name), "systemctl is-enabled --quiet " + Quote(s.Name)
}

// RestartCmd (re)starts s.
func (l Layout) RestartCmd(s Service) string {
	if l.Services == Processes {
		pid, out := l.pidFile(s), l.outFile(s)
		return fmt.Sprintf("%s\nmkdir -p %s %s && start-stop-daemon --start --quiet --background --make-pidfile --pidfile %s --output %s --startas %s -- %s",
			l.StopCmd(s), Quote(path.Dir(pid)), Quote(path.Dir(out)), Quote(pid), Quote(out), Quote(s.Exec[0]), quoteAll(s.Exec[1:]))
	}
	return "systemctl restart " + Quote(s.Name)
}

// StopCmd stops s; stopping a stopped service succeeds.
func (l Layout) StopCmd(s Service) string {
	if l.Services == Processes {
		return "start-stop-daemon --stop --quiet --oknodo --remove-pidfile --retry TERM/10/KILL/5 --pidfile " + Quote(l.pidFile(s))
	}
	return "systemctl stop " + Quote(s.Name)
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
