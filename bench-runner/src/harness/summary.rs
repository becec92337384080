//! Figures derived from the raw records: per round ([`RoundFigures`], rounds.csv) and per pair
//! ([`PairSummary`], summary.csv and the console table: mean and spread over rounds).
//!
//! Which requests count where:
//! - latency percentiles: every request that got an HTTP answer (errors included, a timeout
//!   has no answer and is counted in `errors_timeout` only);
//! - probe percentiles: every probe, a failed one (timeout, reset) at no less than the timeout:
//!   the worst stall there is must not vanish; the harness's own lateness is left out of a
//!   probe's latency and summarised apart (see [`crate::harness::probe`]);
//! - a pair's percentiles are computed from all its rounds pooled (C × R requests, every probe
//!   of every round); a round's own figures keep only p50 and max, since with C = 20 a
//!   per-round p99 is just the round's largest value;
//! - throughput: verified answers per second of batch time;
//! - efficiency: ideal batch time / measured batch time; for `/background` on our servers the
//!   measured time is the time until every job finished (T1 then is a lone job's completion
//!   time too), as the 202s alone say nothing about the work. Not computed for `/background`
//!   on an external target, whose completion is unknown.

use std::time::Duration;

use common::Strategy;

use crate::cpu::CpuList;
use crate::harness::attribution::{self, Attribution, ExecutorFigures, Stall};
use crate::harness::http::RequestError;
use crate::harness::lag::LagWindow;
use crate::harness::records::{Measurement, Round};
use crate::harness::stats::{self, Percentiles, Spread};
use crate::sched::Usage;

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
    /// Probes that got no answer.
    pub probe_errors: usize,
    /// Probe latency (from the scheduled time, failed probes at no less than the timeout), µs.
    pub probe: Option<Percentiles>,
    /// The harness's own lateness in sending the probes, µs.
    pub probe_harness_late: Option<Percentiles>,
    /// Until every background job finished, ms.
    pub background_done_ms: Option<f64>,
    /// The server's lag window for the round (`None`: not measured).
    pub lag: Option<LagFigures>,
    /// Server CPU time in the round's window, ms.
    pub server_cpu_ms: Option<f64>,
    /// bench-runner's CPU time in the same window, ms.
    pub client_cpu_ms: Option<f64>,
    /// Server CPU time ÷ the window's wall time: cores the server kept busy on average.
    pub server_cores_used: Option<f64>,
    /// The scheduler's figures for the window (`None`: clock ticks only).
    pub sched: Option<SchedFigures>,
    /// Whose stall the round's worst probe was (`None`: nothing to decide it from).
    pub attribution: Option<Attribution>,
    /// The server's peak resident memory during the round (VmHWM, reset before it), MiB.
    pub server_peak_rss_mib: Option<f64>,
}

/// A round's figures from the scheduler's per-thread counts ([`crate::sched`]), ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedFigures {
    /// The server, its queue workers and the broker, on a CPU.
    pub pair_cpu_ms: f64,
    /// The queue workers on a CPU (`None`: none watched).
    pub workers_cpu_ms: Option<f64>,
    /// The broker on a CPU (`None`: not watched).
    pub broker_cpu_ms: Option<f64>,
    /// Executor threads that were on a CPU in the window.
    pub executor_threads: usize,
    /// The executor threads on a CPU, together.
    pub executor_oncpu_ms: f64,
    /// The executor threads runnable and waiting on a run queue, together.
    pub executor_runq_ms: f64,
    /// The CPU pool's threads on a CPU.
    pub cpu_pool_oncpu_ms: f64,
    /// The blocking pool's threads on a CPU.
    pub blocking_oncpu_ms: f64,
    /// The server's other threads on a CPU.
    pub other_oncpu_ms: f64,
    /// Every server thread waiting on a run queue, together.
    pub server_runq_ms: f64,
    /// What the attribution reads of the executor.
    pub executor: ExecutorFigures,
}

impl SchedFigures {
    fn of(u: &Usage) -> SchedFigures {
        let ms = stats::millis;
        let threads = u.executor_threads.max(1) as f64;
        let wall = u.wall.as_secs_f64() * 1e3;
        SchedFigures {
            pair_cpu_ms: ms(u.pair().oncpu),
            workers_cpu_ms: u.workers.map(|t| ms(t.oncpu)),
            broker_cpu_ms: u.broker.map(|t| ms(t.oncpu)),
            executor_threads: u.executor_threads,
            executor_oncpu_ms: ms(u.executor.oncpu),
            executor_runq_ms: ms(u.executor.runq),
            cpu_pool_oncpu_ms: ms(u.cpu_pool.oncpu),
            blocking_oncpu_ms: ms(u.blocking.oncpu),
            other_oncpu_ms: ms(u.other.oncpu),
            server_runq_ms: ms(u.server().runq),
            executor: ExecutorFigures {
                busy_share: if wall > 0.0 {
                    ms(u.executor.oncpu) / (threads * wall)
                } else {
                    0.0
                },
                runq_share: if wall > 0.0 {
                    ms(u.executor.runq) / (threads * wall)
                } else {
                    0.0
                },
                oncpu_ms_per_thread: ms(u.executor.oncpu) / threads,
                runq_ms_per_thread: ms(u.executor.runq) / threads,
            },
        }
    }
}

