package verify

import (
	"context"
	"net"
	"strconv"
)

// Replica is one replica in the live topology.
type Replica struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	Lag    int64  `json:"lag"` // bytes behind the master's offset
	Link   string `json:"link"`
	Error  string `json:"error,omitempty"`
}

// SentinelState is one sentinel's view.
type SentinelState struct {
	Name   string `json:"name"`
	Master string `json:"master"` // host it names
	Epoch  int64  `json:"epoch"`  // config-epoch of the service
	Error  string `json:"error,omitempty"`
}

// Topology is the live state hactl status shows.
type Topology struct {
	Master       string          `json:"master"`
	MasterOffset int64           `json:"master_offset"`
	Replicas     []Replica       `json:"replicas"`
	Sentinels    []SentinelState `json:"sentinels"`
}

// Status gathers the live topology.
func Status(ctx context.Context, c Config) *Topology {
	ev, sv := c.survey(ctx)
	t := &Topology{Replicas: []Replica{}, Sentinels: []SentinelState{}}
	t.Master, _ = c.pickMaster(ev, sv)
	for _, e := range ev {
		if e.Name == t.Master && e.Err == nil {
			t.MasterOffset, _ = strconv.ParseInt(e.Repl["master_repl_offset"], 10, 64)
		}
	}
	for _, e := range ev {
		if e.Name == t.Master {
			continue
		}
		r := Replica{Name: e.Name}
		if e.Err != nil {
			r.Error = e.Err.Error()
		} else {
			r.Offset, _ = strconv.ParseInt(e.Repl["slave_repl_offset"], 10, 64)
			r.Link = e.Repl["master_link_status"]
			if e.Repl["role"] == "master" {
				r.Link = "claims master"
			}
			r.Lag = t.MasterOffset - r.Offset
		}
		t.Replicas = append(t.Replicas, r)
	}
	for _, s := range sv {
		st := SentinelState{Name: s.Name}
		if s.Err != nil {
			st.Error = s.Err.Error()
		} else {
			st.Master = c.nameOf(s.Master["ip"], s.Master["port"])
			if st.Master == "" {
				st.Master = net.JoinHostPort(s.Master["ip"], s.Master["port"])
			}
			st.Epoch, _ = strconv.ParseInt(s.Master["config-epoch"], 10, 64)
		}
		t.Sentinels = append(t.Sentinels, st)
	}
	return t
}
