//! "Answers that repeat: /cached" (when the run has cache.csv): one table of the key mixes
//! beside `/rayon` (hit ratio asked and counted, kernels computed and requests coalesced per
//! round, batch time, request and probe p99: each the range over the settings, each setting's
//! own in cache.csv). Rendered from [`crate::analysis::cache`]'s facts
//! only; a run without `/cached` gets one line saying it was not measured.

use crate::analysis::cache::{CacheSetting, Span, mix_spans, rayon_span};
use crate::render::format::{pct, sig3};

/// The section; a line saying `/cached` was not measured when `settings` is empty.
pub fn markdown(settings: &[CacheSetting]) -> String {
    let mut s = String::from("## Answers that repeat: /cached\n\n");
    if settings.is_empty() {
        s.push_str(
            "`/cached` (a bounded cache of answers keyed by (kernel, n) in front of the CPU pool, \
             concurrent misses computed once) was not measured in this run: no cache.csv.\n\n",
        );
        return s;
    }
    s.push_str(
        "`/cached` keeps each answer (kernel, n) in a bounded cache (`common/src/cache.rs`, \
         moka) in front of `/rayon`'s pool; concurrent requests for a missing n wait for one \
         computation. **identical**: all C requests ask for one new n (the Python demo's batch: \
         they miss together and coalesce). **hit h**: each asks, with probability h, for an n \
         computed before the round, else for its own; *hits counted*: the server's (`/stats`). \
         `/rayon` computes every request.\n\n",
    );
    s.push_str(&mixes(settings));
    s
}

/// `v`, or `lo – hi` when the settings differ; `–` when none has it.
fn over(span: Span, f: impl Fn(f64) -> String) -> String {
    match span {
        None => "–".to_owned(),
        Some((lo, hi)) if f(lo) == f(hi) => f(lo),
        Some((lo, hi)) => format!("{} – {}", f(lo), f(hi)),
    }
}

/// Each mix over the settings, one row each, `/rayon` last: every figure the range of the
/// settings' (each setting's own in cache.csv, `/rayon`'s in summary.csv and rounds.csv).
fn mixes(settings: &[CacheSetting]) -> String {
    let mut s = format!(
        "Over the {} settings (a range where they differ; each setting's in `cache.csv`); batch: \
         the median round, ms; p99s pooled over the rounds, ms:\n\n\
         | mix | hits asked | hits counted | kernels computed / round | coalesced / round | batch | request p99 | probe p99 | rounds |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        settings.len()
    );
    for m in mix_spans(settings) {
        let errors = if m.errors > 0 {
            format!(" ({} not verified)", m.errors)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| /cached {}{errors} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            m.mix,
            over(m.asked, pct),
            over(m.measured, pct),
            over(m.computed_per_round, sig3),
            over(m.coalesced_per_round, sig3),
            over(m.batch_ms, sig3),
            over(m.latency_p99_ms, sig3),
            over(m.probe_p99_ms, sig3),
            over(m.rounds, |v| format!("{v:.0}")),
        ));
    }
    let r = rayon_span(settings);
    let missing = if r.missing > 0 {
        format!(" (not measured on {})", r.missing)
    } else {
        String::new()
    };
    s.push_str(&format!(
        "| /rayon{missing} | – | – | {} | – | {} | {} | {} | |\n\n",
        over(r.computed_per_round, sig3),
        over(r.batch_ms, sig3),
        over(r.latency_p99_ms, sig3),
        over(r.probe_p99_ms, sig3),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::cache::{Baseline, MixFact};

    fn setting(rayon: Option<Baseline>) -> CacheSetting {
        let mix = |mix: &str, asked, measured, computed, batch| MixFact {
            mix: mix.into(),
            asked,
            measured,
            coalesced_per_round: Some(if asked.is_none() { 19.0 } else { 0.0 }),
            computed_per_round: Some(computed),
            batch_ms: Some(batch),
            latency_p99_ms: Some(batch),
            probe_p99_ms: Some(1.5),
            rounds: 6,
            errors: 0,
        };
        CacheSetting {
            target: "tokio".into(),
            label: "tokio + axum".into(),
            workers: Some(1),
            concurrency: 20,
            mixes: vec![
                mix("identical", None, Some(0.0), 1.0, 6.2),
                mix("hit_0.9", Some(0.9), Some(0.85), 3.0, 15.0),
            ],
            rayon,
        }
    }

    #[test]
    fn the_table_shows_each_mix_beside_rayon() {
        let rayon = Baseline {
            computed_per_round: 20.0,
            batch_ms: Some(60.0),
            latency_p99_ms: Some(58.0),
            probe_p99_ms: Some(3.2),
        };
        let md = markdown(&[setting(Some(rayon))]);
        assert!(
            md.contains("| /cached identical | – | 0 % | 1.00 | 19.0 | 6.20 | 6.20 | 1.50 | 6 |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| /cached hit_0.9 | 90 % | 85 % | 3.00 | 0.000 | 15.0 | 15.0 | 1.50 | 6 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| /rayon | – | – | 20.0 | – | 60.0 | 58.0 | 3.20 | |"),
            "{md}"
        );
        let none = markdown(&[setting(None)]);
        assert!(none.contains("| /rayon (not measured on 1) |"), "{none}");
    }

    #[test]
    fn a_run_without_cached_says_it_was_not_measured() {
        let md = markdown(&[]);
        assert!(
            md.contains("was not measured in this run: no cache.csv"),
            "{md}"
        );
    }
}
