package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hactl/hactl/internal/testproc"
)

// Server is one redis-server-compatible child process listening on
// 127.0.0.1 (see testproc.Proc: Addr, PID, Alive, Stop, Log, ...). Start
// it with StartServer or StartTLSServer and always call Stop.
type Server = testproc.Proc

// ServerArgs returns the arguments both servers get besides port, bind
// and dir (which testproc.Proc adds): no RDB snapshots, no AOF.
func ServerArgs() []string {
	return []string{"--save", "", "--appendonly", "no"}
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// free when FreePort returns; another process may take it before it is used.
func FreePort() (int, error) { return testproc.FreePort() }

// StartServer starts bin on port with ServerArgs in dir, writes its output
// to dir/NAME.log, and waits up to readyTimeout for it to answer PING.
// The process is killed if the benchmark process dies (Pdeathsig).
func StartServer(ctx context.Context, name, bin, dir string, port int, readyTimeout time.Duration) (*Server, error) {
	return startServer(ctx, &Server{Name: name, Bin: bin, Dir: dir, Port: port, Args: ServerArgs(),
		Ready: ping, ReadyTimeout: readyTimeout})
}

// startServer starts s and waits until its Ready probe answers.
func startServer(ctx context.Context, s *Server) (*Server, error) {
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ping is the readiness probe of a plaintext server: PING answers PONG.
func ping(ctx context.Context, addr string) error {
	r, err := Do(ctx, addr, "PING")
	if err != nil {
		return err
	}
	if r.Str != "PONG" {
		return fmt.Errorf("ping answered %q", r.Str)
	}
	return nil
}
