package sentinel

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestFormatLogLine(t *testing.T) {
	e := Event{Time: time.Date(2023, 6, 18, 21, 33, 4, 343e6, time.UTC), Level: LevelWarning,
		Type: "+sdown", Message: "master mymaster 192.168.69.81 6379"}
	want := "37873:X 18 Jun 2023 21:33:04.343 # +sdown master mymaster 192.168.69.81 6379"
	if got := FormatLogLine(37873, e); got != want {
		t.Fatalf("FormatLogLine = %q; want %q (the seed's line)", got, want)
	}
}

// rawConn sends inline commands and returns raw RESP replies.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (r *rawConn) do(cmd string) string {
	r.t.Helper()
	if _, err := fmt.Fprintf(r.c, "%s\r\n", cmd); err != nil {
		r.t.Fatal(err)
	}
	return r.read()
}

func (r *rawConn) read() string {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b strings.Builder
	var readOne func()
	readOne = func() {
		line, err := r.br.ReadString('\n')
		if err != nil {
			r.t.Fatal(err)
		}
		b.WriteString(line)
		switch line[0] {
		case '$':
			var n int
			fmt.Sscanf(line[1:], "%d", &n)
			if n >= 0 {
				buf := make([]byte, n+2)
				if _, err := io.ReadFull(r.br, buf); err != nil {
					r.t.Fatal(err)
				}
				b.Write(buf)
			}
		case '*', '>', '%':
			var n int
			fmt.Sscanf(line[1:], "%d", &n)
			if line[0] == '%' {
				n *= 2
			}
			for i := 0; i < n; i++ {
				readOne()
			}
		}
	}
	readOne()
	return b.String()
}

func TestServerCommands(t *testing.T) {
	ports := freePorts(t, 2)
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 %d 2\n", ports[0], ports[1])
	ts := startSentinel(t, t.TempDir(), conf)
	dial := func() *rawConn {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ts.port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
	}
	c := dial()
	tests := []struct{ cmd, want string }{
		{"PING", "+PONG\r\n"},
		{"ROLE", "*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n"},
		{"SENTINEL GET-MASTER-ADDR-BY-NAME mymaster", fmt.Sprintf("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n%d\r\n", ports[1])},
		{"SENTINEL GET-MASTER-ADDR-BY-NAME nosuch", "*-1\r\n"},
		{"SENTINEL MASTER nosuch", "-ERR No such master with that name\r\n"},
		{"SENTINEL CKQUORUM mymaster", "-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master\r\n"},
		{"SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 1 0 *", "*3\r\n:0\r\n$1\r\n*\r\n:0\r\n"},
		{"SENTINEL MONITOR mymaster 127.0.0.1 1 1", "-ERR Duplicate master name.\r\n"},
		{"SENTINEL MONITOR other 127.0.0.1 1 0", "-ERR Quorum must be 1 or greater.\r\n"},
		{"SENTINEL SET mymaster bogus 1", "-ERR Unknown option or number of arguments for SENTINEL SET 'bogus'\r\n"},
		{"SENTINEL SET mymaster quorum x", "-ERR Invalid argument 'x' for SENTINEL SET 'quorum'\r\n"},
		{"SENTINEL CONFIG SET announce-port x", "-ERR Invalid value 'x' to SENTINEL CONFIG SET 'announce-port'\r\n"},
		{"PUBLISH foo bar", "-ERR Only HELLO messages are accepted by Sentinel instances.\r\n"},
		{"GET k", "-ERR unknown command 'GET', with args beginning with: 'k' \r\n"},
		{"AUTH x", "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"},
	}
	for _, tt := range tests {
		if got := c.do(tt.cmd); got != tt.want {
			t.Errorf("%s = %q; want %q", tt.cmd, got, tt.want)
		}
	}
	if got := c.do("HELLO 3"); !strings.Contains(got, "$4\r\nmode\r\n$8\r\nsentinel\r\n") || !strings.HasPrefix(got, "%6\r\n") {
		t.Errorf("HELLO 3 = %q", got)
	}
	// Events on pub/sub, RESP2 frames.
	sub := dial()
	if got := sub.do("PSUBSCRIBE *"); got != "*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n" {
		t.Fatalf("PSUBSCRIBE = %q", got)
	}
	c2 := dial()
	if got := c2.do("SENTINEL MONITOR other 127.0.0.1 7 1"); got != "+OK\r\n" {
		t.Fatalf("MONITOR = %q", got)
	}
	want := "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$8\r\n+monitor\r\n$33\r\nmaster other 127.0.0.1 7 quorum 1\r\n"
	if got := sub.read(); got != want {
		t.Fatalf("event = %q; want %q", got, want)
	}
	if got := c2.do("SENTINEL REMOVE other"); got != "+OK\r\n" {
		t.Fatalf("REMOVE = %q", got)
	}
}
