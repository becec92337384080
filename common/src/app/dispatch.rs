//! What a server's handlers call, endpoint by endpoint. [`App::handle`] is around every
//! strategy request: validation (400), the support table (501), the count of its answer; the
//! closure a server passes it runs the [`Work`] with one of the runners below, each written
//! once for every runtime: the CPU pool (`/rayon`), the runtime's blocking pool through its
//! `offload` function (`/thread`, and `/bounded` behind the gate), the job store (`/jobs`),
//! the broker (`/queue`). The 500 of a handler that panicked, and the replies of the other
//! endpoints, are here too. Background jobs are `admission.rs`'s.

use std::future::Future;
use std::sync::Arc;

use super::work::micros;
use super::{App, Work};
use crate::cache::Answer;
use crate::jobs::JobStatus;
use crate::lag::LagMonitor;
use crate::offload::Panicked;
use crate::params;
use crate::reply::Reply;
use crate::strategy::Strategy;

/// A closure for a blocking pool, built by [`App`] (a panic in it already caught): what a
/// server's `offload` function receives, runs on its pool and awaits.
pub type Offloaded = Box<dyn FnOnce() -> Reply + Send>;

impl App {
    /// Validates `query` for `strategy`, runs `run` on the result, and counts the outcome.
    /// Bad input never reaches `run`: it gets its 400 here. Nor does a strategy this runtime
    /// does not support ([`Strategy::supported_on`]): valid input to it gets its 501 here, so
    /// the support table is what acts, the same on every server.
    pub async fn handle<F, Fut>(&self, strategy: Strategy, query: Option<&str>, run: F) -> Reply
    where
        F: FnOnce(Work) -> Fut,
        Fut: Future<Output = Reply>,
    {
        let _in_flight = self.in_flight.enter();
        // This runs on the executor thread polling the handler: count it.
        self.executor_threads.enter();
        let kernel = self.limits.kernel;
        let default_n = kernel.default_n();
        let reply = match params::parse_with_default(strategy, query, self.limits.max_n, default_n)
        {
            Ok(_) if !strategy.supported_on(self.info.kind) => self.not_supported(strategy),
            Ok(params) => {
                let panics = self.limits.panic_on_n == Some(params.n);
                run(Work {
                    strategy,
                    params,
                    kernel,
                    panics,
                })
                .await
            }
            Err(e) => Reply::bad_parameter(&e),
        };
        self.answers.count(strategy, reply.is_success());
        reply
    }

    /// The 500 for a request whose handler panicked, counted in `/stats` (`panicked`): what
    /// each server's panic catcher answers (tower-http's `CatchPanicLayer` on axum, a
    /// middleware on tide and actix-web, the service function on hyper). `strategy` is the
    /// endpoint's, `None` for the others. The request's in-flight count was already released
    /// as the panic unwound through [`App::handle`].
    pub fn answer_panic(&self, strategy: Option<Strategy>) -> Reply {
        self.answers.count_panic(strategy);
        Reply::handler_panicked(strategy)
    }

    /// [`App::answer_panic`] for a request routed by method and path (servers whose catcher
    /// sees the request, not the route).
    pub fn answer_panic_at(&self, method: &str, path: &str) -> Reply {
        let strategy = match crate::Route::of(method, path) {
            crate::Route::Strategy(s) => Some(s),
            _ => None,
        };
        self.answer_panic(strategy)
    }

    /// The 501 for `strategy` on this server's runtime. [`App::handle`] answers it before a
    /// server's handler runs; a server's match arm for a strategy its runtime lacks answers it
    /// too, should it ever be reached.
    pub fn not_supported(&self, strategy: Strategy) -> Reply {
        Reply::not_supported(strategy, self.info.kind)
    }

    /// Runs `work` on the CPU pool (rayon) and awaits it through a channel (`/rayon`); 500 if
    /// the kernel panicked.
    pub async fn run_on_cpu_pool(&self, work: Work) -> Reply {
        self.cpu_pool
            .run(move || work.run())
            .await
            .unwrap_or_else(|e| Reply::internal_in(work.strategy, e.to_string()))
    }

