//! Thread counts measured inside the process, not taken from the command line: which OS threads
//! really did a kind of work. `/stats` reports them beside the configured counts, so a thread
//! cap that configures a pool nobody runs (a second copy of the `blocking` crate, say) shows up
//! as a measured count above the configured one instead of going unnoticed.
//!
//! A census of a [`ThreadRole`] also *names* the threads it counts (the OS name, which
//! `/proc/PID/task/TID/comm` shows): a thread's name says what it last did (polled a handler,
//! ran a blocking closure, ran a CPU-pool kernel), so bench-runner can group the kernel's
//! per-thread figures (`/proc/PID/task/TID/schedstat`) by role from outside the process.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The distinct OS threads that have done one kind of work (polled a request handler, run an
/// offloaded closure). A thread is counted from its first [`ThreadCensus::enter`] until it
/// exits; pools that retire idle threads and start new ones are followed as they do.
#[derive(Debug, Default)]
pub struct ThreadCensus {
    counts: Arc<Counts>,
    /// The role its threads take on (their OS name), if any.
    role: Option<ThreadRole>,
}

/// What a server thread does, as its OS name says: the name begins with [`ThreadRole::prefix`].
/// The one list of roles, for the servers (which name their threads) and bench-runner (which
/// reads the names back). A thread whose name has none of the prefixes is *other* (the main
/// thread of a multi-thread runtime, actix's acceptor, the broker bridge, signal handlers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThreadRole {
    /// Runs the executor: polls request handlers (and inline kernels), IO and timers.
    Executor,
    /// The CPU pool's threads (`/rayon`, `/jobs`): `cpu-pool-N`, named by [`crate::cpu_pool`].
    CpuPool,
    /// The runtime's blocking pool, while it runs our closures (`/thread`, `/bounded`,
    /// `/background`), and a tokio worker inside `block_in_place`.
    Blocking,
}

impl ThreadRole {
    /// Every role.
    pub const ALL: [ThreadRole; 3] = [
        ThreadRole::Executor,
        ThreadRole::CpuPool,
        ThreadRole::Blocking,
    ];

    /// The start of the OS name of a thread in this role (Linux keeps 15 bytes of a name).
    pub fn prefix(self) -> &'static str {
        match self {
            ThreadRole::Executor => "exec",
            ThreadRole::CpuPool => "cpu-pool",
            ThreadRole::Blocking => "blocking",
        }
    }

    /// The role an OS thread name says, if any.
    pub fn of_name(name: &str) -> Option<ThreadRole> {
        ThreadRole::ALL
            .into_iter()
            .find(|r| name.starts_with(r.prefix()))
    }

    /// Names the calling thread for this role, unless it already has it (a thread-local
    /// check, so cheap enough for every request: the name is written only when the role
    /// changes, as for a tokio thread that leaves the blocking pool to become a worker).
    /// Best effort: off Linux, or if the OS refuses, the name stays as it was.
    pub fn take(self) {
        let _ = ROLE.try_with(|role| {
            if role.get() != Some(self) {
                role.set(Some(self));
                name_this_thread(self.prefix());
            }
        });
    }
}

#[cfg(target_os = "linux")]
fn name_this_thread(name: &str) {
    if let Ok(name) = std::ffi::CString::new(name) {
        let _ = rustix::thread::set_name(&name);
    }
}

#[cfg(not(target_os = "linux"))]
fn name_this_thread(_name: &str) {}

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
    /// The role this thread was last named for ([`ThreadRole::take`]).
    static ROLE: Cell<Option<ThreadRole>> = const { Cell::new(None) };
}

impl ThreadCensus {
    /// A census whose threads also take `role`'s name as they enter it.
    pub fn of_role(role: ThreadRole) -> ThreadCensus {
        ThreadCensus {
            counts: Arc::default(),
            role: Some(role),
        }
    }

