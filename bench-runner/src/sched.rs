//! Where each thread's time went, as the kernel's scheduler counted it: on a CPU, or runnable
//! and waiting on a run queue for one.
//!
//! Linux keeps three numbers per thread in `/proc/PID/task/TID/schedstat` (with
//! `CONFIG_SCHED_INFO`): nanoseconds on a CPU, nanoseconds waiting on a run queue, and time
//! slices. Unlike `/proc/PID/stat`'s clock ticks (10 ms at 100 Hz, ±0.13 cores over a 130 ms
//! round) they are exact, and per thread: a server's threads are grouped by the role their
//! names say ([`ThreadRole`]: the servers name them), so the executor's own figures can be
//! told from the CPU pool's and the blocking pool's.
//!
//! A [`Watch`] reads every thread of the processes it watches ([`Party`]: the server, its
//! queue workers, the broker, bench-runner itself) when a window opens, every
//! [`SAMPLE_EVERY`] on a thread of its own while it is open, and when it closes. A thread that
//! starts inside the window counts from zero; one that exits inside it counts up to its last
//! reading (its last few milliseconds are lost, and the threads that exit mid-round here are
//! idle pool threads retiring). The window's wall time runs from before the first reading to
//! after the last, so no total can pass the cores × the wall time.
//!
//! Where the file is missing (another kernel or OS), [`available`] says so and the harness
//! falls back to clock ticks ([`crate::cpu::CpuTime`]), marked in metadata.json.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::threads::ThreadRole;

/// How often an open window is read between its first and last readings, so that a thread
/// exiting inside it loses at most this much of its time.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Time on a CPU and time runnable but waiting on a run queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    /// On a CPU.
    pub oncpu: Duration,
    /// Runnable, waiting on a run queue.
    pub runq: Duration,
}

impl Times {
    fn since(self, earlier: Times) -> Times {
        Times {
            oncpu: self.oncpu.saturating_sub(earlier.oncpu),
            runq: self.runq.saturating_sub(earlier.runq),
        }
    }
}

impl std::ops::Add for Times {
    type Output = Times;
    fn add(self, other: Times) -> Times {
        Times {
            oncpu: self.oncpu + other.oncpu,
            runq: self.runq + other.runq,
        }
    }
}

impl std::iter::Sum for Times {
    fn sum<I: Iterator<Item = Times>>(iter: I) -> Times {
        iter.fold(Times::default(), |a, b| a + b)
    }
}

/// Whose process a thread belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The server measured: its threads are grouped by role.
    Server,
    /// A `/queue` worker process.
    Worker,
    /// The broker (our own redis-server).
    Broker,
    /// bench-runner itself: the batch's client, the probe, the sampler.
    Client,
}

/// What one window saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// From before the first reading to after the last.
    pub wall: Duration,
    /// The server's threads by role: its executor threads.
    pub executor: Times,
    /// The CPU pool's threads (`cpu-pool-N`).
    pub cpu_pool: Times,
    /// The blocking pool's threads while they run our closures (and a tokio worker inside
    /// `block_in_place`).
    pub blocking: Times,
    /// The server's other threads (main, acceptor, broker bridge, idle pool threads not yet
    /// named).
    pub other: Times,
    /// Executor threads that were on a CPU in the window.
    pub executor_threads: usize,
    /// The queue workers' threads (`None`: no worker watched).
    pub workers: Option<Times>,
    /// The broker's threads (`None`: not watched).
    pub broker: Option<Times>,
    /// bench-runner's threads.
    pub client: Times,
}

impl Usage {
    /// Every thread of the server.
    pub fn server(&self) -> Times {
        self.executor + self.cpu_pool + self.blocking + self.other
    }

    /// Everything the pair runs: the server, its queue workers and the broker.
    pub fn pair(&self) -> Times {
        self.server() + self.workers.unwrap_or_default() + self.broker.unwrap_or_default()
    }
}

/// Whether this machine has per-thread schedstat (read from this very thread).
pub fn available() -> bool {
    read_times("/proc/thread-self/schedstat").is_some()
}

/// One thread's readings: the first (zero for a thread born inside the window) and the last,
/// with its role when last read.
#[derive(Debug, Clone, Copy)]
struct Seen {
    party: Party,
    role: Option<ThreadRole>,
    first: Times,
    last: Times,
}

#[derive(Debug, Default)]
struct Book {
    threads: HashMap<(u32, u32), Seen>,
}

impl Book {
    /// Reads every thread of `parties`; `opening`: this is the window's first reading (a thread
    /// seen later was born inside it and counts from zero).
    fn read(&mut self, parties: &[(Party, u32)], opening: bool) {
        for &(party, pid) in parties {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task
                    .file_name()
                    .to_str()
                    .and_then(|t| t.parse::<u32>().ok())
                else {
                    continue;
                };
                let dir = format!("/proc/{pid}/task/{tid}");
                let Some(times) = read_times(&format!("{dir}/schedstat")) else {
                    continue; // Exited between the listing and the read.
                };
                let role = match party {
                    Party::Server => std::fs::read_to_string(format!("{dir}/comm"))
                        .ok()
                        .and_then(|name| ThreadRole::of_name(name.trim_end())),
                    _ => None,
                };
                self.threads
                    .entry((pid, tid))
                    .and_modify(|s| {
                        s.last = times;
                        s.role = role;
                    })
                    .or_insert(Seen {
                        party,
                        role,
                        first: if opening { times } else { Times::default() },
                        last: times,
                    });
            }
        }
    }

    fn usage(&self, wall: Duration) -> Usage {
        let mut u = Usage {
            wall,
            executor: Times::default(),
            cpu_pool: Times::default(),
            blocking: Times::default(),
            other: Times::default(),
            executor_threads: 0,
            workers: None,
            broker: None,
            client: Times::default(),
        };
        for seen in self.threads.values() {
            let used = seen.last.since(seen.first);
            match (seen.party, seen.role) {
                (Party::Server, Some(ThreadRole::Executor)) => {
                    u.executor = u.executor + used;
                    u.executor_threads += usize::from(!used.oncpu.is_zero());
                }
                (Party::Server, Some(ThreadRole::CpuPool)) => u.cpu_pool = u.cpu_pool + used,
                (Party::Server, Some(ThreadRole::Blocking)) => u.blocking = u.blocking + used,
                (Party::Server, None) => u.other = u.other + used,
                (Party::Worker, _) => u.workers = Some(u.workers.unwrap_or_default() + used),
                (Party::Broker, _) => u.broker = Some(u.broker.unwrap_or_default() + used),
                (Party::Client, _) => u.client = u.client + used,
            }
        }
        u
    }
}

