//! Request by request: what the charts draw from raw.csv and probes.csv. The timeline's batch
//! of each strategy (the median round of a pair, each request and probe of it from send to
//! answer) and every pair's answered requests, sorted, for the latency distribution.

use std::collections::BTreeMap;

use common::Strategy;

use crate::analysis::stats;
use crate::data::{PairKey, Results, RoundRow};

/// Which batch the timeline shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineSetting {
    /// Target name.
    pub target: String,
    /// Its `runtime + framework`.
    pub label: String,
    /// Executor threads.
    pub workers: Option<u32>,
}

/// The timeline's setting: the first runtime of the run, with one worker if measured (one
/// executor thread shows inline work most plainly: one request after another), else the
/// fewest workers measured.
pub fn timeline_setting(r: &Results) -> TimelineSetting {
    let (target, label) = r
        .targets()
        .into_iter()
        .next()
        .unwrap_or_else(|| (String::new(), String::new()));
    let workers = r
        .summary
        .iter()
        .filter(|s| s.target == target)
        .map(|s| s.workers)
        .min()
        .flatten();
    TimelineSetting {
        target,
        label,
        workers,
    }
}

/// The round of `key` whose work time is the median (the lower of the middle two,
/// [`stats::lower_middle`]): the batch time, or for `/background` the time until its work was
/// done ([`stats::round_work_ms`]).
pub fn median_round<'a>(r: &'a Results, key: &PairKey) -> Option<&'a RoundRow> {
    let mut rounds = r.rounds_of(key);
    let work = |x: &RoundRow| stats::round_work_ms(x).unwrap_or(x.batch_ms);
    rounds.sort_by(|a, b| work(a).total_cmp(&work(b)).then(a.round.cmp(&b.round)));
    stats::lower_middle(&rounds).copied()
}

/// One batch of a pair, request by request: times in ms from the batch's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The round.
    pub round: u32,
    /// The round's ideal batch time, ms.
    pub ideal_batch_ms: Option<f64>,
    /// Until the server recorded the end of the last background job, ms.
    pub background_done_ms: Option<f64>,
    /// Each request from its send to its answer, sorted by answer.
    pub requests: Vec<(f64, f64)>,
    /// Each probe from its scheduled send to its answer (or to the timeout), and whether it
    /// got no answer, in file order.
    pub probes: Vec<(f64, f64, bool)>,
}

/// What the timeline shows for one strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineBatch {
    /// The pair's median round.
    Shown(Batch),
    /// The runtime cannot run the strategy.
    NotApplicable,
    /// The pair failed.
    Failed,
    /// Not in the run, or no round of it.
    NotMeasured,
}

/// The timeline: its setting and, per strategy of the run in `Strategy::ALL` order, its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Which runtime and worker count.
    pub setting: TimelineSetting,
    /// Each strategy's batch.
    pub batches: Vec<(Strategy, TimelineBatch)>,
}

impl Timeline {
    /// The timeline of `r`.
    pub fn of(r: &Results) -> Timeline {
        let setting = timeline_setting(r);
        let timeout = r.probe_timeout_us();
        let ms = |us: u64| us as f64 / 1000.0;
        let batches = r
            .strategies()
            .into_iter()
            .map(|s| {
                let key = PairKey {
                    target: setting.target.clone(),
                    workers: setting.workers,
                    strategy: s,
                };
                let batch = match (r.pair(&key), median_round(r, &key)) {
                    (Some(p), Some(round)) if p.ok() => {
                        let mut requests: Vec<(f64, f64)> = r
                            .raw
                            .get(&key)
                            .into_iter()
                            .flatten()
                            .filter(|x| x.round == round.round)
                            .map(|x| (ms(x.start_offset_us), ms(x.start_offset_us + x.latency_us)))
                            .collect();
                        requests.sort_by(|a, b| a.1.total_cmp(&b.1));
                        let probes = r
                            .probes
                            .get(&key)
                            .into_iter()
                            .flatten()
                            .filter(|x| x.round == round.round)
                            .map(|x| {
                                let start = ms(x.scheduled_offset_us);
                                (start, start + x.counted_us(timeout) / 1000.0, x.failed())
                            })
                            .collect();
                        TimelineBatch::Shown(Batch {
                            round: round.round,
                            ideal_batch_ms: round.ideal_batch_ms,
                            background_done_ms: round.background_done_ms,
                            requests,
                            probes,
                        })
                    }
                    (Some(p), _) if p.not_applicable() => TimelineBatch::NotApplicable,
                    (Some(p), _) if !p.ok() => TimelineBatch::Failed,
                    _ => TimelineBatch::NotMeasured,
                };
                (s, batch)
            })
            .collect();
        Timeline { setting, batches }
    }
}

/// Every pair measured successfully with its answered requests' latencies, ms (at least
/// 0.001), ascending: the latency distribution's curves.
pub fn latencies(r: &Results) -> BTreeMap<PairKey, Vec<f64>> {
    r.summary
        .iter()
        .filter(|p| p.ok())
        .map(|p| {
            let key = p.key();
            let mut xs: Vec<f64> = r
                .raw
                .get(&key)
                .into_iter()
                .flatten()
                .filter(|x| x.status.is_some())
                .map(|x| (x.latency_us as f64 / 1000.0).max(0.001))
                .collect();
            xs.sort_by(f64::total_cmp);
            (key, xs)
        })
        .collect()
}
