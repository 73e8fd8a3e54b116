package persisttest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DatasetDBs are the databases Fill writes to.
var DatasetDBs = []int{0, 1, 7, 15}

// Client returns a go-redis client for database db of addr (loopback only:
// addr is always a Proc's address). Close it when done.
func Client(addr string, db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2,
		DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		MaxRetries: -1, PoolSize: 4})
}

// Fill writes every type in the encodings Redis 7.0 chooses for small and
// big content (integer, short, long compressible and incompressible strings;
// listpack and quicklist lists; intset, listpack-sized and hashtable sets;
// listpack and hashtable hashes; listpack and skiplist sorted sets with
// infinite and fractional scores), keys with expiry times, in every
// database of DatasetDBs. The content depends only on seed.
func Fill(ctx context.Context, addr string, seed uint64) error {
	for _, db := range DatasetDBs {
		c := Client(addr, db)
		err := fillDB(ctx, c, db, rand.New(rand.NewPCG(seed, uint64(db))))
		c.Close()
		if err != nil {
			return fmt.Errorf("fill db %d: %w", db, err)
		}
	}
	return nil
}

func fillDB(ctx context.Context, c *redis.Client, db int, rng *rand.Rand) error {
	p := c.Pipeline()
	k := func(name string) string { return fmt.Sprintf("%s:db%d", name, db) }
	randBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return string(b)
	}
	// Strings: integer encodings of every width, raw, LZF-compressible.
	for i, v := range []int64{0, -1, 127, -128, 32767, -32768, 1 << 31, -(1 << 31) - 1, math.MaxInt64, math.MinInt64} {
		p.Set(ctx, k("str:int:"+strconv.Itoa(i)), strconv.FormatInt(v, 10), 0)
	}
	p.Set(ctx, k("str:leading0"), "007", 0)
	p.Set(ctx, k("str:empty"), "", 0)
	p.Set(ctx, k("str:short"), "hello world", 0)
	p.Set(ctx, k("str:compressible"), strings.Repeat("abcdefgh", 2000), 0)
	p.Set(ctx, k("str:random"), randBytes(10000), 0)
	p.Set(ctx, k("str:binary\x00\r\nkey"), "\x00\xff\r\n", 0)
	// Lists: one listpack node, and several quicklist nodes with big
	// (compressible and plain) elements.
	p.RPush(ctx, k("list:small"), "a", "1", "-42", "", "bb")
	for i := range 600 {
		p.RPush(ctx, k("list:big"), fmt.Sprintf("elem-%d-%s", i, strings.Repeat("x", i%50)))
	}
	p.RPush(ctx, k("list:bigelems"), strings.Repeat("L", 20000), randBytes(9000), "tail")
	// Sets: intset, intset over the limit, small strings, big strings.
	p.SAdd(ctx, k("set:intset"), 1, 2, 3, -7, 1<<40)
	for i := range 700 {
		p.SAdd(ctx, k("set:manyints"), i*3)
		p.SAdd(ctx, k("set:big"), fmt.Sprintf("member-%d", i))
	}
	p.SAdd(ctx, k("set:small"), "x", "y", "z", "42")
	// Hashes: listpack, over the entry limit, over the value limit.
	p.HSet(ctx, k("hash:small"), "f1", "v1", "f2", "2", "num", "-99")
	for i := range 300 {
		p.HSet(ctx, k("hash:big"), fmt.Sprintf("field-%d", i), strconv.Itoa(i*i))
	}
	p.HSet(ctx, k("hash:bigvalue"), "a", strings.Repeat("v", 100), "b", "short")
	// Sorted sets: listpack and skiplist, special scores.
	p.ZAdd(ctx, k("zset:small"), redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: -2, Member: "b"},
		redis.Z{Score: math.Inf(1), Member: "inf"}, redis.Z{Score: math.Inf(-1), Member: "-inf"},
		redis.Z{Score: 0.1, Member: "tenth"}, redis.Z{Score: 1e300, Member: "huge"})
	for i := range 400 {
		p.ZAdd(ctx, k("zset:big"), redis.Z{Score: float64(i) / 7, Member: fmt.Sprintf("zm-%d", i)})
	}
	p.ZAdd(ctx, k("zset:bigmember"), redis.Z{Score: 3, Member: strings.Repeat("m", 200)})
	// Expiry times: relative and absolute, on every type.
	for _, name := range []string{"str:short", "list:small", "set:small", "hash:small", "zset:small", "list:big", "hash:big"} {
		p.PExpire(ctx, k(name), time.Duration(3600_000+rng.IntN(1_000_000))*time.Millisecond)
	}
	p.PExpireAt(ctx, k("str:random"), time.UnixMilli(4102444800123)) // 2100-01-01
	p.Set(ctx, k("str:ttl"), "with ttl", 2*time.Hour)
	_, err := p.Exec(ctx)
	return err
}

// FillKeys writes n string keys "<prefix><i>" of size pseudo-random bytes
// (incompressible, so that saving them costs real work) over one
// pipelined connection, 1000 per round trip.
func FillKeys(ctx context.Context, addr, prefix string, n, size int, seed uint64) error {
	c := Client(addr, 0)
	defer c.Close()
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	buf := make([]byte, size)
	for base := 0; base < n; base += 1000 {
		p := c.Pipeline()
		for i := base; i < min(base+1000, n); i++ {
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			p.Set(ctx, prefix+strconv.Itoa(i), string(buf), 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			return fmt.Errorf("fill keys %s%d..: %w", prefix, base, err)
		}
	}
	return nil
}
