//! How each pair treated the `/health` probe that ran beside its batch, and whose stall it was.
//!
//! - **stall ratio**: `/health` probe p99 ÷ T1 (one lone request's time), the p99 pooled over
//!   every probe of every round (a probe that got no answer counts at no less than the probe
//!   timeout). At 1 or above a probe waited at least as long as one whole request's work.
//!   A pair *stalls* the server ([`Responsiveness::Stalled`]) only when the pooled p99 and
//!   the worst probe of every round reach T1; it is *responsive* when neither does, and
//!   *borderline* when they fall on both sides of T1 ([`crate::analysis::noise::side`]).
//! - **attribution**: for a stalled or borderline pair, whether its executor was busy, waiting
//!   for a CPU, or neither ([`Attribution`]), as bench-runner decided it from the executor
//!   threads' own figures in the scheduler's counts (summary.csv's `attribution`; the rule is
//!   bench-runner's `harness::attribution`, and the report never decides it again).

use common::Strategy;
use common::strategy::Execution;

use crate::analysis::noise::{self, Side};
use crate::analysis::stats;
use crate::data::{PairKey, Results};

/// How a pair treated the `/health` probe that ran beside its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Responsiveness {
    /// Probe p99 ≥ T1, and in every round some probe waited at least T1.
    Stalled,
    /// The pooled p99 and the rounds' worst probes fall on both sides of T1.
    Borderline,
    /// Probe p99 < T1, and in every round every probe was answered within T1.
    Responsive,
}

/// The responsiveness verdict of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The pair.
    pub key: PairKey,
    /// Probe p99 pooled over rounds, ms.
    pub probe_p99_ms: f64,
    /// T1, ms.
    pub t1_ms: f64,
    /// `probe_p99_ms / t1_ms`.
    pub stall: f64,
    /// Each round's worst probe ÷ T1 (rounds with a probe only).
    pub rounds: Vec<f64>,
    /// Probes sent.
    pub probes: u64,
    /// Probes that got no answer.
    pub probe_errors: u64,
    /// The class of `stall` and `rounds`.
    pub class: Responsiveness,
    /// The server's own executor lag p99 for the same rounds (median over rounds), ms.
    pub lag_p99_ms: Option<f64>,
    /// Server cores used, mean over rounds.
    pub cores_used: Option<f64>,
    /// The executor threads' on-CPU share of the window, median over rounds (the scheduler's
    /// figures).
    pub executor_busy_share: Option<f64>,
    /// Run-queue time per executor thread, median over rounds, ms.
    pub executor_runq_ms: Option<f64>,
    /// Whose stall it is, for a stalled or borderline pair with the server's figures.
    pub attribution: Option<Attribution>,
}

/// Whose stall a probe saw: results-format's values, as bench-runner decided them.
pub use results_format::Attribution;

/// How the report names `a`: `executor busy`, `waiting for a CPU`, `elsewhere`.
pub fn describe(a: Attribution) -> &'static str {
    match a {
        Attribution::ExecutorBusy => "executor busy",
        Attribution::WaitingForCpu => "waiting for a CPU",
        Attribution::Elsewhere => "elsewhere (on the probe's own path)",
        Attribution::None => "no stall",
    }
}

/// The stall table's mark of `a`.
pub(crate) fn mark(a: Attribution) -> &'static str {
    match a {
        Attribution::ExecutorBusy => "E",
        Attribution::WaitingForCpu => "C",
        Attribution::Elsewhere => "O",
        Attribution::None => "",
    }
}

impl Verdict {
    /// How many rounds' worst probe reached T1.
    pub fn rounds_stalled(&self) -> usize {
        self.rounds.iter().filter(|x| **x >= 1.0).count()
    }
}

/// The class of a pair whose pooled probe p99 is `stall` × T1 and whose rounds' worst probes
/// are `rounds` × T1.
pub fn classify(stall: f64, rounds: &[f64]) -> Responsiveness {
    match noise::side(stall, rounds, 1.0) {
        Side::Above => Responsiveness::Stalled,
        Side::Borderline => Responsiveness::Borderline,
        Side::Below => Responsiveness::Responsive,
    }
}

