package verify

import (
	"context"
	"fmt"
	"time"
)

// WaitReady polls until the named host's engine answers with the given
// role ("master" or "slave"), or, when sentinel is true, until its sentinel
// answers PING. It gives up after timeout and returns the last error.
func WaitReady(ctx context.Context, c Config, host string, sentinel bool, role string, timeout time.Duration) error {
	nodes, pw := c.Engines, c.Password
	if sentinel {
		nodes, pw = c.Sentinels, c.SentinelPassword
	}
	var addr string
	for _, n := range nodes {
		if n.Name == host {
			addr = n.Addr
		}
	}
	if addr == "" {
		return fmt.Errorf("wait: %s is not in the inventory", host)
	}
	cl := c.client(addr, pw)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if sentinel {
			last = cl.Ping(ctx).Err()
		} else if s, err := cl.Info(ctx, "replication").Result(); err != nil {
			last = err
		} else if got := ParseInfo(s)["role"]; got != role {
			last = fmt.Errorf("role:%s, want %s", got, role)
		} else {
			last = nil
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s at %s not ready after %s: %w", host, addr, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
