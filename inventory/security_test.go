package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserRolesAndGeneratedPasswords(t *testing.T) {
	dir := t.TempDir()
	src := hosts3 + `security:
  tls: {enabled: true, plaintext: false}
  acl:
    users:
      - {name: app, keys: ["app:*"], commands: ["+@all", "-@dangerous"], password: {env: APP_PASS}}
      - {name: repl, role: replica}
      - {name: watch, role: sentinel}
      - {name: hap, role: monitor}
`
	path := filepath.Join(dir, "inv.yaml")
	inv, _, err := Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role      UserRole
		name      string
		rules     string
		generated bool
	}{
		{RoleApp, "app", "~app:* +@all -@dangerous", false},
		{RoleReplica, "repl", "+psync +replconf +ping", true},
		{RoleSentinelUser, "watch", "&* " + strings.Join(SentinelCommands, " "), true},
		{RoleMonitor, "hap", "+ping +info +quit", true},
	} {
		u, ok := inv.Security.ACL.User(tc.role)
		if !ok || u.Name != tc.name {
			t.Fatalf("user of role %s: %+v", tc.role, u)
		}
		if got := strings.Join(u.Rules(), " "); got != tc.rules {
			t.Errorf("%s rules %q, want %q", u.Name, got, tc.rules)
		}
		if u.Password.Generated != tc.generated {
			t.Errorf("%s generated %v", u.Name, u.Password.Generated)
		}
	}
	env := func(k string) (string, bool) {
		return map[string]string{"APP_PASS": "app-secret", "PW": "pw"}[k], k == "APP_PASS" || k == "PW"
	}
	// Before generation the error says what to do.
	_, err = ResolveSecrets(inv, env, os.ReadFile)
	if err == nil || !strings.Contains(err.Error(), "run hactl up") {
		t.Fatalf("resolve before generation: %v", err)
	}
	made, err := GenerateSecrets(inv)
	if err != nil || len(made) != 3 {
		t.Fatalf("generate: %v %v", made, err)
	}
	for _, p := range made {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 || !strings.HasPrefix(p, StateDir(inv)) {
			t.Errorf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	sec, err := ResolveSecrets(inv, env, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Users["repl"]) < 40 || sec.Users["repl"] == sec.Users["watch"] || sec.Users["app"] != "app-secret" {
		t.Errorf("passwords: %d chars, distinct %v", len(sec.Users["repl"]), sec.Users["repl"] != sec.Users["watch"])
	}
	// A second run keeps them.
	again, err := GenerateSecrets(inv)
	sec2, _ := ResolveSecrets(inv, env, os.ReadFile)
	if err != nil || len(again) != 0 || sec2.Users["repl"] != sec.Users["repl"] {
		t.Errorf("second generate: %v %v", again, err)
	}
}
