// Package vagrant turns the VMs of a Vagrantfile into inventory hosts: it
// reads `vagrant ssh-config` (what Vagrant itself uses to log in) and gives
// each VM its private-network address.
//
// Pieces:
//   - Parse reads ssh-config text (Host, HostName, User, Port, IdentityFile,
//     StrictHostKeyChecking; other keywords are ignored) into Hosts, with
//     line-numbered errors for anything it cannot use.
//   - SSHConfig runs `vagrant ssh-config` in a directory with a timeout; Up
//     runs `vagrant up` (only when the caller asks for it: hactl up
//     --vagrant-up).
//   - Provided turns Hosts into inventory.ProvidedHost values: the address
//     is the VM's private address (vagrant/Vagrantfile puts host i at
//     NET.(80+i)), reached on port 22 with the user and key Vagrant reports.
package vagrant

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hactl/hactl/inventory"
)

// Host is one Host block of `vagrant ssh-config`.
type Host struct {
	Name         string // the Host pattern: the VM's name in the Vagrantfile
	HostName     string // where Vagrant reaches it (127.0.0.1 for VirtualBox's NAT)
	User         string
	Port         int
	IdentityFile string // the first IdentityFile
	// StrictHostKeyChecking is false when the block says "no" (Vagrant
	// does for boxes whose host keys it does not know).
	StrictHostKeyChecking bool
	Line                  int // line of the Host keyword
}

// Parse reads the output of `vagrant ssh-config`. Every Host needs a
// HostName, a User and an IdentityFile (hactl logs in with a key).
func Parse(data []byte) ([]Host, error) {
	var hosts []Host
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := cutField(text)
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: %q is not a keyword and a value", line, clip(text)))
			continue
		}
		if strings.EqualFold(key, "Host") {
			if strings.ContainsAny(value, " *?!") {
				errs = append(errs, fmt.Errorf("line %d: Host %q: want one VM name", line, value))
			}
			hosts = append(hosts, Host{Name: value, Port: 22, StrictHostKeyChecking: true, Line: line})
			continue
		}
		lower := strings.ToLower(key)
		if !knownKeywords[lower] && strings.ContainsAny(value, " \t") {
			errs = append(errs, fmt.Errorf("line %d: %q is not ssh-config output", line, clip(text)))
			continue
		}
		if len(hosts) == 0 {
			errs = append(errs, fmt.Errorf("line %d: %s before the first Host", line, key))
			continue
		}
		h := &hosts[len(hosts)-1]
		switch lower {
		case "hostname":
			h.HostName = value
		case "user":
			h.User = value
		case "port":
			p, err := strconv.Atoi(value)
			if err != nil || p < 1 || p > 65535 {
				errs = append(errs, fmt.Errorf("line %d: host %s: port %q is not a port number", line, h.Name, value))
			}
			h.Port = p
		case "identityfile":
			if h.IdentityFile == "" {
				h.IdentityFile = value
			}
		case "stricthostkeychecking":
			h.StrictHostKeyChecking = !strings.EqualFold(value, "no")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vagrant ssh-config: %w", err)
	}
	if len(hosts) == 0 && len(errs) == 0 {
		return nil, errors.New("vagrant ssh-config: no Host entries (are the VMs created? vagrant status)")
	}
	seen := map[string]int{}
	for _, h := range hosts {
		for _, miss := range []struct{ name, value string }{{"HostName", h.HostName}, {"User", h.User}, {"IdentityFile", h.IdentityFile}} {
			if miss.value == "" {
				errs = append(errs, fmt.Errorf("line %d: host %s has no %s", h.Line, h.Name, miss.name))
			}
		}
		if first, dup := seen[h.Name]; dup {
			errs = append(errs, fmt.Errorf("line %d: host %s already at line %d", h.Line, h.Name, first))
		}
		seen[h.Name] = h.Line
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("vagrant ssh-config: %w", err)
	}
	return hosts, nil
}

