//! The "Work size" section, from sizes_summary.csv: what each offload costs at n = 0, from
//! which work size inline work stalls the server more than the best offload does, and the two
//! charts (probe p99 and request p50 against the work per request).
//!
//! The figures are [`crate::analysis::sizes`]'s, computed once ([`SizesFacts`]); its module
//! doc defines them.

use common::Strategy;

use crate::analysis::sizes::{
    CROSSOVER_RATIO, Crossover, INLINE, MIN_PROBES, SizePoint, SizesFacts,
};
use crate::render::charts::{Chart, strategy_color, strategy_dash};
use crate::render::format::{and_list, sig3, thousands};
use crate::render::svg::{self, Anchor, Key, Scale, Stroke, Svg, TEXT};

/// `4.5 ms` or `120 µs` or `0.48 µs`.
fn duration_us(us: f64) -> String {
    if us.abs() >= 1000.0 {
        format!("{} ms", sig3(us / 1000.0))
    } else {
        format!("{} µs", sig3(us))
    }
}

/// The offload costs, a row per strategy: the lowest and highest over the settings and, with
/// `/generator` measured, in how many settings the cost lies beyond `/generator`'s own range
/// (the noise); `/cycle`'s T1 in the last row. A table of strategy × setting said the same
/// in twice the bytes, its cells inside the noise.
fn offload_table(f: &SizesFacts) -> String {
    // `+12 … +86`, or one figure when both ends read the same.
    let range = |b: Option<(f64, f64)>, fmt: fn(f64) -> String| match b {
        Some((lo, hi)) if fmt(lo) == fmt(hi) => fmt(lo),
        Some((lo, hi)) => format!("{} … {}", fmt(lo), fmt(hi)),
        None => "–".to_owned(),
    };
    let noise = f.noise_us.is_some();
    let mut md = format!(
        "| strategy | cost, µs: lowest … highest over {} setting(s) |{}\n|---|---:|{}\n",
        f.settings.len(),
        if noise {
            " beyond /generator's range |"
        } else {
            ""
        },
        if noise { "---|" } else { "" }
    );
    for (st, cost) in f.offload_cost_bounds() {
        let mut row = format!(
            "| {} | {} |",
            st.path(),
            range(cost, |x| format!("{x:+.0}"))
        );
        if noise {
            let beyond = f.beyond_noise.iter().find(|b| b.strategy == st);
            let said = match beyond {
                None if st == Strategy::Generator => "(the range)".to_owned(),
                None => "–".to_owned(),
                Some(b) => match (b.above, b.below) {
                    (0, 0) => format!("within it in all {}", b.of),
                    (a, 0) => format!("above in {a} of {}", b.of),
                    (0, w) => format!("below in {w} of {}", b.of),
                    (a, w) => format!("above in {a}, below in {w} of {}", b.of),
                },
            };
            row.push_str(&format!(" {said} |"));
        }
        md.push_str(&row);
        md.push('\n');
    }
    md.push_str(&format!(
        "| *{} T1 itself* | {} |{}\n\n",
        INLINE.path(),
        range(f.inline_t1_bounds(), |x| format!("{x:.0}")),
        if noise { " |" } else { "" }
    ));
    md
}

