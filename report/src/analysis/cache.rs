//! `/cached`'s facts (cache.csv): per target × workers, each key mix's work done (kernels
//! computed per round), batch time, request and probe p99, beside the same setting's `/rayon`
//! (summary.csv and rounds.csv: every request computed). Rendered by [`crate::render::cache`].

use common::Strategy;

use super::stats;
use crate::data::Results;
use crate::data::cache::CacheRow;

/// `/cached` and `/rayon` on one target × workers.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheSetting {
    /// bench-runner's target name.
    pub target: String,
    /// `tokio + axum`.
    pub label: String,
    /// Executor threads; `None` for an external server.
    pub workers: Option<u32>,
    /// Requests per round.
    pub concurrency: u64,
    /// Each key mix, in file order (the identical batch first).
    pub mixes: Vec<MixFact>,
    /// The same setting's `/rayon`; `None` when it was not measured (or failed).
    pub rayon: Option<Baseline>,
}

/// One key mix of `/cached`.
#[derive(Debug, Clone, PartialEq)]
pub struct MixFact {
    /// `identical` or `hit_<ratio>`.
    pub mix: String,
    /// The hit ratio asked; `None` for the identical batch.
    pub asked: Option<f64>,
    /// The hit ratio the server counted.
    pub measured: Option<f64>,
    /// Requests answered by another's computation, per round.
    pub coalesced_per_round: Option<f64>,
    /// Kernels computed per round.
    pub computed_per_round: Option<f64>,
    /// Median batch time, ms.
    pub batch_ms: Option<f64>,
    /// Request latency p99, ms.
    pub latency_p99_ms: Option<f64>,
    /// Probe latency p99, ms.
    pub probe_p99_ms: Option<f64>,
    /// Rounds behind it.
    pub rounds: u64,
    /// Requests that were not a verified answer.
    pub errors: u64,
}

/// `/rayon`'s figures on the same setting: every request computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Kernels computed per round: C.
    pub computed_per_round: f64,
    /// Median batch time over its rounds, ms.
    pub batch_ms: Option<f64>,
    /// Request latency p99, ms.
    pub latency_p99_ms: Option<f64>,
    /// Probe latency p99, ms.
    pub probe_p99_ms: Option<f64>,
}

/// A range over the settings: `(lo, hi)`; `None` when no setting has the figure.
pub type Span = Option<(f64, f64)>;

/// One key mix's figures over every setting: each the range of the settings' values.
#[derive(Debug, Clone, PartialEq)]
pub struct MixSpan {
    /// `identical` or `hit_<ratio>`.
    pub mix: String,
    /// The hit ratio asked.
    pub asked: Span,
    /// The hit ratio the server counted.
    pub measured: Span,
    /// Kernels computed per round.
    pub computed_per_round: Span,
    /// Requests coalesced per round.
    pub coalesced_per_round: Span,
    /// Median batch time, ms.
    pub batch_ms: Span,
    /// Request latency p99, ms.
    pub latency_p99_ms: Span,
    /// Probe latency p99, ms.
    pub probe_p99_ms: Span,
    /// Rounds behind each setting's figures.
    pub rounds: Span,
    /// Requests that were not a verified answer, over every setting.
    pub errors: u64,
}

/// `/rayon`'s figures over the settings that measured it: each the range of theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct RayonSpan {
    /// Kernels computed per round.
    pub computed_per_round: Span,
    /// Median batch time, ms.
    pub batch_ms: Span,
    /// Request latency p99, ms.
    pub latency_p99_ms: Span,
    /// Probe latency p99, ms.
    pub probe_p99_ms: Span,
    /// Settings without `/rayon` measured.
    pub missing: usize,
}

/// The mixes' names, in the first setting's order, then any a later setting adds.
pub fn mix_names(settings: &[CacheSetting]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for m in settings.iter().flat_map(|s| &s.mixes) {
        if !names.contains(&m.mix.as_str()) {
            names.push(&m.mix);
        }
    }
    names
}

