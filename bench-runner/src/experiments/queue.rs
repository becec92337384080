//! The queue experiment (`--experiment queue`): what `/queue` (the job API on a Redis broker,
//! computed by `queue-worker` processes) does with a burst of work, against `/jobs` (the same
//! API on the server's own CPU pool), and what it does when a worker dies.
//!
//! Per target, at its largest worker count (a one-thread runtime at 1), in passes as every
//! experiment ([`crate::harness::passes`]): each of `--rounds` passes visits every target once,
//! in an order shuffled per pass from `--seed`, on a fresh server started with `--broker`
//! (verified on its first visit, with one worker process for the checks' `/queue` jobs; on a
//! later one `/health` and an idle server, the warm-ups then checking answers). A visit runs one
//! *burst* of each configuration: `jobs` = 4 × C requests sent at once, every one a `POST` and
//! then a `GET …?wait=true` until its result ([`Bench::round`] at that concurrency: the probe
//! beside it, the server's lag and CPU over it):
//! 1. `scale`, `/jobs`: the in-process reference;
//! 2. `scale`, `/queue` with each `--queue-workers` count of worker processes (1, 2), started
//!    for the burst and stopped after it: the throughput one more process gives, and the CPU
//!    the server, the workers and the broker used (what limits it). These (1 and 2) run in an
//!    order shuffled per visit, so that neither always comes first after the server's start;
//!    within a visit they share one server process and one minute of the machine's speed, so
//!    their ratio is paired by pass;
//! 3. last, `fault`, `/queue` with 2 workers at a 1 s lease: a third of the way into the burst
//!    (of the visit's two-worker span) one worker is SIGKILLed with jobs in hand; the survivor
//!    takes them over once their lease has run out. Every accepted job must still end done with
//!    the right total: lost or wrong ones are counted, and fail the target.
//!
//! Files: queue_raw.csv (a row per job) and queue_summary.csv (a row per burst: target × run ×
//! pass, with where it ran); the report takes each configuration's figures over its passes.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::Strategy;
use results_format::{QUEUE_RAW, QUEUE_RUN_FAULT, QUEUE_RUN_SCALE, QUEUE_SUMMARY};

use crate::cpu::CpuTime;
use crate::harness::bench::{self, Bench, Session};
use crate::harness::console::Console;
use crate::harness::http::Outcome;
use crate::harness::output::Row;
use crate::harness::passes::{Passes, Slot};
use crate::harness::records::{Labels, Log, Round};
use crate::harness::stats::{micros, millis, percentiles};
use crate::harness::{Cut, ExperimentRun};
use crate::servers::Binaries;
use crate::settings::Plan;
use crate::settings::{Settings, Subjects};
use crate::targets::Target;

/// The fault run's lease: short, so the survivor takes the dead worker's jobs over within the
/// run (the workers' default, 10 s, would make the run mostly waiting).
pub const FAULT_LEASE: Duration = Duration::from_secs(1);
/// Worker processes in the fault run: one is killed, one survives.
const FAULT_WORKERS: usize = 2;
/// Jobs per burst, as a multiple of C.
const BURST_PER_C: usize = 4;

/// One target's runs.
#[derive(Debug, Clone)]
pub struct QueueTarget {
    /// Its labels (workers: the server's executor threads).
    pub labels: Labels,
    /// Kernel and n.
    pub plan: Plan,
    /// Threads of each worker process.
    pub worker_threads: usize,
    /// The bursts, in the order run (pass after pass).
    pub runs: Vec<QueueRun>,
    /// Why it was not measured (no broker).
    pub not_applicable: Option<String>,
    /// What went wrong.
    pub failure: Option<String>,
    /// Remarks: workers that did not stop cleanly, and the like.
    pub notes: Vec<String>,
    /// The conformance suite's verdict, from the first visit (`None` before it).
    pub verification: Option<crate::harness::records::Verification>,
}

