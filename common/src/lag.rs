//! The executor-lag monitor (`GET /lag`, `POST /lag/window`): a heartbeat task on the server's
//! own executor that sleeps a fixed interval on the runtime's own timer and records how late it
//! wakes up. Node's `monitorEventLoopDelay` works this way. The lateness is how long a task that
//! became ready waited for an executor thread: with N workers on a work-stealing runtime, for
//! *any* free worker.
//!
//! Runtime-agnostic: a server calls [`LagMonitor::heartbeat`] with its runtime's sleep and
//! spawns the future it gets on its executor; everything else is here.
//!
//! # Windows
//! Samples go to two histograms: one since start, one for the current *window*. A window is
//! closed and the next opened by [`LagMonitor::close_window`] in one step under one lock, so
//! every sample belongs to exactly one window however requests and heartbeats interleave. A
//! client that wants exactly one batch's lag closes a window right before the batch (throwing
//! the answer away) and again right after it: the second answer is the batch (plus the time
//! until that request is served). A reset-then-read pair could not do this: samples recorded
//! between the read and the reset would be lost or counted twice.
//!
//! A close can also cut through a stall: the heartbeat's tick is overdue and it has not run yet
//! (on async-std, a worker going from one inline request straight to the next did not run it
//! until it went idle, measured). Its wake-up would then land in a *later* window, and the
//! window that held the stall would show nothing. So a close charges the overdue part so far
//! to the window it closes, as one sample, and the wake-up charges only the rest to its own
//! window. `since_start` counts wake-ups, each with its whole lateness, so its max is the
//! longest stall; the windows' sample counts add up to the wake-ups plus such cuts. `GET /lag`
//! changes nothing: it shows the samples recorded so far, not a stall still running.
//!
//! # What the figures include
//! Lateness includes the timer's own granularity. tokio's timer wheel has 1 ms slots and rounds
//! a sleep up to the next one: an idle tokio server showed p50 ≈ 1.04 ms at the default 1 ms
//! interval, where async-std and smol (async-io's timers) showed ≈ 0.09 ms (debug builds,
//! measured). Compare a runtime's windows with each other, not tokio's floor with the others'.
//!
//! With several workers the heartbeat measures "how long until *a* worker polls it", and that
//! is the runtime's scheduling, not only its thread count. Measured (release, `--workers 2`,
//! one lone `/cycle` of ≈ 0.73 s, the other worker idle): tokio's heartbeat was late by the
//! whole request in 3 runs of 3 (max 726–784 ms), async-std's and smol's by at most 4.3 ms.
//! Likely tokio's per-worker LIFO slot, which other workers cannot steal from
//! (tokio-rs/tokio#4941; stealing it was added and reverted again): a task woken onto the
//! blocked worker waits for it. Any other task woken there would wait as long.
//!
//! # Lanes: one heartbeat per executor that cannot steal
//! On a work-stealing runtime one heartbeat measures "any free worker". actix-web runs one
//! single-threaded runtime per worker and never moves a task between them, so one heartbeat
//! would watch one worker and miss a stall on another. A monitor can therefore have several
//! *lanes*, each with its own heartbeat ([`LagMonitor::heartbeat_on`]) and histograms; windows
//! open and close for all lanes at once, and a report gives the *worst* lane's figures (the
//! highest p99 in the window, then the highest max) and says which lane it was
//! ([`LagReport::lane`]). `since_start` pools every lane's wake-ups.
//!
//! # Schedule
//! Wake-ups are scheduled at start + k × interval (the schedule does not drift with the
//! lateness). A wake-up later than a whole interval does not replay the ticks it missed: one
//! sample carries the whole stall, and the next tick is the first one still ahead.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default `--lag-interval-us`.
pub const DEFAULT_INTERVAL_US: u64 = 1000;
/// Largest `--lag-interval-us`: one second.
pub const MAX_INTERVAL_US: u64 = 1_000_000;
/// Largest lateness the histograms hold; later wake-ups are recorded as this (an hour).
const HIGHEST_US: u64 = 3_600_000_000;
/// Significant figures of the histograms: values within 0.1 %.
const SIGFIG: u8 = 3;

