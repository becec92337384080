//! Keeping a schedule: a [`Schedule`] of constant intervals or Poisson arrivals, the
//! [`Pacer`] that decides what is due (send, refuse at the cap, wait), and the two precise
//! waits.
//!
//! - The open-loop generator ([`super::generator`]) waits on its own runtime with a
//!   [`PreciseTimer`] (a timer fd in the runtime's reactor: no spin), on a thread made
//!   real-time ([`realtime_thread`]).
//! - The probe's pacing thread waits with [`sleep_until`]: the OS's sleep for the bulk of a
//!   wait, then a busy spin for the last [`SPIN`], on a thread made urgent
//!   ([`urgent_thread`]). A plain `std::thread::sleep` woke 50–100 µs late at best (the
//!   kernel's default timer slack of 50 µs, then the wake-up) and a millisecond and more on a
//!   busy machine. The spin runs on the pacing thread's cores only: with `--client-cpus` that
//!   is the client's half (bench-runner pins itself before it starts a thread), never the
//!   server's.

use std::sync::Arc;
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

    /// The measured part's length (after the warm-up).
    pub fn measured(&self) -> Duration {
        self.end - self.warmup
    }

    /// The interval between sends, for constant intervals.
    pub fn interval(&self) -> Option<Duration> {
        match &self.sends {
            Sends::Constant(interval) => Some(*interval),
            Sends::Listed(_) => None,
        }
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

/// The generator's precise wait, on its own runtime: a timer fd (`CLOCK_MONOTONIC`, the clock
/// of `Instant` on Linux) in the runtime's reactor, so that the runtime wakes from its poll at
/// the deadline to the microsecond, neither at tokio's 1 ms timer tick nor after a busy spin
/// that would take a core from the server. Between waits the runtime goes on writing requests
/// and reading answers. Elsewhere than Linux, tokio's timer (1 ms).
///
/// tokio registers an arbitrary fd safely only as a pipe's reading end (`AsyncFd::new` is
/// deprecated as unsound and `AsyncFd::register` is `unsafe`, which this workspace forbids):
/// the reactor gets a duplicate of the timer fd that way, and reading its 8-byte expiry count
/// with read(2) is all a timer fd needs; the timer is set through the original.
#[derive(Debug)]
///
/// Constant intervals arm it once per step ([`PreciseTimer::tick_every`]): the kernel then
/// fires it on the schedule by itself, and a wait only reads it. Setting the timer before
/// each wait had cost the generator's thread a tenth of its CPU at 24,000 requests/s.
pub struct PreciseTimer {
    #[cfg(target_os = "linux")]
    timer: nix::sys::timerfd::TimerFd,
    #[cfg(target_os = "linux")]
    expiries: tokio::net::unix::pipe::Receiver,
    /// Armed by [`PreciseTimer::tick_every`]: waits no longer set it.
    periodic: std::sync::atomic::AtomicBool,
}

impl PreciseTimer {
    /// A timer on the current runtime's reactor (call it inside the runtime that waits).
    pub fn new() -> std::io::Result<PreciseTimer> {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
            use std::os::fd::AsFd;
            let timer = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            let duplicate = timer.as_fd().try_clone_to_owned()?;
            Ok(PreciseTimer {
                timer,
                expiries: tokio::net::unix::pipe::Receiver::from_owned_fd_unchecked(duplicate)?,
                periodic: false.into(),
            })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(PreciseTimer {
            periodic: false.into(),
        })
    }

    /// Fires from `first` on, every `interval`, until dropped: a schedule of constant
    /// intervals from `first`, waited for with [`PreciseTimer::sleep_until`] at its send times.
    /// Each tick comes [`TICK_AFTER`] after its send time, never before it (the kernel's
    /// clock is read after ours), so a tick always finds its send due.
    pub fn tick_every(&self, first: Instant, interval: Duration) -> std::io::Result<()> {
        if interval.is_zero() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use nix::sys::time::TimeSpec;
            use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
            let left = (first + TICK_AFTER)
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1));
            self.timer.set(
                Expiration::IntervalDelayed(
                    TimeSpec::from_duration(left),
                    TimeSpec::from_duration(interval),
                ),
                TimerSetTimeFlags::empty(),
            )?;
            self.periodic
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = first;
        Ok(())
    }

    /// Waits until `deadline` (returns at once if it has passed).
    pub async fn sleep_until(&self, deadline: Instant) -> std::io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use nix::sys::time::TimeSpec;
            use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
            let periodic = self.periodic.load(std::sync::atomic::Ordering::Relaxed);
            if !periodic {
                self.timer.set(
                    Expiration::OneShot(TimeSpec::from_duration(left)),
                    TimerSetTimeFlags::empty(),
                )?;
            }
            let mut count = [0u8; 8];
            loop {
                self.expiries.readable().await?;
                match self.expiries.try_read(&mut count) {
                    // Ticking: a tick read may be an earlier send's, already sent late.
                    Ok(_) if periodic && Instant::now() < deadline => continue,
                    Ok(_) => return Ok(()),
                    // Not expired yet (a spurious wake-up): wait again.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            tokio::time::sleep_until(deadline.into()).await;
            Ok(())
        }
    }
}

