//! [`App`], the shared state of one server process, and what every server does through it:
//! validation on the way in, counting on the way out, background-job admission, graceful
//! shutdown and the `/stats` body.
//!
//! A server calls [`App::handle`] with the strategy its router matched and the raw query, and
//! passes a closure that runs the validated [`Work`] the way that runtime does (inline,
//! yielding, offloaded, detached). Everything around that closure is here, once, including
//! what wraps every closure handed to a blocking pool ([`crate::offload`]: a panic answered
//! 500 or counted, the pool measured).
//!
//! # Files
//! One job each; all but this one add `impl App` blocks or types of their own, and the
//! servers see one [`App`] (every public item is re-exported here).
//! - `app.rs`: the state ([`App`]: its fields, [`App::new`]) and what configures it
//!   ([`RuntimeInfo`], [`Limits`], [`StartError`]).
//! - `app/dispatch.rs`: what a server's handlers call, endpoint by endpoint: [`App::handle`]
//!   and the runners of each strategy (CPU pool, blocking pool, `/bounded`'s gate, `/jobs`,
//!   `/queue`), the 500 of a panicking handler, the 501 of an unsupported strategy, the
//!   other endpoints' replies.
//! - `app/work.rs`: [`Work`], a validated request, and how its kernel runs (whole, in slices
//!   between yields, or panicking for `--panic-on-n`).
//! - `app/admission.rs`: background jobs (`/background`): admission under
//!   `--max-background`, [`BackgroundJob`] and its accounting (completed, failed, abandoned).
//! - `app/stats.rs`: the per-strategy answer counts and the `/stats` body ([`Stats`]).
//! - `app/shutdown.rs`: graceful shutdown: its state (a small type of its own, as
//!   mini-redis's `Shutdown`), the stop signal and watchdog ([`App::shutdown_on`]), the drains
//!   and the final report ([`App::finish_shutdown`]).
//!
//! What is counted in progress (requests in flight, pending background jobs) is a
//! `Tracker` (`tracker.rs`), shared with [`crate::jobs`].

use std::sync::Arc;
use std::time::Duration;

use crate::broker::{Broker, BrokerError};
use crate::cache::ResultCache;
use crate::cpu_pool::CpuPool;
use crate::gate::Gate;
use crate::jobs::{JobLimits, Jobs};
use crate::kernel::Kernel;
use crate::lag::LagMonitor;
use crate::offload::Offloads;
use crate::openapi::{ApiDocs, Facts};
use crate::queue::BrokerUrl;
use crate::strategy::RuntimeKind;
use crate::threads::{ThreadCensus, ThreadRole};
use crate::tracker::Tracker;

mod admission;
mod dispatch;
mod shutdown;
mod stats;
mod work;

pub use admission::BackgroundJob;
pub use dispatch::Offloaded;
pub use shutdown::{SETTLE_LIMIT, SETTLE_QUIET};
pub use stats::{BackgroundStats, Stats};
pub use work::Work;

/// What a server reports about its runtime in `/stats`: the values it configured (the measured
/// ones are counted by [`App`] itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The runtime and its flavour (`/stats`' `runtime` and `flavor`); decides which
    /// strategies run at all ([`crate::Strategy::supported_on`]).
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
    /// Most answers `/cached` keeps (`--cache-capacity`).
    pub cache_capacity: u64,
    /// How long `/cached` keeps an answer after computing it (`--cache-ttl`).
    pub cache_ttl: Duration,
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
    /// Not a limit: how long no request must have run before a stopping server closes its
    /// connections, and how often a stopping server checks what it waits for
    /// (`--shutdown-quiet-ms`, default [`SETTLE_QUIET`]).
    pub settle_quiet: Duration,
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

