//! What the user sees while it runs: every line prefixed with `[k/N elapsed, eta …]` (pair k of
//! N, wall time so far, time left at the pace so far), whether stdout is a terminal or a log
//! file; a line at least every few seconds however long a pair takes; the Python demo's line
//! for every batch (the tables at the end are the batch experiment's).
//! A progress bar is drawn too when stdout is a terminal.
//!
//! Units: every time of a request, batch or probe in milliseconds; wall-clock time of the run
//! (elapsed, ETA) as minutes:seconds.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::harness::records::Log;

/// Silence longer than this while a pair runs prints a `still measuring` line.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The progress state, the bar, and lines printed without tearing it.
#[derive(Debug)]
pub struct Console {
    bar: ProgressBar,
    pairs: u64,
    done: AtomicU64,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl Console {
    /// `pairs` to measure; the bar on stdout only when stdout is a terminal (the prefixed
    /// lines in any case).
    pub fn new(pairs: u64) -> Console {
        let target = if std::io::stdout().is_terminal() {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(pairs), target);
        if let Ok(style) =
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} pairs  {msg}")
        {
            bar.set_style(style);
        }
        let now = Instant::now();
        Console {
            bar,
            pairs,
            done: AtomicU64::new(0),
            started: now,
            last_line: Mutex::new(now),
        }
    }

    /// Shows which pair runs now.
    pub fn working_on(&self, what: &str) {
        self.bar.set_message(what.to_owned());
    }

    /// One pair done.
    pub fn step(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Prints `text` as it is, without the progress prefix: the tables and their legend.
    pub fn block(&self, text: &str) {
        self.print(text);
    }

    /// Runs `pair` (the measurement of `what`), printing a `still measuring` line whenever
    /// nothing was printed for `KEEP_ALIVE`, so a long pair never looks hung.
    pub async fn keep_alive<F: Future>(&self, what: &str, pair: F) -> F::Output {
        let mut pair = std::pin::pin!(pair);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                out = &mut pair => return out,
                _ = tick.tick() => {
                    let quiet = self.last_line.lock().unwrap_or_else(PoisonError::into_inner).elapsed();
                    if quiet >= KEEP_ALIVE {
                        self.line(&format!("   still measuring {what} ({} s since the last line)", quiet.as_secs()));
                    }
                }
            }
        }
    }

    fn prefix(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        progress_prefix(done, self.pairs, elapsed, eta(elapsed, done, self.pairs))
    }

    fn print(&self, text: &str) {
        *self
            .last_line
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        // `suspend` prints whether the bar is drawn or hidden (`println` on a hidden bar would not).
        self.bar.suspend(|| println!("{text}"));
    }
}

impl Log for Console {
    fn line(&self, line: &str) {
        self.print(&format!("{} {line}", self.prefix()));
    }
}

/// The time left at the pace so far: `elapsed` per `done` pairs, for the `total - done` left;
/// `None` before the first pair is done.
pub fn eta(elapsed: Duration, done: u64, total: u64) -> Option<Duration> {
    if done == 0 {
        return None;
    }
    let left = u32::try_from(total.saturating_sub(done)).unwrap_or(u32::MAX);
    let per_pair = elapsed / u32::try_from(done).unwrap_or(u32::MAX);
    Some(per_pair.saturating_mul(left))
}

/// `[k/N 1:02, eta 3:10]`: pair k (the one running: `done + 1`, at most N) of N, the elapsed
/// wall time, the ETA (`eta ?` before the first pair is done).
pub fn progress_prefix(done: u64, total: u64, elapsed: Duration, eta: Option<Duration>) -> String {
    let k = (done + 1).min(total);
    let eta = eta.map_or_else(|| "?".to_owned(), clock);
    format!("[{k}/{total} {}, eta {eta}]", clock(elapsed))
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_the_pace_so_far_times_the_pairs_left() {
        let s = Duration::from_secs;
        assert_eq!(eta(s(30), 0, 48), None);
        assert_eq!(eta(s(30), 1, 48), Some(s(30 * 47)));
        assert_eq!(eta(s(60), 12, 48), Some(s(180)));
        assert_eq!(eta(s(90), 48, 48), Some(s(0)));
    }

    #[test]
    fn progress_prefix_shows_the_pair_running_elapsed_and_eta() {
        let s = Duration::from_secs;
        assert_eq!(progress_prefix(0, 48, s(3), None), "[1/48 0:03, eta ?]");
        assert_eq!(
            progress_prefix(12, 48, s(62), Some(s(190))),
            "[13/48 1:02, eta 3:10]"
        );
        // After the last pair: N of N, not N+1.
        assert_eq!(
            progress_prefix(48, 48, s(3725), Some(s(0))),
            "[48/48 1:02:05, eta 0:00]"
        );
    }
}
