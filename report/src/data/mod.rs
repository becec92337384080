//! Loading and checking a results directory: the CSVs and metadata.json that bench-runner
//! writes, and nothing else: the batch experiment's four CSVs, the sizes, rate and queue
//! experiments' summaries, each read when metadata.json lists its experiment.
//!
//! Each file is read by column *name*, so a column bench-runner adds later does not break the
//! report, while a column the report needs and cannot find is an error naming the file. Every
//! problem is a [`DataError`] naming the file and, for a CSV, the line (1 is the header):
//! a report built on half-read data would be worse than none.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use common::Strategy;
use results_format::{
    Experiment, METADATA, PASSES, PROBES, RAW, ROUNDS, SIZES_RAW, SIZES_SUMMARY, SUMMARY,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub mod cache;
pub mod pools;
pub mod queue;
pub mod rate;

pub use pools::PoolsRow;
pub use queue::{Cores, QueueResults, QueueRow};
pub use rate::{RateResults, RateRow};

/// What can go wrong reading a results directory.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file the report needs is not there.
    #[error("{}: not found (run bench-runner first: `make all-bench`)", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CSV line that cannot be read as the report expects.
    #[error("{}, line {line}: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number; 1 is the header.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// metadata.json is not the JSON the report expects.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong (serde_json's message, with its line and column).
        message: String,
    },
    /// The files disagree with each other (a raw row of a pair summary.csv does not list).
    #[error("{}: {message}", path.display())]
    Inconsistent {
        /// The file holding the row that does not fit.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
}

/// metadata.json: one struct, declared in `results-format` (bench-runner writes it). Fields
/// older runs lack read as empty or `None`; unknown fields are ignored.
pub use results_format::Metadata;

/// What identifies a measurement: server, executor threads, strategy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PairKey {
    /// bench-runner's target name (`tokio`).
    pub target: String,
    /// Executor threads; `None` for an external server.
    pub workers: Option<u32>,
    /// The strategy.
    pub strategy: Strategy,
}

impl fmt::Display for PairKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.workers {
            Some(w) => write!(
                f,
                "{} × {w} workers × {}",
                self.target,
                self.strategy.path()
            ),
            None => write!(f, "{} × {}", self.target, self.strategy.path()),
        }
    }
}

/// One row of summary.csv: one pair. Percentiles are pooled over all its rounds (every
/// answered request, every probe); `_mean`, `_sd`, `_min` and `_max` are over rounds.
#[derive(Debug, Clone, Deserialize)]
pub struct SummaryRow {
    /// Target name.
    pub target: String,
    /// Runtime (`tokio`).
    pub runtime: String,
    /// Framework (`axum`).
    pub framework: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy name.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// The kernel (`sum-squares` for runs older than the column).
    #[serde(default = "sum_squares")]
    pub kernel: String,
    /// Kernel size.
    pub n: u64,
    /// Requests per batch.
    pub concurrency: u64,
    /// Rounds measured.
    pub rounds: u32,
    /// `ok`, `failed` or `not_applicable`.
    pub result: String,
    /// Why it failed.
    pub failure: Option<String>,
    /// T1: the fastest lone request's round trip, ms, for every strategy.
    pub t1_ms: Option<f64>,
    /// `/background` on our servers: the fastest lone request's job, from its send to the
    /// server's record of its end, ms ([`SummaryRow::work_alone_ms`]).
    pub t1_done_ms: Option<f64>,
    /// C × T1 / min(C, cores), ms.
    pub ideal_batch_ms: Option<f64>,
    /// Batch wall time (all answers in), mean over rounds, ms. For `/background` the 202s only.
    pub batch_ms_mean: Option<f64>,
    /// Its sample standard deviation.
    pub batch_ms_sd: Option<f64>,
    /// Fastest round, ms.
    pub batch_ms_min: Option<f64>,
    /// Slowest round, ms.
    pub batch_ms_max: Option<f64>,
    /// Ideal / measured, mean over rounds (for `/background` measured until the work is done).
    pub efficiency_mean: Option<f64>,
    /// Request median, pooled over rounds, µs.
    pub latency_us_p50: Option<f64>,
    /// Request p99, pooled over rounds, µs.
    pub latency_us_p99: Option<f64>,
    /// Requests sent (C × rounds).
    pub requests: u64,
    /// Requests that timed out (no answer, so not in the latency percentiles).
    pub errors_timeout: u64,
    /// Requests that failed in transport (no answer either).
    pub errors_transport: u64,
    /// Probes sent, failed ones included: the samples the probe percentiles rest on.
    pub probes: u64,
    /// Probes that got no answer (timeout or transport error); each counts in the percentiles
    /// at no less than the probe timeout.
    pub probe_errors: u64,
    /// Probe median, pooled over rounds, µs.
    pub probe_latency_us_p50: Option<f64>,
    /// Probe p99, pooled over rounds, µs.
    pub probe_latency_us_p99: Option<f64>,
    /// Largest probe latency, µs.
    pub probe_latency_us_max: Option<f64>,
    /// The load generator's own lateness in sending a probe, p99, µs (not charged to the
    /// server).
    pub probe_harness_late_us_p99: Option<f64>,
    /// Until every background job finished, mean over rounds, ms.
    pub background_done_ms_mean: Option<f64>,
    /// Its sample standard deviation.
    pub background_done_ms_sd: Option<f64>,
    /// Fastest round, ms.
    pub background_done_ms_min: Option<f64>,
    /// Slowest round, ms.
    pub background_done_ms_max: Option<f64>,
    /// Heartbeat samples of the server's lag windows, all rounds; `None`: lag not measured.
    pub lag_samples: Option<u64>,
    /// The server's executor lag p99, median over rounds, µs.
    pub lag_us_p99_median: Option<f64>,
    /// The server's largest executor lag, µs.
    pub lag_us_max: Option<f64>,
    /// Server CPU time ÷ window wall time, mean over rounds.
    pub server_cores_used_mean: Option<f64>,
    /// Server CPU time per round, mean, ms.
    pub server_cpu_ms_mean: Option<f64>,
    /// bench-runner's own CPU time per round, mean, ms.
    pub client_cpu_ms_mean: Option<f64>,
    /// The executor threads' on-CPU share of the window, median over rounds (the scheduler's
    /// figures; `None` without them).
    #[serde(default)]
    pub executor_busy_share_median: Option<f64>,
    /// Run-queue time per executor thread, median over rounds, ms.
    #[serde(default)]
    pub executor_runq_ms_per_thread_median: Option<f64>,
    /// Whose stall the pair's probe saw, as bench-runner decided it (`executor_busy`,
    /// `waiting_for_cpu`, `elsewhere`, `none`; empty: not decided).
    #[serde(default)]
    pub attribution: Option<String>,
    /// The server's peak resident memory, largest over rounds, MiB; `None` for an external
    /// server or a run older than the column.
    #[serde(default)]
    pub server_peak_rss_mib_max: Option<f64>,
}

