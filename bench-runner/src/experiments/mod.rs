//! The experiments (`--experiment`), siblings of one shape: `run(&Bench, &Settings,
//! Option<&Binaries>) -> ExperimentRun`. Each imports the harness ([`crate::harness`]) and
//! never another experiment; [`run`] dispatches on the one list, [`Experiment::ALL`].
//!
//! - [`batch`]: every pair, one round of C concurrent requests in each of R passes.
//! - [`sizes`]: the work-size sweep, one round per `n` in each visit.
//! - [`rate`]: open-loop steps at offered loads, one step per visit.
//! - [`queue`]: `/queue`'s bursts with 1, 2 worker processes, and a worker killed.
//! - [`pools`]: the pool-size sweep, each size a pair of its own visited as the batch's.

pub mod batch;
pub mod pools;
pub mod queue;
pub mod rate;
pub mod sizes;

use crate::harness::ExperimentRun;
use crate::harness::bench::Bench;
use crate::servers::Binaries;
use crate::settings::{Experiment, Settings};

/// Runs `experiment` on every pair of `settings`.
pub async fn run(
    experiment: Experiment,
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    match experiment {
        Experiment::Batch => batch::run(bench, settings, binaries).await,
        Experiment::Sizes => sizes::run(bench, settings, binaries).await,
        Experiment::Rate => rate::run(bench, settings, binaries).await,
        Experiment::Queue => queue::run(bench, settings, binaries).await,
        Experiment::Pools => pools::run(bench, settings, binaries).await,
    }
}
