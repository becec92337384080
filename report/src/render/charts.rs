//! The batch experiment's five charts, each an SVG document drawn from the [`Facts`] alone.
//!
//! - [`batch_time`]: work time per strategy (the batch time; for `/background` the time until
//!   its work was done, never its 202s), one panel per runtime, one bar per worker count, the
//!   ideal (hardware-limit) batch time marked on each bar, the rounds' range as a whisker.
//! - [`probe_latency`]: `/health` probe latency p50 → p99, pooled over all rounds, on a log
//!   scale: how blocked each server is while the batch runs; pairs with failed probes marked.
//! - [`probe_vs_lag`]: each pair's probe p99 beside the server's own executor lag p99.
//! - [`timeline`]: one batch per strategy, each request a bar from send to answer, the probes
//!   beneath: the picture that explains the numbers.
//! - [`latency_cdf`]: the distribution of per-request latency, one line per strategy.
//!
//! Strategies appear in `Strategy::ALL` order with the same colour in every chart; failed pairs
//! are left out (the bar charts write "failed" in their place).

use common::Strategy;
use common::strategy::Execution;

use crate::analysis::pairs::Pair;
use crate::analysis::requests::{Batch, TimelineBatch, TimelineSetting};
use crate::analysis::run::Run;
use crate::analysis::stats;
use crate::analysis::{Facts, PairKey};
use crate::render::format::{execution_word, thousands};
use crate::render::svg::{
    self, Anchor, Key, Scale, Stroke, Svg, TEXT, legend, nice_max, tick_label, triangle,
};

/// A chart: its file name under `charts/`, what it shows (alt text), and the SVG.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name (`batch_time.svg`).
    pub file: &'static str,
    /// One line saying what it shows; the Markdown alt text and heading.
    pub title: String,
    /// What to look for in it (no figures: those are in the chart and the findings).
    pub caption: &'static str,
    /// The SVG document.
    pub svg: String,
}

/// Every chart of the report, in the order the report shows them.
pub fn all(f: &Facts) -> Vec<Chart> {
    vec![
        Chart {
            file: "batch_time.svg",
            caption: "The further a bar rises above its tick (the ideal batch time), the more \
                time the batch lost; whiskers: the rounds' range.",
            title: "Work time per strategy and runtime, 1 worker vs all cores".into(),
            svg: batch_time(f),
        },
        Chart {
            file: "probe_latency.svg",
            caption: "A strategy that blocks the executor pushes the probe up towards the batch \
                time; one that keeps it free leaves it near the bottom.",
            title: "/health probe latency (p50 to p99, log scale) during each batch".into(),
            svg: probe_latency(f),
        },
        Chart {
            file: "probe_vs_lag.svg",
            caption: "Whose stall, pair by pair: the client's probe p99 (triangle), the \
                server's executor lag p99 (square) and its threads' run-queue wait (circle) on \
                one scale. The square is the server's heartbeat and the circle the kernel's \
                scheduler for the same rounds, each the median over rounds. Triangle and square high: the executor was held up. Circle up near the \
                triangle: it was free but had no CPU. Triangle alone high: the wait was on the \
                probe's own path. No square or circle: not measured.",
            title: "Client probe p99 vs server executor lag p99 and run-queue wait".into(),
            svg: probe_vs_lag(f),
        },
        Chart {
            file: "timeline.svg",
            caption: "What to look for: inline handlers answer one after another (a staircase); \
                yielding ones interleave and answer together near the end; offloaded ones share \
                the cores. Long grey probe bars mark the moments the server did not answer.",
            title: format!(
                "One batch per strategy ({})",
                describe(&f.timeline.setting, &f.run)
            ),
            svg: timeline(f),
        },
        Chart {
            file: "latency_cdf.svg",
            caption: "A vertical line: every request took the same time; a slanted one: requests \
                waited for each other, the first answered early and the last late.",
            title: "Per-request latency distribution (CDF) per strategy".into(),
            svg: latency_cdf(f),
        },
    ]
}

const WIDTH: f64 = 1120.0;
const GRID: &str = "#dddddd";
const INK: &str = "#222222";
const MUTED: &str = "#666666";
/// A probe that got no answer.
const FAILED: &str = "#c00000";

