package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/melbahja/goph"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// SSHConfig says how to reach one host over SSH.
type SSHConfig struct {
	Host       string // inventory name, for errors
	Address    string // host name or IP
	Port       int
	User       string
	Key        string // private key file; "" means ssh-agent
	Jump       string // [user@]host[:port]; "" means none
	KnownHosts string // known_hosts file; "" means ~/.ssh/known_hosts
	// Insecure skips host key verification. It is an explicit opt-out
	// (ssh.strict_host_key_checking: false in the inventory).
	Insecure bool
	Timeout  time.Duration // dial timeout; 0 means 10 s
}

// SSH runs commands over one SSH connection, one session per command.
type SSH struct {
	host   string
	client *ssh.Client
	jump   *ssh.Client // nil without a jump host
}

// DialSSH connects to the host, verifying its key against known_hosts.
func DialSSH(ctx context.Context, c SSHConfig) (*SSH, error) {
	auth, err := sshAuth(c.Key)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh auth: %w", c.Host, err)
	}
	cb, algos, err := hostKeyCheck(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Host, err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	addr := net.JoinHostPort(c.Address, strconv.Itoa(c.Port))
	cfg := &ssh.ClientConfig{User: c.User, Auth: auth, HostKeyCallback: cb, HostKeyAlgorithms: algos(addr), Timeout: timeout}
	if c.Jump == "" {
		cl, err := goph.Dial("tcp", &goph.Config{Auth: auth, User: c.User, Addr: c.Address, Port: uint(c.Port), Timeout: timeout, Callback: cb})
		if err != nil {
			return nil, fmt.Errorf("%s: ssh %s@%s: %w", c.Host, c.User, addr, err)
		}
		return &SSH{host: c.Host, client: cl}, nil
	}
	// goph has no jump host support: dial through the jump with x/crypto/ssh.
	ju, jaddr := parseJump(c.Jump, c.User)
	jcfg := *cfg
	jcfg.User, jcfg.HostKeyAlgorithms = ju, algos(jaddr)
	jump, err := ssh.Dial("tcp", jaddr, &jcfg)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh jump host %s: %w", c.Host, jaddr, err)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := jump.DialContext(dctx, "tcp", addr)
	if err != nil {
		jump.Close()
		return nil, fmt.Errorf("%s: dial %s through %s: %w", c.Host, addr, jaddr, err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		jump.Close()
		return nil, fmt.Errorf("%s: ssh %s@%s through %s: %w", c.Host, c.User, addr, jaddr, err)
	}
	return &SSH{host: c.Host, client: ssh.NewClient(cc, chans, reqs), jump: jump}, nil
}

// parseJump splits [user@]host[:port], defaulting to user and port 22.
func parseJump(s, user string) (string, string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user, s = s[:i], s[i+1:]
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(s, "22")
	}
	return user, s
}

// sshAuth loads the key file, or uses the ssh-agent.
func sshAuth(key string) ([]ssh.AuthMethod, error) {
	if key == "" {
		if !goph.HasAgent() {
			return nil, errors.New("no key file in the inventory and no ssh-agent (SSH_AUTH_SOCK): set ssh.key")
		}
		a, err := goph.UseAgent()
		return a, err
	}
	a, err := goph.Key(expandHome(key), "")
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", key, err)
	}
	return a, nil
}

// hostKeyCheck returns the known_hosts callback and the host key
// algorithms to offer for an address.
func hostKeyCheck(c SSHConfig) (ssh.HostKeyCallback, func(string) []string, error) {
	if c.Insecure {
		return ssh.InsecureIgnoreHostKey(), func(string) []string { return nil }, nil //nolint:gosec // explicit opt-out in the inventory
	}
	file := c.KnownHosts
	if file == "" {
		file = "~/.ssh/known_hosts"
	}
	db, err := knownhosts.NewDB(expandHome(file))
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts %s: %w (add the host with ssh-keyscan, or set ssh.known_hosts)", file, err)
	}
	return db.HostKeyCallback(), db.HostKeyAlgorithms, nil
}

// expandHome replaces a leading ~/ with the home directory.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// Run implements Transport: one session per command.
func (s *SSH) Run(ctx context.Context, cmd string, stdin []byte) (Result, error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: ssh session: %w", s.host, err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		err = ctx.Err()
	}
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: 0}
	if err == nil {
		return res, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		res.ExitCode = ee.ExitStatus()
		return res, &RemoteError{Host: s.host, Cmd: cmd, ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
	}
	res.ExitCode = -1
	return res, fmt.Errorf("%s: run %q: %w", s.host, firstLine(cmd), err)
}

// Close implements Transport.
func (s *SSH) Close() error {
	err := s.client.Close()
	if s.jump != nil {
		s.jump.Close()
	}
	return err
}