    /// `/cached`: the answer for `work`'s (kernel, n) from the cache, or computed on the CPU
    /// pool as `/rayon` does, once for every request that asks for it meanwhile
    /// ([`crate::cache`]); 500 if the kernel panicked (not cached, and every request that waited
    /// on that computation gets the 500 too).
    pub async fn run_cached(&self, work: Work) -> Reply {
        let kernel = work.kernel.name();
        let compute = async {
            let (total, elapsed) = self.cpu_pool.run(move || work.compute()).await?;
            Ok::<_, Panicked>(Answer {
                total,
                compute_us: micros(elapsed),
            })
        };
        match self
            .cache
            .get_or_compute(kernel, work.params.n, compute)
            .await
        {
            Ok((answer, lookup)) => {
                work.answered(answer.total.clone(), answer.compute_us, Some(lookup))
            }
            Err(e) => Reply::internal_in(work.strategy, e.to_string()),
        }
    }

    /// `/thread`: runs `work` through `offload`, the runtime's blocking pool, and awaits it.
    /// The closure `offload` gets is wrapped once here: measured, and a panic in the kernel
    /// answered 500 (on every runtime, whatever its pool does with a panic).
    pub async fn run_offloaded<O, Fut>(&self, work: Work, offload: O) -> Reply
    where
        O: FnOnce(Offloaded) -> Fut,
        Fut: Future<Output = Reply>,
    {
        offload(self.offloaded(work.strategy, move || work.run())).await
    }

    /// `/bounded`: waits (asynchronously, holding no thread) for one of `--cpu-threads`
    /// permits, then runs `work` through `offload` as [`App::run_offloaded`] does; or answers
    /// 503 at once when `--max-queue` requests are already waiting.
    pub async fn run_bounded<O, Fut>(&self, work: Work, offload: O) -> Reply
    where
        O: FnOnce(Offloaded) -> Fut,
        Fut: Future<Output = Reply>,
    {
        let queued = match self.gate.admit() {
            Ok(queued) => queued,
            Err(rejected) => return rejected,
        };
        let slot = match queued.acquire().await {
            Ok(slot) => slot,
            Err(broken) => return broken,
        };
        let strategy = work.strategy;
        offload(self.offloaded(strategy, move || {
            // The permit is held until the kernel is done, on the pool thread (a panic
            // unwinds through here and releases it too).
            let _slot = slot;
            work.run()
        }))
        .await
    }

    /// `f` as it must run on a blocking pool: measured, a panic answered 500 naming `strategy`.
    fn offloaded(
        &self,
        strategy: Strategy,
        f: impl FnOnce() -> Reply + Send + 'static,
    ) -> Offloaded {
        let offloads = Arc::clone(&self.offloads);
        Box::new(move || {
            offloads
                .run(f)
                .unwrap_or_else(|e: Panicked| Reply::internal_in(strategy, e.to_string()))
        })
    }

    /// `POST /jobs`: queues `work` on the CPU pool; 202 with the job's id, or 503.
    pub fn submit_job(&self, work: Work) -> Reply {
        self.jobs.submit(work, &self.cpu_pool)
    }

    /// `GET /jobs/{id}`: the job's status; with `?wait=true`, once it is done.
    pub async fn job_status(&self, id: &str, query: Option<&str>) -> Reply {
        match params::parse_wait(query) {
            Ok(wait) => self.jobs.status(id, wait).await,
            Err(e) => Reply::bad_parameter(&e),
        }
    }

    /// `POST /queue`: puts `work` on the broker's queue; 202 with the job's id, 503 when
    /// `--max-queue` jobs are queued or running there, when no broker is configured
    /// (`no_broker`) or when it does not answer (`broker_unavailable`). Awaits the bridge
    /// thread ([`crate::broker`]), holding no executor thread.
    pub async fn submit_queued(&self, work: Work) -> Reply {
        let Some(broker) = &self.broker else {
            return Reply::no_broker();
        };
        let n = work.params.n;
        match broker.enqueue(n, self.limits.max_queue).await {
            Ok(Some(id)) => Reply::json(202, &queued_status(id, n, "queued", None, None)),
            Ok(None) => Reply::overloaded(
                format!(
                    "{} jobs are already queued or running on the broker (--max-queue); retry later",
                    self.limits.max_queue
                ),
                1,
            ),
            Err(e) => Reply::broker_unavailable(e.to_string()),
        }
    }

