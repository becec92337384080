//! Server state and request accounting shared by the three servers: validation on the way in,
//! counting on the way out, background-job admission and drain, and the `/stats` body.
//!
//! A server calls [`App::handle`] with the strategy its router matched and the raw query, and
//! passes a closure that runs the validated [`Work`] the way that runtime does (inline,
//! yielding, offloaded, detached). Everything around that closure is here, once.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cpu_pool::CpuPool;
use crate::gate::{Gate, GateStats};
use crate::jobs::{JobLimits, JobStats, Jobs};
use crate::kernel;
use crate::params::{self, Params};
use crate::reply::{Accepted, Computed, Reply};
use crate::strategy::Strategy;

/// How long no request must have run before a stopping server closes its connections
/// ([`App::settle`]).
pub const SETTLE_QUIET: Duration = Duration::from_millis(200);
/// The longest a stopping server waits for its connections to go quiet ([`App::settle`]).
pub const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// What a server reports about its runtime in `/stats`: the values really in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// `tokio`, `async-std` or `smol`.
    pub runtime: &'static str,
    /// `axum`, `tide` or `hyper`.
    pub framework: &'static str,
    /// Threads that poll async tasks (accepting connections included).
    pub executor_threads: usize,
    /// Most threads the blocking pool may start.
    pub blocking_threads_max: usize,
    /// How long a client may take to send its request headers before the connection is closed.
    pub header_read_timeout: Duration,
}

/// Limits from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// Shared state of one server process.
#[derive(Debug)]
pub struct App {
    info: RuntimeInfo,
    limits: Limits,
    served: [AtomicU64; Strategy::ALL.len()],
    refused: [AtomicU64; Strategy::ALL.len()],
    in_flight: Tracker,
    background: Background,
    cpu_pool: CpuPool,
    gate: Gate,
    jobs: Jobs,
    /// When the graceful shutdown must be over; set by the stop signal.
    deadline: Mutex<Option<Instant>>,
    /// Set once `finish_shutdown` has reported; the watchdog then stands down.
    finished: std::sync::atomic::AtomicBool,
}

/// A validated request, ready to run.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    /// The strategy its endpoint names.
    pub strategy: Strategy,
    /// Its validated parameters.
    pub params: Params,
}

impl App {
    /// State for a server with this runtime and these limits; starts the CPU pool.
    pub fn new(info: RuntimeInfo, limits: Limits) -> Result<Arc<App>, rayon::ThreadPoolBuildError> {
        let job_limits = JobLimits {
            max_queue: limits.max_queue,
            capacity: limits.job_capacity,
            ttl: limits.job_ttl,
        };
        Ok(Arc::new(App {
            info,
            limits,
            served: Default::default(),
            refused: Default::default(),
            in_flight: Tracker::default(),
            background: Background::default(),
            cpu_pool: CpuPool::new(limits.cpu_threads)?,
            gate: Gate::new(limits.cpu_threads, limits.max_queue),
            jobs: Jobs::new(job_limits),
            deadline: Mutex::new(None),
            finished: Default::default(),
        }))
    }

    /// The runtime facts this server was built with.
    pub fn info(&self) -> RuntimeInfo {
        self.info
    }

    /// Validates `query` for `strategy`, runs `run` on the result, and counts the outcome.
    /// Bad input never reaches `run`: it gets its 400 here.
    pub async fn handle<F, Fut>(&self, strategy: Strategy, query: Option<&str>, run: F) -> Reply
    where
        F: FnOnce(Work) -> Fut,
        Fut: Future<Output = Reply>,
    {
        let _in_flight = self.in_flight.enter();
        let reply = match params::parse(strategy, query, self.limits.max_n) {
            Ok(params) => run(Work { strategy, params }).await,
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
            pending: Some(pending),
        };
        Ok((job, accepted))
    }

    /// Runs `work` on the CPU pool (rayon) and awaits it through a channel (`/rayon`).
    pub async fn run_on_cpu_pool(&self, work: Work) -> Reply {
        self.cpu_pool
            .run(move || work.run())
            .await
            .unwrap_or_else(|e| Reply::internal(e.to_string()))
    }