/// The kernel of runs older than the `kernel` column.
fn sum_squares() -> String {
    common::kernel::DEFAULT.name().into()
}

impl SummaryRow {
    /// One request's work alone, ms, which the ideal batch and the stall rule rest on:
    /// `t1_done_ms` where the answer comes before the work (`/background`), else T1.
    pub fn work_alone_ms(&self) -> Option<f64> {
        self.t1_done_ms.or(self.t1_ms)
    }

    /// The columns of summary.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "runtime",
        "framework",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "rounds",
        "result",
        "failure",
        "t1_ms",
        "t1_done_ms",
        "ideal_batch_ms",
        "batch_ms_mean",
        "batch_ms_sd",
        "batch_ms_min",
        "batch_ms_max",
        "efficiency_mean",
        "latency_us_p50",
        "latency_us_p99",
        "requests",
        "errors_timeout",
        "errors_transport",
        "probes",
        "probe_errors",
        "probe_latency_us_p50",
        "probe_latency_us_p99",
        "probe_latency_us_max",
        "probe_harness_late_us_p99",
        "background_done_ms_mean",
        "background_done_ms_sd",
        "background_done_ms_min",
        "background_done_ms_max",
        "lag_samples",
        "lag_us_p99_median",
        "lag_us_max",
        "server_cores_used_mean",
        "server_cpu_ms_mean",
        "client_cpu_ms_mean",
        "executor_busy_share_median",
        "executor_runq_ms_per_thread_median",
        "attribution",
        "server_peak_rss_mib_max",
    ];

    /// Its pair.
    pub fn key(&self) -> PairKey {
        PairKey {
            target: self.target.clone(),
            workers: self.workers,
            strategy: self.strategy,
        }
    }

    /// Requests that got an answer: the samples the request percentiles rest on.
    pub fn answered(&self) -> u64 {
        self.requests
            .saturating_sub(self.errors_timeout)
            .saturating_sub(self.errors_transport)
    }

    /// Measured successfully (`result` is `ok`).
    pub fn ok(&self) -> bool {
        self.result == results_format::RESULT_OK
    }

    /// Not measured because the runtime cannot run the strategy (`result` is
    /// `not_applicable`): neither a failure nor a figure; left out of charts and findings.
    pub fn not_applicable(&self) -> bool {
        self.result == results_format::RESULT_NOT_APPLICABLE
    }

    /// `runtime + framework` (`tokio + axum`), with the configuration a target adds to its
    /// runtime's name (`tokio (current-thread) + axum` for `tokio-current-thread`).
    pub fn label(&self) -> String {
        if self.runtime.is_empty() && self.framework.is_empty() {
            return EXTERNAL_LABEL.to_owned();
        }
        match self
            .target
            .strip_prefix(self.runtime.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .filter(|rest| !rest.is_empty())
        {
            Some(flavour) => format!("{} ({flavour}) + {}", self.runtime, self.framework),
            None => format!("{} + {}", self.runtime, self.framework),
        }
    }

    /// Failed: neither measured nor not applicable.
    pub fn failed(&self) -> bool {
        !self.ok() && !self.not_applicable()
    }
}

/// One row of raw.csv: one request.
#[derive(Debug, Clone, Deserialize)]
pub struct RawRow {
    /// Target name.
    pub target: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy name.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// Round, from 1.
    pub round: u32,
    /// Position in the batch, from 0.
    pub request: u32,
    /// Sent at, from the batch's start, µs.
    pub start_offset_us: u64,
    /// Send to answer, µs.
    pub latency_us: u64,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
}

impl RawRow {
    /// The columns of raw.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "workers",
        "strategy",
        "round",
        "request",
        "start_offset_us",
        "latency_us",
        "status",
    ];
}

/// One row of sizes_raw.csv: one request of the sizes experiment.
#[derive(Debug, Clone, Deserialize)]
pub struct SizesRawRow {
    /// Target name.
    pub target: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy name.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// Kernel size.
    pub n: u64,
    /// `lone` (a request alone, for T1) or `batch` (one of a round's C at once).
    pub phase: String,
    /// Round at this `n`, from 1: one per visit of the pair, so round k is in the pair's k-th
    /// pass when every visit reached this `n`.
    pub round: u32,
    /// Send to answer (for a job API: to the result), µs.
    pub latency_us: u64,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
}

