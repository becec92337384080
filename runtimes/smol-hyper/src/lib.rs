//! The benchmark's endpoints on smol + hyper 1 (through the smol-hyper adapter crate).
//!
//! Only what is particular to smol and hyper lives here: a hand-written accept loop (hyper has
//! no router or server loop of its own), routing through `common::Route`, and how each strategy
//! runs on smol (inline, `smol::future::yield_now`, `smol::unblock`, a detached `unblock`).
//! `/rayon` and `/jobs` use `common`'s CPU pool and `/bounded` its semaphore, with `unblock` as
//! the offload.
//!
//! # Layout
//! - `lib.rs`: [`serve`] (accept loop + hyper connections + graceful shutdown), [`run`] (the
//!   exhaustive match over strategies).
//! - `main.rs`: the command line, an `Executor` run on exactly `--workers` threads (smol's
//!   global executor would give one), the lag heartbeat spawned on it, the blocking pool's
//!   cap, signals.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{App, Offloaded, Reply, Route, Strategy, Work};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::server::graceful::GracefulShutdown;
use smol::Executor;
use smol::future::FutureExt as _;
use smol::net::TcpListener;
use smol_hyper::rt::{FuturesIo, SmolTimer};

/// Accepts connections on `listener` and serves each as a task on `ex` until `shutdown`
/// resolves; then stops accepting, asks open connections to close after their current request
/// (hyper's graceful shutdown), and returns once they have.
pub async fn serve(
    ex: Arc<Executor<'static>>,
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) {
    let header_timeout = app.info().header_read_timeout;
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = smol::future::or(async { Some(listener.accept().await) }, async {
            shutdown.as_mut().await;
            None
        })
        .await;
        let stream = match accepted {
            None => break,
            Some(Ok((stream, _peer))) => stream,
            Some(Err(e)) => {
                // Out of file descriptors, say: back off instead of spinning.
                eprintln!("warning: accept failed: {e}");
                smol::Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Answer small requests at once rather than wait for the client's delayed ACK (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("warning: cannot set TCP_NODELAY: {e}");
        }
        let app = Arc::clone(&app);
        let service = service_fn(move |req| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Infallible>(handle_catching(&app, req).await) }
        });
        let connection = http1::Builder::new()
            .timer(SmolTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(FuturesIo::new(stream), service);
        let connection = graceful.watch(connection);
        // A smol Task is cancelled when dropped: detach it so the connection runs on.
        ex.spawn(async move {
            // Client-side resets and timeouts end up here; nothing to do about them.
            let _ = connection.await;
        })
        .detach();
    }
    drop(listener);
    // Let requests on connections already accepted reach their handler before hyper closes
    // the connections it sees as idle.
    app.settle(|d| async move {
        smol::Timer::after(d).await;
    })
    .await;
    graceful.shutdown().await;
}

/// Runs `f` on the `blocking` crate's pool (`smol::unblock`) and awaits it. A panic there would
/// be re-raised here, at the `.await`, and the executor would swallow it with the connection's
/// task: no answer. `common` catches it inside `f` and answers 500 instead.
async fn offload(f: Offloaded) -> Reply {
    smol::unblock(f).await
}

/// [`handle`], with a panic in it answered 500 (the shared body naming the strategy). hyper has
/// no panic catcher of its own: a panic would unwind out of the connection's task and the
/// executor would drop the connection with no answer. Caught around the request's future, the
/// response is an ordinary one and hyper keeps the connection open.
async fn handle_catching(app: &App, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    // AssertUnwindSafe: after a panic nothing the handler held is used again but `App`'s
    // counters (atomics) and its in-flight count, released by its guard as the panic unwound.
    match AssertUnwindSafe(handle(app, req)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => respond(app.answer_panic_at(method.as_str(), &path)),
    }
}

async fn handle(app: &App, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let reply = match Route::of(req.method().as_str(), path) {
        Route::Strategy(strategy) => {
            app.handle(strategy, req.uri().query(), |work| run(app, work))
                .await
        }
        Route::JobStatus(id) => app.job_status(id, req.uri().query()).await,
        Route::QueueStatus(id) => app.queue_status(id, req.uri().query()).await,
        Route::Health => Reply::health(),
        Route::Stats => app.stats(),
        Route::Lag => app.lag(),
        Route::LagWindow => app.close_lag_window(),
        Route::OpenApi => app.openapi(),
        Route::Docs => app.docs(),
        Route::MethodNotAllowed => Reply::method_not_allowed(req.method().as_str(), path),
        Route::NotFound => Reply::not_found(path),
    };
    respond(reply)
}

/// Runs validated work the way each strategy asks, on smol.
pub async fn run(app: &App, work: Work) -> Reply {
    match work.strategy {
        // Inline: the kernel occupies this executor thread until it is done.
        Strategy::Generator | Strategy::Cycle => work.run(),
        // futures-lite's yield_now: wakes itself and returns Pending once.
        Strategy::CycleSleep => work.run_yielding(smol::future::yield_now).await,
        // Measured, and a panic answered 500, by `common` around the closure.
        Strategy::Thread => app.run_offloaded(work, offload).await,
        Strategy::Background => match app.accept_background(work) {
            Ok((job, accepted)) => {
                // Dropping the Task would CANCEL the job: detach it.
                smol::unblock(move || job.run()).detach();
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
        // tokio's alone (common::Strategy::supported_on): App::handle has answered the 501.
        Strategy::BlockInPlace => app.not_supported(work.strategy),
    }
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(secs) = reply.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(methods) = reply.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(methods));
    }
    response
}
