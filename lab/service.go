package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Service is a long-running program of a process-driver node, its stand-in
// for a systemd unit. It runs in its own session (setsid), with stdin from
// /dev/null and stdout and stderr appended to its log file.
type Service struct {
	Name string   `json:"name"` // e.g. hactl-engine
	Argv []string `json:"argv"` // program (absolute path) and arguments
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"` // working directory; "" means the node's root
}

// ServiceStatus is a defined service and whether it runs.
type ServiceStatus struct {
	Service
	Running bool
	Pid     int    // 0 when not running
	Log     string // log file
}

// stopGrace is how long a stopped service gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// startCheck is how long StartService watches a new process for an
// immediate exit (bad flags, port in use).
const startCheck = 150 * time.Millisecond

// StartService defines svc on node and starts it (process driver only; the
// nspawn driver runs systemd). A service already running with the same
// definition is left alone; with a different one it is restarted. The
// definition is kept: Start after Stop or Kill runs it again.
func (l *Lab) StartService(ctx context.Context, node string, svc Service) error {
	return l.serviceOp(ctx, node, svc.Name, func(n *nodeState) error {
		if err := svc.validate(); err != nil {
			return err
		}
		old, err := readServiceDef(n, svc.Name)
		if err == nil && old.equal(svc) && serviceProc(n, svc.Name).alive() {
			return nil
		}
		return replaceService(ctx, n, svc)
	})
}

// RestartService stops (if running) and starts svc on node.
func (l *Lab) RestartService(ctx context.Context, node string, svc Service) error {
	return l.serviceOp(ctx, node, svc.Name, func(n *nodeState) error {
		if err := svc.validate(); err != nil {
			return err
		}
		return replaceService(ctx, n, svc)
	})
}

// replaceService stops svc's running process, if any, records the new
// definition and starts it.
func replaceService(ctx context.Context, n *nodeState, svc Service) error {
	if err := stopService(ctx, n, svc.Name); err != nil {
		return err
	}
	if err := writeServiceDef(n, svc); err != nil {
		return err
	}
	if n.stopped() {
		return fmt.Errorf("node %s is stopped: start it first", n.Host.Name)
	}
	return startService(n, svc)
}

// StopService stops the service called name on node and removes its
// definition (systemctl disable --now). An unknown service is not an error.
func (l *Lab) StopService(ctx context.Context, node, name string) error {
	return l.serviceOp(ctx, node, name, func(n *nodeState) error {
		if err := stopService(ctx, n, name); err != nil {
			return err
		}
		if err := os.Remove(serviceFile(n, name, ".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove definition: %w", err)
		}
		return nil
	})
}

// Services lists the services defined on node, sorted by name.
func (l *Lab) Services(node string) ([]ServiceStatus, error) {
	i, err := l.index(node)
	if err != nil {
		return nil, err
	}
	if l.Driver != DriverProcess {
		return nil, fmt.Errorf("lab: services of %s: %w (the %s driver runs systemd on its nodes)", node, ErrUnsupported, l.Driver)
	}
	return listServices(&l.st.Nodes[i])
}

func (l *Lab) serviceOp(ctx context.Context, node, name string, f func(n *nodeState) error) error {
	if l.Driver != DriverProcess {
		return fmt.Errorf("lab: service %s on %s: %w (the %s driver runs systemd on its nodes)", name, node, ErrUnsupported, l.Driver)
	}
	return l.drill(ctx, node, "service "+name, func(_ context.Context, l *Lab, i int) error {
		return f(&l.st.Nodes[i])
	})
}

func (s Service) validate() error {
	if !isSimpleName(strings.ReplaceAll(s.Name, ".", "-")) || strings.HasPrefix(s.Name, ".") {
		return fmt.Errorf("invalid service name %q", s.Name)
	}
	if len(s.Argv) == 0 || !filepath.IsAbs(s.Argv[0]) {
		return fmt.Errorf("service %s: argv must start with an absolute program path", s.Name)
	}
	return nil
}

func (s Service) equal(o Service) bool {
	return s.Name == o.Name && slices.Equal(s.Argv, o.Argv) && slices.Equal(s.Env, o.Env) && s.Dir == o.Dir
}

func serviceDir(n *nodeState) string { return filepath.Join(n.Dir, "services") }

func serviceFile(n *nodeState, name, ext string) string {
	return filepath.Join(serviceDir(n), name+ext)
}

func (n *nodeState) stopped() bool {
	_, err := os.Stat(filepath.Join(n.Dir, "stopped"))
	return err == nil
}

func (n *nodeState) setStopped(stopped bool) error {
	p := filepath.Join(n.Dir, "stopped")
	if stopped {
		return os.WriteFile(p, nil, 0o600)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func readServiceDef(n *nodeState, name string) (Service, error) {
	var s Service
	b, err := os.ReadFile(serviceFile(n, name, ".json"))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("service %s: parse definition: %w", name, err)
	}
	return s, nil
}

func writeServiceDef(n *nodeState, s Service) error {
	if err := os.MkdirAll(serviceDir(n), 0o700); err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	return writeFileAtomic(serviceFile(n, s.Name, ".json"), append(b, '\n'), 0o600)
}

// serviceProc returns the recorded process of a service (zero if none).
func serviceProc(n *nodeState, name string) procID {
	var p procID
	b, err := os.ReadFile(serviceFile(n, name, ".pid"))
	if err != nil {
		return p
	}
	fmt.Sscanf(string(b), "%d %d", &p.Pid, &p.Start)
	return p
}

// startService starts s in a new session. The process is reaped by a
// goroutine of this process while it lives; after that, by init.
func startService(n *nodeState, s Service) error {
	logPath := serviceFile(n, s.Name, ".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("service %s: open log: %w", s.Name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- lab: starting %s at %s\n", s.Name, time.Now().Format(time.RFC3339))
	// Not CommandContext: the service must outlive the caller's context.
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Dir = s.Dir
	if cmd.Dir == "" {
		cmd.Dir = n.Host.Root
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("service %s: start: %w", s.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	id, err := identify(cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	if err := writeFileAtomic(serviceFile(n, s.Name, ".pid"), fmt.Appendf(nil, "%d %d\n", id.Pid, id.Start), 0o600); err != nil {
		killGroup(context.Background(), id)
		return err
	}
	select {
	case err := <-exited:
		return fmt.Errorf("service %s exited at once (%v): %s", s.Name, err, logTail(logPath))
	case <-time.After(startCheck):
		return nil
	}
}

// stopService stops a service's process group (SIGTERM, then SIGKILL).
func stopService(ctx context.Context, n *nodeState, name string) error {
	p := serviceProc(n, name)
	if p.Pid == 0 {
		return nil
	}
	if err := stopGroup(ctx, p, stopGrace); err != nil {
		return fmt.Errorf("service %s: %w", name, err)
	}
	return removeIfExists(serviceFile(n, name, ".pid"))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func listServices(n *nodeState) ([]ServiceStatus, error) {
	names, err := filepath.Glob(filepath.Join(serviceDir(n), "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []ServiceStatus
	for _, f := range names {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		def, err := readServiceDef(n, name)
		if err != nil {
			return nil, err
		}
		st := ServiceStatus{Service: def, Log: serviceFile(n, name, ".log")}
		if p := serviceProc(n, name); p.alive() {
			st.Running, st.Pid = true, p.Pid
		}
		out = append(out, st)
	}
	return out, nil
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	b = bytes.TrimSpace(b)
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
