package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hactl/hactl/verify"
)

// deadInventory is a set on loopback addresses where nothing listens.
const deadInventory = `service: mymaster
engine: hactl
provider: ssh
master: db01
hosts:
  - {name: db01, address: 127.0.9.51}
  - {name: db02, address: 127.0.9.52}
  - {name: db03, address: 127.0.9.53}
server:
  port: 16379
sentinel:
  port: 36379
secrets:
  requirepass: {file: secrets/requirepass}
`

func TestFailoverExitCodes(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
	os.WriteFile(filepath.Join(dir, "secrets", "requirepass"), []byte("pw\n"), 0o600)
	os.WriteFile(inv, []byte(deadInventory), 0o600)
	for _, tt := range []struct {
		args []string
		code ExitCode
		err  string
	}{
		{[]string{"failover", "--force"}, ExitUsage, "--force needs --manual or --to"},
		{[]string{"failover", "-o", "yaml"}, ExitUsage, "invalid --output"},
		{[]string{"failover", "--bogus"}, ExitUsage, "unknown flag"},
		// Nothing answers: every mode refuses and changes nothing.
		{[]string{"failover"}, ExitRefused, "0 of 3 sentinels answer"},
		{[]string{"failover", "--manual"}, ExitRefused, "no engine answers"},
		{[]string{"failover", "--to", "db09"}, ExitRefused, "db09 is not an engine host"},
		{[]string{"heal"}, ExitError, "no master found"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := hactl(t, append(tt.args, "-i", inv)...)
			if code != tt.code || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, want %d; stderr %q, want it to contain %q", code, tt.code, errOut, tt.err)
			}
		})
	}
}

func TestFailoverExitCodeMapping(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want ExitCode
	}{
		{fmt.Errorf("x: %w", verify.ErrRefused), ExitRefused},
		{fmt.Errorf("%w after 1s: boom", verify.ErrTimedOut), ExitTimedOut},
		{fmt.Errorf("other"), 0},
	} {
		if got := failoverExitCode(tt.err); got != tt.want {
			t.Errorf("failoverExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
