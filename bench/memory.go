package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/engine/resp"
)

// loadBatch is how many SET commands LoadKeys sends before reading replies.
const loadBatch = 1000

// KeyName is the name of the i-th key written by LoadKeys ("key:000000000042").
func KeyName(i int) string {
	return fmt.Sprintf("key:%012d", i)
}

// LoadKeys writes n distinct keys KeyName(0..n-1) with values of valueSize
// bytes over one pipelined connection, loadBatch commands per round trip,
// and checks that every reply is +OK. It returns how long the load took.
func LoadKeys(ctx context.Context, addr string, n, valueSize int) (time.Duration, error) {
	c, err := Dial(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("load keys: %w", err)
	}
	defer c.Close()
	start := time.Now()
	set := []byte("SET")
	var buf []byte
	for base := 0; base < n; base += loadBatch {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("load keys: %w", err)
		}
		end := min(base+loadBatch, n)
		buf = buf[:0]
		for i := base; i < end; i++ {
			buf = resp.AppendCommand(buf, set, []byte(KeyName(i)), []byte(value(i, valueSize)))
		}
		if err := c.Send(ctx, buf); err != nil {
			return 0, fmt.Errorf("load keys: batch at %d: %w", base, err)
		}
		for i := base; i < end; i++ {
			r, err := c.Read(ctx)
			if err != nil {
				return 0, fmt.Errorf("load keys: SET %s: %w", KeyName(i), err)
			}
			if r.Type != '+' || r.Str != "OK" {
				return 0, fmt.Errorf("load keys: SET %s answered %q", KeyName(i), r.Raw)
			}
		}
	}
	return time.Since(start), nil
}

// MemoryKinds are the datasets LoadItems can build: distinct string keys,
// or the members of one big collection.
var MemoryKinds = []string{"string", "hash", "set", "zset", "list"}

// LoadItems writes n items of the given kind: "string" is LoadKeys; "hash"
// (HSET bighash field:%012d value), "set" (SADD bigset member:%012d), "zset"
// (ZADD bigzset i member:%012d) and "list" (RPUSH biglist value) fill one
// key, pipelined, every reply checked.
func LoadItems(ctx context.Context, addr, kind string, n, valueSize int) (time.Duration, error) {
	if kind == "string" || kind == "" {
		return LoadKeys(ctx, addr, n, valueSize)
	}
	c, err := Dial(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", kind, err)
	}
	defer c.Close()
	start := time.Now()
	var buf []byte
	for base := 0; base < n; base += loadBatch {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("load %s: %w", kind, err)
		}
		end := min(base+loadBatch, n)
		buf = buf[:0]
		for i := base; i < end; i++ {
			member := []byte(fmt.Sprintf("member:%012d", i))
			switch kind {
			case "hash":
				buf = resp.AppendCommand(buf, []byte("HSET"), []byte("bighash"), member, []byte(value(i, valueSize)))
			case "set":
				buf = resp.AppendCommand(buf, []byte("SADD"), []byte("bigset"), member)
			case "zset":
				buf = resp.AppendCommand(buf, []byte("ZADD"), []byte("bigzset"), []byte(strconv.Itoa(i)), member)
			case "list":
				buf = resp.AppendCommand(buf, []byte("RPUSH"), []byte("biglist"), []byte(value(i, valueSize)))
			default:
				return 0, fmt.Errorf("load: unknown kind %q (want one of %v)", kind, MemoryKinds)
			}
		}
		if err := c.Send(ctx, buf); err != nil {
			return 0, fmt.Errorf("load %s: batch at %d: %w", kind, base, err)
		}
		for i := base; i < end; i++ {
			r, err := c.Read(ctx)
			if err != nil {
				return 0, fmt.Errorf("load %s: item %d: %w", kind, i, err)
			}
			if r.Type == '-' {
				return 0, fmt.Errorf("load %s: item %d answered %q", kind, i, r.Raw)
			}
		}
	}
	return time.Since(start), nil
}

// value is a valueSize-byte value that varies with i ("042" for size 3).
func value(i, size int) string {
	s := strconv.Itoa(i)
	if len(s) >= size {
		return s[len(s)-size:]
	}
	return strings.Repeat("0", size-len(s)) + s
}

// DBSize returns the reply to DBSIZE.
func DBSize(ctx context.Context, addr string) (int64, error) {
	r, err := Do(ctx, addr, "DBSIZE")
	if err != nil {
		return 0, fmt.Errorf("dbsize: %w", err)
	}
	if r.Type != ':' {
		return 0, fmt.Errorf("dbsize: answered %q, want an integer", r.Raw)
	}
	return r.Int, nil
}

// ErrNoField means an INFO reply lacks the field asked for.
var ErrNoField = errors.New("bench: field not in INFO reply")

// UsedMemory returns used_memory from INFO memory, in bytes.
func UsedMemory(ctx context.Context, addr string) (int64, error) {
	r, err := Do(ctx, addr, "INFO", "memory")
	if err != nil {
		return 0, fmt.Errorf("info memory: %w", err)
	}
	v, err := InfoField(r.Str, "used_memory")
	if err != nil {
		return 0, fmt.Errorf("info memory: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("info memory: used_memory %q: %w", v, err)
	}
	return n, nil
}

// InfoField returns the value of field in an INFO reply
// ("# Memory\r\nused_memory:1234\r\n...").
func InfoField(info, field string) (string, error) {
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if ok && k == field {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNoField, field)
}

// ReadRSS returns VmRSS of process pid in bytes, from /proc/PID/status.
func ReadRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	defer f.Close()
	return parseVmRSS(f, pid)
}

func parseVmRSS(r io.Reader, pid int) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("read rss of %d: odd line %q", pid, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read rss of %d: %w", pid, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read rss of %d: %w", pid, err)
	}
	return 0, fmt.Errorf("read rss of %d: no VmRSS line", pid)
}