/// The colour of a strategy in every chart: warm for inline, cool for offloaded.
pub(crate) fn strategy_color(s: Strategy) -> &'static str {
    match s {
        Strategy::Generator => "#d62728",
        Strategy::Cycle => "#ff7f0e",
        Strategy::CycleSleep => "#9467bd",
        Strategy::Thread => "#1f77b4",
        Strategy::Background => "#8c564b",
        Strategy::Rayon => "#17becf",
        Strategy::Bounded => "#2ca02c",
        Strategy::Jobs => "#e377c2",
        Strategy::BlockInPlace => "#bcbd22",
        Strategy::Queue => "#7f7f7f",
        Strategy::Cached => "#1a55a0",
    }
}

/// The dash pattern of a strategy's line: by how it treats the executor.
pub(crate) fn strategy_dash(s: Strategy) -> &'static str {
    match s.execution() {
        Execution::Inline | Execution::Offloaded => "",
        Execution::Yielding => "7 4",
        Execution::Detached => "2 3",
        Execution::Job => "9 3 2 3",
    }
}

/// Bar colours per worker-count position (ascending worker counts).
const WORKER_COLORS: [&str; 5] = ["#f28e2b", "#4e79a7", "#59a14f", "#b07aa1", "#9c755f"];

fn worker_color(i: usize) -> &'static str {
    WORKER_COLORS[i % WORKER_COLORS.len()]
}

/// A header: title, subtitle; returns the y below it.
fn header(svg: &mut Svg, title: &str, subtitle: &str) -> f64 {
    svg.bold(20.0, 30.0, title, 18.0, Anchor::Start);
    let mut y = 52.0;
    for line in wrap(subtitle, ((WIDTH - 40.0) / (TEXT * 0.58)) as usize) {
        svg.text_styled(
            20.0,
            y,
            &line,
            TEXT,
            Anchor::Start,
            &format!("fill=\"{MUTED}\""),
        );
        y += TEXT + 5.0;
    }
    y + 4.0
}

/// Words of `s` in lines of at most `width` characters.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The shared frame of the two bar charts: one panel per target, one slot per strategy.
struct Panels {
    left: f64,
    top: f64,
    bottom: f64,
    panel_w: f64,
    gap: f64,
    strategies: Vec<Strategy>,
}

impl Panels {
    fn new(run: &Run, top: f64, plot_h: f64) -> Panels {
        let left = 78.0;
        let right = 16.0;
        let gap = 16.0;
        let n = run.targets.len().max(1) as f64;
        Panels {
            left,
            top,
            bottom: top + plot_h,
            panel_w: (WIDTH - left - right - gap * (n - 1.0)) / n,
            gap,
            strategies: run.strategies.clone(),
        }
    }

    fn panel_x(&self, i: usize) -> f64 {
        self.left + i as f64 * (self.panel_w + self.gap)
    }

    fn slot_w(&self) -> f64 {
        self.panel_w / self.strategies.len().max(1) as f64
    }

    /// Visits every bar of the grid (runtime `i` × strategy `j` × worker count `k`) whose pair
    /// is in the results: a failed pair gets the "failed" mark, a measured one is handed to
    /// `draw` with its worker index, the bar's centre and width.
    fn each_pair<'a>(
        &self,
        f: &'a Facts,
        workers: &[Option<u32>],
        svg: &mut Svg,
        mut draw: impl FnMut(&mut Svg, usize, (f64, f64), &'a Pair),
    ) {
        for (i, (target, _)) in f.run.targets.iter().enumerate() {
            for (j, s) in self.strategies.iter().enumerate() {
                for (k, w) in workers.iter().enumerate() {
                    let bar = self.bar(i, j, k, workers.len());
                    let key = PairKey {
                        target: target.clone(),
                        workers: *w,
                        strategy: *s,
                    };
                    match f.pair(&key) {
                        Some(pair) if pair.ok() => draw(svg, k, bar, pair),
                        Some(pair) if pair.failed() => failed_mark(svg, bar.0, self.bottom),
                        // Not applicable (the runtime cannot run it), or not in this run.
                        Some(_) | None => {}
                    }
                }
            }
        }
    }

    /// x of the centre of bar `k` of `of` in slot `j` of panel `i`, and the bar width.
    fn bar(&self, i: usize, j: usize, k: usize, of: usize) -> (f64, f64) {
        let slot = self.slot_w();
        let group = slot * 0.78;
        let w = group / of.max(1) as f64;
        let x0 = self.panel_x(i) + j as f64 * slot + (slot - group) / 2.0;
        (x0 + (k as f64 + 0.5) * w, w)
    }

