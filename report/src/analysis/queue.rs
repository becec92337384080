//! The task queue, computed: the broker hop per setting (`/queue`'s time to result minus
//! `/jobs`', from the sizes experiment at its smallest n, paired by pass and read at the median:
//! [`Hop::by_pass`]), and from queue_summary.csv each
//! configuration's figures over its passes ([`configurations`]), each target's scale-out
//! verdict (paired by pass) and the fault runs' tally. [`crate::render::queue`] defines them in its
//! module doc and renders them.

use common::Strategy;
use results_format::{QUEUE_RUN_FAULT, QUEUE_RUN_SCALE};

use crate::analysis::CORES_FULL_SCALE;
use crate::analysis::stats::{bounds, median_upper, nearest_rank};
use crate::data::queue::cores;
use crate::data::{QueueResults, QueueRow, Results, SizesRow, SummaryRow};

/// The cores a burst had, and whether bench-runner ran on them too.
pub use crate::data::Cores;
/// CPU times come in clock ticks of this many ms per process.
pub use crate::data::queue::CPU_TICK_MS;

/// Below this ratio of throughputs (most worker processes ÷ one) a second process is not
/// called a gain: a burst's throughput moves by several percent from run to run on shared
/// cores.
pub const SCALE_GAIN: f64 = 1.15;

/// One strategy's time to result in a setting, µs: (median, p99); `None` if not measured.
pub type TimeToResult = Option<(Option<f64>, Option<f64>)>;

/// The broker hop in one setting (a target with a worker count), at one n and load.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// `tokio ×2`.
    pub setting: String,
    /// `tokio + axum`.
    pub label: String,
    /// `/rayon`'s time to result.
    pub rayon: TimeToResult,
    /// `/jobs`'.
    pub jobs: TimeToResult,
    /// `/queue`'s.
    pub queue: TimeToResult,
    /// `/queue`'s T1 minus `/jobs`' (the fastest lone request of each), µs: the hop of one job
    /// alone.
    pub lone_us: Option<f64>,
    /// The hop in each pass where both strategies have a round of the setting, in pass order,
    /// µs: `/queue`'s round median minus `/jobs`' round median in the same pass (the same
    /// minutes of the machine). The hop is read here, at the median: a difference of two
    /// pooled p99s belongs to no pair of rounds (it was once −6.5 ms).
    pub by_pass: Vec<f64>,
}

impl Hop {
    /// The median of [`Hop::by_pass`] (the upper middle one of an even count), µs.
    pub fn median_us(&self) -> Option<f64> {
        median_upper(self.by_pass.iter().copied())
    }

    /// The smallest and largest of [`Hop::by_pass`], µs.
    pub fn range_us(&self) -> Bounds {
        bounds(self.by_pass.iter().copied())
    }
}

/// Each pass's hop from `/jobs`' and `/queue`'s round medians keyed by pass: `/queue`'s minus
/// `/jobs`' in every pass both have, in pass order.
fn paired(jobs: &[(u32, f64)], queue: &[(u32, f64)]) -> Vec<f64> {
    let mut out: Vec<(u32, f64)> = queue
        .iter()
        .filter_map(|&(p, q)| {
            let j = jobs.iter().find(|(pj, _)| *pj == p)?.1;
            Some((p, q - j))
        })
        .collect();
    out.sort_by_key(|x| x.0);
    out.into_iter().map(|x| x.1).collect()
}

/// The broker hop of every setting of the sizes experiment with a `/queue` row, at the
/// sweep's smallest n (n = 0 by default: no work, so the difference is the hop alone).
#[derive(Debug, Clone, PartialEq)]
pub struct Hops {
    /// The n the hops were read at.
    pub n: u64,
    /// A hop per setting, in file order.
    pub settings: Vec<Hop>,
}

/// Settings in file order, each once: `(target, workers, label)`.
fn settings_of<'a>(
    rows: impl Iterator<Item = (&'a str, Option<u32>, String)>,
) -> Vec<(String, Option<u32>, String)> {
    let mut out: Vec<(String, Option<u32>, String)> = Vec::new();
    for (t, w, label) in rows {
        if !out.iter().any(|(t0, w0, _)| t0 == t && *w0 == w) {
            out.push((t.to_owned(), w, label));
        }
    }
    out
}

fn short(target: &str, workers: Option<u32>) -> String {
    match workers {
        Some(w) => format!("{target} ×{w}"),
        None => target.to_owned(),
    }
}

