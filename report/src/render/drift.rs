//! The machine's drift over the run: the line at the report's top from [`Drift`] (how fast the
//! machine was in each pass of the batch experiment, passes.csv, and whether the run drifted
//! more than [`DRIFT_LIMIT`]), and the chart of the passes.
//!
//! bench-runner runs every experiment in passes, each pair once per pass in a shuffled order
//! (docs/methodology.md), so a slow minute falls on every pair alike instead of on the few
//! measured in it. The per-pass speed says how much the machine moved while the run lasted: a
//! reader comparing this run's absolute times with another's should know it, and a run whose
//! passes differ by more than the limit says so at its top.

use crate::analysis::drift::{DRIFT_LIMIT, Drift, PassSpeed};
use crate::render::svg::{self, Anchor, Scale, Stroke, Svg};

/// The line at the top of the report: a warning when the run drifted past the limit, a plain
/// statement otherwise; nothing for a run without passes.
pub fn markdown(d: Option<&Drift>) -> String {
    let Some(d) = d else {
        return String::new();
    };
    let figures = format!(
        "the slowest of its {} passes (pass {}) was {:.2}× the fastest (pass {}) by the median \
         lone request ÷ its pair's fastest",
        d.passes, d.slowest.0, d.ratio, d.fastest.0
    );
    if d.drifted() {
        format!(
            "> **This run drifted**: {figures}, beyond the {:.0} % this report tolerates. \
             Every pair was measured in every pass, so comparisons within the run hold; its \
             absolute times are those of a machine whose speed moved ([chart]({}/{FILE})).\n\n",
            (DRIFT_LIMIT - 1.0) * 100.0,
            crate::CHARTS_DIR
        )
    } else {
        format!(
            "> **Drift**: {figures}, within the {:.0} % this report tolerates ([chart]({}/{FILE})).\n\n",
            (DRIFT_LIMIT - 1.0) * 100.0,
            crate::CHARTS_DIR
        )
    }
}

/// The chart's file name.
pub const FILE: &str = "drift.svg";

/// The chart: each pass's median speed (dot) and the range of its rounds (whisker), against
/// the pass's time in the run; `None` without passes.
pub fn chart(passes: &[PassSpeed]) -> Option<crate::render::charts::Chart> {
    if passes.is_empty() {
        return None;
    }
    const W: f64 = 1120.0;
    const H: f64 = 380.0;
    let (left, right, top, bottom) = (90.0, W - 30.0, 90.0, H - 60.0);
    let mut s = Svg::new(W, H, "The machine's speed in each pass");
    s.bold(
        20.0,
        30.0,
        "The machine's speed in each pass",
        18.0,
        Anchor::Start,
    );
    s.text(
        20.0,
        54.0,
        "Each pass visits every pair once. Dot: the median over the pass's rounds of the lone \
         request before the round ÷ that pair's T1 (1 = every pair at its fastest); whisker: \
         the pass's fastest and slowest round.",
        svg::TEXT,
        Anchor::Start,
    );
    let hi = passes
        .iter()
        .map(|p| p.max)
        .fold(1.0_f64, f64::max)
        .max(1.2);
    let y = Scale::linear(
        1.0_f64.min(passes.iter().map(|p| p.min).fold(1.0, f64::min)),
        hi,
        bottom,
        top,
    );
    let end_s = passes
        .iter()
        .map(|p| p.end_offset_ms / 1e3)
        .fold(0.0_f64, f64::max);
    let x = Scale::linear(0.0, end_s.max(1.0), left, right);
    let grid = Stroke {
        color: "#dddddd",
        width: 1.0,
        dash: "",
    };
    for t in y.ticks(5) {
        s.line(left, y.at(t), right, y.at(t), grid);
        s.text(
            left - 8.0,
            y.at(t) + 4.0,
            &svg::tick_label(t),
            svg::TEXT,
            Anchor::End,
        );
    }
    for t in x.ticks(8) {
        s.text(
            x.at(t),
            bottom + 18.0,
            &svg::tick_label(t),
            svg::TEXT,
            Anchor::Middle,
        );
    }
    s.text(
        (left + right) / 2.0,
        bottom + 40.0,
        "time in the run (s): each pass drawn at its middle",
        svg::TEXT,
        Anchor::Middle,
    );
    s.text_rotated(
        24.0,
        (top + bottom) / 2.0,
        "lone request ÷ its pair's T1",
        svg::TEXT,
        Anchor::Middle,
        -90.0,
    );
    let ink = Stroke {
        color: "#222222",
        width: 1.5,
        dash: "",
    };
    let mut line = Vec::new();
    for p in passes {
        let cx = x.at((p.start_offset_ms + p.end_offset_ms) / 2e3);
        s.line(cx, y.at(p.min), cx, y.at(p.max), ink);
        s.circle(cx, y.at(p.median), 5.0, "#1f77b4", "#222222");
        s.text(
            cx,
            top - 8.0,
            &format!("pass {}", p.pass),
            svg::TEXT,
            Anchor::Middle,
        );
        line.push((cx, y.at(p.median)));
    }
    s.polyline(
        &line,
        Stroke {
            color: "#1f77b4",
            width: 1.0,
            dash: "4 3",
        },
    );
    Some(crate::render::charts::Chart {
        file: FILE,
        title: "The machine's speed in each pass".into(),
        caption: "A flat line: the machine kept its speed; one that rises or falls: it drifted, \
            for all pairs alike, as every pass holds one round of every pair.",
        svg: s.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{PassRow, Results};

    /// The drift line as the report renders it, from the drift of `r`.
    fn markdown(r: &Results) -> String {
        super::markdown(Drift::of(r).as_ref())
    }

    fn pass(pass: u32, speed: f64) -> PassRow {
        PassRow {
            experiment: "batch".into(),
            pass,
            rounds: 10,
            start_offset_ms: f64::from(pass - 1) * 1000.0,
            end_offset_ms: f64::from(pass) * 1000.0,
            speed_median: speed,
            speed_min: speed - 0.05,
            speed_max: speed + 0.3,
        }
    }

    fn with(passes: Vec<PassRow>) -> Results {
        let mut r = crate::data::fake::results(&[]);
        r.passes = passes;
        r
    }

    #[test]
    fn drift_is_the_slowest_pass_over_the_fastest() {
        let r = with(vec![pass(1, 1.10), pass(2, 1.32), pass(3, 1.05)]);
        let d = Drift::of(&r).expect("three passes");
        assert_eq!((d.passes, d.fastest.0, d.slowest.0), (3, 3, 2));
        assert!((d.ratio - 1.32 / 1.05).abs() < 1e-12);
        assert!(d.drifted());
        assert!(markdown(&r).contains("**This run drifted**"));
        assert!(
            chart(&crate::analysis::drift::pass_speeds(&r))
                .is_some_and(|c| roxmltree::Document::parse(&c.svg).is_ok())
        );

        let calm = with(vec![pass(1, 1.10), pass(2, 1.12)]);
        let d = Drift::of(&calm).expect("two passes");
        assert!(!d.drifted(), "{d:?}");
        assert!(markdown(&calm).starts_with("> **Drift**"));
    }

    #[test]
    fn a_run_without_passes_says_nothing() {
        let r = with(vec![]);
        assert_eq!(Drift::of(&r), None);
        assert_eq!(markdown(&r), "");
        assert!(chart(&crate::analysis::drift::pass_speeds(&r)).is_none());
        assert_eq!(Drift::of(&with(vec![pass(1, 1.0)])), None);
    }
}
