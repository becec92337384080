//! The pool-sizing sweep (`--experiment pools`, issue 25): how big should the pool be that
//! CPU work is offloaded to, when the runtime's executor threads want the same cores?
//!
//! Each pool size is a pair of its own: target × workers × strategy × `pool_threads` ×
//! `pool_nice`, visited in passes as the batch experiment's pairs are ([`Bench::batch_visit`]:
//! a fresh server, checked, warmed up, a lone request for T1, one round of C concurrent
//! requests with the open-loop probe, the scheduler's per-thread figures around it), the
//! server started with the pool's size on its command line ([`Bench::visit_with`]):
//! - `/rayon` and `/jobs`: `--cpu-threads K` (the CPU pool), at the pool's normal priority
//!   and at `--cpu-pool-nice 19`;
//! - `/bounded`: `--cpu-threads K` (its semaphore's permits; its kernels run on the blocking
//!   pool, which the nice value does not touch, so at normal priority only);
//! - `/thread`: `--blocking-threads K` (the blocking pool's cap; normal priority only).
//!
//! The sizes are `Settings::pool_sizes` (default [`pool_sweep`](crate::settings::pool_sweep):
//! 1, cores/2, cores − 1, cores, 2 × cores, 4 × cores, each once). Files: pools_raw.csv (a
//! row per round), pools_probes.csv (a row per probe) and pools_summary.csv (a row per
//! configuration), figures by the harness's
//! own summary code ([`RoundFigures`], [`PairSummary`]).

use std::io::{self, Write};

use anyhow::Context;
use common::Strategy;
use results_format::{POOLS_PROBES, POOLS_RAW, POOLS_SUMMARY};

use crate::harness::bench::{self, Bench, Session, Subject};
use crate::harness::console::Console;
use crate::harness::output::{Row, one_line, pair_labels};
use crate::harness::passes::Passes;
use crate::harness::records::{Log, Measurement};
use crate::harness::stats;
use crate::harness::summary::{PairSummary, RoundFigures};
use crate::harness::{Cut, ExperimentRun, pair_end};
use crate::servers::Binaries;
use crate::settings::Settings;

/// The nice value of the low-priority runs (`--cpu-pool-nice`): the lowest there is.
pub const LOW_PRIORITY: u8 = 19;

/// Which server flag sizes `strategy`'s pool, and whether `--cpu-pool-nice` reaches the
/// threads its kernels run on; `None` for a strategy the sweep does not measure.
pub fn pool_flag(strategy: Strategy) -> Option<(&'static str, bool)> {
    match strategy {
        Strategy::Rayon | Strategy::Jobs => Some(("--cpu-threads", true)),
        Strategy::Bounded => Some(("--cpu-threads", false)),
        Strategy::Thread => Some(("--blocking-threads", false)),
        Strategy::Generator
        | Strategy::Cycle
        | Strategy::CycleSleep
        | Strategy::Background
        | Strategy::BlockInPlace
        | Strategy::Queue
        | Strategy::Cached => None,
    }
}

/// One configuration of the sweep: a pool size and priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// Threads (or permits).
    pub threads: usize,
    /// The pool's nice value (0: the process's own).
    pub nice: u8,
}

impl Pool {
    /// The server arguments that set it for `strategy`.
    pub fn args(self, strategy: Strategy) -> Vec<String> {
        let Some((flag, _)) = pool_flag(strategy) else {
            return vec![];
        };
        let mut args = vec![flag.to_owned(), self.threads.to_string()];
        if self.nice > 0 {
            args.extend(["--cpu-pool-nice".to_owned(), self.nice.to_string()]);
        }
        args
    }

    /// `pool 4` or `pool 4, nice 19`: appended to the pair's name.
    pub fn label(self) -> String {
        match self.nice {
            0 => format!("pool {}", self.threads),
            n => format!("pool {}, nice {n}", self.threads),
        }
    }
}

