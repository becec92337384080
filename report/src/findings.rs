//! Findings computed from the summary: every number in a sentence here comes from the data,
//! and every conclusion is phrased on what the data shows (a verdict is chosen by comparing
//! figures, never written in advance).
//!
//! The measures behind them:
//! - **stall ratio**: `/health` probe p99 ÷ T1 (one lone request's time). At 1 or above a probe
//!   waited at least as long as one whole request's work: the server stopped answering
//!   ([`Responsiveness::Stalled`]); below [`SLOWED`] it kept answering.
//! - **speed-up**: batch time with 1 worker ÷ batch time with the most workers measured.
//! - **spread between runtimes**: slowest ÷ fastest batch time of a strategy.
//! - **iterator vs loop**: T1 of `/generator` ÷ T1 of `/cycle` on the same server and workers.

use common::Strategy;
use common::strategy::Execution;

use crate::charts::execution_word;
use crate::data::{PairKey, Results, SummaryRow};

/// Below this stall ratio (probe p99 ÷ T1) a pair counts as responsive.
pub const SLOWED: f64 = 0.25;

/// Two runtimes (or the iterator and the loop) within this relative difference are "alike".
pub const ALIKE: f64 = 0.10;

/// How a pair treated the `/health` probe that ran beside its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Responsiveness {
    /// Probe p99 ≥ T1: a probe waited at least one whole request's work.
    Stalled,
    /// [`SLOWED`] × T1 ≤ probe p99 < T1.
    Slowed,
    /// Probe p99 < [`SLOWED`] × T1.
    Responsive,
}

/// The responsiveness verdict of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The pair.
    pub key: PairKey,
    /// Probe p99 (mean over rounds), ms.
    pub probe_p99_ms: f64,
    /// T1, ms.
    pub t1_ms: f64,
    /// Batch time (mean over rounds), ms.
    pub batch_ms: f64,
    /// `probe_p99_ms / t1_ms`.
    pub stall: f64,
    /// The class of `stall`.
    pub class: Responsiveness,
}

/// The verdict of every pair measured successfully that has probe, T1 and batch figures, in
/// summary order.
pub fn verdicts(r: &Results) -> Vec<Verdict> {
    r.summary
        .iter()
        .filter(|s| s.ok())
        .filter_map(|s| {
            let probe = s.probe_latency_us_p99_mean? / 1000.0;
            let t1 = s.t1_ms.filter(|t| *t > 0.0)?;
            let batch = s.batch_ms_mean?;
            let stall = probe / t1;
            let class = if stall >= 1.0 {
                Responsiveness::Stalled
            } else if stall >= SLOWED {
                Responsiveness::Slowed
            } else {
                Responsiveness::Responsive
            };
            Some(Verdict {
                key: s.key(),
                probe_p99_ms: probe,
                t1_ms: t1,
                batch_ms: batch,
                stall,
                class,
            })
        })
        .collect()
}

/// `/generator` T1 ÷ `/cycle` T1 per target × workers where both were measured.
pub fn iterator_vs_loop(r: &Results) -> Vec<(String, Option<u32>, f64)> {
    let mut out = Vec::new();
    for (target, _) in r.targets() {
        for w in r.worker_counts() {
            let t1 = |s| {
                ok(r, &target, w, s)
                    .and_then(|p| p.t1_ms)
                    .filter(|t| *t > 0.0)
            };
            if let (Some(g), Some(c)) = (t1(Strategy::Generator), t1(Strategy::Cycle)) {
                out.push((target.clone(), w, g / c));
            }
        }
    }
    out
}

/// What the most workers change against the fewest.
#[derive(Debug, Clone, PartialEq)]
pub struct Speedups {
    /// The fewest workers measured (1 in a default run).
    pub few: u32,
    /// The most (the core count in a default run).
    pub many: u32,
    /// Target, strategy, batch time with `few` ÷ batch time with `many`.
    pub ratios: Vec<(String, Strategy, f64)>,
}

