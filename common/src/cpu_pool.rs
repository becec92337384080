//! A rayon pool sized to the cores, bridged to async code by a runtime-agnostic oneshot
//! channel: the pattern tokio's docs and Alice Ryhl's "Async: What is blocking?" recommend for
//! CPU-bound work. Unlike a blocking pool of ~500 threads, it never runs more kernels at once
//! than it has threads, so the cores are not oversubscribed and the executor keeps a core.
//!
//! **This is the code to copy** into a server of your own: the benchmark's recommended
//! offload (`/rayon`, and `/jobs` on top of it). It needs `rayon` and `async-channel`, plus two
//! small pieces of this crate you can inline or drop: [`crate::offload::catch`]
//! (`catch_unwind`, so a panicking job answers an error instead of aborting the process) and
//! the optional nice value ([`crate::placement::lower_this_thread`]). In a handler:
//!
//! ```
//! # use common::cpu_pool::CpuPool;
//! # let pool = CpuPool::new(2, None).expect("pool");
//! # let handler = async {
//! // The executor thread only awaits a channel; a pool thread computes.
//! let total = pool.run(|| common::kernel::sum_squares_loop(1_000)).await;
//! assert_eq!(total, Ok(332_833_500));
//! # };
//! # smol::block_on(handler);
//! ```
//!
//! `examples/cpu_pool.rs` runs 20 such handlers on one executor thread, inline and then on the
//! pool, and prints how late a 1 ms heartbeat on that thread got (`cargo run --release -p
//! common --example cpu_pool`).

use std::future::Future;

use crate::offload::{Panicked, catch};

/// A fixed-size pool for CPU-bound closures, awaitable from any runtime.
#[derive(Debug)]
pub struct CpuPool {
    pool: rayon::ThreadPool,
}

impl CpuPool {
    /// A pool of `threads` threads named `cpu-pool-N`, each at nice `nice` if given.
    pub fn new(threads: usize, nice: Option<u8>) -> Result<CpuPool, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("cpu-pool-{i}"))
            // Nice is per thread on Linux: each pool thread sets its own as it starts.
            .start_handler(move |i| {
                if let Some(nice) = nice
                    && let Err(e) = crate::placement::lower_this_thread(nice)
                {
                    // Raising nice needs no privilege; if it fails anyway, say so and serve on.
                    eprintln!("warning: cpu-pool-{i}: cannot set nice {nice}: {e}");
                }
            })
            .build()?;
        Ok(CpuPool { pool })
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Queues `f` on the pool and returns a future of its result, or [`Panicked`] if `f`
    /// panicked. The future only waits on a channel, so awaiting it never blocks an executor
    /// thread.
    pub fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, Panicked>> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = async_channel::bounded(1);
        self.spawn(move || {
            let _ = tx.try_send(catch(f));
        });
        async move { rx.recv().await.unwrap_or(Err(Panicked)) }
    }

    /// Queues `f` on the pool without waiting for it (the job API's runner).
    pub fn spawn(&self, f: impl FnOnce() + Send + 'static) {
        self.pool.spawn(move || {
            // A panic must not reach rayon's handler, which would abort the process.
            let _ = catch(f);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::block_on;

    #[test]
    fn runs_on_its_threads_and_returns_results() {
        let pool = CpuPool::new(2, None).expect("pool");
        assert_eq!(pool.threads(), 2);
        let name = block_on(pool.run(|| std::thread::current().name().map(str::to_owned)));
        assert!(name.expect("ran").expect("named").starts_with("cpu-pool-"));
        assert_eq!(
            block_on(pool.run(|| crate::kernel::sum_squares_loop(10))).expect("ran"),
            285
        );
    }

    #[test]
    fn its_threads_run_at_the_nice_value_asked_for() {
        let pool = CpuPool::new(2, Some(11)).expect("pool");
        for _ in 0..4 {
            let nice = block_on(pool.run(crate::placement::this_thread_nice));
            assert_eq!(nice.expect("ran").expect("nice"), 11);
        }
    }

    #[test]
    fn a_panic_is_an_error_not_an_abort() {
        let pool = CpuPool::new(1, None).expect("pool");
        let r: Result<(), Panicked> = block_on(pool.run(|| panic!("boom")));
        assert!(r.is_err());
        assert_eq!(block_on(pool.run(|| 1)).expect("pool still works"), 1);
    }
}
