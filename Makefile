# The two commands of the Quick start: `make all-bench` and `make test`.
# Everything here needs only the Rust toolchain (cargo, rustc, rustfmt, clippy); /queue is
# measured and tested when redis-server is installed too (reported not applicable otherwise).

CARGO ?= cargo
# Extra bench-runner options, e.g. `make all-bench BENCH_ARGS="--rounds 3"`.
BENCH_ARGS ?=
# Where results (CSVs, metadata, REPORT.md, charts) go.
OUT ?= results
SERVERS := -p server-tokio-axum -p server-async-std-tide -p server-smol-hyper -p server-actix-web -p queue-worker

.PHONY: all-bench bench-separate-cores bench-argon2 test build-release report generator-ceiling

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

# bench-runner finds the server binaries itself, from `cargo build --release`'s own report of
# where it put them, so the run measures the servers just built wherever cargo's target
# directory is (CARGO_TARGET_DIR, build.target-dir). Never a path of ours: a hard-coded
# target/release measured nothing (or stale binaries) when the target directory was elsewhere.
#
# Results rule (docs/results-format.md): bench-runner exits 0 (all measured) or 1 (some pairs
# failed, marked in summary.csv) after replacing $(OUT); the report is then regenerated, so
# REPORT.md always describes the CSVs beside it, and make fails on 1. Any other status (nothing
# measured, interrupted) left $(OUT) as it was: no report, make fails.
BENCH = status=0; $(CARGO) run --release -p bench-runner -- $(1) || status=$$?; \
	if [ $$status -le 1 ]; then $(CARGO) run --release -p report -- --results $(2) || exit $$?; fi; \
	exit $$status

## The main job: release builds; every experiment (batch, sizes, rate, queue: docs/methodology.md) on
## every runtime × worker count × strategy with the load generator and the servers sharing the
## cores (results/), then the batch experiment with the cores kept apart (results/separate-cores/);
## each run followed by its report. About 6 minutes after the build on 2 cores (4:47 for the
## four experiments in the last baseline, in shuffled passes on a fresh server each). Bigger runs:
## BENCH_ARGS (e.g. "--rounds 20 --duration 2"); the argon2 kernel: make bench-argon2.
all-bench: build-release
	@$(call BENCH,--out $(OUT) $(BENCH_ARGS),$(OUT))
	$(MAKE) --no-print-directory bench-separate-cores

## A password hash per request (argon2id, 19 MiB each) on tokio, every strategy: the server's
## peak memory per strategy shows what 20 hashes at once cost on /thread against /rayon.
bench-argon2: build-release
	@$(call BENCH,--experiment batch --kernel argon2 --target tokio --out $(ARGON2_OUT) $(BENCH_ARGS),$(ARGON2_OUT))

## The batch experiment's matrix with bench-runner and the servers pinned to separate halves of the cores, so
## a stall can be told from the load generator's own starvation. Needs at least 2 cores.
bench-separate-cores: build-release
	@if [ $(CORES) -lt 2 ]; then echo "bench-separate-cores: needs 2 cores, this machine has $(CORES); skipped"; exit 0; fi; \
	$(call BENCH,--experiment batch --client-cpus $(CLIENT_CPUS) --server-cpus $(SERVER_CPUS) --out $(SEPARATE_OUT) $(BENCH_ARGS),$(SEPARATE_OUT))

## Regenerates $(OUT)/REPORT.md and $(OUT)/charts/*.svg from the CSVs in $(OUT)/ only.
report:
	$(CARGO) run --release -p report -- --results $(OUT)

## The load generator's ceiling: bench-runner's highest sustained GET /health rate against a
## release tokio server and, when wrk is installed (optional), wrk's, in the same run; both
## printed and written to $(OUT)/generator-ceiling.txt.
generator-ceiling: build-release
	$(CARGO) run --release -p bench-runner --bin generator-ceiling -- --out $(OUT)/generator-ceiling.txt

# Three builds, each of the package set a later step asks cargo for (bench-runner builds the
# servers on its own, `cargo run` builds bench-runner or report alone): cargo unifies features
# per invocation, so one build of all of them together left each later step to rebuild the
# shared crates (~70 s inside the measured run).
build-release:
	$(CARGO) build --release $(SERVERS)
	$(CARGO) build --release -p bench-runner
	$(CARGO) build --release -p report

## Formatting, lints, every test (unit, conformance against the real server binaries,
## bench-runner end to end), and the release-profile check that the kernel really iterates.
test:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	$(CARGO) test -p common --release --lib kernel