/// Batch time with the fewest workers ÷ with the most, per target × strategy where both were
/// measured; `None` when the run has a single worker count.
pub fn speedups(r: &Results) -> Option<Speedups> {
    let counts: Vec<u32> = r.worker_counts().into_iter().flatten().collect();
    let (&few, &many) = (counts.first()?, counts.last()?);
    if few == many {
        return None;
    }
    let mut out = Vec::new();
    for (target, _) in r.targets() {
        for s in r.strategies() {
            let batch = |w| ok(r, &target, Some(w), s).and_then(|p| p.batch_ms_mean);
            if let (Some(a), Some(b)) = (batch(few), batch(many))
                && b > 0.0
            {
                out.push((target.clone(), s, a / b));
            }
        }
    }
    Some(Speedups {
        few,
        many,
        ratios: out,
    })
}

fn ok<'a>(
    r: &'a Results,
    target: &str,
    workers: Option<u32>,
    s: Strategy,
) -> Option<&'a SummaryRow> {
    r.pair(&PairKey {
        target: target.to_owned(),
        workers,
        strategy: s,
    })
    .filter(|p| p.ok())
}

/// Milliseconds to three significant figures: `412 ms`, `23.1 ms`, `2.14 ms`, `0.315 ms`.
pub fn ms(v: f64) -> String {
    format!("{} ms", sig3(v))
}

/// Three significant figures, no exponent.
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A ratio: `1.93×`.
pub fn times(v: f64) -> String {
    format!("{v:.2}×")
}

/// A fraction as a percentage: `95 %`.
pub fn pct(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// `/a`, `/b` and `/c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The Markdown of the findings section: a list of short paragraphs, one per question.
pub fn markdown(r: &Results) -> String {
    let mut out = Vec::new();
    if r.metadata.quick {
        out.push(
            "- **This is a `--quick` run**: tiny n, few requests, one round. It checks that \
             everything works and measures nothing: read no conclusion into the figures below."
                .to_owned(),
        );
    }
    out.extend(failed(r));
    out.extend(blocking(r));
    out.extend(surprises(r));
    out.extend(workers(r));
    out.extend(runtimes(r));
    out.extend(yielding(r));
    out.extend(iterator(r));
    out.extend(experts(r));
    out.extend(background(r));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn failed(r: &Results) -> Option<String> {
    let failed: Vec<String> = r
        .summary
        .iter()
        .filter(|s| !s.ok())
        .map(|s| {
            let why = s.failure.as_deref().unwrap_or("no reason given");
            format!("{} ({why})", s.key())
        })
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "- **{} of {} pairs failed** and are left out of the charts and findings: {}.",
            failed.len(),
            r.summary.len(),
            failed.join("; ")
        )
    })
}

/// Who stalls the probe, per runtime × workers.
fn blocking(r: &Results) -> Vec<String> {
    let verdicts = verdicts(r);
    if verdicts.is_empty() {
        return vec!["- No pair has probe figures: responsiveness cannot be judged.".to_owned()];
    }
    let mut out = vec![format!(
        "- **Which strategies stop the server answering.** A pair *stalls* the server when \
         the /health probe's p99 is at least T1 (a probe waited as long as one whole request's \
         work), *slows* it from {} of T1, and leaves it *responsive* below that.",
        pct(SLOWED)
    )];
    for (target, label) in r.targets() {
        for w in r.worker_counts() {
            let here: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| v.key.target == target && v.key.workers == w)
                .collect();
            if here.is_empty() {
                continue;
            }
            let of = |class| -> Vec<&Verdict> {
                here.iter().copied().filter(|v| v.class == class).collect()
            };
            let detail = |vs: &[&Verdict]| -> String {
                and_list(
                    &vs.iter()
                        .map(|v| {
                            format!(
                                "{} (probe p99 {}, {} T1, {} of the batch time)",
                                v.key.strategy.path(),
                                ms(v.probe_p99_ms),
                                times(v.stall),
                                pct(v.probe_p99_ms / v.batch_ms.max(f64::MIN_POSITIVE))
                            )
                        })
                        .collect::<Vec<_>>(),
                )
            };
            let mut parts = Vec::new();
            let stalled = of(Responsiveness::Stalled);
            let slowed = of(Responsiveness::Slowed);
            let fine = of(Responsiveness::Responsive);
            if !stalled.is_empty() {
                parts.push(format!("stalled by {}", detail(&stalled)));
            }
            if !slowed.is_empty() {
                parts.push(format!("slowed by {}", detail(&slowed)));
            }
            if !fine.is_empty() {
                let worst = fine
                    .iter()
                    .max_by(|a, b| a.probe_p99_ms.total_cmp(&b.probe_p99_ms))
                    .map(|v| format!("{}, {}", ms(v.probe_p99_ms), v.key.strategy.path()))
                    .unwrap_or_default();
                let names: Vec<String> = fine
                    .iter()
                    .map(|v| v.key.strategy.path().to_owned())
                    .collect();
                parts.push(format!(
                    "responsive under {} (probe p99 at most {worst})",
                    and_list(&names)
                ));
            }
            out.push(format!(
                "  - {label}, {}: {}.",
                r.workers_label(w),
                parts.join("; ")
            ));
        }
    }
    out
}