    /// Panel frames and titles, horizontal grid lines with y tick labels, rotated strategy
    /// labels, and the y axis title.
    fn draw(&self, svg: &mut Svg, run: &Run, scale: &Scale, ticks: &[f64], y_title: &str) {
        for (i, (_, label)) in run.targets.iter().enumerate() {
            let x = self.panel_x(i);
            svg.rect(
                x,
                self.top,
                self.panel_w,
                self.bottom - self.top,
                "#fafafa",
                "",
            );
            svg.bold(
                x + self.panel_w / 2.0,
                self.top - 8.0,
                label,
                14.0,
                Anchor::Middle,
            );
            for t in ticks {
                let y = scale.at(*t);
                svg.line(x, y, x + self.panel_w, y, thin(GRID));
            }
            for (j, s) in self.strategies.iter().enumerate() {
                let cx = x + (j as f64 + 0.5) * self.slot_w();
                svg.text_rotated(
                    cx + 4.0,
                    self.bottom + 14.0,
                    s.path(),
                    TEXT,
                    Anchor::End,
                    -40.0,
                );
            }
            svg.rect(
                x,
                self.top,
                self.panel_w,
                self.bottom - self.top,
                "none",
                "stroke=\"#999999\"",
            );
        }
        for t in ticks {
            svg.text(
                self.left - 6.0,
                scale.at(*t) + 4.0,
                &tick_label(*t),
                TEXT,
                Anchor::End,
            );
        }
        svg.text_rotated(
            20.0,
            (self.top + self.bottom) / 2.0,
            y_title,
            TEXT,
            Anchor::Middle,
            -90.0,
        );
    }
}

fn thin(color: &str) -> Stroke<'_> {
    Stroke {
        color,
        width: 1.0,
        dash: "",
    }
}

/// Worker-count legend entries: `1 worker`, `2 workers (all cores)`.
fn worker_keys(run: &Run, key: fn(String) -> Key) -> Vec<(Key, String)> {
    run.worker_counts
        .iter()
        .enumerate()
        .map(|(i, w)| (key(worker_color(i).to_owned()), run.workers_label(*w)))
        .collect()
}

/// Chart 1: work time per strategy, a panel per runtime, a bar per worker count, the ideal
/// batch time marked, the rounds' spread as a whisker. `/background`'s bar is the time until
/// its work was done: its 202s measure no work.
pub fn batch_time(f: &Facts) -> String {
    let m = &f.run.metadata;
    let mut svg = Svg::new(WIDTH, 560.0, "Work time per strategy and runtime");
    let y = header(
        &mut svg,
        "Work time: all C requests answered (/background: all C jobs done)",
        &format!(
            "{} concurrent requests of n = {} per batch; bar = mean of {} round(s), whisker = \
             fastest to slowest round. Lower is better; the ideal is C × T1 / min(C, cores) \
             on {} cores, T1 being one lone request.",
            m.concurrency,
            thousands(m.n),
            m.rounds,
            m.cores
        ),
    );
    let mut keys = worker_keys(&f.run, Key::Box);
    keys.push((
        Key::Line(INK.into(), String::new(), 3.0),
        "ideal batch time".into(),
    ));
    keys.push((
        Key::Line(INK.into(), String::new(), 1.0),
        "fastest to slowest round".into(),
    ));
    let y = legend(&mut svg, 20.0, y + 6.0, WIDTH - 20.0, &keys);
    let p = Panels::new(&f.run, y + 24.0, 330.0);
    let workers = &f.run.worker_counts;
    let max = f
        .pairs
        .iter()
        .filter(|s| s.ok())
        .flat_map(|s| {
            let bar = s.work;
            [bar.and_then(|w| w.max.or(Some(w.mean))), s.ideal_batch_ms]
        })
        .flatten()
        .fold(0.0, f64::max);
    let scale = Scale::linear(0.0, nice_max(max), p.bottom, p.top);
    let ticks = scale.ticks(6);
    p.draw(&mut svg, &f.run, &scale, &ticks, "work time (ms)");
    p.each_pair(f, workers, &mut svg, |svg, k, (cx, bw), pair| {
        let Some(stats::WorkTime {
            mean,
            min: lo,
            max: hi,
        }) = pair.work
        else {
            return;
        };
        let y0 = scale.at(0.0);
        let y1 = scale.at(mean);
        svg.rect(cx - bw / 2.0, y1, bw - 1.0, y0 - y1, worker_color(k), "");
        if let (Some(lo), Some(hi)) = (lo, hi)
            && hi > lo
        {
            svg.line(cx, scale.at(lo), cx, scale.at(hi), thin(INK));
        }
        if let Some(ideal) = pair.ideal_batch_ms {
            let y = scale.at(ideal);
            svg.line(
                cx - bw / 2.0 - 1.0,
                y,
                cx + bw / 2.0,
                y,
                Stroke {
                    color: INK,
                    width: 3.0,
                    dash: "",
                },
            );
        }
    });
    let h = p.bottom + 95.0;
    svg.set_height(h);
    svg.finish()
}