    /// `GET /queue/{id}`: the job's status from the broker; with `?wait=true`, once a worker
    /// has finished it.
    pub async fn queue_status(&self, id: &str, query: Option<&str>) -> Reply {
        let wait = match params::parse_wait(query) {
            Ok(wait) => wait,
            Err(e) => return Reply::bad_parameter(&e),
        };
        let Some(broker) = &self.broker else {
            return Reply::no_broker();
        };
        let Ok(number) = id.parse::<u64>() else {
            return Reply::not_found_queued(id);
        };
        match broker.status(number, wait).await {
            Ok(Some(job)) => Reply::json(
                200,
                &queued_status(job.id, job.n, &job.status, job.total, job.compute_us),
            ),
            Ok(None) => Reply::not_found_queued(id),
            Err(e) => Reply::broker_unavailable(e.to_string()),
        }
    }

    /// The executor-lag monitor: a server spawns its [`LagMonitor::heartbeat`] on its executor.
    pub fn lag_monitor(&self) -> &Arc<LagMonitor> {
        &self.lag
    }

    /// The `GET /lag` reply: the current window so far.
    pub fn lag(&self) -> Reply {
        Reply::json(200, &self.lag.report())
    }

    /// The `POST /lag/window` reply: closes the current window, opens the next, and answers
    /// the closed one (see [`crate::lag`], "Windows").
    pub fn close_lag_window(&self) -> Reply {
        Reply::json(200, &self.lag.close_window())
    }

    /// The `GET /openapi.json` reply: the OpenAPI 3.1 document of this server.
    pub fn openapi(&self) -> Reply {
        self.api.openapi.clone()
    }

    /// The `GET /docs` reply: the HTML page of that document.
    pub fn docs(&self) -> Reply {
        self.api.docs.clone()
    }
}

