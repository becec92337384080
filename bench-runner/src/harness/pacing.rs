//! The rate experiment's pacer, kept apart so any open-loop generator can use it (the
//! `generator-ceiling` binary does): a [`Schedule`] of constant intervals or Poisson arrivals, the [`Clock`] it is
//! kept on (real or, in tests, scripted), and [`pace`], which keeps it on a thread of its own.
//!
//! The real clock waits precisely ([`sleep_until`]): the OS's sleep for the bulk of a wait,
//! then a busy spin for the last [`SPIN`], on a thread made urgent ([`urgent_thread`]). A plain `std::thread::sleep` woke
//! 50–100 µs late at best (the kernel's default timer slack of 50 µs, then the wake-up) and a
//! millisecond and more on a busy machine: lateness p99 1.71 ms at 250 requests/s. The spin
//! runs on the pacing thread's cores only: with `--client-cpus` that is the client's half
//! (bench-runner pins itself before it starts a thread), never the server's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::passes::SplitMix64;
use super::probe;

/// The send times of one step, from its start: constant intervals (request k at k / rate) or
/// Poisson arrivals ([`Schedule::poisson`]); the ones before `warmup` are the warm-up, the
/// ones in `[warmup, warmup + duration)` are measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    sends: Sends,
    warmup: Duration,
    end: Duration,
}

/// How a schedule's send times are spaced.
#[derive(Debug, Clone, PartialEq)]
enum Sends {
    /// Every `interval`.
    Constant(Duration),
    /// At these offsets, ascending (shared: the pacing thread and the records read them).
    Listed(Arc<[Duration]>),
}

impl Schedule {
    /// `rate` requests per second (positive), at constant intervals.
    pub fn new(rate: f64, warmup: Duration, duration: Duration) -> Schedule {
        Schedule {
            sends: Sends::Constant(Duration::from_secs_f64(1.0 / rate)),
            warmup,
            end: warmup + duration,
        }
    }

    /// `rate` requests per second on average (positive), as Poisson arrivals: exponential
    /// gaps drawn from `seed`. The draws are of a unit rate, scaled by `1 / rate`, so every
    /// pair offered the same load (as a fraction of its capacity) gets the same arrivals,
    /// bursts and lulls at the same places, and a rerun with the same seed the same again.
    pub fn poisson(rate: f64, warmup: Duration, duration: Duration, seed: u64) -> Schedule {
        let end = warmup + duration;
        let mut rng = SplitMix64(seed);
        let mut at = 0.0_f64;
        let mut offsets = Vec::new();
        loop {
            // Exponential of mean 1 / rate from a uniform in (0, 1].
            let u = 1.0 - rng.unit();
            at += -u.ln() / rate;
            let offset = Duration::from_secs_f64(at);
            if offset >= end {
                break;
            }
            offsets.push(offset);
        }
        Schedule {
            sends: Sends::Listed(offsets.into()),
            warmup,
            end,
        }
    }

    /// The warm-up's length: the measured part starts here.
    pub fn warmup(&self) -> Duration {
        self.warmup
    }

    /// Send time of request k, from the step's start (the end, for k past the last).
    pub fn offset(&self, k: u64) -> Duration {
        match &self.sends {
            Sends::Constant(interval) => probe::scheduled_offset(*interval, k),
            Sends::Listed(offsets) => usize::try_from(k)
                .ok()
                .and_then(|k| offsets.get(k))
                .copied()
                .unwrap_or(self.end),
        }
    }

    /// How many requests it sends (warm-up included).
    pub fn len(&self) -> u64 {
        match &self.sends {
            Sends::Constant(interval) if interval.is_zero() => 0,
            Sends::Constant(interval) => {
                // The first k whose offset reaches the end.
                let n = self.end.as_nanos().div_ceil(interval.as_nanos());
                u64::try_from(n).unwrap_or(u64::MAX)
            }
            Sends::Listed(offsets) => offsets.len() as u64,
        }
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

/// The last stretch of every wait, spun instead of slept: longer than the OS's usual oversleep
/// once the timer slack is 1 ns ([`urgent_thread`]), short enough that a pacer at a few hundred
/// requests per second spins for a few percent of a core (above 10,000 requests per second,
/// whose intervals are shorter than it, the pacer spins all the time: a core of the client's).
/// A busy spin, not `yield_now`: on a loaded machine each `sched_yield` pushed the pacer back
/// behind every runnable thread, and it woke 2–100 ms late.
pub const SPIN: Duration = Duration::from_micros(100);

/// Waits until `deadline`, precisely: `std::thread::sleep` until [`SPIN`] before it, then a
/// busy spin until it has passed. Returns at once if it has.
pub fn sleep_until(deadline: Instant) {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        if left > SPIN {
            std::thread::sleep(left - SPIN);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// How much more urgent than bench-runner's other threads a pacing or sending thread is made:
/// nice -10, about 10 times the weight of a thread at 0. On 2 cores shared with the server (and,
/// here, with compilers) a thread at nice 0 that slept woke a millisecond late and more: the
/// generator's lateness p99 was 1–2 ms at 250 requests/s under a load average of 7.
pub const URGENCY: u8 = 10;

/// Prepares the calling thread to keep a schedule: a timer slack of 1 ns instead of 50 µs (its
/// sleeps end on time) and nice -[`URGENCY`]. Best effort: without the right (not root, no
/// CAP_SYS_NICE) or elsewhere than Linux, the thread keeps its slack or its nice, and the
/// lateness it causes is measured all the same.
pub fn urgent_thread() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_timerslack(1);
    }
    let _ = common::placement::raise_this_thread(URGENCY);
}

/// The monotonic clock, with the precise wait of [`sleep_until`] (finer than tokio's 1 ms
/// timer wheel and than the OS's sleep alone).
#[derive(Debug, Clone, Copy)]
pub struct RealClock(pub Instant);

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep_until(&mut self, at: Duration) {
        if let Some(deadline) = self.0.checked_add(at) {
            sleep_until(deadline);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The precise wait never returns early, and on time far more often than the OS's sleep
    /// alone would allow (its slack is 50 µs): the median wake-up within 1 ms of the deadline,
    /// a margin wide enough for a shared, noisy machine.
    #[test]
    fn the_precise_wait_is_never_early() {
        urgent_thread();
        let mut late = Vec::new();
        for k in 0..50u64 {
            let deadline = Instant::now() + Duration::from_micros(300 + 20 * k);
            sleep_until(deadline);
            let now = Instant::now();
            assert!(now >= deadline);
            late.push(now - deadline);
        }
        late.sort();
        assert!(late[25] < Duration::from_millis(1), "{late:?}");
        // A deadline in the past returns at once.
        let before = Instant::now();
        sleep_until(before - Duration::from_millis(1));
        assert!(before.elapsed() < Duration::from_millis(100));
    }
}
