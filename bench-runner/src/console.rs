//! What the user sees while it runs: every line prefixed with `[k/N elapsed, eta …]` (pair k of
//! N, wall time so far, time left at the pace so far), whether stdout is a terminal or a log
//! file; a line at least every few seconds however long a pair takes; the Python demo's line
//! for every batch; one table per target at the end and a legend of its columns under the last.
//! A progress bar is drawn too when stdout is a terminal.
//!
//! Units: every time of a request, batch or probe in milliseconds; wall-clock time of the run
//! (elapsed, ETA) as minutes:seconds.

use std::fmt::Write as _;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::measure::{Log, Measurement};
use crate::stats::Spread;
use crate::summary::PairSummary;

/// Silence longer than this while a pair runs prints a `still measuring` line.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The progress state, the bar, and lines printed without tearing it.
#[derive(Debug)]
pub struct Console {
    bar: ProgressBar,
    pairs: u64,
    done: AtomicU64,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl Console {
    /// `pairs` to measure; the bar on stdout only when stdout is a terminal (the prefixed
    /// lines in any case).
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
        let now = Instant::now();
        Console {
            bar,
            pairs,
            done: AtomicU64::new(0),
            started: now,
            last_line: Mutex::new(now),
        }
    }

    /// Shows which pair runs now.
    pub fn working_on(&self, what: &str) {
        self.bar.set_message(what.to_owned());
    }

    /// One pair done.
    pub fn step(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Prints `text` as it is, without the progress prefix: the tables and their legend.
    pub fn block(&self, text: &str) {
        self.print(text);
    }

    /// Runs `pair` (the measurement of `what`), printing a `still measuring` line whenever
    /// nothing was printed for [`KEEP_ALIVE`], so a long pair never looks hung.
    pub async fn keep_alive<F: Future>(&self, what: &str, pair: F) -> F::Output {
        let mut pair = std::pin::pin!(pair);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                out = &mut pair => return out,
                _ = tick.tick() => {
                    let quiet = self.last_line.lock().unwrap_or_else(PoisonError::into_inner).elapsed();
                    if quiet >= KEEP_ALIVE {
                        self.line(&format!("   still measuring {what} ({} s since the last line)", quiet.as_secs()));
                    }
                }
            }
        }
    }

    fn prefix(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        progress_prefix(done, self.pairs, elapsed, eta(elapsed, done, self.pairs))
    }

    fn print(&self, text: &str) {
        *self
            .last_line
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        // `suspend` prints whether the bar is drawn or hidden (`println` on a hidden bar would not).
        self.bar.suspend(|| println!("{text}"));
    }
}

impl Log for Console {
    fn line(&self, line: &str) {
        self.print(&format!("{} {line}", self.prefix()));
    }
}

/// The time left at the pace so far: `elapsed` per `done` pairs, for the `total - done` left;
/// `None` before the first pair is done.
pub fn eta(elapsed: Duration, done: u64, total: u64) -> Option<Duration> {
    if done == 0 {
        return None;
    }
    let left = u32::try_from(total.saturating_sub(done)).unwrap_or(u32::MAX);
    let per_pair = elapsed / u32::try_from(done).unwrap_or(u32::MAX);
    Some(per_pair.saturating_mul(left))
}

/// `[k/N 1:02, eta 3:10]`: pair k (the one running: `done + 1`, at most N) of N, the elapsed
/// wall time, the ETA (`eta ?` before the first pair is done).
pub fn progress_prefix(done: u64, total: u64, elapsed: Duration, eta: Option<Duration>) -> String {
    let k = (done + 1).min(total);
    let eta = eta.map_or_else(|| "?".to_owned(), clock);
    format!("[{k}/{total} {}, eta {eta}]", clock(elapsed))
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The columns of [`table`] and what each means: printed under the last table.
pub const LEGEND: [(&str, &str); 16] = [
    ("workers", "the server's executor threads (--workers)"),
    ("strategy", "the endpoint measured"),
    ("result", "ok, or FAILED (why: below the table)"),
    ("T1 ms", "the work alone: the fastest lone request"),
    (
        "batch ms",
        "C concurrent requests, first sent to last answered: mean ± sd over rounds",
    ),
    (
        "ideal ms",
        "the batch if the cores were shared perfectly: C × T1 / min(C, cores)",
    ),
    (
        "eff",
        "efficiency, ideal / batch: 1 = every core busy with the work, 0.5 = half the ideal pace",
    ),
    ("p50 ms", "request latency, median, all rounds pooled"),
    (
        "p99 ms",
        "request latency, 99th percentile, all rounds pooled",
    ),
    (
        "probe p50 ms",
        "GET /health sent at a fixed rate during the batch, timed from its scheduled send: what any other client waits meanwhile (median)",
    ),
    ("probe p99 ms", "the same probe, 99th percentile"),
    ("probe max ms", "the same probe, the longest wait"),
    (
        "probe err",
        "probes with no answer (counted at the timeout)",
    ),
    (
        "lag p99 ms",
        "the server's own executor lag: how late its heartbeat task woke, p99 (median of rounds)",
    ),
    (
        "cores",
        "cores the server used: its CPU time / wall time while the batch ran (mean of rounds)",
    ),
    (
        "bg done ms",
        "/background only: batch start until the server finished the last job (mean ± sd)",
    ),
];

/// The legend of the table's columns, one per line.
pub fn legend() -> String {
    let width = LEGEND
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("columns (times in ms):\n");
    for (column, meaning) in LEGEND {
        let _ = writeln!(out, "  {column:<width$}  {meaning}");
    }
    out
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
    let header = LEGEND.map(|(column, _)| column);
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
    fn eta_is_the_pace_so_far_times_the_pairs_left() {
        let s = Duration::from_secs;
        assert_eq!(eta(s(30), 0, 48), None);
        assert_eq!(eta(s(30), 1, 48), Some(s(30 * 47)));
        assert_eq!(eta(s(60), 12, 48), Some(s(180)));
        assert_eq!(eta(s(90), 48, 48), Some(s(0)));
    }

    #[test]
    fn progress_prefix_shows_the_pair_running_elapsed_and_eta() {
        let s = Duration::from_secs;
        assert_eq!(progress_prefix(0, 48, s(3), None), "[1/48 0:03, eta ?]");
        assert_eq!(
            progress_prefix(12, 48, s(62), Some(s(190))),
            "[13/48 1:02, eta 3:10]"
        );
        // After the last pair: N of N, not N+1.
        assert_eq!(
            progress_prefix(48, 48, s(3725), Some(s(0))),
            "[48/48 1:02:05, eta 0:00]"
        );
    }

    /// Every column of the table is in the legend, in order, and the legend says the unit.
    #[test]
    fn the_legend_explains_every_column() {
        let m = measurement();
        let header: Vec<String> = table(&[&m])
            .lines()
            .next()
            .expect("header")
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let columns: Vec<&str> = LEGEND.iter().map(|(c, _)| *c).collect();
        assert_eq!(header, columns);
        let legend = legend();
        assert!(legend.starts_with("columns (times in ms):"), "{legend}");
        for (column, meaning) in LEGEND {
            assert!(
                legend
                    .lines()
                    .any(|l| l.trim_start().starts_with(column) && l.ends_with(meaning)),
                "{column}: {legend}"
            );
        }
        assert!(legend.contains("eff ") && legend.contains("probe p99 ms"));
        // Every time column says its unit.
        for column in columns
            .iter()
            .filter(|c| c.contains("T1") || c.contains("p50"))
        {
            assert!(column.ends_with(" ms"), "{column}");
        }
    }

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
