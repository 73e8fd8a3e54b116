package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Main is the whole main function of a bench command: it runs run with a
// context that SIGINT and SIGTERM cancel, the arguments after the program
// name, stdout and stderr, and exits with ExitCode.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ExitCode(name, run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// UsageError is an error in a command's arguments.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode reports err on stderr as "NAME: err" and returns the exit code:
// 0 for nil and flag.ErrHelp (-h), 2 for a *UsageError, 1 for the rest.
func ExitCode(name string, err error, stderr io.Writer) int {
	var usage *UsageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// ParseFlags parses args with fs, which writes its messages to stderr, and
// refuses positional arguments; its errors are *UsageError.
func ParseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return &UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return nil
}

// Flags are the flags persistbench and replbench share: the dataset, the
// redis-benchmark load, the binaries and the markdown file.
type Flags struct {
	Keys, ValueSize           int
	Requests, Clients, Rounds int
	RedisServer               string
	RedisBenchmark            string
	Engine                    string // "" means build ./cmd/hactl-engine
	Markdown                  string // "" means no markdown output
}

// Register defines the flags on fs; keysHelp says what the keys are for.
func (f *Flags) Register(fs *flag.FlagSet, keysHelp string) {
	fs.IntVar(&f.Keys, "keys", 1_000_000, keysHelp)
	fs.IntVar(&f.ValueSize, "value-size", 10, "bytes per value")
	fs.IntVar(&f.Requests, "requests", 200_000, "redis-benchmark -n")
	fs.IntVar(&f.Clients, "clients", 50, "redis-benchmark -c")
	fs.IntVar(&f.Rounds, "rounds", 3, "runs per measurement (median kept)")
	fs.StringVar(&f.RedisServer, "redis-server", "/usr/bin/redis-server", "reference server")
	fs.StringVar(&f.RedisBenchmark, "redis-benchmark", "/usr/bin/redis-benchmark", "redis-benchmark binary")
	fs.StringVar(&f.Engine, "engine", "", "prebuilt hactl-engine (default: go build ./cmd/hactl-engine)")
	fs.StringVar(&f.Markdown, "markdown", "", "markdown file whose enginebench region receives the tables")
}

// Check refuses a dataset, a load or a round count that is not positive.
func (f *Flags) Check() error {
	if f.Keys <= 0 || f.ValueSize <= 0 || f.Requests <= 0 || f.Clients <= 0 || f.Rounds <= 0 {
		return &UsageError{Err: errors.New("-keys, -value-size, -requests, -clients and -rounds must be positive")}
	}
	return nil
}

// Engine returns the engine binary to measure and its description for
// the report: bin as is when set, else pkg built into dir (within
// timeout) and described as "go build PKG at REVISION".
func Engine(ctx context.Context, dir, bin, pkg string, timeout time.Duration) (path, desc string, err error) {
	if bin != "" {
		return bin, bin, nil
	}
	path = filepath.Join(dir, "hactl-engine")
	if err := BuildEngine(ctx, ".", pkg, path, timeout); err != nil {
		return "", "", err
	}
	return path, fmt.Sprintf("go build %s at %s", pkg, GitRevision(ctx, ".")), nil
}

// WriteRegion writes body into the markdown file at path between
// BeginMarker and EndMarker when the file exists (a file without the
// markers is an error and stays as it is), or as the whole file when it
// does not exist.
func WriteRegion(path, body string) error {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("write markdown: %w", err)
	default:
		if body, err = ReplaceRegion(string(old), body); err != nil {
			return fmt.Errorf("write markdown %s: %w", path, err)
		}
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}