/// A source of per-worker busy time, for runtimes that measure it themselves (tokio's
/// `RuntimeMetrics::worker_total_busy_duration`). The others have none, and nothing is invented
/// for them.
pub trait WorkerBusy: Send + Sync + std::fmt::Debug {
    /// Total busy time of each worker since the runtime started.
    fn busy(&self) -> Vec<Duration>;
}

/// The lag monitor of one server process.
#[derive(Debug)]
pub struct LagMonitor {
    /// `None`: `--no-lag-monitor`; nothing records and `/lag` says `"enabled": false`.
    interval: Option<Duration>,
    windows: Mutex<Windows>,
    worker_busy: OnceLock<Box<dyn WorkerBusy>>,
}

#[derive(Debug)]
struct Windows {
    /// One per heartbeat, at least one.
    lanes: Vec<Lane>,
    /// Id of the current window; the first is 1.
    id: u64,
    opened: Instant,
    /// Total worker busy time when the current window opened (µs).
    busy_at_open_us: u64,
}

/// One heartbeat's histograms.
#[derive(Debug)]
struct Lane {
    since_start: Histogram<u64>,
    current: Histogram<u64>,
    /// Lateness of the tick the heartbeat waits for is charged from this instant: the tick
    /// itself, or the latest close that charged the part before it. `None` before the first.
    uncharged_from: Option<Instant>,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            since_start: histogram(),
            current: histogram(),
            uncharged_from: None,
        }
    }
}

/// The `GET /lag` body (and `POST /lag/window`'s, for the window it closed). Lateness is the
/// actual wake-up minus the scheduled one, in µs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LagReport {
    /// Whether the heartbeat runs (`--no-lag-monitor` turns it off).
    pub enabled: bool,
    /// The heartbeat interval (`--lag-interval-us`).
    pub interval_us: u64,
    /// The window's id: the current one for `GET /lag`, the closed one for `POST /lag/window`.
    /// The first window is 1.
    pub window: u64,
    /// How long the window has been open (`GET`) or was open (`POST`).
    pub window_age_us: u64,
    /// Heartbeat wake-ups recorded in the window.
    pub samples: u64,
    /// Median lateness in the window.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest lateness in the window.
    pub max_us: u64,
    /// The same since the server started (every lane's wake-ups pooled).
    pub since_start: LagSummary,
    /// Heartbeats (lanes): 1, or one per worker on actix-web (see the module docs).
    #[serde(default = "one_lane")]
    pub lanes: usize,
    /// The lane whose figures these are, from 0: the worst one in the window.
    #[serde(default)]
    pub lane: usize,
    /// The runtime's own worker metrics, where it has them (tokio only); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokio: Option<WorkerMetrics>,
}

fn one_lane() -> usize {
    1
}

impl LagReport {
    /// Whether its percentiles mean anything: the monitor runs and the window has samples.
    pub fn has_samples(&self) -> bool {
        self.enabled && self.samples > 0
    }
}

/// Lateness since start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LagSummary {
    /// Wake-ups recorded.
    pub samples: u64,
    /// Median, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Largest, µs.
    pub max_us: u64,
}

/// Busy time the runtime measured itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerMetrics {
    /// Worker threads.
    pub workers: usize,
    /// Each worker's busy time since start, µs.
    pub busy_us: Vec<u64>,
    /// Their sum.
    pub busy_us_total: u64,
    /// The sum's growth during the window.
    pub window_busy_us_total: u64,
}

impl LagMonitor {
    /// A monitor whose heartbeat wakes every `interval`, or a disabled one (`None`).
    pub fn new(interval: Option<Duration>) -> LagMonitor {
        LagMonitor::with_lanes(interval, 1)
    }

