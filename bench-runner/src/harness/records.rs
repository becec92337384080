//! What a pair's measurement records, raw: who was measured ([`Labels`]), its verification,
//! T1, and its rounds ([`Round`]: every request and probe, CPU, lag, memory), with where each
//! round sat in the run ([`Place`]). The figures are derived later
//! ([`summary`](super::summary)), so the CSVs and the console agree by construction.

use std::time::Duration;

use common::Strategy;
use conformance::{Outcome, Report};

use super::cache_mix::{CacheRound, Keys};
use super::http::RequestError;
use super::lag::LagWindow;
use super::probe::ProbeRecord;
use crate::sched::Usage;
use crate::settings::Plan;
use crate::targets::Target;

/// The names a measurement's rows carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// `tokio`, `async-std`, `smol`, or `external`.
    pub target: String,
    /// The runtime (empty for an external target: unknown).
    pub runtime: String,
    /// The framework (empty for an external target: unknown).
    pub framework: String,
    /// `reqwest` or `surf`.
    pub client: &'static str,
    /// `--workers` given to the server (`None` for an external target).
    pub workers: Option<usize>,
}

impl Labels {
    /// The labels of one of our servers.
    pub fn of_server(target: &Target, client: &'static str, workers: usize) -> Labels {
        Labels {
            target: target.name.into(),
            runtime: target.runtime.into(),
            framework: target.framework.into(),
            client,
            workers: Some(workers),
        }
    }

    /// The labels of the `--url` server.
    pub fn external(client: &'static str) -> Labels {
        Labels {
            target: "external".into(),
            runtime: String::new(),
            framework: String::new(),
            client,
            workers: None,
        }
    }
}

/// One request of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// Position in the batch, from 0.
    pub index: usize,
    /// When it was sent, from the batch's start.
    pub start_offset: Duration,
    /// Send to last byte of the body (client included).
    pub latency: Duration,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// `None` when the answer was verified.
    pub error: Option<RequestError>,
}

/// A lone request, checked: its answer, and for `/background` on our servers when the job it
/// started ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Lone {
    /// The request, timed as every other: send to the answer's last byte.
    pub record: RequestRecord,
    /// `/background` on our servers (it answers before its work): from the send to the
    /// server's record of the job's end.
    pub done: Option<Duration>,
}

impl Lone {
    /// The work's time alone: until the job's end where the answer comes before it, else the
    /// answer's round trip.
    pub fn work(&self) -> Duration {
        self.done.unwrap_or(self.record.latency)
    }
}

/// Where a round sits in the run: which pass, where in the pass's order, on which server
/// process, and when it started. rounds.csv carries it, so a reader can see that a pair's
/// rounds are spread over the run and come from several processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place {
    /// The pass, from 1 (0: not run in passes).
    pub pass: u32,
    /// Position in the pass's shuffled order, from 0.
    pub position: usize,
    /// The server's pid (`None`: an external server).
    pub server_pid: Option<u32>,
    /// The batch's start, from the run's start.
    pub start_offset: Duration,
}

/// One batch of C requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// From 1.
    pub number: u32,
    /// Where it ran.
    pub place: Place,
    /// The lone request just before it, its round trip: the machine's speed at that moment,
    /// against the pair's T1 (the fastest of all its lone requests).
    pub lone: Option<Duration>,
    /// `/background` on our servers: that lone request's job's end, from its send (against
    /// the pair's [`Measurement::t1_done`]).
    pub lone_done: Option<Duration>,
    /// Batch start to the last answer.
    pub batch: Duration,
    /// The kernels the server ran for the batch, where it counted them: `/cached`'s misses
    /// (its identical requests coalesce into one computation). `None`: one per request.
    pub kernels: Option<u64>,
    /// `/background` on our servers: batch start until `/stats` shows every job finished.
    pub background_done: Option<Duration>,
    /// The C requests, by index.
    pub requests: Vec<RequestRecord>,
    /// The probes sent while the round ran.
    pub probes: Vec<ProbeRecord>,
    /// CPU time (user + system) the server used in the round's window (`None`: an external
    /// target, or /proc unreadable). The window runs from just before the batch's clock starts
    /// to the batch's end, for `/background` on our servers to the jobs' completion seen.
    pub server_cpu: Option<Duration>,
    /// CPU time bench-runner itself used in the same window (every thread: batch, probe).
    pub client_cpu: Option<Duration>,
    /// Wall time of that window (between the two CPU readings).
    pub cpu_wall: Option<Duration>,
    /// The scheduler's per-thread figures for the same window ([`crate::sched`]): the
    /// server's threads by role, the queue workers, the broker, bench-runner (`None`: an
    /// external target, or a kernel without schedstat, where `server_cpu` and `client_cpu`
    /// come from clock ticks).
    pub sched: Option<Usage>,
    /// The server's executor lag in the round's window (`None`: no /lag, or an external target).
    pub lag: Option<LagWindow>,
    /// The server's peak resident memory during the round, KiB (VmHWM, reset before the
    /// batch); `None` for an external server (its pid is unknown) or off Linux.
    pub server_peak_rss_kib: Option<u64>,
}

