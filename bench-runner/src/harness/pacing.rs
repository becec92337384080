//! The rate experiment's pacer, kept apart so any open-loop generator can use it (the
//! `generator-ceiling` binary does): a constant-interval [`Schedule`], the [`Clock`] it is
//! kept on (real or, in tests, scripted), and [`pace`], which keeps it on a thread of its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::probe;

/// The send times of one step: request k at k / rate from the step's start; the ones before
/// `warmup` are the warm-up, the ones in `[warmup, warmup + duration)` are measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    interval: Duration,
    warmup: Duration,
    end: Duration,
}

impl Schedule {
    /// `rate` requests per second (positive).
    pub fn new(rate: f64, warmup: Duration, duration: Duration) -> Schedule {
        Schedule {
            interval: Duration::from_secs_f64(1.0 / rate),
            warmup,
            end: warmup + duration,
        }
    }

    /// The warm-up's length: the measured part starts here.
    pub fn warmup(&self) -> Duration {
        self.warmup
    }

    /// Send time of request k, from the step's start.
    pub fn offset(&self, k: u64) -> Duration {
        probe::scheduled_offset(self.interval, k)
    }

    /// How many requests it sends (warm-up included).
    pub fn len(&self) -> u64 {
        if self.interval.is_zero() {
            return 0;
        }
        // The first k whose offset reaches the end.
        let n = self.end.as_nanos().div_ceil(self.interval.as_nanos());
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// Whether it sends nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether request k belongs to the warm-up.
    pub fn is_warmup(&self, k: u64) -> bool {
        self.offset(k) < self.warmup
    }
}

/// The pacing thread's view of time, from the step's start: real ([`RealClock`]) or, in
/// tests, scripted.
pub trait Clock {
    /// Time since the step's start.
    fn now(&self) -> Duration;
    /// Sleeps until `at` (returns at once if it has passed).
    fn sleep_until(&mut self, at: Duration);
}

/// The monotonic clock, with `std::thread::sleep` (finer than tokio's 1 ms timer wheel).
#[derive(Debug, Clone, Copy)]
pub struct RealClock(pub Instant);

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep_until(&mut self, at: Duration) {
        let now = self.now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

/// What the pacer did with request k: sent it (`send` was called) or refused it (the cap),
/// `late` after its send time (for a sent request the send itself is later still: the task
/// measures that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// Handed to `send`.
    Sent {
        /// Request number, warm-up included.
        k: u64,
    },
    /// Not sent: `max_in_flight` requests were outstanding.
    Refused {
        /// Request number, warm-up included.
        k: u64,
        /// When the pacer decided, after the send time.
        late: Duration,
    },
}

/// Keeps `schedule`: sleeps to each send time and calls `send(k)` unless `in_flight` has
/// reached `cap`, in which case the request is refused. `send` must count the request in
/// `in_flight` before it returns (the request's task takes it out when answered). A pacer
/// behind its schedule sends what is due at once, in order: lateness is recorded, not hidden.
pub fn pace(
    schedule: &Schedule,
    cap: usize,
    in_flight: &AtomicUsize,
    clock: &mut impl Clock,
    mut send: impl FnMut(u64),
) -> Vec<Dispatch> {
    let mut out = Vec::with_capacity(usize::try_from(schedule.len()).unwrap_or(0));
    for k in 0..schedule.len() {
        let at = schedule.offset(k);
        clock.sleep_until(at);
        if in_flight.load(Ordering::Acquire) >= cap {
            out.push(Dispatch::Refused {
                k,
                late: clock.now().saturating_sub(at),
            });
        } else {
            send(k);
            out.push(Dispatch::Sent { k });
        }
    }
    out
}