/// The configurations of `strategy` for `sizes`: each size at nice 0, then (where the nice
/// value reaches its pool) each at [`LOW_PRIORITY`].
pub fn pools_of(strategy: Strategy, sizes: &[usize]) -> Vec<Pool> {
    let Some((_, niced)) = pool_flag(strategy) else {
        return vec![];
    };
    let nices: &[u8] = if niced { &[0, LOW_PRIORITY] } else { &[0] };
    nices
        .iter()
        .flat_map(|&nice| sizes.iter().map(move |&threads| Pool { threads, nice }))
        .collect()
}

/// Why `subject` cannot run `strategy` at `pool`'s size: actix-web gives each worker a
/// blocking pool of its own, of at least one thread, so its server refuses (exit 2) a
/// `--blocking-threads` below `--workers` (runtimes/actix-web/src/main.rs). Not a failure: that
/// size does not exist there.
fn refused_size(subject: Subject<'_>, strategy: Strategy, pool: Pool) -> Option<String> {
    let Subject::Server {
        target, workers, ..
    } = subject
    else {
        return None;
    };
    let blocking = pool_flag(strategy).is_some_and(|(flag, _)| flag == "--blocking-threads");
    (blocking && target.kind == common::RuntimeKind::Actix && pool.threads < workers).then(|| {
        format!(
            "--blocking-threads {} with --workers {workers}: actix-web gives each worker a \
             blocking pool of its own, of at least one thread",
            pool.threads
        )
    })
}

/// One configuration's record: the pair (its rounds) and its pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolPair {
    /// The pair as the batch experiment records it.
    pub m: Measurement,
    /// Its pool.
    pub pool: Pool,
}

/// Runs the sweep on every pair of `settings` whose strategy has a pool, at every size.
pub async fn run(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    let plan = bench.plan();
    let mut pairs: Vec<(Subject<'_>, Pool)> = Vec::new();
    let mut all: Vec<PoolPair> = Vec::new();
    for (subject, strategy) in crate::harness::pairs(settings, binaries) {
        for pool in pools_of(strategy, &settings.pool_sizes) {
            let mut m = bench.new_measurement(subject, strategy);
            m.variant = Some(pool.label());
            if m.not_applicable.is_none() {
                m.not_applicable = refused_size(subject, strategy, pool);
            }
            pairs.push((subject, pool));
            all.push(PoolPair { m, pool });
        }
    }
    let passes = Passes {
        count: plan.rounds,
        seed: settings.seed,
    };
    let sizes: Vec<String> = settings.pool_sizes.iter().map(usize::to_string).collect();
    println!(
        "pools: {} configurations in {} passes (seed {}): pool sizes {} (/rayon, /jobs, \
         /bounded: --cpu-threads; /thread: --blocking-threads; /rayon, /jobs also at nice {}), \
         n = {}, C = {}, a fresh server per visit",
        pairs.len(),
        passes.count,
        passes.seed,
        sizes.join(", "),
        LOW_PRIORITY,
        plan.n,
        plan.concurrency,
    );
    let console = Console::new((pairs.len() * passes.count as usize) as u64);
    let mut interrupted = false;
    for (slot, i) in passes.visits(pairs.len()) {
        if bench.stop().requested().is_some() {
            interrupted = true;
            break;
        }
        let (subject, pool) = pairs[i];
        let m = &mut all[i].m;
        if m.not_applicable.is_none() && m.failure.is_none() {
            let what = m.name();
            console.working_on(&what);
            console.line(&format!(
                "== pools, pass {}/{}: {what}",
                slot.pass, passes.count
            ));
            let extra = pool.args(m.strategy);
            let body = async |s: &mut Session<'_>, m: &mut Measurement| {
                bench.batch_visit(s, m, slot, &console).await
            };
            // A stop request drops the visit: the pair is as it was before it.
            let before = m.clone();
            let visit =
                console.keep_alive(&what, bench.visit_with(subject, &extra, m, &console, body));
            if bench.stop().or_stop(visit).await.is_none() {
                *m = before;
                interrupted = true;
                break;
            }
            if let Some(why) = &m.failure {
                console.line(&format!("   FAILED {what}: {why} (not visited again)"));
            }
        }
        console.step();
    }
    console.finish();
    bench.settle_previous().await;
    let mut cut = Cut::default();
    all.retain(|p| {
        let measured = p.m.failure.is_none() && p.m.not_applicable.is_none();
        let name = format!("pools: {}", p.m.name());
        cut.keeps(
            name,
            measured,
            p.m.rounds.len(),
            passes.count as usize,
            "rounds",
        )
    });
    for p in &mut all {
        let name = p.m.name();
        p.m.notes.extend(bench.stop_notes(&name));
        let mode = match p.m.labels.workers {
            Some(_) => conformance::Mode::Ours,
            None => conformance::Mode::External,
        };
        p.m.notes.extend(bench::round_notes(mode, &p.m.rounds));
        pair_end(
            &console,
            &name,
            p.m.not_applicable.as_deref(),
            &p.m.notes,
            p.m.failure.as_deref(),
        );
    }
    print_table(&all, &console);
    let files = render(&all).context("rendering the pools CSVs")?;
    let outcomes = all
        .iter()
        .map(|p| (p.m.failure.is_some(), p.m.not_applicable.is_some()));
    Ok(ExperimentRun::tally(files, outcomes).cut_short(interrupted, cut))
}

