//! Graceful shutdown, once for every server: the stop signal wrapped with a watchdog
//! ([`App::shutdown_on`]), the drains a stopping server awaits on its own runtime
//! ([`App::settle`], [`App::finish_in_flight`], [`App::drain_background`]), and the last step
//! on a plain thread ([`App::finish_shutdown`]: wait for accepted work, report, decide the
//! exit status).
//!
//! Where the shutdown stands is [`Shutdown`], a small type of its own as in mini-redis
//! (`src/shutdown.rs`): there, whether the signal has come; here also by when the shutdown must
//! be over, since every wait above stops at that deadline, and whether it has reported, which
//! stands the watchdog down.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::App;

/// How long no request must have run before a stopping server closes its connections
/// ([`App::settle`]) by default; `--shutdown-quiet-ms` sets it
/// ([`Limits::settle_quiet`](super::Limits::settle_quiet)).
pub const SETTLE_QUIET: Duration = Duration::from_millis(200);
/// The longest a stopping server waits for its connections to go quiet ([`App::settle`]).
pub const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// Where a graceful shutdown stands: not begun, begun with a deadline, or reported.
#[derive(Debug, Default)]
pub(super) struct Shutdown {
    /// When the graceful shutdown must be over; set by the stop signal.
    deadline: Mutex<Option<Instant>>,
    /// Set once [`App::finish_shutdown`] has reported; the watchdog then stands down.
    finished: AtomicBool,
}

impl Shutdown {
    /// The stop signal has come: the shutdown must be over `timeout` from now.
    fn begin(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
    }

    /// How long until the deadline: zero before the stop signal (nothing is waited for then)
    /// and once it has passed.
    fn time_left(&self) -> Duration {
        let deadline = *self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }

    /// The shutdown has reported: the watchdog stands down.
    fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
    }

    /// Whether [`Shutdown::finish`] has been called.
    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

impl App {
    /// Wraps a stop signal (SIGINT/SIGTERM) for a server's graceful shutdown: when `signal`
    /// resolves, the shutdown deadline (`timeout` from now) is set and a watchdog thread is
    /// started that ends the process, reporting what it abandons, if shutting down takes longer
    /// than that. The returned future resolves right after `signal`: hand it to the server as
    /// its "stop accepting" trigger.
    pub fn shutdown_on<F>(
        self: &Arc<Self>,
        signal: F,
        timeout: Duration,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let app = Arc::clone(self);
        async move {
            signal.await;
            app.shutdown.begin(timeout);
            eprintln!(
                "shutdown: stop signal received; no new connections, finishing in-flight work (up to {timeout:?})"
            );
            let watchdog = Arc::clone(&app);
            // A plain thread, not a task: it must fire even when every executor thread is stuck.
            std::thread::spawn(move || {
                std::thread::sleep(timeout + Duration::from_secs(1));
                if watchdog.shutdown.is_finished() {
                    return; // finish_shutdown has reported; main is exiting by itself.
                }
                let s = watchdog.snapshot();
                eprintln!(
                    "shutdown: still busy {timeout:?} after the stop signal: {} requests in flight and {} \
                     background jobs pending ABANDONED; exiting",
                    s.in_flight,
                    s.background.queued + s.background.running
                );
                std::process::exit(1);
            });
        }
    }

