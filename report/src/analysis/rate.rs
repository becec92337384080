//! The rate experiment (rate_summary.csv), computed: for each pair, the offered load at which
//! p99 latency passes [`KNEE_T1S`] × T1, and whether past its capacity it sheds load with 503s
//! or lets it queue.
//!
//! Offered load is a fraction of the pair's capacity (threads ÷ T1: the executor's threads for
//! an inline or yielding handler, the cores for the others): `load` from `--load` runs,
//! offered ÷ capacity from `--rate` runs, so pairs of different T1 share one axis.

use common::Strategy;
use results_format::RESULT_OK;

use crate::data::{RateResults, RateRow};

/// A step's p99 above this many T1 counts as past the knee.
pub const KNEE_T1S: f64 = 10.0;

/// A last step with at least this share of 503s sheds load.
pub const SHED_SHARE: f64 = 0.1;

/// What one pair did across its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct PairFinding {
    /// `tokio` (workers=2).
    pub target: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// The strategy.
    pub strategy: Strategy,
    /// T1, ms.
    pub t1_ms: f64,
    /// Kernels the pair runs at once ÷ T1.
    pub capacity_rps: f64,
    /// What the capacity counts: (kernels at once, on the executor's threads rather than the
    /// cores); `None` when the file does not say.
    pub capacity: Option<(u32, bool)>,
    /// The first offered load at which p99 passed [`KNEE_T1S`] × T1 (or nothing was
    /// verified), if any step did.
    pub knee_load: Option<f64>,
    /// The highest load offered.
    pub top_load: f64,
    /// Past capacity (the highest step above load 1): `sheds`, `queues` or `keeps up`; `None`
    /// if no step went past capacity.
    pub overload: Option<Overload>,
    /// Steps whose figures are the generator's (its lateness p99 above 1 ms).
    pub behind_steps: Vec<u32>,
    /// Requests refused by the generator's cap, over all steps.
    pub refused: u64,
}

/// How a pair behaves past its capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overload {
    /// At least [`SHED_SHARE`] of the requests answered 503 (share given).
    Sheds(f64),
    /// p99 past [`KNEE_T1S`] × T1 without shedding: the requests waited (p99 in ms).
    Queues(f64),
    /// Neither.
    KeepsUp,
}

/// The finding of every measured pair, in file order.
pub fn findings(r: &RateResults) -> Vec<PairFinding> {
    r.pairs.iter().filter_map(|rows| finding(rows)).collect()
}

pub(crate) fn finding(rows: &[RateRow]) -> Option<PairFinding> {
    let steps: Vec<&RateRow> = rows
        .iter()
        .filter(|r| r.result == RESULT_OK && r.step > 0)
        .collect();
    let first = steps.first()?;
    let t1_ms = first.t1_ms?;
    let limit_us = KNEE_T1S * t1_ms * 1000.0;
    let past = |r: &RateRow| r.latency_us_p99.is_none_or(|p99| p99 > limit_us);
    let knee_load = steps.iter().find(|r| past(r)).and_then(|r| r.load());
    let top = steps
        .iter()
        .max_by(|a, b| a.load().unwrap_or(0.0).total_cmp(&b.load().unwrap_or(0.0)))?;
    let top_load = top.load()?;
    let overload = (top_load > 1.0).then(|| match (top.shed_share(), top.latency_us_p99) {
        (Some(share), _) if share >= SHED_SHARE => Overload::Sheds(share),
        (_, p99) if past(top) => Overload::Queues(p99.unwrap_or(f64::INFINITY) / 1000.0),
        _ => Overload::KeepsUp,
    });
    Some(PairFinding {
        target: first.target.clone(),
        workers: first.workers,
        strategy: Strategy::from_name(&first.strategy)?,
        t1_ms,
        capacity_rps: first.capacity_rps?,
        capacity: first.capacity_threads.zip(
            first
                .capacity_basis
                .as_deref()
                .map(|b| b == results_format::CAPACITY_EXECUTOR),
        ),
        knee_load,
        top_load,
        overload,
        behind_steps: steps
            .iter()
            .filter(|r| r.behind())
            .map(|r| r.step)
            .collect(),
        refused: steps.iter().filter_map(|r| r.refused).sum(),
    })
}
