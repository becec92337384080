//! Split halves: the batch experiment's results cut in two by pass, odd passes and even ones,
//! so that the analysis can run on each half as if it were a run of its own.
//!
//! The passes are interleaved: every pair has one round in each pass, and the passes take
//! turns through the run. The two halves are therefore two runs of the same code measured
//! side by side, each with half the rounds, and a claim that this run makes but one of its
//! halves does not is one a second run could well not repeat ([`super::claims`]).
//!
//! What a half recomputes from its own rounds, and what it keeps from the whole run:
//! - recomputed: rounds, batch and `/background` completion times (mean, fastest, slowest),
//!   probes sent and failed, and the pooled probe percentiles from probes.csv's rows of its
//!   rounds (nearest rank; bench-runner's summary uses an HDR histogram to 3 significant
//!   figures, which agrees within 0.1 %). A pair without probes.csv rows keeps the whole
//!   run's pooled figures; its rounds' worst probes are still its own;
//! - kept: T1 (the threshold both halves are judged against), the server's figures (lag,
//!   cores, the scheduler's) and the attribution, which describe the stall rather than decide
//!   a verdict, and the request percentiles, which no claim rests on.
//!
//! The sizes, rate and queue experiments are not split: they have their own rules for the
//! noise (the sizes' probe counts, the rate's kept schedules, the queue's paired passes).

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::stats::nearest_rank;
use crate::data::{PairKey, ProbeRow, Results, RoundRow, SummaryRow};

/// One half of a run's passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// Passes 1, 3, 5…
    Odd,
    /// Passes 2, 4, 6…
    Even,
}

impl Half {
    /// Both halves, odd first.
    pub const BOTH: [Half; 2] = [Half::Odd, Half::Even];

    /// `odd` / `even`.
    pub fn name(self) -> &'static str {
        match self {
            Half::Odd => "odd",
            Half::Even => "even",
        }
    }

    /// Whether `pass` (from 1) is in this half.
    pub fn keeps(self, pass: u32) -> bool {
        (pass % 2 == 1) == (self == Half::Odd)
    }
}

/// The pass of a round: its own, or for runs older than passes its round number (then the
/// halves are odd and even rounds, run back to back).
fn pass_of(round: &RoundRow) -> u32 {
    round.pass.unwrap_or(round.round)
}

/// The passes of the batch experiment's rounds, ascending, each once.
pub fn passes(r: &Results) -> Vec<u32> {
    let set: BTreeSet<u32> = r.rounds.iter().map(pass_of).collect();
    set.into_iter().collect()
}

/// Half `h` of `r`'s batch experiment, as results of their own (no sizes, rate or queue
/// experiment); `None` when the batch has fewer than two passes.
pub fn split(r: &Results, h: Half) -> Option<Results> {
    if passes(r).len() < 2 {
        return None;
    }
    let rounds: Vec<RoundRow> = r
        .rounds
        .iter()
        .filter(|x| h.keeps(pass_of(x)))
        .cloned()
        .collect();
    let mut kept: BTreeMap<PairKey, Vec<&RoundRow>> = BTreeMap::new();
    for x in &rounds {
        kept.entry(x.key()).or_default().push(x);
    }
    let timeout = r.probe_timeout_us();
    let probes: BTreeMap<PairKey, Vec<ProbeRow>> = r
        .probes
        .iter()
        .map(|(key, rows)| {
            let numbers: BTreeSet<u32> = kept
                .get(key)
                .map(|xs| xs.iter().map(|x| x.round).collect())
                .unwrap_or_default();
            let rows = rows
                .iter()
                .filter(|p| numbers.contains(&p.round))
                .cloned()
                .collect();
            (key.clone(), rows)
        })
        .collect();
    let summary = r
        .summary
        .iter()
        .map(|s| {
            let key = s.key();
            let of = kept.get(&key).map_or(&[][..], Vec::as_slice);
            let own = probes.get(&key).map_or(&[][..], Vec::as_slice);
            half_row(s, of, own, timeout)
        })
        .collect();
    let mut metadata = r.metadata.clone();
    metadata.experiments = vec![results_format::Experiment::Batch.name().to_owned()];
    Some(Results {
        metadata,
        summary,
        rounds,
        raw: BTreeMap::new(),
        probes,
        sizes: vec![],
        sizes_raw: vec![],
        rate: None,
        queue: None,
        pools: None,
        cache: vec![],
        passes: r
            .passes
            .iter()
            .filter(|p| h.keeps(p.pass))
            .cloned()
            .collect(),
    })
}

