package main

import (
	"context"
	"os"
	"testing"

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
