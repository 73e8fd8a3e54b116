package lab

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nspawnDriver boots Debian containers with systemd-nspawn (see the package
// doc and docs/lab.md for what works on hosts without systemd as PID 1).
type nspawnDriver struct{}

// nspawnTools are the host programs the driver runs (debootstrap only
// when no cached base exists; checked then).
var nspawnTools = []string{"systemd-nspawn", "ip", "ssh", "ssh-keygen", "tar", "zstd", "mount", "chroot"}

// bootWait bounds how long a node may take to answer ssh after boot.
const bootWait = 2 * time.Minute

func (nspawnDriver) check(sp *Spec) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: the nspawn driver needs root (use --driver process)", ErrUnavailable)
	}
	var missing []string
	for _, t := range nspawnTools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s (apt-get install systemd-container debootstrap openssh-client iproute2 zstd)",
			ErrUnavailable, strings.Join(missing, ", "))
	}
	if cgroup2Root() == "" {
		return fmt.Errorf("%w: no cgroup2 hierarchy mounted", ErrUnavailable)
	}
	return nil
}

// subnetAddr returns subnet.host (subnet is three octets, e.g. 10.77.0).
func subnetAddr(subnet string, host int) (string, error) {
	a, err := netip.ParseAddr(fmt.Sprintf("%s.%d", subnet, host))
	if err != nil || !a.Is4() || !a.IsPrivate() {
		return "", fmt.Errorf("lab: subnet %q: give the first three octets of a private IPv4 /24, e.g. 10.77.0", subnet)
	}
	return a.String(), nil
}

// cgroup2Root is the cgroup2 mount: /sys/fs/cgroup on a unified host,
// /sys/fs/cgroup/unified on a hybrid one, "" if none.
func cgroup2Root() string {
	var fs syscall.Statfs_t
	if syscall.Statfs("/sys/fs/cgroup", &fs) == nil && fs.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
		return "/sys/fs/cgroup"
	}
	if syscall.Statfs("/sys/fs/cgroup/unified", &fs) == nil && fs.Type == 0x63677270 {
		return "/sys/fs/cgroup/unified"
	}
	return ""
}

// cgroupRoots are the lab's own cgroups: cgroup2 first, then the v1
// name=systemd hierarchy when mounted (hybrid hosts; the container's
// systemd needs a group there too). The name is unique per state dir.
func cgroupRoots(stateDir string) []string {
	sum := sha256.Sum256([]byte(stateDir))
	name := "hactl-lab-" + hex.EncodeToString(sum[:4])
	roots := []string{filepath.Join(cgroup2Root(), name)}
	if fi, err := os.Stat("/sys/fs/cgroup/systemd"); err == nil && fi.IsDir() && cgroup2Root() != "/sys/fs/cgroup" {
		roots = append(roots, filepath.Join("/sys/fs/cgroup/systemd", name))
	}
	return roots
}

func (d nspawnDriver) create(ctx context.Context, l *Lab) error {
	st := l.st
	t0 := time.Now()
	if err := run(ctx, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hactl-lab",
		"-f", filepath.Join(l.StateDir, keyName)); err != nil {
		return fmt.Errorf("lab: ssh key: %w", err)
	}
	if err := ensureBase(ctx, l); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	l.logf("base ready in %s", since(t0))
	if err := d.createBridge(ctx, l); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	st.CgroupRoots = cgroupRoots(l.StateDir)
	for i := range st.Nodes {
		n := &st.Nodes[i]
		for _, r := range st.CgroupRoots {
			n.Cgroups = append(n.Cgroups, filepath.Join(r, n.Host.Machine))
		}
	}
	if err := l.save(); err != nil {
		return err
	}
	for i := range st.Nodes {
		if err := d.prepare(l, i); err != nil {
			return fmt.Errorf("lab: %s: %w", st.Nodes[i].Host.Name, err)
		}
	}
	if err := writeSSHFiles(l); err != nil {
		return err
	}
	for i := range st.Nodes {
		if err := d.launch(l, i); err != nil {
			return fmt.Errorf("lab: %s: %w", st.Nodes[i].Host.Name, err)
		}
	}
	return d.waitAll(ctx, l)
}

