//! The README's headline figures, from the same facts as REPORT.md: each a phrase the README
//! quotes word for word ([`quotes`]). `tests/whole.rs` checks that README.md quotes every one
//! for the committed baseline, so the front door and the report cannot disagree: a rerun that
//! moves a figure fails the test until the README says the new one.

use common::Strategy;
use common::strategy::Execution;

use crate::analysis::verdict::Extremes;
use crate::analysis::{Facts, Responsiveness, Tally, Verdict};

/// Two significant figures, as the README writes a figure (`158`, `70`, `5.1`, `0.32`).
fn sig2(v: f64) -> String {
    let a = v.abs();
    if a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `2.0–5.1 ms`, or `2.0 ms` when both ends read the same.
fn ms_range(lo: f64, hi: f64) -> String {
    let (a, b) = (sig2(lo), sig2(hi));
    if a == b {
        format!("{a} ms")
    } else {
        format!("{a}–{b} ms")
    }
}

/// `all 18 pairs`, `both pairs`, `5 of 9 pairs`.
fn of_pairs(k: usize, n: usize) -> String {
    match (k, n) {
        (2, 2) => "both pairs".to_owned(),
        (k, n) if k == n => format!("all {n} pairs"),
        (k, n) => format!("{k} of {n} pairs"),
    }
}

/// The verdicts of the strategies `keep` selects.
fn of(f: &Facts, keep: impl Fn(Strategy) -> bool) -> Vec<&Verdict> {
    f.verdicts.iter().filter(|v| keep(v.key.strategy)).collect()
}

/// `probe p99 70–158 ms` over `vs`.
fn probe(vs: &[&Verdict]) -> Option<String> {
    let (lo, hi) = Extremes::of(vs.iter().copied())?.probe_p99_ms;
    Some(format!("p99 {}", ms_range(lo, hi)))
}

/// How many of `vs` are of `class`.
fn count(vs: &[&Verdict], class: Responsiveness) -> usize {
    Tally::of(vs.iter().copied()).count(class)
}

/// The phrases the README's "What to do" quotes, for the facts `f`: nothing for a run without
/// the batch experiment.
pub fn quotes(f: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    let inline = of(f, |s| s.execution() == Execution::Inline);
    if !inline.is_empty() {
        out.push(format!(
            "Inline work stalled the server in {}",
            of_pairs(count(&inline, Responsiveness::Stalled), inline.len())
        ));
        if let (Some(p), Some(x)) = (probe(&inline), Extremes::of(inline.iter().copied())) {
            let (lo, hi) = x.stall;
            out.push(format!(
                "a `/health` probe waited {p} ({lo:.0}–{hi:.0}× one request's work)"
            ));
        }
    }
    if let Some(best) = f.recommended() {
        let vs = of(f, |s| s == best);
        if let Some(p) = probe(&vs) {
            out.push(format!(
                "`{}` kept the server answering in {} (probe {p})",
                best.path(),
                of_pairs(count(&vs, Responsiveness::Responsive), vs.len())
            ));
        }
    }
    // The alternatives and the task queue: "stalled no pair", as What to do says it.
    for s in [
        Strategy::Jobs,
        Strategy::Bounded,
        Strategy::Queue,
        Strategy::Thread,
    ] {
        let vs = of(f, |x| x == s);
        let Some(p) = probe(&vs) else { continue };
        let stalled = count(&vs, Responsiveness::Stalled);
        let said = if stalled == 0 {
            "stalled no pair".to_owned()
        } else {
            format!("stalled the server in {}", of_pairs(stalled, vs.len()))
        };
        out.push(format!("`{}` {said} (probe {p})", s.path()));
    }
    let vs = of(f, |x| x == Strategy::Background);
    if !vs.is_empty() {
        out.push(format!(
            "`/background` stalled the server in {}",
            of_pairs(count(&vs, Responsiveness::Stalled), vs.len())
        ));
    }
    if let Some(h) = &f.halves {
        out.push(format!(
            "{} of {} claims held in both halves",
            h.held(),
            h.claims.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_written_with_two_significant_figures() {
        assert_eq!(ms_range(70.04, 158.2), "70–158 ms");
        assert_eq!(ms_range(1.97, 5.06), "2.0–5.1 ms");
        assert_eq!(ms_range(2.0, 2.04), "2.0 ms");
        assert_eq!(ms_range(0.321, 0.76), "0.32–0.76 ms");
        assert_eq!(of_pairs(18, 18), "all 18 pairs");
        assert_eq!(of_pairs(5, 9), "5 of 9 pairs");
        assert_eq!(of_pairs(2, 2), "both pairs");
    }
}
