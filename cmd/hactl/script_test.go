package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hactl/hactl/lab"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hactl": func() { os.Exit(int(run(context.Background(), NewFactory(), os.Args[1:]))) },
	})
}

// TestScripts runs the acceptance scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		want ExitCode
	}{
		{[]string{"--help"}, ExitOK},
		{[]string{"nosuch"}, ExitUsage},
		{[]string{"verify", "--bogus"}, ExitUsage},
		{[]string{"verify", "-o", "yaml", "-i", "x.yaml"}, ExitUsage},
		{[]string{"inventory", "check", "-i", "/nonexistent/inv.yaml"}, ExitUsage},
		{[]string{"lab", "up", "--driver", "qemu", "--state", "/nonexistent/lab"}, ExitUsage},
		{[]string{"lab", "up", "--engine", "valkey", "--state", "/nonexistent/lab"}, ExitUsage},
		{[]string{"lab", "kill"}, ExitUsage},
		{[]string{"lab", "status", "--state", "/nonexistent/lab"}, ExitError},
		{[]string{"lab", "down", "--state", "/nonexistent/lab"}, ExitOK}, // nothing to remove
	}
	for _, tt := range tests {
		if _, _, got := hactl(t, tt.args...); got != tt.want {
			t.Errorf("hactl %v: exit %d, want %d", tt.args, got, tt.want)
		}
	}
}

func TestUpFlags(t *testing.T) {
	f := NewFactory()
	var got *UpOptions
	cmd := NewCmdUp(f, func(o *UpOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-i", "a.yaml", "--dry-run", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Inventory != "a.yaml" || !got.DryRun || got.Output != "json" {
		t.Errorf("%+v", got)
	}
}

func TestExitCodeFor(t *testing.T) {
	tests := []struct {
		err  error
		want ExitCode
	}{
		{nil, ExitOK},
		{fmt.Errorf("up: %w", ErrVerifyFailed), ExitVerify},
		{fmt.Errorf("%w: verify: failover in progress: sentinel db02 reports master flags master,failover_in_progress", ErrPending), ExitPending},
		{&FlagError{Err: errors.New("bad")}, ExitUsage},
		{fmt.Errorf("lab: kill db09: %w", lab.ErrUnknownNode), ExitError},
		{labError(fmt.Errorf("lab: kill db09: %w", lab.ErrUnknownNode)), ExitUsage},
		{errors.New("boom"), ExitError},
	}
	for _, tt := range tests {
		var errb strings.Builder
		if got := exitCodeFor(tt.err, &errb); got != tt.want {
			t.Errorf("exitCodeFor(%v) = %d, want %d (%s)", tt.err, got, tt.want, errb.String())
		}
	}
}
