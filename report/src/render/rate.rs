//! The "Rate" section: the rate experiment's findings ([`crate::analysis::rate`]: for each
//! pair, the offered load at which p99 latency passes 10 × T1, and whether past its capacity
//! it sheds load with 503s or lets it queue) and two charts from rate_summary.csv's steps:
//! latency (p50, p99) with the 503 share against offered load, and goodput against offered
//! load.

use common::Strategy;
use results_format::Metadata;

use crate::analysis::rate::{
    CapacityKind, KNEE_T1S, Overload, PairFinding, PairSteps, SHED_SHARE, StepTally,
    capacity_bounds, past_capacity_by_kind, t1_bounds,
};
use crate::render::charts::{Chart, strategy_color};
use crate::render::format::{setting, sig3};
use crate::render::grid::table;
use crate::render::svg::{self, Anchor, Key, Scale, Stroke, Svg, TEXT, legend};

/// The section's Markdown, with `charts` (from [`charts`]) under `charts_dir`.
pub fn markdown(
    r: &[PairSteps],
    metadata: &Metadata,
    found: &[PairFinding],
    tally: &StepTally,
    charts: &[Chart],
    charts_dir: &str,
) -> String {
    let mut md = String::from("## Rate (open loop)\n\n");
    let arrivals = match metadata.arrivals.as_deref() {
        Some("poisson") => format!(
            "as Poisson arrivals (exponential gaps drawn from seed {}: the same arrivals, scaled \
             to each step's rate, for every pair)",
            metadata
                .seed
                .map_or_else(|| "?".to_owned(), |s| s.to_string())
        ),
        _ => "at constant intervals".to_owned(),
    };
    md.push_str(&format!(
        "Requests sent {arrivals} at each offered load, a fraction of the pair's **capacity** \
         (the kernels it can run at once ÷ T1: executor threads inline or yielding, else the \
         cores), each timed from its scheduled send. **Knee**: the first load whose p99 of \
         verified answers passed {KNEE_T1S} × T1. **Past capacity**, at the highest load: \
         *sheds* (≥ {:.0} % answered 503), *queues* (p99 past {KNEE_T1S} × T1), else *keeps \
         up*. A step whose generator was over 1 ms late at p99 (*generator behind*, hollow in \
         the charts) is left out of both.\n\n",
        SHED_SHARE * 100.0
    ));
    if found.is_empty() {
        md.push_str("No pair of the rate experiment was measured.\n\n");
        return md;
    }
    md.push_str(&tally_line(tally));
    // The steps the generator fell behind at, named once under the table rather than in a
    // column of "none"s; the requests its cap refused get a column only when there were any.
    let behind: Vec<String> = found
        .iter()
        .filter(|f| !f.behind_steps.is_empty())
        .map(|f| {
            let steps: Vec<String> = f.behind_steps.iter().map(u32::to_string).collect();
            format!(
                "{} {} (step {})",
                setting(&f.target, f.workers),
                f.strategy.path(),
                steps.join(", ")
            )
        })
        .collect();
    // A grid: a row per strategy, a column per setting, each cell the knee and the verdict
    // past capacity; T1 and the capacity in req/s are in rate_summary.csv, their range here.
    let mut columns: Vec<(String, Option<u32>)> = Vec::new();
    let mut rows: Vec<Strategy> = Vec::new();
    for f in found {
        if !columns.iter().any(|c| c.0 == f.target && c.1 == f.workers) {
            columns.push((f.target.clone(), f.workers));
        }
        if !rows.contains(&f.strategy) {
            rows.push(f.strategy);
        }
    }
    let span = |range: Option<(f64, f64)>, digits: usize| {
        let (lo, hi) = range.unwrap_or((0.0, 0.0));
        let (lo, hi) = (format!("{lo:.digits$}"), format!("{hi:.digits$}"));
        if lo == hi {
            lo
        } else {
            format!("{lo} – {hi}")
        }
    };
    md.push_str(&format!(
        "Knee (load) · past capacity (*queues* with its p99, *sheds* with its share of 503s); \
         T1 {} ms and capacity {} req/s over the pairs (each pair's in `rate_summary.csv`):\n\n",
        span(t1_bounds(found), 2),
        span(capacity_bounds(found), 0),
    ));
    let heads: Vec<String> = columns.iter().map(|(t, w)| setting(t, *w)).collect();
    let labels: Vec<String> = rows.iter().map(|s| s.path().to_owned()).collect();
    md.push_str(&table(&labels, &heads, |r, c| {
        let Some(f) = found.iter().find(|f| {
            f.strategy == rows[r] && f.target == columns[c].0 && f.workers == columns[c].1
        }) else {
            return "–".to_owned();
        };
        let knee = match f.knee_load {
            Some(l) => format!("{l:.2}"),
            None => format!("not reached (up to {:.2})", f.top_load),
        };
        let overload = match f.overload {
            Some(Overload::Sheds(share)) => format!("sheds {:.0} %", share * 100.0),
            Some(Overload::Queues(p99)) => format!("queues {} ms", sig3(p99)),
            Some(Overload::KeepsUp) => "keeps up".into(),
            None => "not offered".into(),
        };
        let refused = if f.refused > 0 {
            format!("; {} refused by the generator", f.refused)
        } else {
            String::new()
        };
        format!("{knee} · {overload}{refused}")
    }));
    md.push('\n');
    if !behind.is_empty() {
        md.push_str(&format!(
            "The generator fell behind at: {}.\n\n",
            behind.join("; ")
        ));
    }
    let levels: Vec<String> = past_capacity_by_kind(found)
        .into_iter()
        .map(|(kind, (lo, hi))| {
            let kind = match kind {
                CapacityKind::OneExecutorThread => "inline on one executor thread",
                CapacityKind::ExecutorThreads => "on more threads",
                CapacityKind::Cores => "offloaded",
            };
            let range = if format!("{lo:.2}") == format!("{hi:.2}") {
                format!("{lo:.2}")
            } else {
                format!("{lo:.2}–{hi:.2}")
            };
            format!("{kind} {range}")
        })
        .collect();
    if !levels.is_empty() {
        md.push_str(&format!(
            "**Goodput past capacity**, a fraction of the capacity on the step's own visit (the \
             machine drifts between visits), the median of a pair's steps above 1: {}. Below 1: \
             less than the pair can run at once (the generator shares the cores).\n\n",
            levels.join(", ")
        ));
    }
    let failed: Vec<String> = r
        .iter()
        .flat_map(|pair| {
            pair.failures.iter().map(move |why| {
                format!(
                    "{} /{}: {}",
                    pair.target,
                    pair.strategy.name(),
                    why.as_deref().unwrap_or("failed")
                )
            })
        })
        .collect();
    if !failed.is_empty() {
        md.push_str(&format!("Failed pairs: {}.\n\n", failed.join("; ")));
    }
    for c in charts {
        md.push_str(&format!(
            "### {}\n\n![{}]({charts_dir}/{})\n\n{}\n\n",
            c.title, c.title, c.file, c.caption
        ));
    }
    md
}

