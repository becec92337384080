//! Background jobs (`/background`): admission under `--max-background` ([`App::accept_background`]),
//! the accepted job a server runs on its blocking pool ([`BackgroundJob`]), and their
//! accounting ([`Background`]: accepted, rejected, completed, failed, abandoned), which
//! `/stats` reports and the shutdown waits on.
//!
//! Accepted work is never lost silently: a job whose kernel panics is counted failed, one
//! dropped before it runs (a cancelled smol `Task`, say) abandoned, each with a line on stderr,
//! and either fails the server's exit status ([`App::finish_shutdown`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::{App, BackgroundStats, Work};
use crate::offload::{Offloads, Panicked};
use crate::reply::{Accepted, Reply};
use crate::tracker::{Tracker, TrackerGuard};

/// The accounting of background jobs.
#[derive(Debug, Default)]
pub(super) struct Background {
    accepted: AtomicU64,
    rejected: AtomicU64,
    counters: Arc<JobCounters>,
    /// Accepted and not yet finished (nor dropped): what `--max-background` bounds.
    pending: Tracker,
}

/// What each job counts as it runs (or is dropped): shared with every [`BackgroundJob`].
#[derive(Debug, Default)]
struct JobCounters {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    abandoned: AtomicU64,
    /// Wall-clock µs since the Unix epoch of the latest completion; 0 before the first.
    last_completed_unix_us: AtomicU64,
}

impl Background {
    /// Jobs accepted and not yet finished.
    pub(super) fn pending(&self) -> usize {
        self.pending.count()
    }

    /// Blocks until no job is pending or `timeout` has passed; returns how many still are.
    pub(super) fn wait_idle(&self, timeout: Duration) -> usize {
        self.pending.wait_idle(timeout)
    }

    /// The `/stats` section, with `limit` (`--max-background`).
    pub(super) fn stats(&self, limit: usize) -> BackgroundStats {
        let c = &self.counters;
        let accepted = self.accepted.load(Ordering::Relaxed);
        let started = c.started.load(Ordering::Relaxed);
        // Acquire, then the time: whoever sees a job completed also sees its completion time.
        let completed = c.completed.load(Ordering::Acquire);
        let last_completed = c.last_completed_unix_us.load(Ordering::Relaxed);
        let abandoned = c.abandoned.load(Ordering::Relaxed);
        let failed = c.failed.load(Ordering::Acquire);
        BackgroundStats {
            accepted,
            queued: accepted.saturating_sub(started + abandoned),
            running: started.saturating_sub(completed + failed),
            completed,
            failed,
            rejected: self.rejected.load(Ordering::Relaxed),
            abandoned,
            limit,
            last_completed_unix_us: (last_completed > 0).then_some(last_completed),
        }
    }
}

impl App {
    /// Admits a background job if fewer than `--max-background` are pending. On success, the
    /// caller hands the job to its blocking pool and answers with the 202; otherwise it answers
    /// with the 503, and the rejection is counted.
    pub fn accept_background(&self, work: Work) -> Result<(BackgroundJob, Reply), Reply> {
        let bg = &self.background;
        let Some(pending) = bg.pending.try_enter(self.limits.max_background) else {
            bg.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(Reply::overloaded(
                format!(
                    "{} background jobs are already pending (--max-background); retry later",
                    self.limits.max_background
                ),
                1,
            ));
        };
        let id = bg.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        let accepted = Reply::json(
            202,
            &Accepted {
                strategy: work.strategy.name().into(),
                n: work.params.n,
                job: id,
                status: "accepted".into(),
            },
        );
        let job = BackgroundJob {
            work,
            counters: Arc::clone(&bg.counters),
            offloads: Arc::clone(&self.offloads),
            pending: Some(pending),
        };
        Ok((job, accepted))
    }
}

/// An accepted background job. Run it on a blocking pool with [`BackgroundJob::run`]. If its
/// kernel panics, it is counted as failed; if it is dropped without running (a cancelled smol
/// `Task`, say), as abandoned; either way a line goes to stderr: accepted work is never lost
/// silently.
#[derive(Debug)]
pub struct BackgroundJob {
    work: Work,
    counters: Arc<JobCounters>,
    offloads: Arc<Offloads>,
    pending: Option<TrackerGuard>,
}

impl BackgroundJob {
    /// Runs the kernel on the current (pool) thread, measured like every offloaded closure,
    /// and counts the job completed, or failed if the kernel panicked.
    pub fn run(mut self) {
        self.counters.started.fetch_add(1, Ordering::Relaxed);
        let work = self.work;
        match self.offloads.run(move || work.run()) {
            Ok(_) => {
                // The time first, then the count (Release): a client that sees the job
                // completed in `/stats` sees its completion time too. fetch_max: the latest of
                // all jobs, whatever order pool threads get here in.
                self.counters
                    .last_completed_unix_us
                    .fetch_max(unix_micros(SystemTime::now()), Ordering::Relaxed);
                self.counters.completed.fetch_add(1, Ordering::Release);
            }
            Err(Panicked) => {
                self.counters.failed.fetch_add(1, Ordering::Release);
                eprintln!(
                    "error: background job (n = {}) panicked (message above); counted as failed in /stats, its result is lost",
                    work.params.n
                );
            }
        }
        // Released last, so a drain never sees the job gone before it is counted.
        self.pending.take();
    }
}

