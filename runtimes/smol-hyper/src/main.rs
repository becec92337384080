//! `server-smol-hyper`: the benchmark's endpoints on smol + hyper 1.
//!
//! Run with `cargo run --release -p server-smol-hyper -- --help`; serves on 127.0.0.1:8000 by default.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use common::threads::ThreadRole;
use common::{App, RuntimeInfo, RuntimeKind, ServerArgs};
use smol::Executor;

/// The benchmark's CPU-bound endpoints on smol 2 + hyper 1 (via smol-hyper).
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
    let info = RuntimeInfo {
        kind: RuntimeKind::Smol,
        framework: "hyper",
        executor_threads: workers,
        blocking_threads_max: configure_blocking_pool(cli.server.blocking_threads),
        header_read_timeout: cli.server.header_timeout(),
    };
    let limits = cli.server.limits_or_exit::<Cli>(common::kernel::KERNELS);
    let app = App::new(info, limits).context("cannot start the server")?;
    let listener = std::net::TcpListener::bind(cli.server.bind)
        .with_context(|| format!("cannot listen on {}", cli.server.bind))?;
    let addr = listener.local_addr()?;
    let listener =
        smol::net::TcpListener::try_from(listener).context("cannot register the listener")?;
    // Before announcing the address (common::cli, "Start-up order").
    let signal = common::cli::termination_signal().context("cannot install the signal handler")?;
    let stop = app.shutdown_on(signal, cli.server.shutdown_timeout);

    // smol's global executor (smol::spawn) runs on one thread unless SMOL_THREADS says
    // otherwise; our own Executor, run by exactly `workers` threads, makes --workers real.
    // This thread is one of them; the others run until `stop_workers` is dropped.
    let ex = Arc::new(Executor::new());
    ThreadRole::Executor.take();
    let (stop_workers, workers_stop) = smol::channel::bounded::<()>(1);
    let threads = (1..workers)
        .map(|i| {
            let (ex, workers_stop) = (Arc::clone(&ex), workers_stop.clone());
            std::thread::Builder::new()
                // The executor's role name (common::threads::ThreadRole), read back from /proc.
                .name(format!("{}-{i}", ThreadRole::Executor.prefix()))
                .spawn(move || smol::block_on(ex.run(workers_stop.recv())))
                .context("cannot start an executor thread")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The lag heartbeat is a task on the same Executor as every request, woken by smol's timer.
    // Dropping a smol Task cancels it: detach.
    if let Some(heartbeat) = app.lag_monitor().heartbeat(|d| async move {
        smol::Timer::after(d).await;
    }) {
        ex.spawn(heartbeat).detach();
    }
    common::cli::announce(addr, &info);
    let server = ex.spawn(server_smol_hyper::serve(
        Arc::clone(&ex),
        listener,
        app.clone(),
        stop,
    ));
    smol::block_on(ex.run(server));
    drop(stop_workers);
    for thread in threads {
        let _ = thread.join();
    }

    let clean = app.finish_shutdown();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Caps the `blocking` crate's pool (smol's unblock) and returns the cap in force.
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
