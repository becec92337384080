//! "Pool size", the pools experiment's section, rendered from [`analysis::pools`]' facts:
//! per runtime and worker count the configuration that kept the probe below T1 at the least
//! work time (with its rounds' range), how often each pool size did, and a chart per strategy
//! of probe p99 and work time against the pool's size, one line per worker count (dashed: the
//! pool at nice 19).
//!
//! [`analysis::pools`]: crate::analysis::pools

use common::Strategy;

use crate::analysis::ALIKE;
use crate::analysis::noise::Side;
use crate::analysis::pools::{Config, PoolsFacts, ProbeRule};
use crate::render::charts::Chart;
use crate::render::format::{ms, pct, sig3, thousands, times};
use crate::render::svg::{self, Anchor, Key, Scale, Stroke, Svg, TEXT};

/// The charts the section may draw, one per strategy swept, in this order (results-format's
/// `POOLS_CHARTS`; a test keeps the two equal).
pub const CHARTS: [(Strategy, &str); 4] = [
    (Strategy::Rayon, "pools_rayon.svg"),
    (Strategy::Jobs, "pools_jobs.svg"),
    (Strategy::Bounded, "pools_bounded.svg"),
    (Strategy::Thread, "pools_thread.svg"),
];

/// A line's colour per worker-count position (ascending worker counts).
const WORKER_COLORS: [&str; 4] = ["#f28e2b", "#4e79a7", "#59a14f", "#b07aa1"];

/// The section; when the run did not measure the pools experiment, one line saying so.
pub fn markdown(f: Option<&PoolsFacts>, charts: &[Chart], charts_dir: &str) -> String {
    let Some(f) = f else {
        return "## Pool size\n\nPools not measured in this run: the pool-sizing sweep is a run \
                of its own (`make bench-pools`, into `pools/` beside these files).\n\n"
            .to_owned();
    };
    let mut md = String::from("## Pool size\n\n");
    let sizes: Vec<String> = {
        let mut v: Vec<u32> = f.sizes.iter().map(|s| s.pool).collect();
        v.dedup();
        v.iter().map(u32::to_string).collect()
    };
    md.push_str(&format!(
        "The pools experiment (`pools_summary.csv`): `/rayon`, `/jobs` and `/bounded` with the \
         server's CPU pool (`--cpu-threads`: the pool's threads, `/bounded`'s permits) and \
         `/thread` with its blocking pool (`--blocking-threads`) sized {} threads (the sweep \
         follows the {} core(s) the servers could use: 1, cores/2, cores − 1, cores, 2 × cores, \
         4 × cores), `/rayon` and `/jobs` also with the pool at nice 19; each configuration \
         at the batch's load ({} requests of n = {} at once), {} round(s), each on a fresh \
         server. A configuration keeps the probe **below T1** when {}; its work time is the \
         batch time, the median of the rounds with their range in brackets.{}\n\n",
        sizes.join(", "),
        f.cores,
        f.concurrency,
        thousands(f.n),
        f.rounds,
        match f.rule {
            ProbeRule::Jackknife =>
                "its pooled probe p99 is below its own T1 and still is with any one round left \
                 out (the batch verdict's rule; a probe that got no answer never is)",
            ProbeRule::WorstProbe =>
                "its pooled probe p99 and every round's worst probe are below its own T1 (this \
                 run has no pools_probes.csv, so the rounds' worst probes stand in for the \
                 batch verdict's rule of leaving each round out)",
        },
        if f.failed > 0 {
            format!(" {} configuration(s) failed and are left out.", f.failed)
        } else {
            String::new()
        }
    ));
    md.push_str(&format!(
        "### Per runtime: the least work time that kept the probe below T1\n\n\
         | runtime | workers | configuration | work time | probe p99 ({}) | T1 | below T1 | not told apart from |\n\
         |---|---:|---|---:|---:|---:|---:|---|\n",
        match f.rule {
            ProbeRule::Jackknife => "a round left out",
            ProbeRule::WorstProbe => "rounds' worst",
        }
    ));
    for c in &f.choices {
        let workers = c.workers.map_or("–".to_owned(), |w| w.to_string());
        let tail = format!("{} of {}", c.below, c.measured);
        match &c.best {
            Some(b) => md.push_str(&format!(
                "| {} ({}) | {workers} | {} | {} ({}–{}) | {} ({}–{}) | {} | {tail} | {} |\n",
                c.target,
                c.label,
                b.name(),
                ms(b.work.value),
                sig3(b.work.lo),
                sig3(b.work.hi),
                ms(b.probe.value / 1e3),
                sig3(b.probe.lo / 1e3),
                sig3(b.probe.hi / 1e3),
                ms(b.t1_ms),
                if c.tied.is_empty() {
                    "none".to_owned()
                } else {
                    c.tied.join("; ")
                }
            )),
            None => md.push_str(&format!(
                "| {} ({}) | {workers} | none below T1 | – | – | – | {tail} | – |\n",
                c.target, c.label
            )),
        }
    }
    md.push_str(&format!(
        "\n\"Not told apart from\": the other configurations below T1 not shown longer than \
         the chosen one (rounds apart and a median more than {} higher); with few rounds that is \
         often most of them, and then the choice is the cheapest measured, not a difference \
         shown.\n\n",
        pct(ALIKE)
    ));
    md.push_str(&format!(
        "### Per pool size: how often it kept the probe below T1\n\n\
         Over every runtime, worker count and strategy measured at that size; the work time is \
         the median over those configurations of their work time ÷ the same pair's with the \
         pool sized to the cores ({}) at normal priority.\n\n\
         | pool threads | nice | below T1 | borderline | chosen above | work time ÷ cores-sized |\n\
         |---:|---:|---:|---:|---:|---:|\n",
        f.cores
    ));
    for s in &f.sizes {
        md.push_str(&format!(
            "| {} | {} | {} of {} | {} | {} | {} |\n",
            s.pool,
            s.nice,
            s.below,
            s.measured,
            s.borderline,
            s.chosen,
            s.work_vs_cores.map_or("–".to_owned(), times)
        ));
    }
    md.push('\n');
    for c in charts {
        md.push_str(&format!(
            "### {}\n\n![{}]({charts_dir}/{})\n\n{}\n\n",
            c.title, c.title, c.file, c.caption
        ));
    }
    md
}

