package templates

// Sanity tests: the rendered files are accepted by the real programs. They
// run redis-server, redis-sentinel and haproxy on 127.0.0.0/8 only (each
// node binds its own loopback address, 127.0.0.8x, like distinct hosts)
// and skip when a program is missing, unless CI=true.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/inventory"
)

// need returns the path of a program or skips (fails under CI=true).
func need(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", path, err)
		}
		t.Skipf("%s not installed", path)
	}
	return path
}

// freePort returns a TCP port free on 127.0.0.1 (and, on Linux, in
// practice on the other loopback addresses).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// loopback renders the example inventory moved to 127.0.0.80-83 with free
// ports, and returns the files per host.
func loopback(t *testing.T, engine string) (*inventory.Inventory, map[string][]File) {
	t.Helper()
	port, sport, hport := freePort(t), freePort(t), freePort(t)
	inv, sec := example(t, func(s string) string {
		s = strings.ReplaceAll(s, "192.168.69.8", "127.0.0.8")
		s = strings.Replace(s, "engine: hactl", "engine: "+engine, 1)
		s = strings.Replace(s, "server:\n  port: 6379", "server:\n  port: "+strconv.Itoa(port), 1)
		s = strings.Replace(s, "port: 26379", "port: "+strconv.Itoa(sport), 1)
		return strings.Replace(s, "haproxy:\n  port: 6379", "haproxy:\n  port: "+strconv.Itoa(hport), 1)
	})
	out := map[string][]File{}
	for _, h := range inv.Hosts {
		files, err := Render(inv, sec, Params{Host: h.Name})
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = files
	}
	return inv, out
}

// install writes the rendered file at path among files into dir, for a
// test run: Redis changes directory when it reads the "dir" line, before
// any command-line override, so that line points at dir instead.
func install(t *testing.T, files []File, path, dir string) string {
	t.Helper()
	for _, f := range files {
		if f.Path != path {
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(f.Content), "\n") {
			if strings.HasPrefix(l, "dir ") {
				l = "dir " + dir
			}
			lines = append(lines, l)
		}
		out := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("no %s rendered", path)
	return ""
}

// start runs a server in the background until the test ends.
func start(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, name, args...)
	log, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("%s output:\n%s", name, out)
		}
	})
}

// call sends one command on a fresh connection after AUTH and returns the
// raw reply (a status, an error or the payload of a bulk string).
func call(addr, password string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(c)
	if _, err := c.Write(respCommand("AUTH", password)); err != nil {
		return "", err
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
		return "", fmt.Errorf("auth: %q %v", line, err)
	}
	if _, err := c.Write(respCommand(args...)); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if line[0] != '$' && line[0] != '*' {
		return strings.TrimSpace(line), nil
	}
	// A bulk string or an array: read what is there within the deadline.
	var b strings.Builder
	b.WriteString(line)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		more, err := r.ReadString('\n')
		b.WriteString(more)
		if err != nil {
			return b.String(), nil
		}
	}
}

// eventually polls f every 100ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var ok bool
		if ok, last = f(); ok {
			return
		}
	}
	t.Fatalf("%s: not within %v; last: %s", what, d, last)
}

