//! Each pair of the batch experiment with its figures, as the sections and charts print them:
//! one [`Pair`] per summary.csv row, in its order, so that no renderer reads a row.
//!
//! The percentiles are pooled over all of the pair's rounds (every answered request, every
//! probe); `_mean` and `_sd` are over rounds, as bench-runner computed them.

use std::collections::BTreeMap;

use common::Strategy;

use crate::analysis::noise::Figure;
use crate::analysis::stats::{self, WorkTime};
use crate::data::{PairKey, Results, RoundRow, SummaryRow};

/// How a pair's measurement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Measured.
    Ok,
    /// Not measured: the runtime cannot run the strategy.
    NotApplicable,
    /// Failed, with why when bench-runner said.
    Failed(Option<String>),
}

/// One pair of the batch experiment and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Target name.
    pub target: String,
    /// Runtime (`tokio`); empty for an external server.
    pub runtime: String,
    /// `runtime + framework`, with the configuration a target adds to its runtime's name
    /// (`tokio (current-thread) + axum`).
    pub label: String,
    /// Executor threads; `None` for an external server.
    pub workers: Option<u32>,
    /// The strategy.
    pub strategy: Strategy,
    /// The kernel.
    pub kernel: String,
    /// Kernel size.
    pub n: u64,
    /// Requests per batch.
    pub concurrency: u64,
    /// Rounds measured.
    pub rounds: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// C × T1 / min(C, cores), ms.
    pub ideal_batch_ms: Option<f64>,
    /// Its work time with its fastest and slowest round ([`stats::pair_work`]: the batch time,
    /// for `/background` the time until its work was done).
    pub work: Option<WorkTime>,
    /// Batch wall time, mean over rounds, ms (for `/background` the 202s only).
    pub batch_ms_mean: Option<f64>,
    /// Its sample standard deviation.
    pub batch_ms_sd: Option<f64>,
    /// Ideal ÷ measured, mean over rounds.
    pub efficiency_mean: Option<f64>,
    /// Request median, µs.
    pub latency_us_p50: Option<f64>,
    /// Request p99, µs.
    pub latency_us_p99: Option<f64>,
    /// Requests that got an answer: the samples the request percentiles rest on.
    pub answered: u64,
    /// Probes sent, failed ones included.
    pub probes: u64,
    /// Probes that got no answer.
    pub probe_errors: u64,
    /// Probe median, µs.
    pub probe_latency_us_p50: Option<f64>,
    /// Probe p99, µs.
    pub probe_latency_us_p99: Option<f64>,
    /// The load generator's own lateness in sending a probe, p99, µs.
    pub probe_harness_late_us_p99: Option<f64>,
    /// Until every background job finished, mean over rounds, ms.
    pub background_done_ms_mean: Option<f64>,
    /// Its sample standard deviation.
    pub background_done_ms_sd: Option<f64>,
    /// The server's executor lag p99, median over rounds, µs.
    pub lag_us_p99_median: Option<f64>,
    /// Server CPU time ÷ window wall time, mean over rounds.
    pub server_cores_used_mean: Option<f64>,
    /// Run-queue time per executor thread, median over rounds, ms.
    pub executor_runq_ms_per_thread_median: Option<f64>,
    /// The server's peak resident memory, largest over rounds, MiB.
    pub server_peak_rss_mib_max: Option<f64>,
    /// The request median with its rounds' range (each round's median).
    pub request_p50: Option<Figure>,
    /// The request p99 with its rounds' range (each round's slowest request: with C ≤ 100
    /// requests a round's p99 is its largest value).
    pub request_p99: Option<Figure>,
    /// The probe p99 with its rounds' range (each round's worst probe, a failed one counting
    /// at no less than the probe timeout).
    pub probe_p99: Option<Figure>,
    /// Its probes that got no answer, by kind (the error up to its first colon), with how
    /// many of each, in the kinds' order.
    pub probe_error_kinds: Vec<(String, usize)>,
}