/// Verdicts that differ from what the strategy's execution kind predicts, with the likely
/// reason for each kind.
fn surprises(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    let verdicts = verdicts(r);
    let inline_free: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| {
            v.key.strategy.execution() == Execution::Inline && v.class == Responsiveness::Responsive
        })
        .collect();
    if !inline_free.is_empty() {
        let list: Vec<String> = inline_free
            .iter()
            .map(|v| format!("{} on {}", v.key.strategy.path(), where_(r, &v.key)))
            .collect();
        out.push(format!(
            "- Inline handlers that did **not** stall the probe: {}. With more workers than \
             requests running at once, or a request shorter than the probe interval, the probe \
             finds a free executor thread.",
            and_list(&list)
        ));
    }
    let offloaded_stalled: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| {
            v.key.strategy.execution() != Execution::Inline && v.class == Responsiveness::Stalled
        })
        .collect();
    if !offloaded_stalled.is_empty() {
        let list: Vec<String> = offloaded_stalled
            .iter()
            .map(|v| {
                format!(
                    "{} ({}) on {}: probe p99 {}, {} T1",
                    v.key.strategy.path(),
                    execution_word(v.key.strategy.execution()),
                    where_(r, &v.key),
                    ms(v.probe_p99_ms),
                    times(v.stall)
                )
            })
            .collect();
        out.push(format!(
            "- Strategies that leave the executor free but still stalled the probe: {}. Their \
             executor threads were not blocked, but the kernels outnumber the {} cores: the \
             operating system shares the cores between every kernel thread, the executor and \
             the load generator, so the probe waits for a time slice.",
            list.join("; "),
            r.metadata.cores
        ));
    }
    out
}

fn where_(r: &Results, key: &PairKey) -> String {
    let label = r
        .targets()
        .into_iter()
        .find(|(t, _)| *t == key.target)
        .map_or_else(|| key.target.clone(), |(_, l)| l);
    format!("{label} with {}", r.workers_label(key.workers))
}

/// What one worker vs all of them changes.
fn workers(r: &Results) -> Vec<String> {
    let Some(Speedups { few, many, ratios }) = speedups(r) else {
        return vec![
            "- The run measured a single worker count: it cannot say what more workers change."
                .to_owned(),
        ];
    };
    if ratios.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "- **{few} worker(s) vs {many}.** Batch time with {few} ÷ with {many} (above 1: more \
         workers helped):"
    )];
    for (target, label) in r.targets() {
        let here: Vec<&(String, Strategy, f64)> =
            ratios.iter().filter(|(t, _, _)| *t == target).collect();
        if here.is_empty() {
            continue;
        }
        let list: Vec<String> = here
            .iter()
            .map(|(_, s, x)| format!("{} {}", s.path(), times(*x)))
            .collect();
        let best = here
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(_, s, x)| format!("{} gains most ({})", s.path(), times(*x)))
            .unwrap_or_default();
        out.push(format!("  - {label}: {}; {best}.", list.join(", ")));
    }
    // The inline strategies' probe: what the extra workers do for responsiveness.
    let verdicts = verdicts(r);
    let probe = |target: &str, w: u32, s: Strategy| {
        verdicts
            .iter()
            .find(|v| v.key.target == target && v.key.workers == Some(w) && v.key.strategy == s)
            .map(|v| v.probe_p99_ms)
    };
    let mut changes = Vec::new();
    for (target, label) in r.targets() {
        for s in Strategy::ALL
            .into_iter()
            .filter(|s| s.execution() == Execution::Inline)
        {
            if let (Some(a), Some(b)) = (probe(&target, few, s), probe(&target, many, s)) {
                changes.push(format!("{} on {label} {} → {}", s.path(), ms(a), ms(b)));
            }
        }
    }
    if !changes.is_empty() {
        out.push(format!(
            "  - Probe p99 under the inline strategies, {few} → {many} worker(s): {}.",
            changes.join("; ")
        ));
    }
    out
}

