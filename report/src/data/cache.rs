//! cache.csv: `/cached` in the batch experiment, one row per target × workers × key mix (the
//! identical batch, and each hit ratio asked). Optional: a run from before `/cached` has no
//! cache.csv, and its report says `/cached` was not measured.

use std::path::Path;

use results_format::CACHE;
use serde::Deserialize;

use super::{DataError, read_csv};

/// `mix` of the identical batch: every request of a round asks for one fresh `n`.
pub const MIX_IDENTICAL: &str = "identical";

/// One row of cache.csv (the columns the report reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CacheRow {
    /// Target name.
    pub target: String,
    /// Runtime (`tokio`).
    pub runtime: String,
    /// Framework (`axum`).
    pub framework: String,
    /// Executor threads; `None` for an external server.
    pub workers: Option<u32>,
    /// Requests per round.
    pub concurrency: u64,
    /// `identical` or `hit_<ratio>`.
    pub mix: String,
    /// The hit ratio asked; `None` for the identical mix.
    pub hit_ratio_asked: Option<f64>,
    /// Rounds pooled.
    pub rounds: u64,
    /// Requests pooled.
    pub requests: u64,
    /// Requests that were not a verified answer.
    pub errors: u64,
    /// The server's hits over the rounds (`None`: not read, an external server).
    pub hits: Option<u64>,
    /// The server's misses: kernels computed.
    pub misses: Option<u64>,
    /// The server's coalesced lookups.
    pub coalesced: Option<u64>,
    /// hits ÷ lookups, as the server counted them.
    pub hit_ratio: Option<f64>,
    /// Kernels computed per round (misses ÷ rounds).
    pub computed_per_round_mean: Option<f64>,
    /// Median batch time over the rounds, ms.
    pub batch_ms_median: Option<f64>,
    /// Request latency p99, every round pooled, µs.
    pub latency_us_p99: Option<f64>,
    /// Probe latency p99, every round pooled, µs.
    pub probe_latency_us_p99: Option<f64>,
}

impl CacheRow {
    /// The columns of cache.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "runtime",
        "framework",
        "workers",
        "concurrency",
        "mix",
        "hit_ratio_asked",
        "rounds",
        "requests",
        "errors",
        "hits",
        "misses",
        "coalesced",
        "hit_ratio",
        "computed_per_round_mean",
        "batch_ms_median",
        "latency_us_p99",
        "probe_latency_us_p99",
    ];

    /// The identical batch's row (the coalescing case).
    pub fn identical(&self) -> bool {
        self.mix == MIX_IDENTICAL
    }
}

/// cache.csv in `dir`, in file order; empty when there is none (a run from before `/cached`).
pub fn load(dir: &Path) -> Result<Vec<CacheRow>, DataError> {
    let path = dir.join(CACHE.name);
    if !path.exists() {
        return Ok(vec![]);
    }
    Ok(read_csv::<CacheRow>(&path, CacheRow::COLUMNS)?
        .into_iter()
        .map(|(_, row)| row)
        .collect())
}
