package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Driver names how lab hosts are made.
type Driver string

// The drivers.
const (
	// DriverProcess runs each node's services as local processes on a
	// loopback address of its own. No root needed.
	DriverProcess Driver = "process"
	// DriverNspawn boots Debian 12 containers with systemd-nspawn. Root only.
	DriverNspawn Driver = "nspawn"
)

// Transport says how hactl reaches a host.
type Transport string

// The transports.
const (
	// TransportLocal: run commands on this machine, with Host.Root as the
	// prefix of every installed path, and services through the Lab.
	TransportLocal Transport = "local"
	// TransportSSH: SSH to Host.Address with Host.SSH.
	TransportSSH Transport = "ssh"
)

// Errors callers can test with errors.Is.
var (
	// ErrNoLab means the state directory holds no lab.
	ErrNoLab = errors.New("lab: no lab in this state directory")
	// ErrUnsupported means the driver cannot do this here (e.g. Isolate
	// with the process driver without root).
	ErrUnsupported = errors.New("lab: not supported by this driver here")
	// ErrUnavailable means the driver cannot run on this machine.
	ErrUnavailable = errors.New("lab: driver unavailable")
	// ErrUnknownNode means no node has that name.
	ErrUnknownNode = errors.New("lab: unknown node")
)

// Spec says what lab to create. The zero value of every field means its
// default.
type Spec struct {
	Nodes    int    // number of hosts, 1 to 9; default 3
	Driver   Driver // default DefaultDriver()
	StateDir string // default DefaultStateDir()
	// CacheDir holds the nspawn base rootfs tarball, kept by Down;
	// default DefaultCacheDir().
	CacheDir string
	// Engine is written to the inventory ("hactl" or "redis"); default
	// "hactl". With "redis" the nspawn base also gets redis-server and
	// redis-sentinel (nodes cannot install packages: no route out).
	Engine string
	// ExtraPackages are Debian packages baked into the nspawn base.
	ExtraPackages []string
	// Proxy gives every node the haproxy role too (nspawn only: the
	// process driver runs no haproxy): Debian's haproxy, baked into the
	// base, listens on ProxyPort of every node's address and routes to
	// the master (templates/files/haproxy.cfg.tmpl). Up on an existing
	// lab takes the new value and rewrites the inventory.
	Proxy bool
	// Subnet is the first three octets of the nodes' addresses (node i
	// at .80+i): for nspawn a private /24 for the bridge (host .1),
	// default "10.77.0"; for process a loopback /24, default "127.0.0".
	// Two process labs at once need two subnets (same ports).
	Subnet string
	// Bridge is the nspawn bridge name; default "hactl0".
	Bridge string
	// Prefix starts nspawn machine names (PREFIX-db01), at most 7
	// characters; default "hactl".
	Prefix string
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

// Host is one lab node, as hactl must reach it.
type Host struct {
	Name      string    `json:"name"`    // inventory name: db01, db02, ...
	Address   string    `json:"address"` // where its services listen
	Transport Transport `json:"transport"`
	// Root is the node's filesystem prefix on this machine (local
	// transport): hactl installs /etc/x as Root+"/etc/x".
	Root string  `json:"root,omitempty"`
	SSH  SSHInfo `json:"ssh,omitzero"`
	// Machine is the nspawn machine name (nspawn driver).
	Machine string `json:"machine,omitempty"`
}

// SSHInfo is how to reach an SSH host.
type SSHInfo struct {
	User       string `json:"user,omitempty"`
	Port       int    `json:"port,omitempty"`
	Key        string `json:"key,omitempty"`         // private key file
	KnownHosts string `json:"known_hosts,omitempty"` // holds every node's host key
	Config     string `json:"config,omitempty"`      // ssh_config for `ssh -F FILE db01`
}

// NodeState is the power and network state of a node.
type NodeState string

// The node states.
const (
	StateRunning  NodeState = "running"
	StateStopped  NodeState = "stopped"
	StateIsolated NodeState = "isolated" // running, cut off the network
)

// NodeStatus is one line of Lab.Status.
type NodeStatus struct {
	Host   Host
	State  NodeState
	Detail string // pids, services, ...
}

// Lab is a lab created by Up or reopened by Open. Its methods may be called
// from several goroutines; mutations of the lab are serialized with a lock
// file, so they are also safe across processes.
type Lab struct {
	Driver    Driver
	StateDir  string // absolute
	Inventory string // absolute path of the inventory YAML written for the hosts
	Hosts     []Host
	// PasswordFile is the generated requirepass file the inventory uses.
	PasswordFile string
	// Proxy: every host also has the haproxy role, frontend on ProxyPort
	// (Spec.Proxy).
	Proxy bool

	progress io.Writer
	st       *state
	drv      driver
}

// driver is what each driver implements. Node arguments are indexes into
// st.Nodes. Methods are called with the lab lock held.
type driver interface {
	// check reports whether the driver can run here (ErrUnavailable).
	check(sp *Spec) error
	// create makes the nodes that st describes; it records every resource
	// in st as it goes (and l.save()s), so a failed create can be undone.
	create(ctx context.Context, l *Lab) error
	// destroy removes every resource recorded in st.
	destroy(ctx context.Context, l *Lab) error
	start(ctx context.Context, l *Lab, i int) error
	stop(ctx context.Context, l *Lab, i int) error
	kill(ctx context.Context, l *Lab, i int) error
	isolate(ctx context.Context, l *Lab, i int) error
	heal(ctx context.Context, l *Lab, i int) error
	status(l *Lab, i int) NodeStatus
}

func newDriver(d Driver) (driver, error) {
	switch d {
	case DriverProcess:
		return processDriver{}, nil
	case DriverNspawn:
		return nspawnDriver{}, nil
	}
	return nil, fmt.Errorf("unknown lab driver %q: use %s or %s", d, DriverProcess, DriverNspawn)
}

// DefaultDriver is nspawn when Available(DriverNspawn) is nil (root with
// systemd-nspawn installed), else process.
func DefaultDriver() Driver {
	if Available(DriverNspawn) == nil {
		return DriverNspawn
	}
	return DriverProcess
}

// Available reports whether driver d can run on this machine, with the
// reason (wrapping ErrUnavailable) when it cannot.
func Available(d Driver) error {
	drv, err := newDriver(d)
	if err != nil {
		return err
	}
	sp := Spec{Driver: d}
	sp.fill()
	return drv.check(&sp)
}

// DefaultStateDir is $XDG_STATE_HOME/hactl/lab when XDG_STATE_HOME is set,
// else .lab in the current directory.
func DefaultStateDir() string {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "hactl", "lab")
	}
	return ".lab"
}