/// One burst.
#[derive(Debug, Clone)]
pub struct QueueRun {
    /// `scale` or `fault`.
    pub run: &'static str,
    /// `/jobs` or `/queue`.
    pub strategy: Strategy,
    /// Worker processes (0 for `/jobs`).
    pub queue_workers: usize,
    /// Their `--lease`, when not the default.
    pub lease: Option<Duration>,
    /// The burst, as measured.
    pub round: Round,
    /// When the worker was killed, from the burst's start (the fault run).
    pub killed_at: Option<Duration>,
    /// Jobs the surviving workers took over, by their own count (the `/queue` runs).
    pub taken_over: Option<u64>,
    /// CPU time of the worker processes and of the broker over the run.
    pub workers_cpu: Option<Duration>,
    /// CPU time of our redis-server over the run.
    pub broker_cpu: Option<Duration>,
}

/// What a run's jobs came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Sent.
    pub jobs: usize,
    /// Not refused with 503 at submission.
    pub accepted: usize,
    /// Done, with the right total.
    pub completed: usize,
    /// Answered, but not with the right total (or `failed`).
    pub wrong: usize,
    /// Accepted, and never answered with its result: any error while waiting (a timeout, a
    /// broken connection, another status, a 503 still there after `call_strategy`'s retries).
    pub lost: usize,
    /// Refused with 503 at submission: `conformance::call_strategy` asks a wait answered 503
    /// again until it ends otherwise, so no 503 while waiting is counted here.
    pub shed: usize,
}

impl Tally {
    /// Of a run's records.
    pub fn of(round: &Round) -> Tally {
        let mut t = Tally {
            jobs: round.requests.len(),
            ..Tally::default()
        };
        for r in &round.requests {
            match Outcome::of(r.error.as_ref()) {
                Outcome::Ok => t.completed += 1,
                Outcome::Shed => t.shed += 1,
                Outcome::Body => t.wrong += 1,
                Outcome::Status | Outcome::Timeout | Outcome::Transport | Outcome::Refused => {
                    t.lost += 1;
                }
            }
        }
        t.accepted = t.jobs - t.shed;
        t
    }
}

/// Runs the queue experiment on every target `settings` names, in passes: each visit of a
/// target (a fresh server) runs one burst of each configuration.
pub async fn run(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    let subjects = if matches!(settings.subjects, Subjects::External { .. }) {
        println!(
            "queue: skipped for a --url server (it runs its own workers, if any; the batch \
             experiment measures its /queue)"
        );
        Vec::new()
    } else if !settings.strategies.contains(&Strategy::Queue) {
        println!("queue: skipped: --strategy does not include queue");
        Vec::new()
    } else {
        crate::harness::at_largest_workers(settings, binaries)
    };
    let passes = Passes {
        count: bench.plan().rounds,
        seed: settings.seed,
    };
    if !subjects.is_empty() {
        let burst = settings.plan.concurrency * BURST_PER_C;
        println!(
            "queue: {} targets in {} passes (seed {}), a fresh server per visit: bursts of \
             {burst} jobs (n = {}) on /jobs and on /queue with {} worker process(es) of {} \
             threads, then a worker killed mid-burst ({FAULT_WORKERS} workers, lease \
             {FAULT_LEASE:?})",
            subjects.len(),
            passes.count,
            passes.seed,
            settings.plan.n,
            settings
                .queue
                .workers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            settings.queue.threads,
        );
    }
    let console = Console::new((subjects.len() * passes.count as usize) as u64);
    let mut all: Vec<QueueTarget> = subjects
        .iter()
        .map(|(target, _, workers)| QueueTarget::new(bench, settings, target, *workers))
        .collect();
    let mut interrupted = false;
    for (slot, i) in passes.visits(subjects.len()) {
        let (target, binary, workers) = subjects[i];
        if bench.stop().requested().is_some() {
            interrupted = true;
            break;
        }
        // A stop request drops the visit: the target is as it was before it.
        let before = all[i].clone();
        let t = &mut all[i];
        if t.not_applicable.is_none() && t.failure.is_none() {
            let what = t.name();
            console.working_on(&what);
            console.line(&format!(
                "== queue, pass {}/{}: {}, workers={workers}",
                slot.pass, passes.count, target.name
            ));
            let order = configurations(&settings.queue.workers, passes, i, slot.pass);
            let visit = visit(bench, target, binary, workers, t, slot, &order, &console);
            match bench.stop().or_stop(console.keep_alive(&what, visit)).await {
                Some(Ok(())) => {}
                Some(Err(why)) => all[i].failure = Some(why),
                None => {
                    all[i] = before;
                    interrupted = true;
                    break;
                }
            }
        }
        console.step();
    }
    console.finish();
    let mut cut = Cut::default();
    all.retain(|t| {
        let measured = t.failure.is_none() && t.not_applicable.is_none();
        let visits = t
            .runs
            .iter()
            .map(|r| r.round.place.pass)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        cut.keeps(t.name(), measured, visits, passes.count as usize, "passes")
    });
    for t in &all {
        crate::harness::pair_end(
            &console,
            &t.name(),
            t.not_applicable.as_deref(),
            &t.notes,
            t.failure.as_deref(),
        );
    }
    let files = render(&all).context("rendering the queue CSVs")?;
    let outcomes = all
        .iter()
        .map(|t| (t.failure.is_some(), t.not_applicable.is_some()));
    Ok(ExperimentRun::tally(files, outcomes).cut_short(interrupted, cut))
}

