package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Names inside the state directory. Down removes these and nothing else.
const (
	stateName     = "lab.json"
	lockName      = "lab.lock"
	inventoryName = "inventory.yaml"
	secretsName   = "secrets"
	passwordName  = "secrets/requirepass"
	nodesName     = "nodes"
	keyName       = "id_ed25519"      // nspawn: lab SSH key (and .pub)
	knownHosts    = "known_hosts"     // nspawn
	sshConfigName = "ssh_config"      // nspawn
	logName       = "debootstrap.log" // nspawn
)

// stateVersion is bumped when lab.json changes incompatibly.
const stateVersion = 1

// state is what lab.json records: the spec and every resource created.
type state struct {
	Version    int         `json:"version"`
	Driver     Driver      `json:"driver"`
	CreatedDir bool        `json:"created_dir"` // Up created the state dir; Down removes it
	Engine     string      `json:"engine"`
	Subnet     string      `json:"subnet,omitempty"`
	Bridge     string      `json:"bridge,omitempty"`
	Prefix     string      `json:"prefix,omitempty"`
	CacheDir   string      `json:"cache_dir,omitempty"`
	Packages   []string    `json:"packages,omitempty"`
	Proxy      bool        `json:"proxy,omitempty"` // Spec.Proxy
	Nodes      []nodeState `json:"nodes"`

	// nspawn resources
	BridgeCreated bool     `json:"bridge_created,omitempty"`
	CgroupRoots   []string `json:"cgroup_roots,omitempty"` // our subtree in each hierarchy
}

// nodeState is one node's record.
type nodeState struct {
	Host Host   `json:"host"`
	Dir  string `json:"dir"` // StateDir/nodes/NAME
	// Rules are the iptables rules Isolate added (process driver).
	Rules [][]string `json:"rules,omitempty"`
	// Isolated is set by Isolate, cleared by Heal.
	Isolated bool `json:"isolated,omitempty"`
	// Mounted: the nspawn overlay is mounted on Dir/root.
	Mounted bool `json:"mounted,omitempty"`
	// Cgroups are the node's cgroup dirs (nspawn).
	Cgroups []string `json:"cgroups,omitempty"`
}

func newState(sp *Spec, dir string, created bool) *state {
	st := &state{
		Version: stateVersion, Driver: sp.Driver, CreatedDir: created, Engine: sp.Engine, Proxy: sp.Proxy,
	}
	if sp.Driver == DriverNspawn {
		st.Subnet, st.Bridge, st.Prefix = sp.Subnet, sp.Bridge, sp.Prefix
		st.CacheDir = sp.CacheDir
		st.Packages = basePackages(sp)
	}
	for i := 0; i < sp.Nodes; i++ {
		name := NodeName(i)
		n := nodeState{Dir: filepath.Join(dir, nodesName, name)}
		n.Host = Host{Name: name}
		switch sp.Driver {
		case DriverProcess:
			n.Host.Address, _ = loopbackAddr(sp.Subnet, 81+i)
			n.Host.Transport = TransportLocal
			n.Host.Root = filepath.Join(n.Dir, "root")
		case DriverNspawn:
			n.Host.Address, _ = subnetAddr(sp.Subnet, 81+i)
			n.Host.Transport = TransportSSH
			n.Host.Machine = sp.Prefix + "-" + name
			n.Host.SSH = SSHInfo{
				User: "root", Port: 22,
				Key:        filepath.Join(dir, keyName),
				KnownHosts: filepath.Join(dir, knownHosts),
				Config:     filepath.Join(dir, sshConfigName),
			}
		}
		st.Nodes = append(st.Nodes, n)
	}
	return st
}

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoLab, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lab: read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab: parse %s: %w", filepath.Join(dir, stateName), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("lab: %s has state version %d, this hactl knows %d: remove the lab with the hactl that made it",
			dir, st.Version, stateVersion)
	}
	return &st, nil
}

// save writes lab.json atomically.
func (l *Lab) save() error {
	b, err := json.MarshalIndent(l.st, "", "  ")
	if err != nil {
		return fmt.Errorf("lab: encode state: %w", err)
	}
	return writeFileAtomic(filepath.Join(l.StateDir, stateName), append(b, '\n'), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("lab: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("lab: write %s: %w", path, err)
	}
	return nil
}

// lockDir takes an exclusive flock on the state dir's lock file.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lab: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// removeStateFiles removes the files the lab wrote in dir, then dir itself
// if Up created it. The lock file goes last, while we still hold it.
func removeStateFiles(dir string, st *state) error {
	for _, name := range []string{inventoryName, secretsName, nodesName,
		keyName, keyName + ".pub", knownHosts, sshConfigName, logName, stateName + ".tmp", stateName} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("lab: remove %s: %w", name, err)
		}
	}
	if err := os.Remove(filepath.Join(dir, lockName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab: remove lock: %w", err)
	}
	if st.CreatedDir {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lab: remove state dir (something else was put in it?): %w", err)
		}
	}
	return nil
}