/// The verdict of every pair measured successfully that has probe and T1 figures, in summary
/// order.
pub fn verdicts(r: &Results) -> Vec<Verdict> {
    let timeout = r.probe_timeout_us();
    r.summary
        .iter()
        .filter(|s| s.ok())
        .filter_map(|s| {
            let probe = s.probe_latency_us_p99? / 1000.0;
            let t1 = s.t1_ms.filter(|t| *t > 0.0)?;
            let stall = probe / t1;
            let rounds: Vec<f64> = r
                .rounds_of(&s.key())
                .iter()
                .filter_map(|x| x.probe_worst_us(timeout))
                .map(|us| us / 1000.0 / t1)
                .collect();
            let class = classify(stall, &rounds);
            let lag = s.lag_us_p99_median.map(|us| us / 1000.0);
            let attribution = s
                .attribution
                .as_deref()
                .and_then(Attribution::from_name)
                .filter(|a| *a != Attribution::None)
                .filter(|_| class != Responsiveness::Responsive);
            Some(Verdict {
                key: s.key(),
                probe_p99_ms: probe,
                t1_ms: t1,
                stall,
                class,
                rounds,
                probes: s.probes,
                probe_errors: s.probe_errors,
                lag_p99_ms: lag,
                cores_used: s.server_cores_used_mean,
                executor_busy_share: s.executor_busy_share_median,
                executor_runq_ms: s.executor_runq_ms_per_thread_median,
                attribution,
            })
        })
        .collect()
}

/// The strategies of `kinds` among `strategies` that have a verdict, best first: fewest
/// stalled pairs, then fewest borderline, then the lowest median probe p99 ÷ T1 (the upper
/// middle of an even count, [`stats::median_upper`]). Except at the top: the strategies that
/// this run does not tell apart from the best (as many stalled pairs, and a share of pairs not
/// kept responsive that Fisher's exact test does not separate from the best's at
/// [`TOLD_APART`]) lead, those of [`SIZED_TO_THE_CORES`] first, each group in `strategies`'
/// order. "Borderline" turns on one probe of a round, so 1 such pair of 9 against 0 of 9 is no
/// ranking: it made the heading of "What to do" flip between `/rayon` and `/jobs` from one run
/// of the same code to the next. `/queue` is not ranked among them: it is
/// no pool in the server (its kernels run in worker processes, on other machines in
/// production) and it answers another need, scaling out past one machine; "What to do" gives
/// it its own bullet.
pub fn ranked(strategies: &[Strategy], verdicts: &[Verdict], kinds: &[Execution]) -> Vec<Strategy> {
    let mut out: Vec<(Strategy, (usize, usize), f64)> = strategies
        .iter()
        .copied()
        // /cached answers another need (inputs that repeat): its own section, not this ranking,
        // whose batch of identical requests it answers with one kernel.
        .filter(|s| kinds.contains(&s.execution()) && *s != Strategy::Queue && !s.caches_answers())
        .filter_map(|s| {
            let of: Vec<&Verdict> = verdicts.iter().filter(|v| v.key.strategy == s).collect();
            if of.is_empty() {
                return None;
            }
            let count = |c| of.iter().filter(|v| v.class == c).count();
            let counts = (
                count(Responsiveness::Stalled),
                count(Responsiveness::Borderline),
            );
            let median = stats::median_upper(of.iter().map(|v| v.stall)).unwrap_or(f64::INFINITY);
            Some((s, counts, median))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)));
    let pairs = |s: Strategy| verdicts.iter().filter(|v| v.key.strategy == s).count();
    let lead = match out.first() {
        Some(&(best, (stalled, borderline), _)) => {
            let not_responsive = stalled + borderline;
            out.iter()
                .take_while(|(s, (st, bo), _)| {
                    *st == stalled
                        && stats::fisher_two_sided(st + bo, pairs(*s), not_responsive, pairs(best))
                            >= TOLD_APART
                })
                .count()
        }
        None => 0,
    };
    let position = |s: &Strategy| strategies.iter().position(|x| x == s);
    out[..lead].sort_by_key(|(s, _, _)| (!SIZED_TO_THE_CORES.contains(s), position(s)));
    out.into_iter().map(|(s, _, _)| s).collect()
}