/// The section, or nothing when the run did not measure sizes.
pub fn markdown(f: Option<&SizesFacts>, charts: &[Chart], charts_dir: &str) -> String {
    let Some(f) = f else {
        return String::new();
    };
    let n = &f.sizes;
    let settings = &f.settings;
    let mut md = String::from("## Work size\n\n");
    let list: Vec<String> = n.iter().map(|v| thousands(*v)).collect();
    let kernel = &f.kernel;
    md.push_str(&format!(
        "The sizes experiment (`sizes_summary.csv`): each pair, once per pass on a fresh \
         server, at n = {} \
         ({kernel}): T1, then a round of C concurrent requests with the /health probe. Work \
         per request: n × the kernel's cost per unit (the slope of /cycle's T1 over n).\n\n",
        list.join(", ")
    ));

    // Offload cost.
    let n0 = f.n0();
    md.push_str(&format!(
        "### What an offload costs\n\nT1 of each strategy minus inline /cycle's at n = {n0}, \
         µs{}.\n\n",
        if n0 == 0 {
            ": no work, so the difference is the strategy's machinery"
        } else {
            " (the sweep's smallest size)"
        }
    ));
    md.push_str(&offload_table(f));
    if let (Some(lo), Some(hi)) = (&f.cheapest, &f.costliest)
        && lo == hi
    {
        // One offload measured in one setting: nothing to rank.
        md.push_str(&format!(
            "The one offload that awaits the kernel on another thread measured here, {} on {}, \
             cost {:+.0} µs.\n\n",
            lo.strategy.path(),
            lo.setting,
            lo.cost_us
        ));
    } else if f.noise_us.is_some() {
        // /generator runs /cycle's machine code: its spread is what "no cost" looks like here,
        // and only a cost beyond it says something (an offload "cheaper than inline" inside it
        // is noise, not a finding).
        let background = f
            .beyond_noise
            .iter()
            .any(|b| b.strategy == Strategy::Background && b.below > 0);
        md.push_str(&format!(
            "/generator runs /cycle's machine code: its own \"cost\" is this table's noise, \
             and only a cost beyond its range says something{}.\n\n",
            if background {
                " (/background's: its work alone, to the job's recorded end, with no trip back)"
            } else {
                ""
            }
        ));
    } else if let (Some(lo), Some(hi)) = (&f.cheapest, &f.costliest) {
        md.push_str(&format!(
            "Among the strategies that await the kernel on another thread, the cheapest offload \
             was {} on {} ({:+.0} µs) and the costliest {} on {} ({:+.0} µs). Each setting's \
             T1: `sizes_summary.csv`.\n\n",
            lo.strategy.path(),
            lo.setting,
            lo.cost_us,
            hi.strategy.path(),
            hi.setting,
            hi.cost_us
        ));
    }

    // Crossover.
    md.push_str(&format!(
        "### When inline work starts to hurt\n\nThe crossover: the smallest n from which on \
         /cycle's probe p99 is more than {CROSSOVER_RATIO}× the lowest offload's (/thread, \
         /rayon, /bounded, /block_in_place) at the same n.\n\n"
    ));
    let mut thin_below_any = false;
    if let Some(shared) = shared_crossover(&f.crossovers) {
        thin_below_any = shared.thin_below;
        md.push_str(&shared.sentence(settings.len()));
    } else {
        md.push_str(
            "| setting | from n | work per request | inline probe p99 | lowest offload's probe p99 |\n\
             |---|---:|---:|---:|---|\n",
        );
        for (s, crossover) in settings.iter().zip(&f.crossovers) {
            let row = match crossover.clone() {
                Crossover::At {
                    n,
                    work_us,
                    inline_us,
                    best,
                    thin_below,
                } => {
                    thin_below_any |= thin_below;
                    format!(
                        "{}{} | {} | {} | {} ({})",
                        thousands(n),
                        if thin_below { " †" } else { "" },
                        work_us.map_or("–".to_owned(), duration_us),
                        duration_us(inline_us),
                        duration_us(best.1),
                        best.0.path()
                    )
                }
                Crossover::TooFewProbes => format!(
                    "cannot tell: even the largest size had fewer than {MIN_PROBES} probes | – | – | –"
                ),
                Crossover::Never { n, work_us } => format!(
                    "not up to n = {} | {} | – | – (never {CROSSOVER_RATIO}× as long)",
                    thousands(n),
                    work_us.map_or("–".to_owned(), duration_us),
                ),
                Crossover::Unknown => "unknown: /cycle or every offloading strategy is missing at \
                     some size | – | – | –"
                    .to_owned(),
            };
            md.push_str(&format!("| {} | {row} |\n", s.short()));
        }
        md.push('\n');
    }
    // The sizes whose probe p99s are too thin to call a crossover at, said once: with the †
    // of a crossover whose next smaller size is one of them.
    let thin: Vec<String> = f.thin_sizes.iter().copied().map(thousands).collect();
    let dagger = if thin_below_any {
        "†: the crossover may lie lower. "
    } else {
        ""
    };
    if !thin.is_empty() {
        md.push_str(&format!(
            "{dagger}Fewer than {MIN_PROBES} probes at n = {}: a p99 there is about the largest \
             probe, and no crossover is called there (`--rounds 20` samples more).\n\n",
            thin.join(", ")
        ));
    } else if thin_below_any {
        md.push_str(
            "†: the next smaller size had too few probes, so the crossover may lie lower.\n\n",
        );
    }
    for c in charts {
        md.push_str(&format!(
            "### {}\n\n![{}]({charts_dir}/{})\n\n{}\n\n",
            c.title, c.title, c.file, c.caption
        ));
    }
    md
}