// createBridge makes the lab's bridge: host address .1, no IPv6, no
// forwarding or NAT (the nodes have no route out).
func (nspawnDriver) createBridge(ctx context.Context, l *Lab) error {
	st := l.st
	if err := run(ctx, nil, "ip", "link", "show", st.Bridge); err == nil {
		return fmt.Errorf("bridge %s already exists (another lab? choose another bridge, subnet and prefix)", st.Bridge)
	}
	if err := run(ctx, nil, "ip", "link", "add", st.Bridge, "type", "bridge"); err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	st.BridgeCreated = true
	if err := l.save(); err != nil {
		return err
	}
	hostAddr, _ := subnetAddr(st.Subnet, 1)
	os.WriteFile("/proc/sys/net/ipv6/conf/"+st.Bridge+"/disable_ipv6", []byte("1"), 0o644)
	if err := run(ctx, nil, "ip", "addr", "replace", hostAddr+"/24", "dev", st.Bridge); err != nil {
		return fmt.Errorf("bridge address: %w", err)
	}
	if err := run(ctx, nil, "ip", "link", "set", st.Bridge, "up"); err != nil {
		return fmt.Errorf("bridge up: %w", err)
	}
	return nil
}

// prepare mounts node i's overlay and writes its identity: hostname,
// hosts, machine id, host keys, the lab key, its network config.
func (nspawnDriver) prepare(l *Lab, i int) error {
	n := &l.st.Nodes[i]
	root := filepath.Join(n.Dir, "root")
	upper, work := filepath.Join(n.Dir, "upper"), filepath.Join(n.Dir, "work")
	for _, dir := range []string{root, upper, work} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if !n.Mounted {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", baseDir(l.st.CacheDir, l.st.Packages), upper, work)
		if err := syscall.Mount("overlay", root, "overlay", 0, opts); err != nil {
			return fmt.Errorf("mount overlay on %s: %w", root, err)
		}
		n.Mounted = true
		if err := l.save(); err != nil {
			return err
		}
	}
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n")
	for _, o := range l.st.Nodes {
		fmt.Fprintf(&hosts, "%s %s %s\n", o.Host.Address, o.Host.Name, o.Host.Machine)
	}
	pub, err := os.ReadFile(filepath.Join(l.StateDir, keyName+".pub"))
	if err != nil {
		return fmt.Errorf("lab key: %w", err)
	}
	files := []nodeFile{
		{"etc/hostname", n.Host.Name + "\n", 0o644},
		{"etc/hosts", hosts.String(), 0o644},
		{"root/.ssh/authorized_keys", string(pub), 0o600},
		{"etc/systemd/network/10-host0.network", fmt.Sprintf(
			"[Match]\nName=host0\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n", n.Host.Address), 0o644},
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/machine-id")); len(strings.TrimSpace(string(b))) == 0 {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return err
		}
		files = append(files, nodeFile{"etc/machine-id", hex.EncodeToString(id) + "\n", 0o444})
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		os.Remove(p)
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/ssh/ssh_host_ed25519_key")); err != nil {
		// ed25519 only: RSA key generation costs about a second per node.
		if err := run(context.Background(), nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", n.Host.Name,
			"-f", filepath.Join(root, "etc/ssh/ssh_host_ed25519_key")); err != nil {
			return fmt.Errorf("host keys: %w", err)
		}
	}
	return nil
}

// nodeFile is a file written into a node's root before boot.
type nodeFile struct {
	name string
	data string
	mode os.FileMode
}

// writeSSHFiles writes known_hosts (every node's ed25519 host key) and an
// ssh_config naming each node by inventory and machine name.
func writeSSHFiles(l *Lab) error {
	var kh, cfg strings.Builder
	for _, n := range l.st.Nodes {
		pub, err := os.ReadFile(filepath.Join(n.Dir, "root/etc/ssh/ssh_host_ed25519_key.pub"))
		if err != nil {
			return fmt.Errorf("lab: %s host key: %w", n.Host.Name, err)
		}
		f := strings.Fields(string(pub))
		if len(f) < 2 {
			return fmt.Errorf("lab: %s host key: malformed", n.Host.Name)
		}
		fmt.Fprintf(&kh, "%s,%s,%s %s %s\n", n.Host.Address, n.Host.Name, n.Host.Machine, f[0], f[1])
		fmt.Fprintf(&cfg, "Host %s %s\n  HostName %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
			"  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 3\n  LogLevel ERROR\n\n",
			n.Host.Name, n.Host.Machine, n.Host.Address, n.Host.SSH.Key, n.Host.SSH.KnownHosts)
	}
	if err := writeFileAtomic(filepath.Join(l.StateDir, knownHosts), []byte(kh.String()), 0o644); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(l.StateDir, sshConfigName), []byte(cfg.String()), 0o644)
}

