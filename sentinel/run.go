package sentinel

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/hactl/hactl/sentinel/state"
)

// Daemon is a running sentinel: core, transport, listeners and timer.
type Daemon struct {
	Sentinel *Sentinel
	Server   *Server
	// Addrs are the listening addresses (useful with port 0).
	Addrs []net.Addr
	done  chan struct{}
	wg    sync.WaitGroup
}

// StatePath is where cfg keeps its runtime state.
func (cfg *Config) StatePath() string {
	if cfg.StateFile != "" {
		if filepath.IsAbs(cfg.StateFile) || cfg.Dir == "" {
			return cfg.StateFile
		}
		return filepath.Join(cfg.Dir, cfg.StateFile)
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	return filepath.Join(dir, "sentinel-state.conf")
}

// Start loads the state, listens and starts the timer; it runs until ctx
// is done (then Wait returns). Events are logged to eventLog in Redis's
// format; operational messages go to logger.
func Start(ctx context.Context, cfg *Config, eventLog io.Writer, logger *slog.Logger, timing Timing) (*Daemon, error) {
	path := cfg.StatePath()
	st, err := state.Load(path)
	if err != nil {
		return nil, fmt.Errorf("start sentinel: %w", err)
	}
	srv := NewServer()
	sink := MultiSink{NewLogSink(eventLog), srv}
	ctx, cancel := context.WithCancel(ctx)
	tr := NewNetTransport(ctx, "sentinel")
	opts := Options{Timing: timing, Save: func(s state.State) error { return state.Save(path, s) },
		Logf: func(f string, a ...any) { logger.Warn(fmt.Sprintf(f, a...)) }}
	s, err := New(cfg, st, tr, sink, opts, time.Now())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start sentinel: %w", err)
	}
	tr.Name = "sentinel-" + s.MyID()[:8]
	srv.Attach(s)
	d := &Daemon{Sentinel: s, Server: srv, done: make(chan struct{})}
	var lns []net.Listener
	for _, a := range cfg.Listeners() {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			cancel()
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("start sentinel: listen %s: %w", a, err)
		}
		lns = append(lns, ln)
		d.Addrs = append(d.Addrs, ln.Addr())
	}
	if cfg.Port == 0 && len(lns) > 0 {
		s.cfg.Port = lns[0].Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		d.wg.Add(1)
		go func() { defer d.wg.Done(); srv.Serve(ctx, ln) }()
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		rnd := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
		for {
			// 20-40 ticks a second, randomised to desynchronise sentinels.
			t := time.NewTimer(25*time.Millisecond + time.Duration(rnd.Int64N(int64(25*time.Millisecond))))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
				s.Tick(time.Now())
			}
		}
	}()
	logger.Info("sentinel started", "myid", s.MyID(), "addrs", fmt.Sprint(d.Addrs), "state", path)
	go func() { d.wg.Wait(); cancel(); close(d.done) }()
	return d, nil
}

// Wait blocks until the daemon has stopped.
func (d *Daemon) Wait() { <-d.done }
