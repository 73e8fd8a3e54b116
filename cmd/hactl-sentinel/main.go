// Command hactl-sentinel monitors Redis-compatible masters and fails them
// over, speaking Redis Sentinel's protocol (see docs/sentinel.md).
//
//	hactl-sentinel [--state FILE] [--port N] [--logfile FILE] sentinel.conf
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/coreos/go-systemd/v22/daemon"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/hactl/hactl/sentinel"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("hactl-sentinel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	statePath := fs.String("state", "", "runtime state file (default: sentinel-state.conf beside the config)")
	port := fs.Int("port", -1, "override the configured port")
	logfile := fs.String("logfile", "", "event log file (default: the config's logfile, else stdout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: hactl-sentinel [--state FILE] [--port N] [--logfile FILE] sentinel.conf")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := sentinel.LoadConfig(fs.Arg(0))
	if err != nil {
		logger.Error("load config", "err", err)
		return 1
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Dir(fs.Arg(0))
	}
	if *statePath != "" {
		cfg.StateFile = *statePath
	}
	if *port >= 0 {
		cfg.Port = *port
	}
	if *logfile != "" {
		cfg.LogFile = *logfile
	}
	var events io.Writer = os.Stdout
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			logger.Error("open logfile", "err", err)
			return 1
		}
		defer f.Close()
		events = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := sentinel.Start(ctx, cfg, events, logger, sentinel.DefaultTiming)
	if err != nil {
		logger.Error("start", "err", err)
		return 1
	}
	// Listening and monitoring: tell systemd (Type=notify units). Outside
	// systemd NOTIFY_SOCKET is unset and this does nothing.
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		logger.Warn("sd_notify failed", "err", err)
	}
	// SIGHUP re-reads the TLS certificate files (rotation without restart).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := d.ReloadTLS(); err != nil {
				logger.Warn("TLS reload failed; the previous certificates stay in use", "err", err)
			} else {
				logger.Info("TLS files reloaded")
			}
		}
	}()
	d.Wait()
	return 0
}
