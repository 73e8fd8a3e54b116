package sentinel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/hactl/hactl/engine/config/tlsconf"
	"github.com/hactl/hactl/sentinel/state"
)

// Daemon is a running sentinel: core, transport, listeners and timer.
type Daemon struct {
	Sentinel *Sentinel
	Server   *Server
	// Addrs are the listening addresses (useful with port 0).
	Addrs []net.Addr
	// TLSAddrs are the tls-port listening addresses.
	TLSAddrs []net.Addr
	done     chan struct{}
	wg       sync.WaitGroup
	cfg      *Config
	tls      *tlsconf.Holder
	logger   *slog.Logger
}

// ReloadTLS re-reads the TLS files (SIGHUP): new handshakes use them,
// established links continue. On error the previous files stay in use.
func (d *Daemon) ReloadTLS() error {
	if d.tls == nil {
		return nil
	}
	m, err := d.tls.Reload(d.cfg.TLS)
	if err != nil {
		return fmt.Errorf("reload tls: %w", err)
	}
	for _, w := range m.Warnings {
		d.logger.Warn(w)
	}
	return nil
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
	var holder *tlsconf.Holder
	if cfg.TLSPort > 0 || cfg.TLSReplication {
		holder = &tlsconf.Holder{}
		m, err := holder.Reload(cfg.TLS)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("start sentinel: %w", err)
		}
		for _, w := range m.Warnings {
			logger.Warn(w)
		}
		if cfg.TLSReplication {
			tr.TLS = holder.ClientConfig
		}
	}
	opts := Options{Timing: timing, Save: func(s state.State) error { return state.Save(path, s) },
		Logf: func(f string, a ...any) { logger.Warn(fmt.Sprintf(f, a...)) }}
	s, err := New(cfg, st, tr, sink, opts, time.Now())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start sentinel: %w", err)
	}
	tr.Name = "sentinel-" + s.MyID()[:8]
	srv.Attach(s)
	d := &Daemon{Sentinel: s, Server: srv, done: make(chan struct{}), cfg: cfg, tls: holder, logger: logger}
	var lns []net.Listener
	listen := func(addrs []string, wrap func(net.Listener) net.Listener) ([]net.Addr, error) {
		var out []net.Addr
		for _, a := range addrs {
			ln, err := net.Listen("tcp", a)
			if err != nil {
				return nil, fmt.Errorf("start sentinel: listen %s: %w", a, err)
			}
			out = append(out, ln.Addr())
			lns = append(lns, wrap(ln))
		}
		return out, nil
	}
	var err1, err2 error
	d.Addrs, err1 = listen(cfg.Listeners(), func(ln net.Listener) net.Listener { return ln })
	if err1 == nil && holder != nil {
		sc := holder.ServerConfig()
		d.TLSAddrs, err2 = listen(cfg.TLSListeners(), func(ln net.Listener) net.Listener { return tls.NewListener(ln, sc) })
	}
	if err := errors.Join(err1, err2); err != nil {
		cancel()
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	if cfg.Port == 0 && len(d.Addrs) > 0 {
		s.cfg.Port = d.Addrs[0].(*net.TCPAddr).Port
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
	logger.Info("sentinel started", "myid", s.MyID(), "addrs", fmt.Sprint(d.Addrs), "tls", fmt.Sprint(d.TLSAddrs), "state", path)
	go func() { d.wg.Wait(); cancel(); close(d.done) }()
	return d, nil
}

// Wait blocks until the daemon has stopped.
func (d *Daemon) Wait() { <-d.done }