/// "failed" written upwards where a bar would be.
fn failed_mark(svg: &mut Svg, cx: f64, bottom: f64) {
    svg.text_styled(
        cx + 4.0,
        bottom - 4.0,
        "failed",
        11.0,
        Anchor::Start,
        &format!(
            "fill=\"{MUTED}\" transform=\"rotate(-90 {} {})\"",
            svg::num(cx + 4.0),
            svg::num(bottom - 4.0)
        ),
    );
}

/// A log scale from `bottom` to `top` holding every value of `values` (ms, all positive) with
/// a margin of 1.6× on each side; 0.1 to 10 ms when there is nothing to draw.
fn log_scale_around(values: &[f64], bottom: f64, top: f64) -> Scale {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let (lo, hi) = if values.is_empty() {
        (0.1, 10.0)
    } else {
        (lo / 1.6, hi * 1.6)
    };
    Scale::log(lo, hi, bottom, top)
}

/// Chart 2: probe latency p50 (circle) to p99 (triangle), log scale, per strategy, a panel per
/// runtime, one range per worker count.
pub fn probe_latency(f: &Facts) -> String {
    let m = &f.run.metadata;
    let mut svg = Svg::new(WIDTH, 560.0, "/health probe latency during each batch");
    let interval = m
        .probe_interval_ms
        .map_or_else(String::new, |i| format!(" every {} ms", svg::num(i)));
    let y = header(
        &mut svg,
        "Is the server still answering? /health probe latency during the batch",
        &format!(
            "An open-loop GET /health{interval} while each batch runs, timed from its scheduled \
             send (a stalled server counts in full; the load generator's own lateness does \
             not). Circle = median (p50), triangle = p99, both over every probe of every round \
             (a probe with no answer counts at the timeout); red ✗: some probe got no answer; \
             log scale; no mark: no probe was due. Low means the executor stays free.",
        ),
    );
    let mut keys = worker_keys(&f.run, Key::Box);
    keys.push((Key::Dot("#ffffff".into()), "p50".into()));
    keys.push((Key::Triangle("#ffffff".into()), "p99".into()));
    let y = legend(&mut svg, 20.0, y + 6.0, WIDTH - 20.0, &keys);
    let p = Panels::new(&f.run, y + 24.0, 330.0);
    let workers = &f.run.worker_counts;
    let values: Vec<f64> = f
        .pairs
        .iter()
        .filter(|s| s.ok())
        .flat_map(|s| [s.probe_latency_us_p50, s.probe_latency_us_p99])
        .flatten()
        .filter(|v| *v > 0.0)
        .map(|us| us / 1000.0)
        .collect();
    let scale = log_scale_around(&values, p.bottom, p.top);
    let ticks = scale.ticks(6);
    p.draw(
        &mut svg,
        &f.run,
        &scale,
        &ticks,
        "probe latency (ms, log scale)",
    );
    p.each_pair(f, workers, &mut svg, |svg, k, (cx, _), pair| {
        let ms = |v: Option<f64>| v.map(|us| us / 1000.0);
        let (p50, p99) = (ms(pair.probe_latency_us_p50), ms(pair.probe_latency_us_p99));
        let color = worker_color(k);
        if let (Some(a), Some(b)) = (p50, p99) {
            svg.line(
                cx,
                scale.at(a),
                cx,
                scale.at(b),
                Stroke {
                    color,
                    width: 4.0,
                    dash: "",
                },
            );
        }
        if let Some(a) = p50 {
            svg.circle(cx, scale.at(a), 4.5, color, INK);
        }
        if let Some(b) = p99 {
            svg.polygon(&triangle(cx, scale.at(b), 5.5), color, INK);
        }
        if pair.probe_errors > 0 {
            let top = p99.map_or(p.bottom, |b| scale.at(b));
            svg.text_styled(
                cx,
                top - 9.0,
                "✗",
                TEXT,
                Anchor::Middle,
                &format!("fill=\"{FAILED}\" font-weight=\"bold\""),
            );
        }
    });
    svg.set_height(p.bottom + 95.0);
    svg.finish()
}

