//! [`Tracker`]: a count of things in progress that can be waited on from a plain thread (the
//! server's main thread at shutdown), whatever runtime the things run on. [`crate::app`]
//! counts requests in flight and pending background jobs with it, [`crate::jobs`] its running
//! `/jobs`.
//!
//! A mutex and a condition variable rather than an atomic: the count is waited on
//! ([`Tracker::wait_idle`]) by a thread that has no executor to poll, and a limit is checked
//! and taken in one step ([`Tracker::try_enter`]).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A count of things in progress; each is one [`TrackerGuard`], counted until it is dropped.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    count: Arc<(Mutex<usize>, Condvar)>,
}

/// One thing counted by a [`Tracker`]; dropping it (a panic unwinding through its owner
/// included) takes it off the count.
#[derive(Debug)]
pub(crate) struct TrackerGuard {
    count: Arc<(Mutex<usize>, Condvar)>,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.count.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many are in progress now.
    pub(crate) fn count(&self) -> usize {
        *self.lock()
    }

    /// Counts one more, until the guard is dropped.
    pub(crate) fn enter(&self) -> TrackerGuard {
        *self.lock() += 1;
        TrackerGuard {
            count: Arc::clone(&self.count),
        }
    }

    /// Counts one more if fewer than `limit` are in progress; `None` otherwise.
    pub(crate) fn try_enter(&self, limit: usize) -> Option<TrackerGuard> {
        let mut count = self.lock();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(TrackerGuard {
            count: Arc::clone(&self.count),
        })
    }

    /// Blocks the calling thread until none is in progress or `timeout` has passed; returns
    /// how many are still in progress.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> usize {
        let (_, idle) = &*self.count;
        let guard = self.lock();
        let (guard, _) = idle
            .wait_timeout_while(guard, timeout, |count| *count > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

impl Drop for TrackerGuard {
    fn drop(&mut self) {
        let (lock, idle) = &*self.count;
        let mut count = lock.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            idle.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_until_dropped_bounds_try_enter_and_wakes_a_waiter() {
        let tracker = Tracker::default();
        let first = tracker.enter();
        let second = tracker.try_enter(2).expect("under the limit");
        assert!(tracker.try_enter(2).is_none(), "at the limit");
        assert_eq!(tracker.count(), 2);
        drop(first);
        assert_eq!(tracker.wait_idle(Duration::ZERO), 1);
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(second);
        });
        assert_eq!(tracker.wait_idle(Duration::from_secs(30)), 0);
        release.join().expect("thread");
    }
}
