//! The batch experiment (`--experiment batch`): every pair, one round of C concurrent requests
//! with the probe beside it in each of R passes (`--rounds`); its CSV files (raw, probes,
//! rounds, summary, passes) and the console's tables.

use std::fmt::Write as _;
use std::io::{self, Write};

use anyhow::Context;
use results_format::{CACHE, PASSES, PROBES, RAW, ROUNDS, SUMMARY};

use crate::harness::bench::{self, Bench, Session, Subject};
use crate::harness::cache_mix::{CacheCounts, CacheRound, Mix};
use crate::harness::console::Console;
use crate::harness::output::{Row, one_line, pair_labels};
use crate::harness::passes::Passes;
use crate::harness::records::{Log, Measurement};
use crate::harness::stats::{self, Spread, micros};
use crate::harness::summary::{self, PairSummary, PassSpeed, RoundFigures};
use crate::harness::{Cut, ExperimentRun, pair_end, pairs};
use crate::servers::Binaries;
use crate::settings::{Settings, Subjects};

/// The batch experiment: every pair, one round of C concurrent requests in each of R passes.
pub async fn run(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    let plan = &settings.plan;
    let pairs = pairs(settings, binaries);
    let passes = Passes {
        count: plan.rounds,
        seed: settings.seed,
    };
    println!(
        "batch: {} pairs in {} passes (seed {}): n = {}, C = {}, a fresh server per pass, probe \
         every {:?}, client {}",
        pairs.len(),
        passes.count,
        passes.seed,
        plan.n,
        plan.concurrency,
        plan.probe_interval,
        settings.client.name(),
    );
    let console = Console::new((pairs.len() * passes.count as usize) as u64);
    let mut ms: Vec<Measurement> = pairs
        .iter()
        .map(|(subject, strategy)| bench.new_measurement(*subject, *strategy))
        .collect();
    let mut interrupted = false;
    for (slot, i) in passes.visits(pairs.len()) {
        let (subject, _) = pairs[i];
        let m = &mut ms[i];
        let what = m.name();
        if bench.stop().requested().is_some() {
            interrupted = true;
            break;
        }
        if m.not_applicable.is_none() && m.failure.is_none() {
            console.working_on(&what);
            console.line(&format!("== pass {}/{}: {what}", slot.pass, passes.count));
            let body = async |s: &mut Session<'_>, m: &mut Measurement| {
                bench.batch_visit(s, m, slot, &console).await
            };
            // A stop request drops the visit: the pair is as it was before it.
            let before = m.clone();
            let visit = console.keep_alive(&what, bench.visit(subject, m, &console, body));
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
    let (mut ms, pairs, cut) = keep_visited(ms, pairs, plan.rounds);
    for (m, (subject, _)) in ms.iter_mut().zip(&pairs) {
        let name = m.name();
        m.notes.extend(bench.stop_notes(&name));
        let mode = match subject {
            Subject::Server { .. } => conformance::Mode::Ours,
            Subject::External { .. } => conformance::Mode::External,
        };
        m.notes.extend(bench::round_notes(mode, &m.rounds));
        report_pair(m, &console);
    }
    print_tables(settings, &ms, &console);
    let speeds = summary::pass_speeds(&ms);
    if let Some(drift) = summary::drift(&speeds) {
        println!(
            "batch: the machine's speed per pass (median lone request ÷ its pair's T1): {}; \
             slowest ÷ fastest pass {drift:.3}",
            speeds
                .iter()
                .map(|p| format!("{:.3}", p.speed_median))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let files = render(&ms, &speeds).context("rendering the batch CSVs")?;
    Ok(ExperimentRun::of(&ms, files).cut_short(interrupted, cut))
}

/// The pairs with something to write: those never visited to the end (an interrupted run's)
/// are left out and named, with the pairs that have fewer rounds than `rounds` (a failed or
/// not-applicable pair is kept: its row says so).
fn keep_visited<'a>(
    ms: Vec<Measurement>,
    pairs: Vec<(Subject<'a>, common::Strategy)>,
    rounds: u32,
) -> (Vec<Measurement>, Vec<(Subject<'a>, common::Strategy)>, Cut) {
    let mut cut = Cut::default();
    let measured = |m: &Measurement| m.failure.is_none() && m.not_applicable.is_none();
    let (ms, pairs) = ms
        .into_iter()
        .zip(pairs)
        .filter(|(m, _)| {
            let name = format!("batch: {}", m.name());
            cut.keeps(name, measured(m), m.rounds.len(), rounds as usize, "rounds")
        })
        .unzip();
    (ms, pairs, cut)
}

/// The console's table of each target's pairs, then the legend.
fn print_tables(settings: &Settings, ms: &[Measurement], console: &Console) {
    let plan = &settings.plan;
    let mut targets: Vec<&str> = ms.iter().map(|m| m.labels.target.as_str()).collect();
    targets.dedup();
    for target in targets {
        let ours: Vec<&Measurement> = ms.iter().filter(|m| m.labels.target == target).collect();
        let heading = match (&settings.subjects, ours.first()) {
            (Subjects::External { url }, _) => format!("external {url}"),
            (_, Some(m)) => format!(
                "{} ({} + {})",
                m.labels.target, m.labels.runtime, m.labels.framework
            ),
            (_, None) => continue,
        };
        console.block(&format!(
            "\n{heading}, n = {}, C = {}, {} rounds\n{}",
            plan.n,
            plan.concurrency,
            plan.rounds,
            table(&ours)
        ));
    }
    console.block(&legend());
}

/// What is known of a pair only at its end (its verification was printed when it ran).
fn report_pair(m: &Measurement, log: &dyn Log) {
    if let (Some(t1), None) = (m.t1, &m.not_applicable) {
        let done = m.t1_done.map_or(String::new(), |d| {
            format!("; its job done after {:.1} ms", d.as_secs_f64() * 1e3)
        });
        log.line(&format!(
            "   T1 = {:.1} ms (the fastest lone request){done}",
            t1.as_secs_f64() * 1e3
        ));
    }
    pair_end(
        log,
        &m.name(),
        m.not_applicable.as_deref(),
        &m.notes,
        m.failure.as_deref(),
    );
}

/// The batch files' leading columns.
fn labels(m: &Measurement, wide: bool) -> Row {
    let row = pair_labels(m, wide);
    if wide {
        row.put(m.plan.n).put(m.plan.concurrency)
    } else {
        row
    }
}

/// raw.csv.
pub fn write_raw(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", RAW.header())?;
    for m in ms {
        for round in &m.rounds {
            for r in &round.requests {
                labels(m, true)
                    .put(round.number)
                    .put(r.index)
                    .put(micros(r.start_offset))
                    .put(micros(r.latency))
                    .opt(r.status)
                    .put(r.error.is_none())
                    .opt(r.error.as_ref())
                    .write(w)?;
            }
        }
    }
    Ok(())
}

/// probes.csv.
pub fn write_probes(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", PROBES.header())?;
    for m in ms {
        for round in &m.rounds {
            for p in &round.probes {
                labels(m, false).put(round.number).probe(p).write(w)?;
            }
        }
    }
    Ok(())
}

/// rounds.csv.
pub fn write_rounds(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", ROUNDS.header())?;
    for m in ms {
        for round in &m.rounds {
            let f = RoundFigures::of(m, round);
            let l = f.latency;
            let p = f.probe;
            let place = round.place;
            labels(m, true)
                .put(f.round)
                .put(place.pass)
                .put(place.position)
                .opt(place.server_pid)
                .num(Some(stats::millis(place.start_offset)), 1)
                .num(round.lone.map(stats::millis), 3)
                .num(round.lone_done.map(stats::millis), 3)
                .num(Some(f.batch_ms), 3)
                .num(f.ideal_batch_ms, 3)
                .num(f.efficiency, 4)
                .num(Some(f.throughput_rps), 2)
                .opt(l.map(|l| l.min))
                .opt(l.map(|l| l.p50))
                .opt(l.map(|l| l.max))
                .num(l.map(|l| l.mean), 1)
                .put(f.requests)
                .put(f.errors.timeout)
                .put(f.errors.transport)
                .put(f.errors.status)
                .put(f.errors.body)
                .put(f.probes)
                .put(f.probe_errors)
                .opt(p.map(|p| p.p50))
                .opt(p.map(|p| p.max))
                .opt(f.probe_harness_late.map(|h| h.max))
                .num(f.background_done_ms, 3)
                .opt(f.lag.map(|l| l.samples))
                .opt(f.lag.and_then(|l| l.p50_us))
                .opt(f.lag.and_then(|l| l.p99_us))
                .opt(f.lag.and_then(|l| l.max_us))
                .opt(f.lag.and_then(|l| l.lane))
                .num(f.server_cpu_ms, 3)
                .num(f.client_cpu_ms, 3)
                .num(f.server_cores_used, 3)
                .num(f.sched.map(|c| c.pair_cpu_ms), 3)
                .num(f.sched.and_then(|c| c.workers_cpu_ms), 3)
                .num(f.sched.and_then(|c| c.broker_cpu_ms), 3)
                .opt(f.sched.map(|c| c.executor_threads))
                .num(f.sched.map(|c| c.executor_oncpu_ms), 3)
                .num(f.sched.map(|c| c.executor_runq_ms), 3)
                .num(f.sched.map(|c| c.cpu_pool_oncpu_ms), 3)
                .num(f.sched.map(|c| c.blocking_oncpu_ms), 3)
                .num(f.sched.map(|c| c.other_oncpu_ms), 3)
                .num(f.sched.map(|c| c.server_runq_ms), 3)
                .opt(f.attribution.map(|a| a.name()))
                .num(f.server_peak_rss_mib, 1)
                .write(w)?;
        }
    }
    Ok(())
}

/// summary.csv.
pub fn write_summary(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", SUMMARY.header())?;
    for m in ms {
        let s = PairSummary::of(m);
        labels(m, true)
            .put(m.rounds.len())
            .put(s.result)
            // One line per pair: a server's multi-line stderr is joined with " | ".
            .opt(s.failure.as_ref().map(|f| one_line(f)))
            .opt(s.verified)
            .put(s.checks_passed)
            .put(s.checks_skipped)
            .num(s.t1_ms, 3)
            .num(s.t1_done_ms, 3)
            .num(s.ideal_batch_ms, 3)
            .spread(s.batch_ms, 3)
            .num(s.batch_ms.map(|b| b.min), 3)
            .num(s.batch_ms.map(|b| b.max), 3)
            .spread(s.efficiency, 4)
            .num(s.efficiency.map(|e| e.min), 4)
            .num(s.efficiency.map(|e| e.max), 4)
            .spread(s.throughput_rps, 2)
            .opt(s.latency_us.map(|l| l.min))
            .opt(s.latency_us.map(|l| l.p50))
            .opt(s.latency_us.map(|l| l.p90))
            .opt(s.latency_us.map(|l| l.p99))
            .opt(s.latency_us.map(|l| l.max))
            .put(s.requests)
            .put(s.errors.timeout)
            .put(s.errors.transport)
            .put(s.errors.status)
            .put(s.errors.body)
            .put(s.probes)
            .put(s.probe_errors)
            .opt(s.probe_us.map(|p| p.p50))
            .opt(s.probe_us.map(|p| p.p90))
            .opt(s.probe_us.map(|p| p.p99))
            .opt(s.probe_us.map(|p| p.max))
            .opt(s.probe_harness_late_us.map(|h| h.p99))
            .opt(s.probe_harness_late_us.map(|h| h.max))
            .spread(s.background_done_ms, 3)
            .num(s.background_done_ms.map(|b| b.min), 3)
            .num(s.background_done_ms.map(|b| b.max), 3)
            .opt(s.lag_samples)
            .num(s.lag_us_p50_median, 1)
            .num(s.lag_us_p99_median, 1)
            .opt(s.lag_us_p99_worst)
            .opt(s.lag_us_max)
            .num(s.server_cpu_ms.map(|c| c.mean), 1)
            .num(s.client_cpu_ms.map(|c| c.mean), 1)
            .num(s.server_cores_used.map(|c| c.mean), 3)
            .num(s.server_cores_used.map(|c| c.min), 3)
            .num(s.server_cores_used.map(|c| c.max), 3)
            .num(s.pair_cpu_ms.map(|c| c.mean), 1)
            .num(s.executor_busy_share_median, 3)
            .num(s.executor_runq_ms_per_thread_median, 3)
            .opt(s.attribution.map(|a| a.name()))
            .num(s.server_peak_rss_mib_max, 1)
            .put(&s.note)
            .write(w)?;
    }
    Ok(())
}

/// passes.csv: the machine's speed in each pass of `experiment`.
pub fn write_passes(w: &mut impl Write, experiment: &str, passes: &[PassSpeed]) -> io::Result<()> {
    writeln!(w, "{}", PASSES.header())?;
    for p in passes {
        Row::default()
            .put(experiment)
            .put(p.pass)
            .put(p.rounds)
            .num(Some(stats::millis(p.start_offset)), 1)
            .num(Some(stats::millis(p.end_offset)), 1)
            .num(Some(p.speed_median), 4)
            .num(Some(p.speed_min), 4)
            .num(Some(p.speed_max), 4)
            .write(w)?;
    }
    Ok(())
}

/// cache.csv: `/cached`'s rounds of each pair, one row per key mix (the identical batch first,
/// then the hit ratios in the order asked), their requests and probes pooled.
pub fn write_cache(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", CACHE.header())?;
    for m in ms {
        let mut mixes: Vec<Mix> = Vec::new();
        for r in &m.cache_rounds {
            if !mixes.contains(&r.mix) {
                mixes.push(r.mix);
            }
        }
        for mix in mixes {
            let rounds: Vec<&CacheRound> = m.cache_rounds.iter().filter(|r| r.mix == mix).collect();
            // The server's counts, when every round has them (our servers).
            let counts: Option<CacheCounts> =
                rounds.iter().map(|r| r.counts).sum::<Option<CacheCounts>>();
            let latencies: Vec<u64> = rounds
                .iter()
                .flat_map(|r| r.latencies.iter().map(|d| stats::micros(*d)))
                .collect();
            let probes: Vec<u64> = rounds
                .iter()
                .flat_map(|r| r.probes.iter().map(|d| stats::micros(*d)))
                .collect();
            let batch_ms: Vec<f64> = rounds.iter().map(|r| stats::millis(r.batch)).collect();
            let l = stats::percentiles(&latencies);
            let p = stats::percentiles(&probes);
            Row::default()
                .put(&m.labels.target)
                .put(&m.labels.runtime)
                .put(&m.labels.framework)
                .opt(m.labels.workers)
                .put(m.strategy.name())
                .put(m.plan.kernel.name())
                .put(m.plan.n)
                .put(m.plan.concurrency)
                .put(mix.name())
                .num(mix.asked(), 4)
                .put(rounds.len())
                .put(latencies.len())
                .put(rounds.iter().map(|r| r.errors).sum::<usize>())
                .opt(counts.map(|c| c.hits))
                .opt(counts.map(|c| c.misses))
                .opt(counts.map(|c| c.coalesced))
                .num(counts.and_then(CacheCounts::hit_ratio), 4)
                .num(counts.map(|c| c.misses as f64 / rounds.len() as f64), 2)
                .num(stats::median(&batch_ms), 3)
                .opt(l.map(|l| l.p50))
                .opt(l.map(|l| l.p99))
                .put(probes.len())
                .put(rounds.iter().map(|r| r.probe_errors).sum::<usize>())
                .opt(p.map(|p| p.p99))
                .write(w)?;
        }
    }
    Ok(())
}

/// Renders the batch experiment's CSV files, in [`CSV_FILES`](results_format::CSV_FILES) order.
pub fn render(
    ms: &[Measurement],
    passes: &[PassSpeed],
) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    type Writer = fn(&mut Vec<u8>, &[Measurement], &[PassSpeed]) -> io::Result<()>;
    let writers: [(&str, Writer); 6] = [
        (RAW.name, |w, ms, _| write_raw(w, ms)),
        (PROBES.name, |w, ms, _| write_probes(w, ms)),
        (ROUNDS.name, |w, ms, _| write_rounds(w, ms)),
        (SUMMARY.name, |w, ms, _| write_summary(w, ms)),
        (PASSES.name, |w, _, p| {
            write_passes(w, results_format::Experiment::Batch.name(), p)
        }),
        (CACHE.name, |w, ms, _| write_cache(w, ms)),
    ];
    let mut files = Vec::with_capacity(writers.len());
    for (name, write) in writers {
        let mut buf = Vec::new();
        write(&mut buf, ms, passes)?;
        files.push((name, buf));
    }
    Ok(files)
}

/// The columns of [`table`] and what each means: printed under the last table.
pub const LEGEND: [(&str, &str); 16] = [
    ("workers", "the server's executor threads (--workers)"),
    ("strategy", "the endpoint measured"),
    ("result", "ok, or FAILED (why: below the table)"),
    (
        "T1 ms",
        "the fastest lone request's round trip (/background: its 202 answer)",
    ),
    (
        "batch ms",
        "C concurrent requests, first sent to last answered: mean ± sd over rounds",
    ),
    (
        "ideal ms",
        "the batch if the cores were shared perfectly: C × T1 / min(C, cores)",
    ),
    (
        "eff",
        "efficiency, ideal / batch: 1 = every core busy with the work, 0.5 = half the ideal pace",
    ),
    ("p50 ms", "request latency, median, all rounds pooled"),
    (
        "p99 ms",
        "request latency, 99th percentile, all rounds pooled",
    ),
    (
        "probe p50 ms",
        "GET /health sent at a fixed rate during the batch, timed from its scheduled send: what any other client waits meanwhile (median)",
    ),
    ("probe p99 ms", "the same probe, 99th percentile"),
    ("probe max ms", "the same probe, the longest wait"),
    (
        "probe err",
        "probes with no answer (counted at the timeout)",
    ),
    (
        "lag p99 ms",
        "the server's own executor lag: how late its heartbeat task woke, p99 (median of rounds)",
    ),
    (
        "cores",
        "cores the server used: its CPU time / wall time while the batch ran (mean of rounds)",
    ),
    (
        "bg done ms",
        "/background only: batch start until the server finished the last job (mean ± sd)",
    ),
];

/// The legend of the table's columns, one per line.
pub fn legend() -> String {
    let width = LEGEND
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("columns (times in ms):\n");
    for (column, meaning) in LEGEND {
        let _ = writeln!(out, "  {column:<width$}  {meaning}");
    }
    out
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn us_as_ms(v: Option<f64>) -> String {
    ms(v.map(|v| v / 1e3))
}

fn mean_sd(s: Option<Spread>) -> String {
    match s {
        Some(Spread {
            mean, sd: Some(sd), ..
        }) => format!("{mean:.1} ± {sd:.1}"),
        Some(Spread { mean, sd: None, .. }) => format!("{mean:.1}"),
        None => "-".into(),
    }
}

/// The summary table of some measurements (one target's, usually): one line per pair.
pub fn table(ms_: &[&Measurement]) -> String {
    let header = LEGEND.map(|(column, _)| column);
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for m in ms_ {
        let s = PairSummary::of(m);
        rows.push(vec![
            m.labels
                .workers
                .map_or_else(|| "-".into(), |w| w.to_string()),
            m.strategy.name().into(),
            match s.result {
                results_format::RESULT_OK => "ok".into(),
                results_format::RESULT_NOT_APPLICABLE => "n/a".into(),
                _ => "FAILED".into(),
            },
            ms(s.t1_ms),
            mean_sd(s.batch_ms),
            ms(s.ideal_batch_ms),
            s.efficiency
                .map_or_else(|| "-".into(), |e| format!("{:.2}", e.mean)),
            us_as_ms(s.latency_us.map(|p| p.p50 as f64)),
            us_as_ms(s.latency_us.map(|p| p.p99 as f64)),
            us_as_ms(s.probe_us.map(|p| p.p50 as f64)),
            us_as_ms(s.probe_us.map(|p| p.p99 as f64)),
            us_as_ms(s.probe_us.map(|p| p.max as f64)),
            s.probe_errors.to_string(),
            us_as_ms(s.lag_us_p99_median),
            s.server_cores_used
                .map_or_else(|| "-".into(), |c| format!("{:.2}", c.mean)),
            mean_sd(s.background_done_ms),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                // Names left, numbers right.
                if i == 1 || i == 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    for m in ms_ {
        if let Some(why) = &m.failure {
            let _ = writeln!(out, "FAILED {}: {why}", m.name());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::output::parse_line;
    use crate::harness::summary::tests::measurement;

    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines().map(parse_line).collect()
    }

    #[test]
    fn cache_rows_pool_each_mix_and_sum_the_servers_counts() {
        let ms = std::time::Duration::from_millis;
        let mut m = measurement();
        m.strategy = common::Strategy::Cached;
        let round = |mix, pass, hits, misses, coalesced| CacheRound {
            mix,
            pass,
            counts: Some(CacheCounts {
                hits,
                misses,
                coalesced,
            }),
            batch: ms(10 * u64::from(pass)),
            latencies: vec![ms(1), ms(2), ms(3), ms(4)],
            errors: 0,
            probes: vec![ms(1), ms(2)],
            probe_errors: 0,
        };
        m.cache_rounds = vec![
            round(Mix::Identical, 1, 0, 1, 3),
            round(Mix::HitRatio(0.5), 1, 2, 2, 0),
            round(Mix::Identical, 2, 0, 1, 3),
            round(Mix::HitRatio(0.5), 2, 3, 1, 0),
        ];
        let mut out = Vec::new();
        write_cache(&mut out, &[m]).expect("write");
        let rows = rows(std::str::from_utf8(&out).expect("utf-8"));
        assert_eq!(rows.len(), 3, "a header and one row per mix");
        let col = |row: &Vec<String>, name: &str| {
            let i = CACHE.columns.iter().position(|c| *c == name).expect(name);
            row[i].clone()
        };
        let (identical, half) = (&rows[1], &rows[2]);
        assert_eq!(col(identical, "mix"), "identical");
        assert_eq!(col(identical, "hit_ratio_asked"), "");
        assert_eq!(
            [col(identical, "rounds"), col(identical, "requests")],
            ["2", "8"]
        );
        assert_eq!(
            [col(identical, "misses"), col(identical, "coalesced")],
            ["2", "6"]
        );
        assert_eq!(col(identical, "computed_per_round_mean"), "1.00");
        assert_eq!(col(half, "mix"), "hit_0.5");
        assert_eq!(col(half, "hits"), "5");
        assert_eq!(col(half, "hit_ratio"), "0.6250");
        assert_eq!(col(half, "batch_ms_median"), "15.000");
    }

    #[test]
    fn every_row_has_as_many_fields_as_its_header() {
        let mut m = measurement();
        for (i, r) in m.rounds.iter_mut().enumerate() {
            r.place.pass = i as u32 + 1;
            r.lone = m.t1;
        }
        let ms = vec![m];
        let files = render(&ms, &crate::harness::summary::pass_speeds(&ms)).expect("render");
        let batch: Vec<&str> = results_format::CSV_FILES.iter().map(|f| f.name).collect();
        assert_eq!(files.iter().map(|(n, _)| *n).collect::<Vec<_>>(), batch);
        let want_rows = [
            ("raw.csv", 8),
            ("probes.csv", 5),
            ("rounds.csv", 2),
            ("summary.csv", 1),
            ("passes.csv", 2),
            ("cache.csv", 0),
        ];
        for ((name, bytes), (want_name, want)) in files.iter().zip(want_rows) {
            assert_eq!(*name, want_name);
            let text = std::str::from_utf8(bytes).expect("utf-8");
            let rows = rows(text);
            let width = rows[0].len();
            assert_eq!(rows.len() - 1, want, "{name}");
            for row in &rows {
                assert_eq!(row.len(), width, "{name}: {row:?}");
            }
        }
    }

    #[test]
    fn a_pair_not_applicable_is_neither_ok_nor_failed_and_has_no_figures() {
        let mut m = measurement();
        m.failure = None;
        m.rounds.clear();
        m.verification = None;
        m.t1 = None;
        m.not_applicable = Some("/block_in_place does not run on smol multi-thread".into());
        let mut buf = Vec::new();
        write_summary(&mut buf, &[m]).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let rows = rows(&text);
        let get = |col: &str| {
            let i = rows[0].iter().position(|c| c == col).expect(col);
            rows[1][i].clone()
        };
        assert_eq!(get("result"), results_format::RESULT_NOT_APPLICABLE);
        assert_eq!(
            (get("failure"), get("t1_ms")),
            (String::new(), String::new())
        );
        assert_eq!(get("batch_ms_mean"), "");
    }

    #[test]
    fn summary_row_values() {
        let ms = vec![measurement()];
        let mut buf = Vec::new();
        write_summary(&mut buf, &ms).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let rows = rows(&text);
        let get = |col: &str| {
            let i = rows[0]
                .iter()
                .position(|c| c == col)
                .unwrap_or_else(|| panic!("{col}"));
            rows[1][i].clone()
        };
        assert_eq!(get("target"), "tokio");
        assert_eq!(get("workers"), "1");
        assert_eq!(get("strategy"), "cycle");
        assert_eq!(get("result"), "failed");
        // The comma inside survives the quoting.
        assert_eq!(get("failure"), "1 of 8 requests failed: 1 timeout");
        assert_eq!(get("verified"), "true");
        assert_eq!(get("t1_ms"), "10.000");
        assert_eq!(get("batch_ms_mean"), "60.000");
        assert_eq!(get("batch_ms_sd"), "28.284");
        assert_eq!(get("efficiency_mean"), "0.3750");
        assert_eq!(get("latency_us_p50"), "20000");
        assert_eq!(get("latency_us_p99"), "40000");
        assert_eq!(get("probe_latency_us_p99"), "6000");
        assert_eq!(get("probe_errors"), "0");
        assert_eq!(get("errors_timeout"), "1");
        assert_eq!(get("background_done_ms_mean"), "");
        assert_eq!(get("note"), "a; b");
        assert_eq!(get("lag_samples"), "300");
        assert_eq!(get("lag_us_p99_median"), "1950.0");
        assert_eq!(get("lag_us_p99_worst"), "3000");
        assert_eq!(get("lag_us_max"), "4000");
        assert_eq!(get("server_cpu_ms_mean"), "80.0");
        assert_eq!(get("client_cpu_ms_mean"), "15.0");
        assert_eq!(get("server_cores_used_mean"), "1.250");
        assert_eq!(get("kernel"), "sum-squares");
        // The larger of the rounds' peaks (20 and 30.5 MiB).
        assert_eq!(get("server_peak_rss_mib_max"), "30.5");
        assert_eq!(get("server_cores_used_max"), "1.500");
    }

    #[test]
    fn raw_rows_mark_errors() {
        let mut buf = Vec::new();
        write_raw(&mut buf, &[measurement()]).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let last = rows(&text).pop().expect("rows");
        assert_eq!(
            &last[9..],
            ["2", "3", "3", "1000000", "", "false", "timeout"]
        );
    }

    /// Every column of the table is in the legend, in order, and the legend says the unit.
    #[test]
    fn the_legend_explains_every_column() {
        let m = measurement();
        let header: Vec<String> = table(&[&m])
            .lines()
            .next()
            .expect("header")
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let columns: Vec<&str> = LEGEND.iter().map(|(c, _)| *c).collect();
        assert_eq!(header, columns);
        let legend = legend();
        assert!(legend.starts_with("columns (times in ms):"), "{legend}");
        for (column, meaning) in LEGEND {
            assert!(
                legend
                    .lines()
                    .any(|l| l.trim_start().starts_with(column) && l.ends_with(meaning)),
                "{column}: {legend}"
            );
        }
        assert!(legend.contains("eff ") && legend.contains("probe p99 ms"));
        // Every time column says its unit.
        for column in columns
            .iter()
            .filter(|c| c.contains("T1") || c.contains("p50"))
        {
            assert!(column.ends_with(" ms"), "{column}");
        }
    }

    #[test]
    fn table_lists_each_pair_and_its_failure() {
        let m = measurement();
        let t = table(&[&m]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("workers  strategy"), "{t}");
        assert!(
            lines[1].contains("cycle") && lines[1].contains("FAILED"),
            "{t}"
        );
        assert!(lines[1].contains("60.0 ± 28.3"), "{t}");
        assert!(lines[1].contains("0.38"), "{t}");
        // The server's lag p99 (median of 0.9 and 3 ms: 1.95) and cores used (mean of 1 and
        // 1.5), after the probe errors.
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        let err = cells.iter().position(|c| *c == "0").expect("probe err");
        assert_eq!(&cells[err + 1..err + 3], ["1.9", "1.25"], "{t}");
        assert_eq!(
            lines[2],
            "FAILED tokio, workers=1, /cycle: 1 of 8 requests failed: 1 timeout"
        );
    }
}
