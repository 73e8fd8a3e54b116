package rdb

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/difftest"
)

// redisCheckRDB validates files; Debian ships it as the redis-server binary
// under another name.
const redisCheckRDB = "/usr/bin/redis-check-rdb"

// rdbRecord is one item of a decoded file, in file order, for re-encoding.
type rdbItem struct {
	aux    [2]string
	db     int
	size   [2]uint64
	rec    *Record
	isAux  bool
	isDB   bool
	sizeOK bool
}

// TestInteropRedis runs the dataset through a real redis-server 7.0.15:
// Redis's dump decoded by Load, the same data encoded by Writer loaded by
// Redis and read back over RESP, redis-check-rdb on our files, and the
// byte sizes of both files.
func TestInteropRedis(t *testing.T) {
	difftest.RequireRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys := dataset(true)
	wantKeys := want(keys)

	dir := t.TempDir()
	srv := difftest.StartRedis(t, "--dir", dir, "--dbfilename", "redis.rdb")
	c := srv.Dial(t)
	fill(ctx, t, c, keys)
	do(ctx, t, c, "SAVE")
	redisFile := readFile(t, filepath.Join(dir, "redis.rdb"))

	// (1) Redis's file decoded by Load.
	got, recs, sum := loadCanon(t, redisFile)
	compareCanon(t, "redis dump decoded", wantKeys, got)
	if sum.Checksum == 0 || sum.Version != 10 || sum.Size != int64(len(redisFile)) {
		t.Errorf("summary %+v, file of %d bytes", sum, len(redisFile))
	}
	checkTypes(t, recs)

	// (4) Byte level: Redis's records re-encoded in Redis's order.
	again := reencode(t, redisFile, Options{Compression: true, Checksum: true})
	reportSizes(t, "re-encoded in redis order", redisFile, again)
	// The dataset encoded in its own order.
	var ours bytes.Buffer
	w := NewWriter(&ours, Options{Compression: true, Checksum: true})
	writeDataset(t, w, keys)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	reportSizes(t, "dataset order", redisFile, ours.Bytes())
	gotOurs, _, _ := loadCanon(t, ours.Bytes())
	compareCanon(t, "our file decoded", wantKeys, gotOurs)

	// rdbcompression no, rdbchecksum no (immutable: a second server).
	plainDir := t.TempDir()
	plainSrv := difftest.StartRedis(t, "--dir", plainDir, "--rdbcompression", "no", "--rdbchecksum", "no")
	pc := plainSrv.Dial(t)
	fill(ctx, t, pc, keys)
	do(ctx, t, pc, "SAVE")
	plainRedis := readFile(t, filepath.Join(plainDir, "dump.rdb"))
	plainOurs := reencode(t, plainRedis, Options{})
	reportSizes(t, "no compression, no checksum", plainRedis, plainOurs)
	if !bytes.Equal(plainRedis, plainOurs) {
		t.Errorf("without compression the re-encoded file must be byte-identical to redis's")
	}
	if !bytes.Equal(plainRedis[len(plainRedis)-8:], make([]byte, 8)) || !bytes.Equal(plainOurs[len(plainOurs)-8:], make([]byte, 8)) {
		t.Errorf("rdbchecksum no: trailers %x and %x, want zeros", plainRedis[len(plainRedis)-8:], plainOurs[len(plainOurs)-8:])
	}

	// (3) redis-check-rdb accepts our files.
	files := map[string][]byte{"ours.rdb": ours.Bytes(), "again.rdb": again, "plain.rdb": plainOurs}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(ctx, redisCheckRDB, p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RDB looks OK") {
			t.Errorf("redis-check-rdb %s: %v\n%s", name, err, out)
		}
	}

	// (2) Our file loaded by a fresh redis-server, compared over RESP.
	for _, name := range []string{"ours.rdb", "plain.rdb"} {
		loaded := difftest.StartRedis(t, "--dir", dir, "--dbfilename", name)
		lc := loaded.Dial(t)
		compareCanon(t, "redis loading "+name, wantKeys, readBack(ctx, t, lc, keys))
		do(ctx, t, lc, "SELECT", "0")
		for _, k := range []string{"hash:small", "hash:65", "set:int16", "set:str", "zset:small", "zset:big", "list:big"} {
			enc := do(ctx, t, lc, "OBJECT", "ENCODING", k).Str
			if want := redisEncoding(k); enc != want {
				t.Errorf("%s: OBJECT ENCODING %s = %q, want %q", name, k, enc, want)
			}
		}
	}
}