/// The hop in every setting of the sizes experiment with a `/queue` row, at the sweep's
/// smallest n; `None` when the sweep has no `/queue` row.
pub fn sizes_hops(r: &Results) -> Option<Hops> {
    let n0 = r.sizes.iter().map(|s| s.n).min()?;
    let with_queue = r
        .sizes
        .iter()
        .filter(|s| s.strategy == Strategy::Queue && s.n == n0);
    let settings = settings_of(with_queue.map(|s| (s.target.as_str(), s.workers, s.label())));
    if settings.is_empty() {
        return None;
    }
    // A strategy's measured (ok) row of a setting at n0.
    let ok_row = |t: &str, w: Option<u32>, st: Strategy| -> Option<&SizesRow> {
        r.sizes
            .iter()
            .find(|s| s.target == t && s.workers == w && s.strategy == st && s.n == n0)
            .filter(|s| s.ok())
    };
    let of = |t: &str, w: Option<u32>, st: Strategy| -> TimeToResult {
        ok_row(t, w, st).map(|s| (s.latency_us_p50, s.latency_us_p99))
    };
    let t1 = |t: &str, w: Option<u32>, st: Strategy| ok_row(t, w, st).and_then(|s| s.t1_us);
    // A round is in the pair's k-th pass when every visit reached n0: only pairs with as many
    // rounds at n0 as the most of any are paired by round number.
    let full = r.sizes.iter().filter(|s| s.n == n0).map(|s| s.rounds).max();
    let rounds = |t: &str, w: Option<u32>, st: Strategy| -> Vec<(u32, f64)> {
        if ok_row(t, w, st).is_none_or(|s| Some(s.rounds) != full) {
            return vec![];
        }
        let mut of: std::collections::BTreeMap<u32, Vec<f64>> = Default::default();
        for x in r.sizes_raw.iter().filter(|x| {
            x.target == t
                && x.workers == w
                && x.strategy == st
                && x.n == n0
                && x.answered_in_round()
        }) {
            of.entry(x.round).or_default().push(x.latency_us as f64);
        }
        of.into_iter()
            .filter_map(|(round, mut us)| {
                us.sort_by(f64::total_cmp);
                Some((round, nearest_rank(&us, 0.5)?))
            })
            .collect()
    };
    let hops = settings
        .into_iter()
        .map(|(t, w, label)| Hop {
            setting: short(&t, w),
            label,
            rayon: of(&t, w, Strategy::Rayon),
            jobs: of(&t, w, Strategy::Jobs),
            queue: of(&t, w, Strategy::Queue),
            lone_us: t1(&t, w, Strategy::Queue)
                .zip(t1(&t, w, Strategy::Jobs))
                .map(|(q, j)| q - j),
            by_pass: paired(
                &rounds(&t, w, Strategy::Jobs),
                &rounds(&t, w, Strategy::Queue),
            ),
        })
        .collect();
    Some(Hops {
        n: n0,
        settings: hops,
    })
}

/// The smallest and largest of some figures: `(lo, hi)`.
pub type Bounds = Option<(f64, f64)>;

/// The hop over a table's settings: every setting's per-pass hops ([`Hop::by_pass`]) pooled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HopSummary {
    /// The median of them all (the upper middle one of an even count), µs.
    pub median_us: f64,
    /// The smallest and largest single pass's hop, µs.
    pub range_us: (f64, f64),
    /// The smallest and largest of the settings' own medians ([`Hop::median_us`]), µs.
    pub settings_us: (f64, f64),
    /// How many passes' hops it rests on.
    pub passes: usize,
    /// How many settings have a hop.
    pub settings: usize,
}

/// The hop over `hops`; `None` when no setting has `/jobs` and `/queue` in a same pass.
pub fn hop_summary(hops: &[Hop]) -> Option<HopSummary> {
    let all: Vec<f64> = hops
        .iter()
        .flat_map(|h| h.by_pass.iter().copied())
        .collect();
    Some(HopSummary {
        median_us: median_upper(all.iter().copied())?,
        range_us: bounds(all.iter().copied())?,
        settings_us: bounds(hops.iter().filter_map(Hop::median_us))?,
        passes: all.len(),
        settings: hops.iter().filter(|h| !h.by_pass.is_empty()).count(),
    })
}