/// The console's table: a line per configuration measured.
fn print_table(all: &[PoolPair], console: &Console) {
    let mut text = String::from(
        "\npools: pair, pool size (nice): T1 ms, batch ms (median of the rounds), probe p99 ms, \
         lag p99 ms",
    );
    for p in all.iter().filter(|p| !p.m.rounds.is_empty()) {
        let s = PairSummary::of(&p.m);
        let ms = |us: Option<f64>| us.map_or("-".to_owned(), |v| format!("{:.1}", v / 1e3));
        let batch = batch_ms(&p.m);
        text.push_str(&format!(
            "\n  {}: T1 {}, batch {}, probe p99 {}, lag p99 {}",
            p.m.name(),
            s.t1_ms.map_or("-".to_owned(), |t| format!("{t:.1}")),
            stats::median(&batch).map_or("-".to_owned(), |b| format!("{b:.1}")),
            ms(s.probe_us.map(|p| p.p99 as f64)),
            ms(s.lag_us_p99_median),
        ));
    }
    console.block(&text);
}

/// Each round's batch time, ms.
fn batch_ms(m: &Measurement) -> Vec<f64> {
    m.rounds.iter().map(|r| stats::millis(r.batch)).collect()
}

/// The columns every pools file starts with.
fn labels(p: &PoolPair) -> Row {
    pair_labels(&p.m, true)
        .put(p.m.plan.n)
        .put(p.m.plan.concurrency)
        .put(p.pool.threads)
        .put(p.pool.nice)
}

/// pools_raw.csv: a row per round.
pub fn write_raw(w: &mut impl Write, all: &[PoolPair]) -> io::Result<()> {
    writeln!(w, "{}", POOLS_RAW.header())?;
    for p in all {
        for round in &p.m.rounds {
            let f = RoundFigures::of(&p.m, round);
            let sched = f.sched;
            labels(p)
                .put(f.round)
                .put(round.place.pass)
                .put(round.place.position)
                .opt(round.place.server_pid)
                .num(round.lone.map(stats::millis), 3)
                .num(Some(f.batch_ms), 3)
                .num(f.ideal_batch_ms, 3)
                .num(f.efficiency, 4)
                .opt(f.latency.map(|l| l.p50))
                .opt(f.latency.map(|l| l.max))
                .put(f.requests)
                .put(f.errors.total())
                .put(f.probes)
                .put(f.probe_errors)
                .opt(f.probe.map(|x| x.p50))
                .opt(f.probe.map(|x| x.max))
                .opt(f.lag.and_then(|l| l.p99_us))
                .num(f.server_cpu_ms, 3)
                .num(f.server_cores_used, 3)
                .num(sched.map(|c| c.executor_oncpu_ms), 3)
                .num(sched.map(|c| c.executor_runq_ms), 3)
                .num(sched.map(|c| c.cpu_pool_oncpu_ms + c.blocking_oncpu_ms), 3)
                .num(sched.map(|c| c.server_runq_ms), 3)
                .opt(f.attribution.map(|a| a.name()))
                .write(w)?;
        }
    }
    Ok(())
}

