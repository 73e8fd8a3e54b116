//go:build linux

package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// rawClient is a bare RESP connection: the tests control exactly which
// bytes arrive in one write (pipelines, a blocking command followed by
// more requests).
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newRawClient(t, conn)
}

// newRawClient wraps an open connection (closed when the test ends).
func newRawClient(t *testing.T, conn net.Conn) *rawClient {
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawClient{t: t, conn: conn, r: bufio.NewReaderSize(conn, 1<<16)}
}

// send writes inline commands, each on its own line, in one write.
func (c *rawClient) send(cmds ...string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, strings.Join(cmds, "\r\n")+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one reply and renders it compactly: "+OK", ":1", "$bar",
// "$-1", "*[a b]".
func (c *rawClient) reply() string {
	c.t.Helper()
	s, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return s
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '$':
		var n int
		fmt.Sscanf(line[1:], "%d", &n)
		if n < 0 {
			return "$-1", nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return "$" + string(b[:n]), nil
	case '*', '>':
		var n int
		fmt.Sscanf(line[1:], "%d", &n)
		if n < 0 {
			return "*-1", nil
		}
		parts := make([]string, 0, n)
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, strings.TrimPrefix(p, "$"))
		}
		return "*[" + strings.Join(parts, " ") + "]", nil
	}
	return line, nil
}

func (c *rawClient) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.reply(); got != w {
			c.t.Fatalf("reply = %q; want %q", got, w)
		}
	}
}

// expectEOF checks the server closed the connection.
func (c *rawClient) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if s, err := readReply(c.r); err == nil {
		c.t.Fatalf("got %q; want the connection closed", s)
	}
}

// ioModels runs a test against both I/O models: every behaviour the event
// loop hands over to a goroutine must match the goroutine path.
func ioModels(t *testing.T, mod func(*Settings), f func(t *testing.T, addr string)) {
	for _, m := range []string{IOModelGoroutine, IOModelEventLoop} {
		t.Run(m, func(t *testing.T) {
			_, addr := startTestServer(t, func(s *Settings) {
				s.IOModel = m
				if mod != nil {
					mod(s)
				}
			})
			f(t, addr)
		})
	}
}

// ioScenario is a behaviour checked in both I/O models; dial opens a
// client connection to the server under test.
type ioScenario struct {
	name string
	mod  func(*Settings)
	run  func(t *testing.T, dial func() *rawClient)
}

// runIOScenarios runs each scenario against both I/O models, with base
// applied to the settings first and clients opened by dial.
func runIOScenarios(t *testing.T, tests []ioScenario, base func(*Settings), dial func(t *testing.T, addr string) *rawClient) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := func(s *Settings) {
				if base != nil {
					base(s)
				}
				if tt.mod != nil {
					tt.mod(s)
				}
			}
			ioModels(t, mod, func(t *testing.T, addr string) {
				tt.run(t, func() *rawClient { return dial(t, addr) })
			})
		})
	}
}

func TestIOModelScenarios(t *testing.T) {
	runIOScenarios(t, ioScenarios(), nil, dialRaw)
}