/// A round's executor lag, as the server measured it, µs. Percentiles are `None` when the
/// window holds no sample (`--no-lag-monitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LagFigures {
    /// Heartbeat samples in the window.
    pub samples: u64,
    /// Median lateness.
    pub p50_us: Option<u64>,
    /// 99th percentile.
    pub p99_us: Option<u64>,
    /// Largest.
    pub max_us: Option<u64>,
    /// Which heartbeat these are, where the server runs one per worker (actix-web): the
    /// worst worker's in the window. `None` with one heartbeat.
    pub lane: Option<usize>,
}

impl LagFigures {
    fn of(w: &LagWindow) -> LagFigures {
        let has = w.has_samples();
        LagFigures {
            lane: (w.lanes > 1).then_some(w.lane),
            samples: w.samples,
            p50_us: has.then_some(w.p50_us),
            p99_us: has.then_some(w.p99_us),
            max_us: has.then_some(w.max_us),
        }
    }
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
        let answered = answered_us(std::slice::from_ref(round));
        let (probed, harness) = probe_us(m, std::slice::from_ref(round));
        let verified = round.requests.iter().filter(|r| r.error.is_none()).count();
        let ideal = ideal_batch(m, round.kernels);
        let measured = match (m.strategy, round.background_done) {
            (Strategy::Background, Some(done)) => Some(done),
            (Strategy::Background, None) => None,
            _ => Some(round.batch),
        };
        let efficiency = ideal
            .zip(measured)
            .and_then(|(i, t)| stats::efficiency(i, t));
        let secs = round.batch.as_secs_f64();
        let sched = round.sched.as_ref().map(SchedFigures::of);
        let server_cores_used = round
            .server_cpu
            .zip(round.cpu_wall)
            .filter(|(_, wall)| !wall.is_zero())
            .map(|(cpu, wall)| cpu.as_secs_f64() / wall.as_secs_f64());
        let lag = round.lag.as_ref().map(LagFigures::of);
        // The round's stall: its worst probe, against T1.
        let probe = stats::percentiles(&probed);
        let stall_ms = probe.map(|p| p.max as f64 / 1e3);
        let work_ms = m.work_alone().map(stats::millis);
        let stall = stall_ms
            .zip(work_ms)
            .map(|(stall_ms, work_alone_ms)| Stall {
                worst_ms: stall_ms,
                stall_ms,
                work_alone_ms,
            });
        let attribution = match (stall, sched) {
            (Some(stall), Some(f)) => Some(attribution::from_scheduler(stall, f.executor)),
            (Some(stall), None) => attribution::from_heartbeat(
                stall,
                lag.and_then(|l| l.p99_us).map(|us| us as f64 / 1e3),
                cores_busy_share(round),
            ),
            _ => None,
        };
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
            probe_errors: round.probes.iter().filter(|p| p.error.is_some()).count(),
            probe,
            probe_harness_late: stats::percentiles(&harness),
            background_done_ms: round.background_done.map(stats::millis),
            lag,
            server_cpu_ms: round.server_cpu.map(stats::millis),
            client_cpu_ms: round.client_cpu.map(stats::millis),
            server_cores_used,
            sched,
            attribution,
            server_peak_rss_mib: round.server_peak_rss_kib.map(|kib| kib as f64 / 1024.0),
        }
    }
}

/// The share of the machine's online cores the server and bench-runner kept busy in `round`'s
/// window, from clock ticks: the fallback attribution's "cores full".
fn cores_busy_share(round: &Round) -> Option<f64> {
    let (server, client, wall) = (round.server_cpu?, round.client_cpu?, round.cpu_wall?);
    let cores = CpuList::online().len().max(1) as f64;
    (!wall.is_zero()).then(|| (server + client).as_secs_f64() / wall.as_secs_f64() / cores)
}

/// One pass of an experiment: when it ran and the machine's speed in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassSpeed {
    /// The pass, from 1.
    pub pass: u32,
    /// Rounds with a lone request in it.
    pub rounds: usize,
    /// Its first round's start, from the run's start.
    pub start_offset: Duration,
    /// Its last round's end (its batch, or its background jobs' completion).
    pub end_offset: Duration,
    /// Median over its rounds of the lone request before the round ÷ the pair's T1: 1.0 when
    /// every pair ran at its fastest, 1.2 when lone requests took 20 % longer than their best.
    pub speed_median: f64,
    /// The fastest of those ratios.
    pub speed_min: f64,
    /// The slowest.
    pub speed_max: f64,
}