impl QueueTarget {
    /// `queue: tokio, workers=2`: how the console and the interrupted run's notes name it.
    fn name(&self) -> String {
        let workers = self
            .labels
            .workers
            .map_or(String::new(), |w| format!(", workers={w}"));
        format!("queue: {}{workers}", self.labels.target)
    }

    /// A target's record before its first visit (not applicable without a broker).
    fn new(bench: &Bench, settings: &Settings, target: &Target, workers: usize) -> QueueTarget {
        QueueTarget {
            labels: Labels::of_server(target, bench.client_name(), workers),
            plan: *bench.plan(),
            worker_threads: settings.queue.threads,
            runs: Vec::new(),
            not_applicable: bench.not_applicable(target, Strategy::Queue),
            failure: None,
            notes: Vec::new(),
            verification: None,
        }
    }
}

/// A visit's scale-out bursts, in the order it runs them: `/jobs` (0 worker processes) and
/// each of `queue_workers` (`--queue-workers`), shuffled per (target, pass) from the seed. The
/// fault burst comes after them (it is timed from the two-worker span).
fn configurations(queue_workers: &[usize], passes: Passes, target: usize, pass: u32) -> Vec<usize> {
    let counts: Vec<usize> = std::iter::once(0)
        .chain(queue_workers.iter().copied())
        .collect();
    let shuffle = Passes {
        seed: passes.seed ^ (target as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ..passes
    };
    shuffle
        .order(pass, counts.len())
        .into_iter()
        .map(|k| counts[k])
        .collect()
}

/// One visit of a target: a fresh server with `--broker`, checked (the whole conformance
/// suite on the first visit, `/health` and an idle server on a later one), then the bursts:
/// `order`'s scale-out bursts (0: `/jobs`), then the fault burst. A lost or wrong job in the
/// fault burst fails the target.
#[allow(clippy::too_many_arguments)]
async fn visit(
    bench: &Bench,
    target: &Target,
    binary: &std::path::Path,
    workers: usize,
    t: &mut QueueTarget,
    slot: Slot,
    order: &[usize],
    log: &dyn Log,
) -> Result<(), String> {
    let parts = bench
        .queue()
        .ok_or_else(|| "no /queue broker".to_owned())?
        .clone();
    let mut plan = *bench.plan();
    plan.concurrency = t.plan.concurrency * BURST_PER_C;
    // Room for the whole burst on the broker and in the server's own queue.
    let limit = plan.concurrency.max(1024).to_string();
    // A /queue pair's server and workers, as every experiment starts them; the workers
    // compute the checks' /queue jobs, then go: each burst starts its own.
    let mut pair = bench
        .start_pair(
            target,
            binary,
            workers,
            Strategy::Queue,
            &["--max-queue".to_owned(), limit],
        )
        .await?;
    let mut session = Session::ours(&mut pair.server);
    let checked = if t.verification.is_none() {
        bench.verify(&mut session, &mut t.verification, log).await
    } else {
        bench.healthy(&mut session).await
    };
    t.notes
        .extend(std::mem::take(&mut pair.workers).stop().await.0);
    let outcome = match checked {
        Ok(()) => bursts(bench, &parts, &session, &plan, t, slot, order, log).await,
        Err(why) => Err(why),
    };
    for note in bench::stop_pair(pair).await {
        if !t.notes.contains(&note) {
            t.notes.push(note);
        }
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn bursts(
    bench: &Bench,
    parts: &crate::harness::broker::QueueParts,
    session: &Session<'_>,
    plan: &Plan,
    t: &mut QueueTarget,
    slot: Slot,
    order: &[usize],
    log: &dyn Log,
) -> Result<(), String> {
    let mut two_worker_span = None;
    for &count in order {
        let mut run = if count == 0 {
            // The reference: the same burst on the server's own CPU pool.
            bench.warm_up(session, Strategy::Jobs, plan).await?;
            let round = bench
                .round(session, Strategy::Jobs, slot.pass, plan)
                .await?;
            QueueRun {
                run: QUEUE_RUN_SCALE,
                strategy: Strategy::Jobs,
                queue_workers: 0,
                lease: None,
                round,
                killed_at: None,
                taken_over: None,
                workers_cpu: None,
                broker_cpu: None,
            }
        } else {
            queue_run(bench, parts, session, plan, count, None, slot.pass).await?
        };
        if count == FAULT_WORKERS {
            two_worker_span = Some(run.round.batch);
        }
        place(&mut run, slot);
        log.line(&run_line(&run));
        t.runs.push(run);
    }
    // A third of the way into the burst, by the span two workers took (or 100 ms).
    let kill_after = two_worker_span.map_or(Duration::from_millis(100), |s| s / 3);
    let mut run = queue_run(
        bench,
        parts,
        session,
        plan,
        FAULT_WORKERS,
        Some(kill_after),
        slot.pass,
    )
    .await?;
    place(&mut run, slot);
    log.line(&run_line(&run));
    let tally = Tally::of(&run.round);
    t.runs.push(run);
    if tally.lost + tally.wrong > 0 {
        return Err(format!(
            "a worker killed mid-burst (pass {}): {} of {} accepted jobs lost, {} wrong",
            slot.pass, tally.lost, tally.accepted, tally.wrong
        ));
    }
    Ok(())
}

/// Marks where `run` ran: its pass and the visit's position in the pass.
fn place(run: &mut QueueRun, slot: Slot) {
    run.round.place.pass = slot.pass;
    run.round.place.position = slot.position;
}

/// One `/queue` burst with `count` fresh worker processes; with `kill_after`, the fault run:
/// the first worker is SIGKILLed that long after the burst's start.
async fn queue_run(
    bench: &Bench,
    parts: &crate::harness::broker::QueueParts,
    session: &Session<'_>,
    plan: &Plan,
    count: usize,
    kill_after: Option<Duration>,
    number: u32,
) -> Result<QueueRun, String> {
    let lease = kill_after.map(|_| FAULT_LEASE);
    let mut workers = parts.start_workers(count, lease).await?;
    let warmed = bench.warm_up(session, Strategy::Queue, plan).await;
    if let Err(why) = warmed {
        workers.stop().await;
        return Err(why);
    }
    let clk = bench.clk_tck();
    let (w0, b0) = (workers.cpu(), parts.broker_cpu());
    let start = Instant::now();
    let burst = bench.round(session, Strategy::Queue, number, plan);
    let (round, killed) = match kill_after {
        Some(after) => {
            let victim = workers.running.first_mut();
            let kill = async {
                tokio::time::sleep(after).await;
                let at = start.elapsed();
                let victim_cpu = victim.as_ref().and_then(|w| CpuTime::of(Some(w.pid())));
                if let Some(w) = victim {
                    w.kill_in_place();
                }
                (at, victim_cpu)
            };
            let (round, killed) = tokio::join!(burst, kill);
            (round, Some(killed))
        }
        None => (burst.await, None),
    };
    // The killed worker's CPU counts up to its death; the others' up to now.
    if killed.is_some() && !workers.running.is_empty() {
        drop(workers.running.remove(0));
    }
    let (w1, b1) = (workers.cpu(), parts.broker_cpu());
    let (notes, taken_over) = workers.stop().await;
    let round = round?;
    let workers_cpu = match (w0, w1, killed) {
        (Some(a), Some(b), Some((_, Some(victim)))) => Some(
            CpuTime {
                ticks: b.ticks + victim.ticks,
            }
            .since(a, clk),
        ),
        (Some(a), Some(b), None) => Some(b.since(a, clk)),
        _ => None,
    };
    if let Some(note) = notes.first() {
        return Err(format!("queue workers: {note}"));
    }
    Ok(QueueRun {
        run: if kill_after.is_some() {
            QUEUE_RUN_FAULT
        } else {
            QUEUE_RUN_SCALE
        },
        strategy: Strategy::Queue,
        queue_workers: count,
        lease,
        round,
        // The round's clock starts a moment after `start` (the probe's start-up): the offset is
        // at most that much late.
        killed_at: killed.map(|(at, _)| at),
        taken_over: Some(taken_over),
        workers_cpu,
        broker_cpu: b0.zip(b1).map(|(a, b)| b.since(a, clk)),
    })
}

/// The console's line for a run.
fn run_line(run: &QueueRun) -> String {
    let t = Tally::of(&run.round);
    let lat: Vec<u64> = ok_latencies(&run.round);
    let p = percentiles(&lat);
    let who = match run.strategy {
        Strategy::Queue => format!("/queue, {} worker process(es)", run.queue_workers),
        s => format!("{} (in process)", s.path()),
    };
    let mut line = format!(
        "   {} {who}: {}/{} done right in {:.1} ms = {:.0} results/s; time to result p50 {:.1} ms, p99 {:.1} ms",
        run.run,
        t.completed,
        t.jobs,
        run.round.batch.as_secs_f64() * 1e3,
        throughput(t.completed, run.round.batch).unwrap_or(0.0),
        p.map_or(0.0, |p| p.p50 as f64 / 1e3),
        p.map_or(0.0, |p| p.p99 as f64 / 1e3),
    );
    if let Some(at) = run.killed_at {
        line.push_str(&format!(
            "; a worker killed at {:.0} ms, {} job(s) taken over, {} lost, {} wrong",
            at.as_secs_f64() * 1e3,
            run.taken_over.unwrap_or(0),
            t.lost,
            t.wrong
        ));
    }
    line
}

fn ok_latencies(round: &Round) -> Vec<u64> {
    round
        .requests
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| micros(r.latency))
        .collect()
}

/// Results per second over `span`.
fn throughput(completed: usize, span: Duration) -> Option<f64> {
    (span > Duration::ZERO).then(|| completed as f64 / span.as_secs_f64())
}

/// queue_raw.csv and queue_summary.csv.
pub fn render(targets: &[QueueTarget]) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut raw = Vec::new();
    write_raw(&mut raw, targets)?;
    let mut summary = Vec::new();
    write_summary(&mut summary, targets)?;
    Ok(vec![(QUEUE_RAW.name, raw), (QUEUE_SUMMARY.name, summary)])
}

fn write_raw(w: &mut impl Write, targets: &[QueueTarget]) -> io::Result<()> {
    writeln!(w, "{}", QUEUE_RAW.header())?;
    for t in targets {
        for run in &t.runs {
            for r in &run.round.requests {
                Row::default()
                    .put(&t.labels.target)
                    .opt(t.labels.workers)
                    .put(run.run)
                    .put(run.strategy.name())
                    .put(run.queue_workers)
                    .put(run.round.place.pass)
                    .put(r.index)
                    .put(micros(r.start_offset))
                    .put(micros(r.start_offset + r.latency))
                    .put(micros(r.latency))
                    .opt(r.status)
                    .put(Outcome::of(r.error.as_ref()).name())
                    .opt(r.error.as_ref())
                    .write(w)?;
            }
        }
    }
    Ok(())
}

fn labels(t: &QueueTarget) -> Row {
    let l = &t.labels;
    Row::default()
        .put(&l.target)
        .put(&l.runtime)
        .put(&l.framework)
        .put(l.client)
        .opt(l.workers)
        .put(t.plan.kernel.name())
        .put(t.plan.n)
}

fn write_summary(w: &mut impl Write, targets: &[QueueTarget]) -> io::Result<()> {
    writeln!(w, "{}", QUEUE_SUMMARY.header())?;
    // Between `failure` and `note`: the run's columns, empty for a target without runs.
    let empty_figures = QUEUE_SUMMARY.columns.len() - 10;
    for t in targets {
        let result = if t.not_applicable.is_some() {
            results_format::RESULT_NOT_APPLICABLE
        } else if t.failure.is_some() {
            results_format::RESULT_FAILED
        } else {
            results_format::RESULT_OK
        };
        let why = t.failure.as_deref();
        // Why a target was not applicable goes with the notes, as the console says it.
        let note = t
            .not_applicable
            .iter()
            .chain(&t.notes)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if t.runs.is_empty() {
            let mut row = labels(t).put(result).opt(why);
            for _ in 0..empty_figures {
                row = row.put("");
            }
            row.put(&note).write(w)?;
            continue;
        }
        for run in &t.runs {
            let tally = Tally::of(&run.round);
            let p = percentiles(&ok_latencies(&run.round));
            let timeout = t.plan.request_timeout;
            let probes: Vec<u64> = run
                .round
                .probes
                .iter()
                .map(|p| micros(p.counted_latency(timeout)))
                .collect();
            let probe_errors = run
                .round
                .probes
                .iter()
                .filter(|p| p.error.is_some())
                .count();
            let ms = |d: Option<Duration>| d.map(|d| format!("{:.1}", d.as_secs_f64() * 1e3));
            labels(t)
                .put(result)
                .opt(why)
                .put(run.run)
                .put(run.strategy.name())
                .put(run.queue_workers)
                .opt((run.strategy == Strategy::Queue).then_some(t.worker_threads))
                .opt(run.lease.map(|l| l.as_millis()))
                .put(run.round.place.pass)
                .put(run.round.place.position)
                .opt(run.round.place.server_pid)
                .num(Some(millis(run.round.place.start_offset)), 1)
                .put(tally.jobs)
                .put(tally.accepted)
                .put(tally.completed)
                .put(tally.wrong)
                .put(tally.lost)
                .put(tally.shed)
                .put(tally.lost + tally.wrong)
                .opt(ms(run.killed_at))
                .opt(run.taken_over.filter(|_| run.run == QUEUE_RUN_FAULT))
                .opt(ms(Some(run.round.batch)))
                .num(throughput(tally.completed, run.round.batch), 1)
                .opt(p.map(|p| p.p50))
                .opt(p.map(|p| p.p99))
                .opt(p.map(|p| p.max))
                .put(probes.len())
                .put(probe_errors)
                .opt(percentiles(&probes).map(|p| p.p99))
                .opt(run.round.lag.as_ref().map(|l| l.p99_us))
                .opt(ms(run.round.server_cpu))
                .opt(ms(run.workers_cpu))
                .opt(ms(run.broker_cpu))
                .opt(ms(run.round.client_cpu))
                .put(&note)
                .write(w)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_visit_runs_every_configuration_once_in_an_order_of_its_own() {
        let passes = Passes { count: 6, seed: 1 };
        let orders: Vec<Vec<usize>> = (1..=6)
            .map(|pass| configurations(&[1, 2], passes, 0, pass))
            .collect();
        for order in &orders {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2]);
        }
        assert!(
            orders.iter().any(|o| *o != orders[0]),
            "the passes' orders differ: {orders:?}"
        );
        // The seed fixes them, and targets get orders of their own.
        assert_eq!(configurations(&[1, 2], passes, 0, 3), orders[2]);
        let other: Vec<Vec<usize>> = (1..=6)
            .map(|pass| configurations(&[1, 2], passes, 1, pass))
            .collect();
        assert_ne!(other, orders);
    }
}
