package server

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/acl"
	"github.com/redis/go-redis/v9"
)

// TestGoRedisACLUsers: an application user limited to app:*, a replica
// user allowed only PSYNC/REPLCONF/PING, a sentinel-like user, and the
// default user mapped to requirepass.
func TestGoRedisACLUsers(t *testing.T) {
	_, addr := startTestServer(t, func(s *Settings) { s.RequirePass = "rootpw" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin := redis.NewClient(&redis.Options{Addr: addr, Password: "rootpw"})
	defer admin.Close()
	for _, rule := range [][]any{
		{"app", "on", ">apppw", "~app:*", "+@read", "+@write", "-@dangerous", "+@connection"},
		{"replica", "on", ">replpw", "-@all", "+psync", "+replconf", "+ping"},
		// Redis's documented Sentinel user (SCRIPT is not implemented; the
		// rule may still name script|kill, as in Redis).
		{"sentinel", "on", ">sentpw", "allchannels", "-@all", "+multi", "+slaveof", "+ping", "+exec", "+subscribe",
			"+config|rewrite", "+role", "+publish", "+info", "+client|setname", "+client|kill", "+script|kill"},
	} {
		args := append([]any{"acl", "setuser"}, rule...)
		err := admin.Do(ctx, args...).Err()
		if err != nil {
			t.Fatalf("setuser %v: %v", rule[0], err)
		}
	}
	noperm := func(err error, what string) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Fatalf("%s: want NOPERM, got %v", what, err)
		}
	}

	app := redis.NewClient(&redis.Options{Addr: addr, Username: "app", Password: "apppw"})
	defer app.Close()
	if err := app.Set(ctx, "app:1", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := app.Get(ctx, "app:1").Result(); err != nil || v != "v" {
		t.Fatalf("app GET = %q, %v", v, err)
	}
	noperm(app.Get(ctx, "other").Err(), "app GET other")
	noperm(app.Set(ctx, "other", "v", 0).Err(), "app SET other")
	noperm(app.FlushAll(ctx).Err(), "app FLUSHALL")
	if err := app.Do(ctx, "acl", "whoami").Err(); err == nil {
		t.Fatal("app may run ACL WHOAMI without +acl")
	}

	repl := redis.NewClient(&redis.Options{Addr: addr, Username: "replica", Password: "replpw"})
	defer repl.Close()
	if err := repl.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	noperm(repl.Get(ctx, "app:1").Err(), "replica GET")
	noperm(repl.FlushAll(ctx).Err(), "replica FLUSHALL")

	sent := redis.NewClient(&redis.Options{Addr: addr, Username: "sentinel", Password: "sentpw"})
	defer sent.Close()
	if err := sent.Publish(ctx, "__sentinel__:hello", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := sent.Info(ctx, "server").Err(); err != nil {
		t.Fatal(err)
	}
	if err := sent.Do(ctx, "role").Err(); err != nil {
		t.Fatal(err)
	}
	noperm(sent.Set(ctx, "k", "v", 0).Err(), "sentinel SET")
	noperm(sent.FlushAll(ctx).Err(), "sentinel FLUSHALL")
	noperm(sent.Do(ctx, "config", "set", "maxmemory", "1").Err(), "sentinel CONFIG SET")

	bad := redis.NewClient(&redis.Options{Addr: addr, Username: "app", Password: "wrong", MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	log, err := admin.Do(ctx, "acl", "log").Slice()
	if err != nil {
		t.Fatal(err)
	}
	foundAuth := false
	for _, e := range log {
		var fields []any
		switch e := e.(type) {
		case []any:
			fields = e
		case map[any]any:
			for k, v := range e {
				fields = append(fields, k, v)
			}
		}
		for i := 0; i+1 < len(fields); i += 2 {
			if s, _ := fields[i+1].(string); strings.Contains(s, "wrong") {
				t.Fatalf("ACL LOG shows the password: %v", fields)
			}
			if fields[i] == "reason" && fields[i+1] == "auth" {
				foundAuth = true
			}
		}
	}
	if !foundAuth {
		t.Fatalf("no auth entry in ACL LOG: %v", log)
	}

	// Deleting a user disconnects its clients.
	if err := admin.Do(ctx, "acl", "deluser", "app").Err(); err != nil {
		t.Fatal(err)
	}
	app.Options().MaxRetries = -1
	if err := app.Get(ctx, "app:1").Err(); err == nil {
		t.Fatal("deleted user's connection still works")
	}
}

// TestACLSaveLoad: ACL SAVE writes 0600 atomically, ACL LOAD reads it back
// and refuses a broken file without changing anything.
func TestACLSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.acl")
	if err := os.WriteFile(path, []byte("user app on >pw ~app:* +get\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, addr := startTestServer(t, func(s *Settings) { s.ACLFile = path })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	users, err := rdb.Do(ctx, "acl", "users").StringSlice()
	if err != nil || strings.Join(users, ",") != "app,default" {
		t.Fatalf("users from aclfile: %v %v", users, err)
	}
	if err := rdb.Do(ctx, "acl", "setuser", "ops", "on", ">opspw", "+@all", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "acl", "save").Err(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("aclfile mode: %v %v", st, err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "opspw") || !strings.Contains(string(b), acl.HashPassword([]byte("opspw"))) {
		t.Fatalf("aclfile must hold hashes only:\n%s", b)
	}
	os.WriteFile(path, []byte("user x on bogus\n"), 0o600)
	err = rdb.Do(ctx, "acl", "load").Err()
	if err == nil || !strings.Contains(err.Error(), "users.acl:1: Syntax error") {
		t.Fatalf("broken aclfile: %v", err)
	}
	users, _ = rdb.Do(ctx, "acl", "users").StringSlice()
	if strings.Join(users, ",") != "app,default,ops" {
		t.Fatalf("users changed after a failed load: %v", users)
	}
	os.WriteFile(path, b, 0o600)
	if err := rdb.Do(ctx, "acl", "load").Err(); err != nil {
		t.Fatal(err)
	}
}

// TestACLCategoriesLive compares ACL CAT <category> with redis-server
// 7.0.15 for the commands both implement.
func TestACLCategoriesLive(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	live := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer live.Close()
	for i := 0; live.Ping(ctx).Err() != nil; i++ {
		if i > 100 {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s, addr := startTestServer(t, nil)
	eng := redis.NewClient(&redis.Options{Addr: addr})
	defer eng.Close()
	implemented := map[string]bool{}
	for n, c := range s.cmds {
		implemented[n] = true
		for _, sc := range c.subs {
			implemented[sc.name] = true
		}
	}
	known := map[string]bool{}
	for _, cat := range acl.CategoryNames {
		names, err := live.Do(ctx, "acl", "cat", cat).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			known[n] = true
		}
	}
	for _, cat := range acl.CategoryNames {
		want, err := live.Do(ctx, "acl", "cat", cat).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		got, err := eng.Do(ctx, "acl", "cat", cat).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		var shared []string
		for _, n := range want {
			if implemented[n] {
				shared = append(shared, n)
			}
		}
		var gotImpl []string
		for _, n := range got {
			if known[n] && implemented[n] {
				gotImpl = append(gotImpl, n)
			}
		}
		sort.Strings(shared)
		sort.Strings(gotImpl)
		if strings.Join(shared, " ") != strings.Join(gotImpl, " ") {
			t.Errorf("@%s:\n redis:  %v\n engine: %v", cat, shared, gotImpl)
		}
	}
}

// TestACLLogMaxLen: acllog-max-len caps the failed-AUTH entries kept.
func TestACLLogMaxLen(t *testing.T) {
	_, addr := startTestServer(t, func(s *Settings) { s.RequirePass = "rootpw"; s.ACLLogMaxLen = 2 })
	ctx := context.Background()
	for _, u := range []string{"u1", "u2", "u3"} {
		c := redis.NewClient(&redis.Options{Addr: addr, Username: u, Password: "secret-" + u, MaxRetries: -1})
		if err := c.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
			t.Fatalf("AUTH %s: %v", u, err)
		}
		c.Close()
	}
	admin := redis.NewClient(&redis.Options{Addr: addr, Password: "rootpw"})
	defer admin.Close()
	log, err := admin.Do(ctx, "acl", "log").Slice()
	if err != nil || len(log) != 2 {
		t.Fatalf("ACL LOG has %d entries (%v), want 2", len(log), err)
	}
}
