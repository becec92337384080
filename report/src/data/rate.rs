//! rate_summary.csv: the rate experiment's steps of offered load, grouped by pair.

use std::collections::BTreeMap;
use std::path::Path;

use common::Strategy;
use results_format::RATE_SUMMARY;
use serde::Deserialize;

use super::{DataError, read_csv};

/// One row of rate_summary.csv (the columns the report uses).
#[derive(Debug, Clone, Deserialize)]
pub struct RateRow {
    /// Target name.
    pub target: String,
    /// Runtime.
    pub runtime: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy name.
    pub strategy: String,
    /// `ok`, `failed`, `not_applicable`.
    pub result: String,
    /// Why it failed.
    pub failure: Option<String>,
    /// Fastest lone request, ms.
    pub t1_ms: Option<f64>,
    /// Kernels the pair runs at once ÷ T1.
    pub capacity_rps: Option<f64>,
    /// Kernels the pair runs at once: the executor's threads or the cores.
    pub capacity_threads: Option<u32>,
    /// What bounds them: `executor` (inline and yielding handlers) or `cores`.
    pub capacity_basis: Option<String>,
    /// From 1 (0: a failed or not applicable pair).
    pub step: u32,
    /// The fastest of the step's visit's lone requests, ms: the machine's speed then.
    pub lone_ms: Option<f64>,
    /// Fraction of capacity (`--load` runs).
    pub load: Option<f64>,
    /// Requests per second offered.
    pub offered_rps: Option<f64>,
    /// The kernel's name.
    #[serde(default)]
    pub kernel: Option<String>,
    /// Kernel size of every request of the pair.
    #[serde(default)]
    pub n: Option<u64>,
    /// Requests scheduled in the measured part.
    pub scheduled: Option<u64>,
    /// Refused by the generator.
    pub refused: Option<u64>,
    /// Verified answers.
    pub verified: Option<u64>,
    /// 503s.
    pub status_503: Option<u64>,
    /// Verified answers per second.
    pub goodput_rps: Option<f64>,
    /// Median latency of the verified answers, µs.
    pub latency_us_p50: Option<f64>,
    /// Their p99, µs.
    pub latency_us_p99: Option<f64>,
    /// Their maximum, µs.
    pub latency_us_max: Option<f64>,
    /// The generator's send lateness p99, µs.
    pub late_us_p99: Option<f64>,
    /// 1: the generator was late by more than 1 ms at p99.
    pub generator_behind: Option<u8>,
}

impl RateRow {
    /// Offered load as a fraction of capacity.
    pub fn load(&self) -> Option<f64> {
        self.load
            .or_else(|| Some(self.offered_rps? / self.capacity_rps?))
    }

    /// 503s over requests scheduled.
    pub fn shed_share(&self) -> Option<f64> {
        let scheduled = self.scheduled.filter(|s| *s > 0)? as f64;
        Some(self.status_503? as f64 / scheduled)
    }

    /// Goodput as a fraction of capacity.
    pub fn goodput_load(&self) -> Option<f64> {
        Some(self.goodput_rps? / self.capacity_rps?)
    }

    /// Goodput as a fraction of the capacity on the step's own visit: the kernels the pair runs
    /// at once ÷ `lone_ms` (the machine drifts between visits, and the pair's capacity is its
    /// first visit's); of the pair's capacity when the step has no lone time.
    pub fn goodput_of_visit(&self) -> Option<f64> {
        match (self.lone_ms, self.capacity_threads) {
            (Some(lone), Some(threads)) if lone > 0.0 && threads > 0 => {
                Some(self.goodput_rps? * lone / 1000.0 / f64::from(threads))
            }
            _ => self.goodput_load(),
        }
    }

    pub(crate) fn behind(&self) -> bool {
        self.generator_behind == Some(1)
    }
}

/// rate_summary.csv, grouped by pair (target, workers, strategy), steps in order.
#[derive(Debug, Clone, Default)]
pub struct RateResults {
    /// Every pair's rows, in file order.
    pub pairs: Vec<Vec<RateRow>>,
}

/// Reads `dir`/rate_summary.csv; `None` if the run did not measure the rate experiment.
pub fn load(dir: &Path) -> Result<Option<RateResults>, DataError> {
    let path = dir.join(RATE_SUMMARY.name);
    if !path.exists() {
        return Ok(None);
    }
    let mut groups: BTreeMap<(String, Option<u32>, String), usize> = BTreeMap::new();
    let mut pairs: Vec<Vec<RateRow>> = Vec::new();
    for (line, row) in read_csv::<RateRow>(&path, RATE_SUMMARY.columns)? {
        if Strategy::from_name(&row.strategy).is_none() {
            return Err(DataError::Csv {
                path: path.clone(),
                line,
                message: format!("unknown strategy {:?}", row.strategy),
            });
        }
        let key = (row.target.clone(), row.workers, row.strategy.clone());
        let i = *groups.entry(key).or_insert_with(|| {
            pairs.push(Vec::new());
            pairs.len() - 1
        });
        pairs[i].push(row);
    }
    Ok(Some(RateResults { pairs }))
}
