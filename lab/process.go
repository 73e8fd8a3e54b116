package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
)

// processDriver runs nodes as directories plus process groups on loopback
// addresses (see the package doc).
type processDriver struct{}

// labPorts are the production ports every node's services use.
var labPorts = []int{6379, 26379}

func (processDriver) check(*Spec) error { return nil }

func (processDriver) create(_ context.Context, l *Lab) error {
	for i := range l.st.Nodes {
		n := &l.st.Nodes[i]
		for _, port := range labPorts {
			if err := portFree(n.Host.Address, port); err != nil {
				return fmt.Errorf("lab: %s: %w (another lab or server running?)", n.Host.Name, err)
			}
		}
		for _, d := range []string{n.Host.Root, serviceDir(n)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("lab: %s: %w", n.Host.Name, err)
			}
		}
		l.logf("%s: %s, root %s", n.Host.Name, n.Host.Address, n.Host.Root)
	}
	return nil
}

// loopbackAddr is address host of the loopback /24 subnet (first three
// octets, e.g. 127.0.0).
func loopbackAddr(subnet string, host int) (string, error) {
	a, err := netip.ParseAddr(fmt.Sprintf("%s.%d", subnet, host))
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return "", fmt.Errorf("lab: subnet %q: the process driver needs the first three octets of a loopback /24, e.g. 127.0.0", subnet)
	}
	return a.String(), nil
}

// portFree checks that nothing listens on addr:port.
func portFree(addr string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
	if err != nil {
		return fmt.Errorf("%s:%d is in use: %w", addr, port, err)
	}
	return ln.Close()
}

func (d processDriver) destroy(ctx context.Context, l *Lab) error {
	var errs []error
	for i := range l.st.Nodes {
		if err := d.heal(ctx, l, i); err != nil {
			errs = append(errs, err)
		}
		if err := d.kill(ctx, l, i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (processDriver) start(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if err := n.setStopped(false); err != nil {
		return err
	}
	svcs, err := listServices(n)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if s.Running {
			continue
		}
		if err := startService(n, s.Service); err != nil {
			return err
		}
	}
	return nil
}

func (processDriver) stop(ctx context.Context, l *Lab, i int) error {
	return powerOff(ctx, &l.st.Nodes[i], func(ctx context.Context, p procID) error {
		return stopGroup(ctx, p, stopGrace)
	})
}

func (processDriver) kill(ctx context.Context, l *Lab, i int) error {
	return powerOff(ctx, &l.st.Nodes[i], killGroup)
}

// powerOff ends every service of n with end, concurrently (a power cut hits
// all of them at once), and marks the node stopped.
func powerOff(ctx context.Context, n *nodeState, end func(context.Context, procID) error) error {
	if err := n.setStopped(true); err != nil {
		return err
	}
	svcs, err := listServices(n)
	if err != nil {
		return err
	}
	errc := make(chan error, len(svcs))
	for _, s := range svcs {
		go func() {
			p := serviceProc(n, s.Name)
			if p.Pid == 0 {
				errc <- nil
				return
			}
			if err := end(ctx, p); err != nil {
				errc <- fmt.Errorf("service %s: %w", s.Name, err)
				return
			}
			errc <- removeIfExists(serviceFile(n, s.Name, ".pid"))
		}()
	}
	var errs []error
	for range svcs {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

// isolationRules are the iptables rules that cut addr off: every packet on
// loopback to addr from elsewhere, and from addr to elsewhere. tag names
// the lab and node in the rule comment.
func isolationRules(addr, tag string) [][]string {
	c := []string{"-m", "comment", "--comment", tag, "-j", "DROP"}
	return [][]string{
		append([]string{"OUTPUT", "-o", "lo", "-d", addr, "!", "-s", addr}, c...),
		append([]string{"OUTPUT", "-o", "lo", "-s", addr, "!", "-d", addr}, c...),
	}
}

// canFirewall reports whether isolation by iptables is possible.
func canFirewall() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: isolating a process node needs root (iptables on the loopback interface)", ErrUnsupported)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("%w: isolating a process node needs iptables (apt-get install iptables)", ErrUnsupported)
	}
	return nil
}

func (processDriver) isolate(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	if len(n.Rules) > 0 {
		return nil
	}
	if err := canFirewall(); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(l.StateDir))
	tag := "hactl-lab " + hex.EncodeToString(sum[:4]) + " " + n.Host.Name
	for _, r := range isolationRules(n.Host.Address, tag) {
		if err := iptables(ctx, append([]string{"-I"}, r...)); err != nil {
			return err
		}
		// Record each rule as soon as it exists, so Heal and Down find it.
		n.Rules = append(n.Rules, r)
		n.Isolated = true
		if err := l.save(); err != nil {
			return err
		}
	}
	return nil
}

func (processDriver) heal(ctx context.Context, l *Lab, i int) error {
	n := &l.st.Nodes[i]
	for len(n.Rules) > 0 {
		r := n.Rules[0]
		if err := iptables(ctx, append([]string{"-D"}, r...)); err != nil && !strings.Contains(err.Error(), "does a matching rule exist") {
			return err
		}
		n.Rules = n.Rules[1:]
		n.Isolated = len(n.Rules) > 0
		if err := l.save(); err != nil {
			return err
		}
	}
	return nil
}

func iptables(ctx context.Context, args []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (processDriver) status(l *Lab, i int) NodeStatus {
	n := &l.st.Nodes[i]
	ns := NodeStatus{Host: n.Host, State: StateRunning}
	if n.stopped() {
		ns.State = StateStopped
	} else if n.Isolated {
		ns.State = StateIsolated
	}
	svcs, err := listServices(n)
	if err != nil {
		ns.Detail = err.Error()
		return ns
	}
	var parts []string
	for _, s := range svcs {
		if s.Running {
			parts = append(parts, fmt.Sprintf("%s pid %d", s.Name, s.Pid))
		} else {
			parts = append(parts, s.Name+" down")
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no services")
	}
	ns.Detail = strings.Join(parts, ", ")
	return ns
}
