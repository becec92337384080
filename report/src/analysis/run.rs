//! The run itself, as every section names it: its metadata, what it measured (targets, worker
//! counts, strategies, the experiments whose files it has) and how a worker count is called.

use common::Strategy;
use results_format::Metadata;

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
    /// The batch experiment has passes.csv rows.
    pub has_passes: bool,
    /// The batch experiment has cache.csv rows.
    pub has_cache: bool,
    /// The run measured the sizes experiment (sizes_summary.csv has rows).
    pub has_sizes: bool,
    /// The run measured the rate experiment.
    pub has_rate: bool,
    /// The run measured the queue experiment.
    pub has_queue: bool,
    /// The run measured the pools experiment.
    pub has_pools: bool,
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
            has_passes: !r.passes.is_empty(),
            has_cache: !r.cache.is_empty(),
            has_sizes: !r.sizes.is_empty(),
            has_rate: r.rate.is_some(),
            has_queue: r.queue.is_some(),
            has_pools: r.pools.is_some(),
        }
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
