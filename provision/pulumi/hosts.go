package pulumi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"text/template"
	"time"

	"github.com/hactl/hactl/inventory"
)

// Host is one machine the stack created, as hactl must reach it.
type Host struct {
	Name    string `json:"name"`
	Address string `json:"address"` // what hactl connects to (SSH, or the lab node's address)
	// PrivateAddress is where the host's peers reach it (cloud private
	// network); it becomes the inventory's announce and bind. "" means
	// Address.
	PrivateAddress string `json:"private_address,omitempty"`
	SSHUser        string `json:"ssh_user,omitempty"`
	SSHPort        int    `json:"ssh_port,omitempty"`
	// Transport is "local" for process-driver lab nodes (no SSH), else "ssh".
	Transport string `json:"transport,omitempty"`
	Root      string `json:"root,omitempty"` // lab process node: filesystem prefix
	ID        string `json:"id,omitempty"`   // the provider's id of the machine
}

// Hosts is what a stack created.
type Hosts struct {
	Target Target
	Hosts  []Host
	// Inventory is the inventory file the lab wrote for its nodes (lab
	// target); "" for the clouds (see InventoryYAML).
	Inventory string
	// KnownHosts is the known_hosts file with every host's key (cloud
	// targets: hactl made the keys); "" for the lab.
	KnownHosts string
}

// decodeHosts turns the "hosts" output value (a JSON-like []any of maps)
// into hosts, checking what hactl needs.
func decodeHosts(v any) ([]Host, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("hosts output: %w", err)
	}
	var hs []Host
	if err := json.Unmarshal(b, &hs); err != nil {
		return nil, fmt.Errorf("hosts output: %w", err)
	}
	if len(hs) == 0 {
		return nil, errors.New("hosts output: empty")
	}
	for i, h := range hs {
		if h.Name == "" || h.Address == "" {
			return nil, fmt.Errorf("hosts output: host %d (%q) has no name or address", i, h.Name)
		}
		for _, a := range []string{h.Address, h.PrivateAddress} {
			if _, err := netip.ParseAddr(a); a != "" && err != nil {
				return nil, fmt.Errorf("hosts output: host %s: address %q is not an IP address", h.Name, a)
			}
		}
	}
	return hs, nil
}

// InventoryHosts returns the hosts as inventory hosts (engine and sentinel
// roles), each with ssh merged over base: user and port from the stack.
func (h Hosts) InventoryHosts(base inventory.SSH) []inventory.Host {
	out := make([]inventory.Host, len(h.Hosts))
	for i, x := range h.Hosts {
		ih := inventory.Host{Name: x.Name, Address: x.Address, Bind: []string{x.Address},
			ReplicaPriority: inventory.DefaultReplicaPriority,
			Roles:           []inventory.Role{inventory.RoleEngine, inventory.RoleSentinel}, SSH: base}
		if x.PrivateAddress != "" && x.PrivateAddress != x.Address {
			ih.Announce, ih.Bind = x.PrivateAddress, []string{x.PrivateAddress}
		}
		if x.SSHUser != "" {
			ih.SSH.User = x.SSHUser
		}
		if x.SSHPort != 0 {
			ih.SSH.Port = x.SSHPort
		}
		out[i] = ih
	}
	return out
}

// Provided returns the hosts as inventory.Materialize takes them: SSH
// user and port from the stack, the private address as announce, and the
// stack's known_hosts file when there is one.
func (h Hosts) Provided() []inventory.ProvidedHost {
	out := make([]inventory.ProvidedHost, len(h.Hosts))
	for i, x := range h.Hosts {
		out[i] = inventory.ProvidedHost{Name: x.Name, Address: x.Address, Announce: x.PrivateAddress, User: x.SSHUser, Port: x.SSHPort,
			KnownHosts: h.KnownHosts}
	}
	return out
}

// InventoryOptions is what an inventory needs besides the hosts.
type InventoryOptions struct {
	Service         string // default mymaster
	SSHKey          string // private key file; "" means ssh-agent
	KnownHosts      string // "" means Hosts.KnownHosts, else ~/.ssh/known_hosts
	RequirePassFile string // secrets.requirepass file; default secrets/requirepass
}

var inventoryTmpl = template.Must(template.New("inventory").Parse(`# Written by hactl from the pulumi stack ({{.Target}}): the hosts change when
# the stack does. Edit the stack's settings, not this list.
service: {{.Service}}
provider: pulumi
master: {{(index .Hosts 0).Name}}
ssh:
{{- with .SSHKey}}
  key: {{printf "%q" .}}
{{- end}}
{{- with .KnownHosts}}
  known_hosts: {{printf "%q" .}}
{{- end}}
  port: 22
hosts:
{{- range .Hosts}}
  - name: {{.Name}}
    address: {{.Address}}
{{- if .Announce}}
    announce: {{.Announce}}
    bind: [{{index .Bind 0}}]
{{- end}}
    ssh: {user: {{.SSH.User}}, port: {{.SSH.Port}}}
{{- end}}
secrets:
  requirepass: {file: {{printf "%q" .RequirePassFile}}}
`))

// InventoryYAML renders an inventory file for the hosts (cloud targets),
// provider pulumi, the first host as master.
func (h Hosts) InventoryYAML(o InventoryOptions) ([]byte, error) {
	if len(h.Hosts) == 0 {
		return nil, errors.New("inventory: no hosts")
	}
	if o.Service == "" {
		o.Service = "mymaster"
	}
	if o.RequirePassFile == "" {
		o.RequirePassFile = "secrets/requirepass"
	}
	if o.KnownHosts == "" {
		o.KnownHosts = h.KnownHosts
	}
	var b bytes.Buffer
	err := inventoryTmpl.Execute(&b, struct {
		InventoryOptions
		Target Target
		Hosts  []inventory.Host
	}{o, h.Target, h.InventoryHosts(inventory.SSH{User: "root", Port: 22})})
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return b.Bytes(), nil
}

// WaitSSH waits until the SSH port of every SSH host accepts a TCP
// connection, trying each at most tries times, every interval, and writing
// one progress line per failed try. Local (lab) hosts are skipped.
func WaitSSH(ctx context.Context, hosts []Host, tries int, interval time.Duration, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	var d net.Dialer
	for _, h := range hosts {
		if h.Transport == "local" {
			continue
		}
		port := h.SSHPort
		if port == 0 {
			port = 22
		}
		addr := net.JoinHostPort(h.Address, strconv.Itoa(port))
		var err error
		for try := 1; try <= tries; try++ {
			dctx, cancel := context.WithTimeout(ctx, interval)
			var c net.Conn
			c, err = d.DialContext(dctx, "tcp", addr)
			cancel()
			if err == nil {
				c.Close()
				break
			}
			fmt.Fprintf(progress, "waiting for ssh on %s (%s): try %d/%d: %v\n", h.Name, addr, try, tries, err)
			if try == tries {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for ssh on %s: %w", h.Name, ctx.Err())
			case <-time.After(interval):
			}
		}
		if err != nil {
			return fmt.Errorf("host %s (%s) does not answer on ssh after %d tries; the stack is kept, run up again to continue: %w", h.Name, addr, tries, err)
		}
	}
	return nil
}