// launcherScript runs nspawn from the node's own cgroups (without systemd
// on the host, nspawn --keep-unit puts the container in <its
// cgroup>/payload: nodes started from one cgroup would collide), restarts
// it when the container reboots (exit 133), forwards SIGTERM (a clean
// poweroff), and kills what is left of the container when nspawn exits
// (killing nspawn does not kill the container).
const launcherScript = `
cg2=$1; cg1=$2; shift 2
echo $$ > "$cg2/cgroup.procs"
[ -n "$cg1" ] && echo $$ > "$cg1/cgroup.procs"
stop=0; child=
trap 'stop=1; [ -n "$child" ] && kill -TERM $child 2>/dev/null' TERM INT
while :; do
  systemd-nspawn "$@" & child=$!
  rc=0
  while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
  echo "[lab launcher] nspawn exited rc=$rc" >&2
  [ -e "$cg2/payload/cgroup.kill" ] && echo 1 > "$cg2/payload/cgroup.kill"
  [ $stop = 0 ] && [ $rc = 133 ] || break
done
`

func launcherPidFile(n *nodeState) string { return filepath.Join(n.Dir, "launcher.pid") }

func launcherProc(n *nodeState) procID {
	var p procID
	if b, err := os.ReadFile(launcherPidFile(n)); err == nil {
		fmt.Sscanf(string(b), "%d %d", &p.Pid, &p.Start)
	}
	return p
}

