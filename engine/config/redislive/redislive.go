// Package redislive starts a throwaway redis-server on a free loopback port
// for differential tests, and talks to it with a minimal RESP client.
//
// Pieces:
//   - Start: launch redis-server (skipping or failing the test per the
//     project rule when the binary is missing) and stop it at cleanup.
//   - Server.Do: send one command, read one reply.
//   - Reply: the decoded reply (simple string, error, integer, bulk, array).
//
// The server listens only on 127.0.0.1 and runs without persistence.
package redislive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Binary is where the Debian package installs redis-server.
const Binary = "/usr/bin/redis-server"

// Server is a running redis-server with one client connection.
type Server struct {
	Port int
	Dir  string // the server's --dir, a fresh temporary directory
	conn net.Conn
	rd   *bufio.Reader
}

// Reply is one decoded RESP reply. Exactly one of the fields is meaningful,
// as told by Kind: '+' Str, '-' Str (error text), ':' Int, '$' Str or Nil,
// '*' Array or Nil.
type Reply struct {
	Kind  byte
	Str   string
	Int   int64
	Nil   bool
	Array []Reply
}

// Start launches redis-server with the given extra arguments after
// "--port N --bind 127.0.0.1 --save "" --appendonly no" (extra arguments
// come later, so they may override these, except port and bind). A first
// argument that does not begin with "--" is taken as a config file, and
// port and bind are then appended after it instead. The test is skipped
// when the binary is missing, unless CI=true, where that is a failure.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("redis-server not installed: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	base := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1"}
	var full []string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		full = append(append([]string{args[0]}, args[1:]...), base...)
	} else {
		full = append(append(base, "--save", "", "--appendonly", "no"), args...)
	}
	dir := t.TempDir()
	full = append(full, "--dir", dir)
	// Children of the test binary must never outlive it.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, Binary, full...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	s := &Server{Port: port, Dir: dir}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			s.conn, s.rd = c, bufio.NewReader(c)
			t.Cleanup(func() { _ = c.Close() })
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not come up: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Do sends one command and returns its reply. Errors from the server come
// back as a Reply of Kind '-', not as err.
func (s *Server) Do(args ...string) (Reply, error) {
	buf := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		buf = append(buf, "$"+strconv.Itoa(len(a))+"\r\n"...)
		buf = append(append(buf, a...), "\r\n"...)
	}
	if err := s.conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return Reply{}, fmt.Errorf("set deadline: %w", err)
	}
	if _, err := s.conn.Write(buf); err != nil {
		return Reply{}, fmt.Errorf("write: %w", err)
	}
	return s.read()
}

// MustDo is Do that fails the test on an I/O error.
func (s *Server) MustDo(t testing.TB, args ...string) Reply {
	t.Helper()
	r, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return r
}

func (s *Server) read() (Reply, error) {
	line, err := s.rd.ReadString('\n')
	if err != nil {
		return Reply{}, fmt.Errorf("read: %w", err)
	}
	if len(line) < 3 {
		return Reply{}, errors.New("short reply line")
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-':
		return Reply{Kind: kind, Str: body}, nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		return Reply{Kind: kind, Int: n}, err
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return Reply{Kind: kind, Nil: true}, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(s.rd, b); err != nil {
			return Reply{}, fmt.Errorf("read bulk: %w", err)
		}
		return Reply{Kind: kind, Str: string(b[:n])}, nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return Reply{Kind: kind, Nil: true}, err
		}
		r := Reply{Kind: kind, Array: make([]Reply, n)}
		for i := range r.Array {
			if r.Array[i], err = s.read(); err != nil {
				return Reply{}, err
			}
		}
		return r, nil
	}
	return Reply{}, fmt.Errorf("unknown reply type %q", kind)
}

// Strings returns the elements of an array reply of bulk strings.
func (r Reply) Strings() []string {
	out := make([]string, len(r.Array))
	for i, e := range r.Array {
		out[i] = e.Str
	}
	return out
}
