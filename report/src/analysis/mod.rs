//! The numbers behind the report, computed from [`Results`] before any sentence is written:
//! [`Facts::of`] computes them once, and every renderer (the sections, "What to do", the
//! charts, under `crate::render`) formats what it was handed instead of computing its own
//! copy; no renderer reads a row of [`Results`].
//!
//! - [`stats`]: each statistic defined once (medians, bounds, a pair's work time).
//! - [`noise`]: telling a difference from noise with the rounds' ranges: differences,
//!   likenesses and thresholds (borderline results).
//! - [`verdict`]: each pair's responsiveness verdict and whose stall it was.
//! - [`work`]: work time figures with their rounds, and what more workers change.
//! - [`sizes`]: the sizes experiment's offload costs (the cheapest and costliest among them)
//!   and crossover work sizes.
//! - [`queue`]: the task queue's broker hops, scale-out verdicts and fault tally.
//! - [`pools`]: the pools experiment's configurations against T1, the cheapest below it per
//!   runtime and worker count, and how often each pool size kept the probe below T1.
//! - [`rate`]: the rate experiment's knee and overload behaviour per pair.
//! - [`pairs`]: each pair of the batch experiment with its figures (summary.csv's).
//! - [`requests`]: request by request: the timeline's median batches, the latency
//!   distributions.
//! - [`run`]: the run itself: its metadata, targets, worker counts, strategies, experiments.
//! - [`drift`]: the machine's speed per pass, and whether the run drifted.
//! - [`halves`]: the batch's results cut into its odd and its even passes.
//! - [`claims`]: the claims a run makes, and which of them both halves repeat.

use std::collections::BTreeMap;

use common::Strategy;
use common::strategy::Execution;

use crate::data::Results;
use noise::Figure;

pub mod cache;
pub mod claims;
pub mod drift;
pub mod halves;
pub mod noise;
pub mod pairs;
pub mod pools;
pub mod queue;
pub mod rate;
pub mod requests;
pub mod run;
pub mod sizes;
pub mod stats;
pub mod verdict;
pub mod work;

/// The margin of every comparison of two pairs ([`noise::compare`], [`noise::spread`]): a
/// difference is called when it exceeds this fraction in every pass (without passes to pair:
/// disjoint rounds and values more than this apart), and two pairs are "alike" when they
/// stay within it.
pub const ALIKE: f64 = 0.10;

/// The cores count as full for the task queue's scale-out verdict ([`queue::scale_verdict`])
/// when one worker process's burst kept at least this share of them busy: a second process on
/// the same cores has nothing to run on. (A stall's attribution no longer asks whether the
/// cores were full: bench-runner reads the executor threads' own run-queue time.)
pub const CORES_FULL_SCALE: f64 = 0.8;

/// Peak memories within this factor of each other are said as one range, not a grid.
pub const MEMORY_APART: f64 = 1.5;

/// The server's peak resident memory (MiB, the largest of each pair's rounds) over the pairs
/// measured successfully.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakRss {
    /// The smallest pair's.
    pub lo: f64,
    /// The largest pair's.
    pub hi: f64,
}

impl PeakRss {
    /// Whether the pairs differ by more than [`MEMORY_APART`] (a memory-hungry kernel): each
    /// pair's figure is then worth showing, not one range.
    pub fn apart(&self) -> bool {
        self.hi > self.lo * MEMORY_APART
    }
}

/// What identifies a pair (server, executor threads, strategy): the renderers name pairs by it.
pub use crate::data::PairKey;
pub use verdict::{Attribution, Responsiveness, Tally, Verdict};
pub use work::{Speedup, Speedups};

/// How the runtimes' work efficiencies with one strategy at one worker count compare.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSpread {
    /// Alike, apart or neither.
    pub spread: noise::Spread,
    /// The runtime nearest the ideal (highest efficiency), with its figure.
    pub best: (String, Figure),
    /// The runtime furthest from it.
    pub worst: (String, Figure),
}

impl RuntimeSpread {
    /// The best's efficiency ÷ the worst's: how many times longer the worst took for the same
    /// work, each against its own T1.
    pub fn ratio(&self) -> f64 {
        self.best.1.value / self.worst.1.value
    }
}

