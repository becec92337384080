//! The renderers: every section of REPORT.md and every chart, written from the facts
//! [`crate::analysis::Facts::of`] computed.

pub mod advice;
pub mod cache;
pub mod charts;
pub mod drift;
pub mod findings;
pub mod format;
pub mod halves;
pub mod markdown;
pub mod pools;
pub mod queue;
pub mod rate;
pub mod readme;
pub mod sizes;
mod svg;
