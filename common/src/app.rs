//! Server state and request accounting shared by the three servers: validation on the way in,
//! counting on the way out, background-job admission and drain, and the `/stats` body.
//!
//! A server calls [`App::handle`] with the strategy its router matched and the raw query, and
//! passes a closure that runs the validated [`Work`] the way that runtime does (inline,
//! yielding, offloaded, detached). Everything around that closure is here, once, including
//! what wraps every closure handed to a blocking pool ([`crate::offload`]: a panic answered
//! 500 or counted, the pool measured).
//!
//! # `/stats`
//! The body is [`Stats`]. Thread counts come in two kinds, named apart: *configured* (what the
//! server set up from its flags: `executor_threads`, `blocking_threads_max`) and *measured*
//! (what really ran: `executor_threads_seen` and the `offload` section). If a measured count
//! passes its configured one, the flag configures something nobody uses.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::broker::{Broker, BrokerError};
use crate::cpu_pool::CpuPool;
use crate::gate::{Gate, GateStats};
use crate::jobs::{JobLimits, JobStats, JobStatus, Jobs};
use crate::kernel::{self, Kernel};
use crate::lag::LagMonitor;
use crate::offload::{OffloadStats, Offloads, Panicked};
use crate::openapi::{ApiDocs, Facts};
use crate::params::{self, Params};
use crate::queue::BrokerUrl;
use crate::reply::{Accepted, Computed, Reply};
use crate::strategy::{RuntimeKind, Strategy};
use crate::threads::ThreadCensus;
use crate::tracker::{Tracker, TrackerGuard};

/// How long no request must have run before a stopping server closes its connections
/// ([`App::settle`]).
pub const SETTLE_QUIET: Duration = Duration::from_millis(200);
/// The longest a stopping server waits for its connections to go quiet ([`App::settle`]).
pub const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// What a server reports about its runtime in `/stats`: the values it configured (the measured
/// ones are counted by [`App`] itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The runtime and its flavour (`/stats`' `runtime` and `flavor`); decides which
    /// strategies run at all ([`Strategy::supported_on`]).
    pub kind: RuntimeKind,
    /// `axum`, `tide`, `hyper` or `actix-web`.
    pub framework: &'static str,
    /// Threads configured to poll async tasks (accepting connections included).
    pub executor_threads: usize,
    /// Most threads the blocking pool was configured to start.
    pub blocking_threads_max: usize,
    /// How long a client may take to send its request headers before the connection is closed.
    pub header_read_timeout: Duration,
}

/// Limits from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest `n` a request may ask for.
    pub max_n: u64,
    /// Most background jobs accepted and not yet finished.
    pub max_background: usize,
    /// Threads of the CPU pool (`/rayon`, `/jobs`) and permits of `/bounded`'s semaphore.
    pub cpu_threads: usize,
    /// Most requests waiting for a `/bounded` permit, and most jobs queued or running.
    pub max_queue: usize,
    /// Most finished job results kept.
    pub job_capacity: usize,
    /// How long a finished job result is kept.
    pub job_ttl: Duration,
    /// Not a limit: nice value of the CPU pool's threads (`--cpu-pool-nice`).
    pub cpu_pool_nice: Option<u8>,
    /// Not a limit: the lag monitor's heartbeat interval (`--lag-interval-us`), `None` with
    /// `--no-lag-monitor`.
    pub lag_interval: Option<Duration>,
    /// Not a limit: fault injection for tests (`--panic-on-n`). Every kernel asked for exactly
    /// this `n` panics.
    pub panic_on_n: Option<u64>,
    /// Not a limit: the kernel every request runs (`--kernel`).
    pub kernel: &'static dyn Kernel,
    /// Not a limit: the `/queue` broker (`--broker`); `None` answers `/queue` with 503
    /// `no_broker`.
    pub broker: Option<BrokerUrl>,
}

/// Why a server could not start its shared state.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The CPU pool's threads could not start.
    #[error("cannot start the CPU pool: {0}")]
    CpuPool(#[from] rayon::ThreadPoolBuildError),
    /// `--broker` names a broker that cannot be reached now.
    #[error("cannot reach the /queue broker at {url} (--broker): {source}")]
    Broker {
        /// The URL, password redacted.
        url: String,
        /// What failed.
        source: BrokerError,
    },
}

