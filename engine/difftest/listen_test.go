package difftest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf/tlstest"
	"github.com/hactl/hactl/internal/testproc"
)

// listenStep is one step of the port scenario: a CONFIG SET (on the
// connection opened at the start, or on a TLS one), then which addresses
// must answer PING.
type listenStep struct {
	args   []string // CONFIG SET arguments; "@name" is a port of the scenario
	viaTLS bool     // send it on the TLS connection
	probe  []string // "@name" plain or "tls@name" TLS addresses to PING
}

// portScenario changes port and tls-port at runtime (config.c updatePort,
// applyTLSPort): a busy port fails and keeps the old listener, a failure
// of tls-port restores port too, 0 closes, established connections stay.
var portScenario = []listenStep{
	{args: []string{"tls-port", "@t1"}, probe: []string{"@start", "tls@t1"}},
	{args: []string{"port", "@busy"}, probe: []string{"@start"}},
	{args: []string{"port", "@p1"}, probe: []string{"@start", "@p1"}},
	{args: []string{"tls-cert-file", "@cert", "tls-key-file", "@key", "tls-ca-cert-file", "@ca", "tls-auth-clients", "no"}},
	{args: []string{"tls-port", "@busy"}, probe: []string{"@p1", "tls@busy"}},
	{args: []string{"port", "@p2", "tls-port", "@busy"}, probe: []string{"@p1", "@p2"}},
	{args: []string{"tls-port", "@t1"}, probe: []string{"@p1", "tls@t1"}},
	{args: []string{"port", "0"}, probe: []string{"@p1", "tls@t1"}},
	{args: []string{"tls-port", "@t2"}, viaTLS: true, probe: []string{"tls@t1", "tls@t2"}},
	{args: []string{"tls-port", "0"}, viaTLS: true, probe: []string{"tls@t2"}},
	{args: []string{"port", "@p2"}, viaTLS: true, probe: []string{"@p2"}},
}

// TestConfigSetPort plays portScenario on redis-server and hactl-engine
// and compares every reply and which addresses answer.
func TestConfigSetPort(t *testing.T) {
	ca := tlstest.NewCA(t, "difftest")
	node := ca.IssueValid("127.0.0.1")
	files := map[string]string{"@cert": node.Cert, "@key": node.Key, "@ca": ca.CAFile}
	clientTLS := ca.ClientConfig(t, tlstest.Files{})
	results := map[string][]string{}
	names := []string{"redis", "engine"}
	if selfMode() {
		names = []string{"redis", "redis-again"}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var srv *Server
			if name == "engine" {
				srv = StartEngine(t)
			} else {
				srv = StartRedis(t)
			}
			results[name] = playPorts(t, srv, files, clientTLS)
		})
	}
	a, b := results[names[0]], results[names[1]]
	if len(a) != len(portScenario) || len(b) != len(portScenario) {
		t.Fatalf("scenario incomplete: %d and %d of %d steps", len(a), len(b), len(portScenario))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("step %d %v:\n  %s: %s\n  %s: %s", i+1, portScenario[i].args, names[0], a[i], names[1], b[i])
		}
	}
	// The reference itself must show what the scenario is about.
	for i, want := range map[int]string{
		0: "Unable to update TLS configuration. Check server logs.",
		1: "Unable to listen on this port. Check server logs.\r\n plain=PONG @start=PONG",
		5: "possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs.\r\n plain=PONG @p1=PONG @p2=down",
		7: "+OK\r\n plain=PONG @p1=down tls@t1=PONG",
	} {
		if !strings.Contains(a[i], want) {
			t.Errorf("%s step %d: %q does not contain %q", names[0], i+1, a[i], want)
		}
	}
}

// playPorts runs portScenario on srv and returns one line per step: the
// CONFIG SET reply, whether the first connections still answer, and the
// state of each probed address.
func playPorts(t *testing.T, srv *Server, files map[string]string, clientTLS *tls.Config) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ports := map[string]string{"@start": srv.Addr, "@busy": busy.Addr().String()}
	for _, p := range []string{"@p1", "@p2", "@t1", "@t2"} {
		port, err := testproc.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[p] = "127.0.0.1:" + strconv.Itoa(port)
	}
	plain := srv.Dial(t)
	var tlsConn *Conn
	var out []string
	for i, st := range portScenario {
		args := [][]byte{[]byte("CONFIG"), []byte("SET")}
		for _, a := range st.args {
			if f, ok := files[a]; ok {
				a = f
			} else if addr, ok := ports[a]; ok {
				_, a, _ = net.SplitHostPort(addr)
			}
			args = append(args, []byte(a))
		}
		c := plain
		if st.viaTLS {
			if tlsConn == nil {
				if tlsConn, err = dialTLS(ctx, ports["@t1"], clientTLS); err != nil {
					t.Fatalf("step %d: %v", i+1, err)
				}
				defer tlsConn.Close()
			}
			c = tlsConn
		}
		r, err := c.Do(ctx, args...)
		if err != nil {
			t.Fatalf("step %d %s: %v", i+1, args, err)
		}
		line := string(r.Raw) + " " + answer(ctx, plain, "plain")
		if tlsConn != nil {
			line += " " + answer(ctx, tlsConn, "tlsconn")
		}
		for _, p := range st.probe {
			addr, cfg := ports[strings.TrimPrefix(p, "tls")], (*tls.Config)(nil)
			if strings.HasPrefix(p, "tls") {
				cfg = clientTLS
			}
			line += " " + p + "=" + probe(ctx, addr, cfg)
		}
		out = append(out, line)
	}
	return out
}

// answer is PING's reply on an established connection ("down" if none).
func answer(ctx context.Context, c *Conn, name string) string {
	r, err := c.Do(ctx, []byte("PING"))
	if err != nil {
		return name + "=down"
	}
	return name + "=" + strings.TrimSpace(strings.TrimPrefix(string(r.Raw), "+"))
}

// probe is PING's reply on a new connection to addr, or "down".
func probe(ctx context.Context, addr string, cfg *tls.Config) string {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var c *Conn
	var err error
	if cfg != nil {
		c, err = dialTLS(pctx, addr, cfg)
	} else {
		c, err = Dial(pctx, addr)
	}
	if err != nil {
		return "down"
	}
	defer c.Close()
	return answer(pctx, c, "")[1:]
}

// dialTLS opens a TLS connection to a loopback address.
func dialTLS(ctx context.Context, addr string, cfg *tls.Config) (*Conn, error) {
	d := tls.Dialer{Config: cfg}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tls dial %s: %w", addr, err)
	}
	return &Conn{nc: nc, br: bufio.NewReaderSize(nc, 1<<16)}, nil
}
