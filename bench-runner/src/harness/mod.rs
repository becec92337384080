//! The harness every experiment measures with, below the experiments
//! ([`crate::experiments`]), which import it and never each other; nothing here imports an
//! experiment.
//!
//! - [`passes`]: the pass scheduler (the shuffled order of the pairs in each pass) and the
//!   run's clock.
//! - [`stop`]: the run's stop request (Ctrl-C, SIGTERM): no visit scheduled after it, the one
//!   under way dropped.
//! - [`bench`](mod@bench): the measuring engine ([`Bench`](bench::Bench)): a pair's server started,
//!   verified and stopped (`Bench::visit`), warm-up and T1, one round at a plan with the probe
//!   beside it, the idle wait.
//! - [`records`]: what a measurement records, raw ([`Measurement`], the
//!   pair's envelope every experiment fills, and its [`Round`](records::Round)s).
//! - [`http`]: the timed and checked requests, and how a request that is not a verified answer
//!   went.
//! - [`probe`]: the open-loop `/health` probe, on its own threads (a pacer, a runtime) and its
//!   own pool of connections, with the harness's own lateness recorded apart from the server's
//!   share.
//! - [`pacing`]: the open-loop pacer (a constant schedule kept on a thread of its own, with a
//!   precise wait: the OS's sleep, then a short spin).
//! - [`generator`]: the open-loop generator: the pacer spawning each request onto a thread,
//!   runtime and client of the generator's own, lateness read when the request is issued.
//! - [`spawner`]: the one long-lived thread every server (and the broker, and every queue
//!   worker) is started from, so that each dies with bench-runner (`--exit-with-parent`,
//!   Linux's parent-death signal) and never before.
//! - [`broker`]: `/queue`'s parts: bench-runner's own redis-server (or `--broker`), and the
//!   `queue-worker` processes of each pair.
//! - [`cache_mix`]: `/cached`'s keys (a fresh `n` per round, or a mix with a hit ratio asked)
//!   and the cache's counts per round.
//! - [`lag`], [`memory`]: the server's executor lag (its `/lag`) and peak resident memory per
//!   round.
//! - [`external`]: `--url`: the one check, before any pair, that the server there can be
//!   measured.
//! - [`stats`]: percentiles (hdrhistogram), mean and spread, ideal batch time, efficiency.
//! - [`summary`]: per-round and per-pair figures derived from the raw records.
//! - [`attribution`]: whose stall a probe saw (executor busy, waiting for a CPU, elsewhere),
//!   from the executor threads' own figures in the scheduler's counts ([`crate::sched`]).
//! - [`output`]: the CSV row builder, the foreign-file check of `--out`, and the atomic swap of
//!   the results (with their report) into it.
//! - [`run_dir`]: which directory a run writes: `--out` (foreign files refused) or a fresh
//!   one under `runs/`; the baseline (`results/`) only on purpose.
//! - [`metadata`]: metadata.json (date, commit, rustc, CPU, cores, OS, arguments, profile).
//! - [`console`]: the `[k/N elapsed, eta …]` prefix on every line, the keep-alive line of a
//!   long pair.
//!
//! This file: the pairs of a run ([`pairs`], [`at_largest_workers`]), what an experiment
//! hands back ([`ExperimentRun`]) and the lines that end a pair ([`pair_end`]).

pub mod attribution;
pub mod bench;
pub mod broker;
pub mod cache_mix;
pub mod console;
pub mod external;
pub mod generator;
pub mod http;
pub mod lag;
pub mod memory;
pub mod metadata;
pub mod output;
pub mod pacing;
pub mod passes;
pub mod probe;
pub mod records;
pub mod run_dir;
pub mod spawner;
pub mod stats;
pub mod stop;
pub mod summary;

use crate::servers::Binaries;
use crate::settings::{Settings, Subjects};
use bench::Subject;
use records::{Log, Measurement};

/// What one experiment measured: its files, rendered, and how its pairs went.
#[derive(Debug)]
pub struct ExperimentRun {
    /// Its CSV files ([`Experiment::files`](crate::settings::Experiment::files)), in order, with their contents.
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// Pairs measured (or attempted).
    pub pairs: usize,
    /// Pairs that failed.
    pub failed: usize,
    /// Pairs not applicable.
    pub not_applicable: usize,
    /// Set when a stop request cut the experiment short: what its files lack.
    pub cut: Option<Cut>,
}

/// What an experiment cut short by a stop request ([`stop`]) left out of its files: the visit
/// under way was dropped, no later one started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cut {
    /// Pairs with no finished visit: not in the files.
    pub missing: Vec<String>,
    /// Pairs with fewer visits than asked (`name (k of N rounds)`): in the files with those.
    pub short: Vec<String>,
}