/// Shared state of one server process.
#[derive(Debug)]
pub struct App {
    info: RuntimeInfo,
    limits: Limits,
    served: [AtomicU64; Strategy::ALL.len()],
    refused: [AtomicU64; Strategy::ALL.len()],
    /// Requests whose handler panicked, answered 500 by [`App::answer_panic`]: per strategy,
    /// and on the other endpoints.
    panicked: [AtomicU64; Strategy::ALL.len()],
    panicked_elsewhere: AtomicU64,
    in_flight: Tracker,
    background: Background,
    cpu_pool: CpuPool,
    gate: Gate,
    jobs: Jobs,
    /// Every closure handed to the blocking pool runs inside it.
    offloads: Arc<Offloads>,
    /// The threads that have polled a strategy request's handler.
    executor_threads: ThreadCensus,
    /// When the graceful shutdown must be over; set by the stop signal.
    deadline: Mutex<Option<Instant>>,
    /// Set once `finish_shutdown` has reported; the watchdog then stands down.
    finished: std::sync::atomic::AtomicBool,
    /// The executor-lag monitor (`/lag`); its heartbeat is spawned by the server.
    lag: Arc<LagMonitor>,
    /// `/openapi.json` and `/docs`, rendered once for this server's flags.
    api: ApiDocs,
    /// The `/queue` broker, connected at start-up (`--broker`).
    broker: Option<Broker>,
}

/// A validated request, ready to run.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    /// The strategy its endpoint names.
    pub strategy: Strategy,
    /// Its validated parameters.
    pub params: Params,
    /// The kernel it runs (the server's `--kernel`).
    pub kernel: &'static dyn Kernel,
    /// Fault injection (`--panic-on-n`): the kernel panics instead of running.
    pub(crate) panics: bool,
}

/// A closure for a blocking pool, built by [`App`] (a panic in it already caught): what a
/// server's `offload` function receives, runs on its pool and awaits.
pub type Offloaded = Box<dyn FnOnce() -> Reply + Send>;

impl App {
    /// State for a server with this runtime and these limits; starts the CPU pool, and connects
    /// to the `/queue` broker if one is given (failing if it cannot be reached now).
    pub fn new(info: RuntimeInfo, limits: Limits) -> Result<Arc<App>, StartError> {
        let job_limits = JobLimits {
            max_queue: limits.max_queue,
            capacity: limits.job_capacity,
            ttl: limits.job_ttl,
        };
        if let Some(n) = limits.panic_on_n {
            eprintln!(
                "warning: fault injection: every kernel asked for n = {n} panics (--panic-on-n); \
                 this server is for tests, not for measuring"
            );
        }
        let broker =
            match &limits.broker {
                Some(url) => Some(Broker::connect(url, limits.kernel.name()).map_err(
                    |source| StartError::Broker {
                        url: url.to_string(),
                        source,
                    },
                )?),
                None => None,
            };
        let api = ApiDocs::new(&Facts::of(&limits));
        Ok(Arc::new(App {
            info,
            served: Default::default(),
            refused: Default::default(),
            panicked: Default::default(),
            panicked_elsewhere: AtomicU64::default(),
            in_flight: Tracker::default(),
            background: Background::default(),
            cpu_pool: CpuPool::new(limits.cpu_threads, limits.cpu_pool_nice)?,
            gate: Gate::new(limits.cpu_threads, limits.max_queue),
            jobs: Jobs::new(job_limits),
            offloads: Arc::default(),
            executor_threads: ThreadCensus::default(),
            deadline: Mutex::new(None),
            finished: Default::default(),
            lag: Arc::new(LagMonitor::new(limits.lag_interval)),
            api,
            broker,
            limits,
        }))
    }

