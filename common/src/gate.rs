//! Bounded offload: an async semaphore with one permit per core in front of the blocking pool.
//! At most `permits` kernels run at once; further requests wait for a permit without holding
//! an executor thread; past `max_queue` waiting requests, new ones get a 503 with `Retry-After`
//! instead of a queue that grows without bound.
//!
//! The semaphore is tokio's (`tokio::sync`, which has no runtime in it and works on any
//! executor): a released permit is handed straight to the first waiter, in arrival order. The
//! async-lock semaphore used before put a released permit back in a shared count and woke one
//! waiter to come and take it, so a request arriving in between took it first (the woken
//! waiter went back to the end of the queue), and a release racing with a woken waiter's poll
//! could leave a permit idle while requests waited (issue 13).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_sync::sync::{OwnedSemaphorePermit, Semaphore};

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
    _permit: OwnedSemaphorePermit,
    running: Arc<AtomicUsize>,
}

/// `/stats` figures for `/bounded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// Waits (asynchronously) for a permit, in arrival order. The error is a 500 that cannot
    /// happen while the gate exists: the semaphore is never closed.
    pub async fn acquire(self) -> Result<Slot, Reply> {
        let permit = Arc::clone(&self.semaphore)
            .acquire_owned()
            .await
            .map_err(|e| Reply::internal(format!("/bounded semaphore: {e}")))?;
        self.running.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            _permit: permit,
            running: Arc::clone(&self.running),
        })
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
        let Poll::Ready(Ok(slot_a)) = poll_once(&mut a) else {
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
        let Poll::Ready(Ok(_slot_b)) = poll_once(&mut b) else {
            panic!("the permit was released")
        };
        assert_eq!((gate.stats().running, gate.stats().waiting), (1, 1));
    }

    /// A waker that counts its wake-ups, so a test can poll a future only when an executor
    /// would: after it was woken.
    #[derive(Debug, Default)]
    struct Wakes(AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The lost wake-up of issue 13: both permits are released before the first woken waiter
    /// runs. An executor polls only woken tasks; each waiter must be woken and get a permit.
    /// (async-lock's semaphore passes this one too: its first waiter, dropping a wake-up it
    /// did not use, passes it on. What it fails is the hand-off below.)
    #[test]
    fn two_releases_before_the_woken_waiter_runs_wake_both_waiters() {
        let gate = Gate::new(2, 8);
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut acquire = Box::pin(gate.admit().expect("room").acquire());
            let Poll::Ready(Ok(slot)) = poll_once(&mut acquire) else {
                panic!("a free permit")
            };
            held.push(slot);
        }
        let mut waiters: Vec<_> = (0..2)
            .map(|_| {
                let wakes = Arc::new(Wakes::default());
                let waker = Waker::from(Arc::clone(&wakes));
                let mut acquire = Box::pin(gate.admit().expect("room").acquire());
                let polled = acquire.as_mut().poll(&mut Context::from_waker(&waker));
                assert!(polled.is_pending(), "both permits are held");
                (acquire, wakes, waker, None)
            })
            .collect();
        assert_eq!(gate.stats().waiting, 2);

        // Both kernels finish before either waiter is polled again.
        drop(held);

        // Run the waiters as an executor would: poll those woken, until none is.
        loop {
            let mut polled_any = false;
            for (acquire, wakes, waker, slot) in &mut waiters {
                if slot.is_none() && wakes.0.swap(0, Ordering::SeqCst) > 0 {
                    polled_any = true;
                    if let Poll::Ready(s) = acquire.as_mut().poll(&mut Context::from_waker(waker)) {
                        *slot = Some(s.expect("open semaphore"));
                    }
                }
            }
            if !polled_any {
                break;
            }
        }
        let granted = waiters.iter().filter(|w| w.3.is_some()).count();
        assert_eq!(
            granted,
            2,
            "a waiter was never woken while a permit was free: {:?}",
            gate.stats()
        );
        assert_eq!((gate.stats().running, gate.stats().waiting), (2, 0));
    }

    /// A permit released while requests wait is handed to the first of them: a request that
    /// arrives before that waiter runs again queues behind it instead of taking the permit.
    #[test]
    fn a_released_permit_goes_to_the_waiting_request_not_to_a_newcomer() {
        let gate = Gate::new(1, 8);
        let mut first = Box::pin(gate.admit().expect("room").acquire());
        let Poll::Ready(Ok(held)) = poll_once(&mut first) else {
            panic!("a free permit")
        };
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut waiter = Box::pin(gate.admit().expect("room").acquire());
        assert!(
            waiter
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );

        drop(held);
        let mut newcomer = Box::pin(gate.admit().expect("room").acquire());
        assert!(
            poll_once(&mut newcomer).is_pending(),
            "the newcomer took the permit released to the waiting request"
        );
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the waiter was woken");
        assert!(
            waiter
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready(),
            "the waiter got the permit"
        );
    }

    /// A waiter handed a permit that goes away before it runs (its client left) passes the
    /// permit on to the next waiter.
    #[test]
    fn a_permit_handed_to_a_waiter_that_went_away_passes_on() {
        let gate = Gate::new(1, 8);
        let mut first = Box::pin(gate.admit().expect("room").acquire());
        let Poll::Ready(Ok(held)) = poll_once(&mut first) else {
            panic!("a free permit")
        };
        let mut gone = Box::pin(gate.admit().expect("room").acquire());
        assert!(poll_once(&mut gone).is_pending());
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut next = Box::pin(gate.admit().expect("room").acquire());
        assert!(
            next.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(held); // handed to `gone`
        drop(gone);
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "the next waiter was woken"
        );
        let Poll::Ready(Ok(_slot)) = next.as_mut().poll(&mut Context::from_waker(&waker)) else {
            panic!("the permit passed on")
        };
        assert_eq!((gate.stats().running, gate.stats().waiting), (1, 0));
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
