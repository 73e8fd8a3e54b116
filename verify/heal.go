package verify

import (
	"context"
	"fmt"
	"net"
)

// HealAction is one repair hactl heal made (or would make).
type HealAction struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
	Action string `json:"action"`
	Error  string `json:"error,omitempty"`
}

// Heal repoints every engine that is not the master to it: a node that
// claims master while the sentinels name another (split brain: an old
// master that came back) and a replica following the wrong node. master ""
// means the one DiscoverMaster finds; with dryRun nothing is sent.
func Heal(ctx context.Context, c Config, master string, dryRun bool) (string, []HealAction, error) {
	ev, sv := c.survey(ctx)
	if master == "" {
		if master, _ = c.pickMaster(ev, sv); master == "" {
			return "", nil, fmt.Errorf("heal: %w: no sentinel names a master and not exactly one engine says role:master; pass --master", ErrNoMaster)
		}
	}
	f := &failover{c: c}
	m := f.engine(master)
	if m == nil {
		return "", nil, fmt.Errorf("heal: %s is not an engine host of the inventory", master)
	}
	var acts []HealAction
	for _, e := range ev {
		if e.Name == master || e.Err != nil {
			continue
		}
		var reason string
		switch got := net.JoinHostPort(e.Repl["master_host"], e.Repl["master_port"]); {
		case e.Repl["role"] == "master":
			reason = "says role:master but the master is " + master + " (split brain)"
		case got != m.Addr:
			reason = "replicates from " + got + ", not " + master
		default:
			continue
		}
		host, port, _ := net.SplitHostPort(m.Addr)
		a := HealAction{Node: e.Name, Reason: reason, Action: "REPLICAOF " + host + " " + port}
		if !dryRun {
			if err := f.replicaOf(ctx, e.Node, m); err != nil {
				a.Error = err.Error()
			}
		}
		acts = append(acts, a)
	}
	return master, acts, nil
}