    /// The runtime facts this server was built with.
    pub fn info(&self) -> RuntimeInfo {
        self.info
    }

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
        let counter = if reply.is_success() {
            &self.served
        } else {
            &self.refused
        };
        counter[index(strategy)].fetch_add(1, Ordering::Relaxed);
        reply
    }

    /// The 500 for a request whose handler panicked, counted in `/stats` (`panicked`): what
    /// each server's panic catcher answers (tower-http's `CatchPanicLayer` on axum, a
    /// middleware on tide and actix-web, the service function on hyper). `strategy` is the
    /// endpoint's, `None` for the others. The request's in-flight count was already released
    /// as the panic unwound through [`App::handle`].
    pub fn answer_panic(&self, strategy: Option<Strategy>) -> Reply {
        match strategy {
            Some(s) => &self.panicked[index(s)],
            None => &self.panicked_elsewhere,
        }
        .fetch_add(1, Ordering::Relaxed);
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

    /// Admits a background job if fewer than `--max-background` are pending. On success, the
    /// caller hands the job to its blocking pool and answers with the 202; otherwise it answers
    /// with the 503, and the rejection is counted.
    pub fn accept_background(&self, work: Work) -> Result<(BackgroundJob, Reply), Reply> {
        let bg = &self.background;
        let Some(pending) = bg.pending.try_enter(self.limits.max_background) else {
            bg.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(Reply::overloaded(
                format!(
                    "{} background jobs are already pending (--max-background); retry later",
                    self.limits.max_background
                ),
                1,
            ));
        };
        let id = bg.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        let accepted = Reply::json(
            202,
            &Accepted {
                strategy: work.strategy.name().into(),
                n: work.params.n,
                job: id,
                status: "accepted".into(),
            },
        );
        let job = BackgroundJob {
            work,
            counters: Arc::clone(&bg.counters),
            offloads: Arc::clone(&self.offloads),
            pending: Some(pending),
        };
        Ok((job, accepted))
    }

    /// Runs `work` on the CPU pool (rayon) and awaits it through a channel (`/rayon`); 500 if
    /// the kernel panicked.
    pub async fn run_on_cpu_pool(&self, work: Work) -> Reply {
        self.cpu_pool
            .run(move || work.run())
            .await
            .unwrap_or_else(|e| Reply::internal_in(work.strategy, e.to_string()))
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

    /// The `/stats` reply.
    pub fn stats(&self) -> Reply {
        Reply::json(200, &self.snapshot())
    }

    /// The figures `/stats` reports.
    pub fn snapshot(&self) -> Stats {
        let bg = &self.background;
        let counts = |c: &[AtomicU64]| {
            Strategy::ALL
                .iter()
                .map(|s| (s.name().to_owned(), c[index(*s)].load(Ordering::Relaxed)))
                .collect()
        };
        let accepted = bg.accepted.load(Ordering::Relaxed);
        let started = bg.counters.started.load(Ordering::Relaxed);
        // Acquire, then the time: whoever sees a job completed also sees its completion time.
        let completed = bg.counters.completed.load(Ordering::Acquire);
        let last_completed = bg.counters.last_completed_unix_us.load(Ordering::Relaxed);
        let abandoned = bg.counters.abandoned.load(Ordering::Relaxed);
        let failed = bg.counters.failed.load(Ordering::Acquire);
        Stats {
            runtime: self.info.kind.runtime().into(),
            flavor: self.info.kind.flavor().into(),
            framework: self.info.framework.into(),
            executor_threads: self.info.executor_threads,
            blocking_threads_max: self.info.blocking_threads_max,
            executor_threads_seen: self.executor_threads.census().seen,
            header_read_timeout_ms: u64::try_from(self.info.header_read_timeout.as_millis())
                .unwrap_or(u64::MAX),
            max_n: self.limits.max_n,
            kernel: self.limits.kernel.name().into(),
            cpu_threads: self.cpu_pool.threads(),
            in_flight: self.in_flight.count(),
            background: BackgroundStats {
                accepted,
                queued: accepted.saturating_sub(started + abandoned),
                running: started.saturating_sub(completed + failed),
                completed,
                failed,
                rejected: bg.rejected.load(Ordering::Relaxed),
                abandoned,
                limit: self.limits.max_background,
                last_completed_unix_us: (last_completed > 0).then_some(last_completed),
            },
            bounded: self.gate.stats(),
            jobs: self.jobs.stats(),
            offload: self.offloads.stats(),
            panic_on_n: self.limits.panic_on_n,
            broker: self.broker.as_ref().map(|b| b.url().to_string()),
            cpus: crate::placement::pinned(),
            cpu_pool_nice: self.limits.cpu_pool_nice,
            served: counts(&self.served),
            refused: counts(&self.refused),
            panicked: counts(&self.panicked),
            panicked_elsewhere: self.panicked_elsewhere.load(Ordering::Relaxed),
        }
    }

    /// Wraps a stop signal (SIGINT/SIGTERM) for a server's graceful shutdown: when `signal`
    /// resolves, the shutdown deadline (`timeout` from now) is set and a watchdog thread is
    /// started that ends the process, reporting what it abandons, if shutting down takes longer
    /// than that. The returned future resolves right after `signal`: hand it to the server as
    /// its "stop accepting" trigger.
    pub fn shutdown_on<F>(
        self: &Arc<Self>,
        signal: F,
        timeout: Duration,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let app = Arc::clone(self);
        async move {
            signal.await;
            let deadline = Instant::now() + timeout;
            *app.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
            eprintln!(
                "shutdown: stop signal received; no new connections, finishing in-flight work (up to {timeout:?})"
            );
            let watchdog = Arc::clone(&app);
            // A plain thread, not a task: it must fire even when every executor thread is stuck.
            std::thread::spawn(move || {
                std::thread::sleep(timeout + Duration::from_secs(1));
                if watchdog.finished.load(Ordering::SeqCst) {
                    return; // finish_shutdown has reported; main is exiting by itself.
                }
                let s = watchdog.snapshot();
                eprintln!(
                    "shutdown: still busy {timeout:?} after the stop signal: {} requests in flight and {} \
                     background jobs pending ABANDONED; exiting",
                    s.in_flight,
                    s.background.queued + s.background.running
                );
                std::process::exit(1);
            });
        }
    }

    /// Lets a stopping server drain, once it has stopped accepting: resolves when no strategy
    /// request has started or been in flight for [`SETTLE_QUIET`], or after [`SETTLE_LIMIT`]
    /// (clients that keep sending on open connections cannot hold the exit), or at the
    /// shutdown deadline. The quiet period lets requests on connections accepted before the
    /// stop reach their handler (hyper would otherwise close such a connection as idle, and tide
    /// would exit under it) and lets finished handlers' responses be written. `sleep` is the
    /// runtime's timer. Returns how many requests are still in flight.
    pub async fn settle<S, F>(&self, mut sleep: S) -> usize
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        let until = Instant::now() + SETTLE_LIMIT.min(self.time_left());
        let mut seen = self.activity();
        loop {
            sleep(SETTLE_QUIET).await;
            let now = self.activity();
            let in_flight = self.in_flight.count();
            if (now == seen && in_flight == 0) || Instant::now() >= until {
                return in_flight;
            }
            seen = now;
        }
    }

    /// For a server that cannot close its connections and has nothing else to wait on (tide),
    /// after [`App::settle`]: waits until no strategy request is in flight, checking every
    /// [`SETTLE_QUIET`] with the runtime's `sleep`, up to the shutdown deadline. `settle` stops
    /// waiting after [`SETTLE_LIMIT`] so that clients still sending cannot hold the exit, but a
    /// request already running (a long kernel) is work accepted: it is finished within
    /// `--shutdown-timeout` like on the hyper servers, whose graceful shutdown waits for it.
    /// Returns how many are still in flight.
    pub async fn finish_in_flight<S, F>(&self, mut sleep: S) -> usize
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        loop {
            let in_flight = self.in_flight.count();
            if in_flight == 0 || self.time_left().is_zero() {
                return in_flight;
            }
            sleep(SETTLE_QUIET.min(self.time_left())).await;
        }
    }

    /// For a server whose blocking pools end with its workers (actix-web: one tokio runtime
    /// per worker, and a runtime shut down cancels the blocking tasks it has not started),
    /// before it stops them: waits until no accepted background job is queued or running,
    /// checking every [`SETTLE_QUIET`] with the runtime's `sleep`, up to the shutdown deadline.
    /// Returns how many are still pending.
    pub async fn drain_background<S, F>(&self, mut sleep: S) -> usize
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        loop {
            let pending = self.background.pending.count();
            if pending == 0 || self.time_left().is_zero() {
                return pending;
            }
            sleep(SETTLE_QUIET.min(self.time_left())).await;
        }
    }

    /// Strategy requests started so far: answered ones plus those in flight.
    fn activity(&self) -> u64 {
        let answered: u64 = self
            .served
            .iter()
            .chain(self.refused.iter())
            .chain(self.panicked.iter())
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        answered + u64::try_from(self.in_flight.count()).unwrap_or(u64::MAX)
    }

    /// The last step of a graceful shutdown, called on a plain thread once the server has
    /// stopped: waits for accepted background jobs until the deadline and logs one line saying
    /// how many completed, failed and were abandoned, then a line for each kind of loss.
    /// Accepted work is never dropped silently.
    ///
    /// Returns whether the server may exit 0 (its `main` exits 1 otherwise): false when
    /// accepted work was lost without its client being told at the time: a request still in
    /// flight, a `/jobs` job or background job still pending at the deadline, or a background
    /// job that panicked or was dropped before it ran (a 202 promised that work; only `/stats`
    /// and stderr said it failed). A panic answered 500, or a `/jobs` job reported `failed`,
    /// was told to its client and does not change the exit status.
    pub fn finish_shutdown(&self) -> bool {
        let bg = &self.background;
        let pending_before = bg.pending.count();
        let still = bg.pending.wait_idle(self.time_left());
        let jobs_left = self.jobs.wait_idle(self.time_left());
        let requests_left = self.in_flight.count();
        if requests_left > 0 {
            eprintln!("shutdown: {requests_left} requests still in flight ABANDONED");
        }
        if jobs_left > 0 {
            eprintln!(
                "shutdown: {jobs_left} queued or running /jobs ABANDONED at the shutdown deadline"
            );
        }
        let s = self.snapshot().background;
        let still = u64::try_from(still).unwrap_or(u64::MAX);
        eprintln!(
            "shutdown: {} background jobs accepted, {} completed ({pending_before} finished during shutdown), {} failed, {} abandoned",
            s.accepted,
            s.completed,
            s.failed,
            s.abandoned + still
        );
        if s.failed > 0 {
            eprintln!(
                "shutdown: {} background jobs FAILED (their kernel panicked; results lost)",
                s.failed
            );
        }
        if s.abandoned > 0 {
            eprintln!(
                "shutdown: {} background jobs ABANDONED before they ran (their task was dropped)",
                s.abandoned
            );
        }
        if still > 0 {
            eprintln!(
                "shutdown: {still} background jobs ABANDONED (still running at the shutdown \
                 deadline; their results are lost)"
            );
        }
        self.finished.store(true, Ordering::SeqCst);
        still == 0 && jobs_left == 0 && requests_left == 0 && s.failed == 0 && s.abandoned == 0
    }

    fn time_left(&self) -> Duration {
        let deadline = *self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }
}

