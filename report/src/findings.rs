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
use crate::data::{PairKey, Results};

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
                r.ok_pair(&target, w, s)
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
            let batch = |w| r.ok_pair(&target, Some(w), s).and_then(|p| p.batch_ms_mean);
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

/// The Markdown of the findings section: short paragraphs, one per question, and the
/// responsiveness table.
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
    out.extend(workers(r));
    out.extend(runtimes(r));
    out.extend(yielding(r));
    out.extend(iterator(r));
    out.extend(experts(r));
    out.extend(background(r));
    let mut text = out.join("\n");
    text.push_str("\n\n");
    text.push_str(&stall_table(r));
    text
}

/// `tokio, 2 workers`: a pair's setting in a sentence.
fn setting(r: &Results, target: &str, workers: Option<u32>) -> String {
    match workers {
        Some(1) => format!("{target}, 1 worker"),
        Some(w) => format!("{target}, {w} workers"),
        None => format!("{target} ({})", r.workers_label(None)),
    }
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

/// Who stalls the probe, by execution kind, and the surprises.
fn blocking(r: &Results) -> Vec<String> {
    let verdicts = verdicts(r);
    if verdicts.is_empty() {
        return vec!["- No pair has probe figures: responsiveness cannot be judged.".to_owned()];
    }
    let mut parts = Vec::new();
    for kind in Execution::ALL {
        let of: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| v.key.strategy.execution() == kind)
            .collect();
        if of.is_empty() {
            continue;
        }
        let stalled = of
            .iter()
            .filter(|v| v.class == Responsiveness::Stalled)
            .count();
        let worst = of
            .iter()
            .max_by(|a, b| a.stall.total_cmp(&b.stall))
            .map(|v| {
                format!(
                    "worst {} T1, {} on {}",
                    times(v.stall),
                    v.key.strategy.path(),
                    setting(r, &v.key.target, v.key.workers)
                )
            })
            .unwrap_or_default();
        parts.push(format!(
            "{} in {stalled} of {} pairs ({worst})",
            execution_word(kind),
            of.len()
        ));
    }
    let mut out = vec![format!(
        "- **Which strategies stop the server answering.** A pair *stalls* the server when the \
         /health probe's p99 reaches T1, the time of one whole request (table below). Stalled: \
         {}.",
        parts.join("; ")
    )];
    // The verdicts that differ from what the execution kind predicts.
    let inline_free: Vec<String> = verdicts
        .iter()
        .filter(|v| {
            v.key.strategy.execution() == Execution::Inline && v.class != Responsiveness::Stalled
        })
        .map(|v| {
            format!(
                "{} on {}",
                v.key.strategy.path(),
                setting(r, &v.key.target, v.key.workers)
            )
        })
        .collect();
    if !inline_free.is_empty() {
        out.push(format!(
            "  - Inline handlers that did *not* stall it: {}. With several executor threads \
             the probe can find one not running a kernel.",
            and_list(&inline_free)
        ));
    }
    // Targets where every pair stalled: the cause is not the handlers.
    let mut all_stalled = Vec::new();
    for (target, label) in r.targets() {
        let here: Vec<&Verdict> = verdicts.iter().filter(|v| v.key.target == target).collect();
        let free = here
            .iter()
            .filter(|v| v.key.strategy.execution() != Execution::Inline)
            .count();
        if free > 0 && here.iter().all(|v| v.class == Responsiveness::Stalled) {
            let (lo, hi) = bounds(here.iter().map(|v| v.stall)).unwrap_or((0.0, 0.0));
            out.push(format!(
                "  - On {label} the probe stalled under **every** strategy and worker count \
                 ({} to {} T1), also under those that never block the executor: there the \
                 delay is in the server or runtime itself (its IO, accept loop or timers), not \
                 in the handlers.",
                times(lo),
                times(hi)
            ));
            all_stalled.push(target);
        }
    }
    let mut free_stalled: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| {
            v.key.strategy.execution() != Execution::Inline
                && v.class == Responsiveness::Stalled
                && !all_stalled.contains(&v.key.target)
        })
        .collect();
    free_stalled.sort_by(|a, b| b.stall.total_cmp(&a.stall));
    let of = |cause: Cause| -> Vec<&Verdict> {
        free_stalled
            .iter()
            .copied()
            .filter(|v| stall_cause(v.key.strategy) == Some(cause))
            .collect()
    };
    let (yielding, per_request, pooled) = (
        of(Cause::Yielding),
        of(Cause::ThreadPerRequest),
        of(Cause::CorePool),
    );
    if !yielding.is_empty() {
        out.push(format!(
            "  - Yielding handlers that still stalled it: {}. Each `yield_now` puts the task \
             back in the run queue; when the probe's task gets its turn is up to the \
             runtime's scheduler.",
            stalled_list(r, &yielding)
        ));
    }
    let m = &r.metadata;
    if !per_request.is_empty() {
        let why = if m.concurrency > m.cores {
            format!(
                "each request's kernel gets its own blocking-pool thread, so {} kernel threads \
                 share the {} cores with the executor and the load generator, and the probe \
                 waits for a time slice",
                m.concurrency, m.cores
            )
        } else {
            "the executor was free, so the delay is in the operating system's scheduling or \
             the load generator"
                .to_owned()
        };
        out.push(format!(
            "  - Stalled although the handler leaves the executor free: {}. There {why}.",
            stalled_list(r, &per_request)
        ));
    }
    if !pooled.is_empty() {
        out.push(format!(
            "  - Stalled with a pool sized to the cores: {}. The kernels keep all {} cores \
             busy, so the executor and the load generator wait for time slices.",
            stalled_list(r, &pooled),
            m.cores
        ));
    }
    out
}