/// Every setting's crossover, when they are all at one n (with or without a † alike): the
/// ranges over the settings, said in one sentence instead of a table of equal rows; each
/// setting's figures are in sizes_summary.csv.
struct SharedCrossover {
    n: u64,
    thin_below: bool,
    work_us: Option<(f64, f64)>,
    inline_us: (f64, f64),
    best_us: (f64, f64),
    /// The lowest offloads, each with how many settings it was lowest in.
    best: Vec<(Strategy, usize)>,
}

fn shared_crossover(crossovers: &[Crossover]) -> Option<SharedCrossover> {
    if crossovers.len() < 2 {
        return None;
    }
    let mut out: Option<SharedCrossover> = None;
    let widen = |r: &mut (f64, f64), v: f64| *r = (r.0.min(v), r.1.max(v));
    for c in crossovers {
        let Crossover::At {
            n,
            work_us,
            inline_us,
            best,
            thin_below,
        } = c
        else {
            return None;
        };
        let x = out.get_or_insert_with(|| SharedCrossover {
            n: *n,
            thin_below: *thin_below,
            work_us: work_us.map(|w| (w, w)),
            inline_us: (*inline_us, *inline_us),
            best_us: (best.1, best.1),
            best: Vec::new(),
        });
        if x.n != *n || x.thin_below != *thin_below {
            return None;
        }
        x.work_us = match (x.work_us, work_us) {
            (Some(mut r), Some(w)) => {
                widen(&mut r, *w);
                Some(r)
            }
            _ => None,
        };
        widen(&mut x.inline_us, *inline_us);
        widen(&mut x.best_us, best.1);
        match x.best.iter_mut().find(|(s, _)| *s == best.0) {
            Some((_, k)) => *k += 1,
            None => x.best.push((best.0, 1)),
        }
    }
    out
}

impl SharedCrossover {
    /// `From n = 1,000,000 † in all 9 settings (work per request 583 µs – 592 µs): …`.
    fn sentence(&self, settings: usize) -> String {
        let range = |(lo, hi): (f64, f64)| {
            let (a, b) = (duration_us(lo), duration_us(hi));
            if a == b { a } else { format!("{a} – {b}") }
        };
        let best: Vec<String> = self
            .best
            .iter()
            .map(|(s, k)| {
                if *k == settings {
                    format!("{} in all", s.path())
                } else {
                    format!("{} in {k}", s.path())
                }
            })
            .collect();
        format!(
            "From n = {}{} in all {settings} settings{}: /cycle's probe p99 {} against the lowest \
             offload's {} ({}); each setting's in `sizes_summary.csv`.\n\n",
            thousands(self.n),
            if self.thin_below { " †" } else { "" },
            self.work_us.map_or(String::new(), |w| format!(
                " (work per request {})",
                range(w)
            )),
            range(self.inline_us),
            range(self.best_us),
            and_list(&best)
        )
    }
}

/// The section's charts (none when the run did not measure sizes).
pub fn charts(f: Option<&SizesFacts>) -> Vec<Chart> {
    let Some(f) = f else {
        return vec![];
    };
    vec![
        Chart {
            file: "sizes_probe.svg",
            caption: "Where a line rises, that strategy kept the server from answering \
                /health: the inline loop's climbs with the work, the offloads' stay low. Work on \
                a log scale, n = 0 at the left edge.",
            title: "/health probe p99 against work per request, a panel per runtime".into(),
            svg: panels(f, "probe p99", |s| s.probe_p99_us),
        },
        Chart {
            file: "sizes_latency.svg",
            caption: "At the small end a request is HTTP and the strategy's machinery (the \
                gaps are the offload costs); at the large end the work dominates.",
            title: "Request p50 against work per request, a panel per runtime".into(),
            svg: panels(f, "request p50", |s| s.request_p50_us),
        },
    ]
}