/// How many steps were left out and why, and how many had a p99 below their maximum.
fn tally_line(t: &StepTally) -> String {
    let excluded = match (t.behind, t.worst_late_ms) {
        (0, _) => format!("All {} steps kept their schedule.", t.steps),
        (n, worst) => format!(
            "{n} of {} steps excluded from knees and verdicts, the generator behind{}.",
            t.steps,
            worst.map_or(String::new(), |w| format!(" (up to {w:.2} ms late)"))
        ),
    };
    let work = match (&t.work, t.fewest_scheduled) {
        (Some((kernel, n)), Some(fewest)) => format!(
            "Every request asked for {kernel} of n = {n}; every step sent at least {fewest} \
             requests. "
        ),
        (None, Some(fewest)) => format!("Every step sent at least {fewest} requests. "),
        _ => String::new(),
    };
    format!(
        "{work}{excluded} p99 below the maximum (more than 100 answers) in {} of {} steps.\n\n",
        t.p99_below_max, t.with_latency
    )
}

/// The section's charts.
pub fn charts(r: &[PairSteps], found: &[PairFinding]) -> Vec<Chart> {
    vec![
        Chart {
            file: "rate_latency.svg",
            title: "Latency (p50, p99) vs offered load, a row per strategy".into(),
            caption: "Of the verified answers, one log scale for all panels. A line that shoots up \
                past load 1 queues; a bounded strategy that sheds stays flat (its 503s are in \
                the table and the goodput chart).",
            svg: latency_chart(r, found),
        },
        Chart {
            file: "rate_goodput.svg",
            title: "Goodput vs offered load (both as fractions of capacity)".into(),
            caption: "The grey diagonal is a server that answers everything it is offered. \
                Below it, requests were shed, failed or still waiting at the end of the step.",
            svg: goodput_chart(r),
        },
    ]
}

