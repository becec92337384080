//! pools_summary.csv: the pools experiment's configurations (a pair at one pool size and
//! priority), in file order, each with its probes from pools_probes.csv (runs from before
//! that file have none).

use std::path::Path;

use common::Strategy;
use results_format::{POOLS_PROBES, POOLS_SUMMARY};
use serde::Deserialize;

use super::{DataError, read_csv, strategy};

/// One row of pools_summary.csv (the columns the report reads).
#[derive(Debug, Clone, Deserialize)]
pub struct PoolsRow {
    /// Target name.
    pub target: String,
    /// Runtime (`tokio`).
    pub runtime: String,
    /// Framework (`axum`).
    pub framework: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy.
    #[serde(deserialize_with = "strategy")]
    pub strategy: Strategy,
    /// Kernel size of every request.
    pub n: u64,
    /// Requests per batch.
    pub concurrency: u64,
    /// The pool's threads (or `/bounded`'s permits).
    pub pool_threads: u32,
    /// The pool's nice value (0 or 19).
    pub pool_nice: u8,
    /// Rounds measured.
    pub rounds: u32,
    /// `ok`, `failed` or `not_applicable`.
    pub result: String,
    /// The fastest lone request, ms.
    pub t1_ms: Option<f64>,
    /// Batch time, median of the rounds, ms.
    pub batch_ms_median: Option<f64>,
    /// The fastest round's, ms.
    pub batch_ms_min: Option<f64>,
    /// The slowest round's, ms.
    pub batch_ms_max: Option<f64>,
    /// Efficiency (ideal ÷ batch), median of the rounds.
    pub efficiency_median: Option<f64>,
    /// Request p99, pooled, µs.
    pub latency_us_p99: Option<f64>,
    /// Probe p99, pooled, µs.
    pub probe_latency_us_p99: Option<f64>,
    /// The smallest of the rounds' worst probes, µs.
    pub probe_worst_us_min: Option<f64>,
    /// The largest, µs.
    pub probe_worst_us_max: Option<f64>,
    /// The server's lag p99, median of the rounds, µs.
    pub lag_us_p99_median: Option<f64>,
    /// Server cores used, median of the rounds.
    pub server_cores_used_median: Option<f64>,
    /// Run-queue wait per executor thread, median of the rounds, ms.
    pub executor_runq_ms_per_thread_median: Option<f64>,
    /// Its probes (pools_probes.csv), in file order; empty for a run without that file.
    #[serde(skip)]
    pub probes: Vec<PoolsProbe>,
}

/// One `/health` probe of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolsProbe {
    /// Round, from 1.
    pub round: u32,
    /// From its send to its answer (or its error), µs.
    pub latency_us: u64,
    /// It got no answer.
    pub failed: bool,
}

impl PoolsProbe {
    /// The latency it counts with, µs: a failed probe waited at least the probe timeout (as
    /// [`super::ProbeRow::counted_us`]).
    pub fn counted_us(&self, timeout_us: Option<f64>) -> f64 {
        super::counted_us(self.latency_us, self.failed, timeout_us)
    }
}

/// One row of pools_probes.csv (the columns the report reads).
#[derive(Debug, Clone, Deserialize)]
struct PoolsProbeRow {
    target: String,
    workers: Option<u32>,
    #[serde(deserialize_with = "strategy")]
    strategy: Strategy,
    pool_threads: u32,
    pool_nice: u8,
    round: u32,
    latency_us: u64,
    error: Option<String>,
}

impl PoolsProbeRow {
    const COLUMNS: &[&str] = &[
        "target",
        "workers",
        "strategy",
        "pool_threads",
        "pool_nice",
        "round",
        "latency_us",
        "error",
    ];
}

impl PoolsRow {
    /// The columns of pools_summary.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "runtime",
        "framework",
        "workers",
        "strategy",
        "n",
        "concurrency",
        "pool_threads",
        "pool_nice",
        "rounds",
        "result",
        "t1_ms",
        "batch_ms_median",
        "batch_ms_min",
        "batch_ms_max",
        "efficiency_median",
        "latency_us_p99",
        "probe_latency_us_p99",
        "probe_worst_us_min",
        "probe_worst_us_max",
        "lag_us_p99_median",
        "server_cores_used_median",
        "executor_runq_ms_per_thread_median",
    ];

    /// Measured (neither failed nor not applicable).
    pub fn ok(&self) -> bool {
        self.result == results_format::RESULT_OK
    }

    /// `tokio + axum`.
    pub fn label(&self) -> String {
        format!("{} + {}", self.runtime, self.framework)
    }
}

/// Reads `dir`/pools_summary.csv: a run that lists the pools experiment has it, with rows.
pub fn load(dir: &Path) -> Result<Vec<PoolsRow>, DataError> {
    let path = dir.join(POOLS_SUMMARY.name);
    let rows: Vec<PoolsRow> = read_csv::<PoolsRow>(&path, PoolsRow::COLUMNS)?
        .into_iter()
        .map(|(_, row)| row)
        .collect();
    if rows.is_empty() {
        return Err(DataError::Csv {
            path,
            line: 1,
            message: "no rows: the run measured nothing".into(),
        });
    }
    let mut rows = rows;
    let probes_path = dir.join(POOLS_PROBES.name);
    if probes_path.exists() {
        for (line, probe) in read_csv::<PoolsProbeRow>(&probes_path, PoolsProbeRow::COLUMNS)? {
            let Some(row) = rows.iter_mut().find(|r| {
                r.target == probe.target
                    && r.workers == probe.workers
                    && r.strategy == probe.strategy
                    && r.pool_threads == probe.pool_threads
                    && r.pool_nice == probe.pool_nice
            }) else {
                return Err(DataError::Csv {
                    path: probes_path,
                    line,
                    message: format!(
                        "a probe of {} × {:?} × {} at pool {}, nice {}: no such configuration \
                         in {}",
                        probe.target,
                        probe.workers,
                        probe.strategy.path(),
                        probe.pool_threads,
                        probe.pool_nice,
                        POOLS_SUMMARY.name
                    ),
                });
            };
            row.probes.push(PoolsProbe {
                round: probe.round,
                latency_us: probe.latency_us,
                failed: probe.error.as_deref().is_some_and(|e| !e.is_empty()),
            });
        }
    }
    Ok(rows)
}
