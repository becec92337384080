//! "Answers that repeat: /cached" (when the run has cache.csv): one table of the key mixes
//! (hit ratio asked and counted, kernels computed and requests coalesced per round, over the
//! settings), one of each setting's batch time, request and probe p99 per mix beside `/rayon`. Rendered from [`crate::analysis::cache`]'s facts
//! only; a run without `/cached` gets one line saying it was not measured.

use crate::analysis::cache::{CacheSetting, Span, mix_names, mix_spans, rayon_computed};
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
         moka) in front of `/rayon`'s pool; concurrent requests for an n not yet there wait for \
         one computation. **identical**: the batch's C requests all ask for one n not asked \
         before (the Python demo's batch: they miss together, and coalesce). **hit h**: each \
         request asks, with probability h, for an n computed before the round, otherwise for \
         one of its own. *hits counted* is the ratio the server counted (`/stats`). `/rayon` \
         beside it computes every request.\n\n",
    );
    s.push_str(&mixes(settings));
    s.push_str(&times(settings));
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

/// What each mix asked and what the server did, over the settings.
fn mixes(settings: &[CacheSetting]) -> String {
    let mut s = String::from(
        "| mix | hits asked | hits counted | kernels computed / round | coalesced / round | rounds |\n\
         |---|---|---|---|---|---|\n",
    );
    for m in mix_spans(settings) {
        s.push_str(&format!(
            "| /cached {} | {} | {} | {} | {} | {} |\n",
            m.mix,
            over(m.asked, pct),
            over(m.measured, pct),
            over(m.computed_per_round, sig3),
            over(m.coalesced_per_round, sig3),
            over(m.rounds, |v| format!("{v:.0}")),
        ));
    }
    s.push_str(&format!(
        "| /rayon | – | – | {} | – | |\n\n",
        over(rayon_computed(settings), sig3)
    ));
    s
}

/// `batch / request p99 / probe p99` per setting and mix.
fn times(settings: &[CacheSetting]) -> String {
    let names = mix_names(settings);
    let mut s = String::from(
        "Batch / request p99 / probe p99 (ms; p99 of every round's requests, probes, pooled):\n\n\
         | setting |",
    );
    for n in &names {
        s.push_str(&format!(" {n} |"));
    }
    s.push_str(" /rayon |\n|---|");
    s.push_str(&"---|".repeat(names.len() + 1));
    s.push('\n');
    let three = |b: Option<f64>, l: Option<f64>, p: Option<f64>| {
        format!("{} / {} / {}", cell(b, sig3), cell(l, sig3), cell(p, sig3))
    };
    for setting in settings {
        let workers = match setting.workers {
            Some(w) => format!(" ×{w}"),
            None => " (external)".to_owned(),
        };
        s.push_str(&format!("| {}{workers} |", setting.target));
        for n in &names {
            let c = setting.mixes.iter().find(|m| m.mix == *n).map_or_else(
                || "–".to_owned(),
                |m| {
                    let errors = if m.errors > 0 {
                        format!(" ({} not verified)", m.errors)
                    } else {
                        String::new()
                    };
                    format!(
                        "{}{errors}",
                        three(m.batch_ms, m.latency_p99_ms, m.probe_p99_ms)
                    )
                },
            );
            s.push_str(&format!(" {c} |"));
        }
        let r = setting.rayon.map_or_else(
            || "not measured".to_owned(),
            |b| three(b.batch_ms, b.latency_p99_ms, b.probe_p99_ms),
        );
        s.push_str(&format!(" {r} |\n"));
    }
    s.push('\n');
    s
}

fn cell(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "–".to_owned(), f)
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
            md.contains("| /cached identical | – | 0 % | 1.00 | 19.0 | 6 |"),
            "{md}"
        );
        assert!(
            md.contains("| /cached hit_0.9 | 90 % | 85 % | 3.00 |"),
            "{md}"
        );
        assert!(md.contains("| /rayon | – | – | 20.0 | – | |"), "{md}");
        assert!(
            md.contains(
                "| tokio ×1 | 6.20 / 6.20 / 1.50 | 15.0 / 15.0 / 1.50 | 60.0 / 58.0 / 3.20 |"
            ),
            "{md}"
        );
        let none = markdown(&[setting(None)]);
        assert!(none.contains("| not measured |"), "{none}");
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
