//! The job API, which fixes fire-and-forget's blind spot: `POST /jobs?n=…` queues the kernel on
//! the CPU pool and answers 202 with the job's id and URL; `GET /jobs/{id}` tells its status and,
//! once done, its total; `GET /jobs/{id}?wait=true` waits (asynchronously) until it is done.
//!
//! Bounded on both ends: at most `max_queue` jobs queued or running (503 past it), and finished
//! results are kept for `ttl` and at most `capacity` of them (oldest evicted first). An unknown,
//! evicted or expired id gives 404.
//!
//! A job whose kernel panics ends `failed` (no total): its waiters are answered, and it counts
//! as finished, never as running forever.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use event_listener::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::app::Work;
use crate::cpu_pool::CpuPool;
use crate::offload::catch;
use crate::reply::Reply;
use crate::tracker::{Tracker, TrackerGuard};

/// Limits of the job API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Most jobs queued or running.
    pub max_queue: usize,
    /// Most finished results kept.
    pub capacity: usize,
    /// How long a finished result is kept.
    pub ttl: Duration,
}

/// Body of `POST /jobs` (202) and of `GET /jobs/{id}` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobStatus {
    /// The job's id.
    pub id: u64,
    /// Where to ask for it: `/jobs/{id}`.
    pub url: String,
    /// `queued`, `running`, `done`, or `failed` (the kernel panicked; no total).
    pub status: String,
    /// Kernel size.
    pub n: u64,
    /// The sum as a decimal string, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// Kernel time in µs, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_us: Option<u64>,
}

/// `/stats` figures for the job API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobStats {
    /// Jobs answered with 202.
    pub submitted: u64,
    /// Waiting for a CPU-pool thread.
    pub queued: u64,
    /// Running now.
    pub running: u64,
    /// Finished.
    pub done: u64,
    /// Ended with a panicking kernel (status `failed`). Should stay 0.
    #[serde(default)]
    pub failed: u64,
    /// Finished results still kept (failed ones included).
    pub stored: usize,
    /// Refused with 503 (queue full).
    pub rejected: u64,
    /// Results dropped by time to live or capacity.
    pub expired: u64,
    /// `--max-queue`.
    pub max_queue: usize,
    /// `--job-capacity`.
    pub capacity: usize,
    /// `--job-ttl`, seconds.
    pub ttl_s: u64,
}

#[derive(Debug)]
enum State {
    Queued,
    Running,
    Done { total: String, compute: Duration },
    Failed,
}

#[derive(Debug)]
struct Job {
    id: u64,
    n: u64,
    state: Mutex<State>,
    done: Event,
}

#[derive(Debug, Default)]
struct Store {
    jobs: HashMap<u64, Arc<Job>>,
    /// Finished jobs, oldest first: what time to live and capacity evict.
    finished: VecDeque<(u64, Instant)>,
}

/// The job store.
#[derive(Debug)]
pub struct Jobs {
    limits: JobLimits,
    store: Arc<Mutex<Store>>,
    active: Tracker,
    next_id: AtomicU64,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    running: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    expired: AtomicU64,
}

impl Jobs {
    /// An empty store.
    pub fn new(limits: JobLimits) -> Jobs {
        Jobs {
            limits,
            store: Arc::default(),
            active: Tracker::default(),
            next_id: AtomicU64::new(0),
            counters: Arc::default(),
        }
    }

    /// Queues `work` on `pool`: the 202, or a 503 when `max_queue` jobs are already active.
    pub fn submit(&self, work: Work, pool: &CpuPool) -> Reply {
        let Some(active) = self.active.try_enter(self.limits.max_queue) else {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            return Reply::overloaded(
                format!(
                    "{} jobs are already queued or running (--max-queue); retry later",
                    self.limits.max_queue
                ),
                1,
            );
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Job {
            id,
            n: work.params.n,
            state: Mutex::new(State::Queued),
            done: Event::new(),
        });
        {
            let mut store = lock(&self.store);
            self.evict(&mut store, Instant::now());
            store.jobs.insert(id, Arc::clone(&job));
        }
        let reply = Reply::json(202, &status_of(&job));
        let (store, counters, limits) = (
            Arc::clone(&self.store),
            Arc::clone(&self.counters),
            self.limits,
        );
        pool.spawn(move || run(&job, work, &store, &counters, limits, active));
        reply
    }

