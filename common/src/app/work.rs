//! [`Work`]: a request [`App::handle`](super::App::handle) has validated, and how its kernel
//! runs: whole ([`Work::run`], on whatever thread the strategy chose) or in slices between
//! the runtime's yields ([`Work::run_yielding`]), timed, into the 200 body. `--panic-on-n`'s
//! fault is injected here, so every strategy panics the same way.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::cache::Lookup;
use crate::kernel::{self, Kernel};
use crate::params::Params;
use crate::reply::{Computed, Reply};
use crate::strategy::Strategy;

/// A validated request, ready to run.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    /// The strategy its endpoint names.
    pub strategy: Strategy,
    /// Its validated parameters.
    pub params: Params,
    /// The kernel it runs (the server's `--kernel`).
    pub kernel: &'static dyn Kernel,
    /// Fault injection (`--panic-on-n`): the kernel panics instead of running.
    pub(crate) panics: bool,
}

impl Work {
    /// Runs the kernel on the current thread, timed, and builds the 200: the iterator form for
    /// `/generator` (for `sum-squares`; the one form for other kernels), the whole run for
    /// everything else.
    pub fn run(self) -> Reply {
        let (total, elapsed) = self.compute();
        self.computed(total, elapsed)
    }

    /// Runs the kernel on the current thread: the answer and how long it took.
    pub fn compute(&self) -> (String, Duration) {
        self.fault();
        let n = self.params.n;
        let start = Instant::now();
        let total = match self.strategy {
            Strategy::Generator => self.kernel.run_iter(n),
            Strategy::Cycle
            | Strategy::CycleSleep
            | Strategy::Thread
            | Strategy::Background
            | Strategy::Rayon
            | Strategy::Bounded
            | Strategy::Jobs
            | Strategy::BlockInPlace
            | Strategy::Queue
            | Strategy::Cached => self.kernel.run(n),
        };
        (total, start.elapsed())
    }

    /// Runs the kernel in slices, awaiting `yield_now()` every `yield_every` units.
    pub async fn run_yielding<Y, F>(self, yield_now: Y) -> Reply
    where
        Y: FnMut() -> F,
        F: Future<Output = ()>,
    {
        self.fault();
        let start = Instant::now();
        let total = kernel::run_yielding(
            self.kernel,
            self.params.n,
            self.params.yield_every,
            yield_now,
        )
        .await;
        self.computed(total, start.elapsed())
    }

    /// `--panic-on-n`: panics if this work's `n` is the one named.
    fn fault(&self) {
        if self.panics {
            panic!(
                "fault injection (--panic-on-n): the kernel for n = {} panics",
                self.params.n
            );
        }
    }

    fn computed(self, total: String, elapsed: Duration) -> Reply {
        self.answered(total, micros(elapsed), None)
    }

    /// The 200 for this work with `total` computed in `compute_us`, and for `/cached` how the
    /// cache answered it.
    pub(crate) fn answered(self, total: String, compute_us: u64, cache: Option<Lookup>) -> Reply {
        Reply::json(
            200,
            &Computed {
                strategy: self.strategy.name().into(),
                kernel: self.kernel.name().into(),
                n: self.params.n,
                total,
                compute_us,
                cache: cache.map(|c| c.name().into()),
            },
        )
    }
}

/// `elapsed` in whole µs.
pub(crate) fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::{app, now};

    #[test]
    fn yielding_work_gives_the_same_total() {
        let app = app(1);
        let reply = now(app.handle(
            Strategy::CycleSleep,
            Some("n=1000&yield_every=1000000"),
            |w| w.run_yielding(|| async {}),
        ));
        let body: Computed = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(body.total, kernel::closed_form(1000).to_string());
        assert_eq!(body.kernel, "sum-squares");
    }
}