impl SizesRawRow {
    /// The columns of sizes_raw.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "workers",
        "strategy",
        "n",
        "phase",
        "round",
        "latency_us",
        "status",
    ];

    /// One of a round's requests, answered.
    pub fn answered_in_round(&self) -> bool {
        self.phase == "batch" && self.status.is_some()
    }
}

/// The latency a probe counts with, µs: its own, or for a probe that got no answer at least
/// the probe timeout (it waited that long) — for the batch's probes and the pools'.
pub fn counted_us(latency_us: u64, failed: bool, timeout_us: Option<f64>) -> f64 {
    let own = latency_us as f64;
    match timeout_us {
        Some(t) if failed => own.max(t),
        _ => own,
    }
}

/// One row of probes.csv: one `/health` probe.
#[derive(Debug, Clone, Deserialize)]
pub struct ProbeRow {
    /// Target name.
    pub target: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy of the batch it ran beside.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// Round, from 1.
    pub round: u32,
    /// Scheduled send time, from the batch's start, µs.
    pub scheduled_offset_us: u64,
    /// What is charged to the server, µs: from the send to this answer, the harness's own
    /// lateness left out. (In results recorded before the probe's pool, with one connection:
    /// from the scheduled send, or the previous probe's answer if that came later.)
    pub latency_us: u64,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why no answer came (timeout, transport error); `None` when one did.
    pub error: Option<String>,
}

impl ProbeRow {
    /// The columns of probes.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "workers",
        "strategy",
        "round",
        "scheduled_offset_us",
        "latency_us",
        "status",
        "error",
    ];

    /// It got no answer.
    pub fn failed(&self) -> bool {
        self.error.as_deref().is_some_and(|e| !e.is_empty())
    }

    /// The latency it counts with, µs: a failed probe waited at least the probe timeout.
    pub fn counted_us(&self, timeout_us: Option<f64>) -> f64 {
        counted_us(self.latency_us, self.failed(), timeout_us)
    }
}

/// One row of rounds.csv: one batch.
#[derive(Debug, Clone, Deserialize)]
pub struct RoundRow {
    /// Target name.
    pub target: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy name.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// Round, from 1.
    pub round: u32,
    /// The pass it ran in, from 1 (runs older than passes have none): the split halves of
    /// [`crate::analysis::halves`] are its odd and even passes.
    #[serde(default)]
    pub pass: Option<u32>,
    /// Batch wall time, ms.
    pub batch_ms: f64,
    /// Ideal batch time, ms.
    pub ideal_batch_ms: Option<f64>,
    /// The round's request median, µs.
    pub latency_us_p50: Option<f64>,
    /// The round's slowest request, µs (with C ≤ 100 requests a round's p99 is its maximum).
    pub latency_us_max: Option<f64>,
    /// Probes sent in the round.
    pub probes: u64,
    /// Probes of the round that got no answer.
    pub probe_errors: u64,
    /// The round's slowest probe, µs; `None` when no probe was due.
    pub probe_latency_us_max: Option<f64>,
    /// From the batch start until the server recorded the end of the last background job, ms.
    pub background_done_ms: Option<f64>,
}

impl RoundRow {
    /// The columns of rounds.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "workers",
        "strategy",
        "round",
        "batch_ms",
        "ideal_batch_ms",
        "latency_us_p50",
        "latency_us_max",
        "probes",
        "probe_errors",
        "probe_latency_us_max",
        "background_done_ms",
    ];

    /// The round's worst probe, µs, a failed probe counting at no less than `timeout_us`;
    /// `None` when no probe was sent. With at most 100 probes in a round this is also the
    /// round's nearest-rank p99.
    pub fn probe_worst_us(&self, timeout_us: Option<f64>) -> Option<f64> {
        if self.probes == 0 {
            return None;
        }
        let answered = self.probe_latency_us_max;
        if self.probe_errors > 0 {
            let failed = timeout_us.unwrap_or(0.0);
            Some(answered.map_or(failed, |a| a.max(failed)))
        } else {
            answered
        }
    }

    /// Its pair.
    pub fn key(&self) -> PairKey {
        PairKey {
            target: self.target.clone(),
            workers: self.workers,
            strategy: self.strategy,
        }
    }
}

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct Results {
    /// metadata.json.
    pub metadata: Metadata,
    /// summary.csv, in file order (bench-runner's: target, workers, `Strategy::ALL`).
    pub summary: Vec<SummaryRow>,
    /// rounds.csv.
    pub rounds: Vec<RoundRow>,
    /// raw.csv, grouped by pair.
    pub raw: BTreeMap<PairKey, Vec<RawRow>>,
    /// probes.csv, grouped by pair.
    pub probes: BTreeMap<PairKey, Vec<ProbeRow>>,
    /// sizes_summary.csv, in file order; empty when the run did not measure sizes.
    pub sizes: Vec<SizesRow>,
    /// sizes_raw.csv's rows of `/jobs` and `/queue` (what the broker hop is paired from), in
    /// file order; empty when the run did not measure sizes or the file is absent.
    pub sizes_raw: Vec<SizesRawRow>,
    /// rate_summary.csv, if the run measured the rate experiment.
    pub rate: Option<RateResults>,
    /// queue_summary.csv, if the run measured the queue experiment.
    pub queue: Option<QueueResults>,
    /// pools_summary.csv, if the run measured the pools experiment (`None`: pools not
    /// measured, as in the default run's baseline: `make bench-pools` writes its own).
    pub pools: Option<Vec<PoolsRow>>,
    /// passes.csv, in file order; empty for a run from before passes (each pair's rounds back
    /// to back) or without the batch experiment.
    pub passes: Vec<PassRow>,
    /// cache.csv, in file order; empty for a run from before `/cached` or without it.
    pub cache: Vec<cache::CacheRow>,
}

