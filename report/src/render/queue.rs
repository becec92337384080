//! "The task queue: /queue on Redis": what the broker hop costs, per runtime, and what the queue
//! experiment measured (queue_summary.csv, read when metadata.json lists `queue`): throughput
//! with 1, 2… worker processes against `/jobs` in process, and a worker killed mid-burst.
//!
//! Definitions, all computed from the rows:
//! - the *broker hop* of a setting (a target with a worker count) is `/queue`'s time to result
//!   minus `/jobs`' at the same n and load, read at the median and paired by pass: in each pass
//!   where both have a round, `/queue`'s round median minus `/jobs`'; the setting's hop is the
//!   median of those, with their range. `/jobs` runs the same job API in process on the CPU
//!   pool, so the difference is what the trip through Redis and a worker process costs. From
//!   the sizes experiment at the sweep's smallest n (n = 0 by default: nothing but the
//!   machinery; the rounds' requests from sizes_raw.csv). Not from the batch: at its n each
//!   time to result is mostly the wait for the cores, and the difference carries that wait's
//!   noise (single passes of either sign). No p99 of the hop is given: a difference of two
//!   pooled p99s of different pairs belongs to no pair of rounds (it was once −6.5 ms);
//! - *CPU busy* of a burst: (server + worker processes + broker CPU time, and bench-runner's
//!   own when it shares the servers' cores) ÷ (span × cores): everything that ran on the cores
//!   the burst had;
//! - the *scale-out verdict* of a target: the throughput of its most worker processes ÷ that of
//!   one, a gain when at least [`SCALE_GAIN`](crate::analysis::queue::SCALE_GAIN)×; short of
//!   that, what limited it: the cores when they were at least
//!   [`CORES_FULL_SCALE`](crate::analysis::CORES_FULL_SCALE) busy with one process (a second
//!   process on the same cores has no core to run on), otherwise the figures say where the
//!   time went;
//! - a *clean* fault run: every accepted job answered done with the right total (`lost` and
//!   `wrong` 0, `completed` = `accepted`).
//!
//! Nothing is estimated: in the hop tables a strategy whose row is missing or not `ok` is "—";
//! in the queue experiment's tables a figure missing is "—", and the runs of a target that
//! failed are shown marked (bench-runner fails the whole target when, say, its fault run lost
//! a job), and left out of the verdict and the chart unless every job came back right.
//!
//! One chart ([`charts`]): each target's burst throughput, `/jobs` beside `/queue` with each
//! count of worker processes.

use common::Strategy;
use results_format::{Metadata, QUEUE_RUN_SCALE, RESULT_NOT_APPLICABLE};

use crate::analysis::queue::{
    BadRun, Burst, COARSE, CPU_TICK_MS, Cores, FaultTally, Hop, Hops, Limit, QueueFacts,
    SCALE_GAIN, ScaleVerdict, TimeToResult, hop_summary, lone_bounds, scale_resolution,
};
use crate::analysis::{CORES_FULL_SCALE, Facts};
use crate::render::charts::{Chart, strategy_color};
use crate::render::format::{NONE, and_list, count_cell, sig3, thousands, times, us_span};
use crate::render::svg::{self, Anchor, Key, Scale, Stroke, Svg, TEXT, legend, nice_max};

fn ms_cell(us: Option<f64>) -> String {
    us.map_or(NONE.to_owned(), |v| sig3(v / 1000.0))
}

/// `1.26 → 5.48`: `/jobs`' and `/queue`'s pooled median time to result, ms.
fn p50_cell(h: &Hop) -> String {
    let p50 = |t: TimeToResult| t.and_then(|x| x.0);
    match (p50(h.jobs), p50(h.queue)) {
        (None, None) => NONE.to_owned(),
        (j, q) => format!("{} → {}", ms_cell(j), ms_cell(q)),
    }
}

fn hop_cell(v: Option<f64>) -> String {
    v.map_or(NONE.to_owned(), |v| format!("{v:+.0}"))
}

/// `+5090 (+4212…+6120)`: a setting's hop, the median over its passes and their range.
fn paired_cell(h: &Hop) -> String {
    match (h.median_us(), h.range_us()) {
        (Some(m), Some((lo, hi))) if h.by_pass.len() > 1 => {
            format!("{m:+.0} ({lo:+.0}…{hi:+.0})")
        }
        (Some(m), _) => format!("{m:+.0}"),
        _ => NONE.to_owned(),
    }
}

/// The hop table: a row per setting (in the order first seen) with `/jobs` → `/queue`'s
/// median time to result, the hop paired by pass and the lone hop; then the hop over every
/// setting.
fn hop_table(m: &Metadata, hops: &Hops) -> String {
    let processes = match m.queue_workers.first() {
        Some(w) => format!(
            "{w} worker process{}{}",
            if *w == 1 { "" } else { "es" },
            m.queue_worker_threads
                .map_or(String::new(), |t| format!(" of {t} thread(s)"))
        ),
        None => "its worker process(es)".to_owned(),
    };
    let lone = lone_bounds(&hops.settings);
    let mut md = format!(
        "The sizes experiment at n = {}{}: rounds of C = {} concurrent requests, `/queue` with \
         {processes}. p50: median time to result (`sizes_summary.csv`); hop: `/queue`'s round \
         median minus `/jobs`' in the same pass (`sizes_raw.csv`), the median pass \
         (smallest…largest).{} The batch's `/queue` − `/jobs` is no hop: there the wait for \
         the cores dominates.",
        thousands(hops.n),
        if hops.n == 0 {
            ", no work"
        } else {
            ", the sweep's smallest size"
        },
        m.concurrency,
        if lone.is_some() {
            " Lone hop: one job alone, `/queue`'s T1 minus `/jobs`'; with C at once a job also \
             waits behind the others' round trips."
        } else {
            ""
        }
    );
    md.push_str("\n\n| setting | /jobs → /queue p50 (ms) | hop (µs) |");
    let mut rule = String::from("|---|---|---:|");
    if lone.is_some() {
        md.push_str(" lone hop (µs) |");
        rule.push_str("---:|");
    }
    md.push_str(&format!("\n{rule}\n"));
    for h in &hops.settings {
        md.push_str(&format!(
            "| {} | {} | {} |",
            h.setting,
            p50_cell(h),
            paired_cell(h)
        ));
        if lone.is_some() {
            md.push_str(&format!(" {} |", hop_cell(h.lone_us)));
        }
        md.push('\n');
    }
    md.push('\n');
    let alone = lone.map_or(String::new(), |span| {
        format!("; one job alone {}", us_span(span))
    });
    md.push_str(&match hop_summary(&hops.settings) {
        Some(x) => format!(
            "The hop: {} at the median of {} passes over {} of {} settings (single passes {}; \
             the settings' medians {}){alone}.",
            us_span((x.median_us, x.median_us)),
            x.passes,
            x.settings,
            hops.settings.len(),
            us_span(x.range_us),
            us_span(x.settings_us)
        ),
        None => format!(
            "No setting has `/jobs` and `/queue` measured in a same pass: no hop to \
             state{alone}."
        ),
    });
    md.push_str("\n\n");
    md
}