/// Everything the batch experiment's sections say, computed once from the results.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The run: its metadata and what it measured.
    pub run: run::Run,
    /// Every pair of the batch experiment with its figures, in summary order (failed and not
    /// applicable ones included).
    pub pairs: Vec<pairs::Pair>,
    /// The timeline chart's batches: per strategy, the median round of one setting.
    pub timeline: requests::Timeline,
    /// Every pair measured successfully with its answered requests' latencies, ms, ascending.
    pub latencies: BTreeMap<PairKey, Vec<f64>>,
    /// The verdict of every pair measured successfully with probe and T1 figures, in summary
    /// order.
    pub verdicts: Vec<Verdict>,
    /// Where each pair's verdict is in `verdicts`: looked up by key, not searched.
    verdict_at: BTreeMap<PairKey, usize>,
    /// The work time of every pair measured successfully that has one, with its rounds.
    work: BTreeMap<PairKey, Figure>,
    /// The work efficiency of every pair measured successfully that has one, with its rounds:
    /// what runtimes are compared by.
    efficiency: BTreeMap<PairKey, Figure>,
    /// The work time of every pair measured successfully, per pass ([`work::work_by_pass`]):
    /// what a difference between runtimes must also show, pass by pass.
    work_by_pass: BTreeMap<PairKey, Vec<(u32, f64)>>,
    /// The strategies that return the result from a pool or a job API (not `/queue`), best
    /// first by how they kept the server answering ([`verdict::ranked`]): "What to do"
    /// recommends the first.
    pub offloads_ranked: Vec<Strategy>,
    /// The sizes experiment's facts; `None` when the run did not measure it.
    pub sizes: Option<sizes::SizesFacts>,
    /// The machine's drift over the batch experiment's passes; `None` with fewer than two.
    pub drift: Option<drift::Drift>,
    /// The batch experiment's passes and the machine's speed in each; empty without passes.
    pub passes: Vec<drift::PassSpeed>,
    /// The rate experiment's finding per pair, in file order; `None` when the run did not
    /// measure it.
    pub rate: Option<Vec<rate::PairFinding>>,
    /// The rate experiment's steps counted: excluded ones (the generator behind), p99 below
    /// the maximum; `None` when the run did not measure it.
    pub rate_steps: Option<rate::StepTally>,
    /// The rate experiment's pairs with their measured steps, in file order; `None` when the
    /// run did not measure it.
    pub rate_pairs: Option<Vec<rate::PairSteps>>,
    /// The task queue's broker hops, scale-out verdicts and fault runs.
    pub queue: queue::QueueFacts,
    /// The pools experiment's facts; `None` when the run did not measure it.
    pub pools: Option<pools::PoolsFacts>,
    /// `/cached` at each key mix beside `/rayon`, per setting (cache.csv); empty when the run
    /// did not measure it.
    pub cache: Vec<cache::CacheSetting>,
    /// What the most workers change against the fewest; `None` with a single worker count.
    pub speedups: Option<Speedups>,
    /// The median work alone (T1; `/background`: its job's end) over the pairs measured, ms,
    /// the upper middle value of an even count:
    /// "What to do" quotes it, the one place the report says the median T1 (the reading notes'
    /// "Typical figures" line, which quoted [`Facts::t1_median_lower`], is gone).
    pub t1_median_upper: Option<f64>,
    /// The same median, the lower middle value of an even count: no section quotes it now.
    pub t1_median_lower: Option<f64>,
    /// The run's claims checked against its two halves of passes; `None` with fewer than two
    /// passes (or for the facts of a half).
    pub halves: Option<claims::Halves>,
}

impl Facts {
    /// Computes the facts of `r`, and checks its claims against the facts of each half of its
    /// passes.
    pub fn of(r: &Results) -> Facts {
        let mut f = Facts::compute(r);
        f.halves = claims::Halves::of(r, &f);
        f
    }