const WIDTH: f64 = 1120.0;
const INK: &str = "#222222";
const GRID: &str = "#dddddd";
/// The knee's marker.
const KNEE: &str = "#d62728";

/// Pairs grouped by target (panel), in file order.
fn panels(r: &[PairSteps]) -> Vec<(String, Vec<&PairSteps>)> {
    let mut out: Vec<(String, Vec<&PairSteps>)> = Vec::new();
    for rows in r {
        let first = rows;
        let name = match first.workers {
            Some(1) => format!("{} ({}, 1 worker)", first.target, first.runtime),
            Some(w) => format!("{} ({}, {w} workers)", first.target, first.runtime),
            None => first.target.clone(),
        };
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(rows),
            None => out.push((name, vec![rows])),
        }
    }
    out
}

fn legend_keys(r: &[PairSteps]) -> Vec<(Key, String)> {
    let mut seen: Vec<Strategy> = r
        .iter()
        .filter(|pair| !pair.steps.is_empty())
        .map(|pair| pair.strategy)
        .collect();
    seen.sort_by_key(|s| Strategy::ALL.iter().position(|x| x == s));
    seen.dedup();
    seen.into_iter()
        .map(|s| {
            (
                Key::Line(strategy_color(s).into(), String::new(), 2.5),
                s.path().into(),
            )
        })
        .collect()
}

fn max_load(r: &[PairSteps]) -> f64 {
    r.iter()
        .flat_map(|pair| &pair.steps)
        .filter_map(|s| s.load)
        .fold(1.0_f64, f64::max)
}

/// Axes of one plot over pixels `left..right` × `bottom..top`: grid, ticks and labels.
#[allow(clippy::too_many_arguments)]
fn axes(
    svg: &mut Svg,
    (left, right, bottom, top): (f64, f64, f64, f64),
    x: &Scale,
    x_ticks: &[f64],
    y: &Scale,
    y_ticks: &[f64],
    y_label: &str,
    x_label: bool,
) {
    let grid = Stroke {
        color: GRID,
        width: 1.0,
        dash: "",
    };
    for &t in y_ticks {
        let yy = y.at(t);
        svg.line(left, yy, right, yy, grid);
        svg.text(
            left - 6.0,
            yy + 4.0,
            &svg::tick_label(t),
            TEXT - 2.0,
            Anchor::End,
        );
    }
    for &t in x_ticks {
        let xx = x.at(t);
        svg.line(xx, bottom, xx, top, grid);
        if x_label {
            svg.text(
                xx,
                bottom + 15.0,
                &svg::tick_label(t),
                TEXT - 2.0,
                Anchor::Middle,
            );
        }
    }
    svg.text_rotated(
        left - 44.0,
        (bottom + top) / 2.0,
        y_label,
        TEXT - 1.0,
        Anchor::Middle,
        -90.0,
    );
}

/// The server a pair ran on, as a column heading: `tokio (2 workers)`.
fn server_name(row: &PairSteps) -> String {
    match row.workers {
        Some(1) => format!("{} (1 worker)", row.target),
        Some(w) => format!("{} ({w} workers)", row.target),
        None => row.target.clone(),
    }
}

