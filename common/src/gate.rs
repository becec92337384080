//! Bounded offload: an async semaphore with one permit per core in front of the blocking pool.
//! At most `permits` kernels run at once; further requests wait for a permit without holding
//! an executor thread; past `max_queue` waiting requests, new ones get a 503 with `Retry-After`
//! instead of a queue that grows without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_lock::{Semaphore, SemaphoreGuardArc};
use serde::{Deserialize, Serialize};

use crate::reply::Reply;

/// The semaphore and its counters.
#[derive(Debug)]
pub struct Gate {
    semaphore: Arc<Semaphore>,
    permits: usize,
    max_queue: usize,
    waiting: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    rejected: AtomicU64,
}

/// A request admitted to the queue, waiting for a permit. Dropping it (the client went away)
/// leaves the queue.
#[derive(Debug)]
pub struct Queued {
    semaphore: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
}

/// A permit to run one kernel; released when dropped. Move it into the offloaded closure.
#[derive(Debug)]
pub struct Slot {
    _permit: SemaphoreGuardArc,
    running: Arc<AtomicUsize>,
}

/// `/stats` figures for `/bounded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStats {
    /// Kernels allowed at once.
    pub permits: usize,
    /// Kernels running now.
    pub running: usize,
    /// Requests waiting for a permit.
    pub waiting: usize,
    /// Requests answered 503 because the queue was full.
    pub rejected: u64,
    /// `--max-queue`.
    pub max_queue: usize,
}

impl Gate {
    /// A gate with `permits` slots and room for `max_queue` waiting requests.
    pub fn new(permits: usize, max_queue: usize) -> Gate {
        Gate {
            semaphore: Arc::new(Semaphore::new(permits)),
            permits,
            max_queue,
            waiting: Arc::default(),
            running: Arc::default(),
            rejected: AtomicU64::new(0),
        }
    }

    /// Joins the queue, or gives the 503 if `max_queue` requests are already waiting.
    pub fn admit(&self) -> Result<Queued, Reply> {
        let joined = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w < self.max_queue).then_some(w + 1)
            });
        if joined.is_err() {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(Reply::overloaded(
                format!(
                    "{} requests already wait for one of {} CPU slots (--max-queue); retry later",
                    self.max_queue, self.permits
                ),
                1,
            ));
        }
        Ok(Queued {
            semaphore: Arc::clone(&self.semaphore),
            waiting: Arc::clone(&self.waiting),
            running: Arc::clone(&self.running),
        })
    }

    /// Current figures.
    pub fn stats(&self) -> GateStats {
        GateStats {
            permits: self.permits,
            running: self.running.load(Ordering::Relaxed),
            waiting: self.waiting.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            max_queue: self.max_queue,
        }
    }
}

impl Queued {
    /// Waits (asynchronously) for a permit.
    pub async fn acquire(self) -> Slot {
        let permit = self.semaphore.acquire_arc().await;
        self.running.fetch_add(1, Ordering::Relaxed);
        Slot {
            _permit: permit,
            running: Arc::clone(&self.running),
        }
        // `self` drops here: the request leaves the waiting count.
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
        std::pin::Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn permits_then_queue_then_503() {
        let gate = Gate::new(1, 2);
        let a = gate.admit().expect("queue has room");
        let mut a = Box::pin(a.acquire());
        let Poll::Ready(slot_a) = poll_once(&mut a) else {
            panic!("a free permit")
        };
        assert_eq!((gate.stats().running, gate.stats().waiting), (1, 0));

        let mut b = Box::pin(gate.admit().expect("room").acquire());
        assert!(poll_once(&mut b).is_pending(), "no permit left");
        let _c = gate.admit().expect("room for a second waiter");
        assert_eq!(gate.stats().waiting, 2);
        let full = gate.admit().expect_err("queue full");
        assert_eq!((full.status, full.retry_after), (503, Some(1)));
        assert_eq!(gate.stats().rejected, 1);

        drop(slot_a);
        let Poll::Ready(_slot_b) = poll_once(&mut b) else {
            panic!("the permit was released")
        };
        assert_eq!((gate.stats().running, gate.stats().waiting), (1, 1));
    }

    #[test]
    fn a_waiter_that_goes_away_leaves_the_queue() {
        let gate = Gate::new(1, 1);
        let _held = gate.admit().expect("room");
        assert!(gate.admit().is_err());
        drop(_held);
        assert!(gate.admit().is_ok());
    }
}