    /// The facts of `r` without the split halves.
    fn compute(r: &Results) -> Facts {
        let verdicts = verdict::verdicts(r);
        let verdict_at = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| (v.key.clone(), i))
            .collect();
        let work = r
            .summary
            .iter()
            .filter_map(|p| Some((p.key(), work::work_figure(r, p)?)))
            .collect();
        let efficiency = r
            .summary
            .iter()
            .filter_map(|p| Some((p.key(), work::efficiency_figure(r, p)?)))
            .collect();
        let work_by_pass = r
            .summary
            .iter()
            .filter(|p| p.ok())
            .map(|p| (p.key(), work::work_by_pass(r, p)))
            .collect();
        let t1 = || {
            r.summary
                .iter()
                .filter(|p| p.ok())
                .filter_map(|p| p.work_alone_ms())
        };
        let offloads_ranked = verdict::ranked(
            &r.strategies(),
            &verdicts,
            &[Execution::Offloaded, Execution::Job],
        );
        Facts {
            run: run::Run::of(r),
            pairs: r.summary.iter().map(|s| pairs::Pair::of(r, s)).collect(),
            timeline: requests::Timeline::of(r),
            latencies: requests::latencies(r),
            offloads_ranked,
            verdicts,
            verdict_at,
            work,
            efficiency,
            work_by_pass,
            drift: drift::Drift::of(r),
            passes: drift::pass_speeds(r),
            rate: r.rate.as_ref().map(rate::findings),
            rate_steps: r.rate.as_ref().map(rate::tally),
            rate_pairs: r.rate.as_ref().map(rate::pair_steps),
            sizes: sizes::SizesFacts::of(r),
            queue: queue::QueueFacts::of(r),
            pools: pools::PoolsFacts::of(r),
            cache: cache::of(r),
            speedups: work::speedups(r),
            t1_median_upper: stats::median_upper(t1()),
            t1_median_lower: stats::median_lower(t1()),
            halves: None,
        }
    }

    /// The work efficiency of one target × workers × strategy measured successfully, with its
    /// rounds' range: the figure runtimes are compared by.
    pub fn efficiency_of(
        &self,
        target: &str,
        workers: Option<u32>,
        strategy: Strategy,
    ) -> Option<Figure> {
        self.efficiency
            .get(&PairKey {
                target: target.to_owned(),
                workers,
                strategy,
            })
            .copied()
    }

    /// The runtimes' work efficiencies with `strategy` at `workers`, compared
    /// ([`noise::spread`] within [`ALIKE`]): `None` with fewer than two runtimes measured.
    ///
    /// *Apart* needs a second witness where the run has the passes for it: the worst's work
    /// time more than [`ALIKE`] longer than the best's in every pass ([`noise::Paired`], at
    /// least [`noise::MIN_PASSES`] passes). Efficiency divides by each pair's own T1, the fastest of a few
    /// lone requests: a T1 measured 19 % slow (actix's `/rayon`, in one of two back-to-back
    /// runs, with the same batch times in both) made that runtime "nearest its ideal" and
    /// another 1.30× further, a claim the next run did not repeat. Batch times compared
    /// pass by pass share no T1 and no slow minute.
    pub fn runtimes(&self, strategy: Strategy, workers: Option<u32>) -> Option<RuntimeSpread> {
        let figures: Vec<(String, Figure)> = self
            .run
            .targets
            .iter()
            .filter_map(|(t, _)| {
                let fig = self.efficiency_of(t, workers, strategy)?;
                Some((t.clone(), fig))
            })
            .collect();
        let only: Vec<Figure> = figures.iter().map(|x| x.1).collect();
        let spread = noise::spread(&only, ALIKE)?;
        let by = |a: &&(String, Figure), b: &&(String, Figure)| a.1.value.total_cmp(&b.1.value);
        let best = figures.iter().max_by(by)?.clone();
        let worst = figures.iter().min_by(by)?.clone();
        let by_pass = |t: &str| self.work_per_pass(t, workers, strategy);
        let spread = match (spread, by_pass(&worst.0), by_pass(&best.0)) {
            (noise::Spread::Apart, Some(slow), Some(fast)) => match noise::Paired::of(slow, fast) {
                Some(p) if p.passes >= noise::MIN_PASSES && p.lo <= 1.0 + ALIKE => {
                    noise::Spread::Unclear
                }
                _ => noise::Spread::Apart,
            },
            (spread, ..) => spread,
        };
        Some(RuntimeSpread {
            spread,
            best,
            worst,
        })
    }

    /// How `b`'s work efficiency compares with `a`'s by more than [`ALIKE`]
    /// ([`noise::compare`] on their rounds: efficiencies have no per-pass pairing, each rests
    /// on its own T1); `None` when either has no efficiency.
    pub fn efficiency_change(&self, a: &PairKey, b: &PairKey) -> Option<noise::Change> {
        let (a, b) = (self.efficiency.get(a)?, self.efficiency.get(b)?);
        Some(noise::compare(a, b, None, ALIKE))
    }

    /// A pair's work time per pass ([`work::work_by_pass`]); `None` when it was not measured
    /// successfully.
    fn work_per_pass(
        &self,
        target: &str,
        workers: Option<u32>,
        strategy: Strategy,
    ) -> Option<&[(u32, f64)]> {
        self.work_by_pass
            .get(&PairKey {
                target: target.to_owned(),
                workers,
                strategy,
            })
            .map(Vec::as_slice)
    }

    /// The pool "What to do" recommends: the first of [`Facts::offloads_ranked`] that runs at
    /// most one kernel per core ([`verdict::KERNEL_PER_REQUEST`] never is one).
    pub fn recommended(&self) -> Option<Strategy> {
        self.offloads_ranked
            .iter()
            .copied()
            .find(|s| !verdict::KERNEL_PER_REQUEST.contains(s))
    }

    /// Whether every one of `claims` held in both halves of the passes; `true` when the run
    /// has no halves to check them against (one pass).
    pub fn stable(&self, claims: &[claims::Claim]) -> bool {
        self.halves
            .as_ref()
            .is_none_or(|h| claims.iter().all(|c| h.stable(c)))
    }

    /// The peak RSS's range over the pairs measured successfully; `None` when none has one.
    pub fn peak_rss(&self) -> Option<PeakRss> {
        let (lo, hi) = stats::bounds(
            self.pairs
                .iter()
                .filter(|p| p.ok())
                .filter_map(|p| p.server_peak_rss_mib_max),
        )?;
        Some(PeakRss { lo, hi })
    }

    /// The pair of `key`, if the run has it (measured, failed or not applicable).
    pub fn pair(&self, key: &PairKey) -> Option<&pairs::Pair> {
        self.pairs.iter().find(|p| {
            p.target == key.target && p.workers == key.workers && p.strategy == key.strategy
        })
    }

    /// The pair of one target × workers × strategy, if it was measured successfully.
    pub fn ok_pair(
        &self,
        target: &str,
        workers: Option<u32>,
        strategy: Strategy,
    ) -> Option<&pairs::Pair> {
        self.pair(&PairKey {
            target: target.to_owned(),
            workers,
            strategy,
        })
        .filter(|p| p.ok())
    }

    /// How the pairs `keep` selects treated the probe.
    pub fn tally(&self, keep: impl Fn(&Verdict) -> bool) -> Tally {
        Tally::of(self.verdicts.iter().filter(|v| keep(v)))
    }

    /// The verdict of `key`, if it has one.
    pub fn verdict(&self, key: &PairKey) -> Option<&Verdict> {
        self.verdicts.get(*self.verdict_at.get(key)?)
    }

    /// The verdict of one target × workers × strategy, if it has one.
    pub fn verdict_of(
        &self,
        target: &str,
        workers: Option<u32>,
        strategy: Strategy,
    ) -> Option<&Verdict> {
        self.verdict(&PairKey {
            target: target.to_owned(),
            workers,
            strategy,
        })
    }

    /// The work time of one target × workers × strategy measured successfully, with its
    /// rounds' range.
    pub fn work_of(
        &self,
        target: &str,
        workers: Option<u32>,
        strategy: Strategy,
    ) -> Option<Figure> {
        self.work
            .get(&PairKey {
                target: target.to_owned(),
                workers,
                strategy,
            })
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fake::{Pair, results};

    /// Two runtimes with the same batch times pass by pass, one of whose T1 came out 1.3×
    /// slower: their efficiencies are 1.3× apart with disjoint rounds, but the batches say
    /// they did the same work in the same time, so no difference is called. With the batch
    /// times 1.3× apart in every pass as well, it is.
    #[test]
    fn runtimes_are_apart_only_when_their_batches_are_too_pass_by_pass() {
        let batches = [100.0, 103.0, 98.0, 101.0, 99.0, 102.0];
        let slower: Vec<f64> = batches.iter().map(|b| b * 1.3).collect();
        let r = results(&[
            Pair::new("tokio", 2, Strategy::Rayon, &batches),
            Pair::new("actix", 2, Strategy::Rayon, &batches).t1(13.0),
            Pair::new("tokio", 2, Strategy::Jobs, &batches),
            Pair::new("actix", 2, Strategy::Jobs, &slower),
        ]);
        let f = Facts::of(&r);
        let rayon = f.runtimes(Strategy::Rayon, Some(2)).expect("rayon");
        assert!(rayon.ratio() > 1.25, "{rayon:?}");
        assert_eq!(rayon.spread, noise::Spread::Unclear);
        let jobs = f.runtimes(Strategy::Jobs, Some(2)).expect("jobs");
        assert_eq!(jobs.spread, noise::Spread::Apart);
        assert_eq!(
            (jobs.best.0.as_str(), jobs.worst.0.as_str()),
            ("tokio", "actix")
        );
    }
}
