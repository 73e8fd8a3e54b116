// Command hactl-engine is hactl's Redis-protocol data server.
//
// Usage, like redis-server:
//
//	hactl-engine [/path/to/engine.conf] [--directive value ...]
//
// The optional configuration file uses redis.conf syntax; command-line
// directives are applied after it. Unknown or invalid directives stop the
// start with an error naming the file and line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hactl/hactl/engine/config"
	"github.com/hactl/hactl/engine/server"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

const usage = `Usage: hactl-engine [/path/to/engine.conf] [options]
       hactl-engine -v or --version
       hactl-engine -h or --help

Options are configuration directives written as --name value, e.g.
  hactl-engine --port 7777 --bind 127.0.0.1 --save ""
`

func run(args []string, stderr io.Writer) int {
	if len(args) == 1 {
		switch args[0] {
		case "-v", "--version":
			fmt.Fprintf(stderr, "hactl-engine v=%s redis-compatible=%s\n", server.HactlVersion, server.Version)
			return 0
		case "-h", "--help":
			fmt.Fprint(stderr, usage)
			return 0
		}
	}
	path := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		path, args = args[0], args[1:]
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
	}
	cfg, err := config.Load(path, args)
	if err != nil {
		fmt.Fprintf(stderr, "hactl-engine: %v\n", err)
		return 1
	}
	log, closeLog, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hactl-engine: %v\n", err)
		return 1
	}
	defer closeLog()
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	srv := server.New(&engineConfig{cfg: cfg, path: path}, log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("hactl-engine starting", "version", server.HactlVersion, "redis_version", server.Version, "PID", os.Getpid())
	log.Info(fmt.Sprintf("Server initialized PID: %d", os.Getpid()))
	if err := srv.Listen(ctx); err != nil {
		log.Error(err.Error())
		return 1
	}
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			log.Warn("cannot write pidfile", "path", cfg.PidFile, "err", err)
		}
		defer os.Remove(cfg.PidFile)
	}
	// Serve while loading: clients get -LOADING until the data is in.
	srv.MarkLoading()
	// Read before serving: CONFIG SET writes cfg from then on.
	supervised := cfg.Supervised
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	// SIGHUP re-reads the TLS certificate files (rotation without restart).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := srv.ReloadTLSFiles(); err != nil {
				log.Warn("TLS reload failed; the previous certificates stay in use", "err", err)
			}
		}
	}()
	if err := srv.LoadData(); err != nil {
		log.Error(err.Error())
		srv.Abort()
		<-done
		return 1
	}
	log.Info("Ready to accept connections", "addrs", fmt.Sprint(srv.Addrs()))
	if supervised == "systemd" || supervised == "auto" {
		if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
			log.Warn("sd_notify failed", "err", err)
		}
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		log.Info("Received SIGTERM scheduling shutdown...")
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			err = errors.New("shutdown took longer than 10s")
		}
	}
	if err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg *config.Config) (*slog.Logger, func(), error) {
	var out io.Writer = os.Stdout
	closeFn := func() {}
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("can't open the log file %q: %w", cfg.LogFile, err)
		}
		out = f
		closeFn = func() { f.Close() }
	}
	level := slog.LevelInfo
	switch cfg.LogLevel {
	case "debug", "verbose":
		level = slog.LevelDebug
	case "warning":
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), closeFn, nil
}
