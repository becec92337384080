//! How the report writes a figure: significant figures, units, ratios, spans and lists, one
//! way each, so every section says the same number the same way.

use common::Strategy;
use common::strategy::Execution;

use crate::analysis::run::Run;

/// What a figure that is not a number (an infinite ratio, a p99 of nothing) is written as:
/// never `inf` or `NaN`.
pub const NOT_A_FIGURE: &str = "n/a";

/// Milliseconds to three significant figures: `412 ms`, `23.1 ms`, `2.14 ms`, `0.315 ms`.
pub fn ms(v: f64) -> String {
    if !v.is_finite() {
        return NOT_A_FIGURE.to_owned();
    }
    format!("{} ms", sig3(v))
}

/// Three significant figures, no exponent.
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        NOT_A_FIGURE.to_owned()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A ratio: `1.93×`.
pub fn times(v: f64) -> String {
    if !v.is_finite() {
        return NOT_A_FIGURE.to_owned();
    }
    format!("{v:.2}×")
}

/// A fraction as a percentage: `95 %`.
pub fn pct(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// A pair's setting in a table cell: `tokio ×1` (runtime × executor threads), or the target
/// alone where the run does not set the worker count (an external server).
pub fn setting(target: &str, workers: Option<u32>) -> String {
    match workers {
        Some(w) => format!("{target} ×{w}"),
        None => target.to_owned(),
    }
}

/// `/a`, `/b` and `/c`.
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `1.93×` or `0.95× to 1.93×`.
pub(crate) fn span(lo: f64, hi: f64) -> String {
    if times(lo) == times(hi) {
        times(lo)
    } else {
        format!("{} to {}", times(lo), times(hi))
    }
}

/// `2.14 ms` or `2.14 ms – 3.50 ms`.
pub(crate) fn ms_span(lo: f64, hi: f64) -> String {
    if ms(lo) == ms(hi) {
        ms(lo)
    } else {
        format!("{} – {}", ms(lo), ms(hi))
    }
}

/// `50000000` as `50,000,000`.
pub(crate) fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `inline`, `yielding`, …: the word the report uses for an execution kind.
pub(crate) fn execution_word(e: Execution) -> &'static str {
    match e {
        Execution::Inline => "inline",
        Execution::Yielding => "yielding",
        Execution::Offloaded => "offloaded",
        Execution::Detached => "detached",
        Execution::Job => "job API",
    }
}

/// `+412 µs` or `+412 to +1830 µs`.
pub fn us_span((lo, hi): (f64, f64)) -> String {
    if format!("{lo:+.0}") == format!("{hi:+.0}") {
        format!("{lo:+.0} µs")
    } else {
        format!("{lo:+.0} to {hi:+.0} µs")
    }
}
/// The job APIs in the run, whose latency is the POST plus the waiting GET: `/jobs`, or
/// `/jobs and /queue` when the run measured `/queue` too.
pub(crate) fn job_apis(run: &Run) -> &'static str {
    if run.measured(Strategy::Queue) {
        "/jobs and /queue"
    } else {
        "/jobs"
    }
}
/// A figure not measured, in the task queue's tables.
pub(crate) const NONE: &str = "—";

/// A count, or [`NONE`].
pub(crate) fn count_cell(v: Option<u64>) -> String {
    v.map_or(NONE.to_owned(), |v| v.to_string())
}