// DefaultCacheDir is $XDG_CACHE_HOME/hactl/lab when XDG_CACHE_HOME is set,
// else /var/cache/hactl/lab for root and ~/.cache/hactl/lab for others.
func DefaultCacheDir() string {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "hactl", "lab")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/hactl/lab"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "hactl", "lab")
	}
	return filepath.Join(os.TempDir(), "hactl-lab-cache")
}

// ProxyPort is the port of the lab's HAProxy frontend on every node
// (Spec.Proxy): the engine has 6379 on the same address.
const ProxyPort = 6380

// MaxNodes is the largest lab.
const MaxNodes = 9

func (sp *Spec) fill() {
	if sp.Nodes == 0 {
		sp.Nodes = 3
	}
	if sp.Driver == "" {
		sp.Driver = DefaultDriver()
	}
	if sp.StateDir == "" {
		sp.StateDir = DefaultStateDir()
	}
	if sp.CacheDir == "" {
		sp.CacheDir = DefaultCacheDir()
	}
	if sp.Engine == "" {
		sp.Engine = "hactl"
	}
	if sp.Subnet == "" && sp.Driver == DriverProcess {
		sp.Subnet = "127.0.0"
	}
	if sp.Subnet == "" {
		sp.Subnet = "10.77.0"
	}
	if sp.Bridge == "" {
		sp.Bridge = "hactl0"
	}
	if sp.Prefix == "" {
		sp.Prefix = "hactl"
	}
	if sp.Progress == nil {
		sp.Progress = io.Discard
	}
}

