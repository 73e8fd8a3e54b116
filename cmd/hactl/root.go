package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/hactl/hactl/inventory"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// ExitCode is hactl's process exit status.
type ExitCode int

// The exit codes; scripts depend on them.
const (
	ExitOK      ExitCode = 0 // success
	ExitError   ExitCode = 1 // a step or command failed
	ExitUsage   ExitCode = 2 // bad flags or an invalid inventory
	ExitVerify  ExitCode = 1 // hactl verify found failed checks (issue 8's interface: 1, like a failed step)
	ExitPending ExitCode = 8 // not failed, not done yet (replica still syncing)
)

const exitHelp = `Exit codes:
  0  ok
  1  a step or command failed, or hactl verify found failed checks
  2  bad usage or invalid inventory
  4  hactl failover refused as unsafe (nothing changed)
  5  hactl failover timed out
  8  pending: a failover is in progress, retry in a few seconds`

// FlagError is a usage error: exit 2 with the usage hint.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// flagErrorf builds a FlagError.
func flagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrSilent is a failure already reported on the output: exit 1, no message.
var ErrSilent = errors.New("silent error")

// ErrVerifyFailed means checks failed (already printed): exit 1.
var ErrVerifyFailed = errors.New("verify found failed checks")

// ErrPending means the service is in a transition (a failover in
// progress): exit 8, retry later.
var ErrPending = errors.New("pending")

// Main runs hactl with the process's arguments and returns its exit code.
func Main() ExitCode {
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f := NewFactory()
	return run(ctx, f, os.Args[1:])
}

// quietRedis drops go-redis's own log lines (dial retries to a node that
// is down): every failure reaches the user through hactl's checks.
type quietRedis struct{}

// Printf implements go-redis's internal logger interface.
func (quietRedis) Printf(context.Context, string, ...any) {}

// run executes one command line and maps its error to an exit code.
func run(ctx context.Context, f *Factory, args []string) ExitCode {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	return exitCodeFor(err, f.IO.ErrOut)
}

// exitCodeFor prints err (unless silent) and returns its exit code.
func exitCodeFor(err error, stderr io.Writer) ExitCode {
	var fe *FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrVerifyFailed):
		return ExitVerify
	case errors.Is(err, ErrPending):
		fmt.Fprintf(stderr, "hactl: %v\n", err)
		return ExitPending
	case failoverExitCode(err) != 0:
		fmt.Fprintf(stderr, "hactl: %v\n", err)
		return failoverExitCode(err)
	case errors.Is(err, ErrSilent):
		return ExitError
	case inventory.AsErrorList(err) != nil:
		for _, e := range inventory.AsErrorList(err) {
			fmt.Fprintln(stderr, e)
		}
		return ExitUsage
	case errors.As(err, &fe) || isCobraUsage(err):
		fmt.Fprintf(stderr, "hactl: %v\nRun 'hactl --help' for usage.\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "hactl: %v\n", err)
	return ExitError
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "hactl <command>",
		Short: "Install and verify a highly available Redis-compatible service",
		Long: `hactl turns hosts described in an inventory into a replicated,
sentinel-monitored Redis-compatible service, and proves it works.

The inventory is -i FILE, else $HACTL_INVENTORY, else ./inventory.yaml.

` + exitHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	root.AddCommand(NewCmdInventory(f), NewCmdRender(f, nil), NewCmdUp(f, nil), NewCmdVerify(f, nil), NewCmdStatus(f, nil), NewCmdFailover(f, nil), NewCmdHeal(f, nil), NewCmdDown(f, nil), NewCmdCerts(f, nil))
	addLabCommand(root, f)
	return root
}

// isCobraUsage recognizes cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
