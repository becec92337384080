//! The task queue, computed: the broker hop per setting (`/queue`'s time to result minus
//! `/jobs`', from the sizes and the batch experiments), and from queue_summary.csv each
//! target's scale-out verdict and the fault runs' tally. [`crate::queue`] defines them in its
//! module doc and renders them.

use common::Strategy;
use results_format::{QUEUE_RUN_FAULT, QUEUE_RUN_SCALE};

use crate::analysis::CORES_FULL_SCALE;
use crate::analysis::stats::bounds;
use crate::data::queue::cores;
use crate::data::{Cores, QueueResults, QueueRow, Results, SizesRow, SummaryRow};
use crate::format::{and_list, count_cell};

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
    /// alone; sizes experiment only.
    pub lone_us: Option<f64>,
}

impl Hop {
    /// `/queue`'s median minus `/jobs`', µs.
    pub fn p50_us(&self) -> Option<f64> {
        Some(self.queue?.0? - self.jobs?.0?)
    }

    /// `/queue`'s p99 minus `/jobs`', µs.
    pub fn p99_us(&self) -> Option<f64> {
        Some(self.queue?.1? - self.jobs?.1?)
    }
}

/// Where a hop table's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopSource {
    /// sizes_summary.csv at this n (the sweep's smallest).
    Sizes(u64),
    /// summary.csv, at the batch's n.
    Batch(u64),
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
pub fn sizes_hops(r: &Results) -> Option<(HopSource, Vec<Hop>)> {
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
        })
        .collect();
    Some((HopSource::Sizes(n0), hops))
}

/// The hop in every setting of the batch experiment with a `/queue` row; `None` when
/// summary.csv has none.
pub fn batch_hops(r: &Results) -> Option<(HopSource, Vec<Hop>)> {
    let with_queue = r.summary.iter().filter(|s| s.strategy == Strategy::Queue);
    let settings = settings_of(with_queue.map(|s| (s.target.as_str(), s.workers, s.label())));
    if settings.is_empty() {
        return None;
    }
    let of = |t: &str, w: Option<u32>, st: Strategy| -> TimeToResult {
        r.ok_pair(t, w, st)
            .map(|s: &SummaryRow| (s.latency_us_p50, s.latency_us_p99))
    };
    let hops = settings
        .into_iter()
        .map(|(t, w, label)| Hop {
            setting: short(&t, w),
            label,
            rayon: of(&t, w, Strategy::Rayon),
            jobs: of(&t, w, Strategy::Jobs),
            queue: of(&t, w, Strategy::Queue),
            lone_us: None,
        })
        .collect();
    Some((HopSource::Batch(r.metadata.n), hops))
}

/// The smallest and largest of some figures: `(lo, hi)`.
pub type Bounds = Option<(f64, f64)>;

/// The smallest and largest hop (median, p99) over `hops`, µs, where both strategies were
/// measured.
pub fn hop_bounds(hops: &[Hop]) -> (Bounds, Bounds) {
    (
        bounds(hops.iter().filter_map(Hop::p50_us)),
        bounds(hops.iter().filter_map(Hop::p99_us)),
    )
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
    /// `most` ÷ `one`.
    pub ratio: f64,
    /// `/jobs`' throughput in the same run, results/s.
    pub jobs_rps: Option<f64>,
    /// What limited it.
    pub limit: Limit,
    /// How far the one-process run's CPU busy may be off from the clock ticks alone.
    pub one_resolution: Option<f64>,
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
}

/// The verdict of `target`: `None` without an ok `/queue` run with one worker process and one
/// with more.
pub fn scale_verdict(q: &QueueResults, target: &str, cores: Cores) -> Option<ScaleVerdict> {
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
    let ratio = most_rps / one_rps;
    let one_busy = one.cpu_busy(cores);
    // The gain first: a second process that added throughput did so whatever the cores' busy
    // figure says (busy is a mean over the burst, ± a clock tick per process). Checked the
    // other way round, busy 0.81 with ratio 1.18 printed "adds no throughput".
    let limit = match one_busy {
        _ if ratio >= SCALE_GAIN => Limit::Scaled,
        Some((busy, _)) if busy >= CORES_FULL_SCALE => Limit::Cores,
        _ => Limit::Elsewhere,
    };
    Some(ScaleVerdict {
        target: target.to_owned(),
        one: (one_rps, one_busy),
        most: (most.queue_workers?, most_rps, most.cpu_busy(cores)),
        ratio,
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
    /// `tokio: 2 of 80 accepted jobs lost, 1 wrong` for each run that was not clean.
    pub bad: Vec<String>,
    /// Targets whose fault run killed no worker (the burst ended first).
    pub no_kill: Vec<String>,
}

/// The fault runs that have their counts, whatever their `result`: a target whose fault run
/// lost a job is `failed`, and must be counted here, loudly.
pub fn fault_rows(q: &QueueResults) -> impl Iterator<Item = &QueueRow> {
    q.rows
        .iter()
        .filter(|x| x.run == QUEUE_RUN_FAULT && x.accepted.is_some())
}

/// The tally of the fault runs.
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
        if x.killed_at_ms.is_none() {
            t.no_kill.push(x.target.clone());
        }
        if x.clean() == Some(true) {
            t.clean += 1;
            t.taken_over += x.taken_over.unwrap_or(0);
        } else {
            let mut what = Vec::new();
            if let Some(l) = x.lost.filter(|l| *l > 0) {
                what.push(format!("{l} lost"));
            }
            if let Some(w) = x.wrong.filter(|w| *w > 0) {
                what.push(format!("{w} wrong"));
            }
            if let (Some(c), Some(a)) = (x.completed, x.accepted)
                && c != a
            {
                what.push(format!("{c} completed"));
            }
            if what.is_empty() {
                what.push("its counts missing".into());
            }
            t.bad.push(format!(
                "{}: of {} accepted jobs, {}",
                x.target,
                count_cell(x.accepted),
                and_list(&what)
            ));
        }
    }
    t
}

/// Everything the task queue's section and "What to do" say about `/queue`, computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueFacts {
    /// The broker hop tables: the sizes experiment's first, then the batch experiment's, each
    /// where it measured `/queue`.
    pub hops: Vec<(HopSource, Vec<Hop>)>,
    /// The cores the bursts had.
    pub cores: Cores,
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
        let scale = r.queue.as_ref().map_or_else(Vec::new, |q| {
            targets(q)
                .iter()
                .filter_map(|(t, _)| scale_verdict(q, t, cores))
                .collect()
        });
        QueueFacts {
            hops: [sizes_hops(r), batch_hops(r)]
                .into_iter()
                .flatten()
                .collect(),
            cores,
            scale,
            fault: r.queue.as_ref().map(fault_tally),
        }
    }
}
