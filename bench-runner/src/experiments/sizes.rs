//! The work-size sweep (`--experiment sizes`): when does offloading pay?
//!
//! In passes, as every experiment ([`crate::harness::passes`]): each pass visits every pair
//! (target, workers, strategy) once, in a shuffled order, on a fresh server started and checked
//! as the batch experiment's are ([`Bench::visit`]), warmed up at the first size; then, for
//! each `n` of the sweep (`Settings::sizes`, ascending):
//! - lone requests for T1 (the fastest of all of them, over every visit): `--calibration` on
//!   the pair's first visit, then more while the visit's add up to less than its share of
//!   [`LONE_TIME`] (at most its share of [`LONE_MAX`]): at the small sizes a lone request
//!   takes ~0.1–0.3 ms and varies by as much, and the offload cost is a difference of two T1s
//!   there, so it gets a few dozen samples; all are kept, as `lone` rows;
//! - one round of C concurrent requests with the open-loop `/health` probe beside it, the
//!   server's lag window and CPU read around it ([`Bench::round`], the batch experiment's):
//!   `--rounds` rounds per size in all, one per pass.
//!
//! At n = 0 a request is the HTTP exchange and the strategy's machinery alone, so T1 of a
//! strategy minus T1 of `/cycle` (inline) is what its offload costs; the report derives that
//! and the crossover from sizes_summary.csv. Everything is kept raw ([`SizesPair`]) and the
//! files are rendered at the end, the per-(pair, n) figures by the batch experiment's own
//! summary code ([`PairSummary`]) on each step as if it were a pair.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context;
use results_format::{SIZES_PROBES, SIZES_RAW, SIZES_SUMMARY};

use crate::harness::bench::{self, Bench, Session};
use crate::harness::console::Console;
use crate::harness::output::{Row, pair_labels};
use crate::harness::passes::{Passes, Slot};
use crate::harness::records::{Log, Lone, Measurement, RequestRecord, Round};
use crate::harness::stats::{self, micros};
use crate::harness::summary::PairSummary;
use crate::harness::{Cut, ExperimentRun};
use crate::servers::Binaries;
use crate::settings::Plan;
use crate::settings::Settings;

/// Lone requests at one `n` go on past `--calibration` while they add up to less than this
/// (over all passes: each visit takes its share).
pub const LONE_TIME: Duration = Duration::from_millis(5);
/// The most lone requests at one `n` (over all passes).
pub const LONE_MAX: usize = 50;

/// One `n` of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The kernel size.
    pub n: u64,
    /// The lone requests T1 is the fastest of, in order.
    pub lone: Vec<Lone>,
    /// The rounds.
    pub rounds: Vec<Round>,
    /// Why this step failed (the pair stops there).
    pub failure: Option<String>,
}

/// Everything recorded for one pair: its labels, verdict, failure and notes (in `pair`,
/// whose own rounds stay empty) and one [`Step`] per `n` reached.
#[derive(Debug, Clone, PartialEq)]
pub struct SizesPair {
    /// The pair as the batch experiment records it, without rounds.
    pub pair: Measurement,
    /// The sweep, as far as it went.
    pub steps: Vec<Step>,
}

impl SizesPair {
    /// The step at `n` as a measurement of its own (plan at that `n`, T1 its fastest lone
    /// request), so that the batch experiment's summary code derives its figures.
    pub fn as_measurement(&self, step: &Step) -> Measurement {
        let mut m = self.pair.clone();
        m.plan = Plan {
            n: step.n,
            ..m.plan
        };
        m.t1 = None;
        m.t1_done = None;
        for lone in &step.lone {
            m.keep_fastest(lone);
        }
        m.rounds = step.rounds.clone();
        m.failure = step.failure.clone();
        m
    }
}