/// Chart: the client's probe p99 beside the server's own lag p99, per pair, on one log scale.
pub fn probe_vs_lag(f: &Facts) -> String {
    let mut svg = Svg::new(
        WIDTH,
        560.0,
        "Client probe p99 vs server executor lag p99 and run-queue wait",
    );
    let y = header(
        &mut svg,
        "Whose wait? The client's probe p99 beside the server's own executor lag and run-queue wait",
        "Triangle: p99 of the /health probe over every probe of every round (the client's \
         view). Square: the server's heartbeat lateness p99 in the same rounds, median over \
         rounds (the executor's view). Circle: each executor thread's time runnable but waiting \
         for a CPU per round, from the kernel's scheduler, median over rounds. A triangle far \
         above its square and circle: the client waited but the executor was free and had a \
         CPU. Log scale; values below 0.01 ms are drawn at 0.01 ms.",
    );
    let mut keys = worker_keys(&f.run, Key::Box);
    keys.push((Key::Triangle("#ffffff".into()), "client probe p99".into()));
    keys.push((Key::Square("#ffffff".into()), "server lag p99".into()));
    keys.push((Key::Dot("#ffffff".into()), "executor run-queue wait".into()));
    let y = legend(&mut svg, 20.0, y + 6.0, WIDTH - 20.0, &keys);
    let p = Panels::new(&f.run, y + 24.0, 330.0);
    let workers = &f.run.worker_counts;
    const FLOOR_MS: f64 = 0.01;
    let values: Vec<f64> = f
        .pairs
        .iter()
        .filter(|s| s.ok())
        .flat_map(|s| {
            [
                s.probe_latency_us_p99,
                s.lag_us_p99_median,
                s.executor_runq_ms_per_thread_median.map(|ms| ms * 1000.0),
            ]
        })
        .flatten()
        .map(|us| (us / 1000.0).max(FLOOR_MS))
        .collect();
    let scale = log_scale_around(&values, p.bottom, p.top);
    let ticks = scale.ticks(6);
    p.draw(&mut svg, &f.run, &scale, &ticks, "time (ms, log scale)");
    p.each_pair(f, workers, &mut svg, |svg, k, (cx, _), pair| {
        let ms = |v: Option<f64>| v.map(|us| (us / 1000.0).max(FLOOR_MS));
        let (probe, lag) = (ms(pair.probe_latency_us_p99), ms(pair.lag_us_p99_median));
        let runq = pair
            .executor_runq_ms_per_thread_median
            .map(|ms| ms.max(FLOOR_MS));
        let color = worker_color(k);
        if let (Some(a), Some(b)) = (probe, lag) {
            svg.line(cx, scale.at(a), cx, scale.at(b), thin(MUTED));
        }
        if let Some(q) = runq {
            svg.circle(cx, scale.at(q), 4.0, color, INK);
        }
        if let Some(b) = lag {
            svg.rect(
                cx - 4.5,
                scale.at(b) - 4.5,
                9.0,
                9.0,
                color,
                &format!("stroke=\"{INK}\""),
            );
        }
        if let Some(a) = probe {
            svg.polygon(&triangle(cx, scale.at(a), 5.5), color, INK);
        }
    });
    svg.set_height(p.bottom + 95.0);
    svg.finish()
}

/// `tokio + axum, 1 worker, the median round of each strategy`.
pub(crate) fn describe(setting: &TimelineSetting, run: &Run) -> String {
    format!(
        "{}, {}, the median round of each strategy",
        setting.label,
        run.workers_label(setting.workers)
    )
}

