//! The machine's drift over the run: how fast it was in each pass of the batch experiment
//! (passes.csv), and whether the run drifted more than [`DRIFT_LIMIT`].

use crate::data::{PassRow, Results};

/// A run whose slowest pass's median speed is more than this many times its fastest's is
/// flagged at the top of the report. 15 %: this machine drifts 20 % and more between minutes;
/// passes of about a minute that differ by less are the ordinary run-to-run noise seen here.
pub const DRIFT_LIMIT: f64 = 1.15;

/// The drift of one run, computed once from passes.csv.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Passes measured.
    pub passes: usize,
    /// The fastest pass (lowest median speed ratio) and its ratio.
    pub fastest: (u32, f64),
    /// The slowest pass and its ratio.
    pub slowest: (u32, f64),
    /// slowest ÷ fastest.
    pub ratio: f64,
}

impl Drift {
    /// The batch experiment's drift in `r`, if it ran in at least two passes.
    pub fn of(r: &Results) -> Option<Drift> {
        let passes: Vec<&PassRow> = batch_passes(r);
        if passes.len() < 2 {
            return None;
        }
        let by_speed = |a: &&&PassRow, b: &&&PassRow| a.speed_median.total_cmp(&b.speed_median);
        let fastest = passes.iter().min_by(by_speed)?;
        let slowest = passes.iter().max_by(by_speed)?;
        (fastest.speed_median > 0.0).then(|| Drift {
            passes: passes.len(),
            fastest: (fastest.pass, fastest.speed_median),
            slowest: (slowest.pass, slowest.speed_median),
            ratio: slowest.speed_median / fastest.speed_median,
        })
    }

    /// Whether the run drifted more than [`DRIFT_LIMIT`].
    pub fn drifted(&self) -> bool {
        self.ratio > DRIFT_LIMIT
    }
}

/// One pass of the batch experiment, as its chart draws it: when it ran and how fast the
/// machine was in it (each round's lone request ÷ its pair's T1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassSpeed {
    /// The pass, from 1.
    pub pass: u32,
    /// Its start, from the run's start, ms.
    pub start_offset_ms: f64,
    /// Its end, ms.
    pub end_offset_ms: f64,
    /// The median speed ratio over its rounds.
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

/// The batch experiment's passes, in file order; empty for a run without passes.csv.
pub fn pass_speeds(r: &Results) -> Vec<PassSpeed> {
    batch_passes(r)
        .into_iter()
        .map(|p| PassSpeed {
            pass: p.pass,
            start_offset_ms: p.start_offset_ms,
            end_offset_ms: p.end_offset_ms,
            median: p.speed_median,
            min: p.speed_min,
            max: p.speed_max,
        })
        .collect()
}

/// The batch experiment's rows of passes.csv.
pub fn batch_passes(r: &Results) -> Vec<&PassRow> {
    r.passes
        .iter()
        .filter(|p| p.experiment == results_format::Experiment::Batch.name())
        .collect()
}