// launch starts node i's launcher in its own session, detached.
func (nspawnDriver) launch(l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if launcherProc(n).alive() {
		return nil
	}
	for _, c := range n.Cgroups {
		if err := os.MkdirAll(c, 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	cg1 := ""
	if len(n.Cgroups) > 1 {
		cg1 = n.Cgroups[1]
	}
	logf, err := os.OpenFile(filepath.Join(n.Dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("/bin/bash", "-c", launcherScript, "launcher", n.Cgroups[0], cg1,
		"--boot", "--directory="+filepath.Join(n.Dir, "root"), "--machine="+n.Host.Machine,
		"--network-bridge="+l.st.Bridge, "--register=no", "--keep-unit",
		"--console=read-only", "--link-journal=no", "--resolv-conf=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start launcher: %w", err)
	}
	go cmd.Wait()
	id, err := identify(cmd.Process.Pid)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(launcherPidFile(n), fmt.Appendf(nil, "%d %d\n", id.Pid, id.Start), 0o600); err != nil {
		return err
	}
	n.Isolated = false // a fresh veth comes up connected
	return l.save()
}

// ssh runs a command on node n through the lab's ssh_config.
func sshRun(ctx context.Context, l *Lab, n *nodeState, command string) (string, error) {
	return output(ctx, "ssh", "-F", filepath.Join(l.StateDir, sshConfigName), n.Host.Name, command)
}

// waitAll waits until every node answers ssh and systemd finished booting.
func (d nspawnDriver) waitAll(ctx context.Context, l *Lab) error {
	var wg sync.WaitGroup
	errs := make([]error, len(l.st.Nodes))
	for i := range l.st.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.wait(ctx, l, i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (nspawnDriver) wait(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, bootWait)
	defer cancel()
	for {
		if _, err := sshRun(ctx, l, n, "true"); err == nil {
			break
		}
		if !launcherProc(n).alive() {
			return fmt.Errorf("lab: %s died while booting: %s", n.Host.Name, logTail(filepath.Join(n.Dir, "console.log")))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab: %s: no ssh on %s after %s: %w", n.Host.Name, n.Host.Address, bootWait, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
	out, _ := sshRun(ctx, l, n, "systemctl is-system-running --wait")
	state := strings.TrimSpace(out)
	if state != "running" {
		failed, _ := sshRun(ctx, l, n, "systemctl --failed --no-legend --plain | cut -d' ' -f1 | tr '\\n' ' '")
		l.logf("%s: system %s (failed units: %s)", n.Host.Name, state, strings.TrimSpace(failed))
	}
	l.logf("%s: %s ssh ok, system %s, in %s", n.Host.Name, n.Host.Address, state, since(t0))
	return nil
}

func (d nspawnDriver) start(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if launcherProc(n).alive() {
		return nil
	}
	if err := d.prepare(l, i); err != nil {
		return err
	}
	if err := d.launch(l, i); err != nil {
		return err
	}
	return d.wait(ctx, l, i)
}

// stop asks the container to power off (SIGTERM to the launcher, which
// nspawn turns into SIGRTMIN+3 for the container's systemd), then cleans
// up whatever is left.
func (d nspawnDriver) stop(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if p := launcherProc(n); p.alive() {
		syscall.Kill(p.Pid, syscall.SIGTERM)
		if !waitDead(ctx, p, 20*time.Second) {
			l.logf("%s did not power off in 20 s: killing it", n.Host.Name)
		}
	}
	return d.kill(ctx, l, i)
}

// kill is the power cut: cgroup.kill on the container's cgroup (or SIGKILL
// to every process in it), then the launcher and nspawn exit by themselves.
func (nspawnDriver) kill(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if len(n.Cgroups) > 0 {
		cgroupKill(filepath.Join(n.Cgroups[0], "payload"))
	}
	for _, c := range n.Cgroups {
		cgroupKill(c)
	}
	if p := launcherProc(n); p.Pid != 0 {
		if !waitDead(ctx, p, 10*time.Second) {
			return fmt.Errorf("launcher %d still running after the kill", p.Pid)
		}
	}
	if err := removeIfExists(launcherPidFile(n)); err != nil {
		return err
	}
	for _, c := range n.Cgroups {
		removeCgroupTree(c)
	}
	os.Remove("/run/systemd/nspawn/propagate/" + n.Host.Machine)
	return nil
}

func waitDead(ctx context.Context, p procID, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.alive() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// cgroupPids lists the processes in cgroup dir c and below.
func cgroupPids(c string) []int {
	var pids []int
	filepath.WalkDir(c, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// cgroupKill kills every process in cgroup dir c (cgroup.kill when the
// kernel has it) and waits up to 5 s for them to be gone.
func cgroupKill(c string) {
	if _, err := os.Stat(c); err != nil {
		return
	}
	if os.WriteFile(filepath.Join(c, "cgroup.kill"), []byte("1"), 0o644) != nil {
		for _, pid := range cgroupPids(c) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for i := 0; i < 100 && len(cgroupPids(c)) > 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// removeCgroupTree removes cgroup dir c and its children, bottom up
// (nspawn leaves supervisor/ and payload/... behind).
func removeCgroupTree(c string) {
	var dirs []string
	filepath.WalkDir(c, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for j := len(dirs) - 1; j >= 0; j-- {
		syscall.Rmdir(dirs[j])
	}
}

func vethName(n *nodeState) string { return "vb-" + n.Host.Machine }

func (nspawnDriver) isolate(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if !launcherProc(n).alive() {
		return fmt.Errorf("%s is not running", n.Host.Name)
	}
	if err := run(ctx, nil, "ip", "link", "set", vethName(n), "down"); err != nil {
		return err
	}
	n.Isolated = true
	return l.save()
}

func (nspawnDriver) heal(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if !n.Isolated {
		return nil
	}
	if launcherProc(n).alive() {
		if err := run(ctx, nil, "ip", "link", "set", vethName(n), "up"); err != nil {
			return err
		}
	}
	n.Isolated = false
	return l.save()
}

func (nspawnDriver) status(l *Lab, i int) NodeStatus {
	n := &l.st.Nodes[i]
	ns := NodeStatus{Host: n.Host, State: StateStopped, Detail: "powered off"}
	if p := launcherProc(n); p.alive() {
		ns.State = StateRunning
		if n.Isolated {
			ns.State = StateIsolated
		}
		ns.Detail = fmt.Sprintf("launcher pid %d, %d processes", p.Pid, len(cgroupPids(n.Cgroups[0])))
	}
	return ns
}

// destroy powers every node off at once, then removes the cgroups, the
// overlays, nspawn's leftovers and the bridge: everything create recorded.
func (d nspawnDriver) destroy(ctx context.Context, l *Lab) error {
	st := l.st
	for i := range st.Nodes {
		if p := launcherProc(&st.Nodes[i]); p.alive() {
			syscall.Kill(p.Pid, syscall.SIGTERM)
		}
	}
	var errs []error
	for i := range st.Nodes {
		n := &st.Nodes[i]
		if err := d.stop(ctx, l, i); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.Host.Name, err))
			continue
		}
		if n.Mounted {
			root := filepath.Join(n.Dir, "root")
			if err := syscall.Unmount(root, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
				errs = append(errs, fmt.Errorf("%s: umount %s: %w", n.Host.Name, root, err))
				continue
			}
			n.Mounted = false
		}
	}
	for _, r := range st.CgroupRoots {
		removeCgroupTree(r)
	}
	for _, dir := range []string{"/run/systemd/nspawn/propagate", "/run/systemd/nspawn/locks", "/run/systemd/nspawn"} {
		syscall.Rmdir(dir) // only when empty: other containers may use it
	}
	if st.BridgeCreated {
		if err := run(ctx, nil, "ip", "link", "del", st.Bridge); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, fmt.Errorf("delete bridge: %w", err))
		} else {
			st.BridgeCreated = false
		}
	}
	if err := l.save(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("lab: down: %w", errors.Join(errs...))
	}
	return nil
}