/// An open window over the threads of some processes ([`Watch::open`], [`Watch::close`]).
#[derive(Debug)]
pub struct Watch {
    parties: Vec<(Party, u32)>,
    book: Arc<Mutex<Book>>,
    opened: Instant,
    stop: Option<mpsc::Sender<()>>,
    sampler: Option<JoinHandle<()>>,
}

impl Watch {
    /// Opens a window over `parties` (each a process id): reads every thread now, and every
    /// [`SAMPLE_EVERY`] on a thread of its own until closed.
    pub fn open(parties: Vec<(Party, u32)>) -> Watch {
        let opened = Instant::now();
        let mut book = Book::default();
        book.read(&parties, true);
        let book = Arc::new(Mutex::new(book));
        let (stop, stopped) = mpsc::channel::<()>();
        let sampler = {
            let (book, parties) = (Arc::clone(&book), parties.clone());
            std::thread::Builder::new()
                .name("schedstat".into())
                .spawn(move || {
                    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(SAMPLE_EVERY) {
                        lock(&book).read(&parties, false);
                    }
                })
                .ok()
        };
        Watch {
            parties,
            book,
            opened,
            stop: Some(stop),
            sampler,
        }
    }

    /// Closes the window: a last reading, and what every group used in it.
    pub fn close(mut self) -> Usage {
        self.end_sampler();
        let mut book = lock(&self.book);
        book.read(&self.parties, false);
        book.usage(self.opened.elapsed())
    }

    fn end_sampler(&mut self) {
        drop(self.stop.take());
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.end_sampler();
    }
}

fn lock(book: &Mutex<Book>) -> std::sync::MutexGuard<'_, Book> {
    // Nothing panics while holding it; a poisoned book still holds consistent readings.
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A `schedstat` file: `oncpu_ns runq_ns slices`.
fn read_times(path: &str) -> Option<Times> {
    parse_schedstat(&std::fs::read_to_string(path).ok()?)
}

fn parse_schedstat(text: &str) -> Option<Times> {
    let mut fields = text.split_whitespace();
    let oncpu: u64 = fields.next()?.parse().ok()?;
    let runq: u64 = fields.next()?.parse().ok()?;
    Some(Times {
        oncpu: Duration::from_nanos(oncpu),
        runq: Duration::from_nanos(runq),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_read() {
        assert_eq!(
            parse_schedstat("1500000 250000 42\n"),
            Some(Times {
                oncpu: Duration::from_micros(1500),
                runq: Duration::from_micros(250)
            })
        );
        assert_eq!(parse_schedstat("12"), None);
        assert_eq!(parse_schedstat("a b c"), None);
    }

    fn cpu_of_this_thread() -> Duration {
        read_times("/proc/thread-self/schedstat")
            .expect("schedstat")
            .oncpu
    }

    /// A server's threads are grouped by the role their names say.
    #[test]
    fn threads_are_grouped_by_role() {
        if !available() {
            return;
        }
        let watch = Watch::open(vec![(Party::Server, std::process::id())]);
        // Two spinners, one per role, alive until the window has closed (a thread that exits
        // inside a window loses its last moments: see the module docs).
        let (done, spun) = mpsc::channel();
        let release = Arc::new(std::sync::Barrier::new(3));
        let spinners: Vec<_> = ["cpu-pool-0", "exec"]
            .into_iter()
            .map(|name| {
                let (done, release) = (done.clone(), Arc::clone(&release));
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || {
                        let start = cpu_of_this_thread();
                        let mut x = 0u64;
                        while cpu_of_this_thread().saturating_sub(start) < Duration::from_millis(60)
                        {
                            for _ in 0..100_000 {
                                x = std::hint::black_box(x.wrapping_add(1));
                            }
                        }
                        done.send(()).expect("send");
                        release.wait();
                    })
                    .expect("spawn")
            })
            .collect();
        for _ in 0..2 {
            spun.recv().expect("spun");
        }
        let usage = watch.close();
        release.wait();
        for t in spinners {
            t.join().expect("spinner");
        }
        // Each group holds its spinner's 60 ms (the test's other threads go to `other`).
        assert!(
            usage.cpu_pool.oncpu >= Duration::from_millis(60),
            "{usage:?}"
        );
        assert!(
            usage.executor.oncpu >= Duration::from_millis(60),
            "{usage:?}"
        );
        assert_eq!(usage.blocking, Times::default());
        assert_eq!(usage.executor_threads, 1);
        assert_eq!(usage.workers, None);
    }
}
