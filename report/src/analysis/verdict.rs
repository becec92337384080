//! How each pair treated the `/health` probe that ran beside its batch, and whose stall it was.
//!
//! - **stall ratio**: `/health` probe p99 ÷ T1 (one lone request's time), the p99 pooled over
//!   every probe of every round (a probe that got no answer counts at no less than the probe
//!   timeout). At 1 or above a probe waited at least as long as one whole request's work.
//!   A pair *stalls* the server ([`Responsiveness::Stalled`]) only when the pooled p99 reaches
//!   T1 and still does with any one round left out (a jackknife over rounds, [`left_out`]);
//!   it is *responsive* when none of them does, and *borderline* when they fall on both sides
//!   of T1 ([`crate::analysis::noise::side`]). A pair with a probe that got no answer is never
//!   responsive. The rule used to ask every round's *worst* probe instead: one probe of about
//!   250 decided it, and of the claims a run made, a second run of the same code repeated 81 %
//!   (95 of 117); with the jackknife, 94 % (134 of 143). Without probes.csv rows for a pair the
//!   rounds' worst probes stand in for the left-out p99s.
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
    /// Probe p99 ≥ T1, with any one round left out too.
    Stalled,
    /// The pooled p99 and its values with a round left out fall on both sides of T1, or a
    /// probe got no answer.
    Borderline,
    /// Probe p99 < T1, with any one round left out too, and every probe answered.
    Responsive,
}

/// The responsiveness verdict of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The pair.
    pub key: PairKey,
    /// Probe p99 pooled over rounds, ms.
    pub probe_p99_ms: f64,
    /// The work alone, ms: T1, or for `/background` its lone job's end
    /// ([`SummaryRow::work_alone_ms`](crate::data::SummaryRow::work_alone_ms)).
    pub work_alone_ms: f64,
    /// `probe_p99_ms / work_alone_ms`.
    pub stall: f64,
    /// Each round's worst probe ÷ T1 (rounds with a probe only).
    pub rounds: Vec<f64>,
    /// The pooled p99 ÷ T1 with each round left out in turn: what the class is decided by,
    /// with `stall`; `None` without probes.csv rows for the pair (then the rounds' worst
    /// probes decide).
    pub left_out: Option<Vec<f64>>,
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
    /// The smallest and largest pooled p99 ÷ T1 with one round left out; `None` without them.
    pub fn left_out_range(&self) -> Option<(f64, f64)> {
        stats::bounds(self.left_out.as_ref()?.iter().copied())
    }

    /// How many rounds' worst probe reached T1.
    pub fn rounds_stalled(&self) -> usize {
        self.rounds.iter().filter(|x| **x >= 1.0).count()
    }
}

/// How a set of pairs treated the probe: how many stalled the server, were borderline, kept it
/// answering. The one count of verdicts: the ranking, the claims, "What to do" and the
/// README's figures all read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Pairs that stalled the server.
    pub stalled: usize,
    /// Pairs that were borderline.
    pub borderline: usize,
    /// Pairs that kept the server answering.
    pub responsive: usize,
}

impl Tally {
    /// The tally of `verdicts`.
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Tally {
        let mut t = Tally::default();
        for v in verdicts {
            match v.class {
                Responsiveness::Stalled => t.stalled += 1,
                Responsiveness::Borderline => t.borderline += 1,
                Responsiveness::Responsive => t.responsive += 1,
            }
        }
        t
    }

    /// The pairs counted.
    pub fn pairs(&self) -> usize {
        self.stalled + self.borderline + self.responsive
    }

    /// How many are of `class`.
    pub fn count(&self, class: Responsiveness) -> usize {
        match class {
            Responsiveness::Stalled => self.stalled,
            Responsiveness::Borderline => self.borderline,
            Responsiveness::Responsive => self.responsive,
        }
    }

    /// Every pair kept the server answering (and there is at least one).
    pub fn all_responsive(&self) -> bool {
        self.pairs() > 0 && self.responsive == self.pairs()
    }
}

