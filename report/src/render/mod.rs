//! The renderers: every section of REPORT.md and every chart, written from the facts
//! [`crate::analysis::Facts::of`] computed. A renderer takes the facts (and the typed values of
//! [`crate::analysis`]) and never the rows of `crate::data`: `tests/layers.rs` fails on a
//! renderer that names them. Some renderers still derive figures from the facts (ratios and
//! ranges over pairs, counts of verdicts): those are the next to move into `analysis`.

pub mod advice;
pub mod cache;
pub mod charts;
pub mod drift;
pub mod findings;
pub mod format;
pub(crate) mod grid;
pub mod halves;
pub mod markdown;
pub mod pools;
pub mod queue;
pub mod rate;
pub mod readme;
pub mod sizes;
mod svg;
