//! pools_summary.csv: the pools experiment's configurations (a pair at one pool size and
//! priority), in file order.

use std::path::Path;

use common::Strategy;
use results_format::POOLS_SUMMARY;
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
    Ok(rows)
}