/// Small multiples: a row of panels per strategy (in list order), a panel per server (in file
/// order), two lines a panel (p99 solid, p50 dashed) on one log scale throughout, so a row
/// compares the runtimes for one strategy and a column the strategies on one runtime. The
/// knee is a red triangle on the axis; a step left out (the generator behind) is hollow.
fn latency_chart(r: &[PairSteps], found: &[PairFinding]) -> String {
    let mut strategies: Vec<Strategy> = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    for pair in r.iter().filter(|pair| !pair.steps.is_empty()) {
        if !strategies.contains(&pair.strategy) {
            strategies.push(pair.strategy);
        }
        let name = server_name(pair);
        if !servers.contains(&name) {
            servers.push(name);
        }
    }
    strategies.sort_by_key(|s| Strategy::ALL.iter().position(|x| x == s));
    let cols = servers.len().max(1);
    let (left0, label_w) = (20.0, 110.0);
    let cell_w = (WIDTH - left0 - label_w - 10.0) / cols as f64;
    let (cell_h, gap_y) = (120.0, 26.0);
    let mut svg = Svg::new(WIDTH, 400.0, "Latency vs offered load");
    svg.bold(
        20.0,
        28.0,
        "Latency in ms (log; p99 solid, p50 dashed) vs offered load: a row per strategy, a column \
         per server",
        TEXT + 3.0,
        Anchor::Start,
    );
    let keys = [
        (Key::Line(INK.into(), String::new(), 2.0), "p99".to_owned()),
        (Key::Line(INK.into(), "5 4".into(), 2.0), "p50".to_owned()),
        (
            Key::Triangle(KNEE.into()),
            format!("knee (p99 > {KNEE_T1S} × T1)"),
        ),
        (
            Key::Dot("#ffffff".into()),
            "excluded: generator behind".to_owned(),
        ),
    ];
    let y0 = legend(&mut svg, 20.0, 54.0, WIDTH - 20.0, &keys) + 36.0;
    let values: Vec<f64> = r
        .iter()
        .flat_map(|pair| &pair.steps)
        .flat_map(|s| [s.latency_us_p50, s.latency_us_p99])
        .flatten()
        .filter(|v| *v > 0.0)
        .map(|us| us / 1000.0)
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0_f64, f64::max);
    let (lo, hi) = if values.is_empty() {
        (0.1, 10.0)
    } else {
        (lo * 0.8, hi * 1.25)
    };
    let xmax = max_load(r) * 1.05;
    for (c, name) in servers.iter().enumerate() {
        let left = left0 + label_w + c as f64 * cell_w + 34.0;
        // `tokio-current-thread (1 worker)` over two lines: the columns are narrow.
        let (target, workers) = name.split_once(" (").unwrap_or((name.as_str(), ""));
        svg.bold(left, y0 - 20.0, target, TEXT - 1.0, Anchor::Start);
        if !workers.is_empty() {
            svg.text(
                left,
                y0 - 6.0,
                &format!("({workers}"),
                TEXT - 2.0,
                Anchor::Start,
            );
        }
    }
    let mut bottom = y0;
    for (i, strategy) in strategies.iter().enumerate() {
        let top = y0 + i as f64 * (cell_h + gap_y);
        let color = strategy_color(*strategy);
        svg.bold(
            left0,
            top + cell_h / 2.0,
            strategy.path(),
            TEXT,
            Anchor::Start,
        );
        for (c, name) in servers.iter().enumerate() {
            let left = left0 + label_w + c as f64 * cell_w + 34.0;
            let right = left + cell_w - 44.0;
            let x = Scale::linear(0.0, xmax, left, right);
            let y = Scale::log(lo, hi, top + cell_h, top);
            let last = i + 1 == strategies.len();
            axes(
                &mut svg,
                (left, right, top + cell_h, top),
                &x,
                &x.ticks(4),
                &y,
                &y.ticks(3),
                "",
                last,
            );
            // Capacity.
            svg.line(
                x.at(1.0),
                top + cell_h,
                x.at(1.0),
                top,
                Stroke {
                    color: INK,
                    width: 1.0,
                    dash: "3 3",
                },
            );
            let measured = r
                .iter()
                .find(|pair| server_name(pair) == *name && pair.strategy == *strategy);
            let Some(rows) = measured.filter(|pair| !pair.steps.is_empty()) else {
                svg.text(
                    (left + right) / 2.0,
                    top + cell_h / 2.0,
                    "not measured",
                    TEXT - 2.0,
                    Anchor::Middle,
                );
                continue;
            };
            let steps = &rows.steps;
            for (p99, dash) in [(false, "5 4"), (true, "")] {
                let points: Vec<(f64, f64, bool)> = steps
                    .iter()
                    .filter_map(|r| {
                        let v = if p99 {
                            r.latency_us_p99
                        } else {
                            r.latency_us_p50
                        }?;
                        Some((x.at(r.load?), y.at((v / 1000.0).max(lo)), r.behind))
                    })
                    .collect();
                let line: Vec<(f64, f64)> = points.iter().map(|(px, py, _)| (*px, *py)).collect();
                svg.polyline(
                    &line,
                    Stroke {
                        color,
                        width: if p99 { 2.0 } else { 1.5 },
                        dash,
                    },
                );
                for (px, py, behind) in points {
                    let fill = if behind { "#ffffff" } else { color };
                    svg.circle(px, py, if p99 { 3.0 } else { 2.2 }, fill, color);
                }
            }
            let knee = found.iter().find(|f| {
                f.strategy == *strategy && rows.target == f.target && rows.workers == f.workers
            });
            if let Some(load) = knee.and_then(|f| f.knee_load) {
                svg.polygon(
                    &crate::render::svg::triangle(x.at(load), top + cell_h - 5.0, 5.5),
                    KNEE,
                    INK,
                );
            }
        }
        bottom = top + cell_h + 40.0;
    }
    svg.text(
        WIDTH / 2.0,
        bottom,
        "offered load (fraction of capacity; dotted line: 1)",
        TEXT,
        Anchor::Middle,
    );
    svg.set_height(bottom + 20.0);
    svg.finish()
}