/// pools_summary.csv: a row per configuration, measured or not.
pub fn write_summary(w: &mut impl Write, all: &[PoolPair]) -> io::Result<()> {
    writeln!(w, "{}", POOLS_SUMMARY.header())?;
    for p in all {
        let s = PairSummary::of(&p.m);
        let rounds: Vec<RoundFigures> =
            p.m.rounds
                .iter()
                .map(|r| RoundFigures::of(&p.m, r))
                .collect();
        let over = |f: &dyn Fn(&RoundFigures) -> Option<f64>| -> Vec<f64> {
            rounds.iter().filter_map(f).collect()
        };
        let batch = over(&|r| Some(r.batch_ms));
        let worst = over(&|r| r.probe.map(|x| x.max as f64));
        let min = |xs: &[f64]| xs.iter().copied().reduce(f64::min);
        let max = |xs: &[f64]| xs.iter().copied().reduce(f64::max);
        labels(p)
            .put(p.m.rounds.len())
            .put(s.result)
            .opt(s.failure.as_ref().map(|f| one_line(f)))
            .num(s.t1_ms, 3)
            .num(s.ideal_batch_ms, 3)
            .num(stats::median(&batch), 3)
            .num(min(&batch), 3)
            .num(max(&batch), 3)
            .num(stats::median(&over(&|r| r.efficiency)), 4)
            .opt(s.latency_us.map(|l| l.p99))
            .put(s.probes)
            .put(s.probe_errors)
            .opt(s.probe_us.map(|x| x.p99))
            .num(min(&worst), 0)
            .num(max(&worst), 0)
            .num(s.lag_us_p99_median, 1)
            .num(stats::median(&over(&|r| r.server_cpu_ms)), 3)
            .num(stats::median(&over(&|r| r.server_cores_used)), 3)
            .num(s.executor_runq_ms_per_thread_median, 3)
            .num(
                stats::median(&over(&|r| r.sched.map(|c| c.server_runq_ms))),
                3,
            )
            .opt(s.attribution.map(|a| a.name()))
            .put(&s.note)
            .write(w)?;
    }
    Ok(())
}

/// pools_probes.csv: a row per probe.
pub fn write_probes(w: &mut impl Write, all: &[PoolPair]) -> io::Result<()> {
    writeln!(w, "{}", POOLS_PROBES.header())?;
    for p in all {
        for round in &p.m.rounds {
            for probe in &round.probes {
                pair_labels(&p.m, false)
                    .put(p.pool.threads)
                    .put(p.pool.nice)
                    .put(round.number)
                    .probe(probe)
                    .write(w)?;
            }
        }
    }
    Ok(())
}