/// Chart 3: one batch per strategy on a shared time axis; each request a bar from send to
/// answer (sorted by answer time), the `/health` probes beneath as thin grey bars from their
/// scheduled send to their answer.
pub fn timeline(f: &Facts) -> String {
    let setting = &f.timeline.setting;
    let c = f.run.metadata.concurrency.max(1) as f64;
    let lane = (150.0 / c).clamp(1.5, 9.0);
    let probe_lane = 12.0;
    let panel_h = lane * c + probe_lane + 14.0;
    let left = 190.0;
    let right = WIDTH - 24.0;
    let mut svg = Svg::new(WIDTH, 600.0, "One batch per strategy, request by request");
    let y = header(
        &mut svg,
        "One batch, request by request",
        &format!(
            "{}. Each bar is one request, from send to answer, sorted by answer time; the grey \
             bars beneath are /health probes (scheduled send to answer). Expect inline handlers \
             to answer one after another (a staircase), yielding ones together near the end, \
             offloaded ones to share the cores.",
            describe(setting, &f.run)
        ),
    );
    let keys = vec![
        (
            Key::Box("#777777".into()),
            "request: send → answer (strategy colour)".into(),
        ),
        (
            Key::Box("#9a9a9a".into()),
            "/health probe: scheduled → answer".into(),
        ),
        (
            Key::Box(FAILED.into()),
            "probe with no answer: scheduled → timeout".into(),
        ),
        (
            Key::Line(INK.into(), "5 3".into(), 1.5),
            "ideal batch time".into(),
        ),
        (
            Key::Line(
                strategy_color(Strategy::Background).into(),
                "2 2".into(),
                2.0,
            ),
            "/background: all jobs done".into(),
        ),
    ];
    let mut y = legend(&mut svg, 20.0, y + 6.0, WIDTH - 20.0, &keys) + 6.0;

    struct Panel<'a> {
        strategy: Strategy,
        round: Option<&'a Batch>,
        bars: Vec<(f64, f64)>,
        /// From the scheduled send to the answer (or to the timeout), failed or not.
        probes: Vec<(f64, f64, bool)>,
        note: Option<&'static str>,
    }
    let mut panels = Vec::new();
    let mut max_t: f64 = 0.0;
    for (s, batch) in &f.timeline.batches {
        let mut panel = Panel {
            strategy: *s,
            round: None,
            bars: Vec::new(),
            probes: Vec::new(),
            note: None,
        };
        match batch {
            TimelineBatch::Shown(round) => {
                panel.round = Some(round);
                panel.probes.clone_from(&round.probes);
                for end in round
                    .requests
                    .iter()
                    .map(|b| b.1)
                    .chain(panel.probes.iter().map(|p| p.1))
                {
                    max_t = max_t.max(end);
                }
                for v in [round.ideal_batch_ms, round.background_done_ms]
                    .into_iter()
                    .flatten()
                {
                    max_t = max_t.max(v);
                }
                panel.bars.clone_from(&round.requests);
            }
            TimelineBatch::NotApplicable => panel.note = Some("not applicable"),
            TimelineBatch::Failed => panel.note = Some("failed: not shown"),
            TimelineBatch::NotMeasured => panel.note = Some("not measured"),
        }
        panels.push(panel);
    }
    let top = y;
    let scale = Scale::linear(0.0, nice_max(max_t), left, right);
    let ticks = scale.ticks(10);
    let bottom = top + panels.len() as f64 * (panel_h + 8.0);
    for t in &ticks {
        svg.line(scale.at(*t), top, scale.at(*t), bottom - 8.0, thin(GRID));
    }
    for panel in &panels {
        let s = panel.strategy;
        let color = strategy_color(s);
        svg.rect(left, y, right - left, panel_h, "none", "stroke=\"#bbbbbb\"");
        svg.bold(left - 10.0, y + 16.0, s.path(), 14.0, Anchor::End);
        let kind = match panel.round.filter(|_| panel.note.is_none()) {
            Some(round) => format!("{}, round {}", execution_word(s.execution()), round.round),
            None => execution_word(s.execution()).to_owned(),
        };
        svg.text_styled(
            left - 10.0,
            y + 32.0,
            &kind,
            12.0,
            Anchor::End,
            &format!("fill=\"{MUTED}\""),
        );
        if let Some(note) = panel.note {
            svg.text_styled(
                left + 10.0,
                y + panel_h / 2.0 + 4.0,
                note,
                TEXT,
                Anchor::Start,
                &format!("fill=\"{MUTED}\""),
            );
        }
        let mut ly = y + 4.0;
        for (a, b) in &panel.bars {
            let x0 = scale.at(*a);
            let w = (scale.at(*b) - x0).max(1.0);
            svg.rect(x0, ly, w, (lane * 0.8).max(1.0), color, "");
            ly += lane;
        }
        let py = y + 4.0 + lane * c + 3.0;
        svg.text_styled(
            left - 4.0,
            py + 9.0,
            "probes",
            10.0,
            Anchor::End,
            &format!("fill=\"{MUTED}\""),
        );
        for (a, b, failed) in &panel.probes {
            let x0 = scale.at(*a);
            let w = (scale.at(*b) - x0).max(1.0);
            let fill = if *failed { FAILED } else { "#9a9a9a" };
            svg.rect(x0, py, w, 8.0, fill, "fill-opacity=\"0.45\"");
        }
        if let Some(round) = panel.round.filter(|_| panel.note.is_none()) {
            if let Some(ideal) = round.ideal_batch_ms {
                let x = scale.at(ideal);
                svg.line(
                    x,
                    y,
                    x,
                    y + panel_h,
                    Stroke {
                        color: INK,
                        width: 1.5,
                        dash: "5 3",
                    },
                );
            }
            if let Some(done) = round.background_done_ms {
                let x = scale.at(done);
                svg.line(
                    x,
                    y,
                    x,
                    y + panel_h,
                    Stroke {
                        color: strategy_color(Strategy::Background),
                        width: 2.0,
                        dash: "2 2",
                    },
                );
            }
        }
        y += panel_h + 8.0;
    }
    for t in &ticks {
        svg.text(
            scale.at(*t),
            y + 10.0,
            &tick_label(*t),
            TEXT,
            Anchor::Middle,
        );
    }
    svg.text(
        (left + right) / 2.0,
        y + 32.0,
        "time since the batch started (ms)",
        TEXT,
        Anchor::Middle,
    );
    svg.set_height(y + 48.0);
    svg.finish()
}

