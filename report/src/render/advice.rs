//! "What to do": the verdict REPORT.md opens with. Each sentence is a recommendation chosen
//! from this run's figures (which pattern kept the server answering, which stalled it) and
//! cites the figures behind it, with the conditions it was measured under (work per request,
//! concurrency, cores). Nothing here is written in advance: a strategy is recommended because
//! it stalled the server in the fewest pairs, and a runtime difference is named only where the
//! rounds tell the runtimes apart.
//!
//! Each recommended strategy points to the code to copy ([`code`]).

use common::Strategy;
use common::strategy::Execution;

use crate::analysis::claims::{self, Claim};
use crate::analysis::noise::Spread;
use crate::analysis::pairs::memory_apart;
use crate::analysis::queue::{hop_summary, lone_bounds};
use crate::analysis::run::Run;
use crate::analysis::verdict::Extremes;
use crate::analysis::{Attribution, Facts, Responsiveness, Tally, Verdict};
use crate::render::format::{and_list, ms, ms_span, span, thousands, times, us_span};

/// Where the code of a strategy is, to copy (paths from the repository's root).
pub fn code(s: Strategy) -> &'static str {
    match s {
        Strategy::Generator | Strategy::Cycle => "`common/src/kernel/` (inline: the kernel itself)",
        Strategy::CycleSleep => {
            "`common/src/kernel/mod.rs` (`run_yielding`, given the runtime's `yield_now`)"
        }
        Strategy::Thread | Strategy::Background => {
            "each server's `offload` (`spawn_blocking`, `async_std::task::spawn_blocking`, \
             `blocking::unblock`, `web::block`) in `runtimes/*/src/lib.rs`"
        }
        Strategy::Rayon => {
            "`common/src/cpu_pool.rs` (`CpuPool::run`: a rayon pool sized to the cores, awaited \
             through a oneshot channel from any runtime; `cargo run --release -p common \
             --example cpu_pool`)"
        }
        Strategy::Bounded => {
            "`common/src/gate.rs` (a FIFO semaphore with one permit per core and a bounded \
             queue) around the server's blocking-pool offload"
        }
        Strategy::Jobs => "`common/src/jobs.rs` (the job store) on `common/src/cpu_pool.rs`",
        Strategy::BlockInPlace => {
            "the `Strategy::BlockInPlace` arm of `runtimes/tokio-axum/src/lib.rs` \
             (`tokio::task::block_in_place`, tokio multi-thread only)"
        }
        Strategy::Queue => {
            "`common/src/queue.rs` (the protocol on Redis Streams), `common/src/broker.rs` (the \
             servers' bridge) and `queue-worker/src/lib.rs` (the worker processes)"
        }
        Strategy::Cached => {
            "`common/src/cache.rs` (`ResultCache`: moka's `future::Cache` keyed by (kernel, n), \
             concurrent misses computed once) in front of `common/src/cpu_pool.rs`"
        }
    }
}

/// How a set of pairs treated the probe.
struct Group<'a> {
    verdicts: Vec<&'a Verdict>,
    tally: Tally,
}

impl<'a> Group<'a> {
    fn of(all: &'a [Verdict], keep: impl Fn(&Verdict) -> bool) -> Group<'a> {
        let verdicts: Vec<&Verdict> = all.iter().filter(|v| keep(v)).collect();
        let tally = Tally::of(verdicts.iter().copied());
        Group { verdicts, tally }
    }

    fn len(&self) -> usize {
        self.tally.pairs()
    }

    fn count(&self, class: Responsiveness) -> usize {
        self.tally.count(class)
    }

    /// `stalled the server in all 12 pairs` / `kept the server answering in 5 of 6 pairs, was
    /// borderline in 1`.
    fn tally(&self) -> String {
        let n = self.len();
        let mut parts = Vec::new();
        for (class, word) in [
            (Responsiveness::Stalled, "stalled the server"),
            (Responsiveness::Borderline, "was borderline"),
            (Responsiveness::Responsive, "kept the server answering"),
        ] {
            let k = self.count(class);
            if k > 0 {
                parts.push((k, word));
            }
        }
        match parts.as_slice() {
            [(_, word)] if n == 2 => format!("{word} in both pairs"),
            [(_, word)] if n > 2 => format!("{word} in all {n} pairs"),
            _ => {
                let said: Vec<String> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, (k, word))| {
                        if i == 0 {
                            format!("{word} in {k} of {n} pairs")
                        } else {
                            format!("{word} in {k}")
                        }
                    })
                    .collect();
                and_list(&said)
            }
        }
    }

    /// `probe p99 2.54 ms – 8.09 ms (0.41× to 1.34× T1)`.
    fn probe(&self) -> String {
        let Some(Extremes {
            probe_p99_ms: (p0, p1),
            stall: (s0, s1),
        }) = Extremes::of(self.verdicts.iter().copied())
        else {
            return String::new();
        };
        format!("probe p99 {} ({} T1)", ms_span(p0, p1), span(s0, s1))
    }

    fn attributed(&self, a: Attribution) -> usize {
        self.verdicts
            .iter()
            .filter(|v| v.class == Responsiveness::Stalled && v.attribution == Some(a))
            .count()
    }
}

/// The result-returning offloads, best first ([`Facts::offloads_ranked`]), each with its group.
fn ranked<'a>(f: &'a Facts) -> Vec<(Strategy, Group<'a>)> {
    f.offloads_ranked
        .iter()
        .map(|&s| (s, Group::of(&f.verdicts, |v| v.key.strategy == s)))
        .collect()
}