/// The offloads that run at most one kernel per core (the CPU pool, the semaphore's permits),
/// which "What to do" recommends as "a pool sized to the cores": of strategies this run does not
/// tell apart, these come first ([`ranked`]). `/thread` and `block_in_place` can do as well on a
/// small batch, but nothing bounds them: 20 kernels at once share the cores with the executor.
pub const SIZED_TO_THE_CORES: [Strategy; 3] = [Strategy::Rayon, Strategy::Bounded, Strategy::Jobs];

/// The p-value below which two strategies' shares of pairs not kept responsive count as
/// different ([`ranked`]).
pub const TOLD_APART: f64 = 0.05;

#[cfg(test)]
mod tests {
    use super::*;

    /// A verdict of `class` for `strategy` on the `i`-th target.
    fn verdict(strategy: Strategy, i: usize, class: Responsiveness, stall: f64) -> Verdict {
        Verdict {
            key: PairKey {
                target: format!("t{i}"),
                workers: Some(1),
                strategy,
            },
            probe_p99_ms: stall * 5.0,
            t1_ms: 5.0,
            stall,
            rounds: vec![stall],
            probes: 100,
            probe_errors: 0,
            class,
            lag_p99_ms: None,
            cores_used: None,
            executor_busy_share: None,
            executor_runq_ms: None,
            attribution: None,
        }
    }

    /// `borderline` of `pairs` pairs borderline, the rest responsive, with `stall` each.
    fn pairs(strategy: Strategy, pairs: usize, borderline: usize, stall: f64) -> Vec<Verdict> {
        (0..pairs)
            .map(|i| {
                let class = if i < borderline {
                    Responsiveness::Borderline
                } else {
                    Responsiveness::Responsive
                };
                verdict(strategy, i, class, stall)
            })
            .collect()
    }

    fn rank(verdicts: &[Verdict]) -> Vec<Strategy> {
        ranked(
            &Strategy::ALL,
            verdicts,
            &[Execution::Offloaded, Execution::Job],
        )
    }

    #[test]
    fn a_near_tie_is_led_by_the_pools_in_list_order_not_by_one_borderline_pair() {
        // /jobs 0 of 9 borderline, /rayon 1 of 9, /block_in_place 0 of 2: nothing told apart.
        let mut v = pairs(Strategy::Jobs, 9, 0, 0.3);
        v.extend(pairs(Strategy::Rayon, 9, 1, 0.4));
        v.extend(pairs(Strategy::BlockInPlace, 2, 0, 0.2));
        let order = rank(&v);
        assert_eq!(
            order,
            [Strategy::Rayon, Strategy::Jobs, Strategy::BlockInPlace]
        );
    }

    #[test]
    fn a_share_told_apart_still_ranks() {
        // /bounded borderline in 6 of 9 against /jobs' 0 of 9 (p ≈ 0.009): /jobs leads.
        let mut v = pairs(Strategy::Bounded, 9, 6, 0.9);
        v.extend(pairs(Strategy::Jobs, 9, 0, 0.3));
        assert_eq!(rank(&v), [Strategy::Jobs, Strategy::Bounded]);
    }

    #[test]
    fn more_stalled_pairs_are_never_tied_with_the_best() {
        let mut v = pairs(Strategy::Rayon, 9, 0, 0.5);
        v.push(verdict(Strategy::Rayon, 9, Responsiveness::Stalled, 2.0));
        v.extend(pairs(Strategy::Thread, 9, 0, 0.3));
        assert_eq!(rank(&v), [Strategy::Thread, Strategy::Rayon]);
    }
}
