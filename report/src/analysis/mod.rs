//! The numbers behind the report, computed from [`Results`](crate::Results) before any
//! sentence is written: the renderers format what this module computed and decide nothing of
//! their own.
//!
//! - [`stats`]: each statistic defined once (medians, bounds, a pair's work time).

pub mod stats;
