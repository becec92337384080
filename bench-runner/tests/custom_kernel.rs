//! The kernel list's acceptance test: a kernel that is not in the shipped list, declared in
//! this file as a user would declare theirs, runs through the real tokio server and through
//! bench-runner end to end (verified answers, every results file naming it).
//!
//! How the list is injected: this executable (`harness = false`) is also the server. Started
//! through a link named `server-tokio-axum`, as bench-runner's `--server-dir` expects the binary,
//! it runs `server_tokio_axum::start::main` with the shipped kernels plus the one below;
//! started by `cargo test`, it runs `bench_runner::run_with` with the same list, pointed at a
//! directory holding that link.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bench_runner::Cli;
use clap::Parser;
use common::kernel::{KERNELS, Kernel, Run};

/// The user's kernel: `n` steps of xorshift64 from a fixed state; the answer is the final
/// state in hex. No closed form: bench-runner verifies it against its own run.
#[derive(Debug)]
struct XorShift;

impl Kernel for XorShift {
    fn name(&self) -> &'static str {
        "xorshift"
    }
    fn description(&self) -> &'static str {
        "n steps of xorshift64; answer: the final state in hex"
    }
    fn unit(&self) -> &'static str {
        "step"
    }
    fn memory_bytes(&self) -> u64 {
        0
    }
    fn default_n(&self) -> u64 {
        100_000
    }
    fn default_max_n(&self) -> u64 {
        100_000_000
    }
    fn n_ceiling(&self) -> u64 {
        u64::MAX
    }
    fn start(&self, n: u64) -> Box<dyn Run> {
        Box::new(Steps {
            left: n,
            state: 0x2545_F491_4F6C_DD1D,
        })
    }
}

struct Steps {
    left: u64,
    state: u64,
}

impl Run for Steps {
    fn advance(&mut self, units: u64) -> u64 {
        for _ in 0..units.min(self.left) {
            let mut x = self.state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.state = x;
        }
        self.left -= units.min(self.left);
        self.left
    }
    fn answer(self: Box<Self>) -> String {
        format!("{:016x}", self.state)
    }
}

/// The shipped kernels and ours.
fn kernels() -> Vec<&'static dyn Kernel> {
    let mut all = KERNELS.to_vec();
    all.push(&XorShift);
    all
}

fn main() -> ExitCode {
    let invoked_as = std::env::args_os().next().map(PathBuf::from);
    if invoked_as.as_deref().and_then(Path::file_name) == Some("server-tokio-axum".as_ref()) {
        return common::cli::exit_code(server_tokio_axum::start::main(&kernels()));
    }
    a_kernel_of_our_own_is_measured_end_to_end();
    println!("custom_kernel: a kernel of our own ran through the server and bench-runner: ok");
    ExitCode::SUCCESS
}

fn a_kernel_of_our_own_is_measured_end_to_end() {
    let scratch = std::env::temp_dir().join(format!("custom-kernel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    // `debug/`: bench-runner reads the profile from the directory's name (--allow-debug).
    let bin = scratch.join("debug");
    std::fs::create_dir_all(&bin).expect("scratch dir");
    let me = std::env::current_exe().expect("current exe");
    std::os::unix::fs::symlink(&me, bin.join("server-tokio-axum")).expect("link");
    let out = scratch.join("results");
    let (bin, out_arg) = (bin.display().to_string(), out.display().to_string());
    let argv = [
        "bench-runner",
        "--experiment",
        "batch,sizes",
        "--target",
        "tokio",
        "--workers",
        "1",
        "--quick",
        "--allow-debug",
        "--server-dir",
        &bin,
        "--kernel",
        "xorshift",
        "--out",
        &out_arg,
    ];
    let cli = Cli::try_parse_from(argv).expect("options");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let args = argv.iter().map(|s| (*s).to_owned()).collect();
    let outcome = runtime
        .block_on(bench_runner::run_with(cli, args, &kernels()))
        .expect("the run completes");
    assert_eq!(outcome.failed, 0, "{outcome:?}");
    // Both experiments measure every pair, but the sizes experiment leaves out /cached (every
    // request of a step asks for the same n: all but the first would be cache hits).
    let all = common::Strategy::ALL.len();
    let cached = common::Strategy::ALL
        .iter()
        .filter(|s| s.caches_answers())
        .count();
    assert_eq!(outcome.pairs, all * 2 - cached);
    // The sizes sweep ran the kernel too: at 0 and at the quick n, every pair.
    let sizes = std::fs::read_to_string(out.join(results_format::SIZES_SUMMARY.name))
        .expect("sizes_summary.csv");
    let ok = sizes
        .lines()
        .filter(|l| l.contains(",xorshift,") && l.contains(",ok,"));
    // /queue's workers run the shipped kernels only: not applicable for this one.
    assert_eq!(ok.count(), 2 * (all - 1 - cached), "{sizes}");

    // Every file names the kernel; every pair verified; n is ours (--quick: default ÷ 1000).
    for file in results_format::CSV_FILES {
        let text = std::fs::read_to_string(out.join(file.name)).expect("csv");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let at = |name: &str| header.iter().position(|c| *c == name);
        // passes.csv is the run's, not a pair's: the machine's speed per pass.
        if file == results_format::PASSES {
            assert!(at("kernel").is_none());
            continue;
        }
        let kernel = at("kernel").expect("kernel column");
        let mut rows = 0;
        for line in lines {
            let fields = bench_runner::harness::output::parse_line(line);
            assert_eq!(fields[kernel], "xorshift", "{}: {line}", file.name);
            if let Some(n) = at("n") {
                assert_eq!(fields[n], "100", "{}: {line}", file.name);
            }
            // /queue without a broker: recorded not applicable, never started nor verified.
            if at("result").is_some_and(|r| fields[r] == results_format::RESULT_NOT_APPLICABLE) {
                assert!(line.contains(",queue,"), "{}: {line}", file.name);
                continue;
            }
            if let Some(v) = at("verified") {
                assert_eq!(fields[v], "true", "{}: {line}", file.name);
            }
            if let Some(rss) = at("server_peak_rss_mib").or(at("server_peak_rss_mib_max")) {
                let mib: f64 = fields[rss].parse().expect("peak RSS measured");
                assert!(mib > 1.0, "{}: peak RSS {mib} MiB", file.name);
            }
            rows += 1;
        }
        assert!(rows > 0, "{} has rows", file.name);
    }
    let meta = std::fs::read_to_string(out.join(results_format::METADATA)).expect("metadata");
    let meta: results_format::Metadata = serde_json::from_str(&meta).expect("metadata parses");
    assert_eq!((meta.compute_kernel.as_str(), meta.n), ("xorshift", 100));
    let _ = std::fs::remove_dir_all(&scratch);
}
