//! Figures derived from the raw records: per round ([`RoundFigures`], rounds.csv) and per pair
//! ([`PairSummary`], summary.csv and the console table: mean and spread over rounds).
//!
//! Which requests count where:
//! - latency percentiles: every request that got an HTTP answer (errors included, a timeout
//!   has no answer and is counted in `errors_timeout` only);
//! - throughput: verified answers per second of batch time;
//! - efficiency: ideal batch time / measured batch time; for `/background` on our servers the
//!   measured time is the time until every job finished (T1 then is a lone job's completion
//!   time too), as the 202s alone say nothing about the work. Not computed for `/background`
//!   on an external target, whose completion is unknown.

use std::time::Duration;

use common::Strategy;

use crate::measure::{Measurement, RequestError, Round};
use crate::stats::{self, Percentiles, Spread};

/// Requests that were not verified answers, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    /// No answer in time.
    pub timeout: usize,
    /// Connection errors.
    pub transport: usize,
    /// Unexpected status.
    pub status: usize,
    /// Wrong body.
    pub body: usize,
}

impl ErrorCounts {
    /// All kinds together.
    pub fn total(&self) -> usize {
        self.timeout + self.transport + self.status + self.body
    }

    fn add(&mut self, other: ErrorCounts) {
        self.timeout += other.timeout;
        self.transport += other.transport;
        self.status += other.status;
        self.body += other.body;
    }
}

/// The figures of one round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundFigures {
    /// From 1.
    pub round: u32,
    /// Batch wall time, ms.
    pub batch_ms: f64,
    /// C × T1 / min(C, cores), ms.
    pub ideal_batch_ms: Option<f64>,
    /// ideal / measured.
    pub efficiency: Option<f64>,
    /// Verified answers per second of batch.
    pub throughput_rps: f64,
    /// Latency of the requests that got an answer, µs.
    pub latency: Option<Percentiles>,
    /// Requests sent.
    pub requests: usize,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Probes sent.
    pub probes: usize,
    /// Latency of the probes that got an answer (from their scheduled time), µs.
    pub probe: Option<Percentiles>,
    /// Until every background job finished, ms.
    pub background_done_ms: Option<f64>,
}

impl RoundFigures {
    /// Figures of `round` of `m`.
    pub fn of(m: &Measurement, round: &Round) -> RoundFigures {
        let mut errors = ErrorCounts::default();
        for r in &round.requests {
            match &r.error {
                None => {}
                Some(RequestError::Timeout) => errors.timeout += 1,
                Some(RequestError::Transport(_)) => errors.transport += 1,
                Some(RequestError::Status(_)) => errors.status += 1,
                Some(RequestError::Body(_)) => errors.body += 1,
            }
        }
        let answered: Vec<u64> = round
            .requests
            .iter()
            .filter(|r| r.status.is_some())
            .map(|r| stats::micros(r.latency))
            .collect();
        let probed: Vec<u64> = round
            .probes
            .iter()
            .filter(|p| p.status.is_some())
            .map(|p| stats::micros(p.latency))
            .collect();
        let verified = round.requests.iter().filter(|r| r.error.is_none()).count();
        let ideal = ideal_batch(m);
        let measured = match (m.strategy, round.background_done) {
            (Strategy::Background, Some(done)) => Some(done),
            (Strategy::Background, None) => None,
            _ => Some(round.batch),
        };
        let efficiency = ideal
            .zip(measured)
            .and_then(|(i, t)| stats::efficiency(i, t));
        let secs = round.batch.as_secs_f64();
        RoundFigures {
            round: round.number,
            batch_ms: stats::millis(round.batch),
            ideal_batch_ms: ideal.map(stats::millis),
            efficiency,
            throughput_rps: if secs > 0.0 {
                verified as f64 / secs
            } else {
                0.0
            },
            latency: stats::percentiles(&answered),
            requests: round.requests.len(),
            errors,
            probes: round.probes.len(),
            probe: stats::percentiles(&probed),
            background_done_ms: round.background_done.map(stats::millis),
        }
    }
}

/// The ideal batch time of `m`, if T1 is known and means something.
fn ideal_batch(m: &Measurement) -> Option<Duration> {
    let t1 = m.t1?;
    let external_background =
        m.strategy == Strategy::Background && m.rounds.iter().all(|r| r.background_done.is_none());
    if external_background {
        return None;
    }
    Some(stats::ideal_batch(t1, m.plan.concurrency, m.plan.cores))
}