impl Work {
    /// Runs the kernel on the current thread, timed, and builds the 200: the iterator form for
    /// `/generator` (for `sum-squares`; the one form for other kernels), the whole run for
    /// everything else.
    pub fn run(self) -> Reply {
        let (total, elapsed) = self.compute();
        self.computed(total, elapsed)
    }

    /// Runs the kernel on the current thread: the answer and how long it took.
    pub fn compute(&self) -> (String, Duration) {
        self.fault();
        let n = self.params.n;
        let start = Instant::now();
        let total = match self.strategy {
            Strategy::Generator => self.kernel.run_iter(n),
            Strategy::Cycle
            | Strategy::CycleSleep
            | Strategy::Thread
            | Strategy::Background
            | Strategy::Rayon
            | Strategy::Bounded
            | Strategy::Jobs
            | Strategy::BlockInPlace
            | Strategy::Queue => self.kernel.run(n),
        };
        (total, start.elapsed())
    }

    /// Runs the kernel in slices, awaiting `yield_now()` every `yield_every` units.
    pub async fn run_yielding<Y, F>(self, yield_now: Y) -> Reply
    where
        Y: FnMut() -> F,
        F: Future<Output = ()>,
    {
        self.fault();
        let start = Instant::now();
        let total = kernel::run_yielding(
            self.kernel,
            self.params.n,
            self.params.yield_every,
            yield_now,
        )
        .await;
        self.computed(total, start.elapsed())
    }

