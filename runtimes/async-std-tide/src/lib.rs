//! The benchmark's endpoints on async-std + tide.
//!
//! Both crates are unmaintained upstream (async-std is discontinued in favour of smol,
//! RUSTSEC-2025-0052; tide: RUSTSEC-2026-0170). They are here because they are still what many
//! codebases and tutorials run, and the comparison asks for them.
//!
//! Only what is particular to async-std and tide lives here: tide's router and middleware, and
//! how each strategy runs on async-std (inline, `async_std::task::yield_now`,
//! `async_std::task::spawn_blocking`, a detached `spawn_blocking`). `/rayon` and `/jobs` use
//! `common`'s CPU pool and `/bounded` its semaphore, with async-std's blocking pool as the offload.
//!
//! # Layout
//! - `lib.rs`: [`router`] (tide `Server` over `common::App`), [`run`] (the exhaustive match
//!   over strategies), [`serve`] (a listener until a shutdown future resolves).
//! - `main.rs`: the command line, the global executor's and blocking pool's thread counts,
//!   the lag heartbeat spawned on it, signals, and the shutdown tide lacks.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use common::{App, Offloaded, Reply, Strategy, Work};
use futures_lite::FutureExt as _;
use tide::http::Method;
use tide::{Middleware, Next, Request, Response};

type State = Arc<App>;

/// The application: one route per strategy (`POST /jobs`, GET for the rest), `/jobs/:id`,
/// `/health`, `/stats`, `/lag`, `POST /lag/window`, `/openapi.json`, `/docs`, JSON 404 and 405.
pub fn router(app: Arc<App>) -> tide::Server<State> {
    let mut server = tide::with_state(app);
    // Outermost, so that a panic anywhere below (a handler, the other middleware) is answered.
    server.with(CatchPanics);
    server.with(JsonRoutingErrors);
    server
        .at("/health")
        .get(|_| async { Ok(respond(Reply::health())) });
    server
        .at("/stats")
        .get(|req: Request<State>| async move { Ok(respond(req.state().stats())) });
    server
        .at("/lag")
        .get(|req: Request<State>| async move { Ok(respond(req.state().lag())) });
    server
        .at("/lag/window")
        .post(|req: Request<State>| async move { Ok(respond(req.state().close_lag_window())) });
    server
        .at("/openapi.json")
        .get(|req: Request<State>| async move { Ok(respond(req.state().openapi())) });
    server
        .at("/docs")
        .get(|req: Request<State>| async move { Ok(respond(req.state().docs())) });
    for strategy in Strategy::ALL {
        let handler = move |req: Request<State>| async move {
            let app = Arc::clone(req.state());
            let reply = app
                .handle(strategy, req.url().query(), |work| run(&app, work))
                .await;
            Ok(respond(reply))
        };
        // One method per path: the job API creates a resource with POST, the rest are GETs.
        let method = match strategy.method() {
            "POST" => Method::Post,
            _ => Method::Get,
        };
        server.at(strategy.path()).method(method, handler);
    }
    server
        .at("/jobs/:id")
        .get(|req: Request<State>| async move {
            let id = req.param("id")?;
            Ok(respond(req.state().job_status(id, req.url().query()).await))
        });
    server
        .at("/queue/:id")
        .get(|req: Request<State>| async move {
            let id = req.param("id")?;
            Ok(respond(
                req.state().queue_status(id, req.url().query()).await,
            ))
        });
    server
}

