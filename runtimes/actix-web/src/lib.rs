//! The benchmark's endpoints on actix-web 4: thread-per-core, no work stealing.
//!
//! actix-web's `HttpServer` starts `--workers` worker threads, each running its own
//! current-thread tokio runtime, and one accept thread that hands each new connection to a
//! worker in turn (round robin, skipping a worker only when it holds its maximum of
//! connections, never because it is busy). A connection then stays on that worker for its
//! whole life, and no worker runs another's tasks. Two consequences the other servers do not
//! have, tested in `tests/actix_differs.rs`:
//! - A worker blocked by inline work holds up every request on *its* connections, keep-alive
//!   ones included, while another worker may be idle; on a work-stealing runtime an idle worker
//!   would take those connections' tasks.
//! - Accepting never waits for a worker: the accept thread is not a worker. With one busy
//!   worker, a new connection is accepted at once and its request waits in that worker's queue
//!   (on the others, with `--workers 1`, the connection waits in the listen backlog instead);
//!   to a client the wait is the same.
//!
//! Only what is particular to actix-web lives here: routing (every request goes to one
//! handler that routes through `common::Route`, as the hyper server does: actix's router
//! would answer a wrong method with an empty 405 of its own, and `HEAD` not at all), and how
//! each strategy runs on actix: inline, `yield_now` of the tokio runtime each worker runs,
//! `web::block` (the worker runtime's blocking pool) for `/thread` and `/bounded`'s offload,
//! `web::block` not awaited for `/background`; `/rayon` and `/jobs` use `common`'s CPU pool.
//! Validation, bodies and accounting come from `common`.
//!
//! # Layout
//! - `lib.rs`: [`routes`] (the actix service over `common::App`), [`run`] (the exhaustive match
//!   over strategies), [`serve`] (`HttpServer` on a bound listener, `--workers`, the per-worker
//!   blocking pool, the header timeout, a lag heartbeat on each worker, and the graceful
//!   shutdown driven by our own signal), [`BlockingPool`] (how `--blocking-threads` maps onto
//!   actix's per-worker pools).
//! - `main.rs`: the command line (actix's limits on it refused with exit 2), actix's `System`,
//!   signals.
//!
//! # A lag heartbeat on every worker
//! Each worker is its own runtime, so a heartbeat measures the worker it runs on and no other.
//! Each worker therefore runs one of its own, a lane of the lag monitor (`common::lag`,
//! "Lanes"), spawned as the worker builds its services; `/lag` reports the worst worker's
//! figures in the window and which one it was (`lane`). On a work-stealing runtime one
//! heartbeat shows a stall only when *every* worker is held up; here the worst worker's shows a
//! stall of any one of them, which is what a client whose connection landed there waits for.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::KeepAlive;
use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, CONTENT_TYPE as CONTENT_TYPE_HEADER, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, HttpServer, web};
use common::{App, Offloaded, Reply, Route, Strategy, Work};
use futures_lite::FutureExt as _;

/// The blocking-pool size actix-web gives each worker when not told (actix-server's
/// `DEFAULT_BLOCKING_THREAD_BUDGET`, divided among the cores).
pub const ACTIX_BLOCKING_BUDGET: usize = 512;

/// actix-server refuses (panics on) more workers than this.
pub const ACTIX_MAX_WORKERS: usize = 512;

/// How `--blocking-threads` (a total, as on the other servers) maps onto actix's blocking
/// pools, of which each worker has its own (`HttpServer::worker_max_blocking_threads` counts
/// *per worker*): each gets `total / workers` threads (rounded down, so the total is never
/// passed), and a request offloads only to its own worker's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockingPool {
    /// Threads of each worker's pool.
    pub per_worker: usize,
    /// Configured total, as `/stats` reports it: `--blocking-threads`, or actix's default
    /// summed over the workers.
    pub total: usize,
}

impl BlockingPool {
    /// For `workers` workers and `--blocking-threads total` on a machine of `cores` cores:
    /// `None` when `total < workers` (one thread per worker is the least actix can have, so
    /// that cap cannot be kept).
    pub fn new(workers: usize, total: Option<usize>, cores: usize) -> Option<BlockingPool> {
        let workers = workers.max(1);
        match total {
            Some(total) => (total >= workers).then_some(BlockingPool {
                per_worker: total / workers,
                total,
            }),
            None => {
                let per_worker = (ACTIX_BLOCKING_BUDGET / cores.max(1)).max(1);
                Some(BlockingPool {
                    per_worker,
                    total: per_worker * workers,
                })
            }
        }
    }
}

/// The whole application as one actix service: every request goes to one handler that routes
/// through `common::Route` (JSON 404 and 405 as on every server, `HEAD` like `GET`).
pub fn routes(app: Arc<App>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(app))
            .default_service(web::to(dispatch));
    }
}