/// The body of `POST /queue` and `GET /queue/{id}`: `/jobs`' own.
fn queued_status(
    id: u64,
    n: u64,
    status: &str,
    total: Option<String>,
    compute_us: Option<u64>,
) -> JobStatus {
    JobStatus {
        id,
        url: format!("/queue/{id}"),
        status: status.into(),
        n,
        total,
        compute_us,
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use super::*;
    use crate::app::testing::{app, app_panicking_on, now, on_a_thread};
    use crate::reply::{Computed, ErrorBody};

    #[test]
    fn handle_validates_runs_and_counts() {
        let app = app(1);
        for s in [Strategy::Generator, Strategy::Cycle, Strategy::Thread] {
            let reply = now(app.handle(s, Some("n=10"), |w| async move { w.run() }));
            assert_eq!(reply.status, 200);
            let body: Computed = serde_json::from_str(&reply.body).expect("JSON");
            assert_eq!(
                (body.strategy.as_str(), body.n, body.total.as_str()),
                (s.name(), 10, "285")
            );
        }
        let reply = now(app.handle(Strategy::Cycle, Some("n=1001"), |_| async {
            panic!("bad input must not run")
        }));
        assert_eq!(reply.status, 400);
        let body: ErrorBody = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(body.reason.as_deref(), Some("above_maximum"));
        let stats = app.snapshot();
        assert_eq!(stats.served["cycle"], 1);
        assert_eq!(stats.refused["cycle"], 1);
        assert_eq!(stats.served["cycle_sleep"], 0);
        assert_eq!(stats.in_flight, 0);
    }

    #[test]
    fn a_handler_panic_is_answered_500_naming_the_strategy_and_counted() {
        let app = app_panicking_on(13);
        // What a server's catcher sees: the handler's future panics inside App::handle.
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
            crate::test_util::block_on(
                app.handle(Strategy::Cycle, Some("n=13"), |w| async move { w.run() }),
            )
        }));
        assert!(caught.is_err(), "the inline kernel panics");
        let reply = app.answer_panic_at("GET", "/cycle");
        assert_eq!(reply.status, 500);
        let body: ErrorBody = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(
            (body.error.as_str(), body.strategy.as_deref()),
            ("internal", Some("cycle"))
        );
        let other = app.answer_panic_at("GET", "/stats");
        let body: ErrorBody = serde_json::from_str(&other.body).expect("JSON");
        assert_eq!((other.status, body.strategy), (500, None));
        let s = app.snapshot();
        assert_eq!(s.panicked.get("cycle"), Some(&1));
        assert_eq!(s.panicked.get("generator"), Some(&0));
        assert_eq!(s.panicked_elsewhere, 1);
        // The guard released the in-flight count as the panic unwound; nothing was counted
        // served or refused (the panic is counted once, as panicked).
        assert_eq!(s.in_flight, 0);
        assert_eq!(
            (s.served.get("cycle"), s.refused.get("cycle")),
            (Some(&0), Some(&0))
        );
    }

    #[test]
    fn without_a_broker_queue_answers_no_broker_after_validation() {
        let app = app(1);
        let post = |query: &str| {
            crate::test_util::block_on(app.handle(Strategy::Queue, Some(query), |w| {
                let app = Arc::clone(&app);
                async move { app.submit_queued(w).await }
            }))
        };
        let reply = post("n=10");
        assert_eq!(
            (reply.status, reply.retry_after),
            (503, None),
            "{}",
            reply.body
        );
        let body: ErrorBody = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(body.error, "no_broker");
        assert!(body.message.contains("--broker redis://HOST:PORT"));
        assert_eq!(post("n=abc").status, 400, "bad input is a 400 first");
        let status = crate::test_util::block_on(app.queue_status("1", Some("wait=true")));
        assert_eq!(status.status, 503, "{}", status.body);
        let bad = crate::test_util::block_on(app.queue_status("1", Some("wait=maybe")));
        assert_eq!(bad.status, 400);
        assert_eq!(app.snapshot().broker, None);
    }

    #[test]
    fn an_unsupported_strategy_is_answered_501_without_running_after_validation() {
        // The test app is a smol server: no block_in_place there.
        let app = app(1);
        let call = |query: &str| {
            crate::test_util::block_on(app.handle(
                Strategy::BlockInPlace,
                Some(query),
                |w| async move { panic!("the handler ran for {w:?}") },
            ))
        };
        let reply = call("n=10");
        assert_eq!(reply.status, 501, "{}", reply.body);
        let body: ErrorBody = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(
            (body.error.as_str(), body.runtime.as_deref()),
            ("not_supported", Some("smol multi-thread"))
        );
        // Bad input is a 400 on every runtime, supported or not.
        assert_eq!(call("n=abc").status, 400);
        let stats = app.snapshot();
        let refused = stats.refused.get("block_in_place").copied();
        assert_eq!(refused, Some(2), "{:?}", stats.refused);
        assert_eq!(stats.flavor, "multi-thread");
    }

    #[test]
    fn a_panicking_offloaded_kernel_is_answered_500_and_measured() {
        let app = app_panicking_on(13);
        for (strategy, path) in [
            (Strategy::Thread, "thread"),
            (Strategy::Bounded, "bounded"),
            (Strategy::Rayon, "rayon"),
        ] {
            let call = |query: &str| {
                crate::test_util::block_on(app.handle(strategy, Some(query), |w| {
                    let app = Arc::clone(&app);
                    async move {
                        match w.strategy {
                            Strategy::Thread => app.run_offloaded(w, on_a_thread).await,
                            Strategy::Bounded => app.run_bounded(w, on_a_thread).await,
                            _ => app.run_on_cpu_pool(w).await,
                        }
                    }
                }))
            };
            let reply = call("n=13");
            assert_eq!(reply.status, 500, "{path}: {}", reply.body);
            let body: ErrorBody = serde_json::from_str(&reply.body).expect("JSON");
            assert_eq!(body.error, "internal", "{path}");
            // Another n still works, and /bounded's only permit was released.
            let ok = call("n=10");
            assert_eq!(ok.status, 200, "{path} after the panic: {}", ok.body);
        }
        let s = app.snapshot();
        assert_eq!((s.refused["thread"], s.served["thread"]), (1, 1));
        // /thread and /bounded ran on the blocking pool; /rayon on the CPU pool.
        assert_eq!(
            (s.offload.finished, s.offload.panicked, s.offload.running),
            (4, 2, 0)
        );
        assert_eq!(s.panic_on_n, Some(13));
        assert_eq!(s.executor_threads_seen, 1);
    }
}