/// The section's charts: one per strategy swept (none when the run did not measure pools).
pub fn charts(f: Option<&PoolsFacts>) -> Vec<Chart> {
    let Some(f) = f else {
        return vec![];
    };
    CHARTS
        .iter()
        .filter(|(s, _)| f.configs.iter().any(|c| c.strategy == *s))
        .map(|&(strategy, file)| Chart {
            file,
            title: format!(
                "{}: probe p99 and work time against pool size, a line per worker count",
                strategy.path()
            ),
            caption: "Left, the probe's p99 (log scale) with the pair's T1 dotted: a point \
                below the dotted line kept others answered within one request's work. Right, \
                the batch time (median of the rounds, the bar their range). Solid lines: the \
                pool at normal priority; dashed: at nice 19.",
            svg: chart(f, strategy),
        })
        .collect()
}

/// A row of two panels per runtime: probe p99 and work time against pool size.
fn chart(f: &PoolsFacts, strategy: Strategy) -> String {
    const WIDTH: f64 = 1000.0;
    const ROW_H: f64 = 220.0;
    let configs: Vec<&Config> = f
        .configs
        .iter()
        .filter(|c| c.strategy == strategy)
        .collect();
    let mut targets: Vec<(&str, &str)> = Vec::new();
    for c in &configs {
        if !targets.iter().any(|(t, _)| *t == c.target) {
            targets.push((&c.target, &c.label));
        }
    }
    let mut workers: Vec<Option<u32>> = configs.iter().map(|c| c.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    let mut nices: Vec<u8> = configs.iter().map(|c| c.nice).collect();
    nices.sort_unstable();
    nices.dedup();
    let mut pools: Vec<u32> = configs.iter().map(|c| c.pool).collect();
    pools.sort_unstable();
    pools.dedup();
    let title = format!(
        "{}: probe p99 and work time against pool size",
        strategy.path()
    );
    let mut svg = Svg::new(WIDTH, 100.0, &title);
    svg.bold(20.0, 30.0, &title, 18.0, Anchor::Start);
    let mut keys = Vec::new();
    for (i, w) in workers.iter().enumerate() {
        for &nice in &nices {
            let label = match (w, nice) {
                (Some(w), 0) => format!("{w} worker(s)"),
                (Some(w), n) => format!("{w} worker(s), nice {n}"),
                (None, 0) => "external".to_owned(),
                (None, n) => format!("external, nice {n}"),
            };
            keys.push((
                Key::Line(color(i).to_owned(), dash(nice).to_owned(), 2.0),
                label,
            ));
        }
    }
    keys.push((
        Key::Line("#888888".to_owned(), "2 3".to_owned(), 1.5),
        "T1".to_owned(),
    ));
    let top = svg::legend(&mut svg, 20.0, 60.0, WIDTH - 20.0, &keys) + 10.0;
    let (Some(&p_lo), Some(&p_hi)) = (pools.first(), pools.last()) else {
        svg.text(20.0, top + 20.0, "nothing measured", TEXT, Anchor::Start);
        svg.set_height(top + 40.0);
        return svg.finish();
    };
    // Pool sizes on a log scale (they double); a single size sits in the middle.
    let x_span = |x0: f64, x1: f64| {
        if p_hi > p_lo {
            Scale::log(f64::from(p_lo), f64::from(p_hi), x0, x1)
        } else {
            Scale::linear(f64::from(p_lo) - 1.0, f64::from(p_hi) + 1.0, x0, x1)
        }
    };
    let probe_ys: Vec<f64> = configs
        .iter()
        .flat_map(|c| [c.probe.value, c.probe.hi, c.t1_ms * 1e3])
        .filter(|v| *v > 0.0)
        .collect();
    let work_hi = configs.iter().map(|c| c.work.hi).fold(0.0, f64::max);
    let (y_lo, y_hi) = (
        probe_ys.iter().copied().fold(f64::INFINITY, f64::min),
        probe_ys.iter().copied().fold(0.0, f64::max),
    );
    let grid = Stroke {
        color: "#dddddd",
        width: 1.0,
        dash: "",
    };
    let panel_w = (WIDTH - 40.0) / 2.0;
    for (row, (target, label)) in targets.iter().enumerate() {
        let y0 = top + row as f64 * ROW_H + 25.0;
        let y1 = y0 + ROW_H - 60.0;
        for panel in 0..2 {
            let x0 = 20.0 + panel as f64 * panel_w + 60.0;
            let x1 = 20.0 + (panel + 1) as f64 * panel_w - 20.0;
            let xs = x_span(x0, x1);
            let what = if panel == 0 {
                "probe p99, ms (log)"
            } else {
                "work time, ms"
            };
            svg.bold(
                x0,
                y0 - 8.0,
                &format!("{target} ({label}): {what}"),
                TEXT,
                Anchor::Start,
            );
            let ys = if panel == 0 {
                Scale::log(y_lo * 0.8, y_hi * 1.25, y1, y0)
            } else {
                Scale::linear(0.0, svg::nice_max(work_hi * 1.1), y1, y0)
            };
            for t in ys.ticks(5) {
                let py = ys.at(t);
                svg.line(x0, py, x1, py, grid);
                let shown = if panel == 0 { t / 1e3 } else { t };
                svg.text(
                    x0 - 4.0,
                    py + 4.0,
                    &svg::tick_label(shown),
                    TEXT - 2.0,
                    Anchor::End,
                );
            }
            for &p in &pools {
                let px = xs.at(f64::from(p));
                svg.line(px, y0, px, y1, grid);
                svg.text(px, y1 + 14.0, &p.to_string(), TEXT - 2.0, Anchor::Middle);
            }
            svg.text(
                (x0 + x1) / 2.0,
                y1 + 30.0,
                "pool threads",
                TEXT - 2.0,
                Anchor::Middle,
            );
            for (i, w) in workers.iter().enumerate() {
                for &nice in &nices {
                    let mut line: Vec<&&Config> = configs
                        .iter()
                        .filter(|c| c.target == *target && c.workers == *w && c.nice == nice)
                        .collect();
                    line.sort_by_key(|c| c.pool);
                    let stroke = Stroke {
                        color: color(i),
                        width: 2.0,
                        dash: dash(nice),
                    };
                    let at = |c: &Config| {
                        let v = if panel == 0 {
                            c.probe.value
                        } else {
                            c.work.value
                        };
                        (xs.at(f64::from(c.pool)), ys.at(v))
                    };
                    let points: Vec<(f64, f64)> = line.iter().map(|c| at(c)).collect();
                    svg.polyline(&points, stroke);
                    for c in &line {
                        let (px, py) = at(c);
                        // Hollow: not below T1.
                        let fill = if c.side == Side::Below {
                            color(i)
                        } else {
                            "#ffffff"
                        };
                        svg.circle(px, py, 3.0, fill, color(i));
                        if panel == 1 {
                            let thin = Stroke {
                                color: color(i),
                                width: 1.0,
                                dash: "",
                            };
                            svg.line(px, ys.at(c.work.lo), px, ys.at(c.work.hi), thin);
                        }
                    }
                    if panel == 0
                        && nice == nices[0]
                        && let Some(t1) = line.iter().map(|c| c.t1_ms).reduce(f64::min)
                    {
                        let py = ys.at(t1 * 1e3);
                        let t1_line = Stroke {
                            color: "#888888",
                            width: 1.5,
                            dash: "2 3",
                        };
                        svg.line(x0, py, x1, py, t1_line);
                    }
                }
            }
        }
    }
    svg.set_height(top + targets.len() as f64 * ROW_H + 20.0);
    svg.finish()
}

fn color(i: usize) -> &'static str {
    WORKER_COLORS[i % WORKER_COLORS.len()]
}