/// How long after its send time a periodic [`PreciseTimer`]'s tick is set to come: enough to
/// cover the nanoseconds between reading our clock and the kernel's reading its own.
pub const TICK_AFTER: Duration = Duration::from_micros(1);

/// The generator thread's real-time priority: `SCHED_FIFO` at this level (of 1–99), above
/// every ordinary thread, below the kernel's own real-time threads. On 2 cores shared with
/// the server even nice -[`URGENCY`] did not make a sleeping thread wake on time: the
/// scheduler let a busy server thread finish its slice first, and sends went out 2–9 ms late
/// (lateness p99 above 1 ms in 132 of 184 rate steps). A real-time thread preempts at once.
/// It cannot take a core from the server for long: it sleeps between sends (no spin), and the
/// kernel caps all real-time threads at 95 % of each second (`sched_rt_runtime_us`).
pub const REALTIME_PRIORITY: u8 = 10;

/// How a sending thread was made urgent: what metadata.json records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// `SCHED_FIFO` at [`REALTIME_PRIORITY`].
    Realtime,
    /// nice -[`URGENCY`] (no right to real-time scheduling).
    Nice,
    /// Neither (no right to raise it at all).
    Ordinary,
}

impl Urgency {
    /// Its name in metadata.json.
    pub fn name(self) -> &'static str {
        match self {
            Urgency::Realtime => "realtime",
            Urgency::Nice => "nice",
            Urgency::Ordinary => "ordinary",
        }
    }
}

/// Makes the calling thread real-time ([`REALTIME_PRIORITY`]) if it may, else as urgent as
/// [`urgent_thread`] makes it; says which.
pub fn realtime_thread() -> Urgency {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let realtime = ThreadPriorityValue::try_from(REALTIME_PRIORITY)
        .map_err(|e| e.to_owned())
        .and_then(|p| {
            set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(p),
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
            )
            .map_err(|e| format!("{e:?}"))
        });
    if realtime.is_ok() {
        return Urgency::Realtime;
    }
    urgent_thread();
    match common::placement::this_thread_nice() {
        Ok(nice) if nice < 0 => Urgency::Nice,
        _ => Urgency::Ordinary,
    }
}

/// What the pacer does next ([`Pacer::next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing is due yet: wait until this offset from the step's start.
    WaitUntil(Duration),
    /// Request k is due: send it (the caller counts it in flight).
    Send(u64),
    /// Request k is due and `cap` requests are in flight: it is refused, `late` after its
    /// send time.
    Refuse {
        /// Request number, warm-up included.
        k: u64,
        /// When the pacer decided, after the send time.
        late: Duration,
    },
    /// The schedule is over.
    Done,
}

/// The pacer's decisions, apart from how it waits (the generator waits with a
/// [`PreciseTimer`], tests with a scripted clock). A pacer behind its schedule sends what is
/// due at once, in order: lateness is recorded, not hidden.
#[derive(Debug)]
pub struct Pacer<'s> {
    schedule: &'s Schedule,
    cap: usize,
    k: u64,
}

impl<'s> Pacer<'s> {
    /// Keeps `schedule` with at most `cap` requests in flight.
    pub fn new(schedule: &'s Schedule, cap: usize) -> Pacer<'s> {
        Pacer {
            schedule,
            cap,
            k: 0,
        }
    }

    /// What to do at `now` (from the step's start) with `in_flight` requests outstanding.
    pub fn next(&mut self, now: Duration, in_flight: usize) -> Next {
        if self.k >= self.schedule.len() {
            return Next::Done;
        }
        let at = self.schedule.offset(self.k);
        if now < at {
            return Next::WaitUntil(at);
        }
        let k = self.k;
        self.k += 1;
        if in_flight >= self.cap {
            Next::Refuse { k, late: now - at }
        } else {
            Next::Send(k)
        }
    }
}

/// What the pacer did with request k: sent it or refused it (the cap),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The precise wait never returns early, and on time far more often than the OS's sleep
    /// alone would allow (its slack is 50 µs): the median wake-up within 1 ms of the deadline,
    /// a margin wide enough for a shared, noisy machine.
    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Drives a pacer as the generator does, on a scripted clock: each wait ends where it was
    /// asked to plus the next of `delays` (a late wake-up); nothing is ever answered, so each
    /// send adds one in flight. No real time passes: no threshold depends on this machine.
    fn drive(schedule: &Schedule, cap: usize, delays: &[Duration]) -> Vec<Dispatch> {
        let mut pacer = Pacer::new(schedule, cap);
        let (mut now, mut wakes, mut in_flight) = (Duration::ZERO, 0, 0);
        let mut out = Vec::new();
        loop {
            match pacer.next(now, in_flight) {
                Next::WaitUntil(at) => {
                    now = now.max(at) + delays.get(wakes).copied().unwrap_or_default();
                    wakes += 1;
                }
                Next::Send(k) => {
                    in_flight += 1;
                    out.push(Dispatch::Sent { k });
                }
                Next::Refuse { k, late } => out.push(Dispatch::Refused { k, late }),
                Next::Done => return out,
            }
        }
    }

