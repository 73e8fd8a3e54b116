package repltest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveLoopback listens on 127.0.0.1 and runs handle on every connection
// until the test ends; it returns the address.
func serveLoopback(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return ln.Addr().String()
}

// lineServer answers every read with reply (at most 100 times): a service
// that is not Redis. It returns its port.
func lineServer(t *testing.T, reply string) int {
	t.Helper()
	addr := serveLoopback(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for range 100 {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(buf); err != nil {
				return
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	})
	return addr2port(addr)
}

func addr2port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// TestBadMaster points an engine replica at masters it cannot replicate
// from: the link must stay down with a log line naming the failure, the
// replica must keep serving and must not crash, and it must recover when
// pointed at (or given the password of) the real master, which keeps
// serving meanwhile.
func TestBadMaster(t *testing.T) {
	ctx := context.Background()
	m := startKind(t, ctx, kindEngine, "m", "--requirepass", "SECRET")
	writeMixed(t, ctx, m, "m", 200, 16)
	closed, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	defer web.Close()
	webPort := web.Listener.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name string
		args []string
		port func(r *Node) int
		log  string // regexp the replica's log must match
		fix  func(t *testing.T, r *Node)
	}{
		{name: "wrong masterauth", args: []string{"--masterauth", "WRONG"}, port: func(*Node) int { return m.Port },
			log: `Unable to AUTH to MASTER: -?WRONGPASS`,
			fix: func(t *testing.T, r *Node) {
				if _, err := r.Do(ctx, "CONFIG", "SET", "masterauth", "SECRET"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "no masterauth", port: func(*Node) int { return m.Port },
			log: `(?i)NOAUTH|authentication required`},
		{name: "itself", port: func(r *Node) int { return r.Port },
			log: `Unexpected reply to PSYNC from master: .*-NOMASTERLINK`},
		{name: "closed port", args: []string{"--masterauth", "SECRET"}, port: func(*Node) int { return closed },
			log: `Error condition on socket for SYNC: .*connection refused`},
		// Like Redis, only a +reply (or an authentication error) to PING is
		// accepted.
		{name: "HTTP server", args: []string{"--masterauth", "SECRET"}, port: func(*Node) int { return webPort },
			log: `Error reply to PING from master: 'HTTP/1\.1 400 Bad Request'`},
		{name: "service answering a blank line", port: func(*Node) int { return lineServer(t, "\r\n") },
			log: `Error reply to PING from master: ''`},
		{name: "service answering +PONG and blank lines", port: func(*Node) int { return lineServer(t, "+PONG\r\n\r\n\r\n") },
			log: `Unexpected reply to PSYNC from master: .*PONG`},
		{name: "service answering +PONG and blank lines, with masterauth", args: []string{"--masterauth", "SECRET"},
			port: func(*Node) int { return lineServer(t, "+PONG\r\n\r\n\r\n") },
			log:  `Unexpected reply to PSYNC from master: .*PONG`},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := startKind(t, ctx, kindEngine, "r", tc.args...)
				writeMixed(t, ctx, r, "stale", 10, 4)
				if err := r.ReplicaOf(ctx, "127.0.0.1", tc.port(r)); err != nil {
					t.Fatal(err)
				}
				re := regexp.MustCompile(tc.log)
				if err := WaitUntil(ctx, 5*time.Second, func() error {
					if !r.Alive() {
						return nil // reported below
					}
					if !re.MatchString(r.Log()) {
						return fmt.Errorf("no log line matching %s", tc.log)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				// Two reconnection attempts later, the replica still runs.
				time.Sleep(1500 * time.Millisecond)
				if !r.Alive() {
					t.Fatalf("the replica exited: %s\n%s", r.ExitState(), Tail(r.Log(), 3000))
				}
				if strings.Contains(r.Log(), "panic") {
					t.Fatalf("the replica logged a panic:\n%s", Tail(r.Log(), 3000))
				}
				in, err := r.Info(ctx, "replication")
				if err != nil {
					t.Fatal(err)
				}
				if in.Get("role") != "slave" || in.Get("master_link_status") != "down" {
					t.Errorf("role:%s master_link_status:%s, want slave and down", in.Get("role"), in.Get("master_link_status"))
				}
				// replica-serve-stale-data yes: the old data is served.
				if v, err := r.Do(ctx, "GET", "stale:5"); err != nil || !strings.HasPrefix(fmt.Sprint(v), "5:") {
					t.Errorf("GET stale:5 on the replica = %v, %v", v, err)
				}
				// The master keeps serving (reads here: the cases run in
				// parallel and compare the master's keys with their replica's).
				if v, err := m.Do(ctx, "GET", "m:5"); err != nil || !strings.HasPrefix(fmt.Sprint(v), "5:") {
					t.Fatalf("GET m:5 on the master = %v, %v", v, err)
				}
				if tc.fix != nil {
					tc.fix(t, r)
				} else {
					if _, err := r.Do(ctx, "CONFIG", "SET", "masterauth", "SECRET"); err != nil {
						t.Fatal(err)
					}
					if err := r.ReplicaOf(ctx, "127.0.0.1", m.Port); err != nil {
						t.Fatal(err)
					}
				}
				waitSynced(t, ctx, m, r)
				sameKeys(t, ctx, "after recovery", m, r)
			})
		}
	})
	if _, err := m.Do(ctx, "SET", "m:alive", "yes"); err != nil {
		t.Fatalf("the master stopped serving writes: %v", err)
	}
}