/// The smallest and largest lone hop over `hops`, µs ([`Hop::lone_us`]).
pub fn lone_bounds(hops: &[Hop]) -> Bounds {
    bounds(hops.iter().filter_map(|h| h.lone_us))
}

/// Each configuration's figures over its bursts (one per pass), in the order of their first
/// burst: a configuration is a target's run (`scale`, `fault`) of a strategy with a count of
/// worker processes. The counts (jobs, accepted, completed, wrong, lost, taken over) are summed
/// over the bursts; every other figure is the median of the bursts' (the upper middle one of
/// an even number, as "What to do" quotes); `pass` is `None`. A target's row without figures
/// stays as it is; the result is the first that is not `ok`, else `ok`. With one burst per
/// configuration (one pass, or a file older than passes) the figures are the burst's own.
pub fn configurations(q: &QueueResults) -> QueueResults {
    let key = |x: &QueueRow| {
        (
            x.target.clone(),
            x.run.clone(),
            x.strategy.clone(),
            x.queue_workers,
        )
    };
    let mut groups: Vec<Vec<&QueueRow>> = Vec::new();
    for x in &q.rows {
        match groups
            .iter_mut()
            .find(|g| !x.run.is_empty() && key(g[0]) == key(x))
        {
            Some(g) => g.push(x),
            None => groups.push(vec![x]),
        }
    }
    // A target's configurations in one order whatever order the passes ran them in:
    // `scale` before `fault`, `/jobs` before `/queue`, fewer worker processes first (the order
    // bench-runner wrote them in before passes). The sort is stable: targets keep file order.
    let targets: Vec<String> = targets(q).into_iter().map(|(t, _)| t).collect();
    groups.sort_by_key(|g| {
        let x = g[0];
        (
            targets.iter().position(|t| *t == x.target),
            x.run == QUEUE_RUN_FAULT,
            x.is_queue(),
            x.queue_workers,
        )
    });
    QueueResults {
        rows: groups.iter().map(|g| combine(g)).collect(),
    }
}

/// One configuration's bursts as one row ([`configurations`]).
fn combine(bursts: &[&QueueRow]) -> QueueRow {
    let mut row = bursts[0].clone();
    if bursts.len() == 1 {
        row.pass = None;
        return row;
    }
    let sum = |f: fn(&QueueRow) -> Option<u64>| -> Option<u64> {
        bursts.iter().map(|x| f(x)).sum::<Option<u64>>()
    };
    let median = |f: fn(&QueueRow) -> Option<f64>| median_upper(bursts.iter().filter_map(|x| f(x)));
    if let Some(bad) = bursts.iter().find(|x| !x.ok()) {
        row.result.clone_from(&bad.result);
    }
    row.failure = bursts.iter().find_map(|x| x.failure.clone());
    row.pass = None;
    row.jobs = sum(|x| x.jobs);
    row.accepted = sum(|x| x.accepted);
    row.completed = sum(|x| x.completed);
    row.wrong = sum(|x| x.wrong);
    row.lost = sum(|x| x.lost);
    row.taken_over = sum(|x| x.taken_over);
    row.killed_at_ms = median(|x| x.killed_at_ms);
    row.span_ms = median(|x| x.span_ms);
    row.throughput_rps = median(|x| x.throughput_rps);
    row.latency_us_p50 = median(|x| x.latency_us_p50);
    row.latency_us_p99 = median(|x| x.latency_us_p99);
    row.probe_latency_us_p99 = median(|x| x.probe_latency_us_p99);
    row.lag_us_p99 = median(|x| x.lag_us_p99);
    row.server_cpu_ms = median(|x| x.server_cpu_ms);
    row.workers_cpu_ms = median(|x| x.workers_cpu_ms);
    row.broker_cpu_ms = median(|x| x.broker_cpu_ms);
    row.client_cpu_ms = median(|x| x.client_cpu_ms);
    row
}

/// The most bursts of one configuration: the passes the queue experiment ran (1 in files
/// older than passes).
pub fn passes(q: &QueueResults) -> usize {
    q.rows
        .iter()
        .filter(|x| !x.run.is_empty())
        .filter_map(|x| x.pass)
        .max()
        .map_or(1, |p| p as usize)
}

/// The scale-out runs of one target, in file order.
pub fn scale_rows<'a>(q: &'a QueueResults, target: &str) -> Vec<&'a QueueRow> {
    q.rows
        .iter()
        .filter(|x| x.target == target && x.run == QUEUE_RUN_SCALE)
        .collect()
}

