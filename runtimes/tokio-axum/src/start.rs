//! The process around the server: the command line, the runtime with explicit thread counts,
//! the lag heartbeat, signals, the exit status. In the library rather than in `main.rs` so
//! that a program (a test, say) can run the real server with a kernel list of its own:
//! `main.rs` passes the shipped [`common::kernel::KERNELS`]. It is the binary's `main`, so it
//! reports with `anyhow` like one; `main.rs` prints an error with `common::cli::exit_code`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use common::kernel::Kernel;
use common::{App, RuntimeInfo, RuntimeKind, ServerArgs};
use tokio::net::TcpListener;

/// tokio's default cap of the blocking pool (`Builder::max_blocking_threads`).
const TOKIO_DEFAULT_BLOCKING_THREADS: usize = 512;

/// The benchmark's CPU-bound endpoints on tokio (multi-threaded runtime) + axum 0.8.
#[derive(Debug, Parser)]
#[command(name = "server-tokio-axum", version, about)]
pub struct Cli {
    /// The options every server shares.
    #[command(flatten)]
    pub server: ServerArgs,

    /// tokio's runtime: `multi-thread` (--workers threads, work stealing, block_in_place) or
    /// `current-thread` (one thread runs tasks, timers and IO; --workers must be 1, and
    /// /block_in_place answers 501).
    #[arg(long, value_enum, default_value_t = Flavor::MultiThread)]
    pub flavor: Flavor,
}

/// `--flavor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Flavor {
    /// `Builder::new_multi_thread`.
    MultiThread,
    /// `Builder::new_current_thread`.
    CurrentThread,
}

/// Runs the server the process's command line describes, with `--kernel` looked up in
/// `kernels`; returns the exit status (exits 2 itself on a bad command line).
pub fn main(kernels: &[&'static dyn Kernel]) -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let limits = cli.server.limits_or_exit::<Cli>(kernels);
    // Before any thread starts (common::placement).
    cli.server.prepare_process()?;
    let blocking = cli
        .server
        .blocking_threads
        .map_or(TOKIO_DEFAULT_BLOCKING_THREADS, |n| n.get());
    let (mut builder, workers, kind) = match cli.flavor {
        Flavor::MultiThread => {
            let workers = cli.server.workers();
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            // worker_threads() wins over TOKIO_WORKER_THREADS, so what /stats reports is what
            // runs.
            builder.worker_threads(workers);
            (builder, workers, RuntimeKind::TokioMultiThread)
        }
        Flavor::CurrentThread => {
            // One thread by construction: a --workers that asks for more would be a lie in
            // /stats, so it is refused like any bad flag (clap's exit status 2).
            if let Some(w) = cli.server.workers.filter(|w| w.get() != 1) {
                common::cli::usage_error::<Cli>(format!(
                    "--workers {w} with --flavor current-thread: that runtime has exactly one \
                     thread (use --workers 1, or --flavor multi-thread)"
                ));
            }
            let builder = tokio::runtime::Builder::new_current_thread();
            (builder, 1, RuntimeKind::TokioCurrentThread)
        }
    };
    let runtime = builder
        // Workers and blocking threads alike start as `exec` (tokio names both pools' threads
        // with one name); a blocking thread is renamed `blocking` by the first closure of ours
        // it runs (common::threads::ThreadRole).
        .thread_name(common::threads::ThreadRole::Executor.prefix())
        .max_blocking_threads(blocking)
        .enable_all()
        .build()
        .context("cannot build the tokio runtime")?;
    let info = RuntimeInfo {
        kind,
        framework: "axum",
        executor_threads: workers,
        blocking_threads_max: blocking,
        header_read_timeout: cli.server.header_timeout(),
    };
    let app = App::new(info, limits).context("cannot start the server")?;
    app.lag_monitor()
        .report_worker_busy(crate::WorkerBusy(runtime.metrics()));

    if kind == RuntimeKind::TokioCurrentThread {
        // This thread is the runtime's one thread (common::threads::ThreadRole).
        common::threads::ThreadRole::Executor.take();
    }
    runtime.block_on(async {
        let listener = TcpListener::bind(cli.server.bind)
            .await
            .with_context(|| format!("cannot listen on {}", cli.server.bind))?;
        // Handlers first, then the address: a SIGTERM sent the moment `listening on` is read
        // must find them (common::cli, "Start-up order").
        let signal = shutdown_signal().context("cannot install the signal handlers")?;
        common::cli::announce(listener.local_addr()?, &info);
        let stop = app.shutdown_on(signal, cli.server.shutdown_timeout);
        // The lag heartbeat is a task like any request's, woken by tokio's own timer.
        if let Some(heartbeat) = app.lag_monitor().heartbeat(tokio::time::sleep) {
            tokio::spawn(heartbeat);
        }
        // Spawned rather than driven by block_on (which polls on the main thread), so that
        // accepting runs on the worker threads like every request: with --workers 1 a busy
        // worker holds up new connections too, as in a single event loop. (On current-thread
        // the main thread is the one worker: block_on runs the spawned task there too.)
        tokio::spawn(crate::serve(listener, app.clone(), stop))
            .await
            .context("server task panicked")?
            .context("server failed")
    })?;

    // Background jobs are detached blocking tasks: wait for them here, then drop the runtime
    // without waiting again (shutdown_background), so a straggler cannot hang the exit.
    let clean = app.finish_shutdown();
    runtime.shutdown_background();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM. Both handlers are registered here, when
/// this is called, not when the future is first polled (as `tokio::signal::ctrl_c()` would):
/// call it inside the runtime before announcing the address.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}
