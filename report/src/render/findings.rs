//! The findings section: every number in a sentence here comes from the data, and every
//! conclusion is phrased on what the data shows (a verdict is chosen by comparing figures,
//! never written in advance).
//!
//! The figures come from [`Facts`]: each pair's verdict (stall ratio, class, attribution:
//! [`crate::analysis::verdict`]), its work time and the speed-ups of more workers
//! ([`crate::analysis::work`]). Measured here:
//! - **spread between runtimes**: slowest ÷ fastest work time of a strategy.
//! - Every difference, likeness and threshold is judged against the rounds' noise (pass by pass
//!   where the pairs share passes), as [`crate::analysis::noise`] describes: nothing is called
//!   inside it.
//!
//! `/generator` and `/cycle` differ only in the kernel's form (iterator or loop), and the two
//! forms compile to the same machine code ([`KERNEL_CHECK`], given in `docs/experiments.md`): the
//! report does not compare them.

use common::strategy::Execution;
use common::{RuntimeKind, Strategy};

use crate::analysis::PairKey;
use crate::analysis::claims::Claim;
use crate::analysis::noise::{self, Change, Spread};
use crate::analysis::pairs::{Pair, rounds_bounds};
use crate::analysis::run::Run;
use crate::analysis::verdict::{Extremes, mark};
use crate::analysis::work::Versus;
use crate::analysis::{ALIKE, Facts, Responsiveness, Speedup, Speedups, Tally, Verdict};
use crate::render::format::{and_list, execution_word, ms_span, pct, sig3, span, thousands, times};
use crate::render::grid::grid;
use crate::render::markdown::MAX_IS_P99;

/// The command that shows `sum_squares_iter` (`/generator`) and `sum_squares_loop` (`/cycle`
/// and the offloaded strategies) are the same machine code in a release build: it
/// disassembles both functions from a server binary and compares their bytes, printing
/// `byte-identical` (or the differing lines). Checked with rustc 1.95 and GNU objdump 2.40 on
/// x86_64, on all three servers: 29 lines of bytes each, the same.
pub const KERNEL_CHECK: &str = "cargo build --release -p server-tokio-axum && k() { objdump \
     -d -C target/release/server-tokio-axum | awk -v f=\"<common::kernel::$1>:\" 'index($0, f) \
     {p = 1; next} p && !NF {exit} p' | cut -f2; } && diff <(k sum_squares_iter) <(k \
     sum_squares_loop) && echo byte-identical";

/// The Markdown of the findings section: short paragraphs, one per question, and the
/// responsiveness table.
pub fn markdown(f: &Facts) -> String {
    let mut out = Vec::new();
    if f.run.metadata.quick {
        out.push(
            "- **This is a `--quick` run**: tiny n, few requests, one round. It checks that \
             everything works and measures nothing: read no conclusion into the figures below."
                .to_owned(),
        );
    }
    out.extend(failed(f));
    out.extend(not_applicable(f));
    out.extend(probe_errors(f));
    out.extend(blocking(f));
    out.extend(attribution(f));
    out.extend(workers(f));
    out.extend(architectures(f));
    out.extend(runtimes(f));
    out.extend(kernel(f));
    out.extend(experts(f));
    let mut text = out.join("\n");
    text.push_str("\n\n");
    text.push_str(&stall_table(f));
    text
}

/// Whose stall each stalled or borderline pair's was: the executor threads' own figures in the
/// scheduler's counts (bench-runner's attribution), with the heartbeat's lag beside them.
fn attribution(f: &Facts) -> Vec<String> {
    let verdicts = &f.verdicts;
    let stalled: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.class != Responsiveness::Responsive)
        .collect();
    if stalled.is_empty() {
        return vec![];
    }
    let measured: Vec<&Verdict> = stalled
        .iter()
        .copied()
        .filter(|v| v.attribution.is_some())
        .collect();
    if measured.is_empty() {
        return vec![
            "- **Whose stall: not measured.** These results have no attribution (an external \
             target, or a run before it was recorded): a probe's wait cannot be told apart from \
             the load generator's."
                .to_owned(),
        ];
    }
    // Measured: the letters are in the stall table, each counted there.
    vec![]
}

/// What the attributions rest on, as metadata.json's `cpu_clock` says: the reading notes'
/// definition of the table's letters.
pub(crate) fn basis(f: &Facts) -> &'static str {
    if f.run.metadata.cpu_clock == results_format::CPU_CLOCK_SCHEDSTAT {
        "from the executor threads' own on-CPU and run-queue time in the same rounds \
         (schedstat): **E**, executor busy: on a CPU at least a quarter of \
         the round; **C**, waiting for a CPU: queued for one longer than it ran, and at least \
         half the stall or the round"
    } else {
        "told, with no per-thread scheduler figures in this run, from the server's own lag for \
         the same rounds (**E**, executor busy: lag p99 at least half the probe's) and the cores \
         used (**C**, waiting for a CPU: 90 % of the machine's busy)"
    }
}

/// `tokio, 2 workers`: a pair's setting in a sentence.
fn setting(run: &Run, target: &str, workers: Option<u32>) -> String {
    match workers {
        Some(1) => format!("{target}, 1 worker"),
        Some(w) => format!("{target}, {w} workers"),
        None => format!("{target} ({})", run.workers_label(None)),
    }
}

/// `/cycle on tokio, 1 worker`.
fn pair_name(run: &Run, key: &PairKey) -> String {
    format!(
        "{} on {}",
        key.strategy.path(),
        setting(run, &key.target, key.workers)
    )
}

/// The pairs not measured, named once so that their absence from the charts is not read as a
/// failure: those a runtime cannot run (`/block_in_place` off tokio multi-thread), and
/// `/cached` where the kernel's `n` leaves no room for its fresh keys (argon2's one hash).
fn not_applicable(f: &Facts) -> Option<String> {
    let (mut runtime, mut keys): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for s in f.pairs.iter().filter(|s| s.not_applicable()) {
        let name = format!("{} on {}", s.strategy.path(), s.target);
        let list = if s.strategy.caches_answers() {
            &mut keys
        } else {
            &mut runtime
        };
        if !list.contains(&name) {
            list.push(name);
        }
    }
    // The runtime's own (`501`, checked by the conformance suite) are the stall table's "–",
    // its legend says so; a kernel without room for fresh keys is said here.
    let mut lines = Vec::new();
    if !keys.is_empty() {
        lines.push(format!(
            "- **Not applicable** (the kernel's `n` leaves no room under its `--max-n` for the \
             fresh keys `n + 1`, `n + 2`… a `/cached` run asks for, so nothing was measured): {}.",
            keys.join(", ")
        ));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn failed(f: &Facts) -> Option<String> {
    let failed: Vec<String> = f
        .pairs
        .iter()
        .filter(|s| s.failed())
        .map(|s| {
            let why = s.failure().unwrap_or("no reason given");
            format!("{} ({why})", s.key())
        })
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "- **{} of {} pairs failed** and are left out of the charts and findings: {}.",
            failed.len(),
            f.pairs.iter().filter(|s| !s.not_applicable()).count(),
            failed.join("; ")
        )
    })
}

