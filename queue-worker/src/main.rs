//! `queue-worker`: takes `/queue` jobs from the Redis broker, computes them with `common`'s
//! kernel, stores the results. Run as many as you like, on any machine that reaches the broker.
//!
//! Run with `cargo run --release -p queue-worker -- --broker redis://127.0.0.1:6379`.

use std::process::ExitCode;

fn main() -> ExitCode {
    common::cli::exit_code(queue_worker::main(common::kernel::KERNELS))
}