    /// `/bounded`: waits (asynchronously, holding no thread) for one of `--cpu-threads`
    /// permits, then runs `work` through `offload`, the runtime's blocking pool; or answers 503
    /// at once when `--max-queue` requests are already waiting.
    pub async fn run_bounded<O, Fut>(&self, work: Work, offload: O) -> Reply
    where
        O: FnOnce(Box<dyn FnOnce() -> Reply + Send>) -> Fut,
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
        offload(Box::new(move || {
            // The permit is held until the kernel is done, on the pool thread.
            let _slot = slot;
            work.run()
        }))
        .await
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
        Stats {
            runtime: self.info.runtime.into(),
            framework: self.info.framework.into(),
            executor_threads: self.info.executor_threads,
            blocking_threads_max: self.info.blocking_threads_max,
            header_read_timeout_ms: u64::try_from(self.info.header_read_timeout.as_millis())
                .unwrap_or(u64::MAX),
            max_n: self.limits.max_n,
            cpu_threads: self.cpu_pool.threads(),
            in_flight: self.in_flight.count(),
            background: BackgroundStats {
                accepted,
                queued: accepted.saturating_sub(started + abandoned),
                running: started.saturating_sub(completed),
                completed,
                rejected: bg.rejected.load(Ordering::Relaxed),
                abandoned,
                limit: self.limits.max_background,
                last_completed_unix_us: (last_completed > 0).then_some(last_completed),
            },
            bounded: self.gate.stats(),
            jobs: self.jobs.stats(),
            served: counts(&self.served),
            refused: counts(&self.refused),
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

    /// Strategy requests started so far: answered ones plus those in flight.
    fn activity(&self) -> u64 {
        let answered: u64 = self
            .served
            .iter()
            .chain(self.refused.iter())
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        answered + u64::try_from(self.in_flight.count()).unwrap_or(u64::MAX)
    }

    /// The last step of a graceful shutdown, called on a plain thread once the server has
    /// stopped: waits for accepted background jobs until the deadline and logs one line saying
    /// how many completed and how many were abandoned. Accepted work is never dropped silently.
    /// Returns whether everything finished (the server then exits 0).
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
        if still == 0 {
            eprintln!(
                "shutdown: {} background jobs accepted, {} completed ({pending_before} finished during shutdown), 0 abandoned",
                s.accepted, s.completed
            );
        } else {
            eprintln!(
                "shutdown: {} background jobs accepted, {} completed, {still} ABANDONED \
                 (still running at the shutdown deadline; their results are lost)",
                s.accepted, s.completed
            );
        }
        self.finished.store(true, Ordering::SeqCst);
        still == 0 && jobs_left == 0 && requests_left == 0
    }

    fn time_left(&self) -> Duration {
        let deadline = *self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }
}

impl Work {
    /// Runs the kernel this strategy uses on the current thread, timed, and builds the 200:
    /// the iterator form for `/generator`, the manual loop for everything else.
    pub fn run(self) -> Reply {
        let (total, elapsed) = self.compute();
        self.computed(total, elapsed)
    }

    /// Runs the kernel this strategy uses on the current thread: the total and how long it took.
    pub fn compute(&self) -> (u128, Duration) {
        let kernel = match self.strategy {
            Strategy::Generator => kernel::sum_squares_iter,
            Strategy::Cycle
            | Strategy::CycleSleep
            | Strategy::Thread
            | Strategy::Background
            | Strategy::Rayon
            | Strategy::Bounded
            | Strategy::Jobs => kernel::sum_squares_loop,
        };
        let start = Instant::now();
        let total = kernel(self.params.n);
        (total, start.elapsed())
    }

    /// Runs the manual loop, awaiting `yield_now()` every `yield_every` iterations.
    pub async fn run_yielding<Y, F>(self, yield_now: Y) -> Reply
    where
        Y: FnMut() -> F,
        F: Future<Output = ()>,
    {
        let start = Instant::now();
        let total =
            kernel::sum_squares_yielding(self.params.n, self.params.yield_every, yield_now).await;
        self.computed(total, start.elapsed())
    }

    fn computed(self, total: u128, elapsed: Duration) -> Reply {
        Reply::json(
            200,
            &Computed {
                strategy: self.strategy.name().into(),
                n: self.params.n,
                total: total.to_string(),
                compute_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            },
        )
    }
}

/// An accepted background job. Run it on a blocking pool with [`BackgroundJob::run`]. If it is
/// dropped without running (a cancelled smol `Task`, say), it is counted as abandoned and a
/// line goes to stderr: accepted work is never lost silently.
#[derive(Debug)]
pub struct BackgroundJob {
    work: Work,
    counters: Arc<JobCounters>,
    pending: Option<TrackerGuard>,
}