// TestRenderedConfigsRunOnRedis starts redis-server on db01 and db02 and a
// sentinel on db01 with the rendered configs, each on its own loopback
// address (bind overridden, dir pointed at a temporary directory), and
// checks that the replica links to the master with masterauth and that the
// sentinel reaches the master with auth-pass.
func TestRenderedConfigsRunOnRedis(t *testing.T) {
	server := need(t, "/usr/bin/redis-server")
	for _, engine := range []string{"hactl", "redis"} {
		t.Run(engine, func(t *testing.T) {
			inv, files := loopback(t, engine)
			conf, sconf := EngineConfig, SentinelConfig
			if engine == "redis" {
				conf, sconf = RedisConfig, RedisSentinelConfig
			}
			pw := "example-requirepass"
			for _, name := range []string{"db01", "db02"} {
				h, _ := inv.Host(name)
				dir := t.TempDir()
				args := []string{install(t, files[name], conf, dir), "--bind", h.Address}
				if engine == "redis" {
					args = append(args, "--logfile", "", "--pidfile", filepath.Join(dir, "pid"))
				}
				start(t, server, args...)
			}
			master := net.JoinHostPort("127.0.0.81", strconv.Itoa(inv.Server.Port))
			replica := net.JoinHostPort("127.0.0.82", strconv.Itoa(inv.Server.Port))
			eventually(t, 5*time.Second, "master answers PING", func() (bool, string) {
				got, err := call(master, pw, "PING")
				return got == "+PONG", fmt.Sprint(got, err)
			})
			eventually(t, 10*time.Second, "replica linked to the master", func() (bool, string) {
				got, err := call(replica, pw, "INFO", "replication")
				return strings.Contains(got, "master_link_status:up") && strings.Contains(got, "master_host:127.0.0.81"), fmt.Sprint(got, err)
			})
			if got, _ := call(replica, pw, "CONFIG", "GET", "appendonly"); !strings.Contains(got, "yes") {
				t.Errorf("replica appendonly = %q; want yes", got)
			}

			// The sentinel on db01 finds the replica through the master: its
			// auth-pass works.
			dir := t.TempDir()
			args := []string{install(t, files["db01"], sconf, dir), "--sentinel", "--bind", "127.0.0.81"}
			if engine == "redis" {
				args = append(args, "--logfile", "", "--pidfile", filepath.Join(dir, "pid"))
			}
			start(t, server, args...)
			sentinel := net.JoinHostPort("127.0.0.81", strconv.Itoa(inv.Sentinel.Port))
			spw := `example sentinel "pass"`
			// The master sees the replica's source address (127.0.0.1 on
			// loopback), so only the replica's presence is checked.
			eventually(t, 15*time.Second, "sentinel sees the replica", func() (bool, string) {
				got, err := call(sentinel, spw, "SENTINEL", "REPLICAS", inv.Service)
				return strings.HasPrefix(got, "*1\r\n") && strings.Contains(got, "slave"), fmt.Sprint(got, err)
			})
			got, err := call(sentinel, spw, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", inv.Service)
			if err != nil || !strings.Contains(got, "127.0.0.81") || !strings.Contains(got, strconv.Itoa(inv.Server.Port)) {
				t.Errorf("GET-MASTER-ADDR-BY-NAME = %q, %v", got, err)
			}
		})
	}
}

// TestRenderedHAProxy checks haproxy.cfg with haproxy -c, then, as root,
// runs haproxy in front of a master and a replica watched by two of the
// three sentinels (a majority: the check also asks them) and checks that
// every connection lands on the master, then, with the replica shut down,
// that none does (a master needs an attached replica).
func TestRenderedHAProxy(t *testing.T) {
	haproxy := need(t, "/usr/sbin/haproxy")
	inv, files := loopback(t, "redis")
	cfg := install(t, files["lb01"], HAProxyConfig, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, haproxy, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	server := "/usr/bin/redis-server"
	if _, err := os.Stat(server); err != nil || os.Geteuid() != 0 {
		t.Skip("running haproxy needs root (chroot, user haproxy) and redis-server")
	}
	if _, err := os.Stat("/var/lib/haproxy"); err != nil {
		t.Skip("no /var/lib/haproxy for the chroot")
	}
	for _, name := range []string{"db01", "db02"} {
		h, _ := inv.Host(name)
		for _, c := range []struct {
			path string
			args []string
		}{{RedisConfig, nil}, {RedisSentinelConfig, []string{"--sentinel"}}} {
			dir := t.TempDir()
			start(t, server, append([]string{install(t, files[name], c.path, dir), "--bind", h.Address, "--logfile", "", "--pidfile", filepath.Join(dir, "pid")}, c.args...)...)
		}
	}
	start(t, haproxy, "-db", "-f", cfg)
	proxy := net.JoinHostPort("127.0.0.80", strconv.Itoa(inv.HAProxy.Port))
	pw := "example-requirepass"
	eventually(t, 5*time.Second, "haproxy routes", func() (bool, string) {
		got, err := call(proxy, pw, "PING")
		return got == "+PONG", fmt.Sprint(got, err)
	})
	time.Sleep(2500 * time.Millisecond) // let a few checks (inter 1s) run
	for i := range 10 {
		got, err := call(proxy, pw, "INFO", "replication")
		if err != nil || !strings.Contains(got, "role:master") {
			t.Fatalf("connection %d through haproxy: %q, %v; want the master", i, got, err)
		}
	}
	// Without its replica the master gets nothing, though the sentinels
	// (both still up) name it master: the connected_slaves check.
	db02, _ := inv.Host("db02")
	if got, err := call(net.JoinHostPort(db02.Address, strconv.Itoa(inv.Server.Port)), pw, "SHUTDOWN", "NOSAVE"); err == nil {
		t.Fatalf("SHUTDOWN of the replica answered %q", got)
	}
	eventually(t, 5*time.Second, "haproxy refuses a master without replicas", func() (bool, string) {
		got, err := call(proxy, pw, "PING")
		return err != nil, fmt.Sprint(got, err)
	})
}