/// Why a handler that leaves the executor free can still stall the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The kernel runs on the executor in slices.
    Yielding,
    /// One blocking-pool thread per request: more kernel threads than cores.
    ThreadPerRequest,
    /// A pool sized to the cores: every core busy.
    CorePool,
}

/// The likely cause for `s`; `None` for the inline strategies, which block the executor.
fn stall_cause(s: Strategy) -> Option<Cause> {
    match s {
        Strategy::Generator | Strategy::Cycle => None,
        Strategy::CycleSleep => Some(Cause::Yielding),
        Strategy::Thread | Strategy::Background => Some(Cause::ThreadPerRequest),
        Strategy::Rayon | Strategy::Bounded | Strategy::Jobs => Some(Cause::CorePool),
    }
}

/// Up to four verdicts, `/thread on tokio, 1 worker (3.25× T1)`, and how many more.
fn stalled_list(r: &Results, vs: &[&Verdict]) -> String {
    let shown: Vec<String> = vs
        .iter()
        .take(4)
        .map(|v| {
            format!(
                "{} on {} ({} T1)",
                v.key.strategy.path(),
                setting(r, &v.key.target, v.key.workers),
                times(v.stall)
            )
        })
        .collect();
    if vs.len() > shown.len() {
        format!("{}; and {} more", shown.join(", "), vs.len() - shown.len())
    } else {
        and_list(&shown)
    }
}

/// The table behind [`blocking`]: probe p99 ÷ T1 per strategy × runtime × workers.
fn stall_table(r: &Results) -> String {
    let verdicts = verdicts(r);
    let mut columns = Vec::new();
    for (target, _) in r.targets() {
        for w in r.worker_counts() {
            if r.summary
                .iter()
                .any(|s| s.target == target && s.workers == w)
            {
                columns.push((target.clone(), w));
            }
        }
    }
    let mut s = String::from(
        "Probe p99 ÷ T1 (**bold**: stalled, at least 1; below 0.25 the server stayed \
         responsive; –: failed or no probe due):\n\n| strategy |",
    );
    for (t, w) in &columns {
        s.push_str(&format!(" {} |", setting(r, t, *w)));
    }
    s.push_str("\n|---|");
    for _ in &columns {
        s.push_str("---:|");
    }
    s.push('\n');
    for st in r.strategies() {
        s.push_str(&format!(
            "| {} ({}) |",
            st.path(),
            execution_word(st.execution())
        ));
        for (t, w) in &columns {
            let cell = verdicts
                .iter()
                .find(|v| v.key.target == *t && v.key.workers == *w && v.key.strategy == st)
                .map_or_else(
                    || "–".to_owned(),
                    |v| match v.class {
                        Responsiveness::Stalled => format!("**{}**", stall_figure(v.stall)),
                        Responsiveness::Slowed | Responsiveness::Responsive => {
                            stall_figure(v.stall)
                        }
                    },
                );
            s.push_str(&format!(" {cell} |"));
        }
        s.push('\n');
    }
    s
}

