//! Thread counts measured inside the process, not taken from the command line: which OS threads
//! really did a kind of work. `/stats` reports them beside the configured counts, so a thread
//! cap that configures a pool nobody runs (a second copy of the `blocking` crate, say) shows up
//! as a measured count above the configured one instead of going unnoticed.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The distinct OS threads that have done one kind of work (polled a request handler, run an
/// offloaded closure). A thread is counted from its first [`ThreadCensus::enter`] until it
/// exits; pools that retire idle threads and start new ones are followed as they do.
#[derive(Debug, Default)]
pub struct ThreadCensus {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    seen: AtomicUsize,
    alive: AtomicUsize,
    peak: AtomicUsize,
}

/// A census's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Census {
    /// Distinct threads counted since start (ever).
    pub seen: usize,
    /// Of those, threads that have not exited.
    pub alive: usize,
    /// The most alive at once since start.
    pub peak: usize,
}

/// This thread's place in a census; leaving it (at thread exit) uncounts the thread.
#[derive(Debug)]
struct Membership(Arc<Counts>);

impl Drop for Membership {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::Relaxed);
    }
}

thread_local! {
    /// The censuses the current thread is counted in. Thread-local storage is destroyed when
    /// its thread exits, which is how a census learns that a pool thread is gone.
    static MEMBERSHIPS: RefCell<Vec<Membership>> = const { RefCell::new(Vec::new()) };
}

impl ThreadCensus {
    /// Counts the current thread, once: later calls on the same thread only look it up in
    /// thread-local storage (no lock), so this is cheap enough for every request.
    pub fn enter(&self) {
        // `try_with` fails only while this thread's locals are being destroyed: too late to count.
        let _ = MEMBERSHIPS.try_with(|memberships| {
            let mut memberships = memberships.borrow_mut();
            if memberships.iter().any(|m| Arc::ptr_eq(&m.0, &self.counts)) {
                return;
            }
            self.counts.seen.fetch_add(1, Ordering::Relaxed);
            let alive = self.counts.alive.fetch_add(1, Ordering::Relaxed) + 1;
            self.counts.peak.fetch_max(alive, Ordering::Relaxed);
            memberships.push(Membership(Arc::clone(&self.counts)));
        });
    }

    /// Current figures.
    pub fn census(&self) -> Census {
        Census {
            seen: self.counts.seen.load(Ordering::Relaxed),
            alive: self.counts.alive.load(Ordering::Relaxed),
            peak: self.counts.peak.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn counts_each_thread_once_and_follows_exits() {
        let census = Arc::new(ThreadCensus::default());
        census.enter();
        census.enter();
        assert_eq!(
            census.census(),
            Census {
                seen: 1,
                alive: 1,
                peak: 1
            }
        );

        // Three threads at once, each entering twice; then they exit.
        let barrier = Arc::new(Barrier::new(3));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (census, barrier) = (Arc::clone(&census), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    census.enter();
                    barrier.wait();
                    census.enter();
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(
            census.census(),
            Census {
                seen: 4,
                alive: 1,
                peak: 4
            }
        );

        // Another census is counted apart.
        let other = ThreadCensus::default();
        other.enter();
        assert_eq!(other.census().seen, 1);
        assert_eq!(census.census().seen, 4);
    }
}
