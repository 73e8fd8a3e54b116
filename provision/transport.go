package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Result is what one command produced. It is filled even when the command
// failed, so callers can show the remote stderr and exit code.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int // -1 when the command did not run to completion
}

// Transport runs shell commands on one host.
type Transport interface {
	// Run runs cmd with sh on the host, feeding it stdin (nil for none).
	// It returns the Result in every case; err is a *RemoteError when the
	// command exited non-zero, another error when it could not be run.
	Run(ctx context.Context, cmd string, stdin []byte) (Result, error)
	// Close releases the connection.
	Close() error
}

// RemoteError is a command that ran and failed.
type RemoteError struct {
	Host     string
	Cmd      string // a short description, never holding a secret
	ExitCode int
	Stderr   string
}

// Error gives the host, the command, the exit code and the last line of
// stderr.
func (e *RemoteError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = "no output on stderr"
	}
	return fmt.Sprintf("%s: %s: exit status %d: %s", e.Host, firstLine(e.Cmd), e.ExitCode, msg)
}

// firstLine shortens a multi-line command to its first line.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// Local runs commands on this machine with /bin/sh.
type Local struct {
	Host string   // inventory name, for errors
	Env  []string // extra environment variables, KEY=VALUE
}

// Run implements Transport.
func (l *Local) Run(ctx context.Context, cmd string, stdin []byte) (Result, error) {
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Env = append(c.Environ(), l.Env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err := c.Run()
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: c.ProcessState.ExitCode()}
	return res, runError(l.Host, cmd, res, err)
}

// Close implements Transport.
func (l *Local) Close() error { return nil }

// runError turns the error of a finished local command into a
// *RemoteError when the command exited, or wraps it with the host otherwise.
func runError(host, cmd string, res Result, err error) error {
	if err == nil {
		return nil
	}
	var xe *exec.ExitError
	if errors.As(err, &xe) && xe.ExitCode() >= 0 {
		return &RemoteError{Host: host, Cmd: cmd, ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
	}
	return fmt.Errorf("%s: run %q: %w", host, firstLine(cmd), err)
}
