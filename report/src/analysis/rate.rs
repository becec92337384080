//! The rate experiment (rate_summary.csv), computed: for each pair, the offered load at which
//! p99 latency passes [`KNEE_T1S`] × T1, and whether past its capacity it sheds load with 503s
//! or lets it queue.
//!
//! Only steps whose schedule was kept count: a step whose generator fell behind (its send
//! lateness p99 above 1 ms, `generator_behind`) measured the generator, not the server, and is
//! left out of the knee and the past-capacity verdict ([`PairFinding::behind_steps`] names
//! them, [`StepTally`] counts them over the run).
//!
//! Offered load is a fraction of the pair's capacity (threads ÷ T1: the executor's threads for
//! an inline or yielding handler, the cores for the others): `load` from `--load` runs,
//! offered ÷ capacity from `--rate` runs, so pairs of different T1 share one axis.

use common::Strategy;
use results_format::{RESULT_NOT_APPLICABLE, RESULT_OK};

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
    /// verified), if any kept step did (steps whose generator fell behind left out).
    pub knee_load: Option<f64>,
    /// The highest load offered in a kept step (0 when no step was kept).
    pub top_load: f64,
    /// Past capacity (the highest kept step above load 1): `sheds`, `queues` or `keeps up`;
    /// `None` if no kept step went past capacity.
    pub overload: Option<Overload>,
    /// Goodput past capacity: the median over the kept steps above load 1 of goodput ÷ the
    /// capacity on the step's visit ([`RateRow::goodput_of_visit`]); `None` if no kept step
    /// went past capacity. Near 1 when the capacity counts what the pair can really run at
    /// once.
    pub goodput_past_capacity: Option<f64>,
    /// Steps whose figures are the generator's (its lateness p99 above 1 ms): left out of the
    /// knee and the verdict.
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

/// The range of T1 (ms) over `found`'s pairs; `None` when there are none.
pub fn t1_bounds(found: &[PairFinding]) -> Option<(f64, f64)> {
    super::stats::bounds(found.iter().map(|f| f.t1_ms))
}

/// The range of the capacity (req/s) over `found`'s pairs; `None` when there are none.
pub fn capacity_bounds(found: &[PairFinding]) -> Option<(f64, f64)> {
    super::stats::bounds(found.iter().map(|f| f.capacity_rps))
}

/// What a pair's capacity counts, for grouping [`PairFinding::goodput_past_capacity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityKind {
    /// An inline or yielding handler on one executor thread.
    OneExecutorThread,
    /// An inline or yielding handler on several executor threads.
    ExecutorThreads,
    /// Work off the executor, bounded by the cores.
    Cores,
}

impl CapacityKind {
    /// Every kind, in the order the report lists them.
    pub const ALL: [CapacityKind; 3] = [
        CapacityKind::OneExecutorThread,
        CapacityKind::ExecutorThreads,
        CapacityKind::Cores,
    ];

    fn of(f: &PairFinding) -> Option<CapacityKind> {
        Some(match f.capacity? {
            (1, true) => CapacityKind::OneExecutorThread,
            (_, true) => CapacityKind::ExecutorThreads,
            (_, false) => CapacityKind::Cores,
        })
    }
}

/// The range over `found`'s pairs of each kind of their goodput past capacity, for the kinds
/// that have one, in [`CapacityKind::ALL`]'s order.
pub fn past_capacity_by_kind(found: &[PairFinding]) -> Vec<(CapacityKind, (f64, f64))> {
    CapacityKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let range = super::stats::bounds(
                found
                    .iter()
                    .filter(|f| CapacityKind::of(f) == Some(kind))
                    .filter_map(|f| f.goodput_past_capacity),
            )?;
            Some((kind, range))
        })
        .collect()
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
    let mut kept: Vec<&RateRow> = steps.iter().copied().filter(|r| !r.behind()).collect();
    kept.sort_by(|a, b| a.load().unwrap_or(0.0).total_cmp(&b.load().unwrap_or(0.0)));
    let knee_load = kept.iter().find(|r| past(r)).and_then(|r| r.load());
    let top = kept.last();
    let top_load = top.and_then(|r| r.load()).unwrap_or(0.0);
    let overload =
        top.filter(|_| top_load > 1.0)
            .map(|top| match (top.shed_share(), top.latency_us_p99) {
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
        goodput_past_capacity: super::stats::median_lower(
            kept.iter()
                .filter(|r| r.load().is_some_and(|l| l > 1.0))
                .filter_map(|r| r.goodput_of_visit()),
        ),
        behind_steps: steps
            .iter()
            .filter(|r| r.behind())
            .map(|r| r.step)
            .collect(),
        refused: steps.iter().filter_map(|r| r.refused).sum(),
    })
}