/// One row of passes.csv: the machine's speed in one pass.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PassRow {
    /// The experiment (`batch`).
    pub experiment: String,
    /// The pass, from 1.
    pub pass: u32,
    /// Rounds it had with a lone request.
    pub rounds: u32,
    /// Its start, from the run's start, ms.
    pub start_offset_ms: f64,
    /// Its end, ms.
    pub end_offset_ms: f64,
    /// Median of lone request ÷ its pair's T1 over the pass's rounds.
    pub speed_median: f64,
    /// The smallest such ratio.
    pub speed_min: f64,
    /// The largest.
    pub speed_max: f64,
}

impl PassRow {
    /// The columns of passes.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "experiment",
        "pass",
        "rounds",
        "start_offset_ms",
        "end_offset_ms",
        "speed_median",
        "speed_min",
        "speed_max",
    ];
}

/// One row of sizes_summary.csv: one pair at one kernel size `n`.
#[derive(Debug, Clone, Deserialize)]
pub struct SizesRow {
    /// Target name.
    pub target: String,
    /// Runtime (`tokio`).
    pub runtime: String,
    /// Framework (`axum`).
    pub framework: String,
    /// Executor threads; `None` for an external server.
    pub workers: Option<u32>,
    /// Strategy name.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// The kernel.
    pub kernel: String,
    /// Kernel size.
    pub n: u64,
    /// Requests per batch.
    pub concurrency: u64,
    /// Rounds at this size.
    pub rounds: u32,
    /// `ok`, `failed` or `not_applicable`.
    pub result: String,
    /// The fastest lone request's round trip, µs.
    pub t1_us: Option<f64>,
    /// `/background` on our servers: the fastest lone job's end from its send, µs.
    pub t1_done_us: Option<f64>,
    /// Request median, pooled over the rounds, µs.
    pub latency_us_p50: Option<f64>,
    /// Request p99, pooled over the rounds, µs.
    pub latency_us_p99: Option<f64>,
    /// Probe p99, pooled over the rounds, µs.
    pub probe_latency_us_p99: Option<f64>,
    /// Probes sent in the rounds.
    pub probes: u64,
    /// Probes that got no answer.
    pub probe_errors: u64,
}

impl SizesRow {
    /// One request's work alone, µs: `t1_done_us` where the answer comes before the work
    /// (`/background`), else T1.
    pub fn work_alone_us(&self) -> Option<f64> {
        self.t1_done_us.or(self.t1_us)
    }

    /// The columns of sizes_summary.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "runtime",
        "framework",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "rounds",
        "result",
        "t1_us",
        "t1_done_us",
        "latency_us_p50",
        "latency_us_p99",
        "probe_latency_us_p99",
        "probes",
        "probe_errors",
    ];

    /// Measured (neither failed nor not applicable).
    pub fn ok(&self) -> bool {
        self.result == results_format::RESULT_OK
    }

    /// `tokio + axum`.
    pub fn label(&self) -> String {
        if self.runtime.is_empty() && self.framework.is_empty() {
            return EXTERNAL_LABEL.to_owned();
        }
        format!("{} + {}", self.runtime, self.framework)
    }
}

/// The label of a server whose runtime and framework are unknown: one at `--url`.
pub const EXTERNAL_LABEL: &str = "the --url server";

