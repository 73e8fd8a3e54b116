package repltest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// field is one line of the seed's INFO Replication excerpts: its name and
// the pattern its value must match on this topology.
type field struct {
	name, pattern string
}

// checkFields asserts that info has every field of want, with a matching
// value, in want's order (other fields may sit in between, as Redis 7.0
// adds some to the seed's Redis 6 output).
func checkFields(t *testing.T, who string, in Info, want []field) {
	t.Helper()
	last := -1
	for _, f := range want {
		v, ok := in.Fields[f.name]
		if !ok {
			t.Errorf("%s: INFO replication lacks %s", who, f.name)
			continue
		}
		if !regexp.MustCompile("^(?:" + f.pattern + ")$").MatchString(v) {
			t.Errorf("%s: %s:%s does not match %s", who, f.name, v, f.pattern)
		}
		i := slices.Index(in.Order, f.name)
		if i < last {
			t.Errorf("%s: %s comes before the fields the seed lists ahead of it (order %v)", who, f.name, in.Order)
		}
		last = i
	}
}

const (
	reInt    = `-?[0-9]+`
	reReplID = `[0-9a-f]{40}`
	reZeroID = `0{40}`
)

// masterFields is the seed's section 2.3 master excerpt: role:master,
// connected_slaves, slaveN:ip=,port=,state=online,offset=,lag=, the
// replication ids, offsets and backlog.
func masterFields(offset int64, replicas int) []field {
	off := strconv.FormatInt(offset, 10)
	f := []field{{"role", "master"}, {"connected_slaves", strconv.Itoa(replicas)}}
	for i := range replicas {
		f = append(f, field{"slave" + strconv.Itoa(i), `ip=127\.0\.0\.1,port=[0-9]+,state=online,offset=` + off + `,lag=[01]`})
	}
	return append(f, field{"master_replid", reReplID}, field{"master_replid2", reZeroID},
		field{"master_repl_offset", off}, field{"second_repl_offset", "-1"},
		field{"repl_backlog_active", "1"}, field{"repl_backlog_size", "1048576"},
		field{"repl_backlog_first_byte_offset", "1"}, field{"repl_backlog_histlen", off})
}

// replicaFields is the seed's section 2.3 replica excerpt.
func replicaFields(masterPort int, replid string, offset int64, replicas int) []field {
	off := strconv.FormatInt(offset, 10)
	return []field{{"role", "slave"}, {"master_host", `127\.0\.0\.1`}, {"master_port", strconv.Itoa(masterPort)},
		{"master_link_status", "up"}, {"master_last_io_seconds_ago", "[0-9]"}, {"master_sync_in_progress", "0"},
		{"slave_repl_offset", off}, {"slave_priority", "100"}, {"slave_read_only", "1"},
		{"connected_slaves", strconv.Itoa(replicas)}, {"master_replid", replid}, {"master_replid2", reZeroID},
		{"master_repl_offset", off}, {"second_repl_offset", "-1"}, {"repl_backlog_active", "1"},
		{"repl_backlog_size", "1048576"}, {"repl_backlog_first_byte_offset", "[1-9][0-9]*"},
		{"repl_backlog_histlen", "[0-9]+"}}
}

// downFields is the seed's section 2.4 excerpt of a replica whose master
// died.
func downFields(masterPort int, offset int64) []field {
	return []field{{"role", "slave"}, {"master_host", `127\.0\.0\.1`}, {"master_port", strconv.Itoa(masterPort)},
		{"master_link_status", "down"}, {"master_last_io_seconds_ago", "-1"}, {"master_sync_in_progress", "0"},
		{"slave_repl_offset", strconv.FormatInt(offset, 10)}, {"master_link_down_since_seconds", "[0-9]+"}}
}

