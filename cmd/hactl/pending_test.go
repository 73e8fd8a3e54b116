package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeSentinel answers SENTINEL MASTER with the given flags, AUTH with OK
// and anything else with an error, on a free port of addr.
func fakeSentinel(t *testing.T, addr, flags string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
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
			go serveFake(c, flags)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveFake reads RESP arrays of bulk strings and answers them.
func serveFake(c net.Conn, flags string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "*") {
			return
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		var args []string
		for range n {
			if _, err := r.ReadString('\n'); err != nil { // $len
				return
			}
			arg, err := r.ReadString('\n')
			if err != nil {
				return
			}
			args = append(args, strings.TrimSpace(arg))
		}
		switch cmd := strings.ToUpper(strings.Join(args, " ")); {
		case strings.HasPrefix(cmd, "AUTH"):
			fmt.Fprint(c, "+OK\r\n")
		case strings.HasPrefix(cmd, "SENTINEL MASTER"):
			kv := []string{"name", "mymaster", "ip", "127.0.0.1", "port", "6379", "flags", flags, "config-epoch", "1"}
			fmt.Fprintf(c, "*%d\r\n", len(kv))
			for _, s := range kv {
				fmt.Fprintf(c, "$%d\r\n%s\r\n", len(s), s)
			}
		default:
			fmt.Fprint(c, "-ERR unknown command\r\n")
		}
	}
}

// TestUpRefusesDuringFailover: while a sentinel reports
// failover_in_progress, hactl up (even --dry-run) exits 8 and says why.
func TestUpRefusesDuringFailover(t *testing.T) {
	for _, tc := range []struct {
		flags string
		want  ExitCode
	}{
		{"master,failover_in_progress", ExitPending},
		{"master", ExitOK}, // the same inventory plans normally
	} {
		t.Run(tc.flags, func(t *testing.T) {
			port := fakeSentinel(t, "127.0.0.1", tc.flags)
			dir := t.TempDir()
			inv := filepath.Join(dir, "inventory.yaml")
			os.WriteFile(filepath.Join(dir, "pw"), []byte("pw\n"), 0o600)
			os.WriteFile(inv, fmt.Appendf(nil, `service: mymaster
engine: redis
provider: lab
master: db01
hosts:
  - {name: db01, address: 127.0.0.1}
sentinel: {port: %d, quorum: 1}
secrets:
  requirepass: {file: pw}
`, port), 0o600)
			out, errOut, code := hactl(t, "up", "-i", inv, "--dry-run")
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.want, out, errOut)
			}
			if tc.want == ExitPending && !strings.Contains(errOut, "failover_in_progress") {
				t.Errorf("stderr does not say why:\n%s", errOut)
			}
		})
	}
}
