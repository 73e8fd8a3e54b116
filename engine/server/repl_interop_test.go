package server

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRedis runs a real redis-server on a free loopback port.
func startRedis(t *testing.T, args ...string) (*redis.Client, string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is required in CI")
		}
		t.Skip("redis-server not installed")
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		dir := t.TempDir()
		cmdArgs := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, args...)
		cmd := exec.Command(bin, cmdArgs...)
		if os.Getenv("HACTL_TEST_LOG") != "" {
			cmd.Stdout = os.Stderr
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		addr := "127.0.0.1:" + strconv.Itoa(port)
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { c.Close() })
		for i := 0; i < 100; i++ {
			if c.Ping(context.Background()).Err() == nil {
				return c, addr
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
	}
	t.Fatal("redis-server did not start")
	return nil, ""
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitSynced(t *testing.T, ctx context.Context, master, replica *redis.Client) {
	t.Helper()
	waitFor(t, "replica link up", func() bool {
		return infoField(ctx, replica, "replication", "master_link_status") == "up"
	})
	waitFor(t, "replica caught up", func() bool {
		mo := infoField(ctx, master, "replication", "master_repl_offset")
		return mo != "" && infoField(ctx, replica, "replication", "slave_repl_offset") == mo
	})
}

// TestReplicationInterop: a real redis-server replicating from
// hactl-engine, and hactl-engine replicating from a real redis-server,
// full then partial resync, data compared.
func TestReplicationInterop(t *testing.T) {
	ctx := context.Background()
	t.Run("redis replica of engine", func(t *testing.T) {
		maddr, _ := runServer(t, replSettingsForTest(t.TempDir()))
		m := redis.NewClient(&redis.Options{Addr: maddr})
		defer m.Close()
		fillAllTypes(t, ctx, m)
		h, p := hostPort(t, maddr)
		r, _ := startRedis(t, "--replicaof", h, strconv.Itoa(p), "--repl-diskless-load", "disabled")
		waitSynced(t, ctx, m, r)
		m.Set(ctx, "streamed", "yes", time.Hour)
		m.IncrByFloat(ctx, "f", 2.5)
		m.Del(ctx, "s:str")
		waitSynced(t, ctx, m, r)
		sameDump(t, "redis replica", dumpNoEnc(t, ctx, r), dumpNoEnc(t, ctx, m))
		// Partial resync after the replica's link is cut.
		before := infoField(ctx, m, "stats", "sync_partial_ok")
		r.Do(ctx, "CLIENT", "KILL", "TYPE", "master")
		m.Set(ctx, "while", "cut", 0)
		waitFor(t, "a partial resync", func() bool { return infoField(ctx, m, "stats", "sync_partial_ok") != before })
		waitSynced(t, ctx, m, r)
		sameDump(t, "redis replica after partial", dumpNoEnc(t, ctx, r), dumpNoEnc(t, ctx, m))
	})
	t.Run("engine replica of redis", func(t *testing.T) {
		m, maddr := startRedis(t, "--repl-diskless-sync-delay", "0")
		fillAllTypes(t, ctx, m)
		raddr, _ := runServer(t, replSettingsForTest(t.TempDir()))
		r := redis.NewClient(&redis.Options{Addr: raddr})
		defer r.Close()
		h, p := hostPort(t, maddr)
		if err := r.SlaveOf(ctx, h, strconv.Itoa(p)).Err(); err != nil {
			t.Fatal(err)
		}
		waitSynced(t, ctx, m, r)
		m.Set(ctx, "streamed", "yes", time.Hour)
		m.SAdd(ctx, "st:new", "a", "b")
		waitSynced(t, ctx, m, r)
		sameDump(t, "engine replica", dumpNoEnc(t, ctx, r), dumpNoEnc(t, ctx, m))
		before := infoField(ctx, m, "stats", "sync_partial_ok")
		m.Do(ctx, "CLIENT", "KILL", "TYPE", "replica")
		m.Set(ctx, "while", "cut", 0)
		waitFor(t, "a partial resync on redis", func() bool { return infoField(ctx, m, "stats", "sync_partial_ok") != before })
		waitSynced(t, ctx, m, r)
		sameDump(t, "engine replica after partial", dumpNoEnc(t, ctx, r), dumpNoEnc(t, ctx, m))
	})
}

// dumpNoEnc is dump without OBJECT ENCODING (Redis and the engine may pick
// different encodings after a resync that rebuilt a value).
func dumpNoEnc(t *testing.T, ctx context.Context, c *redis.Client) map[string]string {
	out := map[string]string{}
	for k, v := range dump(t, ctx, c) {
		if i := strings.LastIndex(v, " enc="); i >= 0 {
			v = v[:i]
		}
		out[k] = v
	}
	return out
}