/// The machine's speed in each pass of `ms` (rounds run in passes and with a lone request
/// before them), by pass: the lone request normalised by its own pair's T1, so that pairs of
/// different work compare.
pub fn pass_speeds(ms: &[Measurement]) -> Vec<PassSpeed> {
    let mut by_pass = std::collections::BTreeMap::<u32, Vec<(f64, Duration, Duration)>>::new();
    for m in ms {
        let Some(t1) = m.work_alone().filter(|t| !t.is_zero()) else {
            continue;
        };
        for r in m.rounds.iter().filter(|r| r.place.pass > 0) {
            // Against the same figure as T1: the work alone.
            let Some(lone) = r.lone_done.or(r.lone) else {
                continue;
            };
            let end = r.place.start_offset + r.background_done.unwrap_or(r.batch);
            by_pass.entry(r.place.pass).or_default().push((
                lone.as_secs_f64() / t1.as_secs_f64(),
                r.place.start_offset,
                end,
            ));
        }
    }
    by_pass
        .into_iter()
        .map(|(pass, rows)| {
            let speeds: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let (min, max) = speeds
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            PassSpeed {
                pass,
                rounds: rows.len(),
                start_offset: rows.iter().map(|r| r.1).min().unwrap_or_default(),
                end_offset: rows.iter().map(|r| r.2).max().unwrap_or_default(),
                speed_median: stats::median(&speeds).unwrap_or(f64::NAN),
                speed_min: min,
                speed_max: max,
            }
        })
        .collect()
}

/// The run's drift: the slowest pass's median speed ÷ the fastest's (`None` with fewer than
/// two passes).
pub fn drift(passes: &[PassSpeed]) -> Option<f64> {
    if passes.len() < 2 {
        return None;
    }
    let speeds = passes.iter().map(|p| p.speed_median);
    let slowest = speeds.clone().fold(f64::MIN, f64::max);
    let fastest = speeds.fold(f64::MAX, f64::min);
    (fastest > 0.0).then(|| slowest / fastest)
}

/// Latencies of the requests of `rounds` that got an answer, µs.
fn answered_us(rounds: &[Round]) -> Vec<u64> {
    rounds
        .iter()
        .flat_map(|r| &r.requests)
        .filter(|r| r.status.is_some())
        .map(|r| stats::micros(r.latency))
        .collect()
}

/// The probes of `rounds`: latencies as counted (failed ones at no less than the timeout) and
/// the harness's lateness, µs.
fn probe_us(m: &Measurement, rounds: &[Round]) -> (Vec<u64>, Vec<u64>) {
    let probes = rounds.iter().flat_map(|r| &r.probes);
    let timeout = m.plan.request_timeout;
    probes
        .map(|p| {
            (
                stats::micros(p.counted_latency(timeout)),
                stats::micros(p.harness_late),
            )
        })
        .unzip()
}

/// The ideal batch time of `m` for a batch that ran `kernels` kernels (`None`: one per
/// request), if T1 is known and means something. `/cached`'s identical batch runs one: its
/// ideal counting C made its efficiency 7 to 8, "faster than the hardware".
fn ideal_batch(m: &Measurement, kernels: Option<u64>) -> Option<Duration> {
    let t1 = m.work_alone()?;
    let external_background =
        m.strategy == Strategy::Background && m.rounds.iter().all(|r| r.background_done.is_none());
    if external_background {
        return None;
    }
    // At least one: a batch is never cheaper than one kernel of its own n.
    let kernels = kernels.map_or(m.plan.concurrency, |k| {
        usize::try_from(k.max(1)).unwrap_or(usize::MAX)
    });
    Some(stats::ideal_batch(t1, kernels, m.plan.cores))
}

/// The kernels a round of `m` ran, for the pair's ideal batch: the most any round counted
/// (`None` when no round counted them: one per request).
fn pair_kernels(m: &Measurement) -> Option<u64> {
    m.rounds.iter().filter_map(|r| r.kernels).max()
}