    /// `--panic-on-n`: panics if this work's `n` is the one named.
    fn fault(&self) {
        if self.panics {
            panic!(
                "fault injection (--panic-on-n): the kernel for n = {} panics",
                self.params.n
            );
        }
    }

    fn computed(self, total: String, elapsed: Duration) -> Reply {
        Reply::json(
            200,
            &Computed {
                strategy: self.strategy.name().into(),
                kernel: self.kernel.name().into(),
                n: self.params.n,
                total,
                compute_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            },
        )
    }
}

/// An accepted background job. Run it on a blocking pool with [`BackgroundJob::run`]. If its
/// kernel panics, it is counted as failed; if it is dropped without running (a cancelled smol
/// `Task`, say), as abandoned; either way a line goes to stderr: accepted work is never lost
/// silently.
#[derive(Debug)]
pub struct BackgroundJob {
    work: Work,
    counters: Arc<JobCounters>,
    offloads: Arc<Offloads>,
    pending: Option<TrackerGuard>,
}

impl BackgroundJob {
    /// Runs the kernel on the current (pool) thread, measured like every offloaded closure,
    /// and counts the job completed, or failed if the kernel panicked.
    pub fn run(mut self) {
        self.counters.started.fetch_add(1, Ordering::Relaxed);
        let work = self.work;
        match self.offloads.run(move || work.run()) {
            Ok(_) => {
                // The time first, then the count (Release): a client that sees the job
                // completed in `/stats` sees its completion time too. fetch_max: the latest of
                // all jobs, whatever order pool threads get here in.
                self.counters
                    .last_completed_unix_us
                    .fetch_max(unix_micros(SystemTime::now()), Ordering::Relaxed);
                self.counters.completed.fetch_add(1, Ordering::Release);
            }
            Err(Panicked) => {
                self.counters.failed.fetch_add(1, Ordering::Release);
                eprintln!(
                    "error: background job (n = {}) panicked (message above); counted as failed in /stats, its result is lost",
                    work.params.n
                );
            }
        }
        // Released last, so a drain never sees the job gone before it is counted.
        self.pending.take();
    }
}

impl Drop for BackgroundJob {
    fn drop(&mut self) {
        if self.pending.take().is_some() {
            self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "warning: background job (n = {}) dropped before it ran",
                self.work.params.n
            );
        }
    }
}

#[derive(Debug, Default)]
struct Background {
    accepted: AtomicU64,
    rejected: AtomicU64,
    counters: Arc<JobCounters>,
    pending: Tracker,
}

#[derive(Debug, Default)]
struct JobCounters {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    abandoned: AtomicU64,
    /// Wall-clock µs since the Unix epoch of the latest completion; 0 before the first.
    last_completed_unix_us: AtomicU64,
}

/// What `/stats` bodies older than the `kernel` field ran.
fn default_kernel_name() -> String {
    kernel::DEFAULT.name().into()
}