/// The conditions every sentence holds under.
fn conditions(f: &Facts) -> String {
    let m = &f.run.metadata;
    let typical = f
        .t1_median_upper
        .map(|t| format!(" (one request alone: {} of work, the median T1)", ms(t)))
        .unwrap_or_default();
    let cores = match &m.server_cpus {
        Some(cpus) if cpus.len() == 1 => {
            "with the server pinned to 1 core of its own, the load generator on others".to_owned()
        }
        Some(cpus) => format!(
            "with the server pinned to {} cores of its own, the load generator on others",
            cpus.len()
        ),
        None => format!(
            "{} cores shared by the server and the load generator",
            m.cores
        ),
    };
    let kernel = &m.compute_kernel;
    let unit = common::kernel::find(common::kernel::KERNELS, kernel)
        .map(|k| format!(" {}(s)", k.unit()))
        .unwrap_or_default();
    let with = if f.run.external {
        format!(
            "on an external server (its own code and kernel; its answers were checked against \
             the `{kernel}` kernel's)"
        )
    } else {
        format!("with the `{kernel}` kernel")
    };
    let probe = m
        .probe_interval_ms
        .map(|i| format!(" every {}", ms(i)))
        .unwrap_or_default();
    format!(
        "Measured here {with}, n = {}{unit} per request{typical}, {} requests at once, \
         {cores}; probe p99: the 99th percentile of a `GET /health` sent{probe} during the \
         batches. At another work size or core count the balance moves: measure yours with \
         `--n`, or your own kernel with `--kernel`.",
        thousands(m.n),
        m.concurrency
    )
}

/// The Markdown of the "What to do" section, or nothing when the run has no verdicts (a
/// `--quick` run says it concludes nothing).
pub fn markdown(f: &Facts) -> String {
    let all = &f.verdicts;
    if all.is_empty() {
        return String::new();
    }
    let mut out = vec!["## What to do\n".to_owned()];
    if f.run.metadata.quick {
        out.push(
            "This is a `--quick` run: it checks that everything works and measures nothing. Run \
             `make all-bench` for a verdict.\n"
                .to_owned(),
        );
        return out.join("\n") + "\n";
    }
    // Each bullet with the claim its headline makes: a bullet one half of the passes did not
    // repeat is left out, and named after the others.
    let whole = |s: Strategy| claims::strategy(f, s, None);
    let inline_claims: Vec<Claim> = f
        .run
        .strategies
        .iter()
        .copied()
        .filter(|s| s.execution() == Execution::Inline)
        .filter_map(whole)
        .collect();
    let recommended: Vec<Claim> = f
        .recommended()
        .map(Claim::Recommended)
        .into_iter()
        .collect();
    let candidates: [(Option<Bullet>, Vec<Claim>); 7] = [
        (inline(f), inline_claims),
        (offload(f), recommended),
        // The task queue's and fire-and-forget's bullets stand on what they are (scaling out;
        // no result), not on a verdict: their tallies are figures, not their claim.
        (queue(f).map(Bullet::unclaimed), vec![]),
        (thread(f), whole(Strategy::Thread).into_iter().collect()),
        (background(f).map(Bullet::unclaimed), vec![]),
        (yielding(f).map(Bullet::unclaimed), vec![]),
        (runtime(f).map(Bullet::unclaimed), vec![]),
    ];
    let mut bullets = Vec::new();
    let mut left_out = Vec::new();
    for (bullet, said) in candidates.into_iter().filter_map(|(b, c)| Some((b?, c))) {
        if f.stable(&said) {
            bullets.extend(bullet.lines);
        } else {
            left_out.push(format!("{} ({})", bullet.headline, not_repeated(f, &said)));
        }
    }
    if !left_out.is_empty() {
        bullets.push(format!(
            "- *Left out because one half of the run's passes did not repeat it:* {}.",
            left_out.join("; ")
        ));
    }
    out.push(format!("{}\n", conditions(f)));
    out.push(bullets.join("\n"));
    out.push(String::new());
    out.join("\n") + "\n"
}

/// A bullet of "What to do": what it is named by when one half of the passes does not repeat
/// its claim (its bold headline), and its lines.
struct Bullet {
    /// `Do not compute in the async handler`.
    headline: String,
    /// The bullet and its sub-bullets.
    lines: Vec<String>,
}

impl Bullet {
    /// A bullet of one line with `headline`.
    fn new(headline: impl Into<String>, line: String) -> Bullet {
        Bullet {
            headline: headline.into(),
            lines: vec![line],
        }
    }

    /// A bullet that makes no claim of its own, so is never left out (nor named).
    fn unclaimed(line: String) -> Bullet {
        Bullet::new(String::new(), line)
    }
}

/// Which half of the passes did not repeat `said`: `the even passes did not`.
fn not_repeated(f: &Facts, said: &[Claim]) -> String {
    let Some(h) = &f.halves else {
        return String::new();
    };
    let (mut odd, mut even) = (true, true);
    for c in said {
        let held = h.claims.get(c);
        odd &= held.is_some_and(|x| x.odd);
        even &= held.is_some_and(|x| x.even);
    }
    match (odd, even) {
        (false, false) => "neither half of the passes repeated it".to_owned(),
        (false, true) => "the odd passes did not".to_owned(),
        _ => "the even passes did not".to_owned(),
    }
}