/// How differences are called, with this run's number of rounds; `None` when no pair was
/// measured.
pub(crate) fn method(f: &Facts) -> Option<String> {
    let (fewest, most) = rounds_bounds(&f.pairs)?;
    if fewest < noise::MIN_ROUNDS {
        return Some(format!(
            "- **Noise.** Some pairs have {fewest} round(s): with fewer than {} rounds there \
             is no measure of the noise, so no difference between them and another pair is \
             called below.",
            noise::MIN_ROUNDS
        ));
    }
    let r_text = if most == fewest {
        format!("{fewest} rounds per pair")
    } else {
        format!("{fewest} to {most} rounds per pair")
    };
    let margin = pct(ALIKE);
    let by_pass = if f.run.pairs_by_pass() {
        format!(
            "Two work times are compared pass by pass ({} passes): *lower* or *higher* when \
             their ratio is beyond {margin} in every pass, *alike* when within it in every one. \
             Other figures, ",
            f.run.passes
        )
    } else {
        "Two figures are compared ".to_owned()
    };
    let p = noise::rank_sum_p(fewest, fewest);
    Some(format!(
        "- **Noise.** {by_pass}by their rounds ({r_text}): a difference needs the ranges \
         apart (a rank-sum test's most extreme outcome, p = {} at {fewest} rounds each{}) and \
         values more than {margin} apart; alike, every round within {margin}. A figure \
         whose rounds fall on both sides of a threshold is *borderline*.",
        sig3(p),
        if p > 0.05 {
            ", weak evidence: more rounds would make it stronger"
        } else {
            ""
        },
    ))
}

/// The probes that got no answer, per pair, by kind.
fn probe_errors(f: &Facts) -> Vec<String> {
    let total: u64 = f.pairs.iter().filter(|s| s.ok()).map(|s| s.probes).sum();
    if total == 0 {
        return Vec::new();
    }
    let with: Vec<&Pair> = f
        .pairs
        .iter()
        .filter(|s| s.ok() && s.probe_errors > 0)
        .collect();
    if with.is_empty() {
        return vec![format!(
            "- **Probe errors: none.** All {} probes of the run got an answer.",
            thousands(total)
        )];
    }
    let timeout = f
        .run
        .metadata
        .probe_timeout_s
        .map_or_else(String::new, |t| format!(" ({} s)", sig3(t)));
    let parts: Vec<String> = with
        .iter()
        .map(|s| {
            let key = s.key();
            let kinds: Vec<String> = s
                .probe_error_kinds
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            let kinds = if kinds.is_empty() {
                String::new()
            } else {
                format!(": {}", kinds.join(", "))
            };
            format!(
                "{} ({} of {} probes{kinds})",
                pair_name(&f.run, &key),
                s.probe_errors,
                s.probes
            )
        })
        .collect();
    vec![format!(
        "- **Probes that got no answer** on {} of {} pairs: {}. A failed probe is the worst \
         stall there is: it counts in the probe figures at no less than the probe \
         timeout{timeout}, and its pair is marked ✗ in the table below.",
        with.len(),
        f.pairs.iter().filter(|s| s.ok()).count(),
        parts.join("; ")
    )]
}