/// One pair of the rate experiment as the section draws it: its server, its measured steps
/// and its failures.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSteps {
    /// Target name.
    pub target: String,
    /// Runtime.
    pub runtime: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// The strategy.
    pub strategy: Strategy,
    /// Its steps measured (`ok`, from step 1), in order: what the charts draw.
    pub steps: Vec<Step>,
    /// Each of its rows that failed (neither `ok` nor not applicable), in order, with why
    /// when the row says.
    pub failures: Vec<Option<String>>,
}

/// One measured step of a pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Offered load as a fraction of capacity.
    pub load: Option<f64>,
    /// Median latency of the verified answers, µs.
    pub latency_us_p50: Option<f64>,
    /// Their p99, µs.
    pub latency_us_p99: Option<f64>,
    /// Goodput as a fraction of capacity.
    pub goodput_load: Option<f64>,
    /// The generator was late by more than 1 ms at p99: left out of knee and verdict.
    pub behind: bool,
}

/// Every pair of `r` with its steps, in file order.
pub fn pair_steps(r: &RateResults) -> Vec<PairSteps> {
    r.pairs
        .iter()
        .filter_map(|rows| {
            let first = rows.first()?;
            Some(PairSteps {
                target: first.target.clone(),
                runtime: first.runtime.clone(),
                workers: first.workers,
                strategy: Strategy::from_name(&first.strategy)?,
                steps: rows
                    .iter()
                    .filter(|x| x.result == RESULT_OK && x.step > 0)
                    .map(|x| Step {
                        load: x.load(),
                        latency_us_p50: x.latency_us_p50,
                        latency_us_p99: x.latency_us_p99,
                        goodput_load: x.goodput_load(),
                        behind: x.behind(),
                    })
                    .collect(),
                failures: rows
                    .iter()
                    .filter(|x| x.result != RESULT_OK && x.result != RESULT_NOT_APPLICABLE)
                    .map(|x| x.failure.clone())
                    .collect(),
            })
        })
        .collect()
}

/// The run's steps, counted: how many, how many left out because the generator fell behind
/// (and its worst lateness p99 among them), in how many kept steps p99 is below the maximum
/// (with fewer than 100 answers a nearest-rank p99 is the maximum), the fewest requests a step
/// sent, and the work every request asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepTally {
    /// Measured steps.
    pub steps: usize,
    /// Steps whose generator was late by more than 1 ms at p99: excluded.
    pub behind: usize,
    /// The worst lateness p99 among them, ms.
    pub worst_late_ms: Option<f64>,
    /// Steps with a p99 and a maximum.
    pub with_latency: usize,
    /// Of those, steps whose p99 is below the maximum.
    pub p99_below_max: usize,
    /// The fewest requests a measured step scheduled.
    pub fewest_scheduled: Option<u64>,
    /// The kernel and its size, when every step asked for the same.
    pub work: Option<(String, u64)>,
}

/// The tally of every measured step of `r`.
pub fn tally(r: &RateResults) -> StepTally {
    let mut t = StepTally::default();
    for row in r.pairs.iter().flatten() {
        if row.result != RESULT_OK || row.step == 0 {
            continue;
        }
        t.steps += 1;
        if let Some(s) = row.scheduled {
            t.fewest_scheduled = Some(t.fewest_scheduled.map_or(s, |f: u64| f.min(s)));
        }
        if row.behind() {
            t.behind += 1;
            if let Some(late) = row.late_us_p99 {
                let ms = late / 1000.0;
                t.worst_late_ms = Some(t.worst_late_ms.map_or(ms, |w: f64| w.max(ms)));
            }
        }
        if let (Some(p99), Some(max)) = (row.latency_us_p99, row.latency_us_max) {
            t.with_latency += 1;
            if p99 < max {
                t.p99_below_max += 1;
            }
        }
    }
    let works: std::collections::BTreeSet<(String, u64)> = r
        .pairs
        .iter()
        .flatten()
        .filter(|row| row.result == RESULT_OK && row.step > 0)
        .filter_map(|row| row.kernel.clone().zip(row.n))
        .collect();
    t.work = match works.len() {
        1 => works.into_iter().next(),
        _ => None,
    };
    t
}
