//! What the user sees while it runs: a progress bar (only when stdout is a terminal), the
//! Python demo's line for every batch, and one table per target at the end.

use std::fmt::Write as _;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::measure::{Log, Measurement};
use crate::stats::Spread;
use crate::summary::PairSummary;

/// The progress bar, and lines printed without tearing it.
#[derive(Debug)]
pub struct Console {
    bar: ProgressBar,
}

impl Console {
    /// A bar of `pairs` steps on stdout, hidden when stdout is not a terminal.
    pub fn new(pairs: u64) -> Console {
        let target = if std::io::stdout().is_terminal() {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(pairs), target);
        if let Ok(style) =
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} pairs  {msg}")
        {
            bar.set_style(style);
        }
        Console { bar }
    }

    /// Shows which pair runs now.
    pub fn working_on(&self, what: &str) {
        self.bar.set_message(what.to_owned());
    }

    /// One pair done.
    pub fn step(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Log for Console {
    fn line(&self, line: &str) {
        // `suspend` prints whether the bar is drawn or hidden (`println` on a hidden bar would not).
        self.bar.suspend(|| println!("{line}"));
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn us_as_ms(v: Option<f64>) -> String {
    ms(v.map(|v| v / 1e3))
}

fn mean_sd(s: Option<Spread>) -> String {
    match s {
        Some(Spread {
            mean, sd: Some(sd), ..
        }) => format!("{mean:.1} ± {sd:.1}"),
        Some(Spread { mean, sd: None, .. }) => format!("{mean:.1}"),
        None => "-".into(),
    }
}

/// The summary table of some measurements (one target's, usually): one line per pair.
pub fn table(ms_: &[&Measurement]) -> String {
    let header = [
        "workers",
        "strategy",
        "result",
        "T1 ms",
        "batch ms",
        "ideal ms",
        "eff",
        "p50 ms",
        "p99 ms",
        "probe p50",
        "probe p99",
        "probe max",
        "probe err",
        "lag p99",
        "cores",
        "bg done ms",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for m in ms_ {
        let s = PairSummary::of(m);
        rows.push(vec![
            m.labels
                .workers
                .map_or_else(|| "-".into(), |w| w.to_string()),
            m.strategy.name().into(),
            match s.result {
                results_format::RESULT_OK => "ok".into(),
                results_format::RESULT_NOT_APPLICABLE => "n/a".into(),
                _ => "FAILED".into(),
            },
            ms(s.t1_ms),
            mean_sd(s.batch_ms),
            ms(s.ideal_batch_ms),
            s.efficiency
                .map_or_else(|| "-".into(), |e| format!("{:.2}", e.mean)),
            us_as_ms(s.latency_us.map(|p| p.p50 as f64)),
            us_as_ms(s.latency_us.map(|p| p.p99 as f64)),
            us_as_ms(s.probe_us.map(|p| p.p50 as f64)),
            us_as_ms(s.probe_us.map(|p| p.p99 as f64)),
            us_as_ms(s.probe_us.map(|p| p.max as f64)),
            s.probe_errors.to_string(),
            us_as_ms(s.lag_us_p99_median),
            s.server_cores_used
                .map_or_else(|| "-".into(), |c| format!("{:.2}", c.mean)),
            mean_sd(s.background_done_ms),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                // Names left, numbers right.
                if i == 1 || i == 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    for m in ms_ {
        if let Some(why) = &m.failure {
            let _ = writeln!(out, "FAILED {}: {why}", m.name());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::measurement;

    #[test]
    fn table_lists_each_pair_and_its_failure() {
        let m = measurement();
        let t = table(&[&m]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("workers  strategy"), "{t}");
        assert!(
            lines[1].contains("cycle") && lines[1].contains("FAILED"),
            "{t}"
        );
        assert!(lines[1].contains("60.0 ± 28.3"), "{t}");
        assert!(lines[1].contains("0.38"), "{t}");
        // The server's lag p99 (median of 0.9 and 3 ms: 1.95) and cores used (mean of 1 and
        // 1.5), after the probe errors.
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        let err = cells.iter().position(|c| *c == "0").expect("probe err");
        assert_eq!(&cells[err + 1..err + 3], ["1.9", "1.25"], "{t}");
        assert_eq!(
            lines[2],
            "FAILED tokio, workers=1, /cycle: 1 of 8 requests failed: 1 timeout"
        );
    }
}