/// Inline work: stop doing it (or: at this size, it did no harm).
fn inline(f: &Facts) -> Option<Bullet> {
    let g = Group::of(&f.verdicts, |v| {
        v.key.strategy.execution() == Execution::Inline
    });
    if g.len() == 0 {
        return None;
    }
    let paths = paths(&f.run, Execution::Inline);
    if g.count(Responsiveness::Stalled) == 0 {
        let headline = "Inline work did no harm at this size";
        return Some(Bullet::new(
            headline,
            format!(
                "- **{headline}.** {paths} {} ({}): at this work per request an offload is not \
                 needed.",
                g.tally(),
                g.probe()
            ),
        ));
    }
    let blocked = g.attributed(Attribution::ExecutorBusy);
    let stalled = g.count(Responsiveness::Stalled);
    let why = if blocked > 0 {
        let which = if blocked == stalled {
            "in every one".to_owned()
        } else {
            format!("in {blocked} of them")
        };
        format!(
            "; {which} its executor threads were busy running the kernels: nothing else on \
             them runs, accepting connections included"
        )
    } else {
        String::new()
    };
    let headline = "Do not compute in the async handler";
    Some(Bullet::new(
        headline,
        format!(
            "- **{headline}.** Inline ({paths}) {}: {}{why}.",
            g.tally(),
            g.probe()
        ),
    ))
}

/// [`ranked`] without [`KERNEL_PER_REQUEST`]: the pools, best first.
fn pools(f: &Facts) -> Vec<(Strategy, Group<'_>)> {
    ranked(f)
        .into_iter()
        .filter(|(s, _)| !crate::analysis::verdict::KERNEL_PER_REQUEST.contains(s))
        .collect()
}

/// The offload that kept the server answering best, and the next best; when the run measured
/// no pool sized to the cores, what to add.
fn offload(f: &Facts) -> Option<Bullet> {
    let ranked = pools(f);
    let Some((best, g)) = ranked.first() else {
        return missing_pool(&f.run).map(|line| Bullet::new(MISSING_POOL, line));
    };
    let vs_thread = (*best != Strategy::Thread)
        .then(|| f.work_ratio(*best, Strategy::Thread))
        .flatten()
        .map(|(lo, hi)| format!("; its work time {} `/thread`'s", span(lo, hi)))
        .unwrap_or_default();
    // The heading says what the data say: a pool that stalled the server somewhere is the
    // best measured, not a fix.
    let heading = if g.count(Responsiveness::Stalled) == 0 {
        format!("Offload to a pool sized to the cores: `{}`", best.path())
    } else {
        format!(
            "No offload kept the server answering everywhere here; the best, `{}`, still \
             stalled it",
            best.path()
        )
    };
    let mut out = vec![format!(
        "- **{heading}.** Of the strategies that return the result, it {}: {}{vs_thread}. Code \
         to copy: {}.",
        g.tally(),
        g.probe(),
        code(*best)
    )];
    // The other result-returning strategies that did as well (no more stalled pairs).
    for (s, other) in ranked.iter().skip(1) {
        if !alternative(f, *s) {
            continue;
        }
        let when = match s {
            Strategy::Jobs => {
                "when the client can fetch the result later (a job id, then `GET \
                               /jobs/{id}?wait=true`)"
            }
            Strategy::Bounded => {
                "when overload must be refused (past its queue it answers `503` \
                                  with `Retry-After`)"
            }
            _ => "as well",
        };
        out.push(format!(
            "  - `{}` {when}: it {}: {}. Code: {}.",
            s.path(),
            answering(other),
            other.probe(),
            code(*s)
        ));
    }
    out.extend(missing_pool(&f.run));
    Some(Bullet {
        headline: heading,
        lines: out,
    })
}

/// What `g` did to the probe, as What to do says it of an alternative offload or the task
/// queue: the tally where a pair stalled, otherwise that none did. Whether every pair was
/// also *responsive* is the noise rule's undecided zone for these (their probe p99 reached
/// 0.8–0.97× T1 in some pair): three back-to-back runs of the same code called `/jobs` "kept
/// the server answering in all 9 pairs" in one and left it open in two (a pair borderline, or
/// one half of the passes not repeating it), while "stalled no pair" held in all three. The
/// stall table has each pair's verdict.
fn answering(g: &Group<'_>) -> String {
    if g.count(Responsiveness::Stalled) > 0 {
        g.tally()
    } else {
        "stalled no pair".to_owned()
    }
}

/// The headline of [`missing_pool`]'s bullet.
const MISSING_POOL: &str = "`/rayon` was not measured here";

/// When `/rayon` (the pool sized to the cores this benchmark recommends) was not measured:
/// what to add to measure it.
fn missing_pool(run: &Run) -> Option<String> {
    if run.measured(Strategy::Rayon) {
        return None;
    }
    let how = if run.external {
        "add a route that runs the work on a pool of as many threads as cores and awaits it \
         (`runtimes/tokio-axum/examples/own_server.rs` serves `/rayon` in 45 lines of axum), \
         then measure it with `--strategy` naming `rayon`"
    } else {
        "measure it with `--strategy` naming `rayon`"
    };
    Some(format!(
        "- **{MISSING_POOL}**, the offload to a pool sized to the cores that \
         keeps the executor free: {how}. Code to copy: {}.",
        code(Strategy::Rayon)
    ))
}

/// The task queue: when to use it, what its broker hop cost here (over `/jobs`, in µs) and
/// whether every job survived a worker killed mid-burst. Nothing when the run has no figure of
/// `/queue`.
fn queue(f: &Facts) -> Option<String> {
    let g = Group::of(&f.verdicts, |v| v.key.strategy == Strategy::Queue);
    let mut said = Vec::new();
    if g.len() > 0 {
        said.push(format!("In the batch it {}: {}.", answering(&g), g.probe()));
    }
    if let Some(hops) = &f.queue.hops
        && let Some(x) = hop_summary(&hops.settings)
    {
        let lone = lone_bounds(&hops.settings).map_or(String::new(), |span| {
            format!(
                "one job alone {}, C = {} at once ",
                us_span(span),
                f.run.metadata.concurrency
            )
        });
        said.push(format!(
            "Its broker hop over `/jobs` (sizes experiment, n = {}, median time to result paired \
             by pass): {lone}{}.",
            thousands(hops.n),
            us_span((x.median_us, x.median_us)),
        ));
    }
    if let Some(tally) = f.queue.fault.as_ref().filter(|t| t.runs > 0) {
        said.push(format!(
            "With a worker process killed mid-burst: {}",
            tally.summary()
        ));
    }
    if said.is_empty() {
        return None;
    }
    Some(format!(
        "- **To scale out past one machine: the task queue, `/queue`** (a Redis broker and \
         `queue-worker` processes, any number, anywhere; `GET /queue/{{id}}?wait=true`). {} \
         Code: {}.",
        said.join(" "),
        code(Strategy::Queue)
    ))
}

