//! The benchmark's endpoints on tokio + axum.
//!
//! Only what is particular to tokio and axum lives here: the router, and how each strategy
//! runs on tokio (inline, `tokio::task::yield_now`, `spawn_blocking`, a detached
//! `spawn_blocking`, `block_in_place` on the multi-thread runtime). One router for both of
//! tokio's flavours: `main.rs` picks the runtime (`--flavor`). `/rayon` and `/jobs` use `common`'s CPU pool and `/bounded` its semaphore,
//! with tokio's blocking pool as the offload. Validation, bodies and accounting come from `common`.
//!
//! # Layout
//! - `lib.rs`: [`router`] (axum `Router` over `common::App`), [`run`] (the exhaustive match
//!   over strategies), [`serve`] (an accept loop serving each connection with hyper until a
//!   shutdown future resolves), [`WorkerBusy`] (tokio's own worker busy time, in `/lag`).
//! - [`start`]: the process: the command line (with `--flavor multi-thread|current-thread`),
//!   the runtime with explicit thread counts, the lag heartbeat spawned on it, signals; takes
//!   the kernel list, so a test can run the real server with a kernel of its own.
//! - `main.rs`: calls [`start::main`] with the shipped kernels; an error it returns is printed
//!   by `common::cli::exit_code` (one `error:` line, never a backtrace).

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use common::{App, Offloaded, Reply, Strategy, Work};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub mod start;

/// The application: one route per strategy (`POST /jobs`, GET for the rest), `/jobs/{id}`,
/// `/health`, `/stats`, `/lag`, `POST /lag/window`, `/openapi.json`, `/docs`, JSON 404 and 405.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route("/health", get(|| async { respond(Reply::health()) }))
        .route(
            "/stats",
            get(|State(app): State<Arc<App>>| async move { respond(app.stats()) }),
        )
        .route(
            "/lag",
            get(|State(app): State<Arc<App>>| async move { respond(app.lag()) }),
        )
        .route(
            "/lag/window",
            post(|State(app): State<Arc<App>>| async move { respond(app.close_lag_window()) }),
        )
        .route(
            "/openapi.json",
            get(|State(app): State<Arc<App>>| async move { respond(app.openapi()) }),
        )
        .route(
            "/docs",
            get(|State(app): State<Arc<App>>| async move { respond(app.docs()) }),
        );
    for strategy in Strategy::ALL {
        let handler = move |State(app): State<Arc<App>>, RawQuery(query): RawQuery| async move {
            let reply = app
                .handle(strategy, query.as_deref(), |work| run(&app, work))
                .await;
            respond(reply)
        };
        // One method per path: the job API creates a resource with POST, the rest are GETs.
        let method = match strategy.method() {
            "POST" => MethodFilter::POST,
            _ => MethodFilter::GET,
        };
        // A panic in the handler (an inline kernel's, say) would end the connection's task
        // with no answer: tower-http's layer answers it with the shared 500 naming the
        // strategy, and hyper keeps the connection.
        let catch = {
            let app = Arc::clone(&app);
            CatchPanicLayer::custom(move |_: Box<dyn Any + Send>| {
                respond(app.answer_panic(Some(strategy)))
            })
        };
        router = router.route(strategy.path(), on(method, handler).layer(catch));
    }
    let job_status = |State(app): State<Arc<App>>,
                      Path(id): Path<String>,
                      RawQuery(query): RawQuery| async move {
        respond(app.job_status(&id, query.as_deref()).await)
    };
    router = router.route("/jobs/{id}", get(job_status));
    let queue_status = |State(app): State<Arc<App>>,
                        Path(id): Path<String>,
                        RawQuery(query): RawQuery| async move {
        respond(app.queue_status(&id, query.as_deref()).await)
    };
    router = router.route("/queue/{id}", get(queue_status));
    // Every other endpoint: the same 500, without a strategy.
    let catch = {
        let app = Arc::clone(&app);
        CatchPanicLayer::custom(move |_: Box<dyn Any + Send>| respond(app.answer_panic(None)))
    };
    router
        .fallback(|uri: Uri| async move { respond(Reply::not_found(uri.path())) })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            respond(Reply::method_not_allowed(method.as_str(), uri.path()))
        })
        .layer(catch)
        .with_state(app)
}