    /// `GET /jobs/{id}[?wait=true]`: the job's status, after waiting for it if asked.
    pub async fn status(&self, id: &str, wait: bool) -> Reply {
        let job = id.parse::<u64>().ok().and_then(|id| {
            let mut store = lock(&self.store);
            self.evict(&mut store, Instant::now());
            store.jobs.get(&id).cloned()
        });
        let Some(job) = job else {
            return Reply::not_found_job(id, self.limits.ttl);
        };
        if wait {
            loop {
                // Listen before looking, so a completion in between is not missed.
                let listener = job.done.listen();
                if matches!(*lock(&job.state), State::Done { .. } | State::Failed) {
                    break;
                }
                listener.await;
            }
        }
        Reply::json(200, &status_of(&job))
    }

    /// Blocks until no job is queued or running, or `timeout` passes; returns how many still are.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> usize {
        self.active.wait_idle(timeout)
    }

    /// Current figures.
    pub fn stats(&self) -> JobStats {
        let stored = {
            let mut store = lock(&self.store);
            self.evict(&mut store, Instant::now());
            store.finished.len()
        };
        let submitted = self.next_id.load(Ordering::Relaxed);
        let running = self.counters.running.load(Ordering::Relaxed);
        let done = self.counters.done.load(Ordering::Relaxed);
        let failed = self.counters.failed.load(Ordering::Relaxed);
        JobStats {
            submitted,
            queued: submitted.saturating_sub(running + done + failed),
            running,
            done,
            failed,
            stored,
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            expired: self.counters.expired.load(Ordering::Relaxed),
            max_queue: self.limits.max_queue,
            capacity: self.limits.capacity,
            ttl_s: self.limits.ttl.as_secs(),
        }
    }

    /// Drops finished results past their time to live, then the oldest beyond capacity.
    fn evict(&self, store: &mut Store, now: Instant) {
        while let Some(&(id, at)) = store.finished.front() {
            let expired = now.saturating_duration_since(at) >= self.limits.ttl;
            if !expired && store.finished.len() <= self.limits.capacity {
                break;
            }
            store.finished.pop_front();
            store.jobs.remove(&id);
            self.counters.expired.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// On a CPU-pool thread: runs the job, records its result (or its failure), wakes its waiters.
fn run(
    job: &Job,
    work: Work,
    store: &Mutex<Store>,
    counters: &Counters,
    limits: JobLimits,
    active: TrackerGuard,
) {
    *lock(&job.state) = State::Running;
    counters.running.fetch_add(1, Ordering::Relaxed);
    let (state, finished) = match catch(|| work.compute()) {
        Ok((total, compute)) => (State::Done { total, compute }, &counters.done),
        Err(e) => {
            eprintln!(
                "error: /jobs/{} (n = {}): {e}; status failed",
                job.id, job.n
            );
            (State::Failed, &counters.failed)
        }
    };
    let at = Instant::now();
    *lock(&job.state) = state;
    {
        let mut store = lock(store);
        store.finished.push_back((job.id, at));
        // Capacity is enforced at once; time to live when the store is next touched.
        while store.finished.len() > limits.capacity {
            if let Some((old, _)) = store.finished.pop_front() {
                store.jobs.remove(&old);
                counters.expired.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    counters.running.fetch_sub(1, Ordering::Relaxed);
    finished.fetch_add(1, Ordering::Relaxed);
    job.done.notify(usize::MAX);
    drop(active);
}

fn status_of(job: &Job) -> JobStatus {
    let (status, total, compute_us) = match &*lock(&job.state) {
        State::Queued => ("queued", None, None),
        State::Running => ("running", None, None),
        State::Done { total, compute } => (
            "done",
            Some(total.clone()),
            Some(u64::try_from(compute.as_micros()).unwrap_or(u64::MAX)),
        ),
        State::Failed => ("failed", None, None),
    };
    JobStatus {
        id: job.id,
        url: format!("/jobs/{}", job.id),
        status: status.into(),
        n: job.n,
        total,
        compute_us,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;
    use crate::strategy::Strategy;
    use crate::test_util::block_on;

    fn work(n: u64) -> Work {
        Work {
            strategy: Strategy::Jobs,
            params: params::parse(Strategy::Jobs, Some(&format!("n={n}")), u64::MAX).expect("ok"),
            kernel: crate::kernel::DEFAULT,
            panics: false,
        }
    }

    fn body(r: &Reply) -> JobStatus {
        serde_json::from_str(&r.body).expect("job body")
    }

    #[test]
    fn lifecycle_submit_wait_result() {
        let pool = CpuPool::new(1, None).expect("pool");
        let jobs = Jobs::new(JobLimits {
            max_queue: 8,
            capacity: 8,
            ttl: Duration::from_secs(60),
        });
        let r = jobs.submit(work(10), &pool);
        assert_eq!(r.status, 202);
        let submitted = body(&r);
        assert_eq!(
            (
                submitted.id,
                submitted.url.as_str(),
                submitted.status.as_str()
            ),
            (1, "/jobs/1", "queued")
        );
        let done = block_on(jobs.status("1", true));
        assert_eq!(done.status, 200);
        let done = body(&done);
        assert_eq!(
            (done.status.as_str(), done.total.as_deref()),
            ("done", Some("285"))
        );
        assert_eq!(jobs.wait_idle(Duration::from_secs(5)), 0);
        let s = jobs.stats();
        assert_eq!(
            (s.submitted, s.done, s.queued, s.running, s.stored),
            (1, 1, 0, 0, 1)
        );
        for unknown in ["2", "0", "abc", "", "99999999999999999999999"] {
            assert_eq!(
                block_on(jobs.status(unknown, false)).status,
                404,
                "{unknown:?}"
            );
        }
    }

    #[test]
    fn a_panicking_job_ends_failed_and_its_waiters_are_answered() {
        let pool = CpuPool::new(1, None).expect("pool");
        let jobs = Jobs::new(JobLimits {
            max_queue: 8,
            capacity: 8,
            ttl: Duration::from_secs(60),
        });
        let failing = Work {
            panics: true,
            ..work(10)
        };
        assert_eq!(jobs.submit(failing, &pool).status, 202);
        let r = block_on(jobs.status("1", true));
        assert_eq!(r.status, 200);
        let failed = body(&r);
        assert_eq!((failed.status.as_str(), failed.total), ("failed", None));
        assert_eq!(jobs.wait_idle(Duration::from_secs(5)), 0);
        let s = jobs.stats();
        assert_eq!(
            (s.submitted, s.queued, s.running, s.done, s.failed),
            (1, 0, 0, 0, 1)
        );
        // The pool thread survived.
        assert_eq!(jobs.submit(work(10), &pool).status, 202);
        assert_eq!(body(&block_on(jobs.status("2", true))).status, "done");
    }

    #[test]
    fn queue_limit_gives_503() {
        let pool = CpuPool::new(1, None).expect("pool");
        let jobs = Jobs::new(JobLimits {
            max_queue: 1,
            capacity: 8,
            ttl: Duration::from_secs(60),
        });
        // Occupy the only thread so the first job stays active.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        pool.spawn(move || {
            let _ = rx.recv();
        });
        assert_eq!(jobs.submit(work(10), &pool).status, 202);
        let full = jobs.submit(work(10), &pool);
        assert_eq!((full.status, full.retry_after), (503, Some(1)));
        assert_eq!(jobs.stats().rejected, 1);
        tx.send(()).expect("release");
        block_on(jobs.status("1", true));
        assert_eq!(jobs.wait_idle(Duration::from_secs(5)), 0);
        assert_eq!(jobs.submit(work(10), &pool).status, 202, "room again");
    }

    #[test]
    fn results_expire_by_ttl_and_capacity() {
        let pool = CpuPool::new(1, None).expect("pool");
        let jobs = Jobs::new(JobLimits {
            max_queue: 8,
            capacity: 2,
            ttl: Duration::from_millis(200),
        });
        for _ in 0..3 {
            jobs.submit(work(10), &pool);
        }
        for id in ["1", "2", "3"] {
            // Waiting on an evicted job is a 404, not a hang; the others finish.
            let _ = block_on(jobs.status(id, false));
        }
        assert_eq!(jobs.wait_idle(Duration::from_secs(5)), 0);
        assert_eq!(
            block_on(jobs.status("1", false)).status,
            404,
            "evicted by capacity"
        );
        assert_eq!(block_on(jobs.status("3", false)).status, 200);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            block_on(jobs.status("3", false)).status,
            404,
            "expired by time to live"
        );
        let s = jobs.stats();
        assert_eq!((s.expired, s.stored), (3, 0));
    }
}