    #[test]
    fn the_pacer_keeps_the_schedule_and_refuses_above_the_cap() {
        let s = Schedule::new(1000.0, Duration::ZERO, MS(6));
        // Wake-ups on time (request 0 is due at once), except the 4th, 3 ms late: the pacer
        // then catches up at once.
        let zero = Duration::ZERO;
        let dispatched = drive(&s, 3, &[zero, zero, zero, MS(3)]);
        assert_eq!(
            dispatched,
            [
                Dispatch::Sent { k: 0 },
                Dispatch::Sent { k: 1 },
                Dispatch::Sent { k: 2 },
                Dispatch::Refused { k: 3, late: MS(0) },
                // Scheduled at 4 ms, woke at 7 ms.
                Dispatch::Refused { k: 4, late: MS(3) },
                // Scheduled at 5 ms, already past: decided at once, 2 ms late.
                Dispatch::Refused { k: 5, late: MS(2) },
            ]
        );
        // With room, every request is sent, in order.
        let all = drive(&s, usize::MAX, &[]);
        assert_eq!(
            all,
            (0..6).map(|k| Dispatch::Sent { k }).collect::<Vec<_>>()
        );
        // Asked before the first send time, it says to wait for it.
        let late_start = Schedule::poisson(100.0, Duration::ZERO, MS(1000), 7);
        let first = late_start.offset(0);
        assert!(first > Duration::ZERO);
        assert_eq!(
            Pacer::new(&late_start, 1).next(Duration::ZERO, 0),
            Next::WaitUntil(first)
        );
    }

    /// The timer fd's wait is never early and, on a median wake-up, within 1 ms of its
    /// deadline (a margin wide enough for a shared, noisy machine; tokio's own timer rounds up
    /// to the next millisecond).
    #[test]
    fn the_timer_wait_is_never_early() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let late = rt.block_on(async {
            let timer = PreciseTimer::new().expect("timer");
            let mut late = Vec::new();
            for k in 0..50u64 {
                let deadline = Instant::now() + Duration::from_micros(300 + 20 * k);
                timer.sleep_until(deadline).await.expect("wait");
                let now = Instant::now();
                assert!(now >= deadline);
                late.push(now - deadline);
            }
            // A deadline in the past returns at once.
            let before = Instant::now();
            timer
                .sleep_until(before - Duration::from_millis(1))
                .await
                .expect("wait");
            assert!(before.elapsed() < Duration::from_millis(100));
            late
        });
        let mut late = late;
        late.sort();
        assert!(late[25] < Duration::from_millis(1), "{late:?}");
    }

    /// Ticking every 2 ms, waits at the ticks' send times are never early, a wait that
    /// begins late (its tick already passed) returns at once, and a tick read late (an
    /// earlier send's) does not end a wait for a later one; the median within 1 ms.
    #[test]
    fn a_ticking_timer_wait_is_never_early() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let late = rt.block_on(async {
            let timer = PreciseTimer::new().expect("timer");
            let interval = Duration::from_millis(2);
            let start = Instant::now() + Duration::from_millis(1);
            timer.tick_every(start, interval).expect("arm");
            let mut late = Vec::new();
            for k in 0..40u32 {
                if k == 20 {
                    // Busy past two ticks: k = 20 and 21 are due by now; 22 is not.
                    std::thread::sleep(interval * 2 + Duration::from_micros(500));
                }
                let deadline = start + interval * k;
                timer.sleep_until(deadline).await.expect("wait");
                let now = Instant::now();
                assert!(now >= deadline, "send {k} woke early");
                late.push(now - deadline);
            }
            late
        });
        let mut late = late;
        late.sort();
        assert!(late[20] < Duration::from_millis(1), "{late:?}");
    }

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
