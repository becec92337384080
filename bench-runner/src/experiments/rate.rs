//! The rate experiment (`--experiment rate`): open-loop load at several offered rates, per pair.
//!
//! Per pair (target at its largest `--workers`, strategy): a fresh server, started and
//! verified once ([`Bench::visit`]: the batch experiment's checks and warm-up), T1 (the
//! fastest of `--calibration` lone requests), then one step per offered rate: `--load`
//! fractions of the capacity, threads ÷ T1 ([`Capacity`]: the executor threads for an inline
//! or yielding handler, the cores for the others), or `--rate` requests per second. Before each
//! step the
//! server is idle (`/stats`, as in the batch experiment).
//!
//! A step sends requests at **constant intervals** (1 / rate), as wrk2 does. Poisson arrivals
//! are what independent users produce, but over steps this short (tenths of a second by
//! default, a few hundred requests) their bursts change from one step and one strategy to the
//! next, so two strategies would not be offered the same load; a constant schedule is the
//! same for every pair and tested exactly. Its queues form later than Poisson's: a knee seen
//! here is an upper bound of the one real traffic sees.
//!
//! The schedule is kept by the generator ([`Generator`]): one thread, real-time where allowed,
//! whose runtime waits precisely to each send time and writes the request with its own client
//! and connections; a request is timed from its *scheduled* send time
//! (no coordinated omission: a server that stalls is charged for every request that waited),
//! and the generator's own lateness (actual − scheduled send) is recorded beside it. A step
//! whose lateness p99 exceeds [`LATE_LIMIT`] is flagged (`generator_behind`): the generator,
//! not the server, set its pace. At most `--max-in-flight` requests are outstanding; one due
//! while the cap is reached is not sent and counted as `refused`, an error of the generator.
//!
//! The first tenth of each step (at least 50 ms) is a warm-up on the same schedule, not
//! recorded. A `/health` probe ([`crate::harness::probe`]) runs beside the measured part and the drain.
//! Every figure of rate_summary.csv is derived from the records ([`StepFigures`]).

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use common::Strategy;
use common::strategy::Execution;
use conformance::Mode;
use results_format::{RATE_PROBES, RATE_RAW, RATE_SUMMARY};

use crate::harness::bench::{self, Bench, Session};
use crate::harness::console::Console;
use crate::harness::generator::{Answer, CONNECTIONS, Call, Generator};
use crate::harness::http::{self, Outcome, RequestError};
use crate::harness::output::Row;
use crate::harness::pacing::{Dispatch, Schedule};
use crate::harness::passes::{Passes, Slot};
use crate::harness::probe::{self, ProbeRecord};
use crate::harness::records::{Labels, Log, Place, Verification};
use crate::harness::stats::{self, micros, millis};
use crate::harness::{Cut, ExperimentRun};
use crate::servers::Binaries;
use crate::settings::{Arrivals, Plan, RatePlan, Steps};
use crate::settings::{Settings, Subjects};
use crate::targets::Target;

/// A step whose send lateness p99 is above this is flagged: its figures are the generator's.
pub const LATE_LIMIT: Duration = Duration::from_millis(1);

/// One request of the measured part of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRecord {
    /// From 0, in send order.
    pub index: u64,
    /// Its send time, from the measured part's start.
    pub scheduled_offset: Duration,
    /// Actual − scheduled send (for a refused one: when the pacer refused it).
    pub late: Duration,
    /// From the scheduled send to the answer's last byte (or the error); zero if refused.
    pub latency: Duration,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it is not a verified answer.
    pub error: Option<String>,
}

/// One step of a pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// From 1.
    pub number: u32,
    /// The fraction of the capacity (`--load`), or `None` (`--rate`).
    pub load: Option<f64>,
    /// Requests per second offered.
    pub offered_rps: f64,
    /// Measured time.
    pub duration: Duration,
    /// The cap.
    pub max_in_flight: usize,
    /// The measured part's requests, by index.
    pub records: Vec<RateRecord>,
    /// The probes sent from the measured part's start to the last answer.
    pub probes: Vec<ProbeRecord>,
    /// Where it ran: pass, position, the server process, its start in the run.
    pub place: Place,
    /// The fastest of the visit's lone requests just before the step: the machine's speed
    /// then, against which its goodput is read (the pair's T1 is its first visit's).
    pub lone: Option<Duration>,
}

/// The figures of a step (rate_summary.csv), all derived from its records.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFigures {
    /// Requests scheduled in the measured part.
    pub scheduled: usize,
    /// Sent (scheduled − refused).
    pub sent: usize,
    /// Refused by the generator (the cap).
    pub refused: usize,
    /// With an HTTP answer (any status).
    pub answered: usize,
    /// Verified answers.
    pub verified: usize,
    /// 503s.
    pub shed: usize,
    /// Other unexpected statuses.
    pub errors_status: usize,
    /// Timeouts.
    pub errors_timeout: usize,
    /// Transport errors.
    pub errors_transport: usize,
    /// Wrong bodies.
    pub errors_body: usize,
    /// From the measured start to the last answer, at least the step's duration.
    pub span: Duration,
    /// Answers per second over `span`.
    pub achieved_rps: f64,
    /// Verified answers per second over `span`.
    pub goodput_rps: f64,
    /// Latency of the verified answers, µs: p50, p99, p99.9, max.
    pub latency_us: Option<[u64; 4]>,
    /// Send lateness p99 and max, µs (every scheduled request).
    pub late_us: Option<[u64; 2]>,
    /// Lateness p99 above [`LATE_LIMIT`].
    pub generator_behind: bool,
    /// Probes sent, failed, and the p99 of their latency (a failed one counts at least the
    /// timeout).
    pub probes: usize,
    /// Probes that failed.
    pub probe_errors: usize,
    /// p99 of the probes' latency, µs.
    pub probe_p99_us: Option<u64>,
}