impl Pair {
    /// The pair of a summary.csv row of `r`.
    pub fn of(r: &Results, s: &SummaryRow) -> Pair {
        let key = s.key();
        let rounds = r.rounds_of(&key);
        let timeout = r.probe_timeout_us();
        // A figure of the pair: its headline value, its rounds' range.
        let figure = |value: Option<f64>, round: &dyn Fn(&RoundRow) -> Option<f64>| {
            let xs: Vec<f64> = rounds.iter().copied().filter_map(round).collect();
            Figure::of_rounds(value?, &xs)
        };
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for p in r.probes.get(&key).into_iter().flatten() {
            if let Some(e) = p.error.as_deref().filter(|_| p.failed()) {
                let kind = e.split(':').next().unwrap_or(e).trim().to_owned();
                *kinds.entry(kind).or_default() += 1;
            }
        }
        Pair {
            request_p50: figure(s.latency_us_p50, &|x| x.latency_us_p50),
            request_p99: figure(s.latency_us_p99, &|x| x.latency_us_max),
            probe_p99: figure(s.probe_latency_us_p99, &|x| x.probe_worst_us(timeout)),
            probe_error_kinds: kinds.into_iter().collect(),
            target: s.target.clone(),
            runtime: s.runtime.clone(),
            label: s.label(),
            workers: s.workers,
            strategy: s.strategy,
            kernel: s.kernel.clone(),
            n: s.n,
            concurrency: s.concurrency,
            rounds: s.rounds,
            outcome: if s.ok() {
                Outcome::Ok
            } else if s.not_applicable() {
                Outcome::NotApplicable
            } else {
                Outcome::Failed(s.failure.clone())
            },
            work: stats::pair_work(s),
            ideal_batch_ms: s.ideal_batch_ms,
            batch_ms_mean: s.batch_ms_mean,
            batch_ms_sd: s.batch_ms_sd,
            efficiency_mean: s.efficiency_mean,
            latency_us_p50: s.latency_us_p50,
            latency_us_p99: s.latency_us_p99,
            answered: s.answered(),
            probes: s.probes,
            probe_errors: s.probe_errors,
            probe_latency_us_p50: s.probe_latency_us_p50,
            probe_latency_us_p99: s.probe_latency_us_p99,
            probe_harness_late_us_p99: s.probe_harness_late_us_p99,
            background_done_ms_mean: s.background_done_ms_mean,
            background_done_ms_sd: s.background_done_ms_sd,
            lag_us_p99_median: s.lag_us_p99_median,
            server_cores_used_mean: s.server_cores_used_mean,
            executor_runq_ms_per_thread_median: s.executor_runq_ms_per_thread_median,
            server_peak_rss_mib_max: s.server_peak_rss_mib_max,
        }
    }

    /// Its key.
    pub fn key(&self) -> PairKey {
        PairKey {
            target: self.target.clone(),
            workers: self.workers,
            strategy: self.strategy,
        }
    }

    /// Measured successfully.
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// Not applicable: neither a failure nor a figure.
    pub fn not_applicable(&self) -> bool {
        self.outcome == Outcome::NotApplicable
    }

    /// Failed: neither measured nor not applicable.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// Why it failed, if it did and bench-runner said.
    pub fn failure(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(why) => why.as_deref(),
            _ => None,
        }
    }
}

impl Pair {
    /// Its pooled probe p99 ÷ `other`'s (a missing one counts as endless).
    pub fn probe_ratio(&self, other: &Pair) -> f64 {
        let probe = |p: &Pair| p.probe_latency_us_p99.unwrap_or(f64::INFINITY);
        probe(self) / probe(other)
    }
}

/// The server's peak resident memory under `s`, MiB: the smallest and largest over its pairs
/// measured successfully.
pub fn peak_rss(pairs: &[Pair], s: Strategy) -> Option<(f64, f64)> {
    stats::bounds(
        pairs
            .iter()
            .filter(|p| p.ok() && p.strategy == s)
            .filter_map(|p| p.server_peak_rss_mib_max),
    )
}