fn goodput_chart(r: &[PairSteps]) -> String {
    let groups = panels(r);
    let per_row = 3usize;
    let panel_w = (WIDTH - 40.0) / per_row as f64;
    let h = 220.0;
    let mut svg = Svg::new(WIDTH, 400.0, "Goodput vs offered load");
    svg.bold(
        20.0,
        28.0,
        "Goodput (verified answers/s) vs offered load, as fractions of capacity",
        TEXT + 3.0,
        Anchor::Start,
    );
    let y0 = legend(&mut svg, 20.0, 54.0, WIDTH - 20.0, &legend_keys(r)) + 10.0;
    let xmax = max_load(r) * 1.05;
    let ymax = r
        .iter()
        .flat_map(|pair| &pair.steps)
        .filter_map(|s| s.goodput_load)
        .fold(xmax, f64::max);
    let mut bottom = y0;
    for (i, (name, pairs)) in groups.iter().enumerate() {
        let (col, row) = (i % per_row, i / per_row);
        let left = 70.0 + col as f64 * panel_w;
        let top = y0 + 20.0 + row as f64 * (h + 70.0);
        let x = Scale::linear(0.0, xmax, left, left + panel_w - 75.0);
        let y = Scale::linear(0.0, ymax, top + h, top);
        svg.bold(left, top - 6.0, name, TEXT, Anchor::Start);
        let right = left + panel_w - 75.0;
        axes(
            &mut svg,
            (left, right, top + h, top),
            &x,
            &x.ticks(6),
            &y,
            &y.ticks(5),
            "goodput",
            true,
        );
        svg.line(
            x.at(0.0),
            y.at(0.0),
            x.at(xmax.min(ymax)),
            y.at(xmax.min(ymax)),
            Stroke {
                color: "#999999",
                width: 1.5,
                dash: "",
            },
        );
        for pair in pairs {
            let steps = &pair.steps;
            if steps.is_empty() {
                continue;
            }
            let color = strategy_color(pair.strategy);
            let points: Vec<(f64, f64)> = steps
                .iter()
                .filter_map(|r| Some((x.at(r.load?), y.at(r.goodput_load?))))
                .collect();
            svg.polyline(
                &points,
                Stroke {
                    color,
                    width: 2.0,
                    dash: "",
                },
            );
            for (r, (px, py)) in steps.iter().zip(&points) {
                let fill = if r.behind { "#ffffff" } else { color };
                svg.circle(*px, *py, 3.5, fill, color);
            }
        }
        bottom = bottom.max(top + h + 40.0);
    }
    svg.text(
        WIDTH / 2.0,
        bottom,
        "offered load (fraction of capacity)",
        TEXT,
        Anchor::Middle,
    );
    svg.set_height(bottom + 20.0);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rate::{finding, findings, pair_steps, tally};
    use crate::data::{RateResults, RateRow};
    use results_format::RESULT_OK;

    fn row(step: u32, load: f64, p99_ms: f64, shed: u64) -> RateRow {
        RateRow {
            target: "tokio".into(),
            runtime: "tokio".into(),
            workers: Some(2),
            strategy: "bounded".into(),
            result: RESULT_OK.into(),
            failure: None,
            t1_ms: Some(5.0),
            capacity_rps: Some(400.0),
            capacity_threads: Some(2),
            capacity_basis: Some("cores".into()),
            step,
            lone_ms: None,
            load: Some(load),
            offered_rps: Some(load * 400.0),
            kernel: Some("sum-squares".into()),
            n: Some(1_000_000),
            scheduled: Some(100),
            refused: Some(0),
            verified: Some(100 - shed),
            status_503: Some(shed),
            goodput_rps: Some(load.min(1.0) * 400.0),
            latency_us_p50: Some(p99_ms * 500.0),
            latency_us_p99: Some(p99_ms * 1000.0),
            latency_us_max: Some(p99_ms * 1100.0),
            late_us_p99: Some(100.0),
            generator_behind: Some(0),
        }
    }

    #[test]
    fn knee_and_overload_are_computed_from_the_steps() {
        // T1 5 ms: the knee is p99 above 50 ms.
        let queues = [
            row(1, 0.5, 6.0, 0),
            row(2, 1.0, 49.0, 0),
            row(3, 1.5, 300.0, 0),
        ];
        let f = finding(&queues).expect("finding");
        assert_eq!(f.knee_load, Some(1.5));
        assert_eq!(f.overload, Some(Overload::Queues(300.0)));
        let sheds = [row(1, 0.5, 6.0, 0), row(2, 1.5, 20.0, 40)];
        let f = finding(&sheds).expect("finding");
        assert_eq!(f.knee_load, None);
        assert_eq!(f.overload, Some(Overload::Sheds(0.4)));
        let mut below = [row(1, 0.5, 6.0, 0), row(2, 0.9, 60.0, 0)];
        let f = finding(&below).expect("finding");
        assert_eq!((f.knee_load, f.overload), (Some(0.9), None));
        // The same step with the generator behind is left out: no knee, nothing past 1.
        below[1].generator_behind = Some(1);
        let f = finding(&below).expect("finding");
        assert_eq!((f.knee_load, f.top_load, f.overload), (None, 0.5, None));
        assert_eq!(f.behind_steps, [2]);
        // Nor does a behind step decide the verdict past capacity: the highest kept one does.
        let mut past = [
            row(1, 0.5, 6.0, 0),
            row(2, 1.25, 80.0, 0),
            row(3, 2.0, 900.0, 0),
        ];
        past[2].generator_behind = Some(1);
        let f = finding(&past).expect("finding");
        assert_eq!(f.knee_load, Some(1.25));
        assert_eq!(f.top_load, 1.25);
        assert_eq!(f.overload, Some(Overload::Queues(80.0)));
        // --rate runs: load from offered ÷ capacity.
        let mut r = row(1, 0.5, 6.0, 0);
        r.load = None;
        assert_eq!(r.load(), Some(0.5));
    }

    #[test]
    fn goodput_past_capacity_is_read_against_each_visits_lone_time() {
        // One executor thread, T1 1 ms (capacity 1000/s); the machine slower at the later
        // visits: each step's goodput is read against its own visit's lone time.
        let step = |n: u32, load: f64, goodput: f64, lone_ms: Option<f64>| {
            let mut r = row(n, load, 2.0, 0);
            (r.t1_ms, r.capacity_rps, r.capacity_threads) = (Some(1.0), Some(1000.0), Some(1));
            r.capacity_basis = Some(results_format::CAPACITY_EXECUTOR.into());
            (r.goodput_rps, r.lone_ms) = (Some(goodput), lone_ms);
            r
        };
        let mut pair = [
            step(1, 0.5, 500.0, Some(1.0)),
            step(2, 1.25, 800.0, Some(1.25)),
            step(3, 1.5, 700.0, Some(1.5)),
            step(4, 2.0, 900.0, Some(1.0)),
        ];
        // Steps above 1: 1.0, 1.05 and 0.9 of their visits' capacity; the median.
        let f = finding(&pair).expect("finding");
        assert_eq!(f.goodput_past_capacity, Some(1.0));
        // A step whose generator fell behind is left out (of two, the lower middle).
        pair[3].generator_behind = Some(1);
        let f = finding(&pair).expect("finding");
        assert_eq!(f.goodput_past_capacity, Some(1.0));
        // Without a lone time, the pair's capacity.
        pair[1].lone_ms = None;
        assert_eq!(pair[1].goodput_of_visit(), Some(0.8));
        // Below capacity only: none.
        assert_eq!(
            finding(&pair[..1]).expect("finding").goodput_past_capacity,
            None
        );
        let md = markdown(
            &pair_steps(&RateResults {
                pairs: vec![pair.to_vec()],
            }),
            &crate::data::fake::results(&[]).metadata,
            &[finding(&pair).expect("finding")],
            &StepTally::default(),
            &[],
            "charts",
        );
        assert!(
            md.contains("steps above 1: inline on one executor thread 0.80. Below 1"),
            "{md}"
        );
    }

    #[test]
    fn the_tally_counts_excluded_steps_and_p99_below_the_maximum() {
        let mut late = row(2, 1.5, 300.0, 0);
        late.generator_behind = Some(1);
        late.late_us_p99 = Some(2_500.0);
        let mut at_max = row(3, 2.0, 400.0, 0);
        at_max.latency_us_max = at_max.latency_us_p99;
        let r = RateResults {
            pairs: vec![vec![row(1, 0.5, 6.0, 0), late, at_max]],
        };
        let t = tally(&r);
        assert_eq!(
            t,
            StepTally {
                steps: 3,
                behind: 1,
                worst_late_ms: Some(2.5),
                with_latency: 3,
                p99_below_max: 2,
                fewest_scheduled: Some(100),
                work: Some(("sum-squares".into(), 1_000_000)),
            }
        );
        assert_eq!(
            tally_line(&t),
            "Every request asked for sum-squares of n = 1000000; every step sent at least 100 \
             requests. 1 of 3 steps excluded from knees and verdicts, the generator behind (up \
             to 2.50 ms late). p99 below the maximum (more than 100 answers) in 2 of 3 steps.\n\n"
        );
        // Two sizes in one run: no single n to state.
        let mut other = row(1, 0.5, 6.0, 0);
        other.n = Some(7);
        let r = RateResults {
            pairs: vec![vec![row(1, 0.5, 6.0, 0)], vec![other]],
        };
        assert_eq!(tally(&r).work, None);
    }

    #[test]
    fn charts_and_section_render() {
        let r = RateResults {
            pairs: vec![vec![row(1, 0.5, 6.0, 0), row(2, 1.5, 300.0, 0)]],
        };
        let found = findings(&r);
        let charts = charts(&pair_steps(&r), &found);
        for c in &charts {
            assert!(
                c.svg.contains("<svg") && c.svg.trim_end().ends_with("</svg>"),
                "{}",
                c.file
            );
        }
        let mut metadata = crate::data::fake::results(&[]).metadata;
        let md = markdown(
            &pair_steps(&r),
            &metadata,
            &found,
            &tally(&r),
            &charts,
            "charts",
        );
        assert!(
            md.lines()
                .any(|l| l.starts_with("| /bounded |") && l.contains(" 1.50 · queues 300 ms |")),
            "{md}"
        );
        // T1 and capacity: their range over the pairs, each pair's left to the CSV.
        assert!(
            md.contains("req/s over the pairs (each pair's in `rate_summary.csv`)"),
            "{md}"
        );
        assert!(md.contains("charts/rate_latency.svg"));
        assert!(md.contains("Requests sent at constant intervals at each offered load"));
        metadata.arrivals = Some("poisson".into());
        metadata.seed = Some(7);
        let md = markdown(
            &pair_steps(&r),
            &metadata,
            &found,
            &tally(&r),
            &charts,
            "charts",
        );
        assert!(
            md.contains(
                "Requests sent as Poisson arrivals (exponential gaps drawn from seed 7: the same \
                 arrivals, scaled to each step's rate, for every pair) at each offered load"
            ),
            "{md}"
        );
    }
}