impl Drop for BackgroundJob {
    fn drop(&mut self) {
        if self.pending.take().is_some() {
            self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "warning: background job (n = {}) dropped before it ran",
                self.work.params.n
            );
        }
    }
}

/// Microseconds from the Unix epoch to `t` (0 for a clock set before 1970).
fn unix_micros(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::app::Stats;
    use crate::app::testing::{app, app_panicking_on, background_work, stop};
    use crate::kernel;
    use crate::params;
    use crate::strategy::Strategy;

    #[test]
    fn background_admission_limit_and_accounting() {
        let app = app(2);
        let work = background_work();
        let (a, reply_a) = app.accept_background(work).expect("first fits");
        let (b, _) = app.accept_background(work).expect("second fits");
        assert_eq!(reply_a.status, 202);
        let rejected = app
            .accept_background(work)
            .expect_err("third is over the limit");
        assert_eq!((rejected.status, rejected.retry_after), (503, Some(1)));
        let s = app.snapshot().background;
        assert_eq!(
            (s.accepted, s.queued, s.running, s.completed, s.rejected),
            (2, 2, 0, 0, 1)
        );

        a.run();
        let s = app.snapshot().background;
        assert_eq!((s.queued, s.completed), (1, 1));
        // A slot is free again.
        let (c, _) = app.accept_background(work).expect("slot freed");

        drop(b); // as a cancelled task would
        std::thread::spawn(move || c.run())
            .join()
            .expect("pool thread");
        let s = app.snapshot().background;
        assert_eq!(
            (s.accepted, s.completed, s.abandoned, s.queued, s.running),
            (3, 2, 1, 0, 0)
        );
        assert!(s.is_idle());
        assert!(
            !app.finish_shutdown(),
            "nothing pending, but the job dropped before it ran was lost: exit 1"
        );
    }

    #[test]
    fn background_completion_time_is_the_latest_wall_clock_completion() {
        let app = app(4);
        let work = background_work();
        assert_eq!(app.snapshot().background.last_completed_unix_us, None);
        let (first, _) = app.accept_background(work).expect("fits");
        let (second, _) = app.accept_background(work).expect("fits");
        let before = unix_micros(SystemTime::now());
        first.run();
        let after_first = unix_micros(SystemTime::now());
        let t1 = app
            .snapshot()
            .background
            .last_completed_unix_us
            .expect("recorded");
        assert!(
            (before..=after_first).contains(&t1),
            "{before} {t1} {after_first}"
        );
        std::thread::sleep(Duration::from_millis(2));
        second.run();
        let t2 = app
            .snapshot()
            .background
            .last_completed_unix_us
            .expect("recorded");
        assert!(
            t2 >= t1 + 2_000,
            "the later completion wins: {t1} then {t2}"
        );

        // A body from a server older than the field still parses.
        let mut old = serde_json::to_value(app.snapshot()).expect("JSON");
        old["background"]
            .as_object_mut()
            .expect("object")
            .remove("last_completed_unix_us");
        let parsed: Stats = serde_json::from_value(old).expect("old body parses");
        assert_eq!(parsed.background.last_completed_unix_us, None);
    }

    #[test]
    fn a_panicking_background_job_is_counted_failed_and_fails_the_shutdown() {
        let app = app_panicking_on(13);
        let work = |n: u64| Work {
            strategy: Strategy::Background,
            params: params::parse(Strategy::Background, Some(&format!("n={n}")), 100).expect("ok"),
            kernel: kernel::DEFAULT,
            panics: n == 13,
        };
        let (bad, _) = app.accept_background(work(13)).expect("fits");
        let (good, _) = app.accept_background(work(10)).expect("fits");
        std::thread::spawn(move || bad.run())
            .join()
            .expect("the pool thread survives the panic");
        good.run();
        let s = app.snapshot();
        let bg = &s.background;
        assert_eq!(
            (bg.accepted, bg.queued, bg.running, bg.completed, bg.failed),
            (2, 0, 0, 1, 1)
        );
        assert!(bg.is_idle());
        assert_eq!((s.offload.finished, s.offload.panicked), (2, 1));
        stop(&app, Duration::from_secs(5));
        assert!(
            !app.finish_shutdown(),
            "a failed background job is accepted work lost: exit 1"
        );
    }
}