    /// Lets a stopping server drain, once it has stopped accepting: resolves when no strategy
    /// request has started or been in flight for the quiet period
    /// ([`Limits::settle_quiet`](super::Limits::settle_quiet)), or after [`SETTLE_LIMIT`]
    /// (clients that keep sending on open connections cannot hold the exit), or at the
    /// shutdown deadline. The quiet period lets requests on connections accepted before the
    /// stop reach their handler (hyper would otherwise close such a connection as idle, and tide
    /// would exit under it) and lets finished handlers' responses be written. `sleep` is the
    /// runtime's timer. Returns how many requests are still in flight.
    pub async fn settle<S, F>(&self, mut sleep: S) -> usize
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        let until = Instant::now() + SETTLE_LIMIT.min(self.shutdown.time_left());
        let mut seen = self.activity();
        loop {
            sleep(self.limits.settle_quiet).await;
            let now = self.activity();
            let in_flight = self.in_flight.count();
            if (now == seen && in_flight == 0) || Instant::now() >= until {
                return in_flight;
            }
            seen = now;
        }
    }

    /// For a server that cannot close its connections and has nothing else to wait on (tide),
    /// after [`App::settle`]: waits until no strategy request is in flight, checking once per
    /// quiet period with the runtime's `sleep`, up to the shutdown deadline. `settle` stops
    /// waiting after [`SETTLE_LIMIT`] so that clients still sending cannot hold the exit, but a
    /// request already running (a long kernel) is work accepted: it is finished within
    /// `--shutdown-timeout` like on the hyper servers, whose graceful shutdown waits for it.
    /// Returns how many are still in flight.
    pub async fn finish_in_flight<S, F>(&self, mut sleep: S) -> usize
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        loop {
            let in_flight = self.in_flight.count();
            if in_flight == 0 || self.shutdown.time_left().is_zero() {
                return in_flight;
            }
            sleep(self.limits.settle_quiet.min(self.shutdown.time_left())).await;
        }
    }

    /// For a server whose blocking pools end with its workers (actix-web: one tokio runtime
    /// per worker, and a runtime shut down cancels the blocking tasks it has not started),
    /// before it stops them: waits until no accepted background job is queued or running,
    /// checking once per quiet period with the runtime's `sleep`, up to the shutdown deadline.
    /// Returns how many are still pending.
    pub async fn drain_background<S, F>(&self, mut sleep: S) -> usize
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        loop {
            let pending = self.background.pending();
            if pending == 0 || self.shutdown.time_left().is_zero() {
                return pending;
            }
            sleep(self.limits.settle_quiet.min(self.shutdown.time_left())).await;
        }
    }

    /// Strategy requests started so far: answered ones plus those in flight.
    fn activity(&self) -> u64 {
        self.answers.total() + u64::try_from(self.in_flight.count()).unwrap_or(u64::MAX)
    }
    /// The last step of a graceful shutdown, called on a plain thread once the server has
    /// stopped: waits for accepted background jobs until the deadline and logs one line saying
    /// how many completed, failed and were abandoned, then a line for each kind of loss.
    /// Accepted work is never dropped silently.
    ///
    /// Returns whether the server may exit 0 (its `main` exits 1 otherwise): false when
    /// accepted work was lost without its client being told at the time: a request still in
    /// flight, a `/jobs` job or background job still pending at the deadline, or a background
    /// job that panicked or was dropped before it ran (a 202 promised that work; only `/stats`
    /// and stderr said it failed). A panic answered 500, or a `/jobs` job reported `failed`,
    /// was told to its client and does not change the exit status.
    pub fn finish_shutdown(&self) -> bool {
        let pending_before = self.background.pending();
        let still = self.background.wait_idle(self.shutdown.time_left());
        let jobs_left = self.jobs.wait_idle(self.shutdown.time_left());
        let requests_left = self.in_flight.count();
        if requests_left > 0 {
            eprintln!("shutdown: {requests_left} requests still in flight ABANDONED");
        }
        if jobs_left > 0 {
            eprintln!(
                "shutdown: {jobs_left} queued or running /jobs ABANDONED at the shutdown deadline"
            );
        }
        let s = self.snapshot().background;
        let still = u64::try_from(still).unwrap_or(u64::MAX);
        eprintln!(
            "shutdown: {} background jobs accepted, {} completed ({pending_before} finished during shutdown), {} failed, {} abandoned",
            s.accepted,
            s.completed,
            s.failed,
            s.abandoned + still
        );
        if s.failed > 0 {
            eprintln!(
                "shutdown: {} background jobs FAILED (their kernel panicked; results lost)",
                s.failed
            );
        }
        if s.abandoned > 0 {
            eprintln!(
                "shutdown: {} background jobs ABANDONED before they ran (their task was dropped)",
                s.abandoned
            );
        }
        if still > 0 {
            eprintln!(
                "shutdown: {still} background jobs ABANDONED (still running at the shutdown \
                 deadline; their results are lost)"
            );
        }
        self.shutdown.finish();
        still == 0 && jobs_left == 0 && requests_left == 0 && s.failed == 0 && s.abandoned == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::{app, background_work, stop};

    #[test]
    fn shutdown_waits_for_running_jobs_and_reports_stragglers() {
        let app = app(4);
        let work = background_work();
        let (job, _) = app.accept_background(work).expect("fits");
        let runner = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            job.run();
        });
        stop(&app, Duration::from_secs(20));
        assert!(
            app.finish_shutdown(),
            "the job finished within the deadline"
        );
        assert_eq!(app.snapshot().background.completed, 1);
        runner.join().expect("runner");
    }

    #[test]
    fn settle_waits_for_a_quiet_period_and_gives_up_at_the_limit() {
        let app = app(1);
        stop(&app, Duration::from_secs(60));
        // Nothing running: one quiet period (a no-op sleep here) and done.
        let mut sleeps = 0;
        let left = crate::test_util::block_on(app.settle(|_| {
            sleeps += 1;
            async {}
        }));
        assert_eq!((left, sleeps), (0, 1));
        // A request in flight throughout: settle gives up at the shutdown deadline (here
        // sooner than SETTLE_LIMIT) and reports it. The watchdog fires 1 s after that
        // deadline; finish_shutdown stands it down long before.
        let app = self::app(1);
        stop(&app, Duration::from_millis(300));
        let busy = app.in_flight.enter();
        let start = Instant::now();
        let left =
            crate::test_util::block_on(app.settle(|d| async move { std::thread::sleep(d / 4) }));
        assert_eq!(left, 1);
        assert!(
            start.elapsed() >= Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
        assert!(
            !app.finish_shutdown(),
            "a request still in flight is reported"
        );
        drop(busy);
    }

    #[test]
    fn finish_in_flight_waits_for_running_requests_up_to_the_deadline() {
        let app = app(1);
        stop(&app, Duration::from_secs(60));
        let busy = app.in_flight.enter();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(busy);
        });
        let left = crate::test_util::block_on(
            app.finish_in_flight(|d| async move { std::thread::sleep(d) }),
        );
        assert_eq!(left, 0, "waited for the request");
        release.join().expect("thread");

        // Past the deadline it gives up and says how many are left. The watchdog fires 1 s
        // after that deadline; finish_shutdown stands it down long before.
        let app = self::app(1);
        stop(&app, Duration::from_millis(100));
        let busy = app.in_flight.enter();
        let left = crate::test_util::block_on(
            app.finish_in_flight(|d| async move { std::thread::sleep(d) }),
        );
        assert_eq!(left, 1);
        assert!(
            !app.finish_shutdown(),
            "a request still in flight is reported"
        );
        drop(busy);
    }

    #[test]
    fn shutdown_reports_jobs_still_running_at_the_deadline() {
        let app = app(4);
        let work = background_work();
        let (stuck, _) = app.accept_background(work).expect("fits");
        // The watchdog fires 1 s after this deadline; the test is over long before.
        stop(&app, Duration::from_millis(20));
        assert!(!app.finish_shutdown(), "a pending job is reported");
        stuck.run();
    }
}