impl BackgroundJob {
    /// Runs the kernel on the current thread and counts the job completed.
    pub fn run(mut self) {
        self.counters.started.fetch_add(1, Ordering::Relaxed);
        let _ = self.work.run();
        // The time first, then the count (Release): a client that sees the job completed in
        // `/stats` sees its completion time too. fetch_max: the latest of all jobs, whatever
        // order pool threads get here in.
        self.counters
            .last_completed_unix_us
            .fetch_max(unix_micros(SystemTime::now()), Ordering::Relaxed);
        self.counters.completed.fetch_add(1, Ordering::Release);
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
    abandoned: AtomicU64,
    /// Wall-clock µs since the Unix epoch of the latest completion; 0 before the first.
    last_completed_unix_us: AtomicU64,
}

/// Microseconds from the Unix epoch to `t` (0 for a clock set before 1970).
fn unix_micros(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The `/stats` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// `tokio`, `async-std` or `smol`.
    pub runtime: String,
    /// `axum`, `tide` or `hyper`.
    pub framework: String,
    /// Threads polling async tasks.
    pub executor_threads: usize,
    /// Cap of the blocking pool.
    pub blocking_threads_max: usize,
    /// Header-read timeout in force, ms.
    pub header_read_timeout_ms: u64,
    /// Largest `n` accepted.
    pub max_n: u64,
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
    /// 2xx answers per strategy name.
    pub served: std::collections::BTreeMap<String, u64>,
    /// 4xx/5xx answers per strategy name.
    pub refused: std::collections::BTreeMap<String, u64>,
}

/// Background-job accounting in `/stats`. Invariant: accepted = queued + running + completed + abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundStats {
    /// Jobs answered with 202.
    pub accepted: u64,
    /// Accepted, waiting for a pool thread.
    pub queued: u64,
    /// Running on a pool thread now.
    pub running: u64,
    /// Finished.
    pub completed: u64,
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

/// A count of things in progress that can be waited on from a plain thread (the server's main
/// thread at shutdown), whatever runtime the things run on.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    count: Arc<(Mutex<usize>, Condvar)>,
}

#[derive(Debug)]
pub(crate) struct TrackerGuard {
    count: Arc<(Mutex<usize>, Condvar)>,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.count.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn count(&self) -> usize {
        *self.lock()
    }

    pub(crate) fn enter(&self) -> TrackerGuard {
        *self.lock() += 1;
        TrackerGuard {
            count: Arc::clone(&self.count),
        }
    }

    pub(crate) fn try_enter(&self, limit: usize) -> Option<TrackerGuard> {
        let mut count = self.lock();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(TrackerGuard {
            count: Arc::clone(&self.count),
        })
    }

    pub(crate) fn wait_idle(&self, timeout: Duration) -> usize {
        let (_, idle) = &*self.count;
        let guard = self.lock();
        let (guard, _) = idle
            .wait_timeout_while(guard, timeout, |count| *count > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

impl Drop for TrackerGuard {
    fn drop(&mut self) {
        let (lock, idle) = &*self.count;
        let mut count = lock.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            idle.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ErrorBody;
    use std::task::{Context, Poll, Waker};

    fn app(max_background: usize) -> Arc<App> {
        App::new(
            RuntimeInfo {
                runtime: "test",
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
    }

    #[test]
    fn background_admission_limit_and_accounting() {
        let app = app(2);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
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
        assert!(app.finish_shutdown(), "nothing pending");
    }

    #[test]
    fn background_completion_time_is_the_latest_wall_clock_completion() {
        let app = app(4);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
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

    fn stop(app: &Arc<App>, timeout: Duration) {
        now(app.shutdown_on(async {}, timeout));
    }

    #[test]
    fn shutdown_waits_for_running_jobs_and_reports_stragglers() {
        let app = app(4);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
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
    fn shutdown_reports_jobs_still_running_at_the_deadline() {
        let app = app(4);
        let work = Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
        };
        let (stuck, _) = app.accept_background(work).expect("fits");
        // The watchdog fires 1 s after this deadline; the test is over long before.
        stop(&app, Duration::from_millis(20));
        assert!(!app.finish_shutdown(), "a pending job is reported");
        stuck.run();
    }
}