/// The smallest and largest figures of a set of verdicts: what a sentence about a group of
/// pairs quotes (`p99 2.54 ms – 8.09 ms (0.41× to 1.34× T1)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extremes {
    /// The pooled probe p99s, ms: the smallest and the largest.
    pub probe_p99_ms: (f64, f64),
    /// The probe p99s ÷ T1: the smallest and the largest.
    pub stall: (f64, f64),
}

impl Extremes {
    /// The extremes of `verdicts`; `None` when there are none.
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Option<Extremes> {
        let vs: Vec<&Verdict> = verdicts.into_iter().collect();
        Some(Extremes {
            probe_p99_ms: stats::bounds(vs.iter().map(|v| v.probe_p99_ms))?,
            stall: stats::bounds(vs.iter().map(|v| v.stall))?,
        })
    }
}

/// The class of a pair whose pooled probe p99 is `stall` × T1 and whose pooled p99s with each
/// round left out (or rounds' worst probes) are `rounds` × T1.
pub fn classify(stall: f64, rounds: &[f64]) -> Responsiveness {
    match noise::side(stall, rounds, 1.0) {
        Side::Above => Responsiveness::Stalled,
        Side::Borderline => Responsiveness::Borderline,
        Side::Below => Responsiveness::Responsive,
    }
}

/// The pooled probe p99 of `key`'s rounds, µs, with each round left out in turn (a jackknife):
/// `None` without probes.csv rows for it or with fewer than two rounds.
pub fn left_out(r: &Results, key: &PairKey, timeout_us: Option<f64>) -> Option<Vec<f64>> {
    let rows = r.probes.get(key)?;
    let samples: Vec<(u32, f64)> = rows
        .iter()
        .map(|p| (p.round, p.counted_us(timeout_us)))
        .collect();
    jackknife_p99(&samples)
}

