package inventory

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// validate runs the checks that involve several fields, once every field
// is decoded, and fills the defaults that depend on them.
func (p *parser) validate() {
	p.checkHosts()
	p.checkMaster()
	p.checkSentinels()
	p.checkPorts()
	p.checkSecurity()
	p.checkUsers()
}

// hostField is the path of field of host i.
func hostField(i int, field string) string {
	return fmt.Sprintf("hosts[%d].%s", i, field)
}

func (p *parser) checkHosts() {
	d, inv := p.d, p.inv
	names := map[string]int{}
	addrs := map[string]int{}
	for i, h := range inv.Hosts {
		if h.Name != "" {
			if j, dup := names[h.Name]; dup {
				d.errorAt(hostField(i, "name"), "give each host a unique name",
					"duplicate host name %q (first at line %d)", h.Name, p.d.pos[hostField(j, "name")].Line)
			} else {
				names[h.Name] = i
			}
		}
		if h.Address != "" {
			key := canonicalAddress(h.Address)
			if j, dup := addrs[key]; dup {
				d.errorAt(hostField(i, "address"), "each host needs its own address",
					"duplicate address %q (also used by %s at line %d)", h.Address, inv.Hosts[j].Name, p.d.pos[hostField(j, "address")].Line)
			} else {
				addrs[key] = i
			}
		}
	}
	engines := inv.HostsWith(RoleEngine)
	if len(inv.Hosts) > 0 && len(engines) == 0 {
		d.errorAt("hosts", "give at least one host the engine role", "no host runs the engine")
	}
	if len(engines) == 1 {
		d.warnAt("hosts", "the seed uses three hosts: one master and two replicas", "only one engine host: no replica, no failover")
	}
}

// canonicalAddress makes equal addresses compare equal.
func canonicalAddress(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

func (p *parser) checkMaster() {
	d, inv := p.d, p.inv
	engines := inv.HostsWith(RoleEngine)
	if len(engines) == 0 {
		return
	}
	if inv.Master == "" {
		inv.Master = engines[0].Name
		return
	}
	h, ok := inv.Host(inv.Master)
	if !ok {
		var names []string
		for _, e := range engines {
			if !slices.Contains(names, e.Name) {
				names = append(names, e.Name)
			}
		}
		d.errorAt("master", "use one of: "+strings.Join(names, ", "), "initial master %q is not among the hosts", inv.Master)
		return
	}
	if !h.Has(RoleEngine) {
		d.errorAt("master", "add engine to its roles or choose another host", "initial master %q does not run the engine", inv.Master)
		return
	}
	var promotable int
	for _, e := range engines {
		if e.Name != inv.Master && e.ReplicaPriority > 0 {
			promotable++
		}
	}
	if len(engines) > 1 && promotable == 0 {
		d.warnAt("hosts", "give at least one replica a replica_priority above 0", "no replica can be promoted: every replica has replica_priority 0")
	}
}

func (p *parser) checkSentinels() {
	d, inv := p.d, p.inv
	n := len(inv.HostsWith(RoleSentinel))
	if len(inv.Hosts) == 0 {
		return
	}
	if n == 0 {
		d.errorAt("hosts", "give hosts the sentinel role (the default when roles is not written)", "no host runs a sentinel: failover is impossible")
		return
	}
	if _, set := d.pos["sentinel.quorum"]; !set {
		inv.Sentinel.Quorum = n/2 + 1
	} else if inv.Sentinel.Quorum > n {
		d.errorAt("sentinel.quorum", fmt.Sprintf("use at most %d; a majority (%d) is usual", n, n/2+1),
			"quorum %d is larger than the number of sentinels (%d)", inv.Sentinel.Quorum, n)
	}
	if n%2 == 0 {
		d.warnAt("hosts", "add a sentinel-only host (roles: [sentinel]) or remove one",
			"even number of sentinels (%d): a partition in halves leaves no majority to fail over", n)
	}
}

func (p *parser) checkPorts() {
	d, inv := p.d, p.inv
	type use struct{ field, what string }
	// Ports a host may need at once; a conflict is reported once, on the
	// later field.
	reported := map[string]bool{}
	for _, h := range inv.Hosts {
		taken := map[int]use{}
		claim := func(port int, u use) {
			if prev, ok := taken[port]; ok && prev.field != u.field && !reported[u.field] {
				reported[u.field] = true
				if _, set := d.pos[u.field]; !set {
					d.pos[u.field] = h.Pos // a default: point at the host
				}
				d.errorAt(u.field, "set "+u.field+" to another port",
					"port %d of the %s clashes with the %s on host %s", port, u.what, prev.what, h.Name)
				return
			}
			taken[port] = u
		}
		if h.Has(RoleEngine) {
			claim(inv.Server.Port, use{"server.port", "engine"})
			if inv.Security.TLS.Enabled {
				claim(inv.Security.TLS.Port, use{"security.tls.port", "engine TLS port"})
			}
		}
		if h.Has(RoleSentinel) {
			claim(inv.Sentinel.Port, use{"sentinel.port", "sentinel"})
		}
		if h.Has(RoleHAProxy) {
			claim(inv.HAProxy.Port, use{"haproxy.port", "haproxy"})
		}
	}
	if p.haproxy && len(inv.HostsWith(RoleHAProxy)) == 0 {
		d.warnAt("haproxy", "add haproxy to the roles of the proxy hosts", "haproxy settings but no host has the haproxy role")
	}
}

func (p *parser) checkSecurity() {
	d, t := p.d, &p.inv.Security.TLS
	if (t.CACert == "") != (t.CAKey == "") {
		field := "security.tls.ca_cert"
		if t.CAKey == "" {
			field = "security.tls.ca_key"
			d.pos[field] = d.pos["security.tls.ca_cert"]
		}
		d.errorAt(field, "give both ca_cert and ca_key, or neither to let hactl generate a CA", "ca_cert and ca_key go together")
	}
	if t.RenewBefore >= t.CertValidity {
		d.errorAt("security.tls.renew_before", "renew_before must be shorter than cert_validity",
			"renew_before %s is not shorter than cert_validity %s", t.RenewBefore, t.CertValidity)
	}
	if !t.Plaintext && !t.Enabled {
		d.errorAt("security.tls.plaintext", "set security.tls.enabled: true", "plaintext: false without TLS leaves no port open")
	}
	seen := map[string]int{}
	for i, u := range p.inv.Security.ACL.Users {
		field := fmt.Sprintf("security.acl.users[%d].name", i)
		switch {
		case u.Name == "":
		case u.Name == "default":
			d.errorAt(field, "the default user takes secrets.requirepass; choose another name", "user \"default\" is managed by hactl")
		case seen[u.Name] > 0:
			d.errorAt(field, "give each user a unique name", "duplicate user %q (first at line %d)", u.Name, seen[u.Name])
		default:
			seen[u.Name] = d.pos[field].Line
		}
	}
}
