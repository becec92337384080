//! The pattern to copy for CPU-bound work in an async handler: a pool sized to the cores,
//! awaited through a channel ([`common::cpu_pool::CpuPool`], runtime-agnostic: it needs no
//! runtime of its own, so the same code serves tokio, async-std and smol).
//!
//! One executor thread (like a server with `--workers 1`) runs a 1 ms heartbeat and 20
//! "handlers" with about 6 ms of work each, twice: first inline in the handler, then on the
//! pool. The heartbeat's worst lateness shows what every other request on that executor would
//! have waited.
//!
//! ```text
//! cargo run --release -p common --example cpu_pool
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cpu_pool::CpuPool;
use common::kernel::sum_squares_loop;

/// About 6 ms of work on this project's machine.
const N: u64 = 10_000_000;
/// Requests at once, as in the benchmark.
const REQUESTS: usize = 20;

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Start-up: a pool that cannot be built is a bug in the example, not a runtime condition.
    let pool = Arc::new(CpuPool::new(cores, None).expect("build the CPU pool"));
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        for offload in [false, true] {
            let started = Instant::now();
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            // The heartbeat: how late does a 1 ms timer fire on this executor?
            let heartbeat = ex.spawn({
                let done = done.clone();
                async move {
                    let mut worst = Duration::ZERO;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let due = Instant::now() + Duration::from_millis(1);
                        smol::Timer::at(due).await;
                        worst = worst.max(due.elapsed());
                    }
                    worst
                }
            });
            let handlers: Vec<_> = (0..REQUESTS)
                .map(|_| {
                    let pool = pool.clone();
                    ex.spawn(async move {
                        if offload {
                            // The whole pattern: the executor thread only awaits a channel.
                            pool.run(|| sum_squares_loop(N)).await.expect("kernel ran")
                        } else {
                            // The anti-pattern: the executor thread computes.
                            sum_squares_loop(N)
                        }
                    })
                })
                .collect();
            for h in handlers {
                std::hint::black_box(h.await);
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            let worst = heartbeat.await;
            println!(
                "{:<22} {REQUESTS} requests in {:>6.1} ms; heartbeat late by up to {:>6.1} ms",
                if offload {
                    "on the CPU pool:"
                } else {
                    "inline in the handler:"
                },
                started.elapsed().as_secs_f64() * 1e3,
                worst.as_secs_f64() * 1e3
            );
        }
    }));
}