/// Runs the sweep on every pair of `settings`, in passes: each visit of a pair (a fresh
/// server) sweeps every size once, one round per size.
pub async fn run(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    let plan = bench.plan();
    let sizes: Vec<String> = settings.sizes.iter().map(u64::to_string).collect();
    // Every request of a step asks for the same n: /cached would answer all but the first
    // from its cache. It is measured in the batch experiment, with keys chosen for it.
    let mut pairs = crate::harness::pairs(settings, binaries);
    pairs.retain(|(_, s)| !s.caches_answers());
    let passes = Passes {
        count: plan.rounds,
        seed: settings.seed,
    };
    println!(
        "sizes: {} pairs in {} passes (seed {}): n = {} {}(s), C = {}; per visit, at each n, \
         lone requests (until {} ms of them over the passes; {} more on a pair's first visit) \
         and one round, probe every {:?}",
        pairs.len(),
        passes.count,
        passes.seed,
        sizes.join(", "),
        plan.kernel.unit(),
        plan.concurrency,
        LONE_TIME.as_millis(),
        plan.calibration,
        plan.probe_interval,
    );
    let console = Console::new((pairs.len() * passes.count as usize) as u64);
    let mut all: Vec<SizesPair> = pairs
        .iter()
        .map(|(subject, strategy)| SizesPair {
            pair: bench.new_measurement(*subject, *strategy),
            steps: vec![],
        })
        .collect();
    let mut interrupted = false;
    for (slot, i) in passes.visits(pairs.len()) {
        let (subject, _) = pairs[i];
        if bench.stop().requested().is_some() {
            interrupted = true;
            break;
        }
        // A stop request drops the visit: the pair is as it was before it.
        let before = all[i].clone();
        let SizesPair { pair, steps } = &mut all[i];
        if pair.not_applicable.is_none() && pair.failure.is_none() {
            let what = pair.name();
            console.working_on(&what);
            console.line(&format!(
                "== sizes, pass {}/{}: {what}",
                slot.pass, passes.count
            ));
            let body = async |s: &mut Session<'_>, m: &mut Measurement| {
                sweep(bench, s, m, &settings.sizes, steps, slot, passes.count).await
            };
            let visit = console.keep_alive(&what, bench.visit(subject, pair, &console, body));
            if bench.stop().or_stop(visit).await.is_none() {
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
    all.retain(|p| {
        let measured = p.pair.failure.is_none() && p.pair.not_applicable.is_none();
        let visits = p.steps.first().map_or(0, |s| s.rounds.len());
        let name = format!("sizes: {}", p.pair.name());
        cut.keeps(
            name,
            measured,
            visits,
            passes.count as usize,
            "rounds per n",
        )
    });
    for p in &mut all {
        let name = p.pair.name();
        p.pair.notes.extend(bench.stop_notes(&name));
        for step in &p.steps {
            let mode = match p.pair.labels.workers {
                Some(_) => conformance::Mode::Ours,
                None => conformance::Mode::External,
            };
            let notes: Vec<String> = bench::round_notes(mode, &step.rounds)
                .into_iter()
                .map(|note| format!("n = {}: {note}", step.n))
                .collect();
            p.pair.notes.extend(notes);
        }
        finish(&p.pair, &console);
        if p.pair.not_applicable.is_none() && !p.steps.is_empty() {
            console.line(&format!("== sizes: {name}"));
            for step in &p.steps {
                console.line(&step_line(&p.as_measurement(step)));
            }
        }
    }
    let files = render(&all, &settings.sizes).context("rendering the sizes CSVs")?;
    let outcomes = all
        .iter()
        .map(|p| (p.pair.failure.is_some(), p.pair.not_applicable.is_some()));
    Ok(ExperimentRun::tally(files, outcomes).cut_short(interrupted, cut))
}

/// The pair's end: not applicable, or failed, said once.
fn finish(m: &Measurement, log: &dyn Log) {
    crate::harness::pair_end(
        log,
        &m.name(),
        m.not_applicable.as_deref(),
        &m.notes,
        m.failure.as_deref(),
    );
}

/// One visit's sweep on a checked server: warm-up at the first size, then each size in turn,
/// adding to that size's [`Step`] (made on the pair's first visit). The first size that fails
/// ends the pair (its error names the size).
async fn sweep(
    bench: &Bench,
    s: &mut Session<'_>,
    m: &mut Measurement,
    sizes: &[u64],
    steps: &mut Vec<Step>,
    slot: Slot,
    passes: u32,
) -> Result<(), String> {
    let base = *bench.plan();
    let strategy = m.strategy;
    let first = Plan {
        n: sizes.first().copied().unwrap_or(base.n),
        ..base
    };
    bench.warm_up(s, strategy, &first).await?;
    for &n in sizes {
        let plan = Plan { n, ..base };
        let k = match steps.iter().position(|step| step.n == n) {
            Some(k) => k,
            None => {
                steps.push(Step {
                    n,
                    lone: vec![],
                    rounds: vec![],
                    failure: None,
                });
                steps.len() - 1
            }
        };
        let step = &mut steps[k];
        let outcome = one_size(bench, s, strategy, &plan, step, slot, passes).await;
        if let Err(why) = &outcome {
            step.failure = Some(why.clone());
        }
        outcome.map_err(|why| format!("n = {n}: {why}"))?;
    }
    Ok(())
}

/// One visit's share at one size: lone requests for T1 (the pair's first visit adds
/// `--calibration` of them; every visit goes on while this visit's add up to less than its
/// share of [`LONE_TIME`], up to its share of [`LONE_MAX`]), then one round.
async fn one_size(
    bench: &Bench,
    s: &mut Session<'_>,
    strategy: common::Strategy,
    plan: &Plan,
    step: &mut Step,
    slot: Slot,
    passes: u32,
) -> Result<(), String> {
    bench.idle(s).await?;
    let passes = passes.max(1);
    let (time, most) = (LONE_TIME / passes, (LONE_MAX / passes as usize).max(1));
    let least = if step.lone.is_empty() {
        plan.calibration
    } else {
        1
    };
    let mut lone_time = Duration::ZERO;
    let mut here = 0;
    while here < least || (lone_time < time && here < most) {
        let mut lone = bench.lone_time(s, strategy, plan).await?;
        lone.record.index = step.lone.len();
        lone_time += lone.work();
        step.lone.push(lone);
        here += 1;
    }
    bench.idle(s).await?;
    let number = step.rounds.len() as u32 + 1;
    let mut round = bench.round(s, strategy, number, plan).await?;
    round.place.pass = slot.pass;
    round.place.position = slot.position;
    step.rounds.push(round);
    s.check_alive()?;
    bench.idle(s).await?;
    bench::request_errors(&step.rounds)
}

/// `   n = 1000: T1 0.105 ms, 5 rounds, request p50 0.9 ms, probe p99 1.2 ms (40 probes)`.
fn step_line(m: &Measurement) -> String {
    let s = PairSummary::of(m);
    let ms = |us: Option<u64>| us.map_or("-".to_owned(), |v| format!("{:.3}", v as f64 / 1e3));
    format!(
        "   n = {}: T1 {} ms, {} round(s), request p50 {} ms, probe p99 {} ms ({} probes)",
        m.plan.n,
        s.t1_ms.map_or("-".to_owned(), |t| format!("{t:.3}")),
        m.rounds.len(),
        ms(s.latency_us.map(|l| l.p50)),
        ms(s.probe_us.map(|p| p.p99)),
        s.probes
    )
}

/// The columns every file starts with.
fn labels(m: &Measurement, n: u64, wide: bool) -> Row {
    let row = pair_labels(m, wide).put(n);
    if wide {
        row.put(m.plan.concurrency)
    } else {
        row
    }
}

/// The request columns of one row of sizes_raw.csv.
fn request(row: Row, phase: &str, round: u32, r: &RequestRecord, done: Option<Duration>) -> Row {
    row.put(phase)
        .put(round)
        .put(r.index)
        .put(micros(r.start_offset))
        .put(micros(r.latency))
        .opt(done.map(micros))
        .opt(r.status)
        .put(r.error.is_none())
        .opt(r.error.as_ref())
}

/// sizes_raw.csv.
pub fn write_raw(w: &mut impl Write, pairs: &[SizesPair]) -> io::Result<()> {
    writeln!(w, "{}", SIZES_RAW.header())?;
    for p in pairs {
        for step in &p.steps {
            for l in &step.lone {
                request(labels(&p.pair, step.n, true), "lone", 0, &l.record, l.done).write(w)?;
            }
            for round in &step.rounds {
                for r in &round.requests {
                    request(
                        labels(&p.pair, step.n, true),
                        "batch",
                        round.number,
                        r,
                        None,
                    )
                    .write(w)?;
                }
            }
        }
    }
    Ok(())
}

/// sizes_probes.csv.
pub fn write_probes(w: &mut impl Write, pairs: &[SizesPair]) -> io::Result<()> {
    writeln!(w, "{}", SIZES_PROBES.header())?;
    for p in pairs {
        for step in &p.steps {
            for round in &step.rounds {
                for probe in &round.probes {
                    labels(&p.pair, step.n, false)
                        .put(round.number)
                        .probe(probe)
                        .write(w)?;
                }
            }
        }
    }
    Ok(())
}

/// sizes_summary.csv: a row per pair and size of `sizes`, measured or not: a size the pair
/// never reached (it failed earlier, or was not applicable) has its `result` and no figures.
pub fn write_summary(w: &mut impl Write, pairs: &[SizesPair], sizes: &[u64]) -> io::Result<()> {
    writeln!(w, "{}", SIZES_SUMMARY.header())?;
    for p in pairs {
        for &n in sizes {
            let step = p.steps.iter().find(|s| s.n == n);
            let m = match step {
                Some(step) => p.as_measurement(step),
                None => {
                    let mut m = p.pair.clone();
                    m.plan = Plan { n, ..m.plan };
                    (m.t1, m.t1_done) = (None, None);
                    m.rounds.clear();
                    m.failure = m
                        .failure
                        .as_ref()
                        .map(|why| format!("not measured: the pair failed: {why}"));
                    m
                }
            };
            let s = PairSummary::of(&m);
            let busy_ms: Vec<f64> = m
                .rounds
                .iter()
                .map(|r| stats::millis(r.background_done.unwrap_or(r.batch)))
                .collect();
            let lone = step.map_or(0, |s| s.lone.len());
            labels(&m, n, true)
                .put(m.rounds.len())
                .put(s.result)
                .opt(s.failure.as_ref().map(|f| one_line(f)))
                .put(lone)
                .opt(m.t1.map(micros))
                .opt(m.t1_done.map(micros))
                .num((!busy_ms.is_empty()).then(|| busy_ms.iter().sum()), 3)
                .opt(s.latency_us.map(|l| l.p50))
                .opt(s.latency_us.map(|l| l.p99))
                .opt(s.latency_us.map(|l| l.max))
                .put(s.requests)
                .put(s.probes)
                .put(s.probe_errors)
                .opt(s.probe_us.map(|p| p.p50))
                .opt(s.probe_us.map(|p| p.p99))
                .opt(s.probe_us.map(|p| p.max))
                .opt(s.probe_harness_late_us.map(|h| h.p99))
                .opt(s.lag_samples)
                .num(s.lag_us_p99_median, 1)
                .opt(s.lag_us_p99_worst)
                .put(step_notes(&m, n))
                .write(w)?;
        }
    }
    Ok(())
}

/// The pair's notes that concern `n` (`n = 0: …`) or the whole pair (without `n = `).
fn step_notes(m: &Measurement, n: u64) -> String {
    let own = format!("n = {n}: ");
    let notes: Vec<&str> = m
        .notes
        .iter()
        .filter_map(|note| match note.strip_prefix(&own) {
            Some(rest) => Some(rest),
            None if note.starts_with("n = ") => None,
            None => Some(note.as_str()),
        })
        .collect();
    notes.join("; ")
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Renders the sizes experiment's CSV files, in [`SIZES_FILES`](results_format::SIZES_FILES)
/// order.
pub fn render(pairs: &[SizesPair], sizes: &[u64]) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut raw = Vec::new();
    write_raw(&mut raw, pairs)?;
    let mut probes = Vec::new();
    write_probes(&mut probes, pairs)?;
    let mut summary = Vec::new();
    write_summary(&mut summary, pairs, sizes)?;
    Ok(vec![
        (SIZES_RAW.name, raw),
        (SIZES_PROBES.name, probes),
        (SIZES_SUMMARY.name, summary),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::output::parse_line;
    use crate::harness::summary::tests::measurement;

    /// A pair of two sizes: n = 0 (the fixture's rounds, T1 from three lone requests) and
    /// n = 10 (its second round only), then a size it failed at and one it never reached.
    fn pair() -> SizesPair {
        let m = measurement();
        let us = Duration::from_micros;
        let lone = |index, t| Lone {
            record: RequestRecord {
                index,
                start_offset: Duration::ZERO,
                latency: us(t),
                status: Some(200),
                error: None,
            },
            done: None,
        };
        let mut pair = m.clone();
        pair.rounds.clear();
        pair.failure = Some("n = 20: 1 of 4 requests failed: 1 timeout".into());
        pair.notes = vec!["n = 0: 1 of 5 probes failed".into(), "whole pair".into()];
        SizesPair {
            pair,
            steps: vec![
                Step {
                    n: 0,
                    lone: vec![lone(0, 140), lone(1, 120), lone(2, 130)],
                    rounds: m.rounds.clone(),
                    failure: None,
                },
                Step {
                    n: 10,
                    lone: vec![lone(0, 300)],
                    rounds: m.rounds[1..].to_vec(),
                    failure: None,
                },
                Step {
                    n: 20,
                    lone: vec![],
                    rounds: vec![],
                    failure: Some("1 of 4 requests failed: 1 timeout".into()),
                },
            ],
        }
    }

    fn table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let text = std::str::from_utf8(bytes).expect("utf-8");
        let mut rows = text.lines().map(parse_line);
        let header = rows.next().expect("header");
        let rows: Vec<Vec<String>> = rows.collect();
        for r in &rows {
            assert_eq!(r.len(), header.len(), "{r:?}");
        }
        (header, rows)
    }

    fn col(header: &[String], name: &str) -> usize {
        header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name}"))
    }

    /// Every summary figure of a size measured, computed again from the raw rows alone (the
    /// `lone` rows for T1, the `batch` rows and the probes of that n for the percentiles).
    #[test]
    fn the_summary_is_rederived_from_the_raw_rows() {
        let files = render(&[pair()], &[0, 10, 20, 30]).expect("render");
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        let want: Vec<&str> = results_format::SIZES_FILES.iter().map(|f| f.name).collect();
        assert_eq!(names, want);
        let (rh, raw) = table(&files[0].1);
        let (ph, probes) = table(&files[1].1);
        let (sh, summary) = table(&files[2].1);
        assert_eq!(rh.join(","), SIZES_RAW.header());
        assert_eq!(ph.join(","), SIZES_PROBES.header());
        assert_eq!(sh.join(","), SIZES_SUMMARY.header());
        // A row per size of the sweep, reached or not.
        assert_eq!(summary.len(), 4);
        let timeout_us = micros(measurement().plan.request_timeout);
        for row in summary.iter().filter(|r| r[col(&sh, "result")] == "ok") {
            let n = &row[col(&sh, "n")];
            let of_n = |rows: &[Vec<String>], h: &[String], phase: Option<&str>| -> Vec<u64> {
                rows.iter()
                    .filter(|r| &r[col(h, "n")] == n)
                    .filter(|r| phase.is_none_or(|p| r[col(h, "phase")] == p))
                    .filter(|r| !r[col(h, "latency_us")].is_empty())
                    .map(|r| {
                        let v: u64 = r[col(h, "latency_us")].parse().expect("latency_us");
                        // A failed probe counts at no less than the timeout, as summaries do.
                        match h.iter().position(|c| c == "error") {
                            Some(e) if !r[e].is_empty() && phase.is_none() => v.max(timeout_us),
                            _ => v,
                        }
                    })
                    .collect()
            };
            let lone = of_n(&raw, &rh, Some("lone"));
            assert_eq!(row[col(&sh, "lone_requests")], lone.len().to_string());
            let t1 = lone.iter().min().expect("lone rows");
            assert_eq!(row[col(&sh, "t1_us")], t1.to_string(), "n = {n}");
            let answered: Vec<u64> = raw
                .iter()
                .filter(|r| &r[col(&rh, "n")] == n && r[col(&rh, "phase")] == "batch")
                .filter(|r| !r[col(&rh, "status")].is_empty())
                .map(|r| r[col(&rh, "latency_us")].parse().expect("latency"))
                .collect();
            let lat = stats::percentiles(&answered).expect("requests");
            assert_eq!(row[col(&sh, "latency_us_p50")], lat.p50.to_string());
            assert_eq!(row[col(&sh, "latency_us_p99")], lat.p99.to_string());
            assert_eq!(row[col(&sh, "latency_us_max")], lat.max.to_string());
            let probed = of_n(&probes, &ph, None);
            let p = stats::percentiles(&probed).expect("probes");
            assert_eq!(row[col(&sh, "probes")], probed.len().to_string());
            assert_eq!(row[col(&sh, "probe_latency_us_p99")], p.p99.to_string());
            assert_eq!(row[col(&sh, "probe_latency_us_max")], p.max.to_string());
            let rounds: BTreeSet<&str> = raw
                .iter()
                .filter(|r| &r[col(&rh, "n")] == n && r[col(&rh, "phase")] == "batch")
                .map(|r| r[col(&rh, "round")].as_str())
                .collect();
            assert_eq!(row[col(&sh, "rounds")], rounds.len().to_string());
        }
        let get = |i: usize, name: &str| summary[i][col(&sh, name)].clone();
        // The figures themselves (the fixture's: T1 the fastest lone request).
        assert_eq!(
            (get(0, "t1_us"), get(1, "t1_us")),
            ("120".into(), "300".into())
        );
        assert_eq!(
            (get(0, "rounds"), get(1, "rounds")),
            ("2".into(), "1".into())
        );
        // Notes: the pair's, and those of the row's own n only.
        assert_eq!(get(0, "note"), "1 of 5 probes failed; whole pair");
        assert_eq!(get(1, "note"), "whole pair");
        // The size it failed at, and one it never reached: failed, no figures.
        assert_eq!(get(2, "result"), "failed");
        assert_eq!(get(2, "failure"), "1 of 4 requests failed: 1 timeout");
        assert_eq!(get(3, "result"), "failed");
        assert!(get(3, "failure").starts_with("not measured: the pair failed: n = 20"));
        assert_eq!(
            (get(3, "t1_us"), get(3, "latency_us_p50")),
            (String::new(), String::new())
        );
        // Lone rows come first, in round 0, numbered in order.
        assert_eq!(raw[0][col(&rh, "phase")], "lone");
        assert_eq!(raw[0][col(&rh, "round")], "0");
        assert_eq!(raw[2][col(&rh, "request")], "2");
    }

    #[test]
    fn a_pair_not_applicable_has_a_row_per_size_and_no_figures() {
        let mut p = pair();
        p.steps.clear();
        p.pair.failure = None;
        p.pair.notes.clear();
        p.pair.not_applicable = Some("no".into());
        let mut buf = Vec::new();
        write_summary(&mut buf, &[p], &[0, 5]).expect("write");
        let (h, rows) = table(&buf);
        assert_eq!(rows.len(), 2);
        for r in rows {
            assert_eq!(r[col(&h, "result")], results_format::RESULT_NOT_APPLICABLE);
            assert_eq!(r[col(&h, "t1_us")], "");
        }
    }

    use std::collections::BTreeSet;
}
