package sentinel

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// recordKeys returns the field names of a RESP2 flat record, in order.
func recordKeys(v any) []string {
	arr, _ := v.([]any)
	var keys []string
	for i := 0; i+1 < len(arr); i += 2 {
		keys = append(keys, fmt.Sprint(arr[i]))
	}
	return keys
}

// TestReplyShapesMatchRedisSentinel sends the same commands to a
// redis-sentinel 7 and to a hactl-sentinel monitoring the same master and
// compares the reply shapes (field names and order, types).
func TestReplyShapesMatchRedisSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	needBinary(t, "redis-sentinel")
	ports := freePorts(t, 4)
	startRedis(t, ports[0])
	startRedis(t, ports[1], "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
	real := startRealSentinel(t, filepath.Join(t.TempDir(), "real"), ports[2], ports[0], 2)
	ours := startSentinel(t, t.TempDir(), sentinelConf(ports[3], ports[0], 2))
	ctx := context.Background()
	cl := func(port int) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Protocol: 2})
		t.Cleanup(func() { c.Close() })
		return c
	}
	rc, oc := cl(real.port), cl(ours.port)
	waitFor(t, 20*time.Second, "both sentinels see the replica and each other", func() bool {
		for _, c := range []*redis.Client{rc, oc} {
			m, err := c.Do(ctx, "sentinel", "master", "mymaster").Result()
			if err != nil {
				return false
			}
			a := m.([]any)
			kv := map[string]string{}
			for i := 0; i+1 < len(a); i += 2 {
				kv[fmt.Sprint(a[i])] = fmt.Sprint(a[i+1])
			}
			if kv["num-slaves"] != "1" || kv["num-other-sentinels"] != "1" {
				return false
			}
		}
		return true
	})
	infoKeys := func(c *redis.Client) ([]string, bool) {
		s, err := c.Info(ctx, "sentinel").Result()
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, l := range strings.Split(s, "\r\n") {
			if k, _, ok := strings.Cut(l, ":"); ok {
				keys = append(keys, k)
			} else if l != "" {
				keys = append(keys, l)
			}
		}
		return keys, strings.HasSuffix(s, "\r\n")
	}
	rk, rEnd := infoKeys(rc)
	ok, oEnd := infoKeys(oc)
	if !reflect.DeepEqual(rk, ok) || rEnd != oEnd {
		t.Errorf("INFO sentinel lines: redis %v (ends with CRLF %v), hactl %v (%v)", rk, rEnd, ok, oEnd)
	}
	for _, cmd := range [][]any{
		{"sentinel", "master", "mymaster"},
		{"sentinel", "replicas", "mymaster"},
		{"sentinel", "sentinels", "mymaster"},
		{"sentinel", "get-master-addr-by-name", "mymaster"},
		{"sentinel", "get-master-addr-by-name", "nosuch"},
		{"sentinel", "is-master-down-by-addr", "127.0.0.1", strconv.Itoa(ports[0]), "0", "*"},
		{"sentinel", "ckquorum", "mymaster"},
		{"sentinel", "master", "nosuch"},
		{"role"},
		{"ping"},
	} {
		rv, rerr := rc.Do(ctx, cmd...).Result()
		ov, oerr := oc.Do(ctx, cmd...).Result()
		if (rerr == nil) != (oerr == nil) || (rerr != nil && rerr.Error() != oerr.Error() && rerr != redis.Nil) {
			t.Errorf("%v: errors differ: redis %v, hactl %v", cmd, rerr, oerr)
			continue
		}
		sub := ""
		if len(cmd) > 1 {
			sub = cmd[1].(string)
		}
		switch sub {
		case "master":
			if rerr == nil && !reflect.DeepEqual(recordKeys(rv), recordKeys(ov)) {
				t.Errorf("%v fields:\nredis %v\nhactl %v", cmd, recordKeys(rv), recordKeys(ov))
			}
		case "replicas", "sentinels":
			if !reflect.DeepEqual(recordKeys(rv.([]any)[0]), recordKeys(ov.([]any)[0])) {
				t.Errorf("%v fields:\nredis %v\nhactl %v", cmd, recordKeys(rv.([]any)[0]), recordKeys(ov.([]any)[0]))
			}
		case "get-master-addr-by-name", "ckquorum":
			if !reflect.DeepEqual(rv, ov) {
				t.Errorf("%v: redis %#v, hactl %#v", cmd, rv, ov)
			}
		default:
			if reflect.TypeOf(rv) != reflect.TypeOf(ov) {
				t.Errorf("%v: redis %#v, hactl %#v", cmd, rv, ov)
			}
		}
	}
}