// redisEncoding is the OBJECT ENCODING Redis 7.0 reports for dataset keys.
func redisEncoding(key string) string {
	switch key {
	case "hash:small", "zset:small":
		return "listpack"
	case "hash:65":
		return "hashtable"
	case "set:int16":
		return "intset"
	case "set:str":
		return "hashtable"
	case "zset:big":
		return "skiplist"
	}
	return "quicklist"
}

// checkTypes verifies the encodings Redis chose are the ones the Writer
// chooses for the same content.
func checkTypes(t *testing.T, recs map[dbKey]*Record) {
	t.Helper()
	want := map[string]Type{
		"str:small": TypeString, "list:small": TypeListQuicklist2, "list:big": TypeListQuicklist2,
		"set:int16": TypeSetIntset, "set:int64": TypeSetIntset, "set:ints512": TypeSetIntset,
		"set:intsbig": TypeSet, "set:str": TypeSet, "hash:small": TypeHashListpack,
		"hash:64": TypeHashListpack, "hash:65": TypeHash, "hash:512": TypeHashListpack,
		"hash:big": TypeHash, "zset:small": TypeZSetListpack, "zset:128": TypeZSetListpack,
		"zset:big": TypeZSet2, "zset:longmember": TypeZSet2,
	}
	for k, typ := range want {
		if r := recs[dbKey{0, k}]; r == nil || r.Type != typ {
			t.Errorf("redis wrote %q as %v, want %v", k, r, typ)
		}
	}
}

