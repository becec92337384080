//! The numbers behind the report, computed from [`Results`] before any sentence is written:
//! [`Facts::of`] computes them once, and every renderer (the sections, "What to do", the
//! charts) formats what it was handed instead of computing its own copy.
//!
//! - [`stats`]: each statistic defined once (medians, bounds, a pair's work time).
//! - [`noise`]: telling a difference from noise with the rounds' ranges: differences,
//!   likenesses and thresholds (borderline results).
//! - [`verdict`]: each pair's responsiveness verdict and whose stall it was.
//! - [`work`]: work time figures with their rounds, and what more workers change.
//! - [`sizes`]: the sizes experiment's offload costs (the cheapest and costliest among them)
//!   and crossover work sizes.
//! - [`queue`]: the task queue's broker hops, scale-out verdicts and fault tally.
//! - [`rate`]: the rate experiment's knee and overload behaviour per pair.
//! - [`drift`]: the machine's speed per pass, and whether the run drifted.

use std::collections::BTreeMap;

use common::Strategy;
use common::strategy::Execution;

use crate::data::{PairKey, Results};
use noise::Figure;

pub mod cache;
pub mod drift;
pub mod noise;
pub mod queue;
pub mod rate;
pub mod sizes;
pub mod stats;
pub mod verdict;
pub mod work;

/// Two runtimes within this relative difference, even at their extreme rounds, are "alike".
pub const ALIKE: f64 = 0.10;

/// The cores count as full for the task queue's scale-out verdict ([`queue::scale_verdict`])
/// when one worker process's burst kept at least this share of them busy: a second process on
/// the same cores has nothing to run on. (A stall's attribution no longer asks whether the
/// cores were full: bench-runner reads the executor threads' own run-queue time.)
pub const CORES_FULL_SCALE: f64 = 0.8;

pub use verdict::{Attribution, Responsiveness, Verdict};
pub use work::{Speedup, Speedups};

/// Everything the batch experiment's sections say, computed once from the results.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The verdict of every pair measured successfully with probe and T1 figures, in summary
    /// order.
    pub verdicts: Vec<Verdict>,
    /// Where each pair's verdict is in `verdicts`: looked up by key, not searched.
    verdict_at: BTreeMap<PairKey, usize>,
    /// The work time of every pair measured successfully that has one, with its rounds.
    work: BTreeMap<PairKey, Figure>,
    /// The strategies that return the result from a pool or a job API (not `/queue`), best
    /// first by how they kept the server answering ([`verdict::ranked`]): "What to do"
    /// recommends the first.
    pub offloads_ranked: Vec<Strategy>,
    /// The sizes experiment's facts; `None` when the run did not measure it.
    pub sizes: Option<sizes::SizesFacts>,
    /// The machine's drift over the batch experiment's passes; `None` with fewer than two.
    pub drift: Option<drift::Drift>,
    /// The rate experiment's finding per pair, in file order; `None` when the run did not
    /// measure it.
    pub rate: Option<Vec<rate::PairFinding>>,
    /// The rate experiment's steps counted: excluded ones (the generator behind), p99 below
    /// the maximum; `None` when the run did not measure it.
    pub rate_steps: Option<rate::StepTally>,
    /// The task queue's broker hops, scale-out verdicts and fault runs.
    pub queue: queue::QueueFacts,
    /// `/cached` at each key mix beside `/rayon`, per setting (cache.csv); empty when the run
    /// did not measure it.
    pub cache: Vec<cache::CacheSetting>,
    /// What the most workers change against the fewest; `None` with a single worker count.
    pub speedups: Option<Speedups>,
    /// The median T1 over the pairs measured, ms, the upper middle value of an even count:
    /// "What to do" quotes it. The reading notes quote [`Facts::t1_median_lower`]: the two
    /// stay apart until issue 22's later fix picks one.
    pub t1_median_upper: Option<f64>,
    /// The same median, the lower middle value of an even count: the reading notes quote it.
    pub t1_median_lower: Option<f64>,
}

impl Facts {
    /// Computes the facts of `r`.
    pub fn of(r: &Results) -> Facts {
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
        let t1 = || r.summary.iter().filter(|p| p.ok()).filter_map(|p| p.t1_ms);
        let offloads_ranked = verdict::ranked(
            &r.strategies(),
            &verdicts,
            &[Execution::Offloaded, Execution::Job],
        );
        Facts {
            offloads_ranked,
            verdicts,
            verdict_at,
            work,
            drift: drift::Drift::of(r),
            rate: r.rate.as_ref().map(rate::findings),
            rate_steps: r.rate.as_ref().map(rate::tally),
            sizes: sizes::SizesFacts::of(r),
            queue: queue::QueueFacts::of(r),
            cache: cache::of(r),
            speedups: work::speedups(r),
            t1_median_upper: stats::median_upper(t1()),
            t1_median_lower: stats::median_lower(t1()),
        }
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