/// Targets of the queue experiment in file order, with their `runtime + framework` label.
pub fn targets(q: &QueueResults) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for x in &q.rows {
        if !out.iter().any(|(t, _)| *t == x.target) {
            out.push((x.target.clone(), format!("{} + {}", x.runtime, x.framework)));
        }
    }
    out
}

/// What 1 and the most worker processes gave one target, and what limited it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleVerdict {
    /// Target name.
    pub target: String,
    /// One process's throughput (results/s) and CPU busy (fraction, lower bound?).
    pub one: (f64, Option<(f64, bool)>),
    /// The most processes measured, their throughput and CPU busy.
    pub most: (u32, f64, Option<(f64, bool)>),
    /// `most` ÷ `one`: the median over the passes of the two bursts' ratio in the same pass
    /// (the same server process, a minute apart at most); with one burst each, their ratio.
    pub ratio: f64,
    /// The smallest and largest of the passes' ratios and how many passes had both bursts;
    /// `None` with fewer than two such passes.
    pub ratio_range: Option<(f64, f64, usize)>,
    /// `/jobs`' throughput in the same run, results/s.
    pub jobs_rps: Option<f64>,
    /// What limited it.
    pub limit: Limit,
    /// How far the one-process run's CPU busy may be off from the clock ticks alone.
    pub one_resolution: Option<f64>,
}

impl ScaleVerdict {
    /// The most worker processes' throughput ÷ `/jobs`' in process in the same run; `None`
    /// without a `/jobs` figure.
    pub fn vs_jobs(&self) -> Option<f64> {
        let j = self.jobs_rps.filter(|j| *j > 0.0)?;
        Some(self.most.1 / j)
    }
}

/// The most CPU busy may be off by from the clock ticks alone, over the scale-out runs among
/// `bursts`.
pub fn scale_resolution<'a>(bursts: impl IntoIterator<Item = &'a Burst>) -> Option<f64> {
    bursts
        .into_iter()
        .filter(|x| x.run == QUEUE_RUN_SCALE)
        .filter_map(|x| x.cpu_busy_resolution)
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        })
}

/// A CPU busy off by more than this from the clock ticks alone is said to be coarse: the
/// verdict on the cores then says so.
pub const COARSE: f64 = 0.1;

/// What limited the throughput of a target's worker processes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// The extra processes added less than [`SCALE_GAIN`]×, and the cores were at least
    /// [`CORES_FULL_SCALE`] busy with one process.
    Cores,
    /// The extra processes added at least [`SCALE_GAIN`]×, however busy the cores were with
    /// one: they had room.
    Scaled,
    /// Neither: the cores had room, yet more processes added little.
    Elsewhere,
    /// The passes do not settle it: their ratios fall on both sides of [`SCALE_GAIN`] (the
    /// smallest below it, the largest at or above it).
    Unsettled,
}

/// The ratio of `most` worker processes' throughput to one's in each pass that has a sound
/// burst of both, in pass order.
fn paired_ratios(bursts: &QueueResults, target: &str, most: u32) -> Vec<f64> {
    let scale = scale_rows(bursts, target);
    let of = |w: u32, pass: u32| {
        scale
            .iter()
            .find(|x| {
                x.sound() && x.is_queue() && x.queue_workers == Some(w) && x.pass == Some(pass)
            })
            .and_then(|x| x.throughput_rps)
    };
    let mut passes: Vec<u32> = scale.iter().filter_map(|x| x.pass).collect();
    passes.sort_unstable();
    passes.dedup();
    passes
        .into_iter()
        .filter_map(|p| Some((of(most, p)?, of(1, p)?)))
        .filter(|(_, one)| *one > 0.0)
        .map(|(m, one)| m / one)
        .collect()
}