/// A thread per request: what it did here.
fn thread(f: &Facts) -> Option<Bullet> {
    let g = Group::of(&f.verdicts, |v| v.key.strategy == Strategy::Thread);
    if g.len() == 0 {
        return None;
    }
    let contention = g.attributed(Attribution::WaitingForCpu);
    if g.count(Responsiveness::Stalled) == 0 {
        let line = format!(
            "- `/thread` (a blocking-pool thread per request) {} here: {}.",
            g.tally(),
            g.probe()
        );
        // No bold headline: the bullet names itself, as it reads, without its full stop.
        let headline = line.trim_end_matches(['.', ':']).to_owned();
        return Some(Bullet::new(headline, line));
    }
    let stalled = g.count(Responsiveness::Stalled);
    // "The majority", with the count beside it: the count moved by one between two runs of the
    // same code, the majority did not.
    let why = if 2 * contention > stalled {
        format!(
            "; in the majority of them ({contention} of {stalled}) its executor threads were free \
             but waiting for a CPU: {} kernels at once share the cores with the executor",
            f.run.metadata.concurrency
        )
    } else if contention > 0 {
        format!(
            "; in {contention} of them its executor threads were free but waiting for a CPU: \
             {} kernels at once share the cores with the executor",
            f.run.metadata.concurrency
        )
    } else {
        String::new()
    };
    let headline = "Not a thread per request for CPU work";
    Some(Bullet::new(
        headline,
        format!(
            "- **{headline}** (`/thread`: `spawn_blocking`, `unblock`). It {}: {}{why}.{} Keep \
             the blocking pool for blocking I/O, where its threads mostly wait.",
            g.tally(),
            g.probe(),
            memory(f)
        ),
    ))
}

/// `/thread`'s peak memory against the recommended offload's, where both were measured and
/// they are clearly apart (every `/thread` pair above 1.5× every pair of the other): with a
/// memory-hungry kernel each of `/thread`'s many threads holds its own working memory at once.
fn memory(f: &Facts) -> String {
    let ranked = pools(f);
    let Some((best, _)) = ranked.first() else {
        return String::new();
    };
    let Some(m) = memory_apart(&f.pairs, Strategy::Thread, *best) else {
        return String::new();
    };
    let mib = |lo: f64, hi: f64| {
        if (lo - hi).abs() < 0.5 {
            format!("{lo:.0} MiB")
        } else {
            format!("{lo:.0}–{hi:.0} MiB")
        }
    };
    format!(
        " It also held more memory: the server's peak resident memory {} against `{}`'s {} \
         ({} as much), with every kernel's working memory live at once.",
        mib(m.more_mib.0, m.more_mib.1),
        best.path(),
        mib(m.less_mib.0, m.less_mib.1),
        span(m.ratio.0, m.ratio.1)
    )
}

/// Whether `s` is one of the offload bullet's alternatives (a result-returning pool after the
/// best, with no more stalled pairs than it), its tally and code said there.
fn alternative(f: &Facts, s: Strategy) -> bool {
    let ranked = pools(f);
    let Some((_, best)) = ranked.first() else {
        return false;
    };
    ranked.iter().skip(1).any(|(x, g)| {
        *x == s && g.count(Responsiveness::Stalled) <= best.count(Responsiveness::Stalled)
    })
}

/// Fire-and-forget against the job API.
fn background(f: &Facts) -> Option<String> {
    let g = Group::of(&f.verdicts, |v| v.key.strategy == Strategy::Background);
    if g.len() == 0 {
        return None;
    }
    let done = f
        .background_done()
        .map(|b| b.done_ms)
        .map(|(lo, hi)| {
            format!(
                "; its work was done {} after the batch started",
                ms_span(lo, hi)
            )
        })
        .unwrap_or_default();
    let jobs = Group::of(&f.verdicts, |v| v.key.strategy == Strategy::Jobs);
    let instead = if alternative(f, Strategy::Jobs) {
        " Use `/jobs` (above) instead: it gives the result.".to_owned()
    } else if jobs.len() > 0 {
        format!(
            " Use `/jobs` instead: it gives the result, and it {} ({}).",
            jobs.tally(),
            code(Strategy::Jobs)
        )
    } else {
        String::new()
    };
    Some(format!(
        "- **Do not fire and forget** (`/background`). It {}{done}, and no client learns the \
         result or a failure.{instead}",
        g.tally()
    ))
}

