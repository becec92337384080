//! `server-async-std-tide`: the benchmark's endpoints on async-std + tide.
//!
//! Run with `cargo run --release -p server-async-std-tide -- --help`; serves on 127.0.0.1:8000 by default.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use common::{App, RuntimeInfo, RuntimeKind, ServerArgs};

/// The benchmark's CPU-bound endpoints on async-std 1.13 + tide 0.16 (both unmaintained upstream).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

/// async-h1 (tide's HTTP/1 codec) closes a connection whose headers take longer than this; its
/// `ServerOptions` offer no way to change it.
const ASYNC_H1_HEADER_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    common::cli::exit_code(run())
}

/// The server's life, start to exit status; an error ends it through `main`.
fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // Before any thread starts (common::placement).
    cli.server.prepare_process()?;
    if let Some(t) = cli
        .server
        .header_timeout
        .filter(|t| *t != ASYNC_H1_HEADER_TIMEOUT)
    {
        anyhow::bail!(
            "--header-timeout {t:?}: tide's HTTP codec (async-h1) fixes it at {ASYNC_H1_HEADER_TIMEOUT:?}"
        );
    }
    let info = RuntimeInfo {
        kind: RuntimeKind::AsyncStd,
        framework: "tide",
        executor_threads: configure_executor(cli.server.workers()),
        blocking_threads_max: configure_blocking_pool(cli.server.blocking_threads),
        header_read_timeout: ASYNC_H1_HEADER_TIMEOUT,
    };
    let limits = cli.server.limits_or_exit::<Cli>(common::kernel::KERNELS);
    let app = App::new(info, limits).context("cannot start the server")?;
    let listener = std::net::TcpListener::bind(cli.server.bind)
        .with_context(|| format!("cannot listen on {}", cli.server.bind))?;
    // The handler first, then the address: a SIGTERM sent the moment `listening on` is read
    // must find it (common::cli, "Start-up order").
    let signal = common::cli::termination_signal().context("cannot install the signal handler")?;
    common::cli::announce(listener.local_addr()?, &info);
    let stop = app.shutdown_on(signal, cli.server.shutdown_timeout);
    // The lag heartbeat is a task like any request's, woken by async-std's own timer.
    if let Some(heartbeat) = app.lag_monitor().heartbeat(async_std::task::sleep) {
        // Dropping an async-std JoinHandle detaches the task.
        drop(async_std::task::spawn(heartbeat));
    }

    // Spawned rather than run by block_on (which polls on the calling thread), so that
    // accepting runs on the executor threads like every request.
    async_std::task::block_on(async_std::task::spawn(server_async_std_tide::serve(
        listener,
        app.clone(),
        stop,
    )))
    .context("server failed")?;

    let clean = app.finish_shutdown();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Sizes async-std's global executor before its first use and returns the thread count in
/// force. async-std reads ASYNC_STD_THREAD_COUNT at first use (and silently ignores a bad value);
/// initialising async-global-executor first, with the same variable, makes `--workers` the
/// default and keeps the variable's documented meaning, and the value is computed the way the
/// executor computes it, so /stats reports what really runs.
fn configure_executor(workers: usize) -> usize {
    const VAR: &str = "ASYNC_STD_THREAD_COUNT";
    async_global_executor::init_with_config(
        async_global_executor::GlobalExecutorConfig::default()
            .with_env_var(VAR)
            .with_min_threads(workers)
            .with_max_threads(workers)
            // The executor's role name (common::threads::ThreadRole), read back from /proc.
            .with_thread_name_fn(|| common::threads::ThreadRole::Executor.prefix().to_owned()),
    );
    match std::env::var(VAR)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) => {
            eprintln!("warning: {VAR}={n} overrides --workers {workers}");
            n.max(1)
        }
        None => workers,
    }
}

/// Caps the `blocking` crate's pool (async-std's spawn_blocking) and returns the cap in force.
fn configure_blocking_pool(requested: Option<NonZeroUsize>) -> usize {
    match requested {
        Some(n) => {
            blocking::set_max_blocking_threads(n);
            n.get()
        }
        None => common::cli::blocking_crate_default_cap(
            std::env::var("BLOCKING_MAX_THREADS").ok().as_deref(),
        ),
    }
}