// TestSeedTopology builds the seed's db01 (master) with db02 and db03
// (replicas, requirepass and masterauth SECRET) plus db04, a replica of
// db03 (chained), and asserts every INFO Replication field the seed shows
// in sections 2.3 and 2.4, with the same names and formats; then db01 is
// killed, db02 promoted and db03 repointed as in the seed. redis-server
// runs the same assertions as the reference.
func TestSeedTopology(t *testing.T) {
	for _, k := range []kind{kindEngine, kindRedis} {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			auth := []string{"--requirepass", "SECRET", "--masterauth", "SECRET"}
			db01 := startKind(t, ctx, k, "db01", auth...)
			db02 := startKind(t, ctx, k, "db02", auth...)
			db03 := startKind(t, ctx, k, "db03", auth...)
			db04 := startKind(t, ctx, k, "db04", auth...)
			replicate(t, ctx, db03, db01, db01.Port)
			replicate(t, ctx, db02, db01, db01.Port)
			replicate(t, ctx, db04, db03, db03.Port)
			writeMixed(t, ctx, db01, "seed", 300, 16)
			for _, r := range []*Node{db02, db03, db04} {
				waitSynced(t, ctx, db01, r)
			}
			// The slaveN offsets come with the replicas' ACKs (every second).
			var mi Info
			err := WaitUntil(ctx, 5*time.Second, func() error {
				var err error
				if mi, err = db01.Info(ctx, "replication"); err != nil {
					return err
				}
				off := mi.Get("master_repl_offset")
				for _, s := range []string{"slave0", "slave1"} {
					if !regexp.MustCompile(`,offset=` + off + `,`).MatchString(mi.Get(s)) {
						return fmt.Errorf("%s:%s, master_repl_offset:%s", s, mi.Get(s), off)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			offset, _ := mi.Int("master_repl_offset")
			checkFields(t, "db01", mi, masterFields(offset, 2))
			var ports []int
			for _, s := range []string{"slave0", "slave1"} {
				m := regexp.MustCompile(`port=([0-9]+)`).FindStringSubmatch(mi.Get(s))
				if m != nil {
					p, _ := strconv.Atoi(m[1])
					ports = append(ports, p)
				}
			}
			if slices.Sort(ports); !slices.Equal(ports, slices.Sorted(slices.Values([]int{db02.Port, db03.Port}))) {
				t.Errorf("db01 lists replica ports %v, want db02 %d and db03 %d", ports, db02.Port, db03.Port)
			}
			replid := mi.Get("master_replid")
			for _, c := range []struct {
				r        *Node
				master   *Node
				replicas int
			}{{db02, db01, 0}, {db03, db01, 1}, {db04, db03, 0}} {
				ri, err := c.r.Info(ctx, "replication")
				if err != nil {
					t.Fatal(err)
				}
				checkFields(t, c.r.Name, ri, replicaFields(c.master.Port, replid, offset, c.replicas))
				first, _ := ri.Int("repl_backlog_first_byte_offset")
				if hl, _ := ri.Int("repl_backlog_histlen"); hl != offset-first+1 {
					t.Errorf("%s: repl_backlog_histlen:%d, want master_repl_offset-first_byte_offset+1 = %d", c.r.Name, hl, offset-first+1)
				}
			}
			sameKeys(t, ctx, "chained replica db04", db01, db04)

			// Section 2.4: db01 crashes; the replicas report the link down.
			db01.Kill()
			for _, r := range []*Node{db02, db03} {
				err := WaitUntil(ctx, 10*time.Second, func() error {
					ri, err := r.Info(ctx, "replication")
					if err != nil {
						return err
					}
					if ri.Get("master_link_status") != "down" {
						return fmt.Errorf("%s still up", r.Name)
					}
					checkFields(t, r.Name+" (master down)", ri, downFields(db01.Port, offset))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// db03 follows db02, then db02 becomes a master.
			if err := db03.ReplicaOf(ctx, "127.0.0.1", db02.Port); err != nil {
				t.Fatal(err)
			}
			if err := db02.ReplicaOf(ctx, "", 0); err != nil {
				t.Fatal(err)
			}
			waitSynced(t, ctx, db02, db03)
			writeMixed(t, ctx, db02, "promoted", 100, 16)
			waitSynced(t, ctx, db02, db03)
			waitSynced(t, ctx, db02, db04)
			err = WaitUntil(ctx, 5*time.Second, func() error {
				in, err := db02.Info(ctx, "replication")
				if err != nil {
					return err
				}
				off := in.Get("master_repl_offset")
				want := `ip=127.0.0.1,port=` + strconv.Itoa(db03.Port) + `,state=online,offset=` + off + `,lag=`
				if in.Get("role") != "master" || in.Get("connected_slaves") != "1" || !regexp.MustCompile("^"+regexp.QuoteMeta(want)+"[01]$").MatchString(in.Get("slave0")) {
					return fmt.Errorf("db02: role:%s connected_slaves:%s slave0:%s, want slave0 %s[01]", in.Get("role"), in.Get("connected_slaves"), in.Get("slave0"), want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if full := stat(t, ctx, db02, "stats", "sync_full"); full != 0 {
				t.Errorf("db02 served %d full resyncs after its promotion, want 0 (PSYNC2)", full)
			}
			sameKeys(t, ctx, "db04 after the failover", db02, db04)
		})
	}
}