impl Stats {
    /// The kind of runtime these stats come from (`runtime` and `flavor`); `None` for an
    /// unknown pair (a server older than the `flavor` field, say).
    pub fn kind(&self) -> Option<RuntimeKind> {
        RuntimeKind::of(&self.runtime, &self.flavor)
    }
}

/// Microseconds from the Unix epoch to `t` (0 for a clock set before 1970).
fn unix_micros(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The `/stats` body. Fields added after the first version carry `#[serde(default)]`, so bodies
/// from older servers still parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// `tokio`, `async-std`, `smol` or `actix-rt`.
    pub runtime: String,
    /// How its executor threads share work: `multi-thread`, `current-thread` (tokio's
    /// one-thread runtime) or `current-thread-per-worker` (actix-web's). With `runtime`, names
    /// the [`RuntimeKind`] ([`RuntimeKind::of`]).
    #[serde(default)]
    pub flavor: String,
    /// `axum`, `tide` or `hyper`.
    pub framework: String,
    /// Configured: threads the server set up to poll async tasks (`--workers`, or
    /// `ASYNC_STD_THREAD_COUNT` on async-std). Measured: `executor_threads_seen`.
    pub executor_threads: usize,
    /// Configured: cap of the blocking pool (`--blocking-threads` or the runtime's default).
    /// Measured: `offload.threads_peak` and `offload.peak_running`.
    pub blocking_threads_max: usize,
    /// Measured: distinct OS threads that have polled a strategy request's handler since
    /// start. At most `executor_threads`; fewer while the load has not needed them all.
    #[serde(default)]
    pub executor_threads_seen: usize,
    /// Header-read timeout in force, ms.
    pub header_read_timeout_ms: u64,
    /// Largest `n` accepted.
    pub max_n: u64,
    /// The kernel every request runs (`--kernel`); `sum-squares` in bodies from servers older
    /// than the field.
    #[serde(default = "default_kernel_name")]
    pub kernel: String,
    /// Threads of the CPU pool (`--cpu-threads`).
    pub cpu_threads: usize,
    /// Strategy requests being handled now.
    pub in_flight: usize,
    /// Background-job accounting.
    pub background: BackgroundStats,
    /// `/bounded`'s semaphore and queue.
    pub bounded: GateStats,
    /// The job API.
    pub jobs: JobStats,
    /// Measured: the closures run on the blocking pool (`/thread`, `/bounded`, `/background`).
    #[serde(default)]
    pub offload: OffloadStats,
    /// Fault injection in force (`--panic-on-n`): kernels asked for this `n` panic. Absent
    /// normally; a server reporting it is not fit to be measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic_on_n: Option<u64>,
    /// The `/queue` broker (`--broker`, password redacted); absent without one, when `/queue`
    /// answers 503 `no_broker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    /// The CPUs the process is pinned to (`--cpus`), read back from the OS; `null` if not
    /// pinned.
    #[serde(default)]
    pub cpus: Option<Vec<usize>>,
    /// Nice value of the CPU pool's threads (`--cpu-pool-nice`); `null` if not set.
    #[serde(default)]
    pub cpu_pool_nice: Option<u8>,
    /// 2xx answers per strategy name.
    pub served: std::collections::BTreeMap<String, u64>,
    /// 4xx/5xx answers per strategy name (not those below).
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Requests per strategy name whose handler panicked, each answered 500 `internal`
    /// naming the strategy (absent in bodies from servers older than the field).
    #[serde(default)]
    pub panicked: std::collections::BTreeMap<String, u64>,
    /// Requests to the other endpoints whose handler panicked (500 too). Should stay 0.
    #[serde(default)]
    pub panicked_elsewhere: u64,
}

/// Background-job accounting in `/stats`. Invariant:
/// accepted = queued + running + completed + failed + abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BackgroundStats {
    /// Jobs answered with 202.
    pub accepted: u64,
    /// Accepted, waiting for a pool thread.
    pub queued: u64,
    /// Running on a pool thread now.
    pub running: u64,
    /// Finished.
    pub completed: u64,
    /// Ran, but the kernel panicked: the result is lost (a line on stderr says so, and the
    /// server exits 1 at shutdown). Should stay 0.
    #[serde(default)]
    pub failed: u64,
    /// Answered with 503 (over `--max-background`).
    pub rejected: u64,
    /// Accepted but dropped before running (should stay 0).
    pub abandoned: u64,
    /// `--max-background`.
    pub limit: usize,
    /// When the latest background job so far completed: wall-clock (`SystemTime`) microseconds
    /// since the Unix epoch, taken on the pool thread right after its kernel returned; `None`
    /// before the first completion. A client on the same machine measures a job's real end
    /// with it (completion minus send), exactly, however often it polls `/stats`. Missing in
    /// bodies from servers older than the field.
    #[serde(default)]
    pub last_completed_unix_us: Option<u64>,
}