/// One pair's summary: mean and spread over its rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSummary {
    /// `ok` or `failed`.
    pub ok: bool,
    /// Why it failed.
    pub failure: Option<String>,
    /// The conformance verdict (`None`: never verified).
    pub verified: Option<bool>,
    /// Conformance checks passed.
    pub checks_passed: usize,
    /// Conformance checks skipped.
    pub checks_skipped: usize,
    /// T1, ms.
    pub t1_ms: Option<f64>,
    /// Ideal batch time, ms.
    pub ideal_batch_ms: Option<f64>,
    /// Batch wall time over rounds, ms.
    pub batch_ms: Option<Spread>,
    /// Efficiency over rounds.
    pub efficiency: Option<Spread>,
    /// Throughput over rounds.
    pub throughput_rps: Option<Spread>,
    /// Smallest latency of any round, µs.
    pub latency_min_us: Option<u64>,
    /// Per-round medians, over rounds, µs.
    pub latency_p50_us: Option<Spread>,
    /// Per-round p90s, over rounds, µs.
    pub latency_p90_us: Option<Spread>,
    /// Per-round p99s, over rounds, µs.
    pub latency_p99_us: Option<Spread>,
    /// Largest latency of any round, µs.
    pub latency_max_us: Option<u64>,
    /// Requests sent in all rounds.
    pub requests: usize,
    /// Errors in all rounds.
    pub errors: ErrorCounts,
    /// Probes sent in all rounds.
    pub probes: usize,
    /// Per-round probe medians, over rounds, µs.
    pub probe_p50_us: Option<Spread>,
    /// Per-round probe p99s, over rounds, µs.
    pub probe_p99_us: Option<Spread>,
    /// Largest probe latency of any round, µs.
    pub probe_max_us: Option<u64>,
    /// Background completion over rounds, ms.
    pub background_done_ms: Option<Spread>,
    /// Notes, joined with `; `.
    pub note: String,
}

