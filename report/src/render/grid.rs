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
    let rows: Vec<String> = f.run.strategies.iter().map(|&st| label(st)).collect();
    let heads: Vec<String> = columns.iter().map(|(t, w)| setting(t, *w)).collect();
    table(&rows, &heads, |r, c| {
        let (t, w) = &columns[c];
        cell(t, *w, f.run.strategies[r])
    })
}

/// The grid's Markdown: a `strategy` column of `rows`, a right-aligned column per entry of
/// `columns`, each cell written by `cell(row, column)`.
pub(crate) fn table(
    rows: &[String],
    columns: &[String],
    cell: impl Fn(usize, usize) -> String,
) -> String {
    let mut s = String::from("| strategy |");
    for c in columns {
        s.push_str(&format!(" {c} |"));
    }
    s.push_str("\n|---|");
    for _ in columns {
        s.push_str("---:|");
    }
    s.push('\n');
    for (r, label) in rows.iter().enumerate() {
        s.push_str(&format!("| {label} |"));
        for c in 0..columns.len() {
            s.push_str(&format!(" {} |", cell(r, c)));
        }
        s.push('\n');
    }
    s
}