async fn dispatch(req: HttpRequest, app: web::Data<App>) -> HttpResponse {
    let path = req.path();
    let method = req.method().as_str();
    let query = req.uri().query();
    let reply = match Route::of(method, path) {
        Route::Strategy(strategy) => app.handle(strategy, query, |work| run(&app, work)).await,
        Route::JobStatus(id) => app.job_status(id, query).await,
        Route::QueueStatus(id) => app.queue_status(id, query).await,
        Route::Health => Reply::health(),
        Route::Stats => app.stats(),
        Route::Lag => app.lag(),
        Route::LagWindow => app.close_lag_window(),
        Route::OpenApi => app.openapi(),
        Route::Docs => app.docs(),
        Route::MethodNotAllowed => Reply::method_not_allowed(method, path),
        Route::NotFound => Reply::not_found(path),
    };
    respond(reply)
}

/// A panic in a handler (an inline kernel's, say) answered 500 with the shared body naming the
/// strategy, counted in `/stats`. actix-web has no panic catcher of its own (a panic ends the
/// connection's task on the worker's runtime: no answer, connection closed); its middleware
/// (`from_fn`) wraps each request's service call, so the catch goes there and the dispatcher
/// sees an ordinary response and keeps the connection.
async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request = req.request().clone();
    // AssertUnwindSafe: after a panic nothing the handler held is used again but `App`'s
    // counters (atomics) and its in-flight count, released by its guard as it unwound. The
    // call is made inside the caught future, so a panic before its first await is caught too.
    let called = AssertUnwindSafe(async move { next.call(req).await })
        .catch_unwind()
        .await;
    match called {
        Ok(response) => response.map(ServiceResponse::map_into_boxed_body),
        Err(_) => {
            let reply = match request.app_data::<web::Data<App>>() {
                Some(app) => app.answer_panic_at(request.method().as_str(), request.path()),
                // Not reached (routes() registers the App), but the body is the same anyway.
                None => Reply::handler_panicked(None),
            };
            Ok(ServiceResponse::new(request, respond(reply)).map_into_boxed_body())
        }
    }
}

/// Runs validated work the way each strategy asks, on the actix worker that has the
/// connection.
pub async fn run(app: &App, work: Work) -> Reply {
    match work.strategy {
        // Inline: the kernel occupies this worker, and every connection it holds, until done.
        Strategy::Generator | Strategy::Cycle => work.run(),
        // actix-rt is tokio: each worker a current-thread runtime, so tokio's yield_now, which
        // lets the worker poll its other tasks and its IO driver between slices.
        Strategy::CycleSleep => work.run_yielding(actix_web::rt::task::yield_now).await,
        // Measured, and a panic answered 500, by `common` around the closure.
        Strategy::Thread => app.run_offloaded(work, offload).await,
        Strategy::Background => match app.accept_background(work) {
            Ok((job, accepted)) => {
                // `web::block` calls tokio's spawn_blocking before it returns its future, so
                // the job is started here; dropping the future drops tokio's JoinHandle, which
                // detaches the task: it runs to completion. No `actix_rt::spawn` needed to
                // keep it alive, and nothing is left on the worker's own task queue.
                drop(web::block(move || job.run()));
                accepted
            }
            Err(rejected) => rejected,
        },
        // Runtime-agnostic: rayon threads, awaited through a channel.
        Strategy::Rayon => app.run_on_cpu_pool(work).await,
        // Runtime-agnostic too: moka's cache in front of the same pool (common::cache).
        Strategy::Cached => app.run_cached(work).await,
        // Wait for one of `cores` permits without holding this worker, then offload.
        Strategy::Bounded => app.run_bounded(work, offload).await,
        Strategy::Jobs => app.submit_job(work),
        // The broker bridge (common::broker) runs on its own thread: awaited like a channel.
        Strategy::Queue => app.submit_queued(work).await,
        // block_in_place panics on a current-thread runtime, which each actix worker is
        // (common::Strategy::supported_on): App::handle has answered the 501.
        Strategy::BlockInPlace => app.not_supported(work.strategy),
    }
}

/// Runs `f` on this worker's blocking pool (`web::block`, tokio's `spawn_blocking` on the
/// worker's runtime) and awaits it. `common` has caught a panic inside `f` already; a
/// `BlockingError` is left only for a task cancelled by the worker's runtime shutting down.
async fn offload(f: Offloaded) -> Reply {
    web::block(f)
        .await
        .unwrap_or_else(|e| Reply::internal(format!("blocking task failed: {e}")))
}

