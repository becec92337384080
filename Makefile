# The two commands of the Quick start: `make all-bench` and `make test`.
# Everything here needs only the Rust toolchain (cargo, rustc, rustfmt, clippy); /queue is
# measured and tested when redis-server is installed too (reported not applicable otherwise).

CARGO ?= cargo
# Extra bench-runner options, e.g. `make all-bench BENCH_ARGS="--rounds 3"`.
BENCH_ARGS ?=
# Where make all-bench's results (CSVs, metadata, REPORT.md, charts) go: the committed baseline
# by default. bench-runner run by hand without --out writes runs/<UTC date>-<time>/ instead.
OUT ?= results
# Every package a later step runs, built once, in one cargo invocation (build-release): cargo
# unifies features per invocation, so one build of all of them serves every step. bench-runner's
# own build asks for the same list (bench-runner/src/servers.rs, build_packages; a test keeps the
# two equal), so it finds everything fresh. Every step then runs the binaries built, never
# `cargo run`, which would build its package alone with other features (a fresh clone compiled
# the shared crates three times).
PACKAGES := -p server-tokio-axum -p server-async-std-tide -p server-smol-hyper -p server-actix-web -p queue-worker -p bench-runner -p report
# Where cargo puts the release binaries: its target directory (CARGO_TARGET_DIR,
# build.target-dir), from cargo itself, never a path of ours.
RELEASE = $(shell $(CARGO) metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release

.PHONY: all-bench bench-separate-cores bench-argon2 bench-pools test build-release report generator-ceiling broker

# The cores, split in two halves for the run with the cores kept apart: bench-runner on the
# first half, the servers on the second (on 2 cores: client 0, server 1).
CORES := $(shell nproc 2>/dev/null || echo 1)
HALF := $(shell expr $(CORES) / 2)
CLIENT_CPUS := 0-$(shell expr $(HALF) - 1)
SERVER_CPUS := $(HALF)-$(shell expr $(CORES) - 1)
# Where the run with the cores kept apart goes.
SEPARATE_OUT ?= $(OUT)/separate-cores
# Where the memory-hungry kernel's run goes (argon2, tokio only: what many hashes at once cost).
ARGON2_OUT ?= $(OUT)/argon2
# Where the pool-sizing sweep goes (issue 25).
POOLS_OUT ?= $(OUT)/pools
# Its passes: few, to keep it to a few minutes (BENCH_ARGS="--rounds 6" for more).
POOLS_ROUNDS ?= 3

# bench-runner finds the server binaries itself, from `cargo build --release`'s own report of
# where it put them (the build of PACKAGES, fresh by then), so the run measures the servers just
# built wherever cargo's target directory is (CARGO_TARGET_DIR, build.target-dir). Never a path
# of ours: a hard-coded target/release measured nothing (or stale binaries) when the target
# directory was elsewhere.
#
# Results rule (docs/results-format.md): results/ is the committed baseline, written only here
# (and by an explicit --out results); a bench-runner run without --out writes runs/<UTC
# date>-<time>/ instead (git-ignored). bench-runner exits 0 (all measured) or 1 (some pairs failed,
# marked in summary.csv) after replacing $(OUT) with the new CSVs and their REPORT.md and charts/,
# which it writes itself from them (the report crate as a library, the same files `make report`
# writes), so REPORT.md always describes the CSVs beside it; make fails on 1. An $(OUT) holding
# files bench-runner does not write is refused before measuring (exit 2; BENCH_ARGS=--force keeps
# them). Nothing measured: exit 2, $(OUT) as it was. Interrupted (Ctrl-C): exit 130, what was
# finished written as a partial run to a fresh runs/ directory (never to results/).
BENCH = $(RELEASE)/bench-runner $(1)
## The main job: release builds; every experiment (batch, sizes, rate, queue: docs/methodology.md) on
## every runtime × worker count × strategy with the load generator and the servers sharing the
## cores (results/), then the batch experiment with the cores kept apart (results/separate-cores/);
## each run writes its own report. About 7 minutes after the build on 2 cores (5:51 for the
## four experiments in the last baseline, in shuffled passes on a fresh server each, then 1:00
## with the cores kept apart). Bigger runs:
## BENCH_ARGS (e.g. "--rounds 20 --duration 2"); the argon2 kernel: make bench-argon2.
all-bench: build-release broker
	$(call BENCH,--out $(OUT) $(BENCH_ARGS))
	$(MAKE) --no-print-directory bench-separate-cores

## A password hash per request (argon2id, 19 MiB each) on tokio, every strategy: the server's
## peak memory per strategy shows what 20 hashes at once cost on /thread against /rayon.
bench-argon2: build-release
	$(call BENCH,--experiment batch --kernel argon2 --target tokio --out $(ARGON2_OUT) $(BENCH_ARGS))

## How big should the CPU pool be? The pools experiment (issue 25): /rayon, /jobs, /bounded and /thread
## with their pool sized 1, cores/2, cores-1, cores, 2 x cores, 4 x cores (nproc sets the sweep; on a
## bigger machine the same command sweeps its cores), /rayon and /jobs also at nice 19, on every
## runtime x 1 and all workers, at the batch's load, $(POOLS_ROUNDS) passes; results/pools/ with its report.
bench-pools: build-release
	$(call BENCH,--experiment pools --rounds $(POOLS_ROUNDS) --out $(POOLS_OUT) $(BENCH_ARGS))

## The batch experiment's matrix with bench-runner and the servers pinned to separate halves of the cores, so
## a stall can be told from the load generator's own starvation. Needs at least 2 cores.
bench-separate-cores: build-release
	@if [ $(CORES) -lt 2 ]; then echo "bench-separate-cores: needs 2 cores, this machine has $(CORES); skipped"; exit 0; fi; \
	$(call BENCH,--experiment batch --client-cpus $(CLIENT_CPUS) --server-cpus $(SERVER_CPUS) --out $(SEPARATE_OUT) $(BENCH_ARGS))

## Regenerates $(OUT)/REPORT.md and $(OUT)/charts/*.svg from the CSVs in $(OUT)/ only (each
## bench-runner run writes its own; this is for a report changed since).
report: build-release
	$(RELEASE)/report --results $(OUT)

## The load generator's ceiling: bench-runner's highest GET /health rate kept with send lateness
## p99 <= 1 ms and <= 100 us against a release tokio server and wrk's closed-loop throughput on it
## in the same run; printed and written to $(OUT)/generator-ceiling.txt. wrk is installed with
## apt-get when missing and the machine allows it (root, apt); otherwise the file says it was not
## measured.
generator-ceiling: build-release
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
		echo "generator-ceiling: wrk is not installed and cannot be installed here: measuring bench-runner alone"
	$(RELEASE)/generator-ceiling --out $(OUT)/generator-ceiling.txt

# /queue's broker: redis-server, installed the way .ci/run installs it when it is missing (as root,
# with apt-get); where it cannot be, the run goes on without /queue and says so at its start and
# again in its last lines, with the command that fixes it.
broker:
	@command -v redis-server >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } || \
		echo "all-bench: redis-server is not installed and cannot be installed here: /queue will not be measured"

# One build of every package (PACKAGES, above); every later step runs its binaries.
build-release:
	$(CARGO) build --release $(PACKAGES)

## Formatting, lints, every test (unit, conformance against the real server binaries,
## bench-runner end to end), and the release-profile check that the kernel really iterates.
test:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	$(CARGO) test -p common --release --lib kernel