impl PairSummary {
    /// Summarises `m`.
    pub fn of(m: &Measurement) -> PairSummary {
        let rounds: Vec<RoundFigures> = m.rounds.iter().map(|r| RoundFigures::of(m, r)).collect();
        let over = |f: &dyn Fn(&RoundFigures) -> Option<f64>| {
            let xs: Vec<f64> = rounds.iter().filter_map(f).collect();
            stats::spread(&xs)
        };
        let mut errors = ErrorCounts::default();
        for r in &rounds {
            errors.add(r.errors);
        }
        let v = m.verification.as_ref();
        PairSummary {
            ok: m.failure.is_none(),
            failure: m.failure.clone(),
            verified: v.map(|v| v.passed),
            checks_passed: v.map_or(0, |v| v.checks_passed),
            checks_skipped: v.map_or(0, |v| v.skipped.len()),
            t1_ms: m.t1.map(stats::millis),
            ideal_batch_ms: ideal_batch(m).map(stats::millis),
            batch_ms: over(&|r| Some(r.batch_ms)),
            efficiency: over(&|r| r.efficiency),
            throughput_rps: over(&|r| Some(r.throughput_rps)),
            latency_min_us: rounds.iter().filter_map(|r| r.latency.map(|p| p.min)).min(),
            latency_p50_us: over(&|r| r.latency.map(|p| p.p50 as f64)),
            latency_p90_us: over(&|r| r.latency.map(|p| p.p90 as f64)),
            latency_p99_us: over(&|r| r.latency.map(|p| p.p99 as f64)),
            latency_max_us: rounds.iter().filter_map(|r| r.latency.map(|p| p.max)).max(),
            requests: rounds.iter().map(|r| r.requests).sum(),
            errors,
            probes: rounds.iter().map(|r| r.probes).sum(),
            probe_p50_us: over(&|r| r.probe.map(|p| p.p50 as f64)),
            probe_p99_us: over(&|r| r.probe.map(|p| p.p99 as f64)),
            probe_max_us: rounds.iter().filter_map(|r| r.probe.map(|p| p.max)).max(),
            background_done_ms: over(&|r| r.background_done_ms),
            note: m.notes.join("; "),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::measure::{Labels, Plan, ProbeRecord, RequestRecord, Verification};

    pub(crate) fn plan() -> Plan {
        Plan {
            n: 1000,
            yield_every: None,
            concurrency: 4,
            rounds: 2,
            probe_interval: Duration::from_millis(5),
            calibration: 3,
            warmup: 1,
            request_timeout: Duration::from_secs(1),
            cores: 2,
        }
    }

    fn request(index: usize, latency_ms: u64, error: Option<RequestError>) -> RequestRecord {
        let status = match &error {
            Some(RequestError::Timeout | RequestError::Transport(_)) => None,
            Some(RequestError::Status(s)) => Some(*s),
            _ => Some(200),
        };
        RequestRecord {
            index,
            start_offset: Duration::from_micros(index as u64),
            latency: Duration::from_millis(latency_ms),
            status,
            error,
        }
    }

    fn probe(index: u64, latency_ms: u64) -> ProbeRecord {
        ProbeRecord {
            index,
            scheduled_offset: Duration::from_millis(5 * index),
            send_delay: Duration::ZERO,
            latency: Duration::from_millis(latency_ms),
            status: Some(200),
            error: None,
        }
    }

    /// Two rounds of 4 requests with T1 = 10 ms on 2 cores: ideal 20 ms.
    /// Round 1: latencies 10, 20, 30, 40 ms, batch 40 ms, probes 1 and 3 ms.
    /// Round 2: latencies 10, 20, 30 ms and a timeout, batch 80 ms, probes 2, 4 and 6 ms.
    pub(crate) fn measurement() -> Measurement {
        let ms = Duration::from_millis;
        Measurement {
            labels: Labels {
                target: "tokio".into(),
                runtime: "tokio".into(),
                framework: "axum".into(),
                client: "reqwest",
                workers: Some(1),
            },
            strategy: Strategy::Cycle,
            plan: plan(),
            verification: Some(Verification {
                passed: true,
                checks_passed: 7,
                failed: vec![],
                skipped: vec!["x: y".into()],
            }),
            t1: Some(ms(10)),
            rounds: vec![
                Round {
                    number: 1,
                    batch: ms(40),
                    background_done: None,
                    requests: (0..4)
                        .map(|i| request(i, 10 * (i as u64 + 1), None))
                        .collect(),
                    probes: vec![probe(0, 1), probe(1, 3)],
                },
                Round {
                    number: 2,
                    batch: ms(80),
                    background_done: None,
                    requests: vec![
                        request(0, 10, None),
                        request(1, 20, None),
                        request(2, 30, None),
                        request(3, 1000, Some(RequestError::Timeout)),
                    ],
                    probes: vec![probe(0, 2), probe(1, 4), probe(2, 6)],
                },
            ],
            failure: Some("1 of 8 requests failed: 1 timeout".into()),
            notes: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn round_figures_known_answers() {
        let m = measurement();
        let r1 = RoundFigures::of(&m, &m.rounds[0]);
        assert_eq!(r1.batch_ms, 40.0);
        assert_eq!(r1.ideal_batch_ms, Some(20.0));
        assert_eq!(r1.efficiency, Some(0.5));
        assert_eq!(r1.throughput_rps, 100.0);
        let l = r1.latency.expect("latency");
        assert_eq!(
            (l.min, l.p50, l.p90, l.p99, l.max),
            (10_000, 20_000, 40_000, 40_000, 40_000)
        );
        assert_eq!(l.mean, 25_000.0);
        assert_eq!((r1.requests, r1.errors.total(), r1.probes), (4, 0, 2));
        let p = r1.probe.expect("probes");
        assert_eq!((p.p50, p.max), (1_000, 3_000));

        let r2 = RoundFigures::of(&m, &m.rounds[1]);
        assert_eq!(r2.efficiency, Some(0.25));
        // 3 verified answers in 80 ms.
        assert_eq!(r2.throughput_rps, 37.5);
        assert_eq!(
            r2.errors,
            ErrorCounts {
                timeout: 1,
                ..ErrorCounts::default()
            }
        );
        // The timeout has no answer: not in the percentiles.
        assert_eq!(r2.latency.map(|l| (l.count, l.max)), Some((3, 30_000)));
    }

    #[test]
    fn pair_summary_known_answers() {
        let s = PairSummary::of(&measurement());
        assert!(!s.ok);
        assert_eq!(s.verified, Some(true));
        assert_eq!((s.checks_passed, s.checks_skipped), (7, 1));
        assert_eq!((s.t1_ms, s.ideal_batch_ms), (Some(10.0), Some(20.0)));
        let b = s.batch_ms.expect("batch");
        assert_eq!((b.mean, b.min, b.max), (60.0, 40.0, 80.0));
        assert_eq!(b.sd, Some(800.0f64.sqrt()));
        let e = s.efficiency.expect("efficiency");
        assert_eq!(e.mean, 0.375);
        assert_eq!(s.throughput_rps.map(|t| t.mean), Some(68.75));
        assert_eq!(
            (s.latency_min_us, s.latency_max_us),
            (Some(10_000), Some(40_000))
        );
        assert_eq!(s.latency_p50_us.map(|p| p.mean), Some(20_000.0));
        assert_eq!(s.latency_p99_us.map(|p| p.mean), Some(35_000.0));
        assert_eq!((s.requests, s.errors.timeout, s.probes), (8, 1, 5));
        assert_eq!(s.probe_p50_us.map(|p| p.mean), Some(2_500.0));
        assert_eq!(s.probe_max_us, Some(6_000));
        assert_eq!(s.background_done_ms, None);
        assert_eq!(s.note, "a; b");
    }

    #[test]
    fn background_efficiency_uses_completion_and_needs_it() {
        let mut m = measurement();
        m.strategy = Strategy::Background;
        m.rounds[0].background_done = Some(Duration::from_millis(100));
        m.rounds[1].background_done = Some(Duration::from_millis(40));
        let s = PairSummary::of(&m);
        let e = s.efficiency.expect("efficiency");
        assert_eq!((e.min, e.max), (0.020 / 0.100, 0.5));
        assert_eq!(s.background_done_ms.map(|d| d.mean), Some(70.0));
        // External: no completion time, no efficiency, no ideal.
        for r in &mut m.rounds {
            r.background_done = None;
        }
        let s = PairSummary::of(&m);
        assert_eq!((s.efficiency, s.ideal_batch_ms), (None, None));
    }

    #[test]
    fn a_pair_that_never_ran_summarises_to_blanks() {
        let mut m = measurement();
        m.rounds.clear();
        m.t1 = None;
        m.verification = None;
        let s = PairSummary::of(&m);
        assert_eq!(
            (s.verified, s.batch_ms, s.latency_p50_us, s.requests),
            (None, None, None, 0)
        );
    }
}