impl Cut {
    /// Whether an interrupted experiment keeps the pair `name`, noting it: a measured pair
    /// (neither failed nor not applicable) with no finished visit is left out (`missing`); one
    /// with fewer than `wanted` is kept and noted (`short`: `name (k of N unit)`). Every
    /// experiment asks this of each pair, so all of them cut alike.
    pub(crate) fn keeps(
        &mut self,
        name: String,
        measured: bool,
        visits: usize,
        wanted: usize,
        unit: &str,
    ) -> bool {
        if measured && visits == 0 {
            self.missing.push(name);
            return false;
        }
        if measured && visits < wanted {
            self.short
                .push(format!("{name} ({visits} of {wanted} {unit})"));
        }
        true
    }
}

impl ExperimentRun {
    /// Marks the run cut short when `cut` is (`interrupted`), with what it left out.
    pub(crate) fn cut_short(mut self, interrupted: bool, cut: Cut) -> ExperimentRun {
        if interrupted {
            self.cut = Some(cut);
        }
        self
    }
}

impl ExperimentRun {
    /// The run of an experiment whose pairs are `measurements`, with its rendered `files`.
    pub(crate) fn of(
        measurements: &[Measurement],
        files: Vec<(&'static str, Vec<u8>)>,
    ) -> ExperimentRun {
        let outcomes = measurements
            .iter()
            .map(|m| (m.failure.is_some(), m.not_applicable.is_some()));
        ExperimentRun::tally(files, outcomes)
    }

    /// The run of an experiment with its rendered `files`, from each pair's outcome:
    /// (failed, not applicable).
    pub(crate) fn tally(
        files: Vec<(&'static str, Vec<u8>)>,
        outcomes: impl IntoIterator<Item = (bool, bool)>,
    ) -> ExperimentRun {
        let mut run = ExperimentRun {
            files,
            pairs: 0,
            failed: 0,
            not_applicable: 0,
            cut: None,
        };
        for (failed, not_applicable) in outcomes {
            run.pairs += 1;
            run.failed += usize::from(failed);
            run.not_applicable += usize::from(not_applicable);
        }
        run
    }
}

/// Every pair of `settings`, each (subject, strategy), in the order of the result files:
/// target, then workers (a one-thread runtime at its one worker only), then strategy.
pub fn pairs<'a>(
    settings: &'a Settings,
    binaries: Option<&'a Binaries>,
) -> Vec<(Subject<'a>, common::Strategy)> {
    let subjects: Vec<Subject<'a>> = match (&settings.subjects, binaries) {
        (
            Subjects::Servers {
                targets, workers, ..
            },
            Some(binaries),
        ) => targets
            .iter()
            .filter_map(|target| Some((target, binaries.path(target)?)))
            .flat_map(|(target, binary)| {
                workers
                    .iter()
                    .filter(|w| target.runs_with_workers(**w))
                    .map(move |&workers| Subject::Server {
                        target,
                        binary,
                        workers,
                    })
            })
            .collect(),
        (Subjects::External { url }, _) => vec![Subject::External { url }],
        (Subjects::Servers { .. }, None) => vec![],
    };
    subjects
        .into_iter()
        .flat_map(|subject| settings.strategies.iter().map(move |s| (subject, *s)))
        .collect()
}

/// Each of our servers at its largest worker count (a one-thread runtime at 1), with its
/// binary: what the rate and queue experiments measure (none for a `--url` server).
pub fn at_largest_workers<'a>(
    s: &'a Settings,
    binaries: Option<&'a Binaries>,
) -> Vec<(&'a crate::targets::Target, &'a std::path::Path, usize)> {
    let (
        Subjects::Servers {
            targets, workers, ..
        },
        Some(binaries),
    ) = (&s.subjects, binaries)
    else {
        return Vec::new();
    };
    targets
        .iter()
        .filter_map(|target| {
            let most = workers
                .iter()
                .copied()
                .filter(|w| target.runs_with_workers(*w))
                .max()?;
            Some((target, binaries.path(target)?, most))
        })
        .collect()
}

/// The lines every experiment prints at a pair's end: not applicable (a pair that is has
/// neither notes nor a failure), its notes, its failure naming it.
pub fn pair_end(
    log: &dyn Log,
    name: &str,
    not_applicable: Option<&str>,
    notes: &[String],
    failure: Option<&str>,
) {
    if let Some(why) = not_applicable {
        log.line(&format!("   not applicable: {why}"));
    }
    for note in notes {
        log.line(&format!("   note: {note}"));
    }
    if let Some(why) = failure {
        log.line(&format!("   FAILED {name}: {why}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_experiment_leaves_out_unvisited_pairs_and_names_short_ones() {
        let mut cut = Cut::default();
        assert!(
            !cut.keeps("a".into(), true, 0, 6, "rounds"),
            "never visited"
        );
        assert!(cut.keeps("b".into(), true, 2, 6, "rounds"), "short");
        assert!(cut.keeps("c".into(), true, 6, 6, "rounds"), "whole");
        // Failed or not applicable: kept as they are, with their reason, whatever the visits.
        assert!(cut.keeps("d".into(), false, 0, 6, "rounds"));
        assert_eq!(cut.missing, ["a"]);
        assert_eq!(cut.short, ["b (2 of 6 rounds)"]);
    }
}