// knownKeywords are the ssh_config keywords Vagrant writes (lowercase).
// Others are ignored when their value is one word; a line of several
// words with an unknown first word is not ssh-config (an error message).
var knownKeywords = map[string]bool{"host": true, "include": true, "hostname": true, "user": true, "port": true,
	"userknownhostsfile": true, "stricthostkeychecking": true, "passwordauthentication": true, "identityfile": true,
	"identitiesonly": true, "loglevel": true, "forwardagent": true, "forwardx11": true, "proxycommand": true,
	"pubkeyacceptedkeytypes": true, "pubkeyacceptedalgorithms": true, "hostkeyalgorithms": true}

// cutField splits "Key value" or "Key=value"; a value in double quotes
// loses them (Vagrant quotes paths with spaces).
func cutField(s string) (key, value string, ok bool) {
	i := strings.IndexAny(s, " \t=")
	if i <= 0 {
		return "", "", false
	}
	key, value = s[:i], strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(s[i:]), "="))
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", "", false
		}
	}
	return key, value, value != ""
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// SSHConfig runs `vagrant ssh-config` in dir, stopping it after timeout.
func SSHConfig(ctx context.Context, dir string, timeout time.Duration) ([]byte, error) {
	out, err := run(ctx, dir, timeout, nil, "ssh-config")
	if err != nil {
		return nil, fmt.Errorf("%w (are the VMs up? run vagrant up in %s, or hactl up --vagrant-up)", err, dir)
	}
	return out, nil
}

// Up runs `vagrant up` in dir, streaming its output to progress.
func Up(ctx context.Context, dir string, timeout time.Duration, progress io.Writer) error {
	_, err := run(ctx, dir, timeout, progress, "up")
	return err
}

// run runs vagrant with args in dir; stdout is returned, or streamed to
// progress when that is set.
func run(ctx context.Context, dir string, timeout time.Duration, progress io.Writer, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("vagrant")
	if err != nil {
		return nil, errors.New("vagrant not found on PATH: install it (Debian: apt-get install vagrant; or from vagrantup.com)")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// vagrant's children (ruby, ssh, the provider) may keep the output
	// pipes open after it is killed: kill the whole group and stop waiting
	// for the pipes shortly after, so the timeout really returns.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "VAGRANT_CHECKPOINT_DISABLE=1", "VAGRANT_NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if progress != nil {
		cmd.Stdout, cmd.Stderr = progress, io.MultiWriter(progress, &stderr)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return nil, fmt.Errorf("vagrant %s in %s: %w: %s", strings.Join(args, " "), dir, err, clipLines(msg, 3))
	}
	return stdout.Bytes(), nil
}

// clipLines keeps the first and the last n lines of s (Vagrant ends its
// messages with the cause), joined on one line.
func clipLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 2*n {
		lines = append(append(lines[:n:n], "..."), lines[len(lines)-n:]...)
	}
	return strings.Join(lines, " ")
}

// Provided returns the hosts as inventory hosts: each at its private
// address (addresses[name], else network.(80+i) for the i-th host, 1-based,
// as vagrant/Vagrantfile assigns them), SSH on port 22 of that address with
// Vagrant's user and key, host keys unchecked when Vagrant says so.
func Provided(hosts []Host, network string, addresses map[string]string) ([]inventory.ProvidedHost, error) {
	out := make([]inventory.ProvidedHost, len(hosts))
	for i, h := range hosts {
		addr, ok := addresses[h.Name]
		if !ok {
			if network == "" {
				return nil, fmt.Errorf("host %s: no address (add it under vagrant.addresses)", h.Name)
			}
			addr = fmt.Sprintf("%s.%d", network, 81+i)
		}
		if _, err := netip.ParseAddr(addr); err != nil {
			return nil, fmt.Errorf("host %s: address %q: %w", h.Name, addr, err)
		}
		out[i] = inventory.ProvidedHost{Name: h.Name, Address: addr, User: h.User, Port: 22, Key: h.IdentityFile,
			Insecure: !h.StrictHostKeyChecking}
		if h.HostName == addr {
			out[i].Port = h.Port
		}
	}
	return out, nil
}