/// Runs validated work the way each strategy asks, on tokio.
pub async fn run(app: &App, work: Work) -> Reply {
    match work.strategy {
        // Inline: the kernel occupies this worker thread until it is done.
        Strategy::Generator | Strategy::Cycle => work.run(),
        // tokio's yield_now defers the wake-up until the scheduler has polled other tasks
        // and the IO driver, so other requests get a turn between slices.
        Strategy::CycleSleep => work.run_yielding(tokio::task::yield_now).await,
        // Measured, and a panic answered 500, by `common` around the closure.
        Strategy::Thread => app.run_offloaded(work, offload).await,
        Strategy::Background => match app.accept_background(work) {
            Ok((job, accepted)) => {
                // Dropping a tokio JoinHandle detaches the task: it runs to completion.
                drop(tokio::task::spawn_blocking(move || job.run()));
                accepted
            }
            Err(rejected) => rejected,
        },
        // Runtime-agnostic: rayon threads, awaited through a channel.
        Strategy::Rayon => app.run_on_cpu_pool(work).await,
        // Runtime-agnostic too: moka's cache in front of the same pool (common::cache).
        Strategy::Cached => app.run_cached(work).await,
        // Wait for one of `cores` permits without holding this thread, then offload.
        Strategy::Bounded => app.run_bounded(work, offload).await,
        Strategy::Jobs => app.submit_job(work),
        // The broker bridge (common::broker) runs on its own thread: awaited like a channel.
        Strategy::Queue => app.submit_queued(work).await,
        // The worker hands its core (run queue, IO and timer duties) to a new thread, then
        // runs the kernel on this one. App::handle answers 501 on a current-thread runtime,
        // where block_in_place panics; checked again here rather than trusted.
        Strategy::BlockInPlace => match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(move || {
                    // No longer the executor while the kernel runs: named for what it does, so
                    // its CPU is not counted as the executor's (common::threads). The next
                    // handler it polls as a worker again names it back.
                    common::threads::ThreadRole::Blocking.take();
                    work.run()
                })
            }
            _ => app.not_supported(work.strategy),
        },
    }
}

/// Runs `f` on tokio's blocking pool (`spawn_blocking`) and awaits it. `common` has caught a
/// panic inside `f` already; a `JoinError` is left only for a task cancelled by the runtime
/// shutting down.
async fn offload(f: Offloaded) -> Reply {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Reply::internal(format!("blocking task failed: {e}")))
}

/// Serves `listener` until `shutdown` resolves; then stops accepting, asks open connections to
/// close after their current request, and returns once they have.
///
/// Why not `axum::serve`: it gives hyper no timer, so it has no header-read timeout, and a
/// client that never finishes its headers holds a connection (and a task) forever. This is
/// the loop axum's own "serve-with-hyper" example shows, with hyper's `header_read_timeout` and
/// hyper-util's `GracefulShutdown` (what `axum::serve(..).with_graceful_shutdown` does inside).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = app.info().header_read_timeout;
    let router = router(Arc::clone(&app));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            // Accept first: connections already waiting in the backlog when the signal comes
            // are served, not reset (smol's and tide's loops poll accept first too).
            biased;
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    eprintln!("warning: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        // Answer small requests at once rather than wait for the client's delayed ACK (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("warning: cannot set TCP_NODELAY: {e}");
        }
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Client-side resets and timeouts end up here; nothing to do about them.
            let _ = connection.await;
        });
    }
    drop(listener);
    // Let requests on connections already accepted reach their handler before hyper closes
    // the connections it sees as idle.
    app.settle(tokio::time::sleep).await;
    graceful.shutdown().await;
    Ok(())
}

fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(reply.content_type),
        )],
        reply.body,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Some(secs) = reply.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    // axum adds its own `Allow` to a 405 only where none is set: ours, the same on every server.
    if let Some(methods) = reply.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(methods));
    }
    response
}

/// tokio's own measure of its workers' busy time (`RuntimeMetrics::worker_total_busy_duration`,
/// stable API, no `tokio_unstable`), added to the `/lag` answer as its `tokio` section.
#[derive(Debug)]
pub struct WorkerBusy(pub tokio::runtime::RuntimeMetrics);

impl common::lag::WorkerBusy for WorkerBusy {
    fn busy(&self) -> Vec<Duration> {
        (0..self.0.num_workers())
            .map(|w| self.0.worker_total_busy_duration(w))
            .collect()
    }
}