/// Yielding, runtime by runtime, in two classes: a runtime *kept* the server answering when
/// every pair of it was responsive and both halves of the passes say so; every other runtime
/// *did not keep every pair answering in both halves* (a pair stalled, or borderline, or one
/// half of the passes saw a stall). Telling those apart (stalled, borderline, halves
/// disagreeing) made two runs of the same code print different runtimes under each, although
/// the same ones fell outside *kept*: the classes beyond it are the noise rule's undecided
/// zone, and the stall table shows each pair's.
fn yielding(f: &Facts) -> Option<String> {
    let s = Strategy::CycleSleep;
    let g = Group::of(&f.verdicts, |v| v.key.strategy == s);
    if g.len() == 0 {
        return None;
    }
    let (mut kept, mut not_kept) = (Vec::new(), Vec::new());
    for (t, _) in &f.run.targets {
        let of = Group::of(&f.verdicts, |v| v.key.strategy == s && v.key.target == *t);
        if of.len() == 0 {
            continue;
        }
        let line = format!("{t} ({})", of.probe_short());
        let said = claims::strategy(f, s, Some(t));
        if of.count(Responsiveness::Responsive) == of.len() && f.stable(said.as_slice()) {
            kept.push(line);
        } else {
            not_kept.push(line);
        }
    }
    let mut parts = Vec::new();
    if !kept.is_empty() {
        parts.push(format!(
            "on {} it kept the server answering in every pair",
            and_list(&kept)
        ));
    } else {
        parts.push("on no runtime did it keep the server answering in every pair".to_owned());
    }
    if !not_kept.is_empty() && !kept.is_empty() {
        parts.push(format!(
            "on {} it did not keep every pair answering in both halves of the passes (a pair \
             stalled or borderline, or one half saw a stall: the stall table)",
            and_list(&not_kept)
        ));
    }
    let slow = f
        .work_ratio(s, Strategy::Cycle)
        .map(|(lo, hi)| {
            format!(
                " Its batches took {} the inline `/cycle`'s: yielding shares the executor, it \
                 adds no core.",
                span(lo, hi)
            )
        })
        .unwrap_or_default();
    Some(format!(
        "- **If the work must stay on the executor, yield** (`{}`, the runtime's `yield_now` \
         every `yield_every` iterations): {}.{slow} Code: {}.",
        s.path(),
        parts.join("; "),
        code(s)
    ))
}

impl Group<'_> {
    /// `probe p99 1.62 ms – 4.74 ms`.
    fn probe_short(&self) -> String {
        Extremes::of(self.verdicts.iter().copied())
            .map(|x| format!("probe p99 {}", ms_span(x.probe_p99_ms.0, x.probe_p99_ms.1)))
            .unwrap_or_default()
    }
}

/// Which runtime, for the recommended pattern.
fn runtime(f: &Facts) -> Option<String> {
    let targets = &f.run.targets;
    if targets.len() < 2 {
        return None;
    }
    let ranked = pools(f);
    let (best, _) = ranked.first()?;
    let mut alike = 0;
    let mut unclear = 0;
    let mut apart = Vec::new();
    for &w in &f.run.worker_counts {
        let Some(x) = f.runtimes(*best, w) else {
            continue;
        };
        let said = |apart| Claim::Runtimes {
            strategy: *best,
            workers: w,
            apart,
        };
        let named = Some((x.best.0.clone(), x.worst.0.clone()));
        match x.spread {
            // A comparison one half of the passes does not repeat is no finding.
            Spread::Alike if !f.stable(&[said(None)]) => unclear += 1,
            Spread::Apart if !f.stable(&[said(named)]) => unclear += 1,
            Spread::Alike => alike += 1,
            Spread::Unclear => unclear += 1,
            Spread::Apart => apart.push(format!(
                "with {} {} came nearest its ideal, {} furthest: {} the work time, each \
                 against its own T1",
                f.run.workers_label(w),
                x.best.0,
                x.worst.0,
                times(x.ratio())
            )),
        }
    }
    let verdict = if apart.is_empty() {
        format!(
            "**Pick the runtime for its ecosystem, not for this.** With `{}` the runtimes' work \
             times, each against its own T1, were {}",
            best.path(),
            match (alike, unclear) {
                (a, 0) if a > 0 => "alike within 10 % at every worker count".to_owned(),
                (0, _) => "within the rounds' noise of each other at every worker count".to_owned(),
                (a, u) =>
                    format!("alike at {a} worker count(s) and within the rounds' noise at {u}"),
            }
        )
    } else {
        format!(
            "**The runtime matters for `{}` here:** {}",
            best.path(),
            apart.join("; ")
        )
    };
    let yield_note = {
        let s = Strategy::CycleSleep;
        let differs = targets.iter().any(|(t, _)| {
            let g = Group::of(&f.verdicts, |v| v.key.strategy == s && v.key.target == *t);
            g.len() > 0 && g.count(Responsiveness::Responsive) == g.len()
        }) && targets.iter().any(|(t, _)| {
            let g = Group::of(&f.verdicts, |v| v.key.strategy == s && v.key.target == *t);
            g.len() > 0 && g.count(Responsiveness::Responsive) < g.len()
        });
        if differs {
            "; where they differ is work kept on the executor (yielding, above)"
        } else {
            ""
        }
    };
    Some(format!("- {verdict}{yield_note}."))
}