/// Who stalls the probe, by execution kind, and the surprises.
fn blocking(f: &Facts) -> Vec<String> {
    let verdicts = &f.verdicts;
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
        let tally = Tally::of(of.iter().copied());
        let (stalled, borderline) = (tally.stalled, tally.borderline);
        let borderline = if borderline > 0 {
            format!(", borderline in {borderline}")
        } else {
            String::new()
        };
        // Each pair's figure is in the table below: the worst is read there.
        parts.push(format!(
            "{} in {stalled} of {} pairs{borderline}",
            execution_word(kind),
            of.len()
        ));
    }
    let mut out = vec![format!(
        "- **Which strategies stop the server answering** (the table below). Stalled: {}.",
        parts.join("; ")
    )];
    let listed = |pred: &dyn Fn(&Verdict) -> bool| -> Vec<String> {
        verdicts
            .iter()
            .filter(|v| pred(v))
            .map(|v| pair_name(&f.run, &v.key))
            .collect()
    };
    // The verdicts that differ from what the execution kind predicts.
    let inline_free = listed(&|v| {
        v.key.strategy.execution() == Execution::Inline && v.class == Responsiveness::Responsive
    });
    if !inline_free.is_empty() {
        out.push(format!(
            "  - Inline handlers that did *not* stall it (no probe of any round waited T1): \
             {}. With several executor threads the probe can find one not running a kernel.",
            and_list(&inline_free)
        ));
    }
    let mut borderline: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.class == Responsiveness::Borderline)
        .collect();
    borderline.sort_by(|a, b| b.stall.total_cmp(&a.stall));
    if !borderline.is_empty() {
        let shown: Vec<String> = borderline
            .iter()
            .take(6)
            .map(|v| {
                let left_out = v
                    .left_out_range()
                    .map(|(lo, hi)| format!(", {} leaving a round out", span(lo, hi)))
                    .unwrap_or_default();
                format!(
                    "{} ({} T1{left_out}; a probe ≥ T1 in {} of {} rounds)",
                    pair_name(&f.run, &v.key),
                    times(v.stall),
                    v.rounds_stalled(),
                    v.rounds.len()
                )
            })
            .collect();
        let more = borderline.len() - shown.len();
        let tail = if more > 0 {
            format!("; and {more} more (in italics in the table)")
        } else {
            String::new()
        };
        out.push(format!(
            "  - Borderline, neither stalled nor responsive in this run: {}{tail}.",
            shown.join(", ")
        ));
    }
    // Targets where every pair stalled: the cause is not the handlers.
    let mut all_stalled = Vec::new();
    for (target, label) in &f.run.targets {
        let here: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| v.key.target == *target)
            .collect();
        let free = here
            .iter()
            .filter(|v| v.key.strategy.execution() != Execution::Inline)
            .count();
        if free > 0 && here.iter().all(|v| v.class == Responsiveness::Stalled) {
            let (lo, hi) = Extremes::of(here.iter().copied()).map_or((0.0, 0.0), |x| x.stall);
            out.push(format!(
                "  - On {label} the probe stalled under **every** strategy and worker count \
                 ({} T1), also under those that never block the executor: there the delay is \
                 in the server or runtime itself (its IO, accept loop or timers), not in the \
                 handlers.",
                span(lo, hi)
            ));
            all_stalled.push(target);
        }
    }
    let mut free_stalled: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| {
            v.key.strategy.execution() != Execution::Inline
                && v.class == Responsiveness::Stalled
                && !all_stalled.contains(&&v.key.target)
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
            "  - Yielding handlers that still stalled it ({}): each `yield_now` puts the task \
             back in the run queue; when the probe's task gets its turn is up to the \
             runtime's scheduler.",
            paths(&yielding)
        ));
    }
    let m = &f.run.metadata;
    if !per_request.is_empty() {
        let why = if m.concurrency > m.cores {
            let cores = match m.cores {
                1 => "the server's one core".to_owned(),
                n => format!("the {n} cores"),
            };
            // Pinned apart, the load generator has cores of its own.
            let with = if m.server_cpus.is_some() {
                "the executor"
            } else {
                "the executor and the load generator"
            };
            format!(
                "{} kernels, a blocking-pool thread each, share {cores} with {with}, and the \
                 probe waits for a time slice",
                m.concurrency
            )
        } else {
            "the executor was free, so the delay is in the operating system's scheduling or \
             the load generator"
                .to_owned()
        };
        out.push(format!(
            "  - Stalled although the executor is free ({}): {why}.",
            paths(&per_request)
        ));
    }
    if !pooled.is_empty() {
        out.push(format!(
            "  - Stalled with a pool sized to the cores ({}): the kernels keep all {} cores \
             busy, so the executor and the load generator wait for time slices.",
            paths(&pooled),
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
        // block_in_place: each call turns a worker into a kernel thread and starts a new
        // worker, so as many kernel threads run as requests.
        Strategy::Thread | Strategy::Background | Strategy::BlockInPlace => {
            Some(Cause::ThreadPerRequest)
        }
        // /queue: the worker processes run one kernel per core, beside the server.
        // /cached: its misses run on the same pool as /rayon's.
        Strategy::Rayon
        | Strategy::Bounded
        | Strategy::Jobs
        | Strategy::Queue
        | Strategy::Cached => Some(Cause::CorePool),
    }
}

/// `/block_in_place, /background and /thread`: the strategies of `vs`, in their order (the
/// counts and the worst are in the line above, each pair in the table).
fn paths(vs: &[&Verdict]) -> String {
    let mut paths: Vec<String> = Vec::new();
    for v in vs {
        let p = v.key.strategy.path().to_owned();
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    and_list(&paths)
}

/// The table behind [`blocking`]: probe p99 ÷ T1 per strategy × runtime × workers.
fn stall_table(f: &Facts) -> String {
    let mut s = String::from(
        "Probe p99 ÷ T1 (**bold** stalled, *italics* \
         borderline, plain responsive; †: a half of the passes did not repeat it; ✗ k: k \
         probes unanswered; (max): the largest probe; –: failed, no probe due, or not \
         applicable: the runtime cannot run it, `501`). Whose stall: **E** executor busy, **C** waiting for a CPU, **O** \
         elsewhere:\n\n",
    );
    let label = |st: Strategy| format!("{} ({})", st.path(), execution_word(st.execution()));
    s.push_str(&grid(f, label, |t, w, st| {
        f.verdict_of(t, w, st).map_or_else(
            || "–".to_owned(),
            |v| {
                let figure = match v.class {
                    Responsiveness::Stalled => format!("**{}**", stall_figure(v.stall)),
                    Responsiveness::Borderline => format!("*{}*", stall_figure(v.stall)),
                    Responsiveness::Responsive => stall_figure(v.stall),
                };
                // A nearest-rank p99 of at most 100 probes is the largest of them.
                let figure = match f.ok_pair(t, w, st) {
                    Some(p) if p.probes <= MAX_IS_P99 => format!("{figure} (max)"),
                    _ => figure,
                };
                let figure = match v.attribution {
                    Some(a) => format!("{figure} {}", mark(a)),
                    None => figure,
                };
                // A stalled or responsive verdict one half of the passes did not repeat.
                let claim = (v.class != Responsiveness::Borderline).then(|| Claim::Pair {
                    key: v.key.clone(),
                    stalled: v.class == Responsiveness::Stalled,
                });
                let figure = match &claim {
                    Some(c) if !f.stable(std::slice::from_ref(c)) => format!("{figure} †"),
                    _ => figure,
                };
                if v.probe_errors > 0 {
                    format!("{figure} ✗ {}", v.probe_errors)
                } else {
                    figure
                }
            },
        )
    }));
    s
}

fn stall_figure(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// `of 6: lower in 2, higher in 1, within 10 % in 2, not settled in 1` (or
/// `lower in all 3`): how many of `changes` went which way by more than [`ALIKE`], stayed
/// within it, or neither; `lower` and `higher` name the two directions.
fn tally(changes: &[Change], lower: &str, higher: &str) -> String {
    let count = |c| changes.iter().filter(|x| **x == c).count();
    let alike = format!("within {}", pct(ALIKE));
    let mut parts = Vec::new();
    for (n, word) in [
        (count(Change::Lower), lower),
        (count(Change::Higher), higher),
        (count(Change::Alike), &alike),
        (count(Change::Unclear), "not settled"),
    ] {
        if n > 0 {
            parts.push(format!("{word} in {n}"));
        }
    }
    match parts.as_slice() {
        [one] if changes.len() > 1 => one.replacen(" in ", " in all ", 1),
        [one] => format!("{one} of 1"),
        _ => format!("of {}: {}", changes.len(), parts.join(", ")),
    }
}

/// ` (lower in 2, higher in 1 of 6)`: how many of `changes` went which way beyond the margin
/// and the noise; nothing when none did.
fn clear(changes: &[Change]) -> String {
    let count = |c| changes.iter().filter(|x| **x == c).count();
    let parts: Vec<String> = [(Change::Lower, "lower"), (Change::Higher, "higher")]
        .into_iter()
        .filter(|(c, _)| count(*c) > 0)
        .map(|(c, word)| format!("{word} in {}", count(c)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({} of {})", parts.join(", "), changes.len())
    }
}

/// What the fewest vs the most workers change, by execution kind.
fn workers(f: &Facts) -> Vec<String> {
    let Some(Speedups { few, many, ratios }) = f.speedups.as_ref() else {
        return vec![
            "- The run measured a single worker count: it cannot say what more workers change."
                .to_owned(),
        ];
    };
    let mut parts = Vec::new();
    for kind in Execution::ALL {
        let of: Vec<&Speedup> = ratios
            .iter()
            .filter(|x| x.strategy.execution() == kind)
            .collect();
        let Some((lo, hi)) = f.speedups.as_ref().and_then(|x| x.bounds_of(kind)) else {
            continue;
        };
        let changes: Vec<Change> = of.iter().map(|x| x.change).collect();
        parts.push(format!(
            "{} {} ({})",
            execution_word(kind),
            span(lo, hi),
            tally(
                &changes,
                &format!("faster with {many}"),
                &format!("slower with {many}")
            )
        ));
    }
    if parts.is_empty() {
        return Vec::new();
    }
    let best = f
        .speedups
        .as_ref()
        .and_then(Speedups::largest_gain)
        .map_or_else(
            || format!("none beyond {}", pct(ALIKE)),
            |x| {
                // Its ratio pass by pass, where the run has passes: the interval of the gain.
                let by_pass = x.paired.map_or(String::new(), |p| {
                    format!(
                        "; {} to {} pass by pass over {} passes",
                        times(p.lo),
                        times(p.hi),
                        p.passes
                    )
                });
                format!(
                    "{} on {} ({}{by_pass})",
                    x.strategy.path(),
                    x.target,
                    times(x.ratio)
                )
            },
        );
    let (few, many) = (*few, *many);
    let few_label = if few == 1 {
        "1 worker".to_owned()
    } else {
        format!("{few} workers")
    };
    let mut out = vec![format!(
        "- **{few} vs {many} workers.** Work time with {few} ÷ with {many}, over the \
         runtimes: {}. The largest clear gain: {best}.",
        parts.join("; ")
    )];
    if let Some(((a0, a1), (b0, b1))) = f.inline_probe(few, many) {
        out.push(format!(
            "  - Under the inline strategies the probe p99 goes from {} with {few_label} to {} \
             with {many} workers.",
            ms_span(a0, a1),
            ms_span(b0, b1)
        ));
    }
    out
}

/// `/cycle` or `/background (work done)`: what a strategy's work time is.
/// The kind of runtime a pair ran on, from its `runtime` column and target name (tokio's two
/// flavours share a runtime name; the current-thread target is named for its flavour).
pub(crate) fn kind_of(p: &Pair) -> Option<RuntimeKind> {
    RuntimeKind::ALL.into_iter().find(|k| {
        k.runtime() == p.runtime
            && (*k == RuntimeKind::TokioCurrentThread) == p.target.ends_with("current-thread")
    })
}

/// Work stealing (or one shared queue) against runtimes whose workers cannot take each other's
/// work (actix-web's thread-per-core workers), on the inline `/cycle` with the most workers:
/// does a worker that is free help with a blocked one's connections?
fn architectures(f: &Facts) -> Vec<String> {
    let s = Strategy::Cycle;
    let Some(many) = f
        .pairs
        .iter()
        .filter(|p| p.ok() && p.strategy == s)
        .filter_map(|p| p.workers)
        .filter(|w| *w >= 2)
        .max()
    else {
        return Vec::new();
    };
    // The pairs with the figures the bullet compares: a batch, a request p99 and a verdict
    // (a probe p99 against the work alone).
    let pairs: Vec<(&Pair, RuntimeKind)> = f
        .run
        .targets
        .iter()
        .filter_map(|(target, _)| {
            let p = f.ok_pair(target, Some(many), s)?;
            p.batch_ms_mean?;
            p.latency_us_p99?;
            f.verdict(&p.key())?;
            Some((p, kind_of(p)?))
        })
        .collect();
    let (sharing, apart): (Vec<&(&Pair, RuntimeKind)>, Vec<_>) =
        pairs.iter().partition(|(_, k)| k.shares_work());
    if sharing.is_empty() || apart.is_empty() {
        return Vec::new();
    }
    let probe = |p: &Pair| p.probe_latency_us_p99.unwrap_or(f64::INFINITY);
    let Some((best, _)) = sharing
        .iter()
        .min_by(|a, b| probe(a.0).total_cmp(&probe(b.0)))
    else {
        return Vec::new();
    };
    let list = |group: &[&(&Pair, RuntimeKind)]| {
        and_list(
            &group
                .iter()
                .map(|(p, _)| p.target.clone())
                .collect::<Vec<_>>(),
        )
    };
    let mut out = vec![format!(
        "- **Work stealing vs thread-per-core** (inline `{}`, {many} workers, C = {}). Runtimes \
         whose free worker can take a busy one's tasks: {}; whose workers cannot: {}.",
        s.path(),
        best.concurrency,
        list(&sharing),
        list(&apart)
    )];
    // The pair's verdict, with its noise rule, as every other bullet judges it (a borderline
    // pair did not stall).
    let stalls = |p: &Pair| {
        f.verdict(&p.key())
            .is_some_and(|v| v.class == Responsiveness::Stalled)
    };
    for (p, kind) in &apart {
        let ratio = p.probe_ratio(best);
        // Runtimes are compared by work efficiency: each work time against its own T1.
        let batch = match f.efficiency_change(&best.key(), &p.key()) {
            Some(Change::Lower) => "longer than".to_owned(),
            Some(Change::Higher) => "shorter than".to_owned(),
            Some(Change::Alike) => format!("within {} of", pct(ALIKE)),
            Some(Change::Unclear) => "not told apart from".to_owned(),
            None => "not comparable with".to_owned(),
        };
        let why = match (stalls(best), stalls(p)) {
            (false, true) => format!(
                "the free worker helped on {} and not on {}: there a connection stays on the \
                 worker that accepted it, and a probe dealt to a busy worker waits for it",
                best.target, p.target
            ),
            (true, true) => format!(
                "both stalled: with {} requests on {many} workers no worker was free to help",
                best.concurrency
            ),
            (false, false) => "neither stalled".to_owned(),
            (true, false) => format!("{} stalled and {} did not", best.target, p.target),
        };
        out.push(format!(
            "  - {} ({kind}): probe p99 {} that of {}, batch time against its T1 {batch} {}'s; \
             {why}.",
            p.target,
            times(ratio),
            best.target,
            best.target
        ));
    }
    out
}

fn work_label(s: Strategy) -> String {
    if s == Strategy::Background {
        format!("{} (work done)", s.path())
    } else {
        s.path().to_owned()
    }
}

/// How the runtimes differ, strategy by strategy, at each worker count.
fn runtimes(f: &Facts) -> Vec<String> {
    if f.run.targets.len() < 2 {
        return Vec::new();
    }
    let mut out = vec![format!(
        "- **Runtimes** by work efficiency (each against its own T1), the best ÷ the worst:"
    )];
    let mut lines: Vec<(Vec<String>, String)> = Vec::new();
    for &w in &f.run.worker_counts {
        let mut alike = Vec::new();
        let mut unclear = Vec::new();
        let mut differ: Vec<(f64, String)> = Vec::new();
        for &s in &f.run.strategies {
            let Some(x) = f.runtimes(s, w) else {
                continue;
            };
            match x.spread {
                Spread::Alike => alike.push(work_label(s)),
                Spread::Unclear => unclear.push(work_label(s)),
                Spread::Apart => {
                    let said = Claim::Runtimes {
                        strategy: s,
                        workers: w,
                        apart: Some((x.best.0.clone(), x.worst.0.clone())),
                    };
                    let unstable = if f.stable(&[said]) {
                        ""
                    } else {
                        ", *unstable*: one half of the passes did not repeat it"
                    };
                    differ.push((
                        x.ratio(),
                        format!(
                            "{} {} ({} {:.2} vs {} {:.2}{unstable})",
                            work_label(s),
                            times(x.ratio()),
                            x.best.0,
                            x.best.1.value,
                            x.worst.0,
                            x.worst.1.value
                        ),
                    ));
                }
            }
        }
        differ.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut parts = Vec::new();
        if !alike.is_empty() {
            parts.push(format!("alike for {}", and_list(&alike)));
        }
        if !differ.is_empty() {
            let shown: Vec<String> = differ.iter().take(3).map(|d| d.1.clone()).collect();
            let more = differ.len() - shown.len();
            let tail = if more > 0 {
                format!(" and {more} more (see the efficiency grid under [Per pair](#per-pair))")
            } else {
                String::new()
            };
            parts.push(format!("apart for {}{tail}", shown.join("; ")));
        }
        // The strategies left are named only when they are the fewer.
        if !unclear.is_empty() {
            let named = alike.len() + differ.len();
            parts.push(if named == 0 {
                "neither alike nor apart beyond the rounds' noise for any strategy".to_owned()
            } else if unclear.len() > named {
                "neither alike nor apart beyond the rounds' noise for the others".to_owned()
            } else {
                format!(
                    "neither alike nor apart beyond the rounds' noise for {}",
                    and_list(&unclear)
                )
            });
        }
        if !parts.is_empty() {
            let said = parts.join("; ");
            // Worker counts that read the same share one line.
            match lines.iter_mut().find(|(_, s)| *s == said) {
                Some((labels, _)) => labels.push(f.run.workers_label(w)),
                None => lines.push((vec![f.run.workers_label(w)], said)),
            }
        }
    }
    for (labels, said) in lines {
        out.push(format!("  - {}: {said}.", and_list(&labels)));
    }
    out
}

/// Iterator vs loop: not a comparison, the same machine code.
fn kernel(f: &Facts) -> Vec<String> {
    if !(f.run.measured(Strategy::Generator) && f.run.measured(Strategy::Cycle)) {
        return Vec::new();
    }
    vec![
        "- **Iterator vs loop: not compared.** /generator's `map` + `sum` and /cycle's loop \
         compile to byte-identical machine code (the check: `docs/experiments.md`): their \
         differences are noise."
            .to_owned(),
    ]
}

/// /rayon, /bounded and /jobs against /thread: work time, request p50 and p99, probe p99.
fn experts(f: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    for s in [Strategy::Rayon, Strategy::Bounded, Strategy::Jobs] {
        let vs = f.versus(s, Strategy::Thread);
        if vs.work.is_empty() {
            continue;
        }
        let range = |xs: &[(f64, Change)]| -> String {
            match Versus::range(xs) {
                None => "not measured".to_owned(),
                Some((lo, hi)) => {
                    let changes: Vec<Change> = xs.iter().map(|x| x.1).collect();
                    format!("{}{}", span(lo, hi), clear(&changes))
                }
            }
        };
        out.push(format!(
            "  - {}: work time {}; request p50 {}, p99 {}; probe p99 {}.",
            s.path(),
            range(&vs.work),
            range(&vs.request_p50),
            range(&vs.request_p99),
            range(&vs.probe_p99)
        ));
    }
    if out.is_empty() {
        return out;
    }
    out.insert(
        0,
        format!(
            "- **The recommended offloads ÷ /thread** on the same runtime and workers (below 1: \
             better; lower or higher by more than {}: {}):",
            pct(ALIKE),
            if f.run.pairs_by_pass() {
                "the work time in every pass, the percentiles with rounds apart"
            } else {
                "with rounds apart"
            }
        ),
    );
    out
}

#[cfg(test)]
mod tests {
    use crate::analysis::Attribution;
    use crate::analysis::stats;
    #[test]
    fn stalls_carry_bench_runners_attribution() {
        // Three stalled pairs (probe p99 20 ms ≥ T1 10 ms in every round), attributed by
        // bench-runner: executor busy, waiting for a CPU, elsewhere. One responsive pair whose
        // file says `none`, one whose says `elsewhere`: a responsive pair shows no attribution.
        let stalled =
            |target, s| Pair::new(target, 1, s, &[50.0, 50.0]).probes(20.0, &[20.0, 20.0]);
        let r = results(&[
            stalled("tokio", Strategy::Cycle)
                .server(15.0, 1.0)
                .whose(Attribution::ExecutorBusy),
            stalled("tokio", Strategy::Thread)
                .server(1.0, 1.9)
                .whose(Attribution::WaitingForCpu),
            stalled("tokio", Strategy::Rayon)
                .server(1.0, 1.0)
                .whose(Attribution::Elsewhere),
            Pair::new("tokio", 1, Strategy::CycleSleep, &[50.0, 50.0])
                .server(0.2, 1.0)
                .whose(Attribution::None),
            Pair::new("tokio", 1, Strategy::Jobs, &[50.0, 50.0])
                .server(0.2, 1.0)
                .whose(Attribution::Elsewhere),
        ]);
        let vs = verdicts(&r);
        let of = |s| {
            vs.iter()
                .find(|v| v.key.strategy == s)
                .expect("verdict")
                .attribution
        };
        assert_eq!(of(Strategy::Cycle), Some(Attribution::ExecutorBusy));
        assert_eq!(of(Strategy::Thread), Some(Attribution::WaitingForCpu));
        assert_eq!(of(Strategy::Rayon), Some(Attribution::Elsewhere));
        assert_eq!(of(Strategy::CycleSleep), None);
        assert_eq!(of(Strategy::Jobs), None);
        let f = Facts::of(&r);
        let marks: Vec<String> = [Strategy::Cycle, Strategy::Thread, Strategy::Rayon]
            .into_iter()
            .map(|s| {
                let v = f.verdict_of("tokio", Some(1), s).expect("verdict");
                format!(
                    "{:.2} {}",
                    v.stall,
                    mark(v.attribution.expect("attributed"))
                )
            })
            .collect();
        assert_eq!(marks, ["2.00 E", "2.00 C", "2.00 O"]);
        // Measured: the letters are in the table, not counted again in a bullet.
        let md = markdown(&r);
        assert!(
            md.contains("| /cycle (inline) | **2.00** (max) E |"),
            "{md}"
        );
        assert!(!md.contains("- **Whose stall"), "{md}");
        // Without the server's side: said, not guessed.
        let r = results(&[stalled("tokio", Strategy::Cycle)]);
        assert_eq!(verdicts(&r)[0].attribution, None);
        assert!(markdown(&r).contains("Whose stall: not measured"));
    }

    /// `/block_in_place` is judged by its verdict, noise rule included, like every other pair:
    /// a pooled probe p99 above T1 with one round's probes all below it is borderline (italics
    /// in the stall table), not stalled (bold: what `probe >= T1` alone said).
    #[test]
    fn block_in_place_is_judged_by_its_verdict() {
        let pair = |s| Pair::new("tokio", 2, s, &[50.0, 50.0]);
        let r = results(&[
            pair(Strategy::BlockInPlace).probes(12.0, &[12.0, 5.0]),
            pair(Strategy::Cycle).probes(20.0, &[20.0, 20.0]),
        ]);
        let f = Facts::of(&r);
        assert_eq!(
            f.verdict_of("tokio", Some(2), Strategy::BlockInPlace)
                .map(|v| v.class),
            Some(Responsiveness::Borderline)
        );
        let table = stall_table(&f);
        let row = table
            .lines()
            .find(|l| l.starts_with("| /block_in_place"))
            .expect("row");
        assert_eq!(row, "| /block_in_place (offloaded) | *1.20* (max) |");
    }

    use super::*;
    use crate::analysis::verdict::verdicts;
    use crate::analysis::work::speedups;
    use crate::data::Results;
    use crate::data::fake::{Pair, results};
    use crate::render::format::ms;

    /// The section as the report renders it, from the facts of `r`.
    fn markdown(r: &Results) -> String {
        super::markdown(&Facts::of(r))
    }

    fn class_of(r: &Results, target: &str, workers: u32, s: Strategy) -> Responsiveness {
        verdicts(r)
            .into_iter()
            .find(|v| {
                v.key.target == target && v.key.workers == Some(workers) && v.key.strategy == s
            })
            .expect("verdict")
            .class
    }

    /// The line of the findings that starts with `prefix`.
    fn line<'a>(md: &'a str, prefix: &str) -> &'a str {
        md.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{md}"))
    }

    #[test]
    fn a_stall_near_t1_with_rounds_on_both_sides_is_borderline() {
        // The review's case: pooled probe p99 1.02× T1, 3 of 5 rounds' worst probe below T1.
        // Judged on the p99 alone (the old rule) it was "stalled".
        let jobs = Pair::new("smol", 1, Strategy::Jobs, &[50.0; 5])
            .probes(10.2, &[13.0, 8.0, 9.0, 11.0, 9.5]);
        // Clearly stalled: the p99 and every round at several T1.
        let cycle = Pair::new("smol", 1, Strategy::Cycle, &[95.0; 5])
            .probes(37.0, &[35.0, 39.0, 36.0, 38.0, 37.0]);
        // Pooled p99 well below T1, but one round had a probe wait longer than T1.
        let rayon = Pair::new("smol", 1, Strategy::Rayon, &[50.0; 5])
            .probes(4.0, &[12.0, 3.0, 4.0, 2.0, 5.0]);
        // Below T1 everywhere.
        let thread = Pair::new("smol", 1, Strategy::Thread, &[50.0; 5]);
        let r = results(&[jobs, cycle, rayon, thread]);
        assert_eq!(
            class_of(&r, "smol", 1, Strategy::Jobs),
            Responsiveness::Borderline
        );
        assert_eq!(
            class_of(&r, "smol", 1, Strategy::Cycle),
            Responsiveness::Stalled
        );
        assert_eq!(
            class_of(&r, "smol", 1, Strategy::Rayon),
            Responsiveness::Borderline
        );
        assert_eq!(
            class_of(&r, "smol", 1, Strategy::Thread),
            Responsiveness::Responsive
        );

        let md = markdown(&r);
        let stalled = line(&md, "- **Which strategies stop the server answering**");
        assert!(
            stalled.contains("job API in 0 of 1 pairs, borderline in 1"),
            "{stalled}"
        );
        assert!(stalled.contains("inline in 1 of 1 pairs; "), "{stalled}");
        assert!(
            stalled.contains("offloaded in 0 of 2 pairs, borderline in 1"),
            "{stalled}"
        );
        let borderline = line(&md, "  - Borderline");
        assert!(
            borderline
                .contains("/jobs on smol, 1 worker (1.02× T1; a probe ≥ T1 in 2 of 5 rounds)"),
            "{borderline}"
        );
        // The table: bold stalled, italic borderline, plain responsive.
        let row = line(&md, "| /jobs (job API) |");
        assert_eq!(row, "| /jobs (job API) | *1.02* (max) |");
        assert_eq!(
            line(&md, "| /cycle (inline) |"),
            "| /cycle (inline) | **3.70** (max) |"
        );
        assert_eq!(
            line(&md, "| /thread (offloaded) |"),
            "| /thread (offloaded) | 0.05 (max) |"
        );
        // "Stalled with a pool sized to the cores" lists only clear stalls: none here.
        assert!(!md.contains("pool sized to the cores"), "{md}");
    }

    #[test]
    fn a_failed_probe_is_flagged_and_counts_at_the_timeout() {
        // Every answered probe within a tenth of T1, but 2 probes of round 2 got no answer:
        // that round's worst probe is the 2 s timeout, so the pair is no longer responsive.
        let p = Pair::new("tokio", 1, Strategy::Rayon, &[50.0, 51.0, 49.0])
            .probes(0.9, &[0.8, 0.9, 0.7])
            .failed_probes(&[0, 2, 0]);
        let clean = Pair::new("tokio", 1, Strategy::Thread, &[50.0, 51.0, 49.0]);
        let r = results(&[p, clean]);
        assert_eq!(
            class_of(&r, "tokio", 1, Strategy::Rayon),
            Responsiveness::Borderline
        );
        let md = markdown(&r);
        let errors = line(&md, "- **Probes that got no answer**");
        assert!(
            errors.contains("on 1 of 2 pairs: /rayon on tokio, 1 worker (2 of 60 probes)"),
            "{errors}"
        );
        assert!(errors.contains("probe timeout (2.00 s)"), "{errors}");
        assert_eq!(
            line(&md, "| /rayon (offloaded) |"),
            "| /rayon (offloaded) | *0.09* (max) ✗ 2 |"
        );

        let r = results(&[Pair::new("tokio", 1, Strategy::Thread, &[50.0, 51.0])]);
        let md = markdown(&r);
        assert!(md.contains("- **Probe errors: none.** All 40 probes of the run got an answer."));
    }

    #[test]
    fn runtimes_are_apart_or_alike_only_beyond_the_rounds_noise() {
        let r = results(&[
            // /cycle: 1.10× apart by the means, but the rounds overlap. The old rule called it
            // "alike" (≤ 10 %); the new one calls neither.
            Pair::new("tokio", 1, Strategy::Cycle, &[90.0, 100.0, 110.0]),
            Pair::new("smol", 1, Strategy::Cycle, &[95.0, 110.0, 125.0]),
            // /thread: 1.15× apart by the means, rounds overlap: the old rule said "apart".
            Pair::new("tokio", 1, Strategy::Thread, &[90.0, 100.0, 110.0]),
            Pair::new("smol", 1, Strategy::Thread, &[105.0, 115.0, 125.0]),
            // /rayon: 1.31× apart, rounds disjoint: apart.
            Pair::new("tokio", 1, Strategy::Rayon, &[100.0, 101.0, 102.0]),
            Pair::new("smol", 1, Strategy::Rayon, &[130.0, 133.0, 136.0]),
            // /bounded: every round within 4 %: alike.
            Pair::new("tokio", 1, Strategy::Bounded, &[100.0, 101.0, 102.0]),
            Pair::new("smol", 1, Strategy::Bounded, &[101.0, 103.0, 104.0]),
        ]);
        let md = markdown(&r);
        let line = line(&md, "  - 1 worker:");
        assert_eq!(
            line,
            "  - 1 worker: alike for /bounded; apart for /rayon 1.32× (tokio 0.20 vs smol 0.15); \
             neither alike nor apart beyond the rounds' noise for /cycle and /thread."
        );
        // More left than named: "the others"; none named: "any strategy".
        let mut three = r.clone();
        three.summary.retain(|p| p.strategy != Strategy::Rayon);
        three.rounds.retain(|p| p.strategy != Strategy::Rayon);
        let md = markdown(&three);
        assert_eq!(
            self::line(&md, "  - 1 worker:"),
            "  - 1 worker: alike for /bounded; neither alike nor apart beyond the rounds' noise \
             for the others."
        );
        three.summary.retain(|p| p.strategy != Strategy::Bounded);
        three.rounds.retain(|p| p.strategy != Strategy::Bounded);
        let md = markdown(&three);
        assert_eq!(
            self::line(&md, "  - 1 worker:"),
            "  - 1 worker: neither alike nor apart beyond the rounds' noise for any strategy."
        );
    }

    #[test]
    fn background_is_compared_by_when_its_work_was_done() {
        // 202s 5× apart (noise: the work is not in them); the work done at the same time.
        let r = results(&[
            Pair::new("tokio", 1, Strategy::Background, &[2.0, 2.2, 1.8])
                .done(&[100.0, 101.0, 102.0]),
            Pair::new("smol", 1, Strategy::Background, &[10.0, 11.0, 9.0])
                .done(&[101.0, 102.0, 103.0]),
            Pair::new("tokio", 2, Strategy::Background, &[1.0, 1.1, 0.9]).done(&[60.0, 61.0, 62.0]),
            Pair::new("smol", 2, Strategy::Background, &[30.0, 31.0, 29.0])
                .done(&[100.0, 102.0, 104.0]),
        ]);
        let md = markdown(&r);
        assert!(
            md.contains("  - 1 worker: alike for /background (work done)."),
            "{md}"
        );
        assert!(
            md.contains(
                "  - 2 workers (all cores): apart for /background (work done) 1.67× \
                 (tokio 0.33 vs smol 0.20)."
            ),
            "{md}"
        );
        // 1 vs 2 workers by completion: tokio 101 ÷ 61, smol 102 ÷ 102.
        let speedups = speedups(&r).expect("two worker counts");
        let ratios: Vec<(String, f64, Change)> = speedups
            .ratios
            .iter()
            .map(|x| (x.target.clone(), x.ratio, x.change))
            .collect();
        assert_eq!(
            ratios,
            [
                ("tokio".to_owned(), 101.0 / 61.0, Change::Lower),
                ("smol".to_owned(), 1.0, Change::Alike)
            ]
        );
        let workers = line(&md, "- **1 vs 2 workers.**");
        assert!(
            workers
                .contains("detached 1.00× to 1.66× (of 2: faster with 2 in 1, within 10 % in 1)"),
            "{workers}"
        );
        // The 202 batch times appear nowhere in a sentence.
        for batch in ["2.00 ms", "10.0 ms", "5.00×", "30.0 ms", "1.00 ms"] {
            assert!(!md.contains(batch), "{batch} in\n{md}");
        }
        // When its work was done is said once, in What to do.
        let f = Facts::of(&r);
        assert_eq!(f.background_done().map(|b| b.done_ms), Some((61.0, 102.0)));
        let advice = crate::render::advice::markdown(&f);
        assert!(
            advice.contains("its work was done 61.0 ms – 102 ms after the batch started"),
            "{advice}"
        );
        assert!(!md.contains("- **/background**"), "{md}");
    }

    #[test]
    fn worker_counts_differ_only_beyond_the_rounds_noise() {
        let r = results(&[
            // 1.05× by the means, rounds 1.16× apart at the extremes: neither way.
            Pair::new("tokio", 1, Strategy::Cycle, &[100.0, 105.0, 110.0]),
            Pair::new("tokio", 2, Strategy::Cycle, &[95.0, 100.0, 105.0]),
            // Twice as fast, disjoint.
            Pair::new("tokio", 1, Strategy::Generator, &[100.0, 101.0, 102.0]),
            Pair::new("tokio", 2, Strategy::Generator, &[50.0, 51.0, 52.0]),
        ]);
        let md = markdown(&r);
        let workers = line(&md, "- **1 vs 2 workers.**");
        assert!(
            workers.contains("inline 1.05× to 1.98× (of 2: faster with 2 in 1, not settled in 1)"),
            "{workers}"
        );
        assert!(
            workers.contains(
                "The largest clear gain: /generator on tokio (1.98×; 1.96× to 2.00× pass by \
                 pass over 3 passes)."
            ),
            "{workers}"
        );
        // One round each: nothing can be called.
        let r = results(&[
            Pair::new("tokio", 1, Strategy::Generator, &[100.0]),
            Pair::new("tokio", 2, Strategy::Generator, &[50.0]),
        ]);
        let md = markdown(&r);
        let workers = line(&md, "- **1 vs 2 workers.**");
        assert!(
            workers.contains("inline 2.00× (not settled in 1 of 1)"),
            "{workers}"
        );
        assert!(workers.contains("none beyond 10 %"), "{workers}");
        let notes = method(&Facts::of(&r)).expect("a pair measured");
        assert!(
            notes.contains("there is no measure of the noise"),
            "{notes}"
        );
    }

    #[test]
    fn a_second_worker_helps_when_every_pass_says_so() {
        // Six passes drifting by 40 %: the rounds' ranges overlap, but with 2 workers every
        // pass is 1.3× faster than with 1 in the same pass.
        let one = [100.0, 110.0, 120.0, 130.0, 140.0, 104.0];
        let two: Vec<f64> = one.iter().map(|x| x / 1.3).collect();
        // Ratios 1.05–1.25× by pass: a gain by the means, not beyond 10 % in every pass.
        let slow = [100.0, 110.0, 120.0, 130.0, 140.0, 104.0];
        let fast: Vec<f64> = slow
            .iter()
            .zip([1.05, 1.25, 1.2, 1.15, 1.2, 1.2])
            .map(|(x, k)| x / k)
            .collect();
        let r = results(&[
            Pair::new("tokio", 1, Strategy::Cycle, &one),
            Pair::new("tokio", 2, Strategy::Cycle, &two),
            Pair::new("smol", 1, Strategy::Cycle, &slow),
            Pair::new("smol", 2, Strategy::Cycle, &fast),
        ]);
        let changes: Vec<(String, Change)> = speedups(&r)
            .expect("two worker counts")
            .ratios
            .into_iter()
            .map(|x| (x.target, x.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("tokio".to_owned(), Change::Lower),
                ("smol".to_owned(), Change::Unclear)
            ]
        );
        let md = markdown(&r);
        let workers = line(&md, "- **1 vs 2 workers.**");
        assert!(
            workers.contains("(of 2: faster with 2 in 1, not settled in 1)"),
            "{workers}"
        );
    }

    #[test]
    fn the_offloads_against_thread_count_only_clear_differences() {
        let r = results(&[
            Pair::new("tokio", 1, Strategy::Thread, &[100.0, 104.0, 108.0]),
            Pair::new("tokio", 1, Strategy::Rayon, &[95.0, 100.0, 105.0]),
            Pair::new("tokio", 2, Strategy::Thread, &[100.0, 104.0, 108.0]),
            Pair::new("tokio", 2, Strategy::Rayon, &[70.0, 72.0, 74.0]),
        ]);
        let md = markdown(&r);
        let rayon = line(&md, "  - /rayon:");
        // 100 ÷ 104 is lower by the means, but not beyond the noise (the old "lower in 2 of 2").
        assert!(
            rayon.starts_with("  - /rayon: work time 0.69× to 0.96× (lower in 1 of 2);"),
            "{rayon}"
        );
    }

    #[test]
    fn iterator_and_loop_are_not_compared() {
        let r = results(&[
            Pair::new("tokio", 1, Strategy::Generator, &[90.0, 91.0]),
            Pair::new("tokio", 1, Strategy::Cycle, &[100.0, 101.0]),
        ]);
        let md = markdown(&r);
        let kernel = line(&md, "- **Iterator vs loop: not compared.**");
        assert!(kernel.contains("`docs/experiments.md`"), "{kernel}");
        // The command the line points to, word for word.
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/experiments.md"),
        )
        .expect("docs/experiments.md");
        assert!(
            docs.contains(KERNEL_CHECK),
            "docs/experiments.md lacks {KERNEL_CHECK}"
        );
        assert!(!md.contains("T1 of /generator ÷ T1 of /cycle"), "{md}");
        // How differences are told from noise: said once, in the reading notes.
        assert!(!md.contains("- **Noise.**"), "{md}");
        let notes = method(&Facts::of(&r)).expect("pairs measured");
        let noise = line(&notes, "- **Noise.**");
        assert!(
            noise.contains("by their rounds (2 rounds per pair)"),
            "{noise}"
        );
        assert!(
            noise.contains("p = 0.333 at 2 rounds each, weak evidence"),
            "{noise}"
        );
    }

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
        assert_eq!(stats::bounds([2.0, 1.0, 3.0]), Some((1.0, 3.0)));
        assert_eq!(stats::bounds(Vec::new()), None);
        assert_eq!(span(0.951, 1.934), "0.95× to 1.93×");
        assert_eq!(span(1.0, 1.001), "1.00×");
        assert_eq!(
            tally(
                &[Change::Lower, Change::Unclear, Change::Lower],
                "lower",
                "higher"
            ),
            "of 3: lower in 2, not settled in 1"
        );
        assert_eq!(
            tally(&[Change::Alike, Change::Higher], "lower", "higher"),
            "of 2: higher in 1, within 10 % in 1"
        );
        assert_eq!(
            tally(&[Change::Lower, Change::Lower], "lower", "higher"),
            "lower in all 2"
        );
        assert_eq!(
            tally(&[Change::Higher], "lower", "higher"),
            "higher in 1 of 1"
        );
    }
}
