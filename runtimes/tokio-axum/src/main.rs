//! `server-tokio-axum`: the benchmark's endpoints on tokio + axum.
//!
//! Run with `cargo run --release -p server-tokio-axum -- --help`; serves on 127.0.0.1:8000 by default.
//! `--flavor current-thread` runs the same router on tokio's one-thread runtime.

use std::process::ExitCode;

fn main() -> ExitCode {
    common::cli::exit_code(server_tokio_axum::start::main(common::kernel::KERNELS))
}