fn stall_figure(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// The smallest and largest of `xs`.
fn bounds(xs: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    xs.into_iter().fold(None, |acc, x| match acc {
        None => Some((x, x)),
        Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
    })
}

/// `1.93×` or `0.95× to 1.93×`.
fn span(lo: f64, hi: f64) -> String {
    if times(lo) == times(hi) {
        times(lo)
    } else {
        format!("{} to {}", times(lo), times(hi))
    }
}

/// What the fewest vs the most workers change, by execution kind.
fn workers(r: &Results) -> Vec<String> {
    let Some(Speedups { few, many, ratios }) = speedups(r) else {
        return vec![
            "- The run measured a single worker count: it cannot say what more workers change."
                .to_owned(),
        ];
    };
    let mut parts = Vec::new();
    for kind in Execution::ALL {
        let Some((lo, hi)) = bounds(
            ratios
                .iter()
                .filter(|(_, s, _)| s.execution() == kind)
                .map(|x| x.2),
        ) else {
            continue;
        };
        parts.push(format!("{} {}", execution_word(kind), span(lo, hi)));
    }
    if parts.is_empty() {
        return Vec::new();
    }
    let best = ratios
        .iter()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(t, s, x)| format!("{} on {t} ({})", s.path(), times(*x)))
        .unwrap_or_default();
    let mut out = vec![format!(
        "- **{few} vs {many} workers.** Batch time with {few} ÷ with {many} (above 1: the \
         extra workers helped), over the runtimes: {}. The largest gain: {best}.",
        parts.join("; ")
    )];
    let verdicts = verdicts(r);
    let probe = |target: &str, w: u32, s: Strategy| {
        verdicts
            .iter()
            .find(|v| v.key.target == target && v.key.workers == Some(w) && v.key.strategy == s)
            .map(|v| v.probe_p99_ms)
    };
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (target, _) in r.targets() {
        for s in r
            .strategies()
            .into_iter()
            .filter(|s| s.execution() == Execution::Inline)
        {
            if let (Some(a), Some(b)) = (probe(&target, few, s), probe(&target, many, s)) {
                before.push(a);
                after.push(b);
            }
        }
    }
    if let (Some((a0, a1)), Some((b0, b1))) = (bounds(before), bounds(after)) {
        out.push(format!(
            "  - Under the inline strategies the probe p99 goes from {} – {} with {} to {} – {} \
             with {many} workers.",
            ms(a0),
            ms(a1),
            if few == 1 {
                "1 worker".to_owned()
            } else {
                format!("{few} workers")
            },
            ms(b0),
            ms(b1)
        ));
    }
    out
}