impl StepFigures {
    /// The figures of `step`; failed probes count at least `timeout`.
    pub fn of(step: &Step, timeout: Duration) -> StepFigures {
        let count = |o: Outcome| step.records.iter().filter(|r| r.outcome == o).count();
        let scheduled = step.records.len();
        let refused = count(Outcome::Refused);
        let answered = step.records.iter().filter(|r| r.status.is_some()).count();
        let verified = count(Outcome::Ok);
        let span = step
            .records
            .iter()
            .filter(|r| r.status.is_some())
            .map(|r| r.scheduled_offset + r.latency)
            .max()
            .unwrap_or(Duration::ZERO)
            .max(step.duration);
        let per_s = |c: usize| c as f64 / span.as_secs_f64();
        let ok: Vec<u64> = step
            .records
            .iter()
            .filter(|r| r.outcome == Outcome::Ok)
            .map(|r| micros(r.latency))
            .collect();
        let latency_us = (|| {
            Some([
                stats::quantile_us(&ok, 0.50)?,
                stats::quantile_us(&ok, 0.99)?,
                stats::quantile_us(&ok, 0.999)?,
                *ok.iter().max()?,
            ])
        })();
        let late: Vec<u64> = step.records.iter().map(|r| micros(r.late)).collect();
        let late_us = stats::quantile_us(&late, 0.99).zip(late.iter().max().copied());
        let late_us = late_us.map(|(p99, max)| [p99, max]);
        let probe_us: Vec<u64> = step
            .probes
            .iter()
            .map(|p| micros(p.counted_latency(timeout)))
            .collect();
        StepFigures {
            scheduled,
            sent: scheduled - refused,
            refused,
            answered,
            verified,
            shed: count(Outcome::Shed),
            errors_status: count(Outcome::Status),
            errors_timeout: count(Outcome::Timeout),
            errors_transport: count(Outcome::Transport),
            errors_body: count(Outcome::Body),
            span,
            achieved_rps: per_s(answered),
            goodput_rps: per_s(verified),
            latency_us,
            late_us,
            generator_behind: late_us.is_some_and(|[p99, _]| p99 > micros(LATE_LIMIT)),
            probes: step.probes.len(),
            probe_errors: step.probes.iter().filter(|p| p.error.is_some()).count(),
            probe_p99_us: stats::quantile_us(&probe_us, 0.99),
        }
    }
}

/// Everything recorded for one pair of the rate experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct RatePair {
    /// Who was measured.
    pub labels: Labels,
    /// Which endpoint.
    pub strategy: Strategy,
    /// The conformance verdict (`None` if the server never answered).
    pub verification: Option<Verification>,
    /// The fastest lone request.
    pub t1: Option<Duration>,
    /// What the capacity counts: how many kernels the pair can run at once, and why.
    pub capacity: Capacity,
    /// The kernel's name.
    pub kernel: &'static str,
    /// Kernel size of every request.
    pub n: u64,
    /// The steps run (fewer than planned if it failed).
    pub steps: Vec<Step>,
    /// Why the pair failed, if it did.
    pub failure: Option<String>,
    /// Why it was not measured (the runtime cannot run the strategy).
    pub not_applicable: Option<String>,
    /// Remarks for the reader.
    pub notes: Vec<String>,
}

impl RatePair {
    fn new(labels: Labels, strategy: Strategy, plan: &Plan) -> RatePair {
        RatePair {
            capacity: Capacity::of(strategy, labels.workers, plan.cores),
            labels,
            strategy,
            verification: None,
            t1: None,
            kernel: plan.kernel.name(),
            // The rate experiment's own (rate_plan).
            n: plan.n,
            steps: vec![],
            failure: None,
            not_applicable: None,
            notes: vec![],
        }
    }

    /// Requests per second the server can do: threads ÷ T1.
    pub fn capacity_rps(&self) -> Option<f64> {
        capacity_rps(self.capacity.threads, self.t1?)
    }

    /// `tokio, workers=2, /thread`.
    pub fn name(&self) -> String {
        match self.labels.workers {
            Some(w) => format!(
                "{}, workers={w}, {}",
                self.labels.target,
                self.strategy.path()
            ),
            None => format!("{}, {}", self.labels.target, self.strategy.path()),
        }
    }
}

/// `threads` ÷ T1, in requests per second (`None` for a T1 of zero).
pub fn capacity_rps(threads: usize, t1: Duration) -> Option<f64> {
    (!t1.is_zero()).then(|| threads as f64 / t1.as_secs_f64())
}

/// How many kernels a pair can run at once, the numerator of its capacity (threads ÷ T1).
///
/// A handler that computes on the executor thread (inline, or yielding in slices) has only the
/// executor's threads: one on a current-thread runtime, whatever the cores. Its capacity is
/// 1 ÷ T1 there, and counting the cores made a current-thread runtime's "load 0.5" its full
/// capacity (its throughput levelled off at 1 ÷ T1, so its knee "at 0.9" was really at 1.8).
/// Every other strategy runs the kernel off the executor, on threads as many as the cores
/// (the CPU pool, the bounded permits, the queue workers) or more (`/thread`), which the cores
/// then bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Kernels at once.
    pub threads: usize,
    /// What bounds them.
    pub basis: CapacityBasis,
}

/// What bounds the kernels a pair runs at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityBasis {
    /// The executor's threads (its workers, at most the cores): inline and yielding handlers.
    Executor,
    /// The cores: the kernel runs off the executor.
    Cores,
}

impl CapacityBasis {
    /// Its name in rate_summary.csv's `capacity_basis`.
    pub fn name(self) -> &'static str {
        match self {
            CapacityBasis::Executor => results_format::CAPACITY_EXECUTOR,
            CapacityBasis::Cores => results_format::CAPACITY_CORES,
        }
    }
}

impl Capacity {
    /// Of `strategy` on a server with `workers` executor threads (`None`: unknown, an external
    /// server) on `cores` cores.
    pub fn of(strategy: Strategy, workers: Option<usize>, cores: usize) -> Capacity {
        let cores = cores.max(1);
        match (strategy.execution(), workers) {
            (Execution::Inline | Execution::Yielding, Some(w)) => Capacity {
                threads: w.clamp(1, cores),
                basis: CapacityBasis::Executor,
            },
            _ => Capacity {
                threads: cores,
                basis: CapacityBasis::Cores,
            },
        }
    }
}