/// One pair's summary: percentiles of all its rounds pooled; batch time, efficiency,
/// throughput and background completion as mean and spread over rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSummary {
    /// `ok`, `failed` or `not_applicable` (results_format's `RESULT_*`).
    pub result: &'static str,
    /// Why it failed.
    pub failure: Option<String>,
    /// The conformance verdict (`None`: never verified).
    pub verified: Option<bool>,
    /// Conformance checks passed.
    pub checks_passed: usize,
    /// Conformance checks skipped.
    pub checks_skipped: usize,
    /// T1, the fastest lone request's round trip, ms.
    pub t1_ms: Option<f64>,
    /// `/background` on our servers: the fastest lone job's end from its send, ms.
    pub t1_done_ms: Option<f64>,
    /// Ideal batch time, ms.
    pub ideal_batch_ms: Option<f64>,
    /// Batch wall time over rounds, ms.
    pub batch_ms: Option<Spread>,
    /// Efficiency over rounds.
    pub efficiency: Option<Spread>,
    /// Throughput over rounds.
    pub throughput_rps: Option<Spread>,
    /// Latency of every answered request of every round, pooled, µs.
    pub latency_us: Option<Percentiles>,
    /// Requests sent in all rounds.
    pub requests: usize,
    /// Errors in all rounds.
    pub errors: ErrorCounts,
    /// Probes sent in all rounds.
    pub probes: usize,
    /// Probes that got no answer, in all rounds.
    pub probe_errors: usize,
    /// Latency of every probe of every round, pooled (failed ones at no less than the
    /// timeout), µs.
    pub probe_us: Option<Percentiles>,
    /// The harness's lateness in sending every probe, pooled, µs.
    pub probe_harness_late_us: Option<Percentiles>,
    /// Background completion over rounds, ms.
    pub background_done_ms: Option<Spread>,
    /// Heartbeat samples of every round's lag window (`None`: lag not measured).
    pub lag_samples: Option<u64>,
    /// Median over rounds of each round's lag p50, µs.
    pub lag_us_p50_median: Option<f64>,
    /// Median over rounds of each round's lag p99, µs.
    pub lag_us_p99_median: Option<f64>,
    /// The largest round lag p99, µs.
    pub lag_us_p99_worst: Option<u64>,
    /// The largest lag of any round, µs.
    pub lag_us_max: Option<u64>,
    /// Server CPU time per round, ms.
    pub server_cpu_ms: Option<Spread>,
    /// bench-runner's CPU time per round, ms.
    pub client_cpu_ms: Option<Spread>,
    /// Server cores used per round.
    pub server_cores_used: Option<Spread>,
    /// The server, its queue workers and the broker on a CPU per round (scheduler's figures),
    /// ms.
    pub pair_cpu_ms: Option<Spread>,
    /// Median over rounds of the executor threads' busy share (scheduler's figures).
    pub executor_busy_share_median: Option<f64>,
    /// Median over rounds of the run-queue time per executor thread, ms.
    pub executor_runq_ms_per_thread_median: Option<f64>,
    /// Whose stall the pair's pooled probe p99 was, from those medians (or, without the
    /// scheduler's figures, from the lag and the cores): [`attribution`].
    pub attribution: Option<Attribution>,
    /// The largest of the rounds' peak resident memory of the server, MiB.
    pub server_peak_rss_mib_max: Option<f64>,
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
        let (probed, harness) = probe_us(m, &m.rounds);
        let lags: Vec<LagFigures> = rounds.iter().filter_map(|r| r.lag).collect();
        let v = m.verification.as_ref();
        let executors: Vec<ExecutorFigures> = rounds
            .iter()
            .filter_map(|r| r.sched.map(|s| s.executor))
            .collect();
        let median_of = |f: &dyn Fn(&ExecutorFigures) -> f64| {
            stats::median(&executors.iter().map(f).collect::<Vec<_>>())
        };
        let executor = median_of(&|e| e.busy_share).map(|busy_share| ExecutorFigures {
            busy_share,
            runq_share: median_of(&|e| e.runq_share).unwrap_or(0.0),
            oncpu_ms_per_thread: median_of(&|e| e.oncpu_ms_per_thread).unwrap_or(0.0),
            runq_ms_per_thread: median_of(&|e| e.runq_ms_per_thread).unwrap_or(0.0),
        });
        let lag_us_p99_median = stats::median(
            &lags
                .iter()
                .filter_map(|l| l.p99_us)
                .map(|v| v as f64)
                .collect::<Vec<_>>(),
        );
        // The pair's stall: the pooled p99; attributed when any probe waited T1 or more.
        let probe_us = stats::percentiles(&probed);
        let stall = probe_us
            .zip(m.work_alone().map(stats::millis))
            .map(|(p, work_alone_ms)| Stall {
                worst_ms: p.max as f64 / 1e3,
                stall_ms: p.p99 as f64 / 1e3,
                work_alone_ms,
            });
        let attribution = match (stall, executor) {
            (Some(stall), Some(e)) => Some(attribution::from_scheduler(stall, e)),
            (Some(stall), None) => attribution::from_heartbeat(
                stall,
                lag_us_p99_median.map(|us| us / 1e3),
                stats::median(
                    &m.rounds
                        .iter()
                        .filter_map(cores_busy_share)
                        .collect::<Vec<_>>(),
                ),
            ),
            _ => None,
        };
        PairSummary {
            result: match (&m.failure, &m.not_applicable) {
                (Some(_), _) => results_format::RESULT_FAILED,
                (None, Some(_)) => results_format::RESULT_NOT_APPLICABLE,
                (None, None) => results_format::RESULT_OK,
            },
            failure: m.failure.clone(),
            verified: v.map(|v| v.passed),
            checks_passed: v.map_or(0, |v| v.checks_passed),
            checks_skipped: v.map_or(0, |v| v.skipped.len()),
            t1_ms: m.t1.map(stats::millis),
            t1_done_ms: m.t1_done.map(stats::millis),
            ideal_batch_ms: ideal_batch(m, pair_kernels(m)).map(stats::millis),
            batch_ms: over(&|r| Some(r.batch_ms)),
            efficiency: over(&|r| r.efficiency),
            throughput_rps: over(&|r| Some(r.throughput_rps)),
            latency_us: stats::percentiles(&answered_us(&m.rounds)),
            requests: rounds.iter().map(|r| r.requests).sum(),
            errors,
            probes: rounds.iter().map(|r| r.probes).sum(),
            probe_errors: rounds.iter().map(|r| r.probe_errors).sum(),
            probe_us,
            probe_harness_late_us: stats::percentiles(&harness),
            background_done_ms: over(&|r| r.background_done_ms),
            lag_samples: lags.iter().map(|l| l.samples).reduce(|a, b| a + b),
            lag_us_p50_median: stats::median(
                &lags
                    .iter()
                    .filter_map(|l| l.p50_us)
                    .map(|v| v as f64)
                    .collect::<Vec<_>>(),
            ),
            lag_us_p99_median,
            lag_us_p99_worst: lags.iter().filter_map(|l| l.p99_us).max(),
            lag_us_max: lags.iter().filter_map(|l| l.max_us).max(),
            server_cpu_ms: over(&|r| r.server_cpu_ms),
            client_cpu_ms: over(&|r| r.client_cpu_ms),
            server_cores_used: over(&|r| r.server_cores_used),
            pair_cpu_ms: over(&|r| r.sched.map(|s| s.pair_cpu_ms)),
            executor_busy_share_median: executor.map(|e| e.busy_share),
            executor_runq_ms_per_thread_median: executor.map(|e| e.runq_ms_per_thread),
            attribution,
            server_peak_rss_mib_max: rounds
                .iter()
                .filter_map(|r| r.server_peak_rss_mib)
                .reduce(f64::max),
            // Why a pair was not measured, where the result column says only that.
            note: m
                .not_applicable
                .iter()
                .chain(&m.notes)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::harness::probe::ProbeRecord;
    use crate::harness::records::{Labels, RequestRecord, Verification};
    use crate::settings::Plan;

    pub(crate) fn plan() -> Plan {
        Plan {
            kernel: common::kernel::DEFAULT,
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
            connection: 0,
            harness_late: Duration::from_micros(100 * (index + 1)),
            answer: Duration::from_millis(latency_ms),
            status: Some(200),
            error: None,
        }
    }

    fn lag(samples: u64, p50: u64, p99: u64, max: u64) -> LagWindow {
        LagWindow {
            enabled: true,
            interval_us: 1000,
            window: 1,
            window_age_us: 50_000,
            samples,
            p50_us: p50,
            p90_us: p99,
            p99_us: p99,
            max_us: max,
            since_start: common::lag::LagSummary {
                samples,
                p50_us: p50,
                p99_us: p99,
                max_us: max,
            },
            lanes: 1,
            lane: 0,
            tokio: None,
        }
    }

    /// Server side: round 1 used 40 ms of server CPU in 40 ms (1 core), lag p99 0.9 ms;
    /// round 2 120 ms in 80 ms (1.5 cores), lag p99 3 ms.
    #[test]
    fn the_scheduler_s_figures_and_the_attribution_of_a_round() {
        use crate::sched::{Times, Usage};
        let ms = Duration::from_millis;
        let times = |oncpu, runq| Times {
            oncpu: ms(oncpu),
            runq: ms(runq),
        };
        let mut m = measurement();
        // T1 below the round's worst probe: a stall.
        m.t1 = Some(Duration::from_micros(100));
        let worst_us = RoundFigures::of(&m, &m.rounds[0])
            .probe
            .expect("probes")
            .max;
        let usage = |executor: Times| Usage {
            wall: ms(100),
            executor,
            cpu_pool: times(150, 0),
            blocking: Times::default(),
            other: times(1, 0),
            executor_threads: 2,
            workers: Some(times(30, 0)),
            broker: None,
            client: times(20, 0),
        };
        // Two executor threads, on a CPU 120 of 200 ms: busy.
        m.rounds[0].sched = Some(usage(times(120, 5)));
        let f = RoundFigures::of(&m, &m.rounds[0]);
        let sched = f.sched.expect("sched");
        assert_eq!(sched.pair_cpu_ms, 120.0 + 150.0 + 1.0 + 30.0);
        assert_eq!(sched.workers_cpu_ms, Some(30.0));
        assert_eq!(sched.executor.busy_share, 0.6);
        assert_eq!(sched.executor.runq_ms_per_thread, 2.5);
        assert_eq!(f.attribution, Some(Attribution::ExecutorBusy));
        // Off the CPU, but queued for it for the whole stall: waiting for a CPU.
        let runq = 2 * worst_us / 1000 + 20;
        m.rounds[0].sched = Some(usage(times(1, runq)));
        let f = RoundFigures::of(&m, &m.rounds[0]);
        assert_eq!(f.attribution, Some(Attribution::WaitingForCpu));
        // Neither: elsewhere.
        m.rounds[0].sched = Some(usage(times(1, 0)));
        assert_eq!(
            RoundFigures::of(&m, &m.rounds[0]).attribution,
            Some(Attribution::Elsewhere)
        );
    }

    #[test]
    fn server_side_figures() {
        let m = measurement();
        let r1 = RoundFigures::of(&m, &m.rounds[0]);
        assert_eq!(r1.server_cpu_ms, Some(40.0));
        assert_eq!(r1.client_cpu_ms, Some(10.0));
        assert_eq!(r1.server_cores_used, Some(1.0));
        assert_eq!(
            r1.lag,
            Some(LagFigures {
                samples: 100,
                p50_us: Some(50),
                p99_us: Some(900),
                max_us: Some(1500),
                lane: None,
            })
        );
        let s = PairSummary::of(&m);
        assert_eq!(s.lag_samples, Some(300));
        assert_eq!(s.lag_us_p50_median, Some(60.0));
        assert_eq!(s.lag_us_p99_median, Some(1950.0));
        assert_eq!((s.lag_us_p99_worst, s.lag_us_max), (Some(3000), Some(4000)));
        let c = s.server_cores_used.expect("cores");
        assert_eq!((c.mean, c.min, c.max), (1.25, 1.0, 1.5));
        assert_eq!(s.server_cpu_ms.map(|c| c.mean), Some(80.0));
        assert_eq!(s.client_cpu_ms.map(|c| c.mean), Some(15.0));

        // A monitor switched off: samples counted (0), percentiles blank.
        let mut off = measurement();
        for r in &mut off.rounds {
            r.lag = Some(LagWindow {
                enabled: false,
                samples: 0,
                ..lag(0, 0, 0, 0)
            });
        }
        let s = PairSummary::of(&off);
        assert_eq!(s.lag_samples, Some(0));
        assert_eq!((s.lag_us_p99_median, s.lag_us_max), (None, None));
        // Not measured at all (external target, no /lag): every server-side figure blank.
        let mut none = measurement();
        for r in &mut none.rounds {
            r.lag = None;
            r.server_cpu = None;
            r.client_cpu = None;
            r.cpu_wall = None;
        }
        let s = PairSummary::of(&none);
        assert_eq!(
            (s.lag_samples, s.server_cpu_ms, s.server_cores_used),
            (None, None, None)
        );
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
            t1_done: None,
            verification: Some(Verification {
                passed: true,
                checks_passed: 7,
                failed: vec![],
                skipped: vec!["x: y".into()],
            }),
            t1: Some(ms(10)),
            rounds: vec![
                Round {
                    place: crate::harness::records::Place::default(),
                    lone: None,
                    lone_done: None,
                    number: 1,
                    batch: ms(40),
                    kernels: None,
                    background_done: None,
                    requests: (0..4)
                        .map(|i| request(i, 10 * (i as u64 + 1), None))
                        .collect(),
                    probes: vec![probe(0, 1), probe(1, 3)],
                    server_cpu: Some(ms(40)),
                    client_cpu: Some(ms(10)),
                    cpu_wall: Some(ms(40)),
                    sched: None,
                    lag: Some(lag(100, 50, 900, 1500)),
                    server_peak_rss_kib: Some(20 * 1024),
                },
                Round {
                    place: crate::harness::records::Place::default(),
                    lone: None,
                    lone_done: None,
                    number: 2,
                    batch: ms(80),
                    kernels: None,
                    background_done: None,
                    requests: vec![
                        request(0, 10, None),
                        request(1, 20, None),
                        request(2, 30, None),
                        request(3, 1000, Some(RequestError::Timeout)),
                    ],
                    probes: vec![probe(0, 2), probe(1, 4), probe(2, 6)],
                    server_cpu: Some(ms(120)),
                    client_cpu: Some(ms(20)),
                    cpu_wall: Some(ms(80)),
                    sched: None,
                    lag: Some(lag(200, 70, 3000, 4000)),
                    server_peak_rss_kib: Some(30 * 1024 + 512),
                },
            ],
            failure: Some("1 of 8 requests failed: 1 timeout".into()),
            not_applicable: None,
            notes: vec!["a".into(), "b".into()],
            variant: None,
            keys: Default::default(),
            cache_rounds: vec![],
        }
    }

    /// A batch whose kernels the server counted (`/cached`'s misses) is held to that many
    /// kernels, not one per request; the pair to the most any round ran.
    #[test]
    fn the_ideal_counts_the_kernels_a_round_ran() {
        let mut m = measurement();
        m.strategy = Strategy::Cached;
        // 4 requests, T1 10 ms, 2 cores: 20 ms for 4 kernels, 15 for 3, 10 for one (all
        // coalesced).
        m.rounds[0].kernels = Some(1);
        m.rounds[1].kernels = Some(3);
        let ideal = |m: &Measurement, r: usize| RoundFigures::of(m, &m.rounds[r]).ideal_batch_ms;
        assert_eq!((ideal(&m, 0), ideal(&m, 1)), (Some(10.0), Some(15.0)));
        // Round 1's batch took 40 ms: efficiency 10 / 40.
        assert_eq!(RoundFigures::of(&m, &m.rounds[0]).efficiency, Some(0.25));
        assert_eq!(PairSummary::of(&m).ideal_batch_ms, Some(15.0));
        // None counted: one kernel per request. Zero counted: still one.
        m.rounds[1].kernels = None;
        m.rounds[0].kernels = Some(0);
        assert_eq!((ideal(&m, 0), ideal(&m, 1)), (Some(10.0), Some(20.0)));
    }

    /// A pass's speed is the median of its rounds' lone requests over their own pair's T1;
    /// the drift is the slowest pass's over the fastest's.
    #[test]
    fn pass_speeds_known_answers() {
        let ms_ = |v: u64| Duration::from_millis(v);
        let place = |pass, start| crate::harness::records::Place {
            pass,
            position: 0,
            server_pid: Some(7),
            start_offset: ms_(start),
        };
        let mut a = measurement();
        a.t1 = Some(ms_(10));
        a.rounds[0].place = place(1, 0);
        a.rounds[0].lone = Some(ms_(10));
        a.rounds[1].place = place(2, 500);
        a.rounds[1].lone = Some(ms_(13));
        let mut b = measurement();
        b.t1 = Some(ms_(20));
        b.rounds[0].place = place(1, 100);
        b.rounds[0].lone = Some(ms_(22));
        b.rounds[1].place = place(2, 400);
        b.rounds[1].lone = Some(ms_(26));
        // Not in passes: left out.
        let mut c = measurement();
        c.rounds[0].lone = Some(ms_(99));
        let speeds = pass_speeds(&[a, b, c]);
        assert_eq!(speeds.len(), 2);
        let (p1, p2) = (speeds[0], speeds[1]);
        assert_eq!((p1.pass, p1.rounds, p2.pass, p2.rounds), (1, 2, 2, 2));
        assert!((p1.speed_median - 1.05).abs() < 1e-9, "{p1:?}");
        assert!((p1.speed_min - 1.0).abs() < 1e-9 && (p1.speed_max - 1.1).abs() < 1e-9);
        assert!((p2.speed_median - 1.3).abs() < 1e-9, "{p2:?}");
        assert_eq!((p1.start_offset, p2.start_offset), (ms_(0), ms_(400)));
        assert!(p2.end_offset > ms_(500));
        let drift = drift(&speeds).expect("two passes");
        assert!((drift - 1.3 / 1.05).abs() < 1e-9, "{drift}");
        assert_eq!(super::drift(&speeds[..1]), None);
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
        assert_eq!(r1.probe_harness_late.map(|h| h.max), Some(200));

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
        assert_eq!(s.result, "failed");
        assert_eq!(s.verified, Some(true));
        assert_eq!((s.checks_passed, s.checks_skipped), (7, 1));
        assert_eq!((s.t1_ms, s.ideal_batch_ms), (Some(10.0), Some(20.0)));
        let b = s.batch_ms.expect("batch");
        assert_eq!((b.mean, b.min, b.max), (60.0, 40.0, 80.0));
        assert_eq!(b.sd, Some(800.0f64.sqrt()));
        let e = s.efficiency.expect("efficiency");
        assert_eq!(e.mean, 0.375);
        assert_eq!(s.throughput_rps.map(|t| t.mean), Some(68.75));
        // Pooled over both rounds: 10, 10, 20, 20, 30, 30, 40 ms (the timeout has no answer).
        let l = s.latency_us.expect("latency");
        assert_eq!(
            (l.count, l.min, l.p50, l.p90, l.p99, l.max),
            (7, 10_000, 20_000, 40_000, 40_000, 40_000)
        );
        assert_eq!((s.requests, s.errors.timeout, s.probes), (8, 1, 5));
        // Probes pooled: 1, 2, 3, 4, 6 ms.
        let p = s.probe_us.expect("probes");
        assert_eq!((p.count, p.p50, p.p99, p.max), (5, 3_000, 6_000, 6_000));
        assert_eq!(s.probe_errors, 0);
        // Harness lateness 0.1 ms × (index + 1): 0.1, 0.2 | 0.1, 0.2, 0.3 ms.
        let h = s.probe_harness_late_us.expect("harness");
        assert_eq!((h.count, h.max), (5, 300));
        assert_eq!(s.background_done_ms, None);
        assert_eq!(s.note, "a; b");
    }

    /// A probe that failed is the worst stall: it counts, at no less than the timeout (1 s
    /// here), in the round's and the pair's percentiles and in the error count.
    #[test]
    fn failed_probes_count_at_the_timeout() {
        let mut m = measurement();
        let failed = &mut m.rounds[1].probes[1];
        failed.status = None;
        failed.error = Some("timeout".into());
        let r2 = RoundFigures::of(&m, &m.rounds[1]);
        assert_eq!(r2.probe_errors, 1);
        assert_eq!(r2.probe.map(|p| (p.count, p.max)), Some((3, 1_000_000)));
        let s = PairSummary::of(&m);
        assert_eq!(s.probe_errors, 1);
        // 1, 2, 3, 6 ms and the failed probe at 1 s: it is the p99 (reported as its
        // hdrhistogram bucket's lowest value, within 0.1 %) and the max (exact).
        let p = s.probe_us.expect("probes");
        assert_eq!(
            (p.count, p.p50, p.p99, p.max),
            (5, 3_000, 999_936, 1_000_000)
        );
    }

    /// With one hiccup per round, the pooled p99 of 100 samples is not the mean of the rounds'
    /// maxima: 5 rounds of 20 requests, 19 at 10 ms and one at 100 + k ms.
    #[test]
    fn percentiles_are_pooled_not_means_of_round_maxima() {
        let mut m = measurement();
        m.failure = None;
        m.rounds = (0..5u32)
            .map(|k| Round {
                place: crate::harness::records::Place::default(),
                lone: None,
                lone_done: None,
                number: k + 1,
                batch: Duration::from_millis(100),
                kernels: None,
                background_done: None,
                requests: (0..20)
                    .map(|i| request(i, if i == 0 { 100 + u64::from(k) } else { 10 }, None))
                    .collect(),
                probes: vec![],
                server_cpu: None,
                client_cpu: None,
                cpu_wall: None,
                sched: None,
                lag: None,
                server_peak_rss_kib: None,
            })
            .collect();
        let s = PairSummary::of(&m);
        let l = s.latency_us.expect("latency");
        assert_eq!(l.count, 100);
        // Nearest rank: the 99th of 100 sorted values is the 4th-largest hiccup, 103 ms
        // (its hdrhistogram bucket's lowest value, within 0.1 %), not the mean of the maxima
        // (102 ms) nor the largest (104 ms).
        assert_eq!(
            (l.p50, l.p90, l.p99, l.max),
            (10_000, 10_000, 102_976, 104_000)
        );
    }

    #[test]
    fn background_efficiency_uses_completion_and_needs_it() {
        let mut m = measurement();
        m.strategy = Strategy::Background;
        // Its answer comes back in 0.3 ms; its job alone ends after the fixture's 10 ms.
        (m.t1, m.t1_done) = (Some(Duration::from_micros(300)), m.t1);
        m.rounds[0].background_done = Some(Duration::from_millis(100));
        m.rounds[1].background_done = Some(Duration::from_millis(40));
        let s = PairSummary::of(&m);
        let e = s.efficiency.expect("efficiency");
        assert_eq!((e.min, e.max), (0.020 / 0.100, 0.5));
        assert_eq!(s.background_done_ms.map(|d| d.mean), Some(70.0));
        // T1 is the round trip, as for every strategy; the work alone is the job's end.
        assert_eq!((s.t1_ms, s.t1_done_ms), (Some(0.3), Some(10.0)));
        assert_eq!(s.ideal_batch_ms, Some(20.0));
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
            (s.verified, s.batch_ms, s.latency_us, s.requests),
            (None, None, None, 0)
        );
    }
}