/// Each mix (in [`mix_names`]' order) over the settings.
pub fn mix_spans(settings: &[CacheSetting]) -> Vec<MixSpan> {
    mix_names(settings)
        .into_iter()
        .map(|name| {
            let ms: Vec<&MixFact> = settings
                .iter()
                .flat_map(|s| &s.mixes)
                .filter(|m| m.mix == name)
                .collect();
            let span =
                |f: fn(&MixFact) -> Option<f64>| stats::bounds(ms.iter().filter_map(|m| f(m)));
            MixSpan {
                mix: name.to_owned(),
                asked: span(|m| m.asked),
                measured: span(|m| m.measured),
                computed_per_round: span(|m| m.computed_per_round),
                coalesced_per_round: span(|m| m.coalesced_per_round),
                batch_ms: span(|m| m.batch_ms),
                latency_p99_ms: span(|m| m.latency_p99_ms),
                probe_p99_ms: span(|m| m.probe_p99_ms),
                rounds: span(|m| Some(m.rounds as f64)),
                errors: ms.iter().map(|m| m.errors).sum(),
            }
        })
        .collect()
}

/// `/rayon` over the settings.
pub fn rayon_span(settings: &[CacheSetting]) -> RayonSpan {
    let bs: Vec<Baseline> = settings.iter().filter_map(|s| s.rayon).collect();
    let span = |f: fn(&Baseline) -> Option<f64>| stats::bounds(bs.iter().filter_map(f));
    RayonSpan {
        computed_per_round: span(|b| Some(b.computed_per_round)),
        batch_ms: span(|b| b.batch_ms),
        latency_p99_ms: span(|b| b.latency_p99_ms),
        probe_p99_ms: span(|b| b.probe_p99_ms),
        missing: settings.len() - bs.len(),
    }
}

/// Every setting of cache.csv, in file order; empty when the run has none.
pub fn of(r: &Results) -> Vec<CacheSetting> {
    let mut out: Vec<CacheSetting> = Vec::new();
    for row in &r.cache {
        let fact = mix_fact(row);
        if let Some(s) = out
            .iter_mut()
            .find(|s| s.target == row.target && s.workers == row.workers)
        {
            s.mixes.push(fact);
            continue;
        }
        out.push(CacheSetting {
            target: row.target.clone(),
            label: label(row),
            workers: row.workers,
            concurrency: row.concurrency,
            mixes: vec![fact],
            rayon: baseline(r, &row.target, row.workers),
        });
    }
    out
}

fn label(row: &CacheRow) -> String {
    if row.runtime.is_empty() && row.framework.is_empty() {
        crate::data::EXTERNAL_LABEL.to_owned()
    } else {
        format!("{} + {}", row.runtime, row.framework)
    }
}

fn mix_fact(row: &CacheRow) -> MixFact {
    let per_round = |v: Option<u64>| v.map(|v| v as f64 / row.rounds.max(1) as f64);
    MixFact {
        mix: row.mix.clone(),
        asked: row.hit_ratio_asked,
        measured: row.hit_ratio,
        coalesced_per_round: per_round(row.coalesced),
        computed_per_round: row.computed_per_round_mean,
        batch_ms: row.batch_ms_median,
        latency_p99_ms: row.latency_us_p99.map(|v| v / 1e3),
        probe_p99_ms: row.probe_latency_us_p99.map(|v| v / 1e3),
        rounds: row.rounds,
        errors: row.errors,
    }
}

fn baseline(r: &Results, target: &str, workers: Option<u32>) -> Option<Baseline> {
    let pair = r.ok_pair(target, workers, Strategy::Rayon)?;
    let batch = stats::median_upper(r.rounds_of(&pair.key()).iter().map(|x| x.batch_ms));
    Some(Baseline {
        computed_per_round: pair.concurrency as f64,
        batch_ms: batch,
        latency_p99_ms: pair.latency_us_p99.map(|v| v / 1e3),
        probe_p99_ms: pair.probe_latency_us_p99.map(|v| v / 1e3),
    })
}
