package verify

import (
	"errors"
	"strings"
	"testing"

	"github.com/hactl/hactl/inventory"
)

func TestParseInfo(t *testing.T) {
	m := ParseInfo("# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=192.168.69.83,port=6379,state=online,offset=1106,lag=0\r\n\r\n")
	if m["role"] != "master" || m["connected_slaves"] != "2" {
		t.Fatalf("%v", m)
	}
	f := ParseFields(m["slave0"])
	if f["ip"] != "192.168.69.83" || f["state"] != "online" || f["lag"] != "0" || len(f) != 5 {
		t.Errorf("%v", f)
	}
}

func cfg3() Config {
	return Config{Engines: []Node{{"db01", "10.0.0.1:6379"}, {"db02", "10.0.0.2:6379"}, {"db03", "10.0.0.3:6379"}}}
}

func TestPickMaster(t *testing.T) {
	sent := func(ip string) sentinelView { return sentinelView{Master: map[string]string{"ip": ip, "port": "6379"}} }
	sentE := func(ip, epoch string) sentinelView {
		return sentinelView{Master: map[string]string{"ip": ip, "port": "6379", "config-epoch": epoch}}
	}
	eng := func(name, role string) engineView {
		return engineView{Node: Node{Name: name}, Repl: map[string]string{"role": role}}
	}
	tests := []struct {
		name       string
		ev         []engineView
		sv         []sentinelView
		want, from string
	}{
		{"sentinels win over engines", []engineView{eng("db01", "master"), eng("db02", "master")},
			[]sentinelView{sent("10.0.0.2"), sent("10.0.0.2"), sent("10.0.0.1")}, "db02", "sentinels"},
		{"newest epoch wins over the majority", nil,
			[]sentinelView{sentE("10.0.0.1", "1"), sentE("10.0.0.1", "1"), sentE("10.0.0.3", "2")}, "db03", "sentinels"},
		{"single engine master", []engineView{eng("db01", "slave"), eng("db03", "master")}, nil, "db03", "engines"},
		{"two engine masters, no sentinel", []engineView{eng("db01", "master"), eng("db03", "master")}, nil, "", ""},
		{"unknown address", nil, []sentinelView{sent("10.9.9.9")}, "", ""},
	}
	for _, tt := range tests {
		got, from := cfg3().pickMaster(tt.ev, tt.sv)
		if got != tt.want || from != tt.from {
			t.Errorf("%s: got %q from %q, want %q from %q", tt.name, got, from, tt.want, tt.from)
		}
	}
}

func TestFromInventory(t *testing.T) {
	src := `service: mymaster
master: db01
hosts:
  - {name: db01, address: 10.0.0.1}
  - {name: db02, address: 10.0.0.2}
  - {name: db03, address: 10.0.0.3}
  - {name: lb01, address: 10.0.0.9, roles: [haproxy]}
secrets:
  requirepass: {env: PW}
`
	inv, _, err := inventory.Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := FromInventory(inv, &inventory.ResolvedSecrets{RequirePass: "pw", Sentinel: "spw"})
	if len(c.Engines) != 3 || len(c.Sentinels) != 3 || len(c.Proxies) != 1 || c.Engines[1].Addr != "10.0.0.2:6379" ||
		c.Sentinels[0].Addr != "10.0.0.1:26379" || c.Quorum != 2 || c.Save != "900 1 300 10 60 10000" || !c.AppendOnly {
		t.Errorf("%+v", c)
	}
	if !strings.HasSuffix(c.Proxies[0].Addr, ":6379") {
		t.Errorf("proxy %v", c.Proxies)
	}
}

func TestFailoverInProgress(t *testing.T) {
	flags := func(f string) sentinelView {
		return sentinelView{Node: Node{Name: "db02"}, Master: map[string]string{"flags": f}}
	}
	tests := []struct {
		name string
		sv   []sentinelView
		want bool
	}{
		{"healthy", []sentinelView{flags("master"), flags("master")}, false},
		{"down, not yet failing over", []sentinelView{flags("master,s_down,o_down")}, false},
		{"failing over", []sentinelView{flags("master"), flags("master,o_down,failover_in_progress")}, true},
		{"unreachable sentinel", []sentinelView{{Err: errors.New("refused")}}, false},
	}
	for _, tt := range tests {
		err := failoverInProgress(tt.sv)
		if got := errors.Is(err, ErrFailoverInProgress); got != tt.want {
			t.Errorf("%s: %v, want in progress %v", tt.name, err, tt.want)
		}
		if tt.want && !strings.Contains(err.Error(), "sentinel db02") {
			t.Errorf("%s: error does not name the sentinel: %v", tt.name, err)
		}
	}
}