/// Runs validated work the way each strategy asks, on async-std.
pub async fn run(app: &App, work: Work) -> Reply {
    match work.strategy {
        // Inline: the kernel occupies this executor thread until it is done.
        Strategy::Generator | Strategy::Cycle => work.run(),
        // Wakes itself and returns Pending once: the task goes to the back of the queue.
        Strategy::CycleSleep => work.run_yielding(async_std::task::yield_now).await,
        // Measured, and a panic answered 500, by `common` around the closure.
        Strategy::Thread => app.run_offloaded(work, offload).await,
        Strategy::Background => match app.accept_background(work) {
            Ok((job, accepted)) => {
                // Dropping an async-std JoinHandle detaches the task: it runs to completion.
                drop(async_std::task::spawn_blocking(move || job.run()));
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

/// Runs `f` on async-std's blocking pool and awaits it. It is the `blocking` crate's pool (the
/// one smol's `unblock` uses). A panic there would be re-raised here, at the `.await`, and
/// tide does not catch it: the connection would close with no answer. `common` catches it
/// inside `f` and answers 500 instead.
async fn offload(f: Offloaded) -> Reply {
    async_std::task::spawn_blocking(f).await
}

/// Serves `listener` until `shutdown` resolves, then stops accepting.
///
/// The accept loop is tide's own (`tide::listener::TcpListener`: each connection a detached
/// task running `async_h1::accept` over `Server::respond`), written out for two reasons:
/// - TCP_NODELAY. async-h1 writes a response's head and body separately; under Nagle's
///   algorithm the second small write waits for the client's delayed ACK, and every request
///   after the first on a keep-alive connection came back ~40 ms late.
/// - Stopping. tide has no graceful shutdown (the pull request for it was never merged) and
///   `listen` runs forever. Here accepting races the stop signal, then `App::settle` waits for
///   the requests already sent to be answered, and `App::finish_in_flight` for long ones still
///   running. Unlike axum and hyper, idle keep-alive
///   connections are not told to close: a request sent on one after the signal may still be
///   served, until the process exits.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = router(Arc::clone(&app));
    let listener = async_std::net::TcpListener::from(listener);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
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
                async_std::task::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("warning: cannot set TCP_NODELAY: {e}");
        }
        let server = server.clone();
        // Dropping an async-std JoinHandle detaches the task.
        drop(async_std::task::spawn(async move {
            // Client-side resets and async-h1's 60 s header timeout end up here.
            let _ = async_h1::accept(stream, |req| server.respond(req)).await;
        }));
    }
    drop(listener);
    // Connections stay open (tide cannot close them); what can be done is to let requests
    // already sent reach their handler and their responses be written before `main` exits,
    // and to finish those still running (nothing else waits for them here).
    app.settle(async_std::task::sleep).await;
    app.finish_in_flight(async_std::task::sleep).await;
    Ok(())
}

fn respond(reply: Reply) -> Response {
    let mut response = Response::builder(reply.status).body(reply.body).build();
    // After the body, which would set its own (text/plain) type.
    response.insert_header("Content-Type", reply.content_type);
    if let Some(secs) = reply.retry_after {
        response.insert_header("Retry-After", secs.to_string());
    }
    if let Some(methods) = reply.allow {
        response.insert_header("Allow", methods);
    }
    response
}

/// tide's router answers unknown paths (404) and wrong methods (405) with empty bodies; this
/// gives them the JSON bodies every server shares. Only empty ones: the job APIs' own 404 (an
/// unknown or expired id) has its body, which must reach the client as it is.
#[derive(Debug)]
struct JsonRoutingErrors;

#[tide::utils::async_trait]
impl Middleware<State> for JsonRoutingErrors {
    async fn handle(&self, req: Request<State>, next: Next<'_, State>) -> tide::Result {
        let method = req.method();
        let path = req.url().path().to_owned();
        let response = next.run(req).await;
        if response.is_empty() == Some(false) {
            return Ok(response);
        }
        Ok(match u16::from(response.status()) {
            404 => respond(Reply::not_found(&path)),
            405 => respond(Reply::method_not_allowed(method.as_ref(), &path)),
            _ => response,
        })
    }
}

/// A panic in a handler (an inline kernel's, say) answered 500 with the shared body naming the
/// strategy, counted in `/stats`. tide has no panic catcher of its own, but its middleware wraps
/// the whole request: without this the panic unwound out of the connection's task and the
/// connection closed with no answer. Answered, async-h1 keeps the connection.
#[derive(Debug)]
struct CatchPanics;

#[tide::utils::async_trait]
impl Middleware<State> for CatchPanics {
    async fn handle(&self, req: Request<State>, next: Next<'_, State>) -> tide::Result {
        let method = req.method();
        let path = req.url().path().to_owned();
        let app = Arc::clone(req.state());
        // AssertUnwindSafe: after a panic nothing the handler held is used again but `App`'s
        // counters (atomics) and its in-flight count, released by its guard as it unwound.
        match AssertUnwindSafe(next.run(req)).catch_unwind().await {
            Ok(response) => Ok(response),
            Err(_) => Ok(respond(app.answer_panic_at(method.as_ref(), &path))),
        }
    }
}