    /// Counts the current thread, once: later calls on the same thread only look it up in
    /// thread-local storage (no lock), so this is cheap enough for every request. With a role,
    /// names the thread for it ([`ThreadRole::take`]) on every call, counted or not: a thread
    /// can change roles and come back.
    pub fn enter(&self) {
        if let Some(role) = self.role {
            role.take();
        }
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

/// Measured: the process's OS threads alive now, by the role their names say
/// ([`ThreadRole::of_name`]), read from `/proc/self/task/*/comm`. The CPU pool's threads are
/// named when the pool starts them, so `cpu_pool` is the pool's real size; blocking and
/// executor threads take their name when they first run our work, so a thread that never has
/// is counted in `other`. `/stats` reports it beside the configured counts (issue 25: the pool
/// sizes a benchmark sets must be the sizes that ran).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AliveThreads {
    /// Threads named for the executor role.
    pub executor: usize,
    /// Threads of the CPU pool (`cpu-pool-N`).
    pub cpu_pool: usize,
    /// Threads of the blocking pool that have run one of our closures and are still alive.
    pub blocking: usize,
    /// Every other thread (the main thread, timers, acceptors, threads not yet used).
    pub other: usize,
}

impl AliveThreads {
    /// The process's threads now; `None` where `/proc/self/task` cannot be read (off Linux).
    pub fn now() -> Option<AliveThreads> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            // A thread that exits between the listing and the read is simply not counted.
            if let Ok(name) = std::fs::read_to_string(entry.path().join("comm")) {
                names.push(name.trim_end().to_owned());
            }
        }
        Some(AliveThreads::of_names(names.iter().map(String::as_str)))
    }

    /// The counts of threads named `names`.
    pub fn of_names<'a>(names: impl IntoIterator<Item = &'a str>) -> AliveThreads {
        let mut counts = AliveThreads::default();
        for name in names {
            let slot = match ThreadRole::of_name(name) {
                Some(ThreadRole::Executor) => &mut counts.executor,
                Some(ThreadRole::CpuPool) => &mut counts.cpu_pool,
                Some(ThreadRole::Blocking) => &mut counts.blocking,
                None => &mut counts.other,
            };
            *slot += 1;
        }
        counts
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

    /// The OS name of the calling thread, as /proc shows it.
    #[cfg(target_os = "linux")]
    fn os_name() -> String {
        let tid = rustix::thread::gettid().as_raw_nonzero();
        std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
            .expect("comm")
            .trim_end()
            .to_owned()
    }

    #[test]
    fn roles_are_read_back_from_names() {
        for role in ThreadRole::ALL {
            assert_eq!(ThreadRole::of_name(role.prefix()), Some(role));
            assert_eq!(
                ThreadRole::of_name(&format!("{}-3", role.prefix())),
                Some(role)
            );
        }
        assert_eq!(ThreadRole::of_name("cpu-pool-0"), Some(ThreadRole::CpuPool));
        assert_eq!(ThreadRole::of_name("tokio-runtime-w"), None);
        assert_eq!(ThreadRole::of_name(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_census_of_a_role_names_its_threads_and_follows_a_change_of_role() {
        let executor = Arc::new(ThreadCensus::of_role(ThreadRole::Executor));
        let blocking = Arc::new(ThreadCensus::of_role(ThreadRole::Blocking));
        std::thread::Builder::new()
            .name("unnamed-yet".into())
            .spawn(move || {
                assert_eq!(os_name(), "unnamed-yet");
                executor.enter();
                assert_eq!(os_name(), "exec");
                blocking.enter();
                assert_eq!(os_name(), "blocking");
                executor.enter();
                assert_eq!(os_name(), "exec");
                assert_eq!(executor.census().seen, 1);
                // A census without a role leaves the name alone.
                ThreadCensus::default().enter();
                assert_eq!(os_name(), "exec");
            })
            .expect("spawn")
            .join()
            .expect("thread");
    }

    #[test]
    fn alive_threads_are_counted_by_the_role_their_names_say() {
        let names = [
            "exec",
            "cpu-pool-0",
            "cpu-pool-1",
            "blocking",
            "tokio-rt",
            "main",
        ];
        assert_eq!(
            AliveThreads::of_names(names),
            AliveThreads {
                executor: 1,
                cpu_pool: 2,
                blocking: 1,
                other: 2
            }
        );
        // This process has at least the test's own thread.
        let now = AliveThreads::now().expect("/proc/self/task");
        assert!(now.executor + now.cpu_pool + now.blocking + now.other >= 1);
    }
}
