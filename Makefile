# hactl build, test and benchmark entry points.
GO ?= go
BIN := bin
PKGS := ./...

.PHONY: all build test test-short lint fuzz bench bench-types bench-persist bench-repl bench-sentinel run clean lab lab-down e2e

all: build

# Static binaries; -buildvcs=false so the same source gives the same bytes
# (hactl up compares binaries by sha256 and restarts what changed).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -o $(BIN)/hactl ./cmd/hactl
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -o $(BIN)/hactl-engine ./cmd/hactl-engine
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -o $(BIN)/hactl-sentinel ./cmd/hactl-sentinel

# The three-node lab (README): build, then hactl lab up, which creates the
# nodes in ./.lab, installs hactl-engine and hactl-sentinel on them with
# hactl up and proves it with hactl verify. The process driver needs
# neither root nor packages; LAB_DRIVER=nspawn boots Debian 12 containers
# (root, systemd-container, debootstrap; see docs/lab.md).
LAB_DRIVER ?= process
LAB_ENGINE ?= hactl
LAB_NODES ?= 3
lab: build
	$(BIN)/hactl lab up --driver $(LAB_DRIVER) --engine $(LAB_ENGINE) --nodes $(LAB_NODES)

lab-down:
	$(BIN)/hactl lab down

# The CI test command (README): static checks, then every test with the race
# detector. The differential tests need redis-server (Debian package).
test: lint
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

# The end-to-end suite on the nspawn lab (docs/lab.md, "End-to-end
# suite"): root, systemd-container, debootstrap. A cold rootfs cache adds
# the debootstrap (1-3 min). It fails, never skips, when nspawn cannot run.
e2e:
	HACTL_E2E=nspawn $(GO) test -count=1 -timeout 20m -run '^TestNspawnEndToEnd$$' -v ./cmd/hactl

test-short:
	$(GO) test -count=1 -short $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Short fuzzing pass over every parser (FUZZTIME per target).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./engine/resp
	$(GO) test -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME) ./engine/glob
	$(GO) test -run '^$$' -fuzz '^FuzzSplit$$' -fuzztime $(FUZZTIME) ./engine/splitargs
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./engine/config

# hactl-engine against the real redis-server in the same run (ratios).
bench:
	$(GO) run ./bench/cmd/enginebench -markdown docs/performance.md

# Memory with 1M-member collections (issue 4), one table per type.
bench-types:
	for k in hash set zset list; do $(GO) run ./bench/cmd/enginebench -throughput=false -memory-kind $$k || exit 1; done
	$(GO) run ./bench/cmd/enginebench -memory=false -tests LPUSH,RPUSH,LPOP,RPOP,SADD,SPOP,HSET,ZADD,ZPOPMIN,LRANGE_100,ZRANGE_100

# Persistence: SAVE/load time, RDB size, BGSAVE pauses, AOF throughput.
bench-persist:
	$(GO) run ./bench/cmd/persistbench -markdown docs/persistence.md

# Replication: full resync of 1M keys, throughput with two replicas,
# hactl-sync-replicas latency.
bench-repl:
	$(GO) run ./bench/cmd/replbench -markdown docs/replication.md

# Failover timing against redis-sentinel (N runs each).
bench-sentinel:
	HACTL_SENTINEL_BENCH=10 $(GO) test -count=1 -run TestFailoverBenchmark -timeout 30m -v ./sentinel

# Start one hactl-engine on 127.0.0.1:6379 in the foreground.
run: build
	$(BIN)/hactl-engine --bind 127.0.0.1 --port 6379 --save ''

clean:
	rm -rf $(BIN)

# Pulumi (docs/pulumi.md): the pinned pulumi CLI, built once from
# tools/pulumi into PULUMI_CACHE/VERSION/bin/pulumi (kept when present),
# hactl's provider plugin beside hactl, and the lab target end to end
# (hactl up with provider pulumi -> verify -> down --destroy).
PULUMI_CACHE ?= /var/cache/hactl/pulumi
PULUMI_VERSION := $(shell sed -n 's/^[[:space:]]*github.com\/pulumi\/pulumi\/pkg\/v3 \(v[0-9.]*\).*/\1/p' tools/pulumi/go.mod)
.PHONY: pulumi-cli pulumi-plugin e2e-pulumi
pulumi-cli:
	tools/pulumi/build.sh $(PULUMI_CACHE)

pulumi-plugin:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -o $(BIN)/pulumi-resource-hactl ./cmd/pulumi-resource-hactl

e2e-pulumi: pulumi-cli pulumi-plugin
	HACTL_PULUMI_E2E=1 HACTL_PULUMI_ROOT=$(PULUMI_CACHE)/$(PULUMI_VERSION) \
		$(GO) test -count=1 -timeout 10m -v -run '^TestLabEndToEnd$$' ./provision/pulumi
	HACTL_PULUMI_E2E=1 HACTL_PULUMI_ROOT=$(PULUMI_CACHE)/$(PULUMI_VERSION) \
		$(GO) test -count=1 -timeout 30m -v -run '^TestPulumiLabEndToEnd$$' ./cmd/hactl

# Throughput over TLS, hactl-engine vs redis-server in the same run
# (both TLS-only with a generated CA; redis-benchmark --tls).
bench-tls:
	$(GO) run ./bench/cmd/enginebench -tls -rounds 3 -pipelines 1,16