/// Shared state of one server process. Its fields are private to `app`, whose files (the
/// module doc's "Files") each add the methods of one job.
#[derive(Debug)]
pub struct App {
    info: RuntimeInfo,
    limits: Limits,
    /// Answers per strategy (served, refused, panicked), for `/stats` and the shutdown's
    /// quiet period.
    answers: stats::Answers,
    in_flight: Tracker,
    background: admission::Background,
    cpu_pool: CpuPool,
    gate: Gate,
    jobs: Jobs,
    /// `/cached`'s answers (in front of `cpu_pool`).
    cache: ResultCache,
    /// Every closure handed to the blocking pool runs inside it.
    offloads: Arc<Offloads>,
    /// The threads that have polled a strategy request's handler.
    executor_threads: ThreadCensus,
    /// Where the graceful shutdown stands: its deadline, and whether it has reported.
    shutdown: shutdown::Shutdown,
    /// The executor-lag monitor (`/lag`); its heartbeat is spawned by the server.
    lag: Arc<LagMonitor>,
    /// `/openapi.json` and `/docs`, rendered once for this server's flags.
    api: ApiDocs,
    /// The `/queue` broker, connected at start-up (`--broker`).
    broker: Option<Broker>,
}

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
            answers: stats::Answers::default(),
            in_flight: Tracker::default(),
            background: admission::Background::default(),
            cpu_pool: CpuPool::new(limits.cpu_threads, limits.cpu_pool_nice)?,
            gate: Gate::new(limits.cpu_threads, limits.max_queue),
            jobs: Jobs::new(job_limits),
            cache: ResultCache::new(limits.cache_capacity, limits.cache_ttl),
            offloads: Arc::default(),
            executor_threads: ThreadCensus::of_role(ThreadRole::Executor),
            shutdown: shutdown::Shutdown::default(),
            // One heartbeat per worker where workers never take work from each other
            // (actix-web): one would watch one worker only (common::lag, "Lanes").
            lag: Arc::new(LagMonitor::with_lanes(
                limits.lag_interval,
                if info.kind == RuntimeKind::Actix {
                    info.executor_threads
                } else {
                    1
                },
            )),
            api,
            broker,
            limits,
        }))
    }

    /// The runtime facts this server was built with.
    pub fn info(&self) -> RuntimeInfo {
        self.info
    }
}

/// What the tests of `app`'s files share: a small App (a smol server's, one thread of each
/// kind, no broker) and ways to drive it without a runtime.
#[cfg(test)]
mod testing {
    use std::future::Future;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use super::{App, Limits, Offloaded, RuntimeInfo, Work};
    use crate::kernel;
    use crate::params;
    use crate::reply::Reply;
    use crate::strategy::{RuntimeKind, Strategy};

    pub(super) fn app(max_background: usize) -> Arc<App> {
        app_with(max_background, None)
    }

    pub(super) fn app_panicking_on(n: u64) -> Arc<App> {
        app_with(4, Some(n))
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
                cache_capacity: 4,
                cache_ttl: Duration::from_secs(60),
                cpu_pool_nice: None,
                lag_interval: None,
                panic_on_n,
                kernel: kernel::DEFAULT,
                broker: None,
                settle_quiet: super::SETTLE_QUIET,
            },
        )
        .expect("app")
    }

    /// A `/background` request for n = 10, validated.
    pub(super) fn background_work() -> Work {
        Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some("n=10"), 10).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: false,
        }
    }

    /// The output of a future that is ready at its first poll.
    pub(super) fn now<F: Future>(fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("future was not ready"),
        }
    }

    /// The stop signal, at once: the shutdown deadline is `timeout` from now.
    pub(super) fn stop(app: &Arc<App>, timeout: Duration) {
        now(app.shutdown_on(async {}, timeout));
    }

    /// A "blocking pool" that runs the closure on a new thread and awaits it, like the
    /// servers' `offload`.
    pub(super) async fn on_a_thread(f: Offloaded) -> Reply {
        let (tx, rx) = async_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = tx.try_send(f());
        });
        rx.recv()
            .await
            .unwrap_or_else(|_| Reply::internal("the pool thread died".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::app;
    use super::*;

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
}