/// The verdict of `target` from `q`'s configurations ([`configurations`] of `bursts`):
/// `None` without an ok `/queue` run with one worker process and one with more. The ratio is
/// paired by pass where `bursts` has passes.
pub fn scale_verdict(
    q: &QueueResults,
    bursts: &QueueResults,
    target: &str,
    cores: Cores,
) -> Option<ScaleVerdict> {
    let rows = scale_rows(q, target);
    let queue: Vec<&QueueRow> = rows
        .iter()
        .copied()
        .filter(|x| x.sound() && x.is_queue())
        .collect();
    let one = queue.iter().find(|x| x.queue_workers == Some(1))?;
    let most = queue
        .iter()
        .filter(|x| x.queue_workers.is_some_and(|w| w > 1))
        .max_by_key(|x| x.queue_workers)?;
    let one_rps = one.throughput_rps?;
    let most_rps = most.throughput_rps?;
    if one_rps <= 0.0 {
        return None;
    }
    let paired = paired_ratios(bursts, target, most.queue_workers?);
    let ratio = median_upper(paired.iter().copied()).unwrap_or(most_rps / one_rps);
    let ratio_range = (paired.len() >= 2)
        .then(|| bounds(paired.iter().copied()).map(|(lo, hi)| (lo, hi, paired.len())))
        .flatten();
    let one_busy = one.cpu_busy(cores);
    // The gain first: a second process that added throughput did so whatever the cores' busy
    // figure says (busy is a mean over the burst, ± a clock tick per process). Checked the
    // other way round, busy 0.81 with ratio 1.18 printed "adds no throughput".
    // With passes, the decision is the passes' range against the threshold (of 6 passes, the
    // smallest and the largest ratio bound the median with about 97 % confidence): a gain only
    // when every pass gained at least SCALE_GAIN×, no gain only when none did. One run called
    // a target's 1.30× (1.10–1.35×) a gain and the rerun its 1.11× (1.07–1.33×) the cores'
    // limit; both are "not settled".
    let unsettled = ratio_range.is_some_and(|(lo, hi, _)| lo < SCALE_GAIN && hi >= SCALE_GAIN);
    let limit = match one_busy {
        _ if unsettled => Limit::Unsettled,
        _ if ratio >= SCALE_GAIN => Limit::Scaled,
        Some((busy, _)) if busy >= CORES_FULL_SCALE => Limit::Cores,
        _ => Limit::Elsewhere,
    };
    Some(ScaleVerdict {
        target: target.to_owned(),
        one: (one_rps, one_busy),
        most: (most.queue_workers?, most_rps, most.cpu_busy(cores)),
        ratio,
        ratio_range,
        jobs_rps: rows
            .iter()
            .find(|x| x.sound() && x.strategy == Strategy::Jobs.name())
            .and_then(|x| x.throughput_rps),
        limit,
        one_resolution: one.cpu_busy_resolution(cores),
    })
}

/// The fault runs' tally: clean runs, all ok runs, jobs taken over; and each target that
/// lost or got wrong jobs, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultTally {
    /// Fault runs in which every accepted job completed with the right total.
    pub clean: usize,
    /// Fault runs with their counts.
    pub runs: usize,
    /// Jobs taken over by the surviving workers, over the clean runs.
    pub taken_over: u64,
    /// Each run that was not clean, in file order.
    pub bad: Vec<BadRun>,
    /// Targets whose fault run killed no worker (the burst ended first).
    pub no_kill: Vec<String>,
}

/// A fault run in which some accepted job did not come back right.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRun {
    /// Target name.
    pub target: String,
    /// Its pass, when the file has passes.
    pub pass: Option<u32>,
    /// Jobs accepted.
    pub accepted: Option<u64>,
    /// Jobs lost, when some were.
    pub lost: Option<u64>,
    /// Jobs answered wrong, when some were.
    pub wrong: Option<u64>,
    /// Jobs completed, when not as many as accepted.
    pub completed: Option<u64>,
}

/// The fault runs that have their counts, whatever their `result`: a target whose fault run
/// lost a job is `failed`, and must be counted here, loudly.
pub fn fault_rows(q: &QueueResults) -> impl Iterator<Item = &QueueRow> {
    q.rows
        .iter()
        .filter(|x| x.run == QUEUE_RUN_FAULT && x.accepted.is_some())
}

/// The tally of the fault runs: of every burst (`q` as read, one per pass), so that a job lost
/// in any pass is named with its pass.
pub fn fault_tally(q: &QueueResults) -> FaultTally {
    let runs: Vec<&QueueRow> = fault_rows(q).collect();
    let mut t = FaultTally {
        clean: 0,
        runs: runs.len(),
        taken_over: 0,
        bad: Vec::new(),
        no_kill: Vec::new(),
    };
    for x in runs {
        if x.killed_at_ms.is_none() && !t.no_kill.contains(&x.target) {
            t.no_kill.push(x.target.clone());
        }
        if x.clean() == Some(true) {
            t.clean += 1;
            t.taken_over += x.taken_over.unwrap_or(0);
        } else {
            t.bad.push(BadRun {
                target: x.target.clone(),
                pass: x.pass,
                accepted: x.accepted,
                lost: x.lost.filter(|l| *l > 0),
                wrong: x.wrong.filter(|w| *w > 0),
                completed: x.completed.filter(|c| x.accepted.is_some_and(|a| a != *c)),
            });
        }
    }
    t
}

