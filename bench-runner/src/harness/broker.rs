//! `/queue`'s parts, for the pairs that measure it: the Redis broker and the `queue-worker`
//! processes.
//!
//! - The broker is a `redis-server` of bench-runner's own, started once per run from PATH on a
//!   free loopback port with no persistence (`conformance::broker::RedisServer`), pinned to the
//!   servers' CPUs when they are (`--server-cpus`), and killed at the end (and with bench-runner
//!   itself: it is started from the [`spawner`] thread through `setpriv --pdeathsig`). Or the
//!   broker at `--broker URL`, checked once before anything is measured.
//! - Without either, `/queue` pairs are *not applicable*, with the one line that says how to
//!   install redis-server: the run goes on.
//! - Workers are started per pair (fresh, as the server is), from the spawner thread with
//!   `--exit-with-parent`, with `--threads` kernels each and the servers' `--cpus`; they are
//!   stopped with SIGTERM after the server, and a worker that does not exit cleanly is a note.

use std::path::PathBuf;
use std::time::Duration;

use conformance::broker::{RedisServer, Worker};

use crate::cpu::{self, CpuList, CpuTime};
use crate::harness::spawner;
use crate::settings::{Settings, Subjects};

/// How long `--broker` may take to answer the check before anything is measured.
const BROKER_CHECK: Duration = Duration::from_secs(3);

/// How long a worker may take to exit after SIGTERM (it finishes the jobs in hand first).
const WORKER_STOP: Duration = Duration::from_secs(10);

/// The broker and how to start workers for it.
#[derive(Debug)]
pub struct QueueParts {
    url: String,
    description: String,
    own: Option<RedisServer>,
    worker_binary: PathBuf,
    threads: usize,
    kernel: &'static str,
    cpus: Option<CpuList>,
    /// Worker processes per /queue pair: the first is the batch, sizes and rate experiments'.
    pub workers: Vec<usize>,
}

/// The worker processes of one pair or run.
#[derive(Debug, Default)]
pub struct Workers {
    /// Running, in the order started.
    pub running: Vec<Worker>,
}

impl QueueParts {
    /// The parts `settings` asks for: `Ok(None)` when nothing measured needs `/queue` (or the
    /// subject is a `--url` server, which has its own broker or none); `Err` with the reason
    /// `/queue` pairs are not applicable when there is no broker to be had or no worker
    /// binary; fails (the run does) when `--broker` does not answer.
    pub async fn prepare(
        settings: &Settings,
        worker_binary: Option<PathBuf>,
    ) -> anyhow::Result<Result<Option<QueueParts>, String>> {
        // Every experiment measures /queue only when --strategy includes it.
        let wanted = settings.strategies.contains(&common::Strategy::Queue);
        if !wanted || matches!(settings.subjects, Subjects::External { .. }) {
            return Ok(Ok(None));
        }
        let worker_binary = match worker_binary {
            Some(path) if path.is_file() => path,
            // A --server-dir without it (a directory of servers of one's own, say).
            Some(path) => {
                return Ok(Err(format!(
                    "no queue-worker binary at {} (cargo build --release -p queue-worker): \
                     /queue not measured",
                    path.display()
                )));
            }
            None => return Ok(Err("no queue-worker binary: /queue not measured".into())),
        };
        let kernel = settings.plan.kernel.name();
        // The worker binary computes the kernels shipped with it, not one of a program's own.
        if common::kernel::find(common::kernel::KERNELS, kernel).is_err() {
            return Ok(Err(format!(
                "queue-worker does not know the kernel {kernel:?} (it runs the shipped ones): \
                 /queue not measured"
            )));
        }
        let (url, description, own) = match &settings.queue.broker {
            Some(url) => {
                let given = url.clone();
                // The servers would refuse to start against it: better said once, now.
                tokio::task::spawn_blocking(move || given.ping(BROKER_CHECK))
                    .await?
                    .map_err(|e| anyhow::anyhow!("--broker {url}: {e}"))?;
                // `url` shows as redacted: no password in the console or metadata.json.
                (
                    url.as_str().to_owned(),
                    format!("{url}, given with --broker"),
                    None,
                )
            }
            None => {
                if let Some(why) = conformance::broker::skip_reason() {
                    return Ok(Err(
                        why.replace("/queue checks skipped", "/queue not measured")
                    ));
                }
                let version = conformance::broker::redis_version().unwrap_or_default();
                let redis = spawner::run(RedisServer::start)
                    .await
                    .map_err(anyhow::Error::msg)?
                    .map_err(|e| anyhow::anyhow!("starting redis-server: {e}"))?;
                if let Some(cpus) = &settings.server_cpus {
                    cpu::pin_pid(redis.pid(), cpus)
                        .map_err(|e| anyhow::anyhow!("pinning redis-server to {cpus}: {e}"))?;
                }
                (
                    redis.url(),
                    format!(
                        "{version}, started by bench-runner on 127.0.0.1:{} (no persistence){}",
                        redis.port(),
                        settings
                            .server_cpus
                            .as_ref()
                            .map(|c| format!(", on CPUs {c}"))
                            .unwrap_or_default()
                    ),
                    Some(redis),
                )
            }
        };
        Ok(Ok(Some(QueueParts {
            url,
            description,
            own,
            worker_binary,
            threads: settings.queue.threads,
            kernel,
            cpus: settings.server_cpus.clone(),
            workers: settings.queue.workers.clone(),
        })))
    }