/// The paths of the strategies of one kind in the run: `` `/generator`, `/cycle` ``.
fn paths(run: &Run, kind: Execution) -> String {
    let ps: Vec<String> = run
        .strategies
        .iter()
        .copied()
        .filter(|s| s.execution() == kind)
        .map(|s| format!("`{}`", s.path()))
        .collect();
    ps.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Results;
    use crate::data::fake::{Pair, results};

    /// The section as the report renders it, from the facts of `r`.
    fn markdown(r: &Results) -> String {
        super::markdown(&Facts::of(r))
    }

    /// Inline stalls (probe 30 ms ≥ T1 10 ms in every round), /thread stalls by contention,
    /// /rayon and /jobs keep the server answering, /bounded is borderline.
    fn run() -> Results {
        let stalled = |t, s| Pair::new(t, 1, s, &[50.0, 52.0]).probes(30.0, &[30.0, 31.0]);
        let mut pairs = Vec::new();
        for t in ["tokio", "smol"] {
            pairs.push(
                stalled(t, Strategy::Cycle)
                    .server(28.0, 1.0)
                    .whose(Attribution::ExecutorBusy),
            );
            pairs.push(
                stalled(t, Strategy::Thread)
                    .server(1.0, 1.95)
                    .whose(Attribution::WaitingForCpu),
            );
            pairs.push(Pair::new(t, 1, Strategy::Rayon, &[40.0, 41.0]));
            pairs.push(Pair::new(t, 1, Strategy::Jobs, &[40.0, 42.0]).probes(2.0, &[2.0, 3.0]));
            pairs.push(Pair::new(t, 1, Strategy::Bounded, &[45.0, 46.0]).probes(9.0, &[8.0, 12.0]));
        }
        results(&pairs)
    }

    #[test]
    fn a_pool_that_stalled_is_not_headed_as_the_fix() {
        // /rayon stalled on smol (probe 30 ms ≥ T1 10 ms in every round): still the best
        // offload measured, but the heading says it stalled.
        let stalled = |t, s| Pair::new(t, 1, s, &[50.0, 52.0]).probes(30.0, &[30.0, 31.0]);
        let pairs = vec![
            Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 41.0]),
            stalled("smol", Strategy::Rayon),
            stalled("tokio", Strategy::Thread),
            stalled("smol", Strategy::Thread),
        ];
        let md = markdown(&results(&pairs));
        assert!(!md.contains("Offload to a pool sized to the cores"), "{md}");
        assert!(
            md.contains(
                "- **No offload kept the server answering everywhere here; the best, `/rayon`, \
                 still stalled it.** Of the strategies that return the result, it stalled the \
                 server in 1 of 2 pairs and kept the server answering in 1"
            ),
            "{md}"
        );
    }

    #[test]
    fn an_alternative_says_it_stalled_no_pair_not_how_many_were_responsive() {
        // /jobs: tokio responsive, smol borderline (one round's worst probe past T1 = 10 ms):
        // no pair stalled, and that is what its sub-bullet says, whatever the halves say of
        // the rest.
        let mut pairs = Vec::new();
        for t in ["tokio", "smol"] {
            pairs.push(Pair::new(t, 1, Strategy::Rayon, &[40.0; 4]));
        }
        pairs.push(Pair::new("tokio", 1, Strategy::Jobs, &[40.0; 4]));
        pairs.push(
            Pair::new("smol", 1, Strategy::Jobs, &[40.0; 4]).probes(6.0, &[4.0, 12.0, 4.0, 4.0]),
        );
        let f = Facts::of(&results(&pairs));
        let jobs = super::markdown(&f)
            .lines()
            .find(|l| l.starts_with("  - `/jobs`"))
            .map(str::to_owned)
            .unwrap_or_default();
        assert!(jobs.contains(": it stalled no pair: probe p99"), "{jobs}");
        assert!(!jobs.contains("kept the server answering"), "{jobs}");
    }

    #[test]
    fn a_recommendation_one_half_of_the_passes_does_not_make_is_left_out() {
        // /rayon on tokio: its odd passes' rounds reach T1 (12 ms of 10), its even ones do not:
        // borderline as a whole, so /rayon and /jobs are not told apart and /rayon leads; in the
        // odd passes alone it stalled, and /jobs leads there.
        let mut pairs = Vec::new();
        for t in ["tokio", "smol", "actix"] {
            let rayon = Pair::new(t, 1, Strategy::Rayon, &[40.0; 4]);
            pairs.push(if t == "tokio" {
                rayon.probes(12.0, &[12.0, 3.0, 12.0, 3.0])
            } else {
                rayon
            });
            pairs.push(Pair::new(t, 1, Strategy::Jobs, &[40.0; 4]));
        }
        let r = results(&pairs);
        let f = Facts::of(&r);
        assert_eq!(f.recommended(), Some(Strategy::Rayon));
        let h = f.halves.as_ref().expect("four passes");
        let held = h.claims.get(&Claim::Recommended(Strategy::Rayon));
        assert_eq!(held.map(|x| (x.odd, x.even)), Some((false, true)));
        let md = super::markdown(&f);
        assert!(
            !md.contains("- **Offload to a pool sized to the cores"),
            "{md}"
        );
        assert!(
            md.contains(
                "- *Left out because one half of the run's passes did not repeat it:* Offload \
                 to a pool sized to the cores: `/rayon` (the odd passes did not)."
            ),
            "{md}"
        );
        // The top line counts it and names it.
        let top = crate::render::halves::markdown(&f);
        assert!(
            top.contains(&format!(
                "**Split halves**: {} of the {} claims",
                h.held(),
                h.claims.len()
            )) && top.contains("held in both halves"),
            "{top}"
        );
        assert!(
            top.contains("not in the odd passes: the pool recommended, `/rayon`"),
            "{top}"
        );
    }

    #[test]
    fn the_verdict_recommends_what_kept_the_server_answering() {
        let md = markdown(&run());
        assert!(md.starts_with("## What to do\n"), "{md}");
        assert!(
            md.contains("**Do not compute in the async handler.** Inline (`/cycle`) stalled the server in both pairs"),
            "{md}"
        );
        assert!(
            md.contains("in every one its executor threads were busy running the kernels"),
            "{md}"
        );
        // The conditions, with what probe p99 and T1 are, come before the bullets.
        let conditions = md.find("Measured here").expect("conditions");
        assert!(conditions < md.find("- **").expect("a bullet"), "{md}");
        assert!(
            md.contains("probe p99: the 99th percentile of a `GET /health`"),
            "{md}"
        );
        // /rayon: every probe within T1 and the lowest probe p99: the recommendation.
        assert!(
            md.contains("**Offload to a pool sized to the cores: `/rayon`.**"),
            "{md}"
        );
        assert!(md.contains("`common/src/cpu_pool.rs`"), "{md}");
        assert!(md.contains("its work time 0.79× `/thread`'s"), "{md}");
        // /background: /jobs instead, its tally and code said once, under the offload.
        let mut with_bg = run();
        let more = results(&[Pair::new("tokio", 1, Strategy::Background, &[50.0, 52.0])
            .probes(30.0, &[30.0, 31.0])
            .done(&[60.0, 61.0])]);
        with_bg.summary.extend(more.summary);
        with_bg.rounds.extend(more.rounds);
        let bg = markdown(&with_bg);
        let line = bg
            .lines()
            .find(|l| l.starts_with("- **Do not fire and forget**"))
            .expect("the /background bullet");
        assert!(
            line.ends_with(" Use `/jobs` (above) instead: it gives the result."),
            "{bg}"
        );
        // /jobs did as well (no stalled pair); /bounded was borderline, not stalled: listed too.
        assert!(md.contains("`/jobs` when the client can fetch"), "{md}");
        assert!(
            md.contains("`/bounded` when overload must be refused"),
            "{md}"
        );
        assert!(
            md.contains("**Not a thread per request for CPU work**"),
            "{md}"
        );
        assert!(
            md.contains(
                "in the majority of them (2 of 2) its executor threads were free but waiting for \
                 a CPU"
            ),
            "{md}"
        );
        assert!(md.contains("n = 1,000"), "{md}");
    }

    #[test]
    fn the_verdict_follows_the_data_not_a_script() {
        // The same run, but /rayon stalled and /jobs did not: /jobs is recommended.
        let mut pairs = Vec::new();
        for t in ["tokio", "smol"] {
            pairs.push(Pair::new(t, 1, Strategy::Rayon, &[40.0, 41.0]).probes(30.0, &[30.0, 31.0]));
            pairs.push(Pair::new(t, 1, Strategy::Jobs, &[40.0, 42.0]));
            // Inline did no harm: said so, not "do not compute".
            pairs.push(Pair::new(t, 1, Strategy::Cycle, &[40.0, 42.0]));
        }
        let md = markdown(&results(&pairs));
        assert!(
            md.contains("**Offload to a pool sized to the cores: `/jobs`.**"),
            "{md}"
        );
        assert!(!md.contains("`/rayon` as well"), "{md}");
        assert!(
            md.contains("**Inline work did no harm at this size.**"),
            "{md}"
        );
        assert!(!md.contains("Do not compute"), "{md}");
    }

    #[test]
    fn yielding_names_the_runtimes_it_kept_answering_and_the_rest_together() {
        // T1 10 ms. tokio: every probe within T1; actix: one round's worst probe past it
        // (borderline); smol: every round past it (stalled). Which of the last two a run calls
        // borderline, stalled or unsettled moved between runs of the same code: both are "did
        // not", together.
        let pairs = vec![
            Pair::new("tokio", 1, Strategy::CycleSleep, &[40.0, 41.0]).probes(2.0, &[3.0, 4.0]),
            Pair::new("actix", 1, Strategy::CycleSleep, &[40.0, 41.0]).probes(6.0, &[4.0, 12.0]),
            Pair::new("smol", 1, Strategy::CycleSleep, &[40.0, 41.0]).probes(14.0, &[15.0, 16.0]),
            Pair::new("tokio", 1, Strategy::Cycle, &[40.0, 41.0]),
        ];
        let md = markdown(&results(&pairs));
        let line = md
            .lines()
            .find(|l| l.contains("If the work must stay on the executor, yield"))
            .expect("the yielding bullet");
        let kept = line.find("on tokio (").expect("tokio kept");
        let rest = line.find("on actix (").expect("actix and smol");
        assert!(kept < rest, "{line}");
        assert!(line[kept..rest].contains("kept the server answering in every pair"));
        assert!(line[rest..].contains(") and smol ("), "{line}");
        assert!(
            line[rest..]
                .contains("it did not keep every pair answering in both halves of the passes"),
            "{line}"
        );
        assert!(!line.contains("borderline (no pair"), "{line}");
        assert!(!line.contains("at least one pair"), "{line}");
    }

    #[test]
    fn queue_has_its_own_bullet_with_the_hop_and_the_fault_result() {
        // /queue keeps the probe lowest of all (its kernels run in other processes), yet it is
        // not "a pool sized to the cores": /rayon is recommended, /queue gets its own bullet.
        let mut pairs = Vec::new();
        for t in ["tokio", "smol"] {
            pairs.push(Pair::new(t, 1, Strategy::Rayon, &[40.0, 41.0]).probes(2.0, &[2.0, 3.0]));
            pairs.push(Pair::new(t, 1, Strategy::Jobs, &[40.0, 42.0]).probes(2.0, &[2.0, 3.0]));
            pairs.push(Pair::new(t, 1, Strategy::Queue, &[45.0, 46.0]).probes(0.2, &[0.2, 0.3]));
        }
        let mut r = results(&pairs);
        // The hop, from the sizes experiment at n = 0: /jobs' round medians 400 µs, /queue's
        // 600 µs more on tokio and 900 more on smol, in both passes; T1 (the rows' p50) 500 µs
        // more on tokio, 750 on smol.
        use crate::data::fake::{sizes_raw, sizes_row};
        for (t, d) in [("tokio", 600u64), ("smol", 900)] {
            let mut jobs = sizes_row(t, Strategy::Jobs, 0, 400.0, 900.0);
            let mut queue = sizes_row(t, Strategy::Queue, 0, 400.0 + d as f64 * 5.0 / 6.0, 9e3);
            jobs.rounds = 2;
            queue.rounds = 2;
            r.sizes.extend([jobs, queue]);
            for k in 1..=2 {
                r.sizes_raw
                    .extend(sizes_raw(t, Strategy::Jobs, 0, k, &[400]));
                r.sizes_raw
                    .extend(sizes_raw(t, Strategy::Queue, 0, k, &[400 + d]));
            }
        }
        let md = markdown(&r);
        assert!(
            md.contains("**Offload to a pool sized to the cores: `/rayon`.**"),
            "{md}"
        );
        assert!(!md.contains("`/queue` as well"), "{md}");
        assert!(
            md.contains("- **To scale out past one machine: the task queue, `/queue`**"),
            "{md}"
        );
        assert!(
            md.contains("Its broker hop over `/jobs` (sizes experiment, n = 0, median time to result paired by pass): one job alone +500 to +750 µs, C = 4 at once +900 µs."),
            "{md}"
        );
        assert!(md.contains("`queue-worker/src/lib.rs`"), "{md}");
        assert!(
            !md.contains("killed mid-burst"),
            "no queue experiment: {md}"
        );

        // With the queue experiment's fault run: its result is in the bullet.
        let mut fault = crate::data::QueueRow {
            target: "tokio".into(),
            runtime: "tokio".into(),
            framework: "axum".into(),
            workers: Some(2),
            n: Some(1000),
            result: "ok".into(),
            failure: None,
            run: "fault".into(),
            strategy: "queue".into(),
            queue_workers: Some(2),
            worker_threads: Some(2),
            lease_ms: Some(1000),
            pass: None,
            jobs: Some(16),
            accepted: Some(16),
            completed: Some(16),
            wrong: Some(0),
            lost: Some(0),
            killed_at_ms: Some(40.0),
            taken_over: Some(4),
            span_ms: Some(1200.0),
            throughput_rps: Some(13.3),
            latency_us_p50: None,
            latency_us_p99: None,
            probe_latency_us_p99: None,
            lag_us_p99: None,
            server_cpu_ms: None,
            workers_cpu_ms: None,
            broker_cpu_ms: None,
            client_cpu_ms: None,
            note: None,
        };
        r.queue = Some(crate::data::QueueResults {
            rows: vec![fault.clone()],
        });
        assert!(
            markdown(&r).contains("With a worker process killed mid-burst: every accepted job completed with the right total in 1/1 fault runs (4 taken over)."),
            "{}",
            markdown(&r)
        );
        fault.wrong = Some(2);
        r.queue = Some(crate::data::QueueResults { rows: vec![fault] });
        assert!(markdown(&r).contains("killed mid-burst: **JOBS LOST OR WRONG"));
    }

    #[test]
    fn thread_memory_is_named_only_when_clearly_apart() {
        let stalled = |s| Pair::new("tokio", 1, s, &[50.0, 52.0]).probes(30.0, &[30.0, 31.0]);
        let mut r = results(&[
            stalled(Strategy::Thread),
            Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 41.0]),
        ]);
        let set = |r: &mut Results, s: Strategy, mib: f64| {
            for p in r.summary.iter_mut().filter(|p| p.strategy == s) {
                p.server_peak_rss_mib_max = Some(mib);
            }
        };
        set(&mut r, Strategy::Thread, 2000.0);
        set(&mut r, Strategy::Rayon, 500.0);
        let md = markdown(&r);
        assert!(
            md.contains("peak resident memory 2000 MiB against `/rayon`'s 500 MiB (4.00× as much)"),
            "{md}"
        );
        set(&mut r, Strategy::Thread, 600.0);
        assert!(!markdown(&r).contains("more memory"));
    }

    #[test]
    fn runtimes_apart_beyond_the_noise_are_named() {
        let pairs = vec![
            Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 41.0]),
            Pair::new("smol", 1, Strategy::Rayon, &[80.0, 82.0]),
        ];
        let md = markdown(&results(&pairs));
        assert!(
            md.contains(
                "**The runtime matters for `/rayon` here:** with 1 worker tokio came nearest its \
                 ideal, smol furthest: 2.00× the work time, each against its own T1"
            ),
            "{md}"
        );
        let pairs = vec![
            Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 41.0]),
            Pair::new("smol", 1, Strategy::Rayon, &[40.5, 41.5]),
        ];
        assert!(markdown(&results(&pairs)).contains("Pick the runtime for its ecosystem"));
    }

    #[test]
    fn batch_times_and_t1s_apart_by_the_same_factor_are_no_runtime_difference() {
        // smol's rounds take 1.3× tokio's, and so does its lone request: the same work against
        // each one's own T1. (Measured at different moments, a slower minute does both.)
        let mut slow = Pair::new("smol", 1, Strategy::Rayon, &[52.0, 53.3]);
        slow.t1_ms = 13.0;
        let pairs = vec![Pair::new("tokio", 1, Strategy::Rayon, &[40.0, 41.0]), slow];
        let r = results(&pairs);
        let f = Facts::of(&r);
        let x = f.runtimes(Strategy::Rayon, Some(1)).expect("two runtimes");
        assert_eq!(x.spread, Spread::Alike);
        assert!((x.ratio() - 1.0).abs() < 0.01, "{}", x.ratio());
        let md = super::markdown(&f);
        assert!(
            md.contains(
                "**Pick the runtime for its ecosystem, not for this.** With `/rayon` the \
                 runtimes' work times, each against its own T1, were alike within 10 % at every \
                 worker count"
            ),
            "{md}"
        );
    }
}
