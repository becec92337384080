//! `/stats`: the per-strategy answer counts ([`Answers`], counted by `dispatch.rs`) and the
//! body ([`Stats`]), assembled from every part of the state by [`App::snapshot`].
//!
//! Thread counts come in two kinds, named apart: *configured* (what the server set up from its
//! flags: `executor_threads`, `blocking_threads_max`) and *measured* (what really ran:
//! `executor_threads_seen` and the `offload` section). If a measured count passes its
//! configured one, the flag configures something nobody uses.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::App;
use crate::cache::CacheStats;
use crate::gate::GateStats;
use crate::jobs::JobStats;
use crate::kernel;
use crate::offload::OffloadStats;
use crate::reply::Reply;
use crate::strategy::{RuntimeKind, Strategy};

/// Strategy requests answered, per strategy: 2xx (served), 4xx/5xx (refused), and those whose
/// handler panicked (answered 500 by [`App::answer_panic`]), plus the panics on the other
/// endpoints.
#[derive(Debug, Default)]
pub(super) struct Answers {
    served: [AtomicU64; Strategy::ALL.len()],
    refused: [AtomicU64; Strategy::ALL.len()],
    panicked: [AtomicU64; Strategy::ALL.len()],
    panicked_elsewhere: AtomicU64,
}

impl Answers {
    /// Counts an answer to `strategy`: served if `success`, refused otherwise.
    pub(super) fn count(&self, strategy: Strategy, success: bool) {
        let counter = if success { &self.served } else { &self.refused };
        counter[index(strategy)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a handler's panic, at `strategy`'s endpoint or (`None`) at another.
    pub(super) fn count_panic(&self, strategy: Option<Strategy>) {
        match strategy {
            Some(s) => &self.panicked[index(s)],
            None => &self.panicked_elsewhere,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Strategy requests answered so far, however they were.
    pub(super) fn total(&self) -> u64 {
        self.served
            .iter()
            .chain(self.refused.iter())
            .chain(self.panicked.iter())
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// `counts` by strategy name.
fn by_name(counts: &[AtomicU64]) -> BTreeMap<String, u64> {
    Strategy::ALL
        .iter()
        .map(|s| {
            (
                s.name().to_owned(),
                counts[index(*s)].load(Ordering::Relaxed),
            )
        })
        .collect()
}

fn index(strategy: Strategy) -> usize {
    Strategy::ALL
        .iter()
        .position(|s| *s == strategy)
        .unwrap_or_default()
}

impl App {
    /// The `/stats` reply.
    pub fn stats(&self) -> Reply {
        Reply::json(200, &self.snapshot())
    }

    /// The figures `/stats` reports.
    pub fn snapshot(&self) -> Stats {
        let answers = &self.answers;
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
            threads_alive: crate::threads::AliveThreads::now(),
            in_flight: self.in_flight.count(),
            background: self.background.stats(self.limits.max_background),
            bounded: self.gate.stats(),
            jobs: self.jobs.stats(),
            cache: self.cache.stats(),
            offload: self.offloads.stats(),
            panic_on_n: self.limits.panic_on_n,
            broker: self.broker.as_ref().map(|b| b.url().to_string()),
            cpus: crate::placement::pinned(),
            cpu_pool_nice: self.limits.cpu_pool_nice,
            served: by_name(&answers.served),
            refused: by_name(&answers.refused),
            panicked: by_name(&answers.panicked),
            panicked_elsewhere: answers.panicked_elsewhere.load(Ordering::Relaxed),
        }
    }
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
    /// Configured: threads of the CPU pool (`--cpu-threads`); `/bounded`'s permits are
    /// `bounded.permits`. Measured: `threads_alive.cpu_pool`.
    pub cpu_threads: usize,
    /// Measured: the OS threads alive now by role, from their names (`/proc/self/task`):
    /// the CPU pool's real size, and the blocking pool's threads alive (at most
    /// `blocking_threads_max`); `null` off Linux and in bodies from older servers.
    #[serde(default)]
    pub threads_alive: Option<crate::threads::AliveThreads>,
    /// Strategy requests being handled now.
    pub in_flight: usize,
    /// Background-job accounting.
    pub background: BackgroundStats,
    /// `/bounded`'s semaphore and queue.
    pub bounded: GateStats,
    /// The job API.
    pub jobs: JobStats,
    /// `/cached`'s cache: its bound, its entries and how its lookups went (zeros in bodies
    /// from servers older than the field).
    #[serde(default)]
    pub cache: CacheStats,
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