/// `s` with the figures of `rounds` and their `probes` only (see the module's list).
fn half_row(
    s: &SummaryRow,
    rounds: &[&RoundRow],
    probes: &[ProbeRow],
    timeout_us: Option<f64>,
) -> SummaryRow {
    let mut out = s.clone();
    let over = |f: &dyn Fn(&RoundRow) -> Option<f64>| -> Vec<f64> {
        rounds.iter().filter_map(|x| f(x)).collect()
    };
    let batch = over(&|x| Some(x.batch_ms));
    let done = over(&|x| x.background_done_ms);
    out.rounds = u32::try_from(rounds.len()).unwrap_or(u32::MAX);
    out.requests = s.concurrency * rounds.len() as u64;
    (out.batch_ms_mean, out.batch_ms_min, out.batch_ms_max) = mean_min_max(&batch);
    out.batch_ms_sd = None;
    (
        out.background_done_ms_mean,
        out.background_done_ms_min,
        out.background_done_ms_max,
    ) = mean_min_max(&done);
    out.background_done_ms_sd = None;
    out.probes = rounds.iter().map(|x| x.probes).sum();
    out.probe_errors = rounds.iter().map(|x| x.probe_errors).sum();
    if rounds.is_empty() {
        out.probe_latency_us_p50 = None;
        out.probe_latency_us_p99 = None;
        out.probe_latency_us_max = None;
    } else if !probes.is_empty() {
        let mut us: Vec<f64> = probes.iter().map(|p| p.counted_us(timeout_us)).collect();
        us.sort_by(f64::total_cmp);
        out.probe_latency_us_p50 = nearest_rank(&us, 0.50);
        out.probe_latency_us_p99 = nearest_rank(&us, 0.99);
        out.probe_latency_us_max = us.last().copied();
    } else {
        out.probe_latency_us_max = over(&|x| x.probe_worst_us(timeout_us))
            .into_iter()
            .reduce(f64::max);
    }
    out
}

/// The mean, the smallest and the largest of `xs`; all `None` when empty.
fn mean_min_max(xs: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None, None);
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (
        Some(mean),
        xs.iter().copied().reduce(f64::min),
        xs.iter().copied().reduce(f64::max),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fake::{Pair, results};
    use common::Strategy;

    #[test]
    fn halves_take_turns_by_pass() {
        assert!(Half::Odd.keeps(1) && Half::Odd.keeps(5) && !Half::Odd.keeps(2));
        assert!(Half::Even.keeps(2) && !Half::Even.keeps(3));
    }

    #[test]
    fn a_half_recomputes_its_rounds_figures_and_keeps_t1() {
        let r = results(&[
            Pair::new("a", 1, Strategy::Rayon, &[10.0, 20.0, 30.0, 40.0])
                .probes(5.0, &[1.0, 9.0, 2.0, 11.0]),
        ]);
        let odd = split(&r, Half::Odd).expect("four passes");
        let even = split(&r, Half::Even).expect("four passes");
        let (o, e) = (&odd.summary[0], &even.summary[0]);
        assert_eq!(o.rounds, 2);
        assert_eq!(
            (o.batch_ms_mean, o.batch_ms_min, o.batch_ms_max),
            (Some(20.0), Some(10.0), Some(30.0))
        );
        assert_eq!(e.batch_ms_mean, Some(30.0));
        // No probes.csv rows: the worst is the rounds', the pooled p99 the whole run's.
        assert_eq!(o.probe_latency_us_max, Some(2000.0));
        assert_eq!(e.probe_latency_us_max, Some(11000.0));
        assert_eq!(o.probe_latency_us_p99, Some(5000.0));
        assert_eq!((o.t1_ms, e.t1_ms), (Some(10.0), Some(10.0)));
        assert_eq!(odd.rounds.len(), 2);
        assert!(
            odd.rounds
                .iter()
                .all(|x| x.pass.is_some_and(|p| p % 2 == 1))
        );
    }

    #[test]
    fn a_half_pools_the_probes_of_its_own_rounds() {
        let mut r = results(&[Pair::new("a", 1, Strategy::Rayon, &[10.0, 20.0])]);
        let key = r.summary[0].key();
        let probe = |round: u32, latency_us: u64| ProbeRow {
            target: "a".into(),
            workers: Some(1),
            strategy: Strategy::Rayon,
            round,
            scheduled_offset_us: 0,
            latency_us,
            status: Some(200),
            error: None,
        };
        let mut rows: Vec<ProbeRow> = (1..=100).map(|i| probe(1, i)).collect();
        rows.extend((1..=100).map(|i| probe(2, 1000 + i)));
        r.probes.insert(key, rows);
        let odd = split(&r, Half::Odd).expect("two passes");
        let even = split(&r, Half::Even).expect("two passes");
        assert_eq!(odd.summary[0].probe_latency_us_p99, Some(99.0));
        assert_eq!(even.summary[0].probe_latency_us_p99, Some(1099.0));
        assert_eq!(even.summary[0].probe_latency_us_max, Some(1100.0));
    }

    #[test]
    fn one_pass_has_no_halves() {
        let r = results(&[Pair::new("a", 1, Strategy::Rayon, &[10.0])]);
        assert!(split(&r, Half::Odd).is_none());
    }
}