fn dash(nice: u8) -> &'static str {
    if nice == 0 { "" } else { "6 4" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::pools::tests::row;
    use crate::data::PoolsRow;

    fn facts(rows: Vec<PoolsRow>) -> PoolsFacts {
        let mut r = crate::data::fake::results(&[]);
        r.metadata.cores = 2;
        r.pools = Some(rows);
        PoolsFacts::of(&r).expect("pools facts")
    }

    #[test]
    fn the_section_names_the_choice_per_runtime_and_draws_a_chart_per_strategy() {
        let f = facts(vec![
            row(1, Strategy::Rayon, 1, 0, 150.0, 1_000.0),
            row(1, Strategy::Rayon, 2, 0, 100.0, 2_000.0),
            row(1, Strategy::Rayon, 2, 19, 130.0, 1_000.0),
            row(1, Strategy::Thread, 8, 0, 90.0, 9_000.0),
        ]);
        let charts = charts(Some(&f));
        let files: Vec<&str> = charts.iter().map(|c| c.file).collect();
        assert_eq!(files, ["pools_rayon.svg", "pools_thread.svg"]);
        for c in &charts {
            assert!(c.svg.contains("<svg") && c.svg.trim_end().ends_with("</svg>"));
        }
        let md = markdown(Some(&f), &charts, "charts");
        assert!(
            md.contains("| tokio (tokio + axum) | 1 | /rayon, pool 2 | 100 ms (95.0–105) |"),
            "{md}"
        );
        assert!(md.contains("![/rayon: probe p99"), "{md}");
        let listed: Vec<&str> = CHARTS.iter().map(|(_, f)| *f).collect();
        assert_eq!(listed, results_format::POOLS_CHARTS);
        let none = markdown(None, &[], "charts");
        assert!(none.contains("Pools not measured in this run"), "{none}");
        assert!(self::charts(None).is_empty());
    }
}