/// One configuration of the queue experiment (a target's run of a strategy with a count of
/// worker processes, over its passes: [`configurations`]), or one burst, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Target name.
    pub target: String,
    /// `scale` or `fault`; empty on a target's row without figures.
    pub run: String,
    /// `jobs` or `queue`.
    pub strategy: String,
    /// `ok`, `failed`, `not_applicable`.
    pub result: String,
    /// Why it is not `ok` (its failure, else its note).
    pub why: Option<String>,
    /// Measured (`ok`).
    pub ok: bool,
    /// It has figures: a span and a throughput.
    pub measured: bool,
    /// Measured, and every accepted job came back done with the right total.
    pub sound: bool,
    /// A run of `/queue` (not `/jobs`' reference).
    pub is_queue: bool,
    /// Kernel size.
    pub n: Option<u64>,
    /// Worker processes.
    pub queue_workers: Option<u32>,
    /// Threads per worker process.
    pub worker_threads: Option<u32>,
    /// The jobs' lease, ms.
    pub lease_ms: Option<u64>,
    /// Jobs submitted.
    pub jobs: Option<u64>,
    /// Jobs accepted.
    pub accepted: Option<u64>,
    /// Jobs completed.
    pub completed: Option<u64>,
    /// Jobs answered wrong.
    pub wrong: Option<u64>,
    /// Jobs lost.
    pub lost: Option<u64>,
    /// Jobs taken over by a surviving worker.
    pub taken_over: Option<u64>,
    /// When the worker was killed, from the run's start, ms.
    pub killed_at_ms: Option<f64>,
    /// First submit to last result, ms.
    pub span_ms: Option<f64>,
    /// Completed ÷ span, results/s.
    pub throughput_rps: Option<f64>,
    /// Time to result, median, µs.
    pub latency_us_p50: Option<f64>,
    /// Time to result, p99, µs.
    pub latency_us_p99: Option<f64>,
    /// Probe p99, µs.
    pub probe_latency_us_p99: Option<f64>,
    /// The server's executor lag p99, µs.
    pub lag_us_p99: Option<f64>,
    /// CPU busy over the span (a fraction of the cores) and whether it is a lower bound.
    pub cpu_busy: Option<(f64, bool)>,
    /// How far CPU busy may be off from the clock ticks alone.
    pub cpu_busy_resolution: Option<f64>,
}

impl Burst {
    /// The burst of a row, its CPU busy over `cores`.
    pub fn of(x: &QueueRow, cores: Cores) -> Burst {
        Burst {
            target: x.target.clone(),
            run: x.run.clone(),
            strategy: x.strategy.clone(),
            result: x.result.clone(),
            why: x.why().map(str::to_owned),
            ok: x.ok(),
            measured: x.measured(),
            sound: x.sound(),
            is_queue: x.is_queue(),
            n: x.n,
            queue_workers: x.queue_workers,
            worker_threads: x.worker_threads,
            lease_ms: x.lease_ms,
            jobs: x.jobs,
            accepted: x.accepted,
            completed: x.completed,
            wrong: x.wrong,
            lost: x.lost,
            taken_over: x.taken_over,
            killed_at_ms: x.killed_at_ms,
            span_ms: x.span_ms,
            throughput_rps: x.throughput_rps,
            latency_us_p50: x.latency_us_p50,
            latency_us_p99: x.latency_us_p99,
            probe_latency_us_p99: x.probe_latency_us_p99,
            lag_us_p99: x.lag_us_p99,
            cpu_busy: x.cpu_busy(cores),
            cpu_busy_resolution: x.cpu_busy_resolution(cores),
        }
    }
}