/// Renders the pools experiment's CSV files, in [`POOLS_FILES`](results_format::POOLS_FILES)
/// order.
pub fn render(all: &[PoolPair]) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut raw = Vec::new();
    write_raw(&mut raw, all)?;
    let mut probes = Vec::new();
    write_probes(&mut probes, all)?;
    let mut summary = Vec::new();
    write_summary(&mut summary, all)?;
    Ok(vec![
        (POOLS_RAW.name, raw),
        (POOLS_PROBES.name, probes),
        (POOLS_SUMMARY.name, summary),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::output::parse_line;
    use crate::harness::summary::tests::measurement;

    #[test]
    fn each_strategy_gets_its_pool_flag_and_priorities() {
        let sizes = [1, 2, 4];
        let rayon = pools_of(Strategy::Rayon, &sizes);
        assert_eq!(rayon.len(), 6);
        assert_eq!(
            rayon[3],
            Pool {
                threads: 1,
                nice: 19
            }
        );
        assert_eq!(pools_of(Strategy::Thread, &sizes).len(), 3);
        assert_eq!(pools_of(Strategy::Bounded, &sizes).len(), 3);
        assert!(pools_of(Strategy::Cycle, &sizes).is_empty());
        let p = Pool {
            threads: 4,
            nice: 19,
        };
        assert_eq!(
            p.args(Strategy::Jobs),
            ["--cpu-threads", "4", "--cpu-pool-nice", "19"]
        );
        assert_eq!(
            Pool {
                threads: 8,
                nice: 0
            }
            .args(Strategy::Thread),
            ["--blocking-threads", "8"]
        );
        assert_eq!(p.label(), "pool 4, nice 19");
        // Every strategy is either swept or not, by one exhaustive match.
        let swept: Vec<Strategy> = Strategy::ALL
            .into_iter()
            .filter(|s| pool_flag(*s).is_some())
            .collect();
        assert_eq!(
            swept,
            [
                Strategy::Thread,
                Strategy::Rayon,
                Strategy::Bounded,
                Strategy::Jobs
            ]
        );
    }

    /// Every summary figure is the rounds' of pools_raw.csv: batch median and range, the
    /// worst probe's range; the pool's columns on every row.
    #[test]
    fn the_summary_follows_the_raw_rows() {
        let mut m = measurement();
        m.failure = None;
        m.variant = Some(
            Pool {
                threads: 2,
                nice: 19,
            }
            .label(),
        );
        let p_rounds: Vec<(u32, Vec<u128>)> = m
            .rounds
            .iter()
            .map(|r| {
                let l = r.probes.iter().map(|p| p.latency().as_micros()).collect();
                (r.number, l)
            })
            .collect();
        let p = PoolPair {
            m,
            pool: Pool {
                threads: 2,
                nice: 19,
            },
        };
        let files = render(&[p]).expect("render");
        let text = |i: usize| std::str::from_utf8(&files[i].1).expect("utf-8").to_owned();
        let raw: Vec<Vec<String>> = text(0).lines().map(parse_line).collect();
        let probes: Vec<Vec<String>> = text(1).lines().map(parse_line).collect();
        let summary: Vec<Vec<String>> = text(2).lines().map(parse_line).collect();
        assert_eq!(raw[0].join(","), POOLS_RAW.header());
        assert_eq!(probes[0].join(","), POOLS_PROBES.header());
        assert_eq!(summary[0].join(","), POOLS_SUMMARY.header());
        let col = |h: &[String], name: &str| h.iter().position(|c| c == name).expect(name);
        assert_eq!(raw.len(), 3, "a row per round");
        assert_eq!(summary.len(), 2, "a row per configuration");
        for row in &raw[1..] {
            assert_eq!(row[col(&raw[0], "pool_threads")], "2");
            assert_eq!(row[col(&raw[0], "pool_nice")], "19");
        }
        let batch: Vec<f64> = raw[1..]
            .iter()
            .map(|r| r[col(&raw[0], "batch_ms")].parse().expect("batch"))
            .collect();
        let get = |name: &str| summary[1][col(&summary[0], name)].clone();
        let lo = batch.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = batch.iter().copied().fold(0.0, f64::max);
        assert_eq!(get("batch_ms_min"), format!("{lo:.3}"));
        assert_eq!(get("batch_ms_max"), format!("{hi:.3}"));
        assert_eq!(
            get("batch_ms_median"),
            format!("{:.3}", stats::median(&batch).expect("median"))
        );
        let worst: Vec<u64> = raw[1..]
            .iter()
            .map(|r| {
                r[col(&raw[0], "probe_latency_us_max")]
                    .parse()
                    .expect("max")
            })
            .collect();
        assert_eq!(
            get("probe_worst_us_max"),
            worst.iter().max().expect("rounds").to_string()
        );
        // Every probe of every round, in its configuration and round, with its latency.
        let counted: usize = raw[1..]
            .iter()
            .map(|r| r[col(&raw[0], "probes")].parse::<usize>().expect("probes"))
            .sum();
        assert!(counted > 0);
        assert_eq!(probes.len() - 1, counted, "a row per probe");
        for (row, expected) in probes[1..].iter().zip(
            p_rounds
                .iter()
                .flat_map(|(n, ps)| ps.iter().map(move |l| (*n, *l))),
        ) {
            assert_eq!(row[col(&probes[0], "pool_threads")], "2");
            assert_eq!(row[col(&probes[0], "pool_nice")], "19");
            assert_eq!(row[col(&probes[0], "round")], expected.0.to_string());
            assert_eq!(row[col(&probes[0], "latency_us")], expected.1.to_string());
        }
        assert_eq!(get("result"), "ok");
        assert_eq!(
            (get("pool_threads"), get("pool_nice")),
            ("2".into(), "19".into())
        );
    }
}