impl BackgroundStats {
    /// Nothing queued or running.
    pub fn is_idle(&self) -> bool {
        self.queued == 0 && self.running == 0
    }
}

fn index(strategy: Strategy) -> usize {
    Strategy::ALL
        .iter()
        .position(|s| *s == strategy)
        .unwrap_or_default()
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
    use super::*;
    use crate::reply::ErrorBody;
    use std::panic::AssertUnwindSafe;
    use std::task::{Context, Poll, Waker};

    fn app(max_background: usize) -> Arc<App> {
        app_with(max_background, None)
    }

    fn app_with(max_background: usize, panic_on_n: Option<u64>) -> Arc<App> {
        App::new(
            RuntimeInfo {
                kind: RuntimeKind::Smol,
                framework: "none",
                executor_threads: 1,
                blocking_threads_max: 1,
                header_read_timeout: Duration::from_secs(1),
            },
            Limits {
                max_n: 1_000,
                max_background,
                cpu_threads: 1,
                max_queue: 4,
                job_capacity: 4,
                job_ttl: Duration::from_secs(60),
                cpu_pool_nice: None,
                lag_interval: None,
                panic_on_n,
                kernel: kernel::DEFAULT,
                broker: None,
            },
        )
        .expect("app")
    }

    fn now<F: Future>(fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("future was not ready"),
        }
    }

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
    fn yielding_work_gives_the_same_total() {
        let app = app(1);
        let reply = now(app.handle(
            Strategy::CycleSleep,
            Some("n=1000&yield_every=1000000"),
            |w| w.run_yielding(|| async {}),
        ));
        let body: Computed = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(body.total, kernel::closed_form(1000).to_string());
        assert_eq!(body.kernel, "sum-squares");
    }

    #[test]
    fn background_admission_limit_and_accounting() {
        let app = app(2);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: false,
        };
        let (a, reply_a) = app.accept_background(work).expect("first fits");
        let (b, _) = app.accept_background(work).expect("second fits");
        assert_eq!(reply_a.status, 202);
        let rejected = app
            .accept_background(work)
            .expect_err("third is over the limit");
        assert_eq!((rejected.status, rejected.retry_after), (503, Some(1)));
        let s = app.snapshot().background;
        assert_eq!(
            (s.accepted, s.queued, s.running, s.completed, s.rejected),
            (2, 2, 0, 0, 1)
        );

        a.run();
        let s = app.snapshot().background;
        assert_eq!((s.queued, s.completed), (1, 1));
        // A slot is free again.
        let (c, _) = app.accept_background(work).expect("slot freed");

        drop(b); // as a cancelled task would
        std::thread::spawn(move || c.run())
            .join()
            .expect("pool thread");
        let s = app.snapshot().background;
        assert_eq!(
            (s.accepted, s.completed, s.abandoned, s.queued, s.running),
            (3, 2, 1, 0, 0)
        );
        assert!(s.is_idle());
        assert!(
            !app.finish_shutdown(),
            "nothing pending, but the job dropped before it ran was lost: exit 1"
        );
    }

    #[test]
    fn background_completion_time_is_the_latest_wall_clock_completion() {
        let app = app(4);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: false,
        };
        assert_eq!(app.snapshot().background.last_completed_unix_us, None);
        let (first, _) = app.accept_background(work).expect("fits");
        let (second, _) = app.accept_background(work).expect("fits");
        let before = unix_micros(SystemTime::now());
        first.run();
        let after_first = unix_micros(SystemTime::now());
        let t1 = app
            .snapshot()
            .background
            .last_completed_unix_us
            .expect("recorded");
        assert!(
            (before..=after_first).contains(&t1),
            "{before} {t1} {after_first}"
        );
        std::thread::sleep(Duration::from_millis(2));
        second.run();
        let t2 = app
            .snapshot()
            .background
            .last_completed_unix_us
            .expect("recorded");
        assert!(
            t2 >= t1 + 2_000,
            "the later completion wins: {t1} then {t2}"
        );

        // A body from a server older than the field still parses.
        let mut old = serde_json::to_value(app.snapshot()).expect("JSON");
        old["background"]
            .as_object_mut()
            .expect("object")
            .remove("last_completed_unix_us");
        let parsed: Stats = serde_json::from_value(old).expect("old body parses");
        assert_eq!(parsed.background.last_completed_unix_us, None);
    }

    fn app_panicking_on(n: u64) -> Arc<App> {
        app_with(4, Some(n))
    }

    /// A "blocking pool" that runs the closure on a new thread and awaits it, like the
    /// servers' `offload`.
    async fn on_a_thread(f: Offloaded) -> Reply {
        let (tx, rx) = async_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = tx.try_send(f());
        });
        rx.recv()
            .await
            .unwrap_or_else(|_| Reply::internal("the pool thread died".into()))
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
    fn an_unreachable_broker_fails_the_start_naming_it() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url = BrokerUrl::parse(&format!("redis://127.0.0.1:{port}")).expect("url");
        let mut limits = app(1).limits.clone();
        limits.broker = Some(url);
        let info = app(1).info();
        let err = App::new(info, limits).expect_err("no broker there");
        let message = err.to_string();
        assert!(
            message.contains(&format!("127.0.0.1:{port}")) && message.contains("--broker"),
            "{message}"
        );
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

    #[test]
    fn a_panicking_background_job_is_counted_failed_and_fails_the_shutdown() {
        let app = app_panicking_on(13);
        let work = |n: u64| Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some(&format!("n={n}")), 100).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: n == 13,
        };
        let (bad, _) = app.accept_background(work(13)).expect("fits");
        let (good, _) = app.accept_background(work(10)).expect("fits");
        std::thread::spawn(move || bad.run())
            .join()
            .expect("the pool thread survives the panic");
        good.run();
        let s = app.snapshot();
        let bg = &s.background;
        assert_eq!(
            (bg.accepted, bg.queued, bg.running, bg.completed, bg.failed),
            (2, 0, 0, 1, 1)
        );
        assert!(bg.is_idle());
        assert_eq!((s.offload.finished, s.offload.panicked), (2, 1));
        stop(&app, Duration::from_secs(5));
        assert!(
            !app.finish_shutdown(),
            "a failed background job is accepted work lost: exit 1"
        );
    }

    fn stop(app: &Arc<App>, timeout: Duration) {
        now(app.shutdown_on(async {}, timeout));
    }

    #[test]
    fn shutdown_waits_for_running_jobs_and_reports_stragglers() {
        let app = app(4);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: false,
        };
        let (job, _) = app.accept_background(work).expect("fits");
        let runner = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            job.run();
        });
        stop(&app, Duration::from_secs(20));
        assert!(
            app.finish_shutdown(),
            "the job finished within the deadline"
        );
        assert_eq!(app.snapshot().background.completed, 1);
        runner.join().expect("runner");
    }

    #[test]
    fn settle_waits_for_a_quiet_period_and_gives_up_at_the_limit() {
        let app = app(1);
        stop(&app, Duration::from_secs(60));
        // Nothing running: one quiet period (a no-op sleep here) and done.
        let mut sleeps = 0;
        let left = crate::test_util::block_on(app.settle(|_| {
            sleeps += 1;
            async {}
        }));
        assert_eq!((left, sleeps), (0, 1));
        // A request in flight throughout: settle gives up at the shutdown deadline (here
        // sooner than SETTLE_LIMIT) and reports it. The watchdog fires 1 s after that
        // deadline; finish_shutdown stands it down long before.
        let app = self::app(1);
        stop(&app, Duration::from_millis(300));
        let busy = app.in_flight.enter();
        let start = Instant::now();
        let left =
            crate::test_util::block_on(app.settle(|d| async move { std::thread::sleep(d / 4) }));
        assert_eq!(left, 1);
        assert!(
            start.elapsed() >= Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
        assert!(
            !app.finish_shutdown(),
            "a request still in flight is reported"
        );
        drop(busy);
    }

    #[test]
    fn finish_in_flight_waits_for_running_requests_up_to_the_deadline() {
        let app = app(1);
        stop(&app, Duration::from_secs(60));
        let busy = app.in_flight.enter();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(busy);
        });
        let left = crate::test_util::block_on(
            app.finish_in_flight(|d| async move { std::thread::sleep(d) }),
        );
        assert_eq!(left, 0, "waited for the request");
        release.join().expect("thread");

        // Past the deadline it gives up and says how many are left. The watchdog fires 1 s
        // after that deadline; finish_shutdown stands it down long before.
        let app = self::app(1);
        stop(&app, Duration::from_millis(100));
        let busy = app.in_flight.enter();
        let left = crate::test_util::block_on(
            app.finish_in_flight(|d| async move { std::thread::sleep(d) }),
        );
        assert_eq!(left, 1);
        assert!(
            !app.finish_shutdown(),
            "a request still in flight is reported"
        );
        drop(busy);
    }

    #[test]
    fn shutdown_reports_jobs_still_running_at_the_deadline() {
        let app = app(4);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: false,
        };
        let (stuck, _) = app.accept_background(work).expect("fits");
        // The watchdog fires 1 s after this deadline; the test is over long before.
        stop(&app, Duration::from_millis(20));
        assert!(!app.finish_shutdown(), "a pending job is reported");
        stuck.run();
    }
}