/// How the runtimes differ, strategy by strategy, at each worker count.
fn runtimes(r: &Results) -> Vec<String> {
    if r.targets().len() < 2 {
        return Vec::new();
    }
    let labels = r.targets();
    let label = |t: &str| {
        labels
            .iter()
            .find(|(x, _)| x == t)
            .map_or_else(|| t.to_owned(), |(_, l)| l.clone())
    };
    let mut out = vec![format!(
        "- **Runtimes.** Batch time of the slowest runtime ÷ the fastest, per strategy \
         (\"alike\": within {}):",
        pct(ALIKE)
    )];
    for w in r.worker_counts() {
        let mut alike = Vec::new();
        let mut differ = Vec::new();
        for s in r.strategies() {
            let mut batches: Vec<(String, f64)> = labels
                .iter()
                .filter_map(|(t, _)| {
                    ok(r, t, w, s)
                        .and_then(|p| p.batch_ms_mean)
                        .map(|b| (t.clone(), b))
                })
                .collect();
            if batches.len() < 2 {
                continue;
            }
            batches.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (fast, slow) = (&batches[0], &batches[batches.len() - 1]);
            let spread = slow.1 / fast.1.max(f64::MIN_POSITIVE);
            if spread - 1.0 <= ALIKE {
                alike.push(s.path().to_owned());
            } else {
                differ.push(format!(
                    "{} {} ({} {}, {} {})",
                    s.path(),
                    times(spread),
                    label(&fast.0),
                    ms(fast.1),
                    label(&slow.0),
                    ms(slow.1)
                ));
            }
        }
        let mut parts = Vec::new();
        if !alike.is_empty() {
            parts.push(format!("alike for {}", and_list(&alike)));
        }
        if !differ.is_empty() {
            parts.push(format!("apart for {}", differ.join("; ")));
        }
        if !parts.is_empty() {
            out.push(format!("  - {}: {}.", r.workers_label(w), parts.join("; ")));
        }
    }
    out
}

/// `/cycle_sleep`'s probe per runtime: each runtime's own `yield_now` at work.
fn yielding(r: &Results) -> Vec<String> {
    let s = Strategy::CycleSleep;
    let mut out = Vec::new();
    for w in r.worker_counts() {
        let figures: Vec<String> = r
            .targets()
            .iter()
            .filter_map(|(t, label)| {
                let p = ok(r, t, w, s)?;
                let probe = p.probe_latency_us_p99_mean? / 1000.0;
                let batch = p.batch_ms_mean?;
                Some(format!(
                    "{label} probe p99 {}, batch {}",
                    ms(probe),
                    ms(batch)
                ))
            })
            .collect();
        if !figures.is_empty() {
            out.push(format!(
                "  - {}: {}.",
                r.workers_label(w),
                figures.join("; ")
            ));
        }
    }
    if out.is_empty() {
        return out;
    }
    out.insert(
        0,
        format!(
            "- **Yielding** ({}, each runtime's own `yield_now`):",
            s.path()
        ),
    );
    out
}

