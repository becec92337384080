//! Work time and what more workers change.
//!
//! - **work time**: the batch time (all C answers in), except for `/background`, whose 202s
//!   measure no work: it is measured until the server recorded the end of its last job
//!   (`background_done_ms`; [`stats::work_is_completion`]). Runtimes and worker counts are
//!   compared by it.
//! - **work efficiency**: the ideal batch time (C × T1 ÷ min(C, cores), from the pair's own
//!   T1) ÷ the work time, per round. Runtimes are compared by it, not by raw work time: each
//!   pair's T1 and rounds are measured on the same binary, so a runtime whose kernel happens to
//!   run slower there (code placement, a slow minute) is not called slower at scheduling.
//! - **speed-up**: work time with the fewest workers ÷ with the most.

use common::Strategy;

use crate::analysis::noise::{self, Change, Figure};
use crate::analysis::stats;
use crate::data::{Results, SummaryRow};

/// The work time of a pair, ms, with its rounds' range: the batch time, or for `/background`
/// the time until its work was done. `None` when the pair failed or has no such figure.
pub fn work_figure(r: &Results, p: &SummaryRow) -> Option<Figure> {
    if !p.ok() {
        return None;
    }
    let mean = stats::pair_work(p)?.mean;
    let rounds: Vec<f64> = r
        .rounds_of(&p.key())
        .into_iter()
        .filter_map(stats::round_work_ms)
        .collect();
    Figure::of_rounds(mean, &rounds)
}

/// The work efficiency of a pair with its rounds' range: each round's ideal batch time ÷ its
/// work time, and their mean (bench-runner's `efficiency_mean`). `None` when the pair failed
/// or has no ideal.
pub fn efficiency_figure(r: &Results, p: &SummaryRow) -> Option<Figure> {
    if !p.ok() {
        return None;
    }
    let rounds: Vec<f64> = r
        .rounds_of(&p.key())
        .into_iter()
        .filter_map(|x| {
            let ideal = x.ideal_batch_ms.or(p.ideal_batch_ms)?;
            let work = stats::round_work_ms(x).filter(|w| *w > 0.0)?;
            Some(ideal / work)
        })
        .collect();
    let mean = rounds.iter().sum::<f64>() / rounds.len().max(1) as f64;
    Figure::of_rounds(mean, &rounds)
}

/// One target × strategy measured with both worker counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Speedup {
    /// Target.
    pub target: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Work time with the fewest workers ÷ with the most.
    pub ratio: f64,
    /// How the work time with the most workers compares with the fewest: `Lower` is faster.
    pub change: Change,
}

/// What the most workers change against the fewest.
#[derive(Debug, Clone, PartialEq)]
pub struct Speedups {
    /// The fewest workers measured (1 in a default run).
    pub few: u32,
    /// The most (the core count in a default run).
    pub many: u32,
    /// Per target × strategy measured with both.
    pub ratios: Vec<Speedup>,
}

/// Work time with the fewest workers ÷ with the most, per target × strategy where both were
/// measured; `None` when the run has a single worker count.
pub fn speedups(r: &Results) -> Option<Speedups> {
    let counts: Vec<u32> = r.worker_counts().into_iter().flatten().collect();
    let (&few, &many) = (counts.first()?, counts.last()?);
    if few == many {
        return None;
    }
    let mut out = Vec::new();
    for (target, _) in r.targets() {
        for s in r.strategies() {
            let fig = |w| {
                r.ok_pair(&target, Some(w), s)
                    .and_then(|p| work_figure(r, p))
            };
            if let (Some(a), Some(b)) = (fig(few), fig(many))
                && b.value > 0.0
            {
                out.push(Speedup {
                    target: target.clone(),
                    strategy: s,
                    ratio: a.value / b.value,
                    change: noise::change(&a, &b),
                });
            }
        }
    }
    Some(Speedups {
        few,
        many,
        ratios: out,
    })
}