/// How the runtimes differ, strategy by strategy, at each worker count.
fn runtimes(r: &Results) -> Vec<String> {
    if r.targets().len() < 2 {
        return Vec::new();
    }
    let targets = r.targets();
    let mut out = vec![format!(
        "- **Runtimes.** Slowest ÷ fastest runtime's batch time per strategy (alike: within {}):",
        pct(ALIKE)
    )];
    for w in r.worker_counts() {
        let mut alike = Vec::new();
        let mut differ: Vec<(f64, String)> = Vec::new();
        for s in r.strategies() {
            let mut batches: Vec<(String, f64)> = targets
                .iter()
                .filter_map(|(t, _)| {
                    r.ok_pair(t, w, s)
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
                differ.push((
                    spread,
                    format!(
                        "{} {} ({} {} vs {} {})",
                        s.path(),
                        times(spread),
                        fast.0,
                        ms(fast.1),
                        slow.0,
                        ms(slow.1)
                    ),
                ));
            }
        }
        differ.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut parts = Vec::new();
        if !alike.is_empty() {
            parts.push(format!("alike for {}", and_list(&alike)));
        }
        if !differ.is_empty() {
            let shown: Vec<String> = differ.iter().take(3).map(|d| d.1.clone()).collect();
            let more = differ.len().saturating_sub(3);
            let tail = if more > 0 {
                format!(" and {more} more (see the table)")
            } else {
                String::new()
            };
            parts.push(format!("apart most for {}{tail}", shown.join("; ")));
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
    let mut parts = Vec::new();
    for w in r.worker_counts() {
        let figures: Vec<String> = r
            .targets()
            .iter()
            .filter_map(|(t, _)| {
                let p = r.ok_pair(t, w, s)?;
                let probe = p.probe_latency_us_p99_mean? / 1000.0;
                let t1 = p.t1_ms.filter(|t| *t > 0.0)?;
                Some(format!("{t} {} ({} T1)", ms(probe), times(probe / t1)))
            })
            .collect();
        if !figures.is_empty() {
            parts.push(format!("{}: {}", r.workers_label(w), figures.join(", ")));
        }
    }
    if parts.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "- **Yielding** ({} with each runtime's own `yield_now`), probe p99: {}.",
        s.path(),
        parts.join("; ")
    )]
}

/// Iterator vs loop: T1 of /generator vs /cycle.
fn iterator(r: &Results) -> Vec<String> {
    let ratios = iterator_vs_loop(r);
    let Some((lo, hi)) = bounds(ratios.iter().map(|x| x.2)) else {
        return Vec::new();
    };
    let n = ratios.len();
    let faster = ratios.iter().filter(|x| x.2 < 1.0 - ALIKE).count();
    let slower = ratios.iter().filter(|x| x.2 > 1.0 + ALIKE).count();
    let verdict = match (faster, slower) {
        (0, 0) => format!(
            "within {} everywhere: in this run the iterator (`map` + `sum`) costs the same as \
             the hand-written loop",
            pct(ALIKE)
        ),
        (f, 0) => format!(
            "the iterator was faster by more than {} in {f} of {n} settings (by up to {}) and \
             alike in the others (T1 is one HTTP exchange on cores shared with the client: a \
             noisy measure of the kernel alone)",
            pct(ALIKE),
            pct(1.0 - lo)
        ),
        (0, s) => format!(
            "the iterator was slower by more than {} in {s} of {n} settings (by up to {}) and \
             alike in the others",
            pct(ALIKE),
            pct(hi - 1.0)
        ),
        _ => "it goes both ways, so no difference stands out from this run's noise".to_owned(),
    };
    vec![format!(
        "- **Iterator vs loop.** T1 of /generator ÷ T1 of /cycle over {} runtime × worker \
         settings: {}; {verdict}.",
        n,
        span(lo, hi)
    )]
}

/// /rayon, /bounded and /jobs against /thread: batch time, request p50 and p99, probe p99.
fn experts(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for s in [Strategy::Rayon, Strategy::Bounded, Strategy::Jobs] {
        let mut batch = Vec::new();
        let mut median = Vec::new();
        let mut tail = Vec::new();
        let mut probe = Vec::new();
        for (t, _) in r.targets() {
            for w in r.worker_counts() {
                let (Some(x), Some(th)) = (r.ok_pair(&t, w, s), r.ok_pair(&t, w, Strategy::Thread))
                else {
                    continue;
                };
                let ratio = |a: Option<f64>, b: Option<f64>| {
                    a.zip(b.filter(|b| *b > 0.0)).map(|(a, b)| a / b)
                };
                batch.extend(ratio(x.batch_ms_mean, th.batch_ms_mean));
                median.extend(ratio(x.latency_us_p50_mean, th.latency_us_p50_mean));
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
            match bounds(xs.iter().copied()) {
                None => "not measured".to_owned(),
                Some((lo, hi)) => format!(
                    "{} (lower in {} of {})",
                    span(lo, hi),
                    xs.iter().filter(|x| **x < 1.0).count(),
                    xs.len()
                ),
            }
        };
        out.push(format!(
            "  - {}: batch time {}; request latency p50 {}, p99 {}; probe p99 {}.",
            s.path(),
            range(&batch),
            range(&median),
            range(&tail),
            range(&probe)
        ));
    }
    if out.is_empty() {
        return out;
    }
    out.insert(
        0,
        "- **The recommended offloads ÷ /thread** on the same runtime and workers (below 1: \
         better than /thread, which gives every request its own blocking-pool thread):"
            .to_owned(),
    );
    out
}

/// /background: quick answers, work done much later.
fn background(r: &Results) -> Vec<String> {
    let mut answered = Vec::new();
    let mut done = Vec::new();
    let mut vs_ideal = Vec::new();
    for (t, _) in r.targets() {
        for w in r.worker_counts() {
            let Some(p) = r.ok_pair(&t, w, Strategy::Background) else {
                continue;
            };
            if let (Some(b), Some(d)) = (p.batch_ms_mean, p.background_done_ms_mean) {
                answered.push(b);
                done.push(d);
                vs_ideal.extend(p.ideal_batch_ms.filter(|i| *i > 0.0).map(|i| d / i));
            }
        }
    }
    let (Some((a0, a1)), Some((d0, d1))) = (bounds(answered), bounds(done)) else {
        return Vec::new();
    };
    let ideal = bounds(vs_ideal)
        .map(|(lo, hi)| format!(" ({} the ideal batch time)", span(lo, hi)))
        .unwrap_or_default();
    vec![format!(
        "- **/background** answers all its 202s within {} – {}, but the work is done only after \
         {} – {}{ideal}: its batch time says nothing about the work, which the client never \
         sees finish.",
        ms(a0),
        ms(a1),
        ms(d0),
        ms(d1)
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
        assert_eq!(bounds([2.0, 1.0, 3.0]), Some((1.0, 3.0)));
        assert_eq!(bounds(Vec::new()), None);
        assert_eq!(span(0.951, 1.934), "0.95× to 1.93×");
        assert_eq!(span(1.0, 1.001), "1.00×");
    }
}
