//! Run with `cargo run --release -p bench-runner -- --help` (or `make all-bench`).
//!
//! Exit status: 0 every pair measured; 1 some pairs failed (marked in summary.csv); 2 nothing
//! measured (bad options, an `--out` holding foreign files without `--force`, build failure,
//! results not writable, a `--url` that answers nothing or not `GET /health` with 200, every
//! pair failed: no results written), or the results written but not their report; 130
//! interrupted (the visits finished before it written, marked partial, never to the baseline
//! results/).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bench_runner::Cli::parse();
    let argv = std::env::args().collect();
    // Before anything starts: overlapping CPU lists are refused, and bench-runner is pinned
    // before its runtime starts the threads that inherit the mask.
    if let Err(e) = cli.check_cpus() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if let Some(Err(e)) = cli.client_cpus.as_ref().map(bench_runner::cpu::pin_self) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(bench_runner::run(cli, argv));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(outcome) if outcome.failed == 0 => ExitCode::SUCCESS,
        Ok(outcome) => {
            eprintln!(
                "error: {} of {} pairs failed (marked `failed` in summary.csv)",
                outcome.failed, outcome.pairs
            );
            ExitCode::from(1)
        }
        Err(e) if e.is::<bench_runner::Interrupted>() => {
            eprintln!("{e:#}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
