package repltest

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// echoServer echoes every connection on 127.0.0.1 until the test ends.
func echoServer(t *testing.T) string {
	return serveLoopback(t, func(c net.Conn) { io.Copy(c, c) })
}

// roundTrip writes msg through c and reads it back within wait.
func roundTrip(c net.Conn, msg string, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("echo differs: " + string(buf))
	}
	return nil
}

func TestProxy(t *testing.T) {
	if _, err := NewProxy("192.0.2.1:6379"); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("NewProxy to a non-loopback address: %v, want ErrNotLoopback", err)
	}
	p, err := NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := "127.0.0.1:" + strconv.Itoa(p.Port())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c, "hello", time.Second); err != nil {
		t.Fatalf("forwarding: %v", err)
	}

	// Hold: nothing comes back, the connection stays open; Restore
	// delivers what was held.
	p.Hold()
	if err := roundTrip(c, "held", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("while held: %v, want a timeout", err)
	}
	p.Restore()
	buf := make([]byte, 4)
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "held" {
		t.Fatalf("after Restore: %q, %v; want the held bytes", buf, err)
	}

	// Cut: the open connection is closed and a new one is refused.
	p.Cut()
	if err := roundTrip(c, "cut", time.Second); err == nil {
		t.Fatal("a connection survived Cut")
	}
	if c2, err := net.Dial("tcp", addr); err == nil {
		if err := roundTrip(c2, "x", time.Second); err == nil {
			t.Fatal("a new connection was forwarded during Cut")
		}
		c2.Close()
	}
	p.Restore()
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := roundTrip(c3, "back", time.Second); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
	if n := p.Accepted(); n != 2 {
		t.Errorf("Accepted() = %d, want 2 (the refused one is not counted)", n)
	}
}
