package rdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hactl/hactl/engine/difftest"
)

// The fixtures are dumps of dataset(false) saved by redis-server 7.0.15,
// with rdbcompression yes and no. Regenerate them with
// RDB_REGEN=1 go test -run TestRegenFixtures ./engine/rdb/
const (
	fixtureFile      = "testdata/redis-7.0.15.rdb"
	fixturePlainFile = "testdata/redis-7.0.15-nocompress.rdb"
)

func TestRegenFixtures(t *testing.T) {
	if os.Getenv("RDB_REGEN") != "1" {
		t.Skip("set RDB_REGEN=1 to regenerate the fixtures with redis-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for file, compression := range map[string]string{fixtureFile: "yes", fixturePlainFile: "no"} {
		dir := t.TempDir()
		srv := difftest.StartRedis(t, "--dir", dir, "--rdbcompression", compression)
		c := srv.Dial(t)
		fill(ctx, t, c, dataset(false))
		do(ctx, t, c, "SAVE")
		if err := os.WriteFile(file, readFile(t, filepath.Join(dir, "dump.rdb")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFixtureDecoded checks that Load reads Redis's fixtures as the dataset
// they were made from, with the encodings Redis chose.
func TestFixtureDecoded(t *testing.T) {
	for _, file := range []string{fixtureFile, fixturePlainFile} {
		data := readFile(t, file)
		got, recs, sum := loadCanon(t, data)
		compareCanon(t, file, want(dataset(false)), got)
		checkTypes(t, recs)
		if sum.Version != 10 || sum.Checksum == 0 || sum.Size != int64(len(data)) || sum.EmptySkipped != 0 {
			t.Errorf("%s: summary %+v for %d bytes", file, sum, len(data))
		}
	}
}

// TestFixtureReencoded re-encodes Redis's fixtures record by record: without
// compression the file must be byte-identical to Redis's; with compression
// the size must be within 1% (Redis's LZF hash table starts from stale stack
// memory, so its output depends on history).
func TestFixtureReencoded(t *testing.T) {
	plain := readFile(t, fixturePlainFile)
	again := reencode(t, plain, Options{Checksum: true})
	if string(again) != string(plain) {
		reportSizes(t, "fixture without compression", plain, again)
		t.Fatalf("re-encoded fixture differs from redis's")
	}
	comp := readFile(t, fixtureFile)
	reportSizes(t, "fixture with compression", comp, reencode(t, comp, Options{Compression: true, Checksum: true}))
}