fn busy_text(b: Option<(f64, bool)>) -> String {
    match b {
        Some((v, false)) => format!("{:.0} %", v * 100.0),
        Some((v, true)) => format!("≥ {:.0} %", v * 100.0),
        None => NONE.to_owned(),
    }
}

impl ScaleVerdict {
    /// `2: 1.21× (1.03×–1.31×, 5 passes)`: the most worker processes' throughput ÷ one's, the
    /// median over the passes with their range; the count of passes only where it is not the
    /// run's `passes` (the section's text says that one).
    pub fn ratio_cell(&self, passes: usize) -> String {
        let (w, _, _) = self.most;
        format!(
            "{w}: {}{}",
            times(self.ratio),
            self.ratio_range.map_or(String::new(), |(lo, hi, n)| {
                let count = if n == passes {
                    String::new()
                } else {
                    format!(", {n} passes")
                };
                format!(" ({}–{}{count})", times(lo), times(hi))
            })
        )
    }

    /// The most worker processes' throughput ÷ `/jobs`' in process.
    pub fn jobs_cell(&self) -> String {
        self.vs_jobs().map_or(NONE.to_owned(), times)
    }

    /// The verdict in a word or two ([`limit_legend`] says what each means), with the cores'
    /// busy figure it rests on and, on a burst too short for the clock ticks, by how much
    /// that figure may be off.
    pub fn verdict_cell(&self) -> String {
        let mut s = match self.limit {
            Limit::Scaled => "a gain".to_owned(),
            Limit::Cores => format!("the cores ({} busy with 1)", busy_text(self.one.1)),
            Limit::Unsettled => "not settled".to_owned(),
            Limit::Elsewhere => "not the cores".to_owned(),
        };
        if let Some(res) = self.one_resolution.filter(|r| *r > COARSE) {
            s.push_str(&format!(
                "; CPU busy ±{:.0} % from the clock ticks alone",
                res * 100.0
            ));
        }
        s
    }
}

/// What a verdict word of [`ScaleVerdict::verdict_cell`] means.
fn limit_legend(limit: Limit, cores: Cores) -> String {
    match limit {
        Limit::Scaled => format!(
            "**a gain**: at least {} in every pass: the cores had room",
            times(SCALE_GAIN)
        ),
        Limit::Cores => format!(
            "**the cores**: less than {}, and with 1 worker process the server, the worker and \
             the broker{} already kept the {} cores at least {:.0} % busy, so a second process \
             on the same cores adds no throughput (worker processes on other machines would)",
            times(SCALE_GAIN),
            if cores.with_client {
                " (with bench-runner beside them)"
            } else {
                ""
            },
            cores.n,
            CORES_FULL_SCALE * 100.0
        ),
        Limit::Unsettled => format!(
            "**not settled**: the passes fall on both sides of {}",
            times(SCALE_GAIN)
        ),
        Limit::Elsewhere => format!(
            "**not the cores**: less than {} though the cores had room: the limit lies in the \
             server, the broker's round trips or the burst itself",
            times(SCALE_GAIN)
        ),
    }
}

/// Each verdict word used, said once, and a note when a burst was too short for the clock
/// ticks.
fn verdict_notes(scale: &[ScaleVerdict], cores: Cores) -> String {
    let mut said: Vec<Limit> = Vec::new();
    for v in scale {
        if !said.contains(&v.limit) {
            said.push(v.limit);
        }
    }
    let legends: Vec<String> = said.into_iter().map(|l| limit_legend(l, cores)).collect();
    let mut md = format!("{}.", legends.join("; "));
    if scale
        .iter()
        .any(|v| v.one_resolution.is_some_and(|r| r > COARSE))
    {
        md.push_str(
            " On a burst this short a longer one (`--concurrency` or `--n`) would tell better.",
        );
    }
    md.push_str("\n\n");
    md
}

/// Whether every scale-out configuration measured completed all its jobs: its table then
/// leaves the two counts to queue_summary.csv.
fn all_completed(q: &QueueFacts) -> bool {
    q.targets.iter().all(|(t, _)| {
        q.scale_of(t)
            .into_iter()
            .filter(|x| x.measured)
            .all(|x| x.jobs.is_some() && x.completed == x.jobs)
    })
}

/// A configuration's column: `None` for `/jobs` in process, the count of worker processes
/// for `/queue`.
fn column_of(x: &Burst) -> Option<u32> {
    if x.is_queue {
        Some(x.queue_workers.unwrap_or(0))
    } else {
        None
    }
}

/// `262 (98 %)`: a configuration's results/s and CPU busy, marked when it failed, with its
/// counts when some configuration did not complete all its jobs.
fn config_cell(x: &Burst, counts: bool) -> String {
    let mut s = format!(
        "{} ({})",
        x.throughput_rps.map_or(NONE.to_owned(), sig3),
        busy_text(x.cpu_busy)
    );
    if !x.ok {
        s.push_str(" **failed**");
    }
    if counts {
        s.push_str(&format!(
            ", {} of {} done",
            count_cell(x.completed),
            count_cell(x.jobs)
        ));
    }
    s
}

