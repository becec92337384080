//! `server-actix-web`: the benchmark's endpoints on actix-web 4.
//!
//! Run with `cargo run --release -p server-actix-web -- --help`; serves on 127.0.0.1:8000 by default.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::{App, RuntimeInfo, RuntimeKind, ServerArgs};
use server_actix_web::{ACTIX_MAX_WORKERS, BlockingPool, Config};

/// The benchmark's CPU-bound endpoints on actix-web 4: `--workers` threads, each its own
/// current-thread runtime; a connection stays on the worker that accepted it.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    common::cli::exit_code(run())
}

/// The server's life, start to exit status; an error ends it through `main`.
fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // Before any thread starts (common::placement).
    cli.server.prepare_process()?;
    let workers = cli.server.workers();
    // actix-server panics past this; refuse it like any bad flag (clap's exit status 2).
    if workers > ACTIX_MAX_WORKERS {
        common::cli::usage_error::<Cli>(format!(
            "--workers {workers}: actix-web runs at most {ACTIX_MAX_WORKERS} workers"
        ));
    }
    let requested = cli.server.blocking_threads.map(|n| n.get());
    let Some(pool) = BlockingPool::new(workers, requested, common::cli::cores()) else {
        common::cli::usage_error::<Cli>(format!(
            "--blocking-threads {} with --workers {workers}: actix-web gives each worker a \
             blocking pool of its own, of at least one thread, so the total cannot be below the \
             number of workers",
            requested.unwrap_or_default()
        ));
    };
    let info = RuntimeInfo {
        kind: RuntimeKind::Actix,
        framework: "actix-web",
        executor_threads: workers,
        blocking_threads_max: pool.total,
        header_read_timeout: cli.server.header_timeout(),
    };
    let limits = cli.server.limits_or_exit::<Cli>(common::kernel::KERNELS);
    let app = App::new(info, limits).context("cannot start the server")?;
    let listener = std::net::TcpListener::bind(cli.server.bind)
        .with_context(|| format!("cannot listen on {}", cli.server.bind))?;
    // The handler first, then the address: a SIGTERM sent the moment `listening on` is read
    // must find it (common::cli, "Start-up order").
    let signal = common::cli::termination_signal().context("cannot install the signal handler")?;
    let addr = listener.local_addr()?;
    let config = Config {
        workers,
        pool,
        shutdown_timeout: cli.server.shutdown_timeout,
    };
    // actix's System: the main thread runs the server's control future (and our stop
    // sequence); the workers start their own threads and runtimes.
    actix_web::rt::System::new().block_on(async {
        let stop = app.shutdown_on(signal, cli.server.shutdown_timeout);
        let server = server_actix_web::serve(listener, app.clone(), config, stop)
            .context("cannot start actix-web")?;
        common::cli::announce(addr, &info);
        server.await.context("server failed")
    })?;

    // The workers and their blocking pools are gone; background jobs were drained before
    // they stopped (server_actix_web::serve). This reports, and waits for `/jobs` on the CPU
    // pool.
    Ok(if app.finish_shutdown() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