// reencode decodes an RDB file and writes every record again, in the same
// order, with the same aux values.
func reencode(t *testing.T, data []byte, opts Options) []byte {
	t.Helper()
	var items []rdbItem
	_, err := Load(bytes.NewReader(data), Funcs{
		OnAux:      func(k, v string) error { items = append(items, rdbItem{isAux: true, aux: [2]string{k, v}}); return nil },
		OnSelectDB: func(db int) error { items = append(items, rdbItem{isDB: true, db: db}); return nil },
		OnResizeDB: func(s, e uint64) error {
			items[len(items)-1].size, items[len(items)-1].sizeOK = [2]uint64{s, e}, true
			return nil
		},
		OnKey: func(r *Record) error { items = append(items, rdbItem{rec: r}); return nil },
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	aux := map[string]string{}
	for _, it := range items {
		if it.isAux {
			aux[it.aux[0]] = it.aux[1]
		}
	}
	ctime, _ := strconv.ParseInt(aux["ctime"], 10, 64)
	used, _ := strconv.ParseInt(aux["used-mem"], 10, 64)
	opts.Aux = Aux{RedisVer: aux["redis-ver"], CTime: time.Unix(ctime, 0), UsedMem: used, AOFBase: aux["aof-base"] == "1"}
	var out bytes.Buffer
	w := NewWriter(&out, opts)
	for _, it := range items {
		var err error
		switch {
		case it.isAux:
		case it.isDB:
			err = w.SelectDB(it.db, it.size[0], it.size[1])
		default:
			err = writeRecord(w, it.rec)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// writeRecord writes a decoded record with the matching Writer method.
func writeRecord(w *Writer, r *Record) error {
	switch r.Kind {
	case KindString:
		return w.WriteString(r.Key, r.Str, r.ExpireMs)
	case KindList:
		return w.WriteList(r.Key, len(r.Elems), slices.Values(r.Elems), r.ExpireMs)
	case KindSet:
		return w.WriteSet(r.Key, len(r.Elems), slices.Values(r.Elems), r.ExpireMs)
	case KindHash:
		return w.WriteHash(r.Key, len(r.Elems)/2, func(yield func(string, string) bool) {
			for i := 0; i+1 < len(r.Elems); i += 2 {
				if !yield(r.Elems[i], r.Elems[i+1]) {
					return
				}
			}
		}, r.ExpireMs)
	case KindZSet:
		return w.WriteZSet(r.Key, len(r.Elems), func(yield func(string, float64) bool) {
			for i, m := range r.Elems {
				if !yield(m, r.Scores[i]) {
					return
				}
			}
		}, r.ExpireMs)
	}
	return fmt.Errorf("kind %v", r.Kind)
}

// reportSizes logs both sizes and where the files first differ, and fails
// when ours is more than 1% away from Redis's.
func reportSizes(t *testing.T, what string, redis, ours []byte) {
	t.Helper()
	diff := 100 * float64(len(ours)-len(redis)) / float64(len(redis))
	first := -1
	for i := range min(len(redis), len(ours)) {
		if redis[i] != ours[i] {
			first = i
			break
		}
	}
	same := bytes.Equal(redis, ours)
	if first >= 0 && os.Getenv("RDB_DUMP_DIR") != "" {
		_ = os.WriteFile(filepath.Join(os.Getenv("RDB_DUMP_DIR"), "redis-"+strings.ReplaceAll(what, " ", "_")), redis, 0o644)
		_ = os.WriteFile(filepath.Join(os.Getenv("RDB_DUMP_DIR"), "ours-"+strings.ReplaceAll(what, " ", "_")), ours, 0o644)
	}
	t.Logf("%s: redis %d bytes, ours %d bytes (%+.3f%%), identical=%v, first difference at %d", what, len(redis), len(ours), diff, same, first)
	if diff > 1 || diff < -1 {
		t.Errorf("%s: size differs by %.3f%%", what, diff)
	}
}

// fill loads the dataset into a server with ordinary commands.
func fill(ctx context.Context, t *testing.T, c *difftest.Conn, keys []dsKey) {
	t.Helper()
	const chunk = 500
	cur := -1
	for _, k := range keys {
		if k.db != cur {
			do(ctx, t, c, "SELECT", strconv.Itoa(k.db))
			cur = k.db
		}
		var elems []string
		var cmd string
		switch k.kind {
		case KindString:
			do(ctx, t, c, "SET", k.key, k.str)
		case KindList:
			cmd, elems = "RPUSH", k.list
		case KindSet:
			cmd, elems = "SADD", k.set
		case KindHash:
			cmd = "HSET"
			for _, p := range k.hash {
				elems = append(elems, p[0], p[1])
			}
		case KindZSet:
			cmd = "ZADD"
			for _, p := range k.zset {
				elems = append(elems, strconv.FormatFloat(p.score, 'g', -1, 64), p.member)
			}
		}
		for len(elems) > 0 {
			n := min(len(elems), chunk)
			do(ctx, t, c, append([]string{cmd, k.key}, elems[:n]...)...)
			elems = elems[n:]
		}
		if k.expireMs >= 0 {
			do(ctx, t, c, "PEXPIREAT", k.key, strconv.FormatInt(k.expireMs, 10))
		}
	}
}

// readBack reads every dataset key from a server into canonical values.
func readBack(ctx context.Context, t *testing.T, c *difftest.Conn, keys []dsKey) map[dbKey]canon {
	t.Helper()
	got := map[dbKey]canon{}
	counts := map[int]int64{}
	for _, k := range keys {
		counts[k.db]++
	}
	for db, n := range counts {
		do(ctx, t, c, "SELECT", strconv.Itoa(db))
		if size := do(ctx, t, c, "DBSIZE").Int; size != n {
			t.Errorf("db %d: DBSIZE %d, want %d", db, size, n)
		}
		for _, k := range keys {
			if k.db != db {
				continue
			}
			typ := do(ctx, t, c, "TYPE", k.key).Str
			var kind Kind
			var str string
			var elems []string
			var scores []float64
			strs := func(r difftest.Reply) []string {
				var s []string
				for _, e := range r.Elems {
					s = append(s, e.Str)
				}
				return s
			}
			switch typ {
			case "string":
				kind, str = KindString, do(ctx, t, c, "GET", k.key).Str
			case "list":
				kind, elems = KindList, strs(do(ctx, t, c, "LRANGE", k.key, "0", "-1"))
			case "set":
				kind, elems = KindSet, strs(do(ctx, t, c, "SMEMBERS", k.key))
			case "hash":
				kind, elems = KindHash, strs(do(ctx, t, c, "HGETALL", k.key))
			case "zset":
				kind = KindZSet
				flat := strs(do(ctx, t, c, "ZRANGE", k.key, "0", "-1", "WITHSCORES"))
				for i := 0; i+1 < len(flat); i += 2 {
					f, err := strconv.ParseFloat(flat[i+1], 64)
					if err != nil {
						t.Fatalf("%s score %q: %v", k.key, flat[i+1], err)
					}
					elems, scores = append(elems, flat[i]), append(scores, f)
				}
			default:
				continue // missing: compareCanon reports it
			}
			exp := do(ctx, t, c, "PEXPIRETIME", k.key).Int
			got[dbKey{db, k.key}] = canonOf(kind, str, elems, scores, exp)
		}
	}
	return got
}

// do sends one command and fails the test on an error reply.
func do(ctx context.Context, t testing.TB, c *difftest.Conn, args ...string) difftest.Reply {
	t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	r, err := c.Do(ctx, bargs...)
	if err != nil {
		t.Fatalf("%.60q: %v", args, err)
	}
	if r.Type == '-' {
		t.Fatalf("%.60q: %s", args, r.Str)
	}
	return r
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