/// The rate experiment over the run's subjects: its files and how its pairs went.
pub async fn run(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    let plan = *bench.plan();
    let rate = &settings.rate;
    let steps = match &rate.steps {
        Steps::Load(l) => format!(
            "load {} × capacity (threads ÷ T1: executor threads inline, cores offloaded)",
            l.iter().map(f64::to_string).collect::<Vec<_>>().join(", ")
        ),
        Steps::Rate(r) => format!(
            "{} requests/s",
            r.iter().map(f64::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    // Its own thread, runtime and client: a pool as large as the cap (surf's is bounded).
    let (kind, timeout, cap) = (settings.client, plan.request_timeout, rate.max_in_flight);
    let generator = Generator::start(Arc::new(move || kind.build(timeout, cap.min(CONNECTIONS))))
        .map_err(anyhow::Error::msg)
        .context("starting the rate experiment's generator")?;
    let subjects = subjects(settings, binaries);
    let pairs: Vec<(&Subject<'_>, Strategy)> = subjects
        .iter()
        .flat_map(|subject| settings.strategies.iter().map(move |s| (subject, *s)))
        // Every request asks for the same n: /cached would answer all but the first from its
        // cache. It is measured in the batch experiment, with keys chosen for it.
        .filter(|(_, s)| !s.caches_answers())
        // Without --strategy, the representative set only: the budget of 500 answers a step.
        .filter(|(_, s)| settings.strategies_asked || REPRESENTATIVE.contains(s))
        .collect();
    // One step per visit: as many passes as steps, each pair's steps in an order of its own.
    let passes = Passes {
        count: u32::try_from(rate.step_count()).unwrap_or(u32::MAX),
        seed: settings.seed,
    };
    println!(
        "rate: {} pairs in {} passes (seed {}), one step per visit in an order shuffled per \
         pair: n = {}, steps of at least {} requests ({:?} to {:?}, after a tenth of it of \
         warm-up) at {steps}, {} arrivals, at most {} in flight, probe every {:?}; generator: \
         one {} thread, client {}",
        pairs.len(),
        passes.count,
        passes.seed,
        rate.n(plan.n),
        rate.answers,
        rate.duration,
        rate.cap,
        rate.arrivals.name(),
        rate.max_in_flight,
        plan.probe_interval,
        generator.urgency().name(),
        kind.name(),
    );
    let console = Console::new((pairs.len() * passes.count as usize) as u64);
    let mut all: Vec<RatePair> = pairs
        .iter()
        .map(|(subject, strategy)| subject.new_pair(bench, rate, *strategy))
        .collect();
    let mut interrupted = false;
    for (slot, i) in passes.visits(pairs.len()) {
        let (subject, strategy) = pairs[i];
        if bench.stop().requested().is_some() {
            interrupted = true;
            break;
        }
        let p = &mut all[i];
        if p.not_applicable.is_none() && p.failure.is_none() {
            let what = subject.describe(strategy);
            console.working_on(&what);
            console.line(&format!(
                "== rate, pass {}/{}: {what}",
                slot.pass, passes.count
            ));
            // This pair's step for this pass: its own shuffle of the steps, from the seed.
            let order = Passes {
                count: 1,
                seed: settings.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            }
            .order(1, rate.step_count());
            let step = order[(slot.pass as usize - 1) % order.len().max(1)];
            // A stop request drops the visit: the pair is as it was before it.
            let before = p.clone();
            let visit = visit(bench, &generator, rate, subject, p, slot, step, &console);
            if bench
                .stop()
                .or_stop(console.keep_alive(&what, visit))
                .await
                .is_none()
            {
                all[i] = before;
                interrupted = true;
                break;
            }
        }
        console.step();
    }
    console.finish();
    bench.settle_previous().await;
    let mut cut = Cut::default();
    let steps = rate.step_count();
    all.retain(|p| {
        let measured = p.failure.is_none() && p.not_applicable.is_none();
        let name = format!("rate: {}", p.name());
        cut.keeps(name, measured, p.steps.len(), steps, "steps")
    });
    for p in &mut all {
        let name = p.name();
        p.notes.extend(bench.stop_notes(&name));
        p.steps.sort_by_key(|s| s.number);
        crate::harness::pair_end(
            &console,
            &p.name(),
            p.not_applicable.as_deref(),
            &p.notes,
            p.failure.as_deref(),
        );
    }
    let files = render(&all, plan.request_timeout).context("rendering the rate CSVs")?;
    let outcomes = all
        .iter()
        .map(|p| (p.failure.is_some(), p.not_applicable.is_some()));
    Ok(ExperimentRun::tally(files, outcomes).cut_short(interrupted, cut))
}

/// The strategies the rate experiment measures without `--strategy`: one of each way of
/// running the work (inline, yielding, a thread each, the CPU pool, the bounded pool, the job
/// store), so that 500 answers a step fit `make all-bench`'s budget. `/generator` is `/cycle`'s
/// machine code, `/block_in_place` runs on tokio only, `/background` answers before its work is
/// done and `/queue` adds the broker's hop (its own experiment measures it): `--strategy`
/// measures them.
pub const REPRESENTATIVE: [Strategy; 6] = [
    Strategy::Cycle,
    Strategy::CycleSleep,
    Strategy::Thread,
    Strategy::Rayon,
    Strategy::Bounded,
    Strategy::Jobs,
];

/// A server the rate experiment measures.
#[derive(Debug)]
enum Subject<'a> {
    /// One of ours, at one worker count.
    Ours {
        target: &'a Target,
        binary: &'a std::path::Path,
        workers: usize,
    },
    /// `--url`.
    External { url: &'a str },
}

impl Subject<'_> {
    /// The pair's record before its first visit (not applicable if the runtime cannot run it).
    fn new_pair(&self, bench: &Bench, rate: &RatePlan, strategy: Strategy) -> RatePair {
        let plan = &rate_plan(bench, rate);
        match self {
            Subject::Ours {
                target, workers, ..
            } => {
                let labels = Labels::of_server(target, bench.client_name(), *workers);
                let mut p = RatePair::new(labels, strategy, plan);
                p.not_applicable = bench.not_applicable(target, strategy);
                p
            }
            Subject::External { .. } => {
                RatePair::new(Labels::external(bench.client_name()), strategy, plan)
            }
        }
    }

    fn describe(&self, strategy: Strategy) -> String {
        match self {
            Subject::Ours {
                target, workers, ..
            } => format!("{}, workers={workers}, {}", target.name, strategy.path()),
            Subject::External { url } => format!("external {url}, {}", strategy.path()),
        }
    }
}

/// Every target at its largest worker count (a one-thread runtime at 1), or the `--url`.
fn subjects<'a>(settings: &'a Settings, binaries: Option<&'a Binaries>) -> Vec<Subject<'a>> {
    match &settings.subjects {
        Subjects::External { url } => vec![Subject::External { url }],
        Subjects::Servers { .. } => crate::harness::at_largest_workers(settings, binaries)
            .into_iter()
            .map(|(target, binary, workers)| Subject::Ours {
                target,
                binary,
                workers,
            })
            .collect(),
    }
}

/// One visit of a rate pair: a fresh server (ours), checked (verified on the first visit),
/// then step `step` (an index into the plan's steps).
#[allow(clippy::too_many_arguments)]
async fn visit(
    bench: &Bench,
    generator: &Generator,
    rate: &RatePlan,
    subject: &Subject<'_>,
    p: &mut RatePair,
    slot: Slot,
    step: usize,
    log: &dyn Log,
) {
    let plan = bench.plan();
    let measured = match subject {
        Subject::Ours {
            target,
            binary,
            workers,
        } => {
            let limits = queue_limits(
                plan,
                &bench::server_args(plan, *workers),
                bench.server_extra(),
            );
            let started = bench
                .start_pair(target, binary, *workers, p.strategy, &limits)
                .await;
            let mut pair = match started {
                Ok(pair) => pair,
                Err(why) => {
                    p.failure = Some(why);
                    return;
                }
            };
            let mut session = Session::ours(&mut pair.server);
            let measured =
                measure_at(bench, generator, rate, &mut session, p, slot, step, log).await;
            bench.stop_later(p.name(), pair).await;
            measured
        }
        Subject::External { url } => {
            let mut session = Session::external(url);
            measure_at(bench, generator, rate, &mut session, p, slot, step, log).await
        }
    };
    if let Err(why) = measured {
        p.failure = Some(why);
    }
}

/// The servers' queue bounds in the rate experiment: `--max-queue` and `--max-background` of C
/// (`--concurrency`, 20 by default), unless the command line sets them already. With the
/// servers' default of 1024, a bounded strategy past its capacity would need many seconds to
/// fill its queue, far longer than a step: it would look unbounded. With C it sheds within a
/// step, as it would behind a bound sized for its latency target (C × T1 ÷ cores ≈ 50 ms of
/// queue at the default n).
fn queue_limits(plan: &Plan, args: &[String], extra: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for flag in ["--max-queue", "--max-background"] {
        if !args
            .iter()
            .chain(extra)
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        {
            out.extend([flag.to_owned(), plan.concurrency.to_string()]);
        }
    }
    out
}

/// A visit's measuring: on the pair's first visit the conformance suite, a warm-up and T1
/// (the fastest of `--calibration` lone requests, as in the batch experiment), which fixes the
/// pair's capacity and so every step's offered rate; on a later visit `/health` and the
/// warm-up (which checks the strategy's answers); then the one step of this visit.
#[allow(clippy::too_many_arguments)]
async fn measure_at(
    bench: &Bench,
    generator: &Generator,
    rate: &RatePlan,
    s: &mut Session<'_>,
    p: &mut RatePair,
    slot: Slot,
    step: usize,
    log: &dyn Log,
) -> Result<(), String> {
    let plan = rate_plan(bench, rate);
    let strategy = p.strategy;
    let first = p.verification.is_none();
    if first {
        bench.verify(s, &mut p.verification, log).await?;
    } else {
        bench.healthy(s).await?;
    }
    bench.warm_up(s, strategy, &plan).await?;
    // Every visit times `--calibration` lone requests and keeps the fastest: the machine's
    // speed at this step, which drifts 20 % and more between visits. Against the first visit's
    // T1 alone, tokio current-thread's goodput past capacity read 0.85–0.92 of it in one run
    // and 1.04–1.22 in the next (its T1 0.80 and 0.97 ms).
    let mut lone = Duration::MAX;
    for _ in 0..plan.calibration.max(1) {
        lone = lone.min(bench.lone_time(s, strategy, &plan).await?.record.latency);
        bench.idle(s).await?;
    }
    if p.t1.is_none() {
        // T1, the fastest lone request of the first visit, as in the batch experiment (see
        // measure.rs); it fixes the pair's capacity and so every step's offered rate.
        p.t1 = Some(lone);
        log.line(&format!(
            "   T1 = {:.2} ms, capacity ≈ {} {} ÷ T1 = {:.0} requests/s",
            millis(lone),
            p.capacity.threads,
            match p.capacity.basis {
                CapacityBasis::Executor => "executor thread(s)",
                CapacityBasis::Cores => "cores",
            },
            p.capacity_rps().unwrap_or(0.0)
        ));
    }
    let capacity = p
        .capacity_rps()
        .ok_or("T1 of zero: no capacity to scale --load by")?;
    let Some(&(load, offered)) = rate.rates(capacity).get(step) else {
        return Err(format!("no step {step} in the plan"));
    };
    bench.idle(s).await?;
    let mut measured = run_step(bench, generator, rate, &s.base, s.mode, strategy, offered).await?;
    measured.number = u32::try_from(step + 1).unwrap_or(u32::MAX);
    measured.load = load;
    measured.place.pass = slot.pass;
    measured.place.position = slot.position;
    measured.place.server_pid = s.pid;
    measured.lone = Some(lone);
    log.line(&step_line(
        &measured,
        &StepFigures::of(&measured, plan.request_timeout),
    ));
    p.steps.push(measured);
    s.check_alive()?;
    bench.idle(s).await
}

/// `load 0.50 = 222 req/s: achieved 221/s, goodput 221/s, p50 4.9 ms, p99 9.8 ms, …`.
fn step_line(step: &Step, f: &StepFigures) -> String {
    let ms = |us: u64| us as f64 / 1e3;
    let mut offered = match step.load {
        Some(l) => format!("load {l:.2} = {:.0} req/s", step.offered_rps),
        None => format!("{:.0} req/s", step.offered_rps),
    };
    if let Some(lone) = step.lone {
        offered.push_str(&format!(" (lone {:.2} ms)", millis(lone)));
    }
    let latency = match f.latency_us {
        Some([p50, p99, p999, max]) => format!(
            "p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
            ms(p50),
            ms(p99),
            ms(p999),
            ms(max)
        ),
        None => "no verified answer".into(),
    };
    let errors = f.errors_status + f.errors_timeout + f.errors_transport + f.errors_body;
    let mut line = format!(
        "   {offered}: achieved {:.0}/s, goodput {:.0}/s, {latency}; {} × 503, {errors} other \
         errors, {} refused; probe p99 {}; send late p99 {}",
        f.achieved_rps,
        f.goodput_rps,
        f.shed,
        f.refused,
        f.probe_p99_us
            .map_or("-".into(), |us| format!("{:.1} ms", ms(us))),
        f.late_us
            .map_or("-".into(), |[p99, _]| format!("{:.2} ms", ms(p99))),
    );
    if f.generator_behind {
        line.push_str(&format!(
            "  GENERATOR BEHIND (late p99 > {} ms: these figures are the generator's, not the \
             server's)",
            millis(LATE_LIMIT)
        ));
    }
    line
}

/// One step: warm-up and measured part on one constant schedule at `offered` requests/s, the
/// probe beside the measured part, until every sent request is answered.
async fn run_step(
    bench: &Bench,
    generator: &Generator,
    rate: &RatePlan,
    base: &str,
    mode: Mode,
    strategy: Strategy,
    offered: f64,
) -> Result<Step, String> {
    let plan = rate_plan(bench, rate);
    let schedule = schedule(rate, offered);
    // No step beside a stopping server.
    bench.settle_previous().await;
    let ready = tokio::task::spawn_blocking({
        let config = bench.probe_config(base);
        move || probe::prepare(config)
    })
    .await
    .map_err(|e| format!("probe start-up failed: {e}"))??;
    // A little ahead, so that request 0 is not late by the set-up of the pacing thread.
    let start = Instant::now() + Duration::from_millis(5);
    let measured_start = start + schedule.warmup();
    let probe = ready.start(measured_start);
    let base = base.to_owned();
    let call: Call = Arc::new(move |client| {
        let base = base.clone();
        Box::pin(async move { http::call_checked(&*client, &base, strategy, &plan, mode).await })
    });
    let (dispatched, answers) = generator
        .run(schedule.clone(), rate.max_in_flight, start, call)
        .await?;
    let end = Instant::now();
    let probes = tokio::task::spawn_blocking(move || probe.finish(end))
        .await
        .map_err(|e| format!("probe thread: {e}"))??;
    Ok(Step {
        number: 0,
        load: None,
        offered_rps: offered,
        duration: schedule.measured(),
        max_in_flight: rate.max_in_flight,
        records: records(&schedule, &dispatched, answers),
        probes,
        place: Place {
            start_offset: bench.run_offset(measured_start),
            ..Place::default()
        },
        lone: None,
    })
}

/// The send times of a step of `plan` offered `rate` requests per second: constant intervals
/// or Poisson arrivals from the run's seed (`--arrivals`), measured for
/// [`RatePlan::measured`] after a warm-up of a tenth of that.
pub fn schedule(plan: &RatePlan, rate: f64) -> Schedule {
    let measured = plan.measured(rate);
    let warmup = RatePlan::warmup(measured);
    match plan.arrivals {
        Arrivals::Constant => Schedule::new(rate, warmup, measured),
        Arrivals::Poisson => Schedule::poisson(rate, warmup, measured, plan.seed),
    }
}

/// The run's plan with the rate experiment's kernel size ([`RatePlan::n`]): what its warm-up,
/// T1 and steps ask for.
fn rate_plan(bench: &Bench, rate: &RatePlan) -> Plan {
    let plan = *bench.plan();
    Plan {
        n: rate.n(plan.n),
        ..plan
    }
}

/// The generator's ceiling: one step of `GET /health` at `rate` requests/s against the server
/// at `base` (answers of 200 count as verified), with the same pacer, clock and cap as the
/// rate experiment; its figures say whether the generator kept the rate.
pub async fn health_step(
    generator: &Generator,
    base: &str,
    rate: f64,
    plan: &RatePlan,
    timeout: Duration,
) -> Result<StepFigures, String> {
    let schedule = schedule(plan, rate);
    let url = format!("{base}/health");
    let call: Call = Arc::new(move |client| {
        let url = url.clone();
        Box::pin(async move {
            match http::timed_get(&*client, &url, timeout).await.1 {
                Ok(r) if r.status == 200 => (Some(200), None),
                Ok(r) => (Some(r.status), Some(RequestError::Status(r.status))),
                Err(e) => (None, Some(e)),
            }
        })
    });
    let start = Instant::now() + Duration::from_millis(5);
    let (dispatched, answers) = generator
        .run(schedule.clone(), plan.max_in_flight, start, call)
        .await?;
    let step = Step {
        number: 1,
        load: None,
        offered_rps: rate,
        duration: plan.duration,
        max_in_flight: plan.max_in_flight,
        records: records(&schedule, &dispatched, answers),
        probes: vec![],
        place: Place::default(),
        lone: None,
    };
    Ok(StepFigures::of(&step, timeout))
}

/// Whether a step's generator kept its rate and the server kept pace with it: every request
/// sent (none refused) and verified, lateness p99 within [`LATE_LIMIT`], and the answers'
/// latency p99 within a tenth of the step's `duration` (a server behind for the whole step
/// pushes it to a good part of the step). Not the rate of answers up to the last one
/// (`achieved_rps`): a single answer that TCP retransmitted after 200 ms stretched a 1 s step
/// by a fifth and failed a rate the generator had kept.
pub fn sustained(f: &StepFigures, duration: Duration) -> bool {
    f.refused == 0
        && f.verified == f.scheduled
        && !f.generator_behind
        && f.latency_us
            .is_some_and(|[_, p99, _, _]| Duration::from_micros(p99) <= duration / 10)
}

/// The measured part's records: the dispatches after the warm-up, with the answers of the
/// sent ones (`answers` in the order they were sent).
fn records(schedule: &Schedule, dispatched: &[Dispatch], answers: Vec<Answer>) -> Vec<RateRecord> {
    let mut answers = answers.into_iter();
    let mut out = Vec::new();
    for d in dispatched {
        let (k, record) = match *d {
            Dispatch::Sent { k } => {
                let Some(a) = answers.next() else { break };
                let outcome = Outcome::of(a.error.as_ref());
                (
                    k,
                    RateRecord {
                        index: 0,
                        scheduled_offset: Duration::ZERO,
                        late: a.late,
                        latency: a.latency,
                        status: a.status,
                        outcome,
                        error: a.error.map(|e| e.to_string()),
                    },
                )
            }
            Dispatch::Refused { k, late } => (
                k,
                RateRecord {
                    index: 0,
                    scheduled_offset: Duration::ZERO,
                    late,
                    latency: Duration::ZERO,
                    status: None,
                    outcome: Outcome::Refused,
                    error: Some("refused: --max-in-flight requests outstanding".into()),
                },
            ),
        };
        if schedule.is_warmup(k) {
            continue;
        }
        out.push(RateRecord {
            index: out.len() as u64,
            scheduled_offset: schedule.offset(k) - schedule.warmup(),
            ..record
        });
    }
    out
}

/// Renders the rate experiment's files, in [`RATE_FILES`](results_format::RATE_FILES) order.
pub fn render(pairs: &[RatePair], timeout: Duration) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut raw = Vec::new();
    let mut probes = Vec::new();
    let mut summary = Vec::new();
    write_raw(&mut raw, pairs)?;
    write_probes(&mut probes, pairs)?;
    write_summary(&mut summary, pairs, timeout)?;
    Ok(vec![
        (RATE_RAW.name, raw),
        (RATE_PROBES.name, probes),
        (RATE_SUMMARY.name, summary),
    ])
}

fn short_labels(p: &RatePair) -> Row {
    Row::default()
        .put(&p.labels.target)
        .opt(p.labels.workers)
        .put(p.strategy.name())
}

fn write_raw(w: &mut impl Write, pairs: &[RatePair]) -> io::Result<()> {
    writeln!(w, "{}", RATE_RAW.header())?;
    for p in pairs {
        for s in &p.steps {
            for r in &s.records {
                short_labels(p)
                    .put(s.number)
                    .put(r.index)
                    .put(micros(r.scheduled_offset))
                    .put(micros(r.late))
                    .put(micros(r.latency))
                    .opt(r.status)
                    .put(r.outcome.name())
                    .opt(r.error.as_deref())
                    .write(w)?;
            }
        }
    }
    Ok(())
}

fn write_probes(w: &mut impl Write, pairs: &[RatePair]) -> io::Result<()> {
    writeln!(w, "{}", RATE_PROBES.header())?;
    for p in pairs {
        for s in &p.steps {
            for r in &s.probes {
                short_labels(p).put(s.number).probe(r).write(w)?;
            }
        }
    }
    Ok(())
}

fn write_summary(w: &mut impl Write, pairs: &[RatePair], timeout: Duration) -> io::Result<()> {
    writeln!(w, "{}", RATE_SUMMARY.header())?;
    for p in pairs {
        let head = |result: &str, failure: &str| {
            let l = &p.labels;
            Row::default()
                .put(&l.target)
                .put(&l.runtime)
                .put(&l.framework)
                .put(l.client)
                .opt(l.workers)
                .put(p.strategy.name())
                .put(p.kernel)
                .put(p.n)
                .put(result)
                .put(failure)
                .num(p.t1.map(millis), 3)
                .num(p.capacity_rps(), 1)
                .put(p.capacity.threads)
                .put(p.capacity.basis.name())
        };
        for s in &p.steps {
            let f = StepFigures::of(s, timeout);
            let lat = |i: usize| f.latency_us.map(|l| l[i]);
            head(results_format::RESULT_OK, "")
                .put(s.number)
                .put(s.place.pass)
                .opt(s.place.server_pid)
                .num(Some(millis(s.place.start_offset)), 1)
                .num(s.lone.map(millis), 3)
                .num(s.load, 3)
                .num(Some(s.offered_rps), 1)
                .num(Some(millis(s.duration)), 1)
                .put(s.max_in_flight)
                .put(f.scheduled)
                .put(f.sent)
                .put(f.refused)
                .put(f.answered)
                .put(f.verified)
                .put(f.shed)
                .put(f.errors_status)
                .put(f.errors_timeout)
                .put(f.errors_transport)
                .put(f.errors_body)
                .num(Some(millis(f.span)), 3)
                .num(Some(f.achieved_rps), 1)
                .num(Some(f.goodput_rps), 1)
                .opt(lat(0))
                .opt(lat(1))
                .opt(lat(2))
                .opt(lat(3))
                .opt(f.late_us.map(|l| l[0]))
                .opt(f.late_us.map(|l| l[1]))
                .put(u8::from(f.generator_behind))
                .put(f.probes)
                .put(f.probe_errors)
                .opt(f.probe_p99_us)
                .put(p.notes.join("; "))
                .write(w)?;
        }
        let (result, failure) = match (&p.not_applicable, &p.failure) {
            (Some(why), _) => (results_format::RESULT_NOT_APPLICABLE, why.as_str()),
            (None, Some(why)) => (results_format::RESULT_FAILED, why.as_str()),
            (None, None) => continue,
        };
        // Step 0, no figures: every column between `step` and `note` is empty.
        let step = RATE_SUMMARY.columns.iter().position(|c| *c == "step");
        let blanks = RATE_SUMMARY.columns.len() - step.map_or(0, |i| i + 1) - 1;
        let mut row = head(result, failure).put(0);
        for _ in 0..blanks {
            row = row.put("");
        }
        row.put(p.notes.join("; ")).write(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{
        DEFAULT_ANSWERS, DEFAULT_DURATION, DEFAULT_STEP_CAP, MIN_WARMUP, QUICK_LOADS,
    };

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_schedule_is_constant_intervals_with_a_warmup() {
        // 100 requests/s: every 10 ms; 50 ms of warm-up, then 200 ms measured.
        let s = Schedule::new(100.0, MS(50), MS(200));
        assert_eq!(s.len(), 25);
        assert_eq!(
            (0..4).map(|k| s.offset(k)).collect::<Vec<_>>(),
            [MS(0), MS(10), MS(20), MS(30)]
        );
        let warmup = (0..s.len()).filter(|k| s.is_warmup(*k)).count();
        assert_eq!((warmup, s.len() as usize - warmup), (5, 20));
        assert_eq!(s.offset(24), MS(240));
        // A rate that does not divide the time: the last send is before the end.
        let s = Schedule::new(3.0, MS(50), MS(1000));
        assert_eq!(s.len(), 4); // 0, 333, 667, 1000 ms; 1333 is past the end
        assert!(s.offset(s.len() - 1) < MS(1050));
    }

    #[test]
    fn poisson_arrivals_keep_their_rate_and_their_seed() {
        let s = Schedule::poisson(1000.0, MS(50), MS(10_000), 1);
        let n = s.len();
        // 10.05 s at 1000/s: within 5 % of 10,050 (the sd of a Poisson count is about 100).
        assert!((9_550..=10_550).contains(&n), "{n}");
        assert!((1..n).all(|k| s.offset(k) >= s.offset(k - 1)), "ascending");
        assert!(s.offset(n - 1) < MS(10_050));
        assert_eq!(s.offset(n), MS(10_050), "past the last: the end");
        // Exponential gaps: about 37 % of them longer than the mean (e^-1), unlike constant
        // intervals, where none is.
        let mean = MS(1);
        let longer = (1..n)
            .filter(|&k| s.offset(k) - s.offset(k - 1) > mean)
            .count();
        let share = longer as f64 / n as f64;
        assert!((0.33..0.41).contains(&share), "{share}");
        // The same seed, the same arrivals; at twice the rate, the same ones twice as dense.
        assert_eq!(s, Schedule::poisson(1000.0, MS(50), MS(10_000), 1));
        let fast = Schedule::poisson(2000.0, MS(50), MS(10_000), 1);
        for k in [0, 1, 100, 4000] {
            let (a, b) = (
                s.offset(k).as_secs_f64(),
                fast.offset(k).as_secs_f64() * 2.0,
            );
            assert!((a - b).abs() < 1e-6, "{k}: {a} vs {b}");
        }
        assert_ne!(s, Schedule::poisson(1000.0, MS(50), MS(10_000), 2));
        // The warm-up is the arrivals before it.
        assert!(s.is_warmup(0) && !s.is_warmup(n - 1));
        // The plan picks it from --arrivals.
        let plan = RatePlan::new(
            Steps::Load(vec![1.0]),
            None,
            10,
            false,
            Arrivals::Poisson,
            1,
        );
        assert_eq!(
            schedule(&plan, 500.0),
            Schedule::poisson(500.0, MS(100), MS(1000), 1)
        );
        let plan = RatePlan {
            arrivals: Arrivals::Constant,
            ..plan
        };
        assert_eq!(
            schedule(&plan, 500.0),
            Schedule::new(500.0, MS(100), MS(1000))
        );
    }

    fn answer(late_us: u64, latency_ms: u64, error: Option<RequestError>) -> Answer {
        let status = match &error {
            None => Some(200),
            Some(RequestError::Status(s)) => Some(*s),
            Some(_) => None,
        };
        Answer {
            late: Duration::from_micros(late_us),
            latency: MS(latency_ms),
            status,
            error,
        }
    }

    #[test]
    fn records_leave_out_the_warmup_and_count_refusals_as_the_generators() {
        // 10 ms apart, 20 ms of warm-up (k = 0, 1), 60 ms measured (k = 2..=7).
        let s = Schedule::new(100.0, MS(20), MS(60));
        assert_eq!(s.len(), 8);
        let dispatched = [
            Dispatch::Sent { k: 0 },
            Dispatch::Sent { k: 1 },
            Dispatch::Sent { k: 2 },
            Dispatch::Sent { k: 3 },
            Dispatch::Refused { k: 4, late: MS(2) },
            Dispatch::Sent { k: 5 },
            Dispatch::Sent { k: 6 },
            Dispatch::Sent { k: 7 },
        ];
        let answers = vec![
            answer(100, 99, None),                            // warm-up: left out
            answer(100, 99, Some(RequestError::Status(503))), // warm-up
            answer(100, 4, None),
            answer(200, 6, None),
            answer(300, 1, Some(RequestError::Status(503))),
            answer(400, 8, Some(RequestError::Timeout)),
            answer(500, 30, None),
        ];
        let records = records(&s, &dispatched, answers);
        let outcomes: Vec<&str> = records.iter().map(|r| r.outcome.name()).collect();
        assert_eq!(
            outcomes,
            ["ok", "ok", "refused", "status_503", "timeout", "ok"]
        );
        assert_eq!(records[0].scheduled_offset, MS(0));
        assert_eq!(records[5].scheduled_offset, MS(50));
        assert_eq!(records[5].index, 5);
        assert_eq!(records[2].late, MS(2));
        let step = Step {
            number: 1,
            load: Some(1.0),
            offered_rps: 100.0,
            duration: MS(60),
            max_in_flight: 3,
            records,
            probes: vec![],
            place: Place::default(),
            lone: None,
        };
        let f = StepFigures::of(&step, Duration::from_secs(30));
        assert_eq!(
            (
                f.scheduled,
                f.sent,
                f.refused,
                f.answered,
                f.verified,
                f.shed
            ),
            (6, 5, 1, 4, 3, 1)
        );
        assert_eq!(
            (
                f.errors_status,
                f.errors_timeout,
                f.errors_transport,
                f.errors_body
            ),
            (0, 1, 0, 0)
        );
        // The last answer: sent at 50 ms, 30 ms later.
        assert_eq!(f.span, MS(80));
        assert!(
            (f.goodput_rps - 3.0 / 0.08).abs() < 1e-9,
            "{}",
            f.goodput_rps
        );
        assert!((f.achieved_rps - 4.0 / 0.08).abs() < 1e-9);
        // Latency of the verified answers only: 4, 6, 30 ms.
        assert_eq!(f.latency_us, Some([6_000, 30_000, 30_000, 30_000]));
        // Lateness of all six, refusal included: 0.1, 0.2, 2, 0.3, 0.4, 0.5 ms.
        assert_eq!(f.late_us, Some([2_000, 2_000]));
        assert!(f.generator_behind);
        let mut on_time = step.clone();
        on_time.records[2].late = MS(1);
        assert!(!StepFigures::of(&on_time, Duration::from_secs(30)).generator_behind);
    }

    #[test]
    fn queues_are_bounded_by_c_unless_the_command_line_says_otherwise() {
        let plan = Plan {
            kernel: common::kernel::DEFAULT,
            n: 10,
            yield_every: None,
            concurrency: 20,
            rounds: 1,
            probe_interval: MS(2),
            calibration: 1,
            warmup: 1,
            request_timeout: Duration::from_secs(1),
            cores: 2,
        };
        let args = bench::server_args(&plan, 2);
        assert_eq!(
            queue_limits(&plan, &args, &[]),
            ["--max-queue", "20", "--max-background", "20"]
        );
        let extra = ["--max-queue=5".to_owned()];
        assert_eq!(
            queue_limits(&plan, &args, &extra),
            ["--max-background", "20"]
        );
        let big = Plan {
            concurrency: 2000,
            ..plan
        };
        let args = bench::server_args(&big, 2);
        assert!(queue_limits(&big, &args, &[]).is_empty());
    }

    #[test]
    fn capacity_counts_the_executor_threads_for_inline_work_and_the_cores_otherwise() {
        let of = Capacity::of;
        // A current-thread runtime: one executor thread, whatever the cores.
        assert_eq!(
            of(Strategy::Cycle, Some(1), 2),
            Capacity {
                threads: 1,
                basis: CapacityBasis::Executor
            }
        );
        assert_eq!(of(Strategy::CycleSleep, Some(1), 2).threads, 1);
        assert_eq!(of(Strategy::Generator, Some(2), 2).threads, 2);
        // More workers than cores: the cores bound them.
        assert_eq!(of(Strategy::Cycle, Some(8), 2).threads, 2);
        // Off the executor: the cores, however few executor threads.
        for s in [
            Strategy::Rayon,
            Strategy::Thread,
            Strategy::Jobs,
            Strategy::Queue,
        ] {
            assert_eq!(
                of(s, Some(1), 2),
                Capacity {
                    threads: 2,
                    basis: CapacityBasis::Cores
                },
                "{s:?}"
            );
        }
        // An external server's executor is unknown: the cores.
        assert_eq!(of(Strategy::Cycle, None, 4).basis, CapacityBasis::Cores);
    }

    #[test]
    fn steps_are_loads_times_capacity_or_rates() {
        let plan = RatePlan::new(
            Steps::Load(vec![1.5, 0.5]),
            None,
            10,
            false,
            Arrivals::Constant,
            1,
        );
        assert_eq!(plan.duration, DEFAULT_DURATION);
        assert_eq!(plan.rates(400.0), [(Some(0.5), 200.0), (Some(1.5), 600.0)]);
        // A step lasts for 500 requests, within 0.1 s and 2 s; its warm-up is a tenth of it,
        // at least 50 ms.
        assert_eq!(plan.answers, DEFAULT_ANSWERS);
        assert_eq!(plan.measured(1000.0), MS(500));
        assert_eq!(plan.measured(100_000.0), DEFAULT_DURATION);
        assert_eq!(plan.measured(10.0), DEFAULT_STEP_CAP);
        assert_eq!(RatePlan::warmup(MS(1500)), MS(150));
        assert_eq!(RatePlan::warmup(MS(100)), MIN_WARMUP);
        let s = schedule(&plan, 1000.0);
        assert_eq!((s.warmup(), s.measured(), s.len()), (MS(50), MS(500), 550));
        // Its n: a tenth of the run's, or --rate-n.
        assert_eq!(plan.n(10_000_000), 1_000_000);
        assert_eq!(plan.n(5), 1);
        assert_eq!(
            RatePlan {
                n: Some(7),
                ..plan.clone()
            }
            .n(10_000_000),
            7
        );
        let plan = RatePlan::new(
            Steps::Rate(vec![50.0]),
            Some(Duration::from_secs(2)),
            10,
            true,
            Arrivals::Constant,
            1,
        );
        assert_eq!(plan.rates(400.0), [(None, 50.0)]);
        // A --duration above the cap raises the cap: every step lasts it.
        assert_eq!(plan.measured(50.0), Duration::from_secs(2));
        assert_eq!(plan.measured(1e6), Duration::from_secs(2));
        let quick = RatePlan::new(Steps::Load(vec![]), None, 10, true, Arrivals::Constant, 1);
        assert_eq!(quick.steps, Steps::Load(QUICK_LOADS.to_vec()));
        assert_eq!(capacity_rps(2, MS(5)), Some(400.0));
        assert_eq!(capacity_rps(2, Duration::ZERO), None);
    }
}