func (sp *Spec) validate() error {
	if sp.Nodes < 1 || sp.Nodes > MaxNodes {
		return fmt.Errorf("lab: %d nodes: use 1 to %d", sp.Nodes, MaxNodes)
	}
	if sp.Engine != "hactl" && sp.Engine != "redis" {
		return fmt.Errorf("lab: engine %q: use hactl or redis", sp.Engine)
	}
	if len(sp.Prefix) > 7 || !isSimpleName(sp.Prefix) {
		return fmt.Errorf("lab: prefix %q: use at most 7 letters, digits or '-' (interface names are limited to 15 characters)", sp.Prefix)
	}
	if len(sp.Bridge) > 15 || !isSimpleName(sp.Bridge) {
		return fmt.Errorf("lab: bridge name %q: use at most 15 letters, digits or '-'", sp.Bridge)
	}
	if sp.Proxy && sp.Driver != DriverNspawn {
		return fmt.Errorf("lab: the proxy (haproxy role) needs the nspawn driver: the %s driver runs no haproxy", sp.Driver)
	}
	if sp.Driver == DriverProcess {
		if _, err := loopbackAddr(sp.Subnet, 1); err != nil {
			return err
		}
	} else if _, err := subnetAddr(sp.Subnet, 1); err != nil {
		return err
	}
	return nil
}

func isSimpleName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// NodeName is the inventory name of node i (0-based): db01, db02, ...
func NodeName(i int) string { return fmt.Sprintf("db%02d", i+1) }

// Up creates the lab sp describes, or resumes the lab already in
// sp.StateDir (starting nodes that are down), and writes its inventory.
// When creating fails, what was created is removed again.
func Up(ctx context.Context, sp Spec) (*Lab, error) {
	sp.fill()
	if err := sp.validate(); err != nil {
		return nil, err
	}
	drv, err := newDriver(sp.Driver)
	if err != nil {
		return nil, err
	}
	if err := drv.check(&sp); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(sp.StateDir)
	if err != nil {
		return nil, fmt.Errorf("lab: state dir: %w", err)
	}
	created := false
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: create state dir: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	l := &Lab{StateDir: dir, progress: sp.Progress, drv: drv, Driver: sp.Driver}
	st, err := loadState(dir)
	switch {
	case err == nil:
		if st.Driver != sp.Driver || len(st.Nodes) != sp.Nodes || st.Engine != sp.Engine {
			return nil, fmt.Errorf("lab: %s already holds a %d-node %s lab with engine %s: run down first or use another state dir",
				dir, len(st.Nodes), st.Driver, st.Engine)
		}
		l.st = st
		if st.Proxy != sp.Proxy {
			st.Proxy = sp.Proxy
			if err := l.save(); err != nil {
				return nil, err
			}
		}
		l.fillPublic()
		l.logf("lab in %s exists: starting nodes that are down", dir)
		for i := range st.Nodes {
			if drv.status(l, i).State == StateStopped {
				if err := drv.start(ctx, l, i); err != nil {
					return nil, err
				}
			}
		}
	case errors.Is(err, ErrNoLab):
		if !created {
			if err := checkEmptyForLab(dir); err != nil {
				return nil, err
			}
		}
		t0 := time.Now()
		l.st = newState(&sp, dir, created)
		l.fillPublic()
		if err := l.save(); err != nil {
			return nil, err
		}
		if err := drv.create(ctx, l); err != nil {
			// Undo with a fresh context: ctx may be what failed.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if derr := l.destroyLocked(dctx); derr != nil {
				return nil, fmt.Errorf("%w (and removing the partial lab failed: %v)", err, derr)
			}
			return nil, err
		}
		l.fillPublic()
		l.logf("%d %s nodes up in %s", sp.Nodes, sp.Driver, time.Since(t0).Round(100*time.Millisecond))
	default:
		return nil, err
	}
	if err := l.writeInventory(); err != nil {
		return nil, err
	}
	l.logf("inventory: %s", l.Inventory)
	return l, nil
}

// checkEmptyForLab refuses to create a lab in an existing directory that
// holds anything: Down could not tell our files from the user's.
func checkEmptyForLab(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("lab: read state dir: %w", err)
	}
	for _, e := range ents {
		if e.Name() != lockName {
			return fmt.Errorf("lab: state dir %s is not empty and holds no lab: choose an empty or new directory", dir)
		}
	}
	return nil
}

// Open reopens the lab in stateDir. It returns an error wrapping ErrNoLab
// when there is none.
func Open(stateDir string) (*Lab, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("lab: state dir: %w", err)
	}
	st, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	drv, err := newDriver(st.Driver)
	if err != nil {
		return nil, err
	}
	l := &Lab{StateDir: dir, Driver: st.Driver, progress: io.Discard, drv: drv, st: st}
	l.fillPublic()
	return l, nil
}