/// The scale-out as one table: a row per target, a column per configuration (`/jobs` in
/// process, `/queue` with each count of worker processes: results/s and CPU busy), then the
/// target's verdict; each verdict word said once below it.
fn scale_table(q: &QueueFacts, scale: &[ScaleVerdict], cores: Cores) -> String {
    let counts = !all_completed(q);
    let mut columns: Vec<Option<u32>> = Vec::new();
    for (t, _) in &q.targets {
        for x in q.scale_of(t).into_iter().filter(|x| x.measured) {
            let c = column_of(x);
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
    }
    columns.sort();
    let mut md = String::from("| target |");
    for c in &columns {
        md.push_str(&match c {
            None => " /jobs in process |".to_owned(),
            Some(1) => " /queue, 1 process |".to_owned(),
            Some(w) => format!(" /queue, {w} processes |"),
        });
    }
    md.push_str(
        " processes: results/s ÷ 1's (median of passes; range) | ÷ `/jobs`' | verdict |\n|---|",
    );
    md.push_str(&"---:|".repeat(columns.len()));
    md.push_str("---|---:|---|\n");
    for (t, _) in &q.targets {
        let rows: Vec<&Burst> = q.scale_of(t).into_iter().filter(|x| x.measured).collect();
        if rows.is_empty() {
            continue;
        }
        md.push_str(&format!("| {t} |"));
        for c in &columns {
            let cell = rows
                .iter()
                .find(|x| column_of(x) == *c)
                .map_or(NONE.to_owned(), |x| config_cell(x, counts));
            md.push_str(&format!(" {cell} |"));
        }
        md.push_str(&match scale.iter().find(|v| v.target == *t) {
            Some(v) => format!(
                " {} | {} | {} |\n",
                v.ratio_cell(q.passes),
                v.jobs_cell(),
                v.verdict_cell()
            ),
            None => format!(" {NONE} | {NONE} | {NONE} |\n"),
        });
    }
    md.push('\n');
    if !scale.is_empty() {
        md.push_str(&verdict_notes(scale, cores));
    }
    md
}

impl FaultTally {
    /// The line the fault section ends with: the clean count, or, loudly, who lost jobs.
    pub fn line(&self) -> String {
        let s = self.summary();
        let mut chars = s.chars();
        chars
            .next()
            .map_or(s.clone(), |c| c.to_uppercase().chain(chars).collect())
    }

    /// [`FaultTally::line`] starting in lower case, to follow a colon.
    pub fn summary(&self) -> String {
        if self.runs == 0 {
            return "no fault run was measured.".into();
        }
        let mut s = if self.bad.is_empty() {
            format!(
                "every accepted job completed with the right total in {}/{} fault runs ({} \
                 taken over).",
                self.clean, self.runs, self.taken_over
            )
        } else {
            format!(
                "**JOBS LOST OR WRONG with a worker killed** in {} of {} fault runs: {}. The \
                 queue's at-least-once delivery failed there.",
                self.bad.len(),
                self.runs,
                self.bad.iter().map(bad_run).collect::<Vec<_>>().join("; ")
            )
        };
        if !self.no_kill.is_empty() {
            s.push_str(&format!(
                " No worker was killed in the fault run of {} (the burst ended first): it \
                 tested nothing.",
                and_list(&self.no_kill)
            ));
        }
        s
    }
}

/// `tokio (pass 2): of 80 accepted jobs, 1 lost and 79 completed`.
pub(crate) fn bad_run(x: &BadRun) -> String {
    let mut what = Vec::new();
    if let Some(l) = x.lost {
        what.push(format!("{l} lost"));
    }
    if let Some(w) = x.wrong {
        what.push(format!("{w} wrong"));
    }
    if let Some(c) = x.completed {
        what.push(format!("{c} completed"));
    }
    if what.is_empty() {
        what.push("its counts missing".into());
    }
    format!(
        "{}{}: of {} accepted jobs, {}",
        x.target,
        x.pass.map_or(String::new(), |p| format!(" (pass {p})")),
        count_cell(x.accepted),
        and_list(&what)
    )
}

/// The fault runs' table, every count: shown when some run lost a job or answered wrong.
fn fault_table(q: &QueueFacts) -> String {
    let mut md = String::from(
        "| target | jobs | accepted | completed | wrong | lost | taken over | killed at (ms) | \
         span (ms) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for x in q.faults() {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.target,
            count_cell(x.jobs),
            count_cell(x.accepted),
            count_cell(x.completed),
            count_cell(x.wrong),
            count_cell(x.lost),
            count_cell(x.taken_over),
            x.killed_at_ms.map_or(NONE.to_owned(), sig3),
            x.span_ms.map_or(NONE.to_owned(), sig3)
        ));
    }
    md.push('\n');
    md
}