impl Results {
    /// Reads and checks metadata.json and the files of the experiments it lists: for the batch
    /// experiment `dir`/{summary,rounds,raw,probes}.csv, for the sizes experiment
    /// sizes_summary.csv, for the rate experiment rate_summary.csv, for the queue experiment
    /// queue_summary.csv. A file of an experiment the run did not measure is not read.
    pub fn load(dir: &Path) -> Result<Results, DataError> {
        let metadata = read_metadata(&dir.join(METADATA))?;
        let ran = |e: Experiment| metadata.experiments.iter().any(|x| x == e.name());
        let mut sizes = Vec::new();
        if ran(Experiment::Sizes) {
            let path = dir.join(SIZES_SUMMARY.name);
            sizes = read_csv::<SizesRow>(&path, SizesRow::COLUMNS)?
                .into_iter()
                .map(|(_, row)| row)
                .collect();
            if sizes.is_empty() {
                return Err(DataError::Csv {
                    path,
                    line: 1,
                    message: "no rows: the run measured nothing".into(),
                });
            }
        }
        // The broker hop's rounds: `/jobs`' and `/queue`'s requests (a run from before the
        // file, or without it, has none: the hop is then not paired by pass).
        let mut sizes_raw = Vec::new();
        let raw_path = dir.join(SIZES_RAW.name);
        if ran(Experiment::Sizes) && raw_path.exists() {
            sizes_raw = read_csv::<SizesRawRow>(&raw_path, SizesRawRow::COLUMNS)?
                .into_iter()
                .map(|(_, row)| row)
                .filter(|x| matches!(x.strategy, Strategy::Jobs | Strategy::Queue))
                .collect();
        }
        let rate = if ran(Experiment::Rate) {
            rate::load(dir)?
        } else {
            None
        };
        let queue = if ran(Experiment::Queue) {
            Some(queue::load(dir)?)
        } else {
            None
        };
        let pools = if ran(Experiment::Pools) {
            Some(pools::load(dir)?)
        } else {
            None
        };
        if !ran(Experiment::Batch) {
            if sizes.is_empty() && rate.is_none() && queue.is_none() && pools.is_none() {
                return Err(DataError::Inconsistent {
                    path: dir.join(METADATA),
                    message: format!(
                        "experiments {:?}: none the report knows (batch, sizes, rate, queue, pools)",
                        metadata.experiments
                    ),
                });
            }
            return Ok(Results {
                rate,
                queue,
                pools,
                passes: vec![],
                cache: vec![],
                metadata,
                summary: vec![],
                rounds: vec![],
                raw: BTreeMap::new(),
                probes: BTreeMap::new(),
                sizes,
                sizes_raw,
            });
        }
        let summary_path = dir.join(SUMMARY.name);
        let summary: Vec<SummaryRow> = read_csv(&summary_path, SummaryRow::COLUMNS)?
            .into_iter()
            .map(|(_, row)| row)
            .collect();
        if summary.is_empty() {
            return Err(DataError::Csv {
                path: summary_path,
                line: 1,
                message: "no rows: the run measured nothing".into(),
            });
        }
        let known: BTreeSet<PairKey> = summary.iter().map(SummaryRow::key).collect();
        if known.len() != summary.len() {
            return Err(DataError::Inconsistent {
                path: summary_path,
                message: "the same target × workers × strategy appears twice".into(),
            });
        }
        let check = |path: &Path, line: u64, key: PairKey| {
            if known.contains(&key) {
                Ok(key)
            } else {
                Err(DataError::Inconsistent {
                    path: path.to_owned(),
                    message: format!("line {line}: {key} is not in summary.csv"),
                })
            }
        };
        let rounds_path = dir.join(ROUNDS.name);
        let mut rounds = Vec::new();
        for (line, row) in read_csv::<RoundRow>(&rounds_path, RoundRow::COLUMNS)? {
            check(&rounds_path, line, row.key())?;
            rounds.push(row);
        }
        let raw_path = dir.join(RAW.name);
        let mut raw: BTreeMap<PairKey, Vec<RawRow>> = BTreeMap::new();
        for (line, row) in read_csv::<RawRow>(&raw_path, RawRow::COLUMNS)? {
            let key = PairKey {
                target: row.target.clone(),
                workers: row.workers,
                strategy: row.strategy,
            };
            raw.entry(check(&raw_path, line, key)?)
                .or_default()
                .push(row);
        }
        let probes_path = dir.join(PROBES.name);
        let mut probes: BTreeMap<PairKey, Vec<ProbeRow>> = BTreeMap::new();
        for (line, row) in read_csv::<ProbeRow>(&probes_path, ProbeRow::COLUMNS)? {
            let key = PairKey {
                target: row.target.clone(),
                workers: row.workers,
                strategy: row.strategy,
            };
            probes
                .entry(check(&probes_path, line, key)?)
                .or_default()
                .push(row);
        }
        // A run from before passes has no passes.csv.
        let passes_path = dir.join(PASSES.name);
        let passes = if passes_path.exists() {
            read_csv::<PassRow>(&passes_path, PassRow::COLUMNS)?
                .into_iter()
                .map(|(_, row)| row)
                .collect()
        } else {
            vec![]
        };
        // A run from before /cached has no cache.csv.
        let cache = cache::load(dir)?;
        Ok(Results {
            rate,
            queue,
            pools,
            passes,
            cache,
            metadata,
            summary,
            rounds,
            raw,
            probes,
            sizes,
            sizes_raw,
        })
    }

    /// Whether the run measured the batch experiment (its files were read).
    pub fn has_batch(&self) -> bool {
        !self.summary.is_empty()
    }

    /// The rounds of `key`, in file order.
    pub fn rounds_of(&self, key: &PairKey) -> Vec<&RoundRow> {
        self.rounds.iter().filter(|x| &x.key() == key).collect()
    }

    /// The probe timeout, µs, if metadata.json gives it.
    pub fn probe_timeout_us(&self) -> Option<f64> {
        self.metadata.probe_timeout_s.map(|s| s * 1e6)
    }

    /// The summary row of `key`.
    pub fn pair(&self, key: &PairKey) -> Option<&SummaryRow> {
        self.summary.iter().find(|s| &s.key() == key)
    }

    /// The summary of one target × workers × strategy, if it was measured successfully.
    pub fn ok_pair(
        &self,
        target: &str,
        workers: Option<u32>,
        strategy: Strategy,
    ) -> Option<&SummaryRow> {
        let key = PairKey {
            target: target.to_owned(),
            workers,
            strategy,
        };
        self.pair(&key).filter(|p| p.ok())
    }

    /// Targets in file order, each once, with their `runtime + framework` label.
    pub fn targets(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for s in &self.summary {
            if !out.iter().any(|(t, _)| *t == s.target) {
                out.push((s.target.clone(), s.label()));
            }
        }
        out
    }

    /// The run measured a server at `--url` (its rows name no runtime and no worker count).
    pub fn external(&self) -> bool {
        !self.summary.is_empty()
            && self
                .summary
                .iter()
                .all(|s| s.workers.is_none() && s.runtime.is_empty())
    }

    /// Worker counts, ascending, each once.
    pub fn worker_counts(&self) -> Vec<Option<u32>> {
        let mut out: Vec<Option<u32>> = self.summary.iter().map(|s| s.workers).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Strategies present, in `Strategy::ALL` order.
    pub fn strategies(&self) -> Vec<Strategy> {
        Strategy::ALL
            .into_iter()
            .filter(|st| self.summary.iter().any(|s| s.strategy == *st))
            .collect()
    }

    /// The label of a worker count: `1 worker`, `2 workers (all cores)`, `external`.
    pub fn workers_label(&self, workers: Option<u32>) -> String {
        workers_label(self.metadata.cores, workers)
    }
}

/// The label of a worker count on a machine of `cores`: `1 worker`, `2 workers (all cores)`,
/// `external`.
pub fn workers_label(cores: usize, workers: Option<u32>) -> String {
    match workers {
        None => "external server".to_owned(),
        Some(1) if cores == 1 => "1 worker (all cores)".to_owned(),
        Some(1) => "1 worker".to_owned(),
        Some(w) if usize::try_from(w).is_ok_and(|w| w == cores) => {
            format!("{w} workers (all cores)")
        }
        Some(w) => format!("{w} workers"),
    }
}

pub(crate) fn strategy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Strategy, D::Error> {
    let name = String::deserialize(d)?;
    Strategy::from_name(&name).ok_or_else(|| {
        let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
        serde::de::Error::custom(format!(
            "unknown strategy `{name}` (known: {})",
            known.join(", ")
        ))
    })
}

fn read_metadata(path: &Path) -> Result<Metadata, DataError> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|e| DataError::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                path: path.to_owned(),
            }
        } else {
            DataError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })
}

