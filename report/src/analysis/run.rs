//! The run itself, as every section names it: its metadata, what it measured (targets, worker
//! counts, strategies, the experiments whose files it has) and how a worker count is called.

use std::collections::BTreeSet;

use common::Strategy;
use results_format::Metadata;

use crate::analysis::noise;
use crate::data::Results;

/// What the run measured, read once from its files.
#[derive(Debug, Clone)]
pub struct Run {
    /// metadata.json.
    pub metadata: Metadata,
    /// The batch experiment's targets in file order, each once, with their
    /// `runtime + framework` label.
    pub targets: Vec<(String, String)>,
    /// The batch experiment's worker counts, ascending, each once.
    pub worker_counts: Vec<Option<u32>>,
    /// The batch experiment's strategies, in `Strategy::ALL` order.
    pub strategies: Vec<Strategy>,
    /// The run measured a server at `--url` (its rows name no runtime and no worker count).
    pub external: bool,
    /// The run measured the batch experiment.
    pub has_batch: bool,
    /// The batch experiment's passes: how many its rounds name (0 in a run from before
    /// passes), the passes two of its pairs can be compared in ([`Run::pairs_by_pass`]).
    pub passes: usize,
}

impl Run {
    /// The run of `r`.
    pub fn of(r: &Results) -> Run {
        Run {
            metadata: r.metadata.clone(),
            targets: r.targets(),
            worker_counts: r.worker_counts(),
            strategies: r.strategies(),
            external: r.external(),
            has_batch: r.has_batch(),
            passes: r
                .rounds
                .iter()
                .filter_map(|x| x.pass)
                .collect::<BTreeSet<u32>>()
                .len(),
        }
    }

    /// Whether the batch's work times are compared pass by pass ([`noise::compare`]): the run
    /// has at least [`noise::MIN_PASSES`] passes.
    pub fn pairs_by_pass(&self) -> bool {
        self.passes >= noise::MIN_PASSES
    }

    /// The label of a worker count: `1 worker`, `2 workers (all cores)`, `external`.
    pub fn workers_label(&self, workers: Option<u32>) -> String {
        crate::data::workers_label(self.metadata.cores, workers)
    }

    /// The batch experiment measured `s`.
    pub fn measured(&self, s: Strategy) -> bool {
        self.strategies.contains(&s)
    }
}