/// The targets with rows that are not `ok`, each once: `tokio: failed, why`.
fn not_ok(q: &[Burst]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in q.iter().filter(|x| !x.ok) {
        let line = format!(
            "{}: {}{}",
            x.target,
            if x.result == RESULT_NOT_APPLICABLE {
                "not applicable"
            } else {
                "**failed**"
            },
            x.why.as_deref().map_or(String::new(), |w| format!(", {w}"))
        );
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// The section, or nothing when the run measured no `/queue` at all (a results directory
/// without queue files renders as before); `charts` (from [`charts`]) are linked under
/// `charts_dir`.
pub fn markdown(f: &Facts, charts: &[Chart], charts_dir: &str) -> String {
    if !f.queue.present {
        return String::new();
    }
    let m = &f.run.metadata;
    let mut md = String::from("## The task queue: /queue on Redis\n\n");
    md.push_str(
        "`POST /queue?n=` puts the job on a Redis broker (202 and an id), `queue-worker` \
         processes compute it, `GET /queue/{id}?wait=true` returns the result. `/jobs` is the \
         same job API in process, so `/queue` − `/jobs` is the **broker hop**.",
    );
    // The broker itself is named in the run's table.
    if let Some(why) = &f.queue.never_measured {
        md.push_str(&format!(
            "\n\n**`/queue` was not measured in this run**: {why}.\n\n"
        ));
        return md;
    }
    md.push_str(
        " \"—\": not measured (not applicable, failed or not run).\n\n\
         ### The broker hop, per runtime\n\n",
    );
    match &f.queue.hops {
        Some(hops) => md.push_str(&hop_table(m, hops)),
        None => md.push_str(
            "The sizes experiment, whose n = 0 isolates the hop, did not measure `/queue` in \
             this run: no hop to state (the batch's `/queue` − `/jobs`, mostly the wait for \
             the cores, is not one).\n\n",
        ),
    }
    // Each configuration's figures over its passes: the tables and the chart show these.
    let Some(q) = &f.queue.configurations else {
        return md;
    };
    let cores = f.queue.cores;
    let measured: Vec<&Burst> = q.iter().filter(|x| x.measured).collect();
    // A burst as run (the configurations' counts are summed over their passes).
    let first = f.queue.first_burst.as_ref();
    md.push_str("### Scale-out: worker processes against /jobs\n\n");
    let scaled = measured.iter().any(|x| x.run == QUEUE_RUN_SCALE);
    md.push_str(&format!(
        "The queue experiment (`queue_summary.csv`, a row per burst), each target at its \
         largest worker count: bursts of {} jobs{} submitted at once, on `/jobs` and on \
         `/queue` with each count of worker processes. A cell: results/s (completed ÷ span) \
         and CPU busy (CPU time of the server, worker processes, redis-server{} ÷ (span × {} \
         cores){}).{}{}{}\n\n",
        first
            .and_then(|x| x.jobs)
            .map_or("(4 × C)".to_owned(), |j| j.to_string()),
        first
            .and_then(|x| x.n)
            .map_or(String::new(), |n| format!(" of n = {}", thousands(n))),
        if cores.with_client {
            " and bench-runner"
        } else {
            ""
        },
        cores.n,
        if measured.iter().any(|x| x.cpu_busy.is_some_and(|b| b.1)) {
            "; ≥: part of it unknown, e.g. an external broker's"
        } else {
            ""
        },
        over_passes(f.queue.passes),
        if scaled && all_completed(&f.queue) {
            " Every burst completed all its jobs."
        } else {
            ""
        },
        scale_resolution(measured.iter().copied()).map_or(String::new(), |res| format!(
            " CPU busy may be off by up to ±{:.0} % from the {CPU_TICK_MS} ms clock ticks alone.",
            res * 100.0
        ))
    ));
    if scaled {
        md.push_str(&scale_table(&f.queue, &f.queue.scale, cores));
        if f.queue.scale.is_empty() {
            md.push_str(
                "No target has both a 1-process and a multi-process `/queue` run measured: no \
                 scale-out verdict.\n\n",
            );
        }
        for c in charts {
            md.push_str(&format!(
                "![{}]({charts_dir}/{})\n\n{}\n\n",
                c.title, c.file, c.caption
            ));
        }
    } else {
        md.push_str("No scale-out run was measured.\n\n");
    }
    md.push_str("### Fault run: a worker process killed mid-burst\n\n");
    let fault = f.queue.faults().first().copied();
    md.push_str(&format!(
        "The same burst on `/queue` with {} worker processes, one killed with SIGKILL \
         mid-burst: after its lease{} the survivor takes its jobs over. ",
        fault
            .and_then(|x| x.queue_workers)
            .map_or("2".to_owned(), |w| w.to_string()),
        fault
            .and_then(|x| x.lease_ms)
            .map_or(String::new(), |l| format!(" ({l} ms)")),
    ));
    // Present whenever queue_summary.csv was read, as here.
    let Some(tally) = &f.queue.fault else {
        md.push_str("\n\n");
        return md;
    };
    md.push_str(&tally.line());
    if tally.runs > 0 && tally.bad.is_empty() {
        md.push_str(
            " Each run's kill time, takeovers and span: `queue_summary.csv` (`run` fault).\n\n",
        );
    } else if tally.runs > 0 {
        md.push_str(&format!(
            "\n\nLost: accepted but never answered done; wrong: answered with a wrong total or \
             `failed`; killed at: from the run's start.{}\n\n",
            if f.queue.passes > 1 {
                " Counts summed over the passes, the rest their median."
            } else {
                ""
            }
        ));
        md.push_str(&fault_table(&f.queue));
    } else {
        md.push_str("\n\n");
    }
    let not_ok = not_ok(q);
    if !not_ok.is_empty() {
        md.push_str(&format!(
            "Not ok in queue_summary.csv: {}.\n\n",
            not_ok.join("; ")
        ));
    }
    md
}

/// How a table's rows of several passes read: each a configuration over its bursts (nothing
/// with one pass, where a row is the burst).
fn over_passes(passes: usize) -> String {
    if passes > 1 {
        format!(" Each figure: the median of a configuration's {passes} bursts, one per pass.")
    } else {
        String::new()
    }
}

/// The section's chart, when some scale-out run was measured: throughput per target, a bar
/// for `/jobs` and one per count of worker processes.
pub fn charts(f: &QueueFacts) -> Vec<Chart> {
    if f.configurations.is_none() {
        return vec![];
    }
    let groups: Vec<(String, Vec<&Burst>)> = f
        .targets
        .iter()
        .map(|(t, _)| {
            let rows = f.scale_of(t).into_iter().filter(|x| x.sound).collect();
            (t.clone(), rows)
        })
        .filter(|(_, rows): &(String, Vec<&Burst>)| !rows.is_empty())
        .collect();
    if groups.is_empty() {
        return vec![];
    }
    vec![Chart {
        file: "queue_throughput.svg",
        title: "Burst throughput: /jobs in process and /queue with 1, 2… worker processes, per \
                runtime"
            .into(),
        caption: if f.passes > 1 {
            "Where the /queue bars stay level as processes are added, something else limits \
             them (on one machine, usually the cores); the gap to /jobs is the broker's cost."
        } else {
            "Each bar is one burst's completed jobs per second of its span. Where the /queue \
             bars stay level as worker processes are added, something other than the worker \
             count limits the throughput (on one machine, usually the cores); the gap to /jobs \
             is what the broker costs at this load."
        },
        svg: throughput_chart(&groups),
    }]
}

/// Bar colour of a row: `/jobs`' own colour; `/queue`'s grey, darker with more processes.
fn bar_color(x: &Burst) -> &'static str {
    const QUEUE_SHADES: [&str; 4] = ["#a6a6a6", "#7f7f7f", "#595959", "#333333"];
    if x.is_queue {
        let w = x.queue_workers.unwrap_or(1).max(1) as usize;
        QUEUE_SHADES[(w - 1).min(QUEUE_SHADES.len() - 1)]
    } else {
        strategy_color(Strategy::Jobs)
    }
}

fn bar_label(x: &Burst) -> String {
    match x.queue_workers {
        Some(1) if x.is_queue => "/queue, 1 worker process".into(),
        Some(w) if x.is_queue => format!("/queue, {w} worker processes"),
        _ => "/jobs (in process)".into(),
    }
}

fn throughput_chart(groups: &[(String, Vec<&Burst>)]) -> String {
    const WIDTH: f64 = 1120.0;
    const INK: &str = "#222222";
    let mut svg = Svg::new(WIDTH, 420.0, "Burst throughput per runtime");
    svg.bold(
        20.0,
        28.0,
        "Burst throughput (completed jobs/s): /jobs in process, /queue × worker processes",
        TEXT + 3.0,
        Anchor::Start,
    );
    let mut keys: Vec<(Key, String)> = Vec::new();
    let mut seen: Vec<&Burst> = groups.iter().flat_map(|(_, rows)| rows.clone()).collect();
    seen.sort_by_key(|x| (x.is_queue, x.queue_workers));
    for x in seen {
        let label = bar_label(x);
        if !keys.iter().any(|(_, l)| *l == label) {
            keys.push((Key::Box(bar_color(x).into()), label));
        }
    }
    let top = legend(&mut svg, 20.0, 54.0, WIDTH - 20.0, &keys) + 16.0;
    let (left, right, bottom) = (80.0, WIDTH - 20.0, top + 260.0);
    let max = groups
        .iter()
        .flat_map(|(_, rows)| rows.iter().filter_map(|x| x.throughput_rps))
        .fold(0.0_f64, f64::max);
    let y = Scale::linear(0.0, nice_max(max.max(1.0)), bottom, top);
    let grid = Stroke {
        color: "#dddddd",
        width: 1.0,
        dash: "",
    };
    for t in y.ticks(5) {
        svg.line(left, y.at(t), right, y.at(t), grid);
        svg.text(
            left - 6.0,
            y.at(t) + 4.0,
            &svg::tick_label(t),
            TEXT - 2.0,
            Anchor::End,
        );
    }
    svg.text_rotated(
        left - 50.0,
        (top + bottom) / 2.0,
        "completed jobs / s",
        TEXT - 1.0,
        Anchor::Middle,
        -90.0,
    );
    let group_w = (right - left) / groups.len() as f64;
    for (i, (target, rows)) in groups.iter().enumerate() {
        let x0 = left + i as f64 * group_w;
        let bar_w = (group_w * 0.8 / rows.len() as f64).min(48.0);
        let start = x0 + (group_w - bar_w * rows.len() as f64) / 2.0;
        for (k, x) in rows.iter().enumerate() {
            let Some(v) = x.throughput_rps else { continue };
            let bx = start + k as f64 * bar_w;
            svg.rect(
                bx,
                y.at(v),
                bar_w - 2.0,
                y.at(0.0) - y.at(v),
                bar_color(x),
                "",
            );
            svg.text(
                bx + bar_w / 2.0 - 1.0,
                y.at(v) - 4.0,
                &sig3(v),
                TEXT - 3.0,
                Anchor::Middle,
            );
        }
        svg.text(
            x0 + group_w / 2.0,
            bottom + 18.0,
            target,
            TEXT,
            Anchor::Middle,
        );
    }
    svg.line(
        left,
        bottom,
        right,
        bottom,
        Stroke {
            color: INK,
            width: 1.0,
            dash: "",
        },
    );
    svg.set_height(bottom + 36.0);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::queue::{fault_tally, scale_verdict, sizes_hops};
    use crate::data::fake;
    use crate::data::fake::{sizes_raw as raw, sizes_row};
    use crate::data::queue::load;
    use crate::data::{DataError, QueueResults, QueueRow, Results};
    use results_format::{QUEUE_RUN_FAULT, QUEUE_SUMMARY, RESULT_OK};

    /// The section as the report renders it, from the facts of `r`.
    fn markdown(r: &Results, charts: &[Chart], charts_dir: &str) -> String {
        super::markdown(&Facts::of(r), charts, charts_dir)
    }

    /// A scale or fault row of `target`: `w` worker processes (0: `/jobs`).
    fn qrow(target: &str, run: &str, w: u32, rps: f64, cpu_ms: (f64, f64, f64)) -> QueueRow {
        QueueRow {
            target: target.into(),
            runtime: target.into(),
            framework: "fw".into(),
            workers: Some(2),
            n: Some(10_000_000),
            result: RESULT_OK.into(),
            failure: None,
            run: run.into(),
            strategy: if w == 0 { "jobs" } else { "queue" }.into(),
            queue_workers: Some(w),
            worker_threads: (w > 0).then_some(2),
            lease_ms: (run == QUEUE_RUN_FAULT).then_some(1000),
            pass: None,
            jobs: Some(80),
            accepted: Some(80),
            completed: Some(80),
            wrong: Some(0),
            lost: Some(0),
            killed_at_ms: (run == QUEUE_RUN_FAULT).then_some(150.0),
            taken_over: (run == QUEUE_RUN_FAULT).then_some(3),
            span_ms: Some(80.0 / rps * 1000.0),
            throughput_rps: Some(rps),
            latency_us_p50: Some(200_000.0),
            latency_us_p99: Some(390_000.0),
            probe_latency_us_p99: Some(4_000.0),
            lag_us_p99: Some(1_200.0),
            server_cpu_ms: Some(cpu_ms.0),
            workers_cpu_ms: (w > 0).then_some(cpu_ms.1),
            broker_cpu_ms: (w > 0).then_some(cpu_ms.2),
            client_cpu_ms: Some(0.0),
            note: None,
        }
    }

    #[test]
    fn the_hop_is_queue_minus_jobs_paired_by_pass_at_the_smallest_n() {
        let mut r = fake::results(&[]);
        r.sizes = vec![
            sizes_row("tokio", Strategy::Rayon, 0, 300.0, 900.0),
            sizes_row("tokio", Strategy::Jobs, 0, 400.0, 1_000.0),
            sizes_row("tokio", Strategy::Queue, 0, 1_150.0, 3_500.0),
            // A larger size: not the hop's.
            sizes_row("tokio", Strategy::Jobs, 1000, 9.0, 9.0),
            sizes_row("tokio", Strategy::Queue, 1000, 99_999.0, 99_999.0),
            sizes_row("smol", Strategy::Jobs, 0, 500.0, 1_500.0),
            sizes_row("smol", Strategy::Queue, 0, 1_000.0, 2_000.0),
        ];
        // smol's /rayon failed: a dash, not a figure.
        let mut failed = sizes_row("smol", Strategy::Rayon, 0, 1.0, 1.0);
        failed.result = "failed".into();
        r.sizes.push(failed);
        // Five rounds (passes) each. tokio: /jobs' round medians 400, /queue's 1000 + 100 × k:
        // hops +700…+1100, median +900. smol: +500 in every pass.
        for k in 1..=5u32 {
            let q = 1_000 + 100 * u64::from(k);
            r.sizes_raw
                .extend(raw("tokio", Strategy::Jobs, 0, k, &[300, 400, 500]));
            r.sizes_raw
                .extend(raw("tokio", Strategy::Queue, 0, k, &[q - 50, q, q + 9_000]));
            r.sizes_raw
                .extend(raw("tokio", Strategy::Queue, 1000, k, &[99_999]));
            r.sizes_raw
                .extend(raw("smol", Strategy::Jobs, 0, k, &[500]));
            r.sizes_raw
                .extend(raw("smol", Strategy::Queue, 0, k, &[1_000]));
        }
        let Hops { n, settings: hops } = sizes_hops(&r).expect("hops");
        assert_eq!(n, 0);
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].setting, "tokio ×2");
        assert_eq!(hops[0].by_pass, vec![700.0, 800.0, 900.0, 1_000.0, 1_100.0]);
        assert_eq!(hops[0].median_us(), Some(900.0));
        assert_eq!(hops[0].range_us(), Some((700.0, 1_100.0)));
        assert_eq!(hops[1].median_us(), Some(500.0));
        assert_eq!(hops[1].rayon, None);
        let x = hop_summary(&hops).expect("a hop");
        assert_eq!(
            (x.median_us, x.range_us, x.settings_us, x.passes, x.settings),
            (700.0, (500.0, 1_100.0), (500.0, 900.0), 10, 2)
        );
        let md = markdown(&r, &[], "charts");
        assert!(
            md.contains("| tokio ×2 | 0.400 → 1.15 | +900 (+700…+1100) | +750 |\n"),
            "{md}"
        );
        assert!(
            md.contains("| smol ×2 | 0.500 → 1.00 | +500 (+500…+500) |"),
            "{md}"
        );
        assert!(
            md.contains("The hop: +700 µs at the median of 10 passes over 2 of 2 settings (single passes +500 to +1100 µs; the settings' medians +500 to +900 µs); one job alone +500 to +750 µs."),
            "{md}"
        );
        // No difference of p99s is printed.
        assert!(!md.contains("+2500"), "{md}");
        assert!(md.contains("at n = 0, no work"), "{md}");
        // One job alone: T1 (here each row's p50) of /queue minus /jobs'.
        assert_eq!(
            (hops[0].lone_us, hops[1].lone_us),
            (Some(750.0), Some(500.0))
        );
        assert!(
            md.contains("Lone hop: one job alone, `/queue`'s T1 minus `/jobs`';"),
            "{md}"
        );

        // A pair with fewer rounds than the others at n0 (a visit that did not reach it): its
        // round k need not be pass k, so it is not paired.
        let short = r
            .sizes
            .iter_mut()
            .find(|s| s.target == "smol" && s.strategy == Strategy::Queue)
            .expect("smol /queue");
        short.rounds = 4;
        let hops = sizes_hops(&r).expect("hops").settings;
        assert_eq!(hops[1].median_us(), None);
        assert!(markdown(&r, &[], "charts").contains("| smol ×2 | 0.500 → 1.00 | — | +500 |\n"));

        // /jobs missing in a setting: no hop there, a dash.
        r.sizes
            .retain(|s| !(s.target == "smol" && s.strategy == Strategy::Jobs));
        let hops = sizes_hops(&r).expect("hops").settings;
        assert!(hops[1].by_pass.is_empty());
        let md = markdown(&r, &[], "charts");
        assert!(md.contains("| smol ×2 | — → 1.00 | — | — |\n"), "{md}");
    }

    #[test]
    fn the_batch_gives_no_hop() {
        use crate::data::fake::Pair;
        // /jobs and /queue measured in the batch only: their difference is mostly the wait for
        // the cores, so no hop is stated, and the section says where one would come from.
        let r = fake::results(&[
            Pair::new("tokio", 1, Strategy::Jobs, &[40.0, 41.0, 42.0]),
            Pair::new("tokio", 1, Strategy::Queue, &[60.0, 61.0, 62.0]),
        ]);
        assert_eq!(sizes_hops(&r), None);
        assert_eq!(Facts::of(&r).queue.hops, None);
        let md = markdown(&r, &[], "charts");
        assert!(
            md.contains(
                "The sizes experiment, whose n = 0 isolates the hop, did not measure `/queue` in \
                 this run: no hop to state"
            ),
            "{md}"
        );
        assert!(!md.contains("| hop (µs) |"), "{md}");
    }

    /// 2 cores, bench-runner pinned apart.
    const C2: Cores = Cores {
        n: 2,
        with_client: false,
    };

    /// `row` in pass `pass`.
    fn in_pass(mut row: QueueRow, pass: u32) -> QueueRow {
        row.pass = Some(pass);
        row
    }

    #[test]
    fn passes_fold_into_configurations_and_the_ratio_is_paired_by_pass() {
        use crate::analysis::queue::{configurations, passes};
        // Three passes, each running its scale-out bursts in an order of its own. Pass 2 ran
        // fast for both counts (a quick minute): paired, its ratio is still the others' 1.2.
        let mut rows = Vec::new();
        for (pass, one, two) in [(1, 100.0, 120.0), (2, 200.0, 240.0), (3, 110.0, 132.0)] {
            let mut burst = vec![
                qrow("tokio", QUEUE_RUN_SCALE, 2, two, (40.0, 300.0, 20.0)),
                qrow("tokio", QUEUE_RUN_SCALE, 0, 250.0, (500.0, 0.0, 0.0)),
                qrow("tokio", QUEUE_RUN_SCALE, 1, one, (40.0, 250.0, 20.0)),
            ];
            burst.rotate_left(pass as usize - 1);
            burst.push(qrow("tokio", QUEUE_RUN_FAULT, 2, 60.0, (40.0, 300.0, 20.0)));
            rows.extend(burst.into_iter().map(|r| in_pass(r, pass)));
        }
        rows[7].taken_over = Some(5);
        let bursts = QueueResults { rows };
        assert_eq!(passes(&bursts), 3);
        let q = configurations(&bursts);
        let order: Vec<(&str, Option<u32>)> = q
            .rows
            .iter()
            .map(|x| (x.run.as_str(), x.queue_workers))
            .collect();
        assert_eq!(
            order,
            [
                ("scale", Some(0)),
                ("scale", Some(1)),
                ("scale", Some(2)),
                ("fault", Some(2))
            ]
        );
        // Counts summed, the rest the median, no pass.
        let one = &q.rows[1];
        assert_eq!(
            (one.jobs, one.completed, one.lost),
            (Some(240), Some(240), Some(0))
        );
        assert_eq!(one.throughput_rps, Some(110.0));
        assert_eq!(one.pass, None);
        assert_eq!(q.rows[3].taken_over, Some(3 + 3 + 5));
        let v = scale_verdict(&q, &bursts, "tokio", C2).expect("verdict");
        assert!((v.ratio - 1.2).abs() < 1e-9, "{}", v.ratio);
        let (lo, hi, n) = v.ratio_range.expect("a range over the passes");
        assert!((lo - 1.2).abs() < 1e-9 && (hi - 1.2).abs() < 1e-9 && n == 3);
        assert_eq!(v.limit, Limit::Scaled);
        assert_eq!(v.ratio_cell(0), "2: 1.20× (1.20×–1.20×, 3 passes)");
        assert_eq!(v.verdict_cell(), "a gain");
        // Passes on both sides of SCALE_GAIN: not settled, whatever the median says.
        let mut mixed = bursts.clone();
        for x in &mut mixed.rows {
            if x.pass == Some(2) && x.queue_workers == Some(2) && x.run == QUEUE_RUN_SCALE {
                x.throughput_rps = Some(210.0);
            }
        }
        let v = scale_verdict(&configurations(&mixed), &mixed, "tokio", C2).expect("verdict");
        assert_eq!(v.limit, Limit::Unsettled);
        assert!(
            v.ratio_cell(0).contains("(1.05×–1.20×, 3 passes)"),
            "{}",
            v.ratio_cell(0)
        );
        assert_eq!(v.verdict_cell(), "not settled");
        // Unpaired, the medians' ratio would have been 132 / 110 = 1.2 too; a pass without
        // one of the two bursts is left out of the pairing.
        let mut gap = bursts.clone();
        gap.rows
            .retain(|x| !(x.pass == Some(3) && x.queue_workers == Some(1)));
        let v = scale_verdict(&configurations(&gap), &gap, "tokio", C2).expect("verdict");
        assert_eq!(v.ratio_range.map(|r| r.2), Some(2));
        // A lost job is named with its pass.
        let mut lossy = bursts.clone();
        lossy.rows[7].lost = Some(1);
        lossy.rows[7].completed = Some(79);
        let tally = fault_tally(&lossy);
        assert_eq!((tally.clean, tally.runs), (2, 3));
        assert_eq!(
            tally.bad.iter().map(bad_run).collect::<Vec<_>>(),
            ["tokio (pass 2): of 80 accepted jobs, 1 lost and 79 completed"]
        );
        // One pass: the configurations are the bursts themselves.
        let one_pass = QueueResults {
            rows: bursts
                .rows
                .iter()
                .filter(|x| x.pass == Some(1))
                .cloned()
                .collect(),
        };
        let folded = configurations(&one_pass);
        assert_eq!(folded.rows.len(), 4);
        assert_eq!(folded.rows[2].throughput_rps, Some(120.0));
    }

    #[test]
    fn a_gain_past_the_threshold_is_a_gain_however_busy_the_cores_were() {
        // 2 cores; 1 process: span 400 ms, CPU 300 + 308 + 40 = 648 ms → 81 % busy, past
        // CORES_FULL_SCALE; 2 processes: 1.18× the throughput, past SCALE_GAIN.
        let q = QueueResults {
            rows: vec![
                qrow("actix", QUEUE_RUN_SCALE, 0, 210.0, (700.0, 0.0, 0.0)),
                qrow("actix", QUEUE_RUN_SCALE, 1, 200.0, (300.0, 308.0, 40.0)),
                qrow("actix", QUEUE_RUN_SCALE, 2, 236.0, (300.0, 390.0, 40.0)),
            ],
        };
        let busy = q.rows[1].cpu_busy(C2).expect("busy").0;
        assert!((busy - 0.81).abs() < 1e-9, "{busy}");
        let v = scale_verdict(&q, &q, "actix", C2).expect("verdict");
        assert!((v.ratio - 1.18).abs() < 1e-9);
        assert_eq!(v.limit, Limit::Scaled);
        assert_eq!(v.verdict_cell(), "a gain");
        let md = verdict_notes(&[v], C2);
        assert!(!md.contains("adds no throughput"), "{md}");
        assert!(
            md.contains("**a gain**: at least 1.15× in every pass"),
            "{md}"
        );
    }

    #[test]
    fn the_verdict_names_the_cores_when_one_process_filled_them() {
        // 2 cores; 1 process: span 400 ms, CPU 300 + 380 + 40 = 720 ms → 90 % busy.
        let q = QueueResults {
            rows: vec![
                qrow("tokio", QUEUE_RUN_SCALE, 0, 210.0, (700.0, 0.0, 0.0)),
                qrow("tokio", QUEUE_RUN_SCALE, 1, 200.0, (300.0, 380.0, 40.0)),
                qrow("tokio", QUEUE_RUN_SCALE, 2, 204.0, (300.0, 390.0, 40.0)),
            ],
        };
        assert_eq!(q.rows[1].cpu_busy(C2), Some((0.9, false)));
        let v = scale_verdict(&q, &q, "tokio", C2).expect("verdict");
        assert_eq!(v.limit, Limit::Cores);
        assert!((v.ratio - 1.02).abs() < 1e-9);
        assert_eq!(v.ratio_cell(0), "2: 1.02×");
        assert_eq!(v.verdict_cell(), "the cores (90 % busy with 1)");
        let s = verdict_notes(std::slice::from_ref(&v), C2);
        assert!(!s.contains("On a burst this short"), "{s}");
        // The same on a burst of 30 ms: server, worker and broker (bench-runner apart), 3 ×
        // 10 ms over 60 ms of core time.
        let mut short = q.clone();
        short.rows[1].span_ms = Some(30.0);
        let v = scale_verdict(&short, &short, "tokio", C2).expect("verdict");
        assert_eq!(v.one_resolution, Some(0.5));
        assert!(
            v.verdict_cell()
                .contains("CPU busy ±50 % from the clock ticks alone"),
            "{}",
            v.verdict_cell()
        );
        assert!(verdict_notes(std::slice::from_ref(&v), C2).contains("On a burst this short"),);
        assert!(
            s.contains("a second process on the same cores adds no throughput"),
            "{s}"
        );
        assert_eq!(v.jobs_cell(), "0.97×");

        // The same throughputs with the cores half idle: not the cores.
        let mut idle = q.clone();
        for x in &mut idle.rows {
            x.server_cpu_ms = Some(100.0);
            x.workers_cpu_ms = Some(100.0);
        }
        let v = scale_verdict(&idle, &idle, "tokio", C2).expect("verdict");
        assert_eq!(v.limit, Limit::Elsewhere);
        assert_eq!(v.verdict_cell(), "not the cores");
        // And with a real gain.
        idle.rows[2].throughput_rps = Some(380.0);
        let v = scale_verdict(&idle, &idle, "tokio", C2).expect("verdict");
        assert_eq!(v.limit, Limit::Scaled);
        assert_eq!(v.ratio_cell(0), "2: 1.90×");
        // bench-runner on the same cores: its CPU time counts (240 + 160 ms of 800).
        idle.rows[1].client_cpu_ms = Some(160.0);
        let shared = Cores {
            n: 2,
            with_client: true,
        };
        assert_eq!(idle.rows[1].cpu_busy(shared), Some((0.5, false)));
        assert_eq!(idle.rows[1].cpu_busy(C2), Some((0.3, false)));
        // An older file without bench-runner's time: a lower bound.
        idle.rows[1].client_cpu_ms = None;
        assert_eq!(idle.rows[1].cpu_busy(shared), Some((0.3, true)));
        // An external broker: its CPU time unknown, busy is a lower bound.
        idle.rows[1].broker_cpu_ms = None;
        assert_eq!(idle.rows[1].cpu_busy(C2).map(|b| b.1), Some(true));
        assert!(busy_text(idle.rows[1].cpu_busy(C2)).starts_with("≥ "));
        // No multi-process run: no verdict.
        idle.rows.truncate(2);
        assert_eq!(scale_verdict(&idle, &idle, "tokio", C2), None);
    }

    #[test]
    fn a_lost_job_is_flagged_loudly() {
        let clean = |t| qrow(t, QUEUE_RUN_FAULT, 2, 150.0, (1.0, 1.0, 1.0));
        let q = QueueResults {
            rows: vec![clean("tokio"), clean("smol")],
        };
        let t = fault_tally(&q);
        assert_eq!((t.clean, t.runs, t.taken_over), (2, 2, 6));
        assert_eq!(
            t.line(),
            "Every accepted job completed with the right total in 2/2 fault runs (6 taken over)."
        );
        let mut lossy = q.clone();
        lossy.rows[1].lost = Some(2);
        lossy.rows[1].completed = Some(78);
        let t = fault_tally(&lossy);
        assert_eq!((t.clean, t.runs), (1, 2));
        let line = t.line();
        assert!(line.starts_with("**JOBS LOST OR WRONG"), "{line}");
        assert!(
            line.contains("smol: of 80 accepted jobs, 2 lost and 78 completed"),
            "{line}"
        );
        assert!(!line.contains("Every accepted job"), "{line}");
        // bench-runner marks the whole target failed when its fault run lost a job: the
        // failed row is counted all the same, and flagged.
        let mut failed = q.clone();
        for x in &mut failed.rows {
            x.result = "failed".into();
            x.failure = Some("1 accepted job never answered done".into());
        }
        failed.rows[0].lost = Some(1);
        failed.rows[0].completed = Some(79);
        let t = fault_tally(&failed);
        assert_eq!((t.clean, t.runs), (1, 2));
        assert!(
            t.line()
                .contains("tokio: of 80 accepted jobs, 1 lost and 79 completed"),
            "{}",
            t.line()
        );
        // A wrong total is as loud.
        let mut wrong = q.clone();
        wrong.rows[0].wrong = Some(1);
        assert!(
            fault_tally(&wrong)
                .line()
                .contains("tokio: of 80 accepted jobs, 1 wrong")
        );
        // A fault run that killed nothing is said to test nothing.
        let mut no_kill = q;
        no_kill.rows[0].killed_at_ms = None;
        assert!(
            fault_tally(&no_kill)
                .line()
                .contains("No worker was killed in the fault run of tokio")
        );
    }

    #[test]
    fn the_section_renders_from_queue_rows_and_not_measured_rows() {
        let mut r = fake::results(&[]);
        r.metadata.experiments = vec!["queue".into()];
        r.metadata.broker = "redis-server 7.0.15, started by bench-runner".into();
        // bench-runner's row of a target without runs: no figures, the reason in its note.
        let mut none = qrow("actix", "", 0, 1.0, (0.0, 0.0, 0.0));
        none.result = RESULT_NOT_APPLICABLE.into();
        none.note = Some("no broker: redis-server not installed".into());
        none.strategy = String::new();
        none.span_ms = None;
        none.throughput_rps = None;
        none.accepted = None;
        r.queue = Some(QueueResults {
            rows: vec![
                qrow("tokio", QUEUE_RUN_SCALE, 0, 210.0, (700.0, 0.0, 0.0)),
                qrow("tokio", QUEUE_RUN_SCALE, 1, 200.0, (300.0, 380.0, 40.0)),
                qrow("tokio", QUEUE_RUN_SCALE, 2, 204.0, (300.0, 390.0, 40.0)),
                qrow("tokio", QUEUE_RUN_FAULT, 2, 150.0, (1.0, 1.0, 1.0)),
                none,
            ],
        });
        let md = markdown(&r, &[], "charts");
        assert!(
            md.starts_with("## The task queue: /queue on Redis\n"),
            "{md}"
        );
        assert!(
            md.contains("bursts of 80 jobs of n = 10,000,000 submitted at once"),
            "{md}"
        );
        assert!(
            md.contains("| target | /jobs in process | /queue, 1 process | /queue, 2 processes |"),
            "{md}"
        );
        assert!(
            md.contains("| tokio | 210 (92 %) | 200 (90 %) | 204 (93 %) | 2: 1.02× | 0.97× | the cores (90 % busy with 1) |\n"),
            "{md}"
        );
        // The ticks: 2 workers + server + broker + bench-runner = 5 × 10 ms over 392 ms × 2.
        assert!(
            md.contains("CPU busy may be off by up to ±6 % from the 10 ms clock ticks alone."),
            "{md}"
        );
        // A clean fault run: no table, its line and where the rest is.
        assert!(!md.contains("| taken over |"), "{md}");
        assert!(md.contains("in 1/1 fault runs (3 taken over). Each run's kill time, takeovers and span: `queue_summary.csv`"), "{md}");
        assert!(
            md.contains(
                "Not ok in queue_summary.csv: actix: not applicable, no broker: redis-server not installed."
            ),
            "{md}"
        );
        assert!(
            md.contains("with 2 worker processes, one killed with SIGKILL"),
            "{md}"
        );
        assert!(md.contains("lease (1000 ms)"), "{md}");

        // The chart: a bar per scale run (3), each labelled with its throughput, one legend
        // entry each; linked from the section.
        let charts = charts(&crate::analysis::Facts::of(&r).queue);
        assert_eq!(charts.len(), 1);
        let svg = &charts[0].svg;
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        for label in [
            ">210<",
            ">200<",
            ">204<",
            "/jobs (in process)",
            "/queue, 2 worker processes",
        ] {
            assert!(svg.contains(label), "{label}: {svg}");
        }
        assert!(markdown(&r, &charts, "charts").contains("](charts/queue_throughput.svg)"));
    }

    #[test]
    fn a_failed_targets_runs_are_shown_marked_and_left_out_of_the_verdict() {
        let mut r = fake::results(&[]);
        r.metadata.experiments = vec!["queue".into()];
        let mut rows = vec![
            qrow("smol", QUEUE_RUN_SCALE, 0, 210.0, (700.0, 0.0, 0.0)),
            qrow("smol", QUEUE_RUN_SCALE, 1, 200.0, (300.0, 380.0, 40.0)),
            qrow("smol", QUEUE_RUN_SCALE, 2, 204.0, (300.0, 390.0, 40.0)),
        ];
        for x in &mut rows {
            x.result = "failed".into();
            x.failure = Some("a job answered wrong".into());
        }
        rows[2].wrong = Some(1);
        rows[2].completed = Some(79);
        r.queue = Some(QueueResults { rows });
        let md = markdown(&r, &[], "charts");
        assert!(
            md.contains("| smol | 210 (92 %) **failed**, 80 of 80 done | 200 (90 %) **failed**, 80 of 80 done | 204 (93 %) **failed**, 79 of 80 done | — | — | — |\n"),
            "{md}"
        );
        // Its 2-process run answered wrong: no verdict rests on it.
        assert!(md.contains("No target has both"), "{md}");
        assert!(
            md.contains("Not ok in queue_summary.csv: smol: **failed**, a job answered wrong."),
            "{md}"
        );
        // The chart leaves the unsound run out.
        let svg = &charts(&crate::analysis::Facts::of(&r).queue)[0].svg;
        assert!(svg.contains(">200<") && !svg.contains(">204<"), "{svg}");
    }

    #[test]
    fn a_run_without_a_broker_says_so_once() {
        let mut r = fake::results(&[fake::Pair::new("tokio", 1, Strategy::Jobs, &[40.0])]);
        let mut na = r.summary[0].clone();
        na.strategy = Strategy::Queue;
        na.result = RESULT_NOT_APPLICABLE.into();
        na.failure = Some("no broker: redis-server not installed".into());
        r.summary.push(na);
        let md = markdown(&r, &[], "charts");
        assert!(
            md.contains("**`/queue` was not measured in this run**: not_applicable, no broker: redis-server not installed."),
            "{md}"
        );
        assert!(!md.contains("### "), "{md}");
    }

    #[test]
    fn a_run_without_queue_has_no_section() {
        let r = fake::results(&[fake::Pair::new("tokio", 1, Strategy::Jobs, &[40.0])]);
        assert!(!crate::analysis::queue::present(&r));
        assert_eq!(markdown(&r, &[], "charts"), "");
        assert!(charts(&crate::analysis::Facts::of(&r).queue).is_empty());
    }

    #[test]
    fn load_checks_the_rows() {
        let dir = std::env::temp_dir().join(format!("report-queue-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let header = QUEUE_SUMMARY.header();
        let cols = QUEUE_SUMMARY.columns.len();
        // A row with every column empty but the ones named.
        let line = |fields: &[(&str, &str)]| {
            let mut v = vec![""; cols];
            for (k, val) in fields {
                let i = QUEUE_SUMMARY
                    .columns
                    .iter()
                    .position(|c| c == k)
                    .expect("column");
                v[i] = val;
            }
            v.join(",")
        };
        let base = [
            ("target", "tokio"),
            ("runtime", "tokio"),
            ("framework", "axum"),
        ];
        let ok = line(&[
            base[0],
            base[1],
            base[2],
            ("result", "ok"),
            ("run", "scale"),
            ("strategy", "queue"),
            ("queue_workers", "1"),
            ("throughput_rps", "12.5"),
        ]);
        let na = line(&[
            base[0],
            base[1],
            base[2],
            ("result", "not_applicable"),
            ("failure", "no broker"),
        ]);
        let path = dir.join(QUEUE_SUMMARY.name);
        std::fs::write(&path, format!("{header}\n{ok}\n{na}\n")).expect("write");
        let q = load(&dir).expect("load");
        assert_eq!(q.rows.len(), 2);
        assert_eq!(q.rows[0].throughput_rps, Some(12.5));
        assert_eq!(q.rows[1].run, "");
        let bad = line(&[
            base[0],
            base[1],
            base[2],
            ("result", "ok"),
            ("run", "scale"),
            ("strategy", "rayon"),
        ]);
        std::fs::write(&path, format!("{header}\n{ok}\n{bad}\n")).expect("write");
        let msg = load(&dir).expect_err("rayon").to_string();
        assert!(
            msg.contains("line 3") && msg.contains("jobs and queue only"),
            "{msg}"
        );
        let bad = line(&[
            base[0],
            base[1],
            base[2],
            ("result", "ok"),
            ("run", "burst"),
            ("strategy", "queue"),
        ]);
        std::fs::write(&path, format!("{header}\n{bad}\n")).expect("write");
        assert!(load(&dir).expect_err("run").to_string().contains("line 2"));
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(load(&dir), Err(DataError::Missing { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