// ioScenarios are the connection behaviours both I/O models must share,
// over plain TCP and over TLS (tlsloop_linux_test.go).
func ioScenarios() []ioScenario {
	return []ioScenario{
		{"pipeline", nil, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			var cmds, want []string
			for i := range 500 {
				cmds = append(cmds, fmt.Sprintf("SET k%d v%d", i, i), fmt.Sprintf("GET k%d", i), "INCR n")
				want = append(want, "+OK", fmt.Sprintf("$v%d", i), fmt.Sprintf(":%d", i+1))
			}
			c.send(cmds...)
			c.expect(want...)
		}},
		{"request split across writes", nil, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			msg := "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
			for i := range len(msg) {
				if _, err := c.conn.Write([]byte{msg[i]}); err != nil {
					t.Fatal(err)
				}
			}
			c.expect("+OK", "$hello")
		}},
		{"blocking command hands over with the rest of the batch", nil, func(t *testing.T, dial func() *rawClient) {
			a, b := dial(), dial()
			a.send("SET before 1", "BLPOP q 10", "PING", "GET before")
			a.expect("+OK") // replies before the blocking command are not held back
			time.Sleep(50 * time.Millisecond)
			b.send("RPUSH q x")
			b.expect(":1")
			a.expect("*[q x]", "+PONG", "$1")
			a.send("SET after 2", "GET after")
			a.expect("+OK", "$2")
		}},
		{"blocking timeout", nil, func(t *testing.T, dial func() *rawClient) {
			a := dial()
			a.send("BLPOP none 0.05", "PING")
			a.expect("*-1", "+PONG")
		}},
		{"pubsub", nil, func(t *testing.T, dial func() *rawClient) {
			sub, pub := dial(), dial()
			sub.send("SUBSCRIBE ch")
			sub.expect("*[subscribe ch :1]")
			pub.send("PUBLISH ch hello")
			pub.expect(":1")
			sub.expect("*[message ch hello]")
			sub.send("PING")
			sub.expect("*[pong ]")
		}},
		{"monitor", nil, func(t *testing.T, dial func() *rawClient) {
			mon, cl := dial(), dial()
			mon.send("MONITOR")
			mon.expect("+OK")
			cl.send("SET mk mv")
			cl.expect("+OK")
			if got := mon.reply(); !strings.Contains(got, `"SET" "mk" "mv"`) {
				t.Fatalf("monitor line = %q", got)
			}
		}},
		{"client kill", nil, func(t *testing.T, dial func() *rawClient) {
			victim, killer := dial(), dial()
			victim.send("CLIENT ID")
			id := strings.TrimPrefix(victim.reply(), ":")
			killer.send("CLIENT KILL ID " + id)
			killer.expect(":1")
			victim.expectEOF()
		}},
		{"quit and protocol error close after the reply", nil, func(t *testing.T, dial func() *rawClient) {
			q := dial()
			q.send("PING", "QUIT", "PING")
			q.expect("+PONG", "+OK")
			q.expectEOF()
			p := dial()
			io.WriteString(p.conn, "*1\r\n$4\r\nPING\r\n*x\r\n")
			p.expect("+PONG", "-ERR Protocol error: invalid multibulk length")
			p.expectEOF()
		}},
		{"reply larger than the socket buffer", nil, func(t *testing.T, dial func() *rawClient) {
			// Settle the heap afterwards: the eviction tests measure it.
			t.Cleanup(debug.FreeOSMemory)
			c := dial()
			big := strings.Repeat("x", 16<<20)
			fmt.Fprintf(c.conn, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n", len(big), big)
			c.expect("+OK")
			c.send("GET big", "GET big", "PING")
			for range 2 {
				if got := c.reply(); got != "$"+big {
					t.Fatalf("GET big: got %d bytes", len(got)-1)
				}
			}
			c.expect("+PONG")
		}},
		{"auth then pipelined commands", func(s *Settings) { s.RequirePass = "pw" }, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			c.send("GET a", "AUTH pw", "SET a b", "GET a")
			c.expect("-NOAUTH Authentication required.", "+OK", "+OK", "$b")
		}},
		{"multi exec", nil, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			c.send("MULTI", "INCR m", "BLPOP q 1", "EXEC")
			c.expect("+OK", "+QUEUED", "+QUEUED", "*[:1 *-1]")
		}},
		{"idle timeout", func(s *Settings) { s.Timeout = time.Second }, func(t *testing.T, dial func() *rawClient) {
			c := dial()
			c.send("PING")
			c.expect("+PONG")
			c.expectEOF()
		}},
	}
}

// TestEventLoopManyClients runs interleaved clients through one loop and
// checks every reply lands on the right connection.
func TestEventLoopManyClients(t *testing.T) {
	manyClients(t, nil, func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) })
}

// manyClients runs 20 clients opened by dial, 50 rounds each, in both I/O
// models.
func manyClients(t *testing.T, mod func(*Settings), dial func(addr string) (net.Conn, error)) {
	ioModels(t, mod, func(t *testing.T, addr string) {
		const clients, rounds = 20, 50
		errs := make(chan error, clients)
		for i := range clients {
			go func() {
				conn, err := dial(addr)
				if err != nil {
					errs <- err
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				r := bufio.NewReader(conn)
				for j := range rounds {
					fmt.Fprintf(conn, "SET c%d %d\r\nGET c%d\r\n", i, j, i)
					a, err1 := readReply(r)
					b, err2 := readReply(r)
					if err1 != nil || err2 != nil || a != "+OK" || b != fmt.Sprintf("$%d", j) {
						errs <- fmt.Errorf("client %d round %d: %q %q %v %v", i, j, a, b, err1, err2)
						return
					}
				}
				errs <- nil
			}()
		}
		for range clients {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}