/// The pooled p99 of `samples` (round, value) with each round left out in turn, in round
/// order: `None` with fewer than two rounds. The batch verdict's and the pools section's
/// rule both rest on it.
pub fn jackknife_p99(samples: &[(u32, f64)]) -> Option<Vec<f64>> {
    let numbers: std::collections::BTreeSet<u32> =
        samples.iter().map(|(round, _)| *round).collect();
    if numbers.len() < 2 {
        return None;
    }
    numbers
        .iter()
        .map(|&out| {
            let mut us: Vec<f64> = samples
                .iter()
                .filter(|(round, _)| *round != out)
                .map(|(_, v)| *v)
                .collect();
            us.sort_by(f64::total_cmp);
            stats::nearest_rank(&us, 0.99)
        })
        .collect()
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
            let t1 = s.work_alone_ms().filter(|t| *t > 0.0)?;
            let stall = probe / t1;
            let rounds: Vec<f64> = r
                .rounds_of(&s.key())
                .iter()
                .filter_map(|x| x.probe_worst_us(timeout))
                .map(|us| us / 1000.0 / t1)
                .collect();
            // With every probe of the pair, the pooled p99 with each round left out in turn:
            // one probe of one round can no longer decide the verdict.
            let left_out = left_out(r, &s.key(), timeout).map(|xs| {
                xs.into_iter()
                    .map(|us| us / 1000.0 / t1)
                    .collect::<Vec<f64>>()
            });
            let class = match classify(stall, left_out.as_deref().unwrap_or(&rounds)) {
                // A probe that got no answer within the timeout: not "kept answering".
                Responsiveness::Responsive if s.probe_errors > 0 => Responsiveness::Borderline,
                class => class,
            };
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
                work_alone_ms: t1,
                stall,
                class,
                rounds,
                left_out,
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
            let tally = Tally::of(of.iter().copied());
            let counts = (tally.stalled, tally.borderline);
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

/// Strategies that run one kernel per request on a thread of its own (`/thread`,
/// `/block_in_place`): never what "a pool sized to the cores" names, whatever their rank, since
/// "What to do" advises against `/thread` when it stalls ([`super::Facts::recommended`]).
pub const KERNEL_PER_REQUEST: [Strategy; 2] = [Strategy::Thread, Strategy::BlockInPlace];

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
            work_alone_ms: 5.0,
            stall,
            rounds: vec![stall],
            left_out: None,
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

    /// Results of one /rayon pair with T1 10 ms and 4 rounds of 100 probes each, every probe
    /// answered in `us(round, i)` µs.
    fn probed(us: impl Fn(u32, u32) -> u64) -> Results {
        use crate::data::ProbeRow;
        use crate::data::fake::{Pair, results};
        let mut r = results(&[Pair::new("a", 1, Strategy::Rayon, &[40.0; 4])]);
        let key = r.summary[0].key();
        let rows: Vec<ProbeRow> = (1..=4)
            .flat_map(|round| (0..100).map(move |i| (round, i)))
            .map(|(round, i)| ProbeRow {
                target: "a".into(),
                workers: Some(1),
                strategy: Strategy::Rayon,
                round,
                scheduled_offset_us: u64::from(i) * 2000,
                latency_us: us(round, i),
                status: Some(200),
                error: None,
            })
            .collect();
        let mut all: Vec<f64> = rows.iter().map(|p| p.latency_us as f64).collect();
        all.sort_by(f64::total_cmp);
        r.summary[0].probe_latency_us_p99 = stats::nearest_rank(&all, 0.99);
        for x in &mut r.rounds {
            let worst = rows
                .iter()
                .filter(|p| p.round == x.round)
                .map(|p| p.latency_us as f64)
                .fold(0.0, f64::max);
            x.probe_latency_us_max = Some(worst);
            x.probes = 100;
        }
        r.probes.insert(key, rows);
        r
    }

    #[test]
    fn a_tally_counts_each_class_once() {
        let mut vs = pairs(Strategy::Rayon, 9, 1, 0.5);
        vs.push(verdict(Strategy::Rayon, 9, Responsiveness::Stalled, 2.0));
        let t = Tally::of(&vs);
        assert_eq!(
            t,
            Tally {
                stalled: 1,
                borderline: 1,
                responsive: 8
            }
        );
        assert_eq!((t.pairs(), t.count(Responsiveness::Borderline)), (10, 1));
        assert!(!t.all_responsive());
        assert!(Tally::of(&pairs(Strategy::Jobs, 2, 0, 0.5)).all_responsive());
        assert!(!Tally::default().all_responsive());
    }

    #[test]
    fn one_probe_of_one_round_does_not_decide_the_verdict() {
        // Every probe 1 ms (T1 10 ms) but one of round 2 at 15 ms: the old rule (every round's
        // worst probe) called it borderline; the pooled p99 with any round left out is 1 ms.
        let r = probed(|round, i| if round == 2 && i == 50 { 15_000 } else { 1_000 });
        let v = &verdicts(&r)[0];
        assert_eq!(v.rounds_stalled(), 1);
        assert_eq!(v.class, Responsiveness::Responsive);
        assert_eq!(v.left_out.as_ref().map(Vec::len), Some(4));
        // Three probes in every round past T1 (3 % of them): p99 past T1 whichever round is
        // left out: stalled.
        let r = probed(|_, i| if i < 3 { 15_000 } else { 1_000 });
        assert_eq!(verdicts(&r)[0].class, Responsiveness::Stalled);
        // Round 3 alone carries 12 slow probes: with it the p99 is past T1, without it not.
        let r = probed(|round, i| if round == 3 && i < 12 { 15_000 } else { 1_000 });
        assert_eq!(verdicts(&r)[0].class, Responsiveness::Borderline);
    }

    #[test]
    fn a_probe_without_an_answer_is_never_kept_answering() {
        let mut r = probed(|_, _| 1_000);
        assert_eq!(verdicts(&r)[0].class, Responsiveness::Responsive);
        r.summary[0].probe_errors = 1;
        assert_eq!(verdicts(&r)[0].class, Responsiveness::Borderline);
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
