//! The batch experiment's per-pair grids, written by one routine: a row per strategy, a column
//! per setting (runtime × workers), one pair per cell. The stall table under the findings and
//! the "Per pair" section's grids are all this shape, so a reader finds a pair at the same
//! place in each.

use common::Strategy;

use crate::analysis::Facts;
use crate::render::format::setting;

/// The settings the batch experiment measured, in the run's order of targets and worker
/// counts: the grids' columns.
pub(crate) fn columns(f: &Facts) -> Vec<(String, Option<u32>)> {
    let mut columns = Vec::new();
    for (target, _) in &f.run.targets {
        for &w in &f.run.worker_counts {
            if f.pairs
                .iter()
                .any(|s| s.target == *target && s.workers == w)
            {
                columns.push((target.clone(), w));
            }
        }
    }
    columns
}

/// A grid of the run's strategies (the row label `label` writes) by its settings, each cell
/// written by `cell` for one target × workers × strategy.
pub(crate) fn grid(
    f: &Facts,
    label: impl Fn(Strategy) -> String,
    cell: impl Fn(&str, Option<u32>, Strategy) -> String,
) -> String {
    let columns = columns(f);
    let mut s = String::from("| strategy |");
    for (t, w) in &columns {
        s.push_str(&format!(" {} |", setting(t, *w)));
    }
    s.push_str("\n|---|");
    for _ in &columns {
        s.push_str("---:|");
    }
    s.push('\n');
    for &st in &f.run.strategies {
        s.push_str(&format!("| {} |", label(st)));
        for (t, w) in &columns {
            s.push_str(&format!(" {} |", cell(t, *w, st)));
        }
        s.push('\n');
    }
    s
}