    /// `redis://127.0.0.1:PORT`: what the servers get as `--broker`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the broker is, for the console and metadata.json (credentials hidden).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Threads of each worker process.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Our own redis-server's pid (`None`: a `--broker` of the user's).
    pub fn broker_pid(&self) -> Option<u32> {
        self.own.as_ref().map(|r| r.pid())
    }

    /// The CPU time the broker has used so far (our own redis-server only).
    pub fn broker_cpu(&self) -> Option<CpuTime> {
        self.own.as_ref().and_then(|r| CpuTime::of(Some(r.pid())))
    }

    /// Starts `count` worker processes, each ready before this returns; `lease` overrides the
    /// worker's `--lease` (the fault run's short one).
    pub async fn start_workers(
        &self,
        count: usize,
        lease: Option<Duration>,
    ) -> Result<Workers, String> {
        let mut args = vec![
            "--threads".to_owned(),
            self.threads.to_string(),
            "--kernel".to_owned(),
            self.kernel.to_owned(),
            "--exit-with-parent".to_owned(),
            std::process::id().to_string(),
        ];
        if let Some(cpus) = &self.cpus {
            args.extend(["--cpus".to_owned(), cpus.to_string()]);
        }
        if let Some(lease) = lease {
            args.extend(["--lease".to_owned(), lease.as_secs_f64().to_string()]);
        }
        let mut workers = Workers::default();
        for _ in 0..count {
            let (binary, url, args) = (self.worker_binary.clone(), self.url.clone(), args.clone());
            let worker = spawner::run(move || Worker::start(&binary, &url, &args))
                .await
                .map_err(str::to_owned)?
                .map_err(|e| format!("queue-worker did not start: {e}"))?;
            workers.running.push(worker);
        }
        Ok(workers)
    }
}

impl Workers {
    /// The pids of those running.
    pub fn pids(&self) -> Vec<u32> {
        self.running.iter().map(|w| w.pid()).collect()
    }

    /// The CPU time those running have used so far (a killed worker's is gone with it),
    /// `None` if none can be read.
    pub fn cpu(&self) -> Option<CpuTime> {
        let times: Vec<CpuTime> = self
            .running
            .iter()
            .filter_map(|w| CpuTime::of(Some(w.pid())))
            .collect();
        (!times.is_empty()).then(|| times.into_iter().sum())
    }

    /// Stops every worker (SIGTERM: each finishes its jobs in hand first); a note for each that
    /// did not exit cleanly. Returns the notes and the jobs they say they took over.
    pub async fn stop(self) -> (Vec<String>, u64) {
        let stopped = tokio::task::spawn_blocking(move || {
            let mut notes = Vec::new();
            let mut taken_over = 0;
            for mut w in self.running {
                match w.stop_in_place(WORKER_STOP) {
                    Some(status) if status.success() => {}
                    Some(status) => notes.push(format!(
                        "queue-worker {} exited with {status}: {:?}",
                        w.pid(),
                        w.stderr()
                    )),
                    None => notes.push(format!(
                        "queue-worker {} did not exit within {WORKER_STOP:?} of SIGTERM (killed)",
                        w.pid()
                    )),
                }
                taken_over += w.taken_over().unwrap_or(0);
            }
            (notes, taken_over)
        })
        .await;
        stopped.unwrap_or_else(|e| (vec![format!("stopping the queue workers: {e}")], 0))
    }
}
