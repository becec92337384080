# The two commands of the Quick start: `make all-bench` and `make test`.
# Everything here needs only the Rust toolchain (cargo, rustc, rustfmt, clippy).

CARGO ?= cargo
# Extra bench-runner options, e.g. `make all-bench BENCH_ARGS="--rounds 3"`.
BENCH_ARGS ?=
# Where results (CSVs, metadata, REPORT.md, charts) go.
OUT ?= results
SERVERS := -p server-tokio-axum -p server-async-std-tide -p server-smol-hyper

.PHONY: all-bench test build-release report

## The main job: release builds, every runtime × worker count × strategy; writes results/,
## then the report from it.
all-bench: build-release
	$(CARGO) run --release -p bench-runner -- --server-dir target/release --out $(OUT) $(BENCH_ARGS)
	$(CARGO) run --release -p report -- --results $(OUT)

## Regenerates $(OUT)/REPORT.md and $(OUT)/charts/*.svg from the CSVs in $(OUT)/ only.
report:
	$(CARGO) run --release -p report -- --results $(OUT)

build-release:
	$(CARGO) build --release $(SERVERS) -p bench-runner -p report

## Formatting, lints, every test (unit, conformance against the real server binaries,
## bench-runner end to end), and the release-profile check that the kernel really iterates.
test:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	$(CARGO) test -p common --release --lib kernel