    /// A monitor with `lanes` heartbeats (at least 1), one per executor that cannot steal
    /// from the others (see the module docs).
    pub fn with_lanes(interval: Option<Duration>, lanes: usize) -> LagMonitor {
        LagMonitor {
            interval,
            windows: Mutex::new(Windows {
                lanes: (0..lanes.max(1)).map(|_| Lane::new()).collect(),
                id: 1,
                opened: Instant::now(),
                busy_at_open_us: 0,
            }),
            worker_busy: OnceLock::new(),
        }
    }

    /// How many heartbeats it has.
    pub fn lanes(&self) -> usize {
        self.lock().lanes.len()
    }

    /// Adds the runtime's own busy-time figures to every report (once; a second call is
    /// ignored).
    pub fn report_worker_busy(&self, source: impl WorkerBusy + 'static) {
        let busy = total_us(&source.busy());
        if self.worker_busy.set(Box::new(source)).is_ok() {
            self.lock().busy_at_open_us = busy;
        }
    }

    /// The heartbeat, to spawn on the server's executor: sleeps with `sleep` (the runtime's
    /// own timer) and records each wake-up's lateness, forever. `None` when disabled. The
    /// first lane's ([`LagMonitor::heartbeat_on`]).
    pub fn heartbeat<S, F>(
        self: &Arc<Self>,
        sleep: S,
    ) -> Option<impl Future<Output = ()> + Send + 'static>
    where
        S: FnMut(Duration) -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        self.heartbeat_on(0, sleep)
    }

    /// The heartbeat of lane `lane`, to spawn on that lane's executor. `None` when disabled or
    /// when the monitor has no such lane.
    pub fn heartbeat_on<S, F>(
        self: &Arc<Self>,
        lane: usize,
        mut sleep: S,
    ) -> Option<impl Future<Output = ()> + Send + 'static>
    where
        S: FnMut(Duration) -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        let interval = self.interval?;
        if lane >= self.lanes() {
            return None;
        }
        let monitor = Arc::clone(self);
        Some(async move {
            let mut due = Instant::now() + interval;
            monitor.lock().lanes[lane].uncharged_from = Some(due);
            loop {
                sleep(due.saturating_duration_since(Instant::now())).await;
                due = monitor.woke(lane, due, Instant::now(), interval);
            }
        })
    }

    /// Lane `lane`'s heartbeat woke at `now` for the tick `due`: records its lateness (in the
    /// current window only the part no close has charged yet) and returns the next tick.
    fn woke(&self, lane: usize, due: Instant, now: Instant, interval: Duration) -> Instant {
        let (lateness, next) = tick(due, now, interval);
        let mut w = self.lock();
        let l = &mut w.lanes[lane];
        let from = l.uncharged_from.unwrap_or(due).max(due);
        l.current
            .saturating_record(micros(now.saturating_duration_since(from)));
        l.since_start.saturating_record(micros(lateness));
        l.uncharged_from = Some(next);
        next
    }

    /// The current window so far (`GET /lag`).
    pub fn report(&self) -> LagReport {
        let w = self.lock();
        self.report_of(&w, Instant::now())
    }

    /// Closes the current window and opens the next, in one step: the closed window's figures
    /// (`POST /lag/window`). Every sample belongs to exactly one window.
    pub fn close_window(&self) -> LagReport {
        self.close_window_at(Instant::now())
    }

    fn close_window_at(&self, now: Instant) -> LagReport {
        let mut w = self.lock();
        for l in &mut w.lanes {
            // A stall still running: charge what it has lasted so far to this window.
            if let Some(from) = l.uncharged_from.filter(|from| now > *from) {
                l.current.saturating_record(micros(now - from));
                l.uncharged_from = Some(now);
            }
        }
        let closed = self.report_of(&w, now);
        for l in &mut w.lanes {
            l.current.reset();
        }
        w.id += 1;
        w.opened = now;
        if let Some(busy) = &closed.tokio {
            w.busy_at_open_us = busy.busy_us_total;
        }
        closed
    }

    fn report_of(&self, w: &Windows, now: Instant) -> LagReport {
        // The worst lane in the window: the highest p99, then the highest max, then the first.
        let (lane, worst) = w
            .lanes
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|(_, l)| (l.current.value_at_quantile(0.99), l.current.max()))
            .expect("a monitor has at least one lane");
        let h = &worst.current;
        // Several lanes are pooled into a new histogram; one lane (every server but actix) is
        // read as it is, sparing a ~190 KB allocation and copy under the lock on every report.
        let pooled;
        let s = match w.lanes.as_slice() {
            [one] => &one.since_start,
            lanes => {
                let mut all = histogram();
                for l in lanes {
                    // Same bounds: adding cannot fail.
                    let _ = all.add(&l.since_start);
                }
                pooled = all;
                &pooled
            }
        };
        LagReport {
            enabled: self.interval.is_some(),
            interval_us: self.interval.map_or(0, micros),
            window: w.id,
            window_age_us: micros(now.saturating_duration_since(w.opened)),
            samples: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            since_start: LagSummary {
                samples: s.len(),
                p50_us: s.value_at_quantile(0.5),
                p99_us: s.value_at_quantile(0.99),
                max_us: s.max(),
            },
            lanes: w.lanes.len(),
            lane,
            tokio: self.worker_busy.get().map(|source| {
                let busy_us: Vec<u64> = source.busy().iter().copied().map(micros).collect();
                let busy_us_total = busy_us.iter().sum();
                WorkerMetrics {
                    workers: busy_us.len(),
                    busy_us,
                    busy_us_total,
                    window_busy_us_total: busy_us_total.saturating_sub(w.busy_at_open_us),
                }
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        // Nothing panics while holding it; a poisoned lock still holds consistent counts.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One heartbeat wake-up at `now` for the tick `scheduled`: its lateness, and the next tick (the
/// first of `scheduled + k × interval`, k ≥ 1, still ahead of `now`: ticks missed in a stall are
/// not replayed).
fn tick(scheduled: Instant, now: Instant, interval: Duration) -> (Duration, Instant) {
    let lateness = now.saturating_duration_since(scheduled);
    // Whole intervals missed, computed rather than looped (a 1 s stall at 1 µs is 10⁶ ticks).
    let missed = lateness.as_nanos() / interval.as_nanos().max(1);
    let skip = u32::try_from(missed + 1).unwrap_or(u32::MAX);
    (lateness, scheduled + interval.saturating_mul(skip))
}

fn histogram() -> Histogram<u64> {
    // Fixed bounds: no allocation while recording. The bounds are constants known valid.
    Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn total_us(busy: &[Duration]) -> u64 {
    busy.iter().copied().map(micros).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// How the histograms report `us`: to 3 significant figures, as the top of its bucket.
    fn hdr(us: u64) -> u64 {
        histogram().highest_equivalent(us)
    }

    impl LagMonitor {
        /// A wake-up of this lateness with no tick pending (no close can cut it).
        fn record(&self, lateness: Duration) {
            self.record_on(0, lateness);
        }

        fn record_on(&self, lane: usize, lateness: Duration) {
            let l = &mut self.lock().lanes[lane];
            l.current.saturating_record(micros(lateness));
            l.since_start.saturating_record(micros(lateness));
        }
    }

    #[test]
    fn a_close_during_a_stall_charges_the_part_so_far_and_the_wake_up_the_rest() {
        let m = LagMonitor::new(Some(MS));
        let t0 = Instant::now();
        let due = t0 + MS;
        m.lock().lanes[0].uncharged_from = Some(due);
        // Not overdue yet: the close charges nothing.
        assert_eq!(m.close_window_at(t0).samples, 0);
        // 300 ms into a stall: the closed window holds it.
        let closed = m.close_window_at(due + 300 * MS);
        assert_eq!(
            (closed.window, closed.samples, closed.max_us),
            (2, 1, hdr(300_000))
        );
        // Another close 200 ms later cuts it again.
        let closed = m.close_window_at(due + 500 * MS);
        assert_eq!(
            (closed.window, closed.samples, closed.max_us),
            (3, 1, hdr(200_000))
        );
        // The wake-up at 1 s: 500 ms in its window, the whole second since start.
        let next = m.woke(0, due, due + 1000 * MS, MS);
        assert_eq!(next, due + 1001 * MS);
        let r = m.report();
        assert_eq!((r.window, r.samples, r.max_us), (4, 1, hdr(500_000)));
        assert_eq!(
            (r.since_start.samples, r.since_start.max_us),
            (1, hdr(1_000_000))
        );
        // The next tick on time: lateness 0, and a close at that instant charges nothing.
        assert_eq!(m.close_window_at(next).samples, 1);
        m.woke(0, next, next, MS);
        assert_eq!(m.report().max_us, 0);
    }

    #[test]
    fn a_wake_up_on_time_is_late_by_zero_and_the_schedule_does_not_drift() {
        let t0 = Instant::now();
        assert_eq!(tick(t0, t0, MS), (Duration::ZERO, t0 + MS));
        // 300 µs late: the next tick is still t0 + 1 ms, not now + 1 ms.
        let late = Duration::from_micros(300);
        assert_eq!(tick(t0, t0 + late, MS), (late, t0 + MS));
    }

    #[test]
    fn missed_ticks_are_not_replayed() {
        let t0 = Instant::now();
        let stall = Duration::from_micros(3_500);
        // Ticks at +1, +2, +3 ms were missed: one sample of 3.5 ms, next tick at +4 ms.
        assert_eq!(tick(t0, t0 + stall, MS), (stall, t0 + 4 * MS));
        // Exactly one interval late: that tick is due now, so the next is one further.
        assert_eq!(tick(t0, t0 + MS, MS), (MS, t0 + 2 * MS));
    }

    #[test]
    fn windows_hand_off_exactly() {
        let m = LagMonitor::new(Some(MS));
        for us in [10, 20, 30] {
            m.record(Duration::from_micros(us));
        }
        let first = m.close_window();
        assert_eq!((first.window, first.samples, first.max_us), (1, 3, 30));
        assert_eq!(first.p50_us, 20);
        m.record(Duration::from_micros(5));
        let now = m.report();
        assert_eq!((now.window, now.samples, now.max_us), (2, 1, 5));
        assert_eq!((now.since_start.samples, now.since_start.max_us), (4, 30));
        let second = m.close_window();
        assert_eq!((second.window, second.samples), (2, 1));
        let empty = m.close_window();
        assert_eq!((empty.window, empty.samples, empty.max_us), (3, 0, 0));
        assert!(empty.enabled);
        assert_eq!(empty.interval_us, 1000);
        assert_eq!(empty.tokio, None);
    }

    #[test]
    fn no_sample_is_lost_or_counted_twice_across_concurrent_hand_offs() {
        const WRITERS: u64 = 4;
        const EACH: u64 = 20_000;
        let m = Arc::new(LagMonitor::new(Some(MS)));
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let m = Arc::clone(&m);
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        m.record(Duration::from_micros(i % 1000));
                    }
                })
            })
            .collect();
        let mut windows = Vec::new();
        while writers.iter().any(|w| !w.is_finished()) {
            windows.push(m.close_window());
            // Let the writers at the lock: std's mutex is not fair, and a closer that takes it
            // back at once starved them for minutes on a loaded 2-core CI machine.
            std::thread::sleep(Duration::from_micros(50));
        }
        for w in writers {
            w.join().expect("writer");
        }
        windows.push(m.close_window());
        let ids: Vec<u64> = windows.iter().map(|w| w.window).collect();
        assert_eq!(ids, (1..=windows.len() as u64).collect::<Vec<_>>());
        let counted: u64 = windows.iter().map(|w| w.samples).sum();
        assert_eq!(counted, WRITERS * EACH);
        assert_eq!(m.report().since_start.samples, WRITERS * EACH);
        assert_eq!(m.report().samples, 0);
    }

    #[test]
    fn several_lanes_report_the_worst_one_and_pool_since_start() {
        let m = Arc::new(LagMonitor::with_lanes(Some(MS), 3));
        assert_eq!(m.lanes(), 3);
        m.record_on(0, Duration::from_micros(100));
        m.record_on(1, Duration::from_micros(90_000));
        m.record_on(2, Duration::from_micros(200));
        let closed = m.close_window();
        assert_eq!((closed.lanes, closed.lane), (3, 1));
        assert_eq!((closed.samples, closed.max_us), (1, hdr(90_000)));
        assert_eq!(
            (closed.since_start.samples, closed.since_start.max_us),
            (3, hdr(90_000))
        );
        // The next window: lane 2 is the worst now; an empty window names the first lane.
        m.record_on(2, Duration::from_micros(500));
        assert_eq!(m.close_window().lane, 2);
        assert_eq!(m.close_window().lane, 0);
        assert!(m.heartbeat_on(3, |_| async {}).is_none());
        assert!(m.heartbeat_on(2, |_| async {}).is_some());
        // One lane (every server but actix): lane 0 of 1.
        let one = LagMonitor::new(Some(MS)).report();
        assert_eq!((one.lanes, one.lane), (1, 0));
    }

    #[test]
    fn a_disabled_monitor_has_no_heartbeat_and_says_so() {
        let m = Arc::new(LagMonitor::new(None));
        assert!(m.heartbeat(|_| async {}).is_none());
        let r = m.report();
        assert_eq!((r.enabled, r.interval_us, r.samples), (false, 0, 0));
    }

    #[derive(Debug)]
    struct FakeBusy(Arc<Mutex<Vec<Duration>>>);
    impl WorkerBusy for FakeBusy {
        fn busy(&self) -> Vec<Duration> {
            self.0.lock().expect("lock").clone()
        }
    }

    #[test]
    fn worker_busy_time_is_reported_per_window() {
        let busy = Arc::new(Mutex::new(vec![MS, 2 * MS]));
        let m = LagMonitor::new(Some(MS));
        m.report_worker_busy(FakeBusy(Arc::clone(&busy)));
        *busy.lock().expect("lock") = vec![5 * MS, 2 * MS];
        let closed = m.close_window().tokio.expect("metrics");
        assert_eq!(closed.workers, 2);
        assert_eq!(closed.busy_us, vec![5000, 2000]);
        assert_eq!(
            (closed.busy_us_total, closed.window_busy_us_total),
            (7000, 4000)
        );
        *busy.lock().expect("lock") = vec![6 * MS, 3 * MS];
        let open = m.report().tokio.expect("metrics");
        assert_eq!(
            (open.busy_us_total, open.window_busy_us_total),
            (9000, 2000)
        );
    }

    #[test]
    fn the_heartbeat_records_each_wake_up_until_its_sleep_stays_pending() {
        let m = Arc::new(LagMonitor::new(Some(Duration::from_micros(200))));
        let mut sleeps = 0;
        // Five real sleeps, then one that never ends: the heartbeat must then return Pending.
        let beat = m
            .heartbeat(move |d| {
                sleeps += 1;
                let last = sleeps > 5;
                async move {
                    if last {
                        std::future::pending::<()>().await;
                    }
                    std::thread::sleep(d);
                }
            })
            .expect("enabled");
        let mut beat = std::pin::pin!(beat);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(beat.as_mut().poll(&mut cx).is_pending());
        let r = m.report();
        assert_eq!((r.samples, r.since_start.samples), (5, 5));
        // A thread sleep overshoots by scheduler latency only: nowhere near a second.
        assert!(r.max_us < 1_000_000, "{r:?}");
    }
}