/// Why no `/queue` figure exists in the run (the first reason a row gives, e.g. no broker), or
/// `None` when some `/queue` pair or queue run was measured.
pub fn never_measured(r: &Results) -> Option<String> {
    let summary = r.summary.iter().filter(|s| s.strategy == Strategy::Queue);
    let sizes = r.sizes.iter().filter(|s| s.strategy == Strategy::Queue);
    let queue = r.queue.iter().flat_map(|q| &q.rows);
    if summary.clone().any(SummaryRow::ok)
        || sizes.clone().any(SizesRow::ok)
        || queue.clone().any(|x| x.ok() || x.measured())
    {
        return None;
    }
    let reasons = summary
        .map(|s| (s.result.as_str(), s.failure.as_deref()))
        .chain(queue.map(|x| (x.result.as_str(), x.why())));
    let mut first = None;
    for (result, failure) in reasons {
        if let Some(f) = failure.filter(|f| !f.is_empty()) {
            first = Some(format!("{result}, {f}"));
            break;
        }
        first.get_or_insert_with(|| result.to_owned());
    }
    Some(first.unwrap_or_else(|| "no row was measured".into()))
}

/// Whether the run has anything for the task queue's section: the queue experiment, or
/// `/queue` pairs in the batch or sizes experiment.
pub fn present(r: &Results) -> bool {
    r.queue.is_some()
        || r.summary.iter().any(|s| s.strategy == Strategy::Queue)
        || r.sizes.iter().any(|s| s.strategy == Strategy::Queue)
}

/// Everything the task queue's section and "What to do" say about `/queue`, computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueFacts {
    /// The run has something for the section ([`present`]).
    pub present: bool,
    /// Why no `/queue` figure exists ([`never_measured`]); `None` when some was measured.
    pub never_measured: Option<String>,
    /// The broker hops, from the sizes experiment when it measured `/queue`. The batch's
    /// `/queue` − `/jobs` is not one: at its n each time to result is mostly the cores' wait.
    pub hops: Option<Hops>,
    /// The cores the bursts had.
    pub cores: Cores,
    /// Each configuration with its figures over its passes ([`configurations`]); `None` when
    /// the run did not measure the queue experiment.
    pub configurations: Option<Vec<Burst>>,
    /// The queue experiment's targets in file order, with their `runtime + framework` label.
    pub targets: Vec<(String, String)>,
    /// The first burst measured, as run (not over its passes).
    pub first_burst: Option<Burst>,
    /// The passes the queue experiment ran.
    pub passes: usize,
    /// The scale-out verdict of each target of the queue experiment that has one, in file
    /// order.
    pub scale: Vec<ScaleVerdict>,
    /// The fault runs' tally; `None` when the run did not measure the queue experiment.
    pub fault: Option<FaultTally>,
}

impl QueueFacts {
    /// The facts of `r`'s `/queue` measurements.
    pub fn of(r: &Results) -> QueueFacts {
        let cores = cores(&r.metadata);
        let configs = r.queue.as_ref().map(configurations);
        let scale = r
            .queue
            .as_ref()
            .zip(configs.as_ref())
            .map_or_else(Vec::new, |(b, q)| {
                targets(q)
                    .iter()
                    .filter_map(|(t, _)| scale_verdict(q, b, t, cores))
                    .collect()
            });
        QueueFacts {
            present: present(r),
            never_measured: never_measured(r),
            hops: sizes_hops(r),
            cores,
            passes: r.queue.as_ref().map_or(1, passes),
            targets: configs.as_ref().map(targets).unwrap_or_default(),
            configurations: configs
                .as_ref()
                .map(|q| q.rows.iter().map(|x| Burst::of(x, cores)).collect()),
            first_burst: r
                .queue
                .iter()
                .flat_map(|b| &b.rows)
                .find(|x| x.measured())
                .map(|x| Burst::of(x, cores)),
            scale,
            fault: r.queue.as_ref().map(fault_tally),
        }
    }

    /// The scale-out configurations of one target, in order.
    pub fn scale_of(&self, target: &str) -> Vec<&Burst> {
        self.configurations
            .iter()
            .flatten()
            .filter(|x| x.target == target && x.run == QUEUE_RUN_SCALE)
            .collect()
    }

    /// The fault configurations that have their counts, whatever their `result` (as
    /// [`fault_rows`] picks them).
    pub fn faults(&self) -> Vec<&Burst> {
        self.configurations
            .iter()
            .flatten()
            .filter(|x| x.run == QUEUE_RUN_FAULT && x.accepted.is_some())
            .collect()
    }
}