/// One strategy's peak memory against another's, where the first held clearly more: every
/// pair of it above [`MEMORY_APART`]× every pair of the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryApart {
    /// The strategy that held more: its pairs' smallest and largest peak, MiB.
    pub more_mib: (f64, f64),
    /// The other: its pairs' smallest and largest peak, MiB.
    pub less_mib: (f64, f64),
    /// The first ÷ the second: the smallest and largest ratio over their pairs.
    pub ratio: (f64, f64),
}

/// How many times another strategy's largest peak memory every pair of one must exceed for it
/// to be said to hold more memory.
pub const MEMORY_APART: f64 = 1.5;

/// `more`'s peak resident memory against `less`'s, when both were measured and every pair of
/// `more` held at least [`MEMORY_APART`]× the largest of `less`.
pub fn memory_apart(pairs: &[Pair], more: Strategy, less: Strategy) -> Option<MemoryApart> {
    let (t0, t1) = peak_rss(pairs, more)?;
    let (b0, b1) = peak_rss(pairs, less)?;
    if b1 <= 0.0 || t0 < MEMORY_APART * b1 {
        return None;
    }
    Some(MemoryApart {
        more_mib: (t0, t1),
        less_mib: (b0, b1),
        ratio: (t0 / b1, t1 / b0),
    })
}

/// The load generator's lateness in sending a probe: its largest p99 over the pairs measured
/// successfully, µs.
pub fn harness_late_worst_us(pairs: &[Pair]) -> Option<f64> {
    pairs
        .iter()
        .filter(|p| p.ok())
        .filter_map(|p| p.probe_harness_late_us_p99)
        .fold(None, |acc: Option<f64>, x| {
            Some(acc.map_or(x, |a| a.max(x)))
        })
}

/// The fewest and the most rounds of the pairs measured successfully.
pub fn rounds_bounds(pairs: &[Pair]) -> Option<(usize, usize)> {
    let rounds = || pairs.iter().filter(|s| s.ok()).map(|s| s.rounds as usize);
    Some((rounds().min()?, rounds().max()?))
}

/// The smallest and largest mean batch time, ms, of the pairs of `strategy` at `workers`
/// measured successfully (of `pairs`).
pub fn batch_bounds(
    pairs: &[&Pair],
    workers: Option<u32>,
    strategy: Strategy,
) -> Option<(f64, f64)> {
    stats::bounds(
        pairs
            .iter()
            .filter(|p| p.workers == workers && p.strategy == strategy)
            .filter_map(|p| p.batch_ms_mean),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Facts;
    use crate::data::fake;

    #[test]
    fn memory_is_apart_only_past_one_and_a_half_times_the_others_largest() {
        let mut r = fake::results(&[
            fake::Pair::new("tokio", 1, Strategy::Thread, &[50.0, 52.0]),
            fake::Pair::new("smol", 1, Strategy::Thread, &[50.0, 52.0]),
            fake::Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 41.0]),
            fake::Pair::new("smol", 1, Strategy::Rayon, &[40.0, 41.0]),
        ]);
        for (p, mib) in r.summary.iter_mut().zip([2000.0, 1600.0, 400.0, 500.0]) {
            p.server_peak_rss_mib_max = Some(mib);
        }
        let f = Facts::of(&r);
        assert_eq!(rounds_bounds(&f.pairs), Some((2, 2)));
        let m = memory_apart(&f.pairs, Strategy::Thread, Strategy::Rayon).expect("apart");
        assert_eq!(m.more_mib, (1600.0, 2000.0));
        assert_eq!(m.less_mib, (400.0, 500.0));
        assert_eq!(m.ratio, (1600.0 / 500.0, 2000.0 / 400.0));
        // 700 MiB is not 1.5 × 500.
        r.summary[1].server_peak_rss_mib_max = Some(700.0);
        let f = Facts::of(&r);
        assert_eq!(
            memory_apart(&f.pairs, Strategy::Thread, Strategy::Rayon),
            None
        );
    }
}