// SetProgress sends the lab's progress lines to w (nil discards them).
func (l *Lab) SetProgress(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	l.progress = w
}

// Down removes the lab in stateDir: its nodes, processes, mounts,
// cgroups, links, firewall rules and files. A directory without a lab is
// not an error. The nspawn rootfs cache is kept.
func Down(ctx context.Context, stateDir string, progress io.Writer) error {
	l, err := Open(stateDir)
	if errors.Is(err, ErrNoLab) {
		return nil
	}
	if err != nil {
		return err
	}
	l.SetProgress(progress)
	return l.Down(ctx)
}

// Down removes the lab (see the package function Down).
func (l *Lab) Down(ctx context.Context) error {
	unlock, err := lockDir(l.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	return l.destroyLocked(ctx)
}

func (l *Lab) destroyLocked(ctx context.Context) error {
	t0 := time.Now()
	if err := l.drv.destroy(ctx, l); err != nil {
		return err
	}
	l.logf("nodes removed in %s", since(t0))
	if err := removeStateFiles(l.StateDir, l.st); err != nil {
		return err
	}
	l.logf("lab down in %s", time.Since(t0).Round(100*time.Millisecond))
	return nil
}

// Host returns the node called name.
func (l *Lab) Host(name string) (Host, bool) {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// Status reports the state of every node, in order.
func (l *Lab) Status(ctx context.Context) ([]NodeStatus, error) {
	out := make([]NodeStatus, len(l.st.Nodes))
	for i := range l.st.Nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = l.drv.status(l, i)
	}
	return out, nil
}

// Kill cuts the power of node: every process on it gets SIGKILL at once.
// Its disk (root directory) is kept; Start boots it again.
func (l *Lab) Kill(ctx context.Context, node string) error {
	return l.drill(ctx, node, "kill", l.drv.kill)
}

// Stop shuts node down cleanly (SIGTERM, the container's poweroff).
func (l *Lab) Stop(ctx context.Context, node string) error {
	return l.drill(ctx, node, "stop", l.drv.stop)
}

// Start boots node again after Kill or Stop; a running node is left alone.
func (l *Lab) Start(ctx context.Context, node string) error {
	return l.drill(ctx, node, "start", l.drv.start)
}

// Isolate cuts node off the network: no packet reaches it from the other
// nodes or the host, and none leaves it. Heal undoes it.
func (l *Lab) Isolate(ctx context.Context, node string) error {
	return l.drill(ctx, node, "isolate", l.drv.isolate)
}

// Heal reconnects a node cut off by Isolate; a connected node is left alone.
func (l *Lab) Heal(ctx context.Context, node string) error {
	return l.drill(ctx, node, "heal", l.drv.heal)
}

func (l *Lab) drill(ctx context.Context, node, what string, f func(context.Context, *Lab, int) error) error {
	i, err := l.index(node)
	if err != nil {
		return err
	}
	unlock, err := lockDir(l.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.reload(); err != nil {
		return err
	}
	t0 := time.Now()
	if err := f(ctx, l, i); err != nil {
		return fmt.Errorf("lab: %s %s: %w", what, node, err)
	}
	l.logf("%s %s: done in %s", what, node, time.Since(t0).Round(10*time.Millisecond))
	return nil
}

// reload rereads the state another process may have changed.
func (l *Lab) reload() error {
	st, err := loadState(l.StateDir)
	if err != nil {
		return err
	}
	l.st = st
	l.fillPublic()
	return nil
}

func (l *Lab) index(node string) (int, error) {
	for i, n := range l.st.Nodes {
		if n.Host.Name == node {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w %q: the lab has %s", ErrUnknownNode, node, l.names())
}

func (l *Lab) names() string {
	s := ""
	for i, n := range l.st.Nodes {
		if i > 0 {
			s += ", "
		}
		s += n.Host.Name
	}
	return s
}

// fillPublic copies the state into the exported fields.
func (l *Lab) fillPublic() {
	l.Driver = l.st.Driver
	l.Proxy = l.st.Proxy
	l.Hosts = l.Hosts[:0]
	for _, n := range l.st.Nodes {
		l.Hosts = append(l.Hosts, n.Host)
	}
	l.Inventory = filepath.Join(l.StateDir, inventoryName)
	l.PasswordFile = filepath.Join(l.StateDir, passwordName)
}

func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.progress, "lab: "+format+"\n", args...)
}