/// The conformance verdict, as kept for the CSVs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Every check passed (skipped ones do not count against).
    pub passed: bool,
    /// Checks passed.
    pub checks_passed: usize,
    /// `name: reason` of each failed check.
    pub failed: Vec<String>,
    /// `name: reason` of each skipped check.
    pub skipped: Vec<String>,
}

impl Verification {
    /// `   verified: yes (41 checks passed, 0 failed, 3 skipped)`, printed when it happens.
    pub fn line(&self) -> String {
        format!(
            "   verified: {} ({} checks passed, {} failed, {} skipped)",
            if self.passed { "yes" } else { "NO" },
            self.checks_passed,
            self.failed.len(),
            self.skipped.len()
        )
    }

    pub(crate) fn of(report: &Report) -> Verification {
        let mut v = Verification {
            passed: report.passed(),
            checks_passed: 0,
            failed: vec![],
            skipped: vec![],
        };
        for check in &report.checks {
            match &check.outcome {
                Outcome::Passed => v.checks_passed += 1,
                Outcome::Failed(why) => v.failed.push(format!("{}: {why}", check.name)),
                Outcome::Skipped(why) => v.skipped.push(format!("{}: {why}", check.name)),
            }
        }
        v
    }
}

/// Everything recorded for one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Who was measured.
    pub labels: Labels,
    /// Which endpoint.
    pub strategy: Strategy,
    /// How.
    pub plan: Plan,
    /// The conformance verdict (`None` if the server never answered).
    pub verification: Option<Verification>,
    /// The fastest lone request's round trip, for every strategy.
    pub t1: Option<Duration>,
    /// `/background` on our servers: the fastest of its lone requests' jobs, from the send to
    /// the server's record of the job's end. It answers before its work, so this, not `t1`,
    /// is its work alone ([`Measurement::work_alone`]).
    pub t1_done: Option<Duration>,
    /// The rounds run (fewer than planned if it failed).
    pub rounds: Vec<Round>,
    /// Why the pair failed, if it did.
    pub failure: Option<String>,
    /// Why the pair was not measured because the target's runtime cannot run the strategy
    /// (`Strategy::supported_on`): not a failure, and no server was started.
    pub not_applicable: Option<String>,
    /// Remarks for the reader (what was not measured and why).
    pub notes: Vec<String>,
    /// What sets this pair apart beyond target, workers and strategy (the pools experiment's
    /// pool size and priority, `pool 4, nice 19`), appended to its name so that messages and
    /// stop notes tell its configurations apart.
    pub variant: Option<String>,
    /// `/cached` only: the `n` it has asked for so far (each round a fresh one).
    pub keys: Keys,
    /// `/cached` only: its rounds with the cache's counts, the batch's own (`Mix::Identical`)
    /// and those at each hit ratio asked.
    pub cache_rounds: Vec<CacheRound>,
}

impl Measurement {
    pub(crate) fn new(labels: Labels, strategy: Strategy, plan: Plan) -> Measurement {
        Measurement {
            labels,
            strategy,
            plan,
            verification: None,
            t1: None,
            t1_done: None,
            rounds: vec![],
            failure: None,
            not_applicable: None,
            notes: vec![],
            variant: None,
            keys: Keys::default(),
            cache_rounds: vec![],
        }
    }

    /// Keeps T1 (and `t1_done`) the fastest of every lone request so far, `lone` included:
    /// on a shared machine interference only ever adds time.
    pub fn keep_fastest(&mut self, lone: &Lone) {
        let min = |a: Option<Duration>, b: Duration| Some(a.map_or(b, |a| a.min(b)));
        self.t1 = min(self.t1, lone.record.latency);
        if let Some(done) = lone.done {
            self.t1_done = min(self.t1_done, done);
        }
    }

    /// The time one request's work takes alone, which the ideal batch and the stall rule
    /// rest on: [`Measurement::t1_done`] where the answer comes before the work
    /// (`/background`), else T1.
    pub fn work_alone(&self) -> Option<Duration> {
        self.t1_done.or(self.t1)
    }

    /// `tokio, workers=1, /thread`: how messages name the pair.
    pub fn name(&self) -> String {
        let name = match self.labels.workers {
            Some(w) => format!(
                "{}, workers={w}, {}",
                self.labels.target,
                self.strategy.path()
            ),
            None => format!("{}, {}", self.labels.target, self.strategy.path()),
        };
        match &self.variant {
            Some(v) => format!("{name}, {v}"),
            None => name,
        }
    }
}

/// Where lines for the user go (the progress bar must not be torn by them).
pub trait Log: Sync {
    /// Prints one line.
    fn line(&self, line: &str);
}