fn respond(reply: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((CONTENT_TYPE_HEADER, reply.content_type));
    if let Some(secs) = reply.retry_after {
        response.insert_header((RETRY_AFTER, secs));
    }
    if let Some(methods) = reply.allow {
        response.insert_header((ALLOW, methods));
    }
    response.body(reply.body)
}

/// How [`serve`] sets actix-web up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `HttpServer::workers` (`--workers`).
    pub workers: usize,
    /// The blocking pools (`--blocking-threads`).
    pub pool: BlockingPool,
    /// `--shutdown-timeout`.
    pub shutdown_timeout: Duration,
}

/// Starts actix-web on `listener` as `config` says, and
/// returns the running server. Call it inside an actix `System` (or a tokio runtime); await
/// the server to run it. `shutdown` resolving starts the graceful shutdown:
/// 1. stop accepting (`ServerHandle::pause`);
/// 2. let requests on connections already accepted reach their handler (`App::settle`), and
///    accepted background jobs finish (`App::drain_background`): they run on the workers'
///    blocking pools, which end with the workers;
/// 3. `ServerHandle::stop(true)`: actix's own graceful stop, which closes idle keep-alive
///    connections, lets each worker finish its in-flight requests for up to `--shutdown-timeout`,
///    then ends the workers.
///
/// actix's own signal handling is off (`disable_signals`): the stop comes from `shutdown`, our
/// common termination signal, as on the other servers.
pub fn serve(
    listener: std::net::TcpListener,
    app: Arc<App>,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<Server> {
    let info = app.info();
    let next_lane = Arc::new(AtomicUsize::new(0));
    let factory_app = Arc::clone(&app);
    let server = HttpServer::new(move || {
        // Called once per worker, on that worker's thread and runtime: each worker runs a
        // heartbeat of its own, one lane of the lag monitor (see the crate docs), and its
        // thread takes the executor's name (common::threads::ThreadRole).
        common::threads::ThreadRole::Executor.take();
        let lane = next_lane.fetch_add(1, Ordering::SeqCst);
        if let Some(heartbeat) = factory_app
            .lag_monitor()
            .heartbeat_on(lane, actix_web::rt::time::sleep)
        {
            actix_web::rt::spawn(heartbeat);
        }
        actix_web::App::new()
            .wrap(actix_web::middleware::from_fn(catch_panics))
            .configure(routes(Arc::clone(&factory_app)))
    })
    .workers(config.workers)
    .worker_max_blocking_threads(config.pool.per_worker)
    .client_request_timeout(info.header_read_timeout)
    // No idle timeout on keep-alive connections, as hyper (the other servers) has none: a
    // client's pooled connection is not closed under it between batches. The graceful
    // shutdown closes idle ones.
    .keep_alive(KeepAlive::Os)
    .tcp_nodelay(true)
    .disable_signals()
    // The longest actix waits for in-flight requests at stop(true); our watchdog
    // (App::shutdown_on) enforces the same deadline for the whole shutdown.
    .shutdown_timeout(whole_seconds(config.shutdown_timeout))
    .listen(listener)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
        handle.pause().await;
        // Until quiet with nothing in flight (or the deadline), not merely until settle's own
        // limit: connections the accept thread dealt to a worker still busy with inline work
        // wait in that worker's queue, and a worker told to stop drops that queue unserved
        // (actix-server's `WorkerState::Shutdown`: the clients see a reset). They are served
        // only once the worker's handler returns, so the stop must come after that.
        let sleep = actix_web::rt::time::sleep;
        while app.settle(sleep).await > 0 {
            if app.finish_in_flight(sleep).await > 0 {
                break; // The shutdown deadline: what is left is reported as abandoned.
            }
        }
        app.drain_background(sleep).await;
        handle.stop(true).await;
    });
    Ok(server)
}

/// `t` in whole seconds, rounded up (actix counts the shutdown timeout in seconds).
fn whole_seconds(t: Duration) -> u64 {
    t.as_secs() + u64::from(t.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_threads_are_split_among_workers_without_passing_the_total() {
        let pool = |w, t| BlockingPool::new(w, t, 2);
        assert_eq!(
            pool(2, Some(3)),
            Some(BlockingPool {
                per_worker: 1,
                total: 3
            })
        );
        assert_eq!(pool(1, Some(7)).map(|p| p.per_worker), Some(7));
        assert_eq!(pool(4, Some(10)).map(|p| p.per_worker), Some(2));
        assert_eq!(pool(3, Some(2)), None, "fewer threads than workers");
        // actix's default: 512 / cores per worker.
        assert_eq!(
            pool(2, None),
            Some(BlockingPool {
                per_worker: 256,
                total: 512
            })
        );
        assert_eq!(
            BlockingPool::new(1, None, 1024).map(|p| p.per_worker),
            Some(1)
        );
    }
}
