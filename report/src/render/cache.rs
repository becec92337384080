//! "Answers that repeat: /cached" (when the run has cache.csv): per setting, `/cached` at each
//! key mix beside `/rayon`: kernels computed per round, batch time, request and probe p99,
//! against the hit ratio the server counted. Rendered from [`crate::analysis::cache`]'s facts
//! only; a run without `/cached` gets one line saying it was not measured.

use crate::analysis::cache::{Baseline, CacheSetting, MixFact};
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
         one of its own. *hits* is the ratio the server counted (`/stats`), not the one asked. \
         `/rayon` beside it computes every request. Times in ms; p99 of every round's requests \
         (probes) pooled.\n\n",
    );
    for setting in settings {
        s.push_str(&table(setting));
    }
    s
}

fn table(setting: &CacheSetting) -> String {
    let workers = match setting.workers {
        Some(1) => "1 worker".to_owned(),
        Some(w) => format!("{w} workers"),
        None => "external".to_owned(),
    };
    let mut s = format!(
        "**{} ({}), {workers}**, C = {}\n\n| mix | hits asked | hits counted | kernels computed / round | coalesced / round | batch | request p99 | probe p99 | rounds |\n|---|---|---|---|---|---|---|---|---|\n",
        setting.target, setting.label, setting.concurrency
    );
    for m in &setting.mixes {
        s.push_str(&mix_row(m));
    }
    match &setting.rayon {
        Some(b) => s.push_str(&rayon_row(b)),
        None => s.push_str("| /rayon | not measured | | | | | | | |\n"),
    }
    s.push('\n');
    s
}

fn cell(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "–".to_owned(), f)
}

fn mix_row(m: &MixFact) -> String {
    let errors = if m.errors > 0 {
        format!(" ({} not verified)", m.errors)
    } else {
        String::new()
    };
    format!(
        "| /cached {}{errors} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        m.mix,
        cell(m.asked, pct),
        cell(m.measured, pct),
        cell(m.computed_per_round, sig3),
        cell(m.coalesced_per_round, sig3),
        cell(m.batch_ms, sig3),
        cell(m.latency_p99_ms, sig3),
        cell(m.probe_p99_ms, sig3),
        m.rounds
    )
}

fn rayon_row(b: &Baseline) -> String {
    format!(
        "| /rayon | – | – | {} | – | {} | {} | {} | |\n",
        sig3(b.computed_per_round),
        cell(b.batch_ms, sig3),
        cell(b.latency_p99_ms, sig3),
        cell(b.probe_p99_ms, sig3),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
            md.contains("| /cached hit_0.9 | 90 % | 85 % | 3.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| /rayon | – | – | 20.0 | – | 60.0 | 58.0 | 3.20 | |"),
            "{md}"
        );
        let none = markdown(&[setting(None)]);
        assert!(none.contains("| /rayon | not measured |"), "{none}");
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
