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

use crate::analysis::noise::{self, Change, Figure, Paired};
use crate::analysis::stats;
use crate::analysis::{ALIKE, Facts};
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

/// A pair's work time per pass, ms: (pass, work) for each round that has a pass (runs from
/// before passes have none).
pub fn work_by_pass(r: &Results, p: &SummaryRow) -> Vec<(u32, f64)> {
    r.rounds_of(&p.key())
        .into_iter()
        .filter_map(|x| Some((x.pass?, stats::round_work_ms(x)?)))
        .collect()
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
    /// The same ratio pass by pass (both measured in every pass: interleaved), with its
    /// range; `None` for a run without passes.
    pub paired: Option<Paired>,
    /// How the work time with the most workers compares with the fewest, by more than
    /// [`ALIKE`] ([`noise::compare`]: the per-pass interval where the run has the passes, the
    /// rounds' ranges in a half of one): `Lower` is faster.
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

impl Speedups {
    /// The smallest and largest speed-up of the strategies of one kind of execution; `None`
    /// when none of them has one.
    pub fn bounds_of(&self, kind: common::strategy::Execution) -> Option<(f64, f64)> {
        stats::bounds(
            self.ratios
                .iter()
                .filter(|x| x.strategy.execution() == kind)
                .map(|x| x.ratio),
        )
    }

    /// The largest speed-up that is a clear gain (beyond [`ALIKE`]: `Lower`).
    pub fn largest_gain(&self) -> Option<&Speedup> {
        self.ratios
            .iter()
            .filter(|x| x.change == Change::Lower)
            .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
    }
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
            let by_pass = |w| {
                r.ok_pair(&target, Some(w), s)
                    .map(|p| work_by_pass(r, p))
                    .unwrap_or_default()
            };
            if let (Some(a), Some(b)) = (fig(few), fig(many))
                && b.value > 0.0
            {
                let paired = Paired::of(&by_pass(few), &by_pass(many));
                out.push(Speedup {
                    target: target.clone(),
                    strategy: s,
                    ratio: a.value / b.value,
                    paired,
                    change: noise::compare(&a, &b, paired, ALIKE),
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

impl Facts {
    /// The work time of strategy `s` ÷ that of `base`, on the same runtime and workers: the
    /// smallest and largest over the pairs where both were measured; `None` where none was.
    pub fn work_ratio(&self, s: Strategy, base: Strategy) -> Option<(f64, f64)> {
        let mut xs = Vec::new();
        for (t, _) in &self.run.targets {
            for &w in &self.run.worker_counts {
                let a = self.work_of(t, w, s);
                let b = self.work_of(t, w, base);
                if let (Some(a), Some(b)) = (a, b)
                    && b.value > 0.0
                {
                    xs.push(a.value / b.value);
                }
            }
        }
        stats::bounds(xs)
    }
}

/// One strategy against another on the same runtime and workers: its figure ÷ the other's
/// in every pair where both were measured, each with how they compare by more than
/// [`ALIKE`] ([`noise::compare`] of the other's against its own, the work time paired by
/// pass, the percentiles by their rounds: `Lower` means the strategy's is lower).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Versus {
    /// Work time.
    pub work: Vec<(f64, Change)>,
    /// Request median.
    pub request_p50: Vec<(f64, Change)>,
    /// Request p99 (with C ≤ 100 requests a round's p99 is its largest value).
    pub request_p99: Vec<(f64, Change)>,
    /// Probe p99.
    pub probe_p99: Vec<(f64, Change)>,
}

/// When `/background`'s work was done, over its pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackgroundDone {
    /// Ms after its batch started (mean over rounds): the smallest and largest over its pairs.
    pub done_ms: (f64, f64),
}

impl Versus {
    /// The smallest and largest ratio of one of its lists; `None` when it is empty.
    pub fn range(ratios: &[(f64, Change)]) -> Option<(f64, f64)> {
        stats::bounds(ratios.iter().map(|x| x.0))
    }
}

impl Facts {
    /// Strategy `s` against `base` on the same runtime and workers, over the pairs where both
    /// were measured ([`Versus`]).
    pub fn versus(&self, s: Strategy, base: Strategy) -> Versus {
        let mut out = Versus::default();
        for (t, _) in &self.run.targets {
            for &w in &self.run.worker_counts {
                let (Some(x), Some(th)) = (self.ok_pair(t, w, s), self.ok_pair(t, w, base)) else {
                    continue;
                };
                // `base` ÷ the strategy, pass by pass (the work time only: the percentiles
                // have no per-pass figure).
                // The strategy's figure ÷ `base`'s, and how it compares with `base`'s
                // (`base` ÷ the strategy pass by pass, for the work time).
                let compare = |into: &mut Vec<(f64, Change)>,
                               own: Option<Figure>,
                               base_fig: Option<Figure>,
                               base_over_own: Option<Paired>| {
                    if let (Some(own), Some(base_fig)) = (own, base_fig)
                        && base_fig.value > 0.0
                    {
                        let change = noise::compare(&base_fig, &own, base_over_own, ALIKE);
                        into.push((own.value / base_fig.value, change));
                    }
                };
                let paired = match (self.work_per_pass(t, w, base), self.work_per_pass(t, w, s)) {
                    (Some(base_work), Some(own_work)) => Paired::of(base_work, own_work),
                    _ => None,
                };
                compare(
                    &mut out.work,
                    self.work_of(t, w, s),
                    self.work_of(t, w, base),
                    paired,
                );
                compare(&mut out.request_p50, x.request_p50, th.request_p50, None);
                compare(&mut out.request_p99, x.request_p99, th.request_p99, None);
                compare(&mut out.probe_p99, x.probe_p99, th.probe_p99, None);
            }
        }
        out
    }

    /// `/background`'s work: when it was done; `None` without a figure.
    pub fn background_done(&self) -> Option<BackgroundDone> {
        let mut done = Vec::new();
        for (t, _) in &self.run.targets {
            for &w in &self.run.worker_counts {
                let Some(p) = self.ok_pair(t, w, Strategy::Background) else {
                    continue;
                };
                if let Some(d) = p.background_done_ms_mean {
                    done.push(d);
                }
            }
        }
        Some(BackgroundDone {
            done_ms: stats::bounds(done)?,
        })
    }
}

impl Facts {
    /// The inline strategies' probe p99 with `few` and with `many` workers, ms, over the
    /// targets and strategies measured with both: the smallest and largest of each.
    pub fn inline_probe(&self, few: u32, many: u32) -> Option<((f64, f64), (f64, f64))> {
        let probe = |target: &str, w: u32, s: Strategy| {
            self.verdict_of(target, Some(w), s).map(|v| v.probe_p99_ms)
        };
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (target, _) in &self.run.targets {
            for &s in self
                .run
                .strategies
                .iter()
                .filter(|s| s.execution() == common::strategy::Execution::Inline)
            {
                if let (Some(a), Some(b)) = (probe(target, few, s), probe(target, many, s)) {
                    before.push(a);
                    after.push(b);
                }
            }
        }
        Some((stats::bounds(before)?, stats::bounds(after)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fake;

    #[test]
    fn a_strategy_against_another_is_paired_by_runtime_and_workers() {
        let r = fake::results(&[
            fake::Pair::new("tokio", 1, Strategy::Thread, &[50.0, 50.0]),
            fake::Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 40.0]),
            fake::Pair::new("smol", 1, Strategy::Thread, &[40.0, 40.0]),
            fake::Pair::new("smol", 1, Strategy::Rayon, &[40.0, 40.0]),
        ]);
        let f = Facts::of(&r);
        assert_eq!(
            f.work_ratio(Strategy::Rayon, Strategy::Thread),
            Some((0.8, 1.0))
        );
        let vs = f.versus(Strategy::Rayon, Strategy::Thread);
        assert_eq!(Versus::range(&vs.work), Some((0.8, 1.0)));
        assert_eq!(vs.work.len(), 2);
        assert_eq!(f.work_ratio(Strategy::Jobs, Strategy::Thread), None);
    }
}