/// A grid of log–log panels, one per setting: `y` of every strategy against work per request.
fn panels(f: &SizesFacts, what: &str, y: fn(&SizePoint) -> Option<f64>) -> String {
    const WIDTH: f64 = 1120.0;
    const COLS: usize = 3;
    const PANEL_H: f64 = 240.0;
    let (settings, strategies, n) = (&f.settings, &f.strategies, &f.sizes);
    let rows = settings.len().div_ceil(COLS).max(1);
    let mut svg = Svg::new(WIDTH, 100.0, &format!("{what} against work per request"));
    svg.bold(
        20.0,
        30.0,
        &format!("{what} (µs, log) against work per request (µs, log)"),
        18.0,
        Anchor::Start,
    );
    let mut top = 50.0;
    let keys: Vec<(Key, String)> = strategies
        .iter()
        .map(|s| {
            (
                Key::Line(
                    strategy_color(*s).to_owned(),
                    strategy_dash(*s).to_owned(),
                    2.0,
                ),
                s.path().to_owned(),
            )
        })
        .collect();
    top = svg::legend(&mut svg, 20.0, top + 10.0, WIDTH - 20.0, &keys) + 10.0;
    // One y range for every panel, so panels compare at a glance.
    let ys: Vec<f64> = f.points.iter().filter_map(y).filter(|v| *v > 0.0).collect();
    let (y_lo, y_hi) = (
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(0.0, f64::max),
    );
    if ys.is_empty() {
        svg.text(20.0, top + 20.0, "no measured sizes", TEXT, Anchor::Start);
        svg.set_height(top + 40.0);
        return svg.finish();
    }
    let panel_w = (WIDTH - 40.0) / COLS as f64;
    for (i, (setting, unit)) in settings.iter().zip(&f.cost_per_unit_us).enumerate() {
        let (col, line) = (i % COLS, i / COLS);
        let x0 = 20.0 + col as f64 * panel_w + 55.0;
        let x1 = 20.0 + (col + 1) as f64 * panel_w - 15.0;
        let y0 = top + line as f64 * (PANEL_H + 30.0) + 25.0;
        let y1 = y0 + PANEL_H - 50.0;
        svg.bold(
            x0,
            y0 - 8.0,
            &format!("{} ({})", setting.short(), setting.label),
            TEXT,
            Anchor::Start,
        );
        let unit = *unit;
        let Some(unit) = unit else {
            svg.text(
                x0,
                y0 + 20.0,
                "no /cycle slope: work unknown",
                TEXT,
                Anchor::Start,
            );
            continue;
        };
        let works: Vec<f64> = n
            .iter()
            .map(|k| *k as f64 * unit)
            .filter(|w| *w > 0.0)
            .collect();
        let (Some(w_lo), Some(w_hi)) = (
            works.iter().copied().reduce(f64::min),
            works.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        // n = 0 sits one decade left of the smallest work.
        let zero_at = w_lo / 10.0;
        let xs = Scale::log(zero_at, w_hi, x0, x1);
        let ys = Scale::log(y_lo * 0.8, y_hi * 1.25, y1, y0);
        let grid = Stroke {
            color: "#dddddd",
            width: 1.0,
            dash: "",
        };
        for t in ys.ticks(5) {
            let py = ys.at(t);
            svg.line(x0, py, x1, py, grid);
            svg.text(
                x0 - 4.0,
                py + 4.0,
                &svg::tick_label(t),
                TEXT - 2.0,
                Anchor::End,
            );
        }
        for t in xs.ticks(6).into_iter().filter(|t| *t >= zero_at * 3.0) {
            let px = xs.at(t);
            svg.line(px, y0, px, y1, grid);
            svg.text(
                px,
                y1 + 14.0,
                &svg::tick_label(t),
                TEXT - 2.0,
                Anchor::Middle,
            );
        }
        if n.first() == Some(&0) {
            svg.text(xs.at(zero_at), y1 + 14.0, "0", TEXT - 2.0, Anchor::Middle);
        }
        for &st in strategies {
            let points: Vec<(f64, f64)> = n
                .iter()
                .filter_map(|&k| {
                    let v = y(f.point(setting, st, k)?)?;
                    let w = if k == 0 { zero_at } else { k as f64 * unit };
                    Some((xs.at(w), ys.at(v)))
                })
                .collect();
            let stroke = Stroke {
                color: strategy_color(st),
                width: 2.0,
                dash: strategy_dash(st),
            };
            svg.polyline(&points, stroke);
            for (px, py) in &points {
                svg.circle(*px, *py, 2.5, strategy_color(st), strategy_color(st));
            }
        }
    }
    svg.set_height(top + rows as f64 * (PANEL_H + 30.0) + 10.0);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sizes::{
        best_offload, cost_per_unit_us, crossover, offload_cost_us, settings,
    };
    use crate::data::{Results, SizesRow};
    use common::Strategy;

    /// The section's charts as the report draws them, from the facts of `r`.
    fn charts(r: &Results) -> Vec<Chart> {
        super::charts(SizesFacts::of(r).as_ref())
    }

    /// The section as the report renders it, from the facts of `r`.
    fn markdown(r: &Results, charts: &[Chart], charts_dir: &str) -> String {
        super::markdown(SizesFacts::of(r).as_ref(), charts, charts_dir)
    }
    use crate::data::Metadata;

    fn metadata() -> Metadata {
        serde_json::from_str(
            r#"{"date_utc": "d", "duration_s": 1.0, "git_commit": "c", "rustc": "r",
                "cpu_model": "m", "cores": 2, "args": [], "n": 100, "concurrency": 4,
                "rounds": 1, "quick": false, "experiments": ["sizes"]}"#,
        )
        .expect("metadata")
    }

    fn size_row(strategy: Strategy, n: u64, t1: f64, p50: f64, probe: f64) -> SizesRow {
        SizesRow {
            target: "tokio".into(),
            runtime: "tokio".into(),
            framework: "axum".into(),
            workers: Some(1),
            strategy,
            kernel: "sum-squares".into(),
            n,
            concurrency: 4,
            rounds: 3,
            result: "ok".into(),
            t1_us: Some(t1),
            t1_done_us: None,
            latency_us_p50: Some(p50),
            latency_us_p99: Some(p50 * 2.0),
            probe_latency_us_p99: Some(probe),
            probes: 50,
            probe_errors: 0,
        }
    }

    /// /cycle: T1 100 µs at n = 0, 1100 µs at n = 100 (10 µs per unit). Its probe p99 passes
    /// twice the best offload's at n = 10 and stays above; /thread and /rayon offload at +30
    /// and +12 µs; at n = 1 a noise blip (inline above twice) does not count: it drops again.
    fn sample() -> Results {
        let rows = vec![
            size_row(Strategy::Cycle, 0, 100.0, 150.0, 300.0),
            size_row(Strategy::Cycle, 1, 110.0, 160.0, 900.0),
            size_row(Strategy::Cycle, 5, 150.0, 200.0, 500.0),
            size_row(Strategy::Cycle, 10, 200.0, 300.0, 2000.0),
            size_row(Strategy::Cycle, 100, 1100.0, 3000.0, 9000.0),
            size_row(Strategy::Thread, 0, 130.0, 180.0, 300.0),
            size_row(Strategy::Thread, 1, 140.0, 190.0, 320.0),
            size_row(Strategy::Thread, 5, 180.0, 230.0, 400.0),
            size_row(Strategy::Thread, 10, 230.0, 330.0, 900.0),
            size_row(Strategy::Thread, 100, 1130.0, 3100.0, 1200.0),
            size_row(Strategy::Rayon, 0, 112.0, 170.0, 350.0),
            size_row(Strategy::Rayon, 1, 112.0, 170.0, 350.0),
            size_row(Strategy::Rayon, 5, 160.0, 210.0, 420.0),
            size_row(Strategy::Rayon, 10, 212.0, 310.0, 800.0),
            size_row(Strategy::Rayon, 100, 1112.0, 3050.0, 1000.0),
        ];
        let mut r = crate::data::fake::results(&[]);
        r.metadata = metadata();
        r.summary.clear();
        r.sizes = rows;
        r
    }

    #[test]
    fn an_offload_cost_inside_generators_spread_is_noise() {
        // /generator (the same machine code as /cycle) 20 µs above it at n = 0: /thread's +30
        // lies above that band, /rayon's +12 below it; nothing is called "cheapest".
        let mut r = sample();
        r.sizes
            .push(size_row(Strategy::Generator, 0, 120.0, 150.0, 300.0));
        let f = SizesFacts::of(&r).expect("sizes");
        assert_eq!(f.noise_us, Some((20.0, 20.0)));
        let md = markdown(&r, &[], "charts");
        assert!(md.contains("| /generator | +20 | (the range) |"), "{md}");
        assert!(md.contains("| /thread | +30 | above in 1 of 1 |"), "{md}");
        assert!(md.contains("| /rayon | +12 | below in 1 of 1 |"), "{md}");
        assert!(
            md.contains("/generator runs /cycle's machine code: its own \"cost\""),
            "{md}"
        );
        assert!(!md.contains("cheapest"), "{md}");
    }

    #[test]
    fn offload_cost_and_work_are_computed_from_t1() {
        let r = sample();
        let s = &settings(&r)[0];
        assert_eq!(s.short(), "tokio ×1");
        assert_eq!(cost_per_unit_us(&r, s), Some(10.0));
        assert_eq!(offload_cost_us(&r, s, Strategy::Thread), Some(30.0));
        assert_eq!(offload_cost_us(&r, s, Strategy::Rayon), Some(12.0));
        assert_eq!(offload_cost_us(&r, s, Strategy::Cycle), Some(0.0));
        assert_eq!(best_offload(&r, s, 100), Some((Strategy::Rayon, 1000.0)));
    }

    #[test]
    fn the_crossover_is_where_inline_stays_above_twice_the_best_offload() {
        let r = sample();
        let s = &settings(&r)[0];
        assert_eq!(
            crossover(&r, s),
            Crossover::At {
                n: 10,
                work_us: Some(100.0),
                inline_us: 2000.0,
                best: (Strategy::Rayon, 800.0),
                thin_below: false,
            }
        );
        // Inline never twice as slow: never.
        let mut r = sample();
        for row in r.sizes.iter_mut().filter(|x| x.strategy == Strategy::Cycle) {
            row.probe_latency_us_p99 = Some(500.0);
        }
        assert_eq!(
            crossover(&r, s),
            Crossover::Never {
                n: 100,
                work_us: Some(1000.0)
            }
        );
        // Too few probes at n = 5: the crossover is not looked for below, and says so.
        let mut r = sample();
        for row in r.sizes.iter_mut().filter(|x| x.n == 5) {
            row.probes = MIN_PROBES - 1;
        }
        match crossover(&r, s) {
            Crossover::At { n, thin_below, .. } => assert_eq!((n, thin_below), (10, true)),
            other => panic!("{other:?}"),
        }
        for row in r.sizes.iter_mut() {
            row.probes = MIN_PROBES - 1;
        }
        assert_eq!(crossover(&r, s), Crossover::TooFewProbes);
        // No offloading strategy measured: unknown.
        let mut r = sample();
        r.sizes.retain(|x| x.strategy == Strategy::Cycle);
        assert_eq!(crossover(&r, s), Crossover::Unknown);
    }

    #[test]
    fn the_section_states_the_figures_and_draws_a_panel_per_setting() {
        let r = sample();
        let charts = charts(&r);
        let md = markdown(&r, &charts, "charts");
        assert!(md.contains("## Work size"), "{md}");
        assert!(md.contains("| /thread | +30 |"), "{md}");
        assert!(md.contains("| /rayon | +12 |"), "{md}");
        assert!(
            md.contains("cheapest offload was /rayon on tokio ×1 (+12 µs) and the costliest /thread on tokio ×1 (+30 µs)"),
            "{md}"
        );
        assert!(
            md.contains("| 10 | 100 µs | 2.00 ms | 800 µs (/rayon) |"),
            "{md}"
        );
        assert_eq!(charts.len(), 2);
        for c in &charts {
            assert!(
                c.svg.starts_with("<?xml") && c.svg.ends_with("</svg>\n"),
                "{}",
                c.file
            );
            assert!(c.svg.contains("tokio ×1 (tokio + axum)"));
            assert!(md.contains(&format!("charts/{}", c.file)));
        }
        // Two settings crossing at the same n: one sentence with the ranges, no table of
        // equal rows.
        let mut two = sample();
        let smol: Vec<SizesRow> = two
            .sizes
            .iter()
            .cloned()
            .map(|mut x| {
                x.target = "smol".into();
                x.runtime = "smol".into();
                x.probe_latency_us_p99 = x.probe_latency_us_p99.map(|p| p * 1.5);
                x
            })
            .collect();
        two.sizes.extend(smol);
        let md = markdown(&two, &[], "charts");
        assert!(
            md.contains("From n = 10 in all 2 settings (work per request 100 µs): /cycle's probe p99 2.00 ms – 3.00 ms against the lowest offload's 800 µs – 1.20 ms (/rayon in all); each setting's in `sizes_summary.csv`."),
            "{md}"
        );
        assert!(!md.contains("| setting | from n |"), "{md}");
        // Nothing without sizes rows.
        let mut r = sample();
        r.sizes.clear();
        assert!(markdown(&r, &[], "charts").is_empty() && self::charts(&r).is_empty());
    }
}
