//! What a server hands to its runtime's blocking pool (the `/thread` and `/bounded` kernels and
//! `/background` jobs) runs inside [`Offloads::run`], written once here for the three servers:
//!
//! - **A panic is caught on the pool thread** and becomes [`Panicked`]. Left to the pools, it
//!   would travel on differently per runtime: tokio turns it into a `JoinError` (answered 500),
//!   but the `blocking` crate under async-std and smol re-raises it where the task is awaited,
//!   tide does not catch it and async-executor swallows it, so the client's connection just
//!   closed with no answer; a detached background job's panic vanished.
//! - **It is measured**: how many such closures run at once (now and at most since start), and
//!   on how many OS threads ([`ThreadCensus`]). These are the blocking pool's real figures,
//!   whatever `--blocking-threads` configured.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::threads::{ThreadCensus, ThreadRole};

/// The closure panicked. The panic hook has already written its message to stderr; the pool
/// thread survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the kernel panicked on a pool thread (its message is on the server's stderr)")]
pub struct Panicked;

/// Runs `f`, catching a panic. For closures on any pool thread (the CPU pool uses it too).
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    // AssertUnwindSafe: after a panic nothing `f` touched is used again, except counters and
    // the locks around them, which are poison-tolerant (`PoisonError::into_inner`) everywhere.
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| Panicked)
}

/// Counters of the closures run on the blocking pool. Its threads are named for
/// [`ThreadRole::Blocking`] as they run one.
#[derive(Debug)]
pub struct Offloads {
    running: AtomicUsize,
    peak: AtomicUsize,
    finished: AtomicU64,
    panicked: AtomicU64,
    threads: ThreadCensus,
}

/// `/stats` figures for the blocking pool, measured around every closure handed to it (the
/// `/thread` and `/bounded` kernels, `/background` jobs). Missing in bodies from servers older
/// than these fields (all zero then).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OffloadStats {
    /// Closures running on the blocking pool now.
    pub running: usize,
    /// The most that ran at once since start. With `--blocking-threads N` in force it cannot
    /// exceed N; above N, the cap configures a pool nobody uses.
    pub peak_running: usize,
    /// Closures finished (returned or panicked).
    pub finished: u64,
    /// Of those, closures that panicked: each answered 500 (`/thread`, `/bounded`) or counted
    /// as a failed background job.
    pub panicked: u64,
    /// Distinct OS threads that have run one since start. Pools retire idle threads (tokio
    /// after 10 s, the `blocking` crate after 0.5 s) and start new ones, so over a long run
    /// this can pass the cap; `threads_peak` cannot.
    pub threads_seen: usize,
    /// Threads that have run one and not exited yet.
    pub threads_alive: usize,
    /// The most of them alive at once since start: the blocking pool's measured size (as far
    /// as it ran our closures).
    pub threads_peak: usize,
}

impl Default for Offloads {
    fn default() -> Offloads {
        Offloads {
            running: AtomicUsize::default(),
            peak: AtomicUsize::default(),
            finished: AtomicU64::default(),
            panicked: AtomicU64::default(),
            threads: ThreadCensus::of_role(ThreadRole::Blocking),
        }
    }
}

impl Offloads {
    /// Runs `f` on the current (pool) thread, counted and measured; a panic in it is caught.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, Panicked> {
        self.threads.enter();
        let now = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let result = catch(f);
        self.running.fetch_sub(1, Ordering::Relaxed);
        if result.is_err() {
            self.panicked.fetch_add(1, Ordering::Relaxed);
        }
        self.finished.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Current figures.
    pub fn stats(&self) -> OffloadStats {
        let threads = self.threads.census();
        OffloadStats {
            running: self.running.load(Ordering::Relaxed),
            peak_running: self.peak.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
            panicked: self.panicked.load(Ordering::Relaxed),
            threads_seen: threads.seen,
            threads_alive: threads.alive,
            threads_peak: threads.peak,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn a_panic_is_caught_and_counted() {
        let offloads = Offloads::default();
        assert_eq!(offloads.run(|| 7), Ok(7));
        assert_eq!(offloads.run(|| -> u8 { panic!("boom") }), Err(Panicked));
        let s = offloads.stats();
        assert_eq!(
            (s.running, s.peak_running, s.finished, s.panicked),
            (0, 1, 2, 1)
        );
        assert_eq!((s.threads_seen, s.threads_peak), (1, 1));
    }

    #[test]
    fn measures_closures_at_once_and_their_threads() {
        let offloads = Arc::new(Offloads::default());
        // Three closures held running at once, on three threads.
        let inside = Arc::new(Barrier::new(4));
        let leave = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (o, inside, leave) = (
                    Arc::clone(&offloads),
                    Arc::clone(&inside),
                    Arc::clone(&leave),
                );
                std::thread::spawn(move || {
                    o.run(|| {
                        inside.wait();
                        leave.wait();
                    })
                })
            })
            .collect();
        inside.wait();
        assert_eq!(offloads.stats().running, 3);
        leave.wait();
        for t in threads {
            t.join().expect("thread").expect("no panic");
        }
        let s = offloads.stats();
        assert_eq!(
            (s.running, s.peak_running, s.finished, s.panicked),
            (0, 3, 3, 0)
        );
        assert_eq!((s.threads_seen, s.threads_alive, s.threads_peak), (3, 0, 3));
    }
}
