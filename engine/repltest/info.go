package repltest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Info is one INFO reply: its fields in the order the server wrote them.
type Info struct {
	// Order lists the field names as they appear.
	Order []string
	// Fields maps a field name to its value.
	Fields map[string]string
}

// ParseInfo reads an INFO reply: "name:value" lines, "# Section" headers
// and blank lines skipped.
func ParseInfo(text string) Info {
	in := Info{Fields: map[string]string{}}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		in.Order = append(in.Order, k)
		in.Fields[k] = v
	}
	return in
}

// Get is the value of field, "" when absent.
func (in Info) Get(field string) string { return in.Fields[field] }

// Int is the value of field as an integer; ok is false when it is absent
// or not an integer.
func (in Info) Int(field string) (int64, bool) {
	v, err := strconv.ParseInt(in.Fields[field], 10, 64)
	return v, err == nil
}

// Info runs INFO section on n.
func (n *Node) Info(ctx context.Context, section string) (Info, error) {
	c := n.Client()
	defer c.Close()
	text, err := c.Info(ctx, section).Result()
	if err != nil {
		return Info{}, fmt.Errorf("%s INFO %s: %w", n.Name, section, err)
	}
	return ParseInfo(text), nil
}

// Stat is one integer field of INFO section; -1 when it cannot be read.
func (n *Node) Stat(ctx context.Context, section, field string) int64 {
	in, err := n.Info(ctx, section)
	if err != nil {
		return -1
	}
	v, ok := in.Int(field)
	if !ok {
		return -1
	}
	return v
}

// WaitUntil polls cond every 10 ms until it returns nil or timeout
// passes; the error then wraps ErrTimeout and cond's last error.
func WaitUntil(ctx context.Context, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %v: %w", ErrTimeout, timeout, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Synced returns nil when replica's link to its master is up and its
// offset equals master's master_repl_offset.
func Synced(ctx context.Context, master, replica *Node) error {
	ri, err := replica.Info(ctx, "replication")
	if err != nil {
		return err
	}
	if s := ri.Get("master_link_status"); s != "up" {
		return fmt.Errorf("%s: master_link_status:%s", replica.Name, s)
	}
	mi, err := master.Info(ctx, "replication")
	if err != nil {
		return err
	}
	mo, ro := mi.Get("master_repl_offset"), ri.Get("slave_repl_offset")
	if mo == "" || mo != ro {
		return fmt.Errorf("%s master_repl_offset:%s, %s slave_repl_offset:%s", master.Name, mo, replica.Name, ro)
	}
	return nil
}

// WaitSynced waits up to timeout for Synced(master, replica).
func WaitSynced(ctx context.Context, timeout time.Duration, master, replica *Node) error {
	return WaitUntil(ctx, timeout, func() error { return Synced(ctx, master, replica) })
}