/// Chart 4: per-request latency CDF, a panel per runtime (columns) × worker count (rows), a
/// line per strategy, log time axis; every answered request of every round.
pub fn latency_cdf(f: &Facts) -> String {
    let targets = &f.run.targets;
    let workers = &f.run.worker_counts;
    let strategies = &f.run.strategies;
    let mut svg = Svg::new(
        WIDTH,
        800.0,
        "Per-request latency distribution per strategy",
    );
    let y = header(
        &mut svg,
        "Per-request latency distribution (CDF)",
        &format!(
            "Share of requests answered within a given time, every answered request of every \
             round (log time axis). A line far to the left is fast for everyone; a slanted one \
             means some requests wait for others. For /background the latency is the 202 \
             answer, not the work; for {} it is POST plus GET ?wait=true.",
            crate::render::format::job_apis(&f.run)
        ),
    );
    let keys: Vec<(Key, String)> = strategies
        .iter()
        .map(|s| {
            (
                Key::Line(strategy_color(*s).into(), strategy_dash(*s).into(), 2.5),
                format!("{} ({})", s.path(), execution_word(s.execution())),
            )
        })
        .collect();
    let y = legend(&mut svg, 20.0, y + 6.0, WIDTH - 20.0, &keys) + 16.0;

    // Every curve first, to share one x scale.
    let mut curves: Vec<(usize, usize, Strategy, Vec<f64>)> = Vec::new();
    for (i, (target, _)) in targets.iter().enumerate() {
        for (j, w) in workers.iter().enumerate() {
            for s in strategies {
                if f.ok_pair(target, *w, *s).is_none() {
                    continue;
                }
                let key = PairKey {
                    target: target.clone(),
                    workers: *w,
                    strategy: *s,
                };
                let xs = f.latencies.get(&key).cloned().unwrap_or_default();
                if !xs.is_empty() {
                    curves.push((i, j, *s, xs));
                }
            }
        }
    }
    let lo = curves
        .iter()
        .filter_map(|c| c.3.first())
        .copied()
        .fold(f64::INFINITY, f64::min);
    let hi = curves
        .iter()
        .filter_map(|c| c.3.last())
        .copied()
        .fold(0.0, f64::max);
    let (lo, hi) = if curves.is_empty() {
        (0.1, 10.0)
    } else {
        (lo / 1.3, hi * 1.3)
    };

    let left = 78.0;
    let gap_x = 22.0;
    let gap_y = 68.0;
    let cols = targets.len().max(1) as f64;
    let pw = (WIDTH - left - 16.0 - gap_x * (cols - 1.0)) / cols;
    let ph = 230.0;
    let top = y + 8.0;
    for (i, (_, label)) in targets.iter().enumerate() {
        for (j, w) in workers.iter().enumerate() {
            let x0 = left + i as f64 * (pw + gap_x);
            let y0 = top + j as f64 * (ph + gap_y);
            let xs = Scale::log(lo, hi, x0, x0 + pw);
            let ys = Scale::linear(0.0, 1.0, y0 + ph, y0);
            svg.rect(x0, y0, pw, ph, "#fafafa", "");
            svg.bold(
                x0 + pw / 2.0,
                y0 - 8.0,
                &format!("{label}, {}", f.run.workers_label(*w)),
                TEXT + 1.0,
                Anchor::Middle,
            );
            for t in xs.ticks(6) {
                svg.line(xs.at(t), y0, xs.at(t), y0 + ph, thin(GRID));
                svg.text(
                    xs.at(t),
                    y0 + ph + 16.0,
                    &tick_label(t),
                    TEXT,
                    Anchor::Middle,
                );
            }
            for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
                svg.line(x0, ys.at(t), x0 + pw, ys.at(t), thin(GRID));
                if i == 0 {
                    svg.text(
                        x0 - 6.0,
                        ys.at(t) + 4.0,
                        &format!("{:.0} %", t * 100.0),
                        TEXT,
                        Anchor::End,
                    );
                }
            }
            for (_, _, s, v) in curves.iter().filter(|c| c.0 == i && c.1 == j) {
                let nf = v.len() as f64;
                let mut pts = vec![(xs.at(v[0]), ys.at(0.0))];
                for (k, x) in v.iter().enumerate() {
                    let px = xs.at(*x);
                    pts.push((px, ys.at(k as f64 / nf)));
                    pts.push((px, ys.at((k + 1) as f64 / nf)));
                }
                svg.polyline(
                    &pts,
                    Stroke {
                        color: strategy_color(*s),
                        width: 2.2,
                        dash: strategy_dash(*s),
                    },
                );
            }
            svg.rect(x0, y0, pw, ph, "none", "stroke=\"#999999\"");
            svg.text(
                x0 + pw / 2.0,
                y0 + ph + 34.0,
                "request latency (ms, log scale)",
                TEXT,
                Anchor::Middle,
            );
        }
    }
    let bottom = top + workers.len() as f64 * (ph + gap_y);
    svg.text_rotated(
        20.0,
        (top + bottom) / 2.0,
        "requests answered within that time (%)",
        TEXT,
        Anchor::Middle,
        -90.0,
    );
    svg.set_height(bottom + 4.0);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One lag square per pair with the server's lag, one probe triangle per pair; none for a
    /// pair without lag.
    #[test]
    fn probe_vs_lag_draws_both_sides_where_measured() {
        use crate::data::fake::{Pair, results};
        let square = "width=\"9\" height=\"9\"";
        let r = results(&[
            Pair::new("tokio", 1, Strategy::Cycle, &[10.0]).server(7.5, 1.0),
            Pair::new("tokio", 1, Strategy::Thread, &[10.0]),
        ]);
        let svg = probe_vs_lag(&crate::analysis::Facts::of(&r));
        roxmltree::Document::parse(&svg).expect("well-formed");
        assert_eq!(svg.matches(square).count(), 1, "{svg}");
        assert!(svg.matches("<polygon").count() >= 2, "{svg}");
    }

    #[test]
    fn words_wrap_and_numbers_group() {
        assert_eq!(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(thousands(50_000_000), "50,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }

    #[test]
    fn every_strategy_has_its_own_colour() {
        let mut colors: Vec<&str> = Strategy::ALL.iter().map(|s| strategy_color(*s)).collect();
        colors.sort_unstable();
        colors.dedup();
        assert_eq!(colors.len(), Strategy::ALL.len());
    }
}
