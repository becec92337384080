//! The harness every experiment measures with.
//!
//! - [`passes`]: the pass scheduler (the shuffled order of the pairs in each pass) and the
//!   run's clock.

pub mod passes;