/// The rows of the CSV at `path`, each with its line number, after checking that the header
/// names every one of `columns`.
pub(crate) fn read_csv<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
) -> Result<Vec<(u64, T)>, DataError> {
    parse_csv(path, &read(path)?, columns)
}

/// [`read_csv`] on `text`, read from `path`.
fn parse_csv<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    columns: &[&str],
) -> Result<Vec<(u64, T)>, DataError> {
    let at = |line: u64, message: String| DataError::Csv {
        path: path.to_owned(),
        line,
        message,
    };
    if text.trim().is_empty() {
        return Err(at(1, "empty file: no header".into()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| at(1, csv_message(&e)))?
        .clone();
    let missing: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .collect();
    if !missing.is_empty() {
        return Err(at(
            1,
            format!("header lacks column(s) {}", missing.join(", ")),
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            at(line, csv_message(&e))
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        let row = record
            .deserialize::<T>(Some(&headers))
            .map_err(|e| at(line, csv_message(&e)))?;
        rows.push((line, row));
    }
    Ok(rows)
}

/// The csv crate's message without its own position prefix (the line is reported apart).
fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().map(|f| format!("field {}: ", f + 1));
            format!("{}{}", field.unwrap_or_default(), err.kind())
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("not UTF-8: {err}"),
        _ => e.to_string(),
    }
}

/// Hand-made results for the unit tests of the findings: a few pairs, each with its rounds.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;

    /// One pair, measured successfully.
    #[derive(Debug, Clone)]
    pub(crate) struct Pair {
        pub(crate) target: &'static str,
        pub(crate) workers: u32,
        pub(crate) strategy: Strategy,
        pub(crate) t1_ms: f64,
        /// Each round's batch time, ms.
        pub(crate) batch_ms: Vec<f64>,
        /// Each round's worst probe, ms.
        pub(crate) probe_worst_ms: Vec<f64>,
        /// The pooled probe p99, ms.
        pub(crate) probe_p99_ms: f64,
        /// Probes that failed, per round.
        pub(crate) probe_errors: Vec<u64>,
        /// Each round's `/background` completion, ms.
        pub(crate) done_ms: Vec<f64>,
        /// The server's lag p99 (median over rounds), ms; `None`: not measured.
        pub(crate) lag_p99_ms: Option<f64>,
        /// Server cores used, mean over rounds.
        pub(crate) cores_used: Option<f64>,
        /// bench-runner's attribution of the pair's stall.
        pub(crate) attribution: Option<results_format::Attribution>,
    }

    impl Pair {
        /// A pair with `batch_ms` rounds, whose every probe answered within a tenth of T1.
        pub(crate) fn new(
            target: &'static str,
            workers: u32,
            strategy: Strategy,
            batch_ms: &[f64],
        ) -> Pair {
            Pair {
                target,
                workers,
                strategy,
                t1_ms: 10.0,
                batch_ms: batch_ms.to_vec(),
                probe_worst_ms: vec![0.8; batch_ms.len()],
                probe_p99_ms: 0.5,
                probe_errors: vec![0; batch_ms.len()],
                done_ms: Vec::new(),
                lag_p99_ms: None,
                cores_used: None,
                attribution: None,
            }
        }

        /// With this T1, ms.
        pub(crate) fn t1(mut self, t1_ms: f64) -> Pair {
            self.t1_ms = t1_ms;
            self
        }

        /// With bench-runner's attribution of its stall.
        pub(crate) fn whose(mut self, a: results_format::Attribution) -> Pair {
            self.attribution = Some(a);
            self
        }

        /// With the server's side: lag p99 (ms) and cores used.
        pub(crate) fn server(mut self, lag_p99_ms: f64, cores_used: f64) -> Pair {
            self.lag_p99_ms = Some(lag_p99_ms);
            self.cores_used = Some(cores_used);
            self
        }

        /// With these rounds' worst probes and this pooled p99, ms.
        pub(crate) fn probes(mut self, p99_ms: f64, worst_ms: &[f64]) -> Pair {
            assert_eq!(worst_ms.len(), self.batch_ms.len());
            self.probe_p99_ms = p99_ms;
            self.probe_worst_ms = worst_ms.to_vec();
            self
        }

        /// With `/background` completions, ms.
        pub(crate) fn done(mut self, done_ms: &[f64]) -> Pair {
            assert_eq!(done_ms.len(), self.batch_ms.len());
            self.done_ms = done_ms.to_vec();
            self
        }

        /// With failed probes per round.
        pub(crate) fn failed_probes(mut self, per_round: &[u64]) -> Pair {
            assert_eq!(per_round.len(), self.batch_ms.len());
            self.probe_errors = per_round.to_vec();
            self
        }
    }

    fn mean(xs: &[f64]) -> Option<f64> {
        (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
    }

    fn min(xs: &[f64]) -> Option<f64> {
        xs.iter().copied().reduce(f64::min)
    }

    fn max(xs: &[f64]) -> Option<f64> {
        xs.iter().copied().reduce(f64::max)
    }

    /// A sizes_summary.csv row of `target` ×2, 5 rounds: T1 and p50 `p50` µs, p99 `p99`.
    pub(crate) fn sizes_row(
        target: &str,
        strategy: Strategy,
        n: u64,
        p50: f64,
        p99: f64,
    ) -> SizesRow {
        SizesRow {
            target: target.into(),
            runtime: target.into(),
            framework: "fw".into(),
            workers: Some(2),
            strategy,
            kernel: "sum-squares".into(),
            n,
            concurrency: 20,
            rounds: 5,
            result: results_format::RESULT_OK.into(),
            t1_us: Some(p50),
            t1_done_us: None,
            latency_us_p50: Some(p50),
            latency_us_p99: Some(p99),
            probe_latency_us_p99: Some(500.0),
            probes: 50,
            probe_errors: 0,
        }
    }

    /// The requests of one round of the sizes experiment: `latencies` µs, answered.
    pub(crate) fn sizes_raw(
        target: &str,
        strategy: Strategy,
        n: u64,
        round: u32,
        latencies: &[u64],
    ) -> Vec<SizesRawRow> {
        latencies
            .iter()
            .map(|&us| SizesRawRow {
                target: target.into(),
                workers: Some(2),
                strategy,
                n,
                phase: "batch".into(),
                round,
                latency_us: us,
                status: Some(200),
            })
            .collect()
    }

    /// Results holding `pairs`: 2 cores, C = 4, 20 probes per round, probe timeout 2 s.
    pub(crate) fn results(pairs: &[Pair]) -> Results {
        let rounds = pairs.iter().map(|p| p.batch_ms.len()).max().unwrap_or(0);
        let metadata = Metadata {
            date_utc: "2026-01-01T00:00:00Z".into(),
            duration_s: 1.0,
            experiments: vec!["batch".into()],
            git_commit: "0000000".into(),
            rustc: "rustc".into(),
            cpu_model: "cpu".into(),
            cores: 2,
            os: String::new(),
            kernel: String::new(),
            args: Vec::new(),
            server_build_profile: String::new(),
            bench_runner_profile: String::new(),
            servers: Vec::new(),
            client: String::new(),
            compute_kernel: "sum-squares".into(),
            n: 1000,
            concurrency: 4,
            rounds: u32::try_from(rounds).unwrap_or(u32::MAX),
            seed: None,
            probe_interval_ms: Some(2.0),
            calibration: Some(5),
            request_timeout_s: Some(30.0),
            probe_timeout_s: Some(2.0),
            quick: false,
            pairs: Some(pairs.len()),
            pairs_failed: Some(0),
            pairs_not_applicable: Some(0),
            note: String::new(),
            server_cpus: None,
            client_cpus: None,
            cpu_pool_nice: None,
            lag_interval_us: Some(1000),
            arrivals: None,
            server_args: Vec::new(),
            cpu_clock: results_format::CPU_CLOCK_SCHEDSTAT.into(),
            probe: String::new(),
            broker: String::new(),
            queue_workers: Vec::new(),
            queue_worker_threads: None,
            partial: false,
            interrupted: None,
        };
        let mut summary = Vec::new();
        let mut round_rows = Vec::new();
        for p in pairs {
            let k = p.batch_ms.len() as u64;
            let probes_per_round = 20;
            let background = p.strategy == Strategy::Background;
            summary.push(SummaryRow {
                target: p.target.into(),
                runtime: p.target.into(),
                framework: "fw".into(),
                workers: Some(p.workers),
                strategy: p.strategy,
                n: 1000,
                concurrency: 4,
                rounds: u32::try_from(k).unwrap_or(u32::MAX),
                result: "ok".into(),
                failure: None,
                // /background answers before its work: T1 is its answer's round trip, its
                // work alone the job's end.
                t1_ms: Some(if background { 0.3 } else { p.t1_ms }),
                t1_done_ms: Some(p.t1_ms).filter(|_| background),
                ideal_batch_ms: Some(p.t1_ms * 2.0),
                batch_ms_mean: mean(&p.batch_ms),
                batch_ms_sd: None,
                batch_ms_min: min(&p.batch_ms),
                batch_ms_max: max(&p.batch_ms),
                efficiency_mean: None,
                latency_us_p50: Some(5000.0),
                latency_us_p99: Some(9000.0),
                requests: 4 * k,
                errors_timeout: 0,
                errors_transport: 0,
                probes: probes_per_round * k,
                probe_errors: p.probe_errors.iter().sum(),
                probe_latency_us_p50: Some(100.0),
                probe_latency_us_p99: Some(p.probe_p99_ms * 1000.0),
                probe_latency_us_max: max(&p.probe_worst_ms).map(|x| x * 1000.0),
                probe_harness_late_us_p99: Some(90.0),
                background_done_ms_mean: mean(&p.done_ms).filter(|_| background),
                background_done_ms_sd: None,
                background_done_ms_min: min(&p.done_ms).filter(|_| background),
                background_done_ms_max: max(&p.done_ms).filter(|_| background),
                lag_samples: p.lag_p99_ms.map(|_| 100 * k),
                lag_us_p99_median: p.lag_p99_ms.map(|x| x * 1000.0),
                lag_us_max: p.lag_p99_ms.map(|x| x * 1000.0),
                server_cores_used_mean: p.cores_used,
                server_cpu_ms_mean: p.cores_used.map(|c| c * 100.0),
                client_cpu_ms_mean: p.cores_used.map(|_| 10.0),
                executor_busy_share_median: None,
                executor_runq_ms_per_thread_median: None,
                attribution: p.attribution.map(|a| a.name().into()),
                kernel: "sum-squares".into(),
                server_peak_rss_mib_max: Some(12.0),
            });
            for (i, batch) in p.batch_ms.iter().enumerate() {
                round_rows.push(RoundRow {
                    target: p.target.into(),
                    workers: Some(p.workers),
                    strategy: p.strategy,
                    round: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    pass: Some(u32::try_from(i + 1).unwrap_or(u32::MAX)),
                    batch_ms: *batch,
                    ideal_batch_ms: Some(p.t1_ms * 2.0),
                    latency_us_p50: Some(5000.0),
                    latency_us_max: Some(9000.0),
                    probes: probes_per_round,
                    probe_errors: p.probe_errors[i],
                    probe_latency_us_max: Some(p.probe_worst_ms[i] * 1000.0),
                    background_done_ms: p.done_ms.get(i).copied().filter(|_| background),
                });
            }
        }
        Results {
            passes: vec![],
            cache: vec![],
            metadata,
            summary,
            rounds: round_rows,
            raw: BTreeMap::new(),
            probes: BTreeMap::new(),
            sizes: vec![],
            sizes_raw: vec![],
            rate: None,
            queue: None,
            pools: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of<T: DeserializeOwned>(
        text: &str,
        columns: &[&str],
    ) -> Result<Vec<(u64, T)>, DataError> {
        parse_csv(Path::new("x.csv"), text, columns)
    }

    #[test]
    fn columns_lists_match_the_structs() {
        // A record holding exactly COLUMNS (plausible values) deserializes: COLUMNS names
        // every field the struct needs.
        fn value(col: &str) -> &'static str {
            match col {
                "strategy" => "cycle",
                "target" | "runtime" | "framework" => "x",
                "result" => "ok",
                "failure" => "",
                _ => "1",
            }
        }
        fn check<T: DeserializeOwned>(columns: &[&str]) {
            let header = csv::StringRecord::from(columns.to_vec());
            let record =
                csv::StringRecord::from(columns.iter().map(|c| value(c)).collect::<Vec<_>>());
            record
                .deserialize::<T>(Some(&header))
                .unwrap_or_else(|e| panic!("{columns:?}: {e}"));
        }
        check::<SummaryRow>(SummaryRow::COLUMNS);
        check::<RawRow>(RawRow::COLUMNS);
        check::<ProbeRow>(ProbeRow::COLUMNS);
        check::<RoundRow>(RoundRow::COLUMNS);
        check::<PassRow>(PassRow::COLUMNS);
        check::<PoolsRow>(PoolsRow::COLUMNS);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let cols = RoundRow::COLUMNS;
        let header = cols.join(",");
        let good = "tokio,1,cycle,1,10.5,,9000,9500,3,0,700,";
        let text = format!("{header}\n{good}\ntokio,1,cycle,2,ten,,9000,9500,3,0,700,\n");
        let err = csv_of::<RoundRow>(&text, cols).expect_err("error");
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("field 5"), "{msg}");

        let text = format!("{header}\n{good}\n{good}\ntokio,1,nope,1,1,,1,1,1,0,1,\n");
        let msg = csv_of::<RoundRow>(&text, cols)
            .expect_err("error")
            .to_string();
        assert!(
            msg.contains("line 4") && msg.contains("unknown strategy `nope`"),
            "{msg}"
        );

        let text = format!("{header}\ntokio,1,cycle\n");
        let msg = csv_of::<RoundRow>(&text, cols)
            .expect_err("error")
            .to_string();
        assert!(
            msg.contains("line 2") && msg.contains("3 fields where the header has 12"),
            "{msg}"
        );

        let text = "target,workers\ntokio,1\n";
        let msg = csv_of::<RoundRow>(text, cols)
            .expect_err("error")
            .to_string();
        assert!(
            msg.contains("line 1") && msg.contains("strategy, round"),
            "{msg}"
        );

        let msg = csv_of::<RoundRow>("", cols).expect_err("error").to_string();
        assert!(msg.contains("empty file"), "{msg}");

        let rows = csv_of::<RoundRow>(&format!("{header}\n{good}\n"), cols).expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.background_done_ms, None);
        assert_eq!(rows[0].1.batch_ms, 10.5);
        assert_eq!(rows[0].1.probe_worst_us(Some(2e6)), Some(700.0));
    }

    #[test]
    fn a_failed_probe_counts_at_the_timeout() {
        let cols = RoundRow::COLUMNS;
        let header = cols.join(",");
        // 3 probes, 1 failed; the answered ones' worst is 700 µs.
        let text = format!(
            "{header}\ntokio,1,cycle,1,10.5,,9000,9500,3,1,700,\ntokio,1,cycle,2,10.5,,9000,9500,0,0,,\n"
        );
        let rows = csv_of::<RoundRow>(&text, cols).expect("rows");
        assert_eq!(rows[0].1.probe_worst_us(Some(2e6)), Some(2e6));
        assert_eq!(
            rows[1].1.probe_worst_us(Some(2e6)),
            None,
            "no probe was due"
        );

        let cols = ProbeRow::COLUMNS;
        let header = cols.join(",");
        let text = format!(
            "{header}\ntokio,1,cycle,1,0,150,200,\ntokio,1,cycle,1,5000,2100000,,timeout\n"
        );
        let rows = csv_of::<ProbeRow>(&text, cols).expect("rows");
        assert!(!rows[0].1.failed());
        assert_eq!(rows[0].1.counted_us(Some(2e6)), 150.0);
        assert!(rows[1].1.failed());
        assert_eq!(rows[1].1.counted_us(Some(3e6)), 3e6);
        assert_eq!(rows[1].1.counted_us(Some(2e6)), 2_100_000.0);
    }
}