/// Iterator vs loop: T1 of /generator vs /cycle.
fn iterator(r: &Results) -> Vec<String> {
    let ratios = iterator_vs_loop(r);
    if ratios.is_empty() {
        return Vec::new();
    }
    let label = |t: &str| {
        r.targets()
            .into_iter()
            .find(|(x, _)| x == t)
            .map_or_else(|| t.to_owned(), |(_, l)| l)
    };
    let list: Vec<String> = ratios
        .iter()
        .map(|(t, w, x)| format!("{}, {} {}", label(t), r.workers_label(*w), times(*x)))
        .collect();
    let lo = ratios.iter().map(|x| x.2).fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().map(|x| x.2).fold(0.0, f64::max);
    let verdict = if (lo - 1.0).abs() <= ALIKE && (hi - 1.0).abs() <= ALIKE {
        format!(
            "within {} of each other everywhere: in this run the iterator (`map` + `sum`) costs \
             the same as the hand-written loop, unlike the Python demo's generator and loop",
            pct(ALIKE)
        )
    } else if lo > 1.0 {
        format!(
            "the iterator was slower everywhere, by {} to {}",
            pct(lo - 1.0),
            pct(hi - 1.0)
        )
    } else if hi < 1.0 {
        format!(
            "the iterator was faster everywhere, by {} to {}",
            pct(1.0 - hi),
            pct(1.0 - lo)
        )
    } else {
        format!(
            "the ratio goes both ways ({} to {}): the difference is within this run's noise",
            times(lo),
            times(hi)
        )
    };
    vec![format!(
        "- **Iterator vs loop.** T1 of /generator ÷ T1 of /cycle: {}; {verdict}.",
        list.join(", ")
    )]
}

/// /rayon, /bounded and /jobs against /thread: batch time, request p99, probe p99.
fn experts(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for s in [Strategy::Rayon, Strategy::Bounded, Strategy::Jobs] {
        let mut batch = Vec::new();
        let mut tail = Vec::new();
        let mut probe = Vec::new();
        for (t, _) in r.targets() {
            for w in r.worker_counts() {
                let (Some(x), Some(th)) = (ok(r, &t, w, s), ok(r, &t, w, Strategy::Thread)) else {
                    continue;
                };
                let ratio = |a: Option<f64>, b: Option<f64>| {
                    a.zip(b.filter(|b| *b > 0.0)).map(|(a, b)| a / b)
                };
                batch.extend(ratio(x.batch_ms_mean, th.batch_ms_mean));
                tail.extend(ratio(x.latency_us_p99_mean, th.latency_us_p99_mean));
                probe.extend(ratio(
                    x.probe_latency_us_p99_mean,
                    th.probe_latency_us_p99_mean,
                ));
            }
        }
        if batch.is_empty() {
            continue;
        }
        let range = |xs: &[f64]| -> String {
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(0.0, f64::max);
            let better = xs.iter().filter(|x| **x < 1.0).count();
            if xs.is_empty() {
                "not measured".to_owned()
            } else {
                format!(
                    "{} to {} (lower in {} of {})",
                    times(lo),
                    times(hi),
                    better,
                    xs.len()
                )
            }
        };
        out.push(format!(
            "  - {} ÷ /thread over {} runtime × worker settings: batch time {}; request p99 {}; \
             probe p99 {}.",
            s.path(),
            batch.len(),
            range(&batch),
            range(&tail),
            range(&probe)
        ));
    }
    if out.is_empty() {
        return out;
    }
    out.insert(
        0,
        "- **The recommended offloads vs /thread** (below 1: better than /thread, which starts \
         one blocking-pool thread per request):"
            .to_owned(),
    );
    out
}

/// /background: quick answers, work done much later.
fn background(r: &Results) -> Vec<String> {
    let mut list = Vec::new();
    for (t, label) in r.targets() {
        for w in r.worker_counts() {
            let Some(p) = ok(r, &t, w, Strategy::Background) else {
                continue;
            };
            let (Some(batch), Some(done)) = (p.batch_ms_mean, p.background_done_ms_mean) else {
                continue;
            };
            let ideal = p
                .ideal_batch_ms
                .filter(|i| *i > 0.0)
                .map(|i| format!(", {} its ideal", times(done / i)))
                .unwrap_or_default();
            list.push(format!(
                "{label}, {}: answered in {}, done after {}{ideal}",
                r.workers_label(w),
                ms(batch),
                ms(done)
            ));
        }
    }
    if list.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "- **/background** answers 202 before the work is done, so its batch time says little \
         about the work: {}.",
        list.join("; ")
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(ms(412.4), "412 ms");
        assert_eq!(ms(23.14), "23.1 ms");
        assert_eq!(ms(2.144), "2.14 ms");
        assert_eq!(ms(0.3154), "0.315 ms");
        assert_eq!(times(1.934), "1.93×");
        assert_eq!(pct(0.954), "95 %");
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
        assert_eq!(and_list(&["a".into()]), "a");
    }
}
