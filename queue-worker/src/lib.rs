//! `queue-worker`: the worker process of `/queue`. It takes jobs from the Redis broker the
//! servers queue them on (`--broker`), runs `--threads` kernels at once (`common`'s kernel,
//! `--kernel` like the servers), stores each result with an expiry (`--job-ttl`) and announces
//! its completion. The protocol (keys, scripts, delivery) is `common::queue`'s, written once for
//! both sides; its module doc says how at-least-once delivery works.
//!
//! # Layout
//! - `lib.rs`: [`Cli`], [`main`] (the process: tokio runtime, signals, exit status) and
//!   [`run`] (the loop: take a job, compute it on a blocking thread, store the result).
//! - `main.rs`: calls [`main`] with the shipped kernels; an error it returns is printed by
//!   `common::cli::exit_code` (one `error:` line, never a backtrace).
//!
//! # One loop, `--threads` kernels
//! A semaphore with one permit per thread: the loop waits for a free permit and takes every
//! free one, then as many jobs (a stale one of a dead worker first, `XAUTOCLAIM`, looked for
//! at most every quarter of `--lease`; else new ones, one `XREADGROUP` blocking up to a second),
//! and hands each to a task that runs the kernel on tokio's blocking pool while renewing its
//! claim every third of `--lease`. So at most `--threads` kernels run, a worker never takes a
//! job it has no thread for (which would only delay it), and a burst costs one read per free
//! thread count rather than two round trips per job: the loop is the one serial part of a
//! worker, so its round trips are what every queued job waits behind.
//!
//! # Stopping
//! SIGINT/SIGTERM: reading stops first. A read already sent is never abandoned (Redis hands its
//! entries to this consumer as it answers, whether or not anyone is still waiting for them):
//! the stop is seen between reads, at most one read's block (a second) later, and what that
//! read brought is run like any job in hand. The jobs in hand are finished and stored, up to
//! `--shutdown-timeout`; then the worker runs whatever the broker still lists as its own
//! (`XREADGROUP … 0`) and exits 0 only when `XPENDING` for its consumer is empty. A job still
//! running at the deadline is left in the broker's pending list: another worker takes it over
//! once its lease runs out (exit status 1 says so). SIGKILL, or a lost machine, leaves the same
//! state, which is why delivery is at least once.
//!
//! # Exit status
//! 0: stopped holding nothing and owning no pending entry. 1: start-up failed (broker
//! unreachable), or jobs were handed back at the deadline (or the broker could not say that
//! none were left). 2: a bad command line.

use std::future::Future;
use std::io::Write;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use common::kernel::{self, Kernel};
use common::queue::{self, BrokerUrl, Keys, Outcome, Taken};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How long one `XREADGROUP` waits for a new job before the loop looks again (at stale jobs,
/// and at the stop signal). A stop is seen up to this much later: at 1 s, each of bench-runner's
/// queue configurations waited up to a second for its workers to stop; an idle worker costs
/// ten small reads a second instead of one.
const READ_BLOCK: Duration = Duration::from_millis(100);

/// Takes /queue jobs from a Redis broker and computes them.
#[derive(Debug, Clone, Parser)]
#[command(name = "queue-worker", version, about)]
pub struct Cli {
    /// The Redis broker the servers queue jobs on: redis://HOST:PORT.
    #[arg(long, value_name = "URL", value_parser = BrokerUrl::parse)]
    pub broker: BrokerUrl,

    /// Kernels run at once [default: the number of cores].
    #[arg(long, value_parser = common::cli::parse_at_least_one, allow_negative_numbers = true)]
    pub threads: Option<NonZeroUsize>,

    /// The kernel, as the servers' --kernel: this worker takes the jobs of servers with the
    /// same kernel only (each kernel has its own queue on the broker).
    #[arg(long, value_name = "NAME", default_value = "sum-squares")]
    pub kernel: String,

    /// How long a stored result is kept; afterwards GET /queue/{id} answers 404 (the servers'
    /// --job-ttl).
    #[arg(long, default_value = "300", value_name = "SECONDS", value_parser = common::cli::parse_seconds)]
    pub job_ttl: Duration,

    /// A job whose worker has not renewed its claim for this long (it died) is taken over by
    /// another worker. Claims are renewed every third of it while a job runs.
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = common::cli::parse_seconds)]
    pub lease: Duration,

    /// On SIGINT/SIGTERM, how long to finish the jobs in hand before exiting anyway (the rest
    /// are taken over by other workers once their lease runs out).
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = common::cli::parse_seconds)]
    pub shutdown_timeout: Duration,

    /// This worker's name in the consumer group [default: HOST-PID].
    #[arg(long, value_name = "NAME")]
    pub consumer: Option<String>,

    /// Die with process PID, the one that started this worker (Linux's parent-death signal),
    /// like the servers' flag. bench-runner passes its own id.
    #[arg(long, value_name = "PID")]
    pub exit_with_parent: Option<u32>,

    /// Pin the whole process to these CPUs (`1`, `0-3`, `0,2`), as the servers' --cpus, before
    /// any thread starts; --threads then defaults to their number.
    #[arg(long, value_name = "LIST", value_parser = common::placement::CpuList::parse_online)]
    pub cpus: Option<common::placement::CpuList>,
}

/// What a worker did, reported on stderr when it stops.
#[derive(Debug, Default)]
pub struct Tally {
    /// Jobs taken (new and taken over).
    pub taken: AtomicU64,
    /// Of those, taken over from a worker whose lease ran out.
    pub reclaimed: AtomicU64,
    /// Results stored (the job's first answer).
    pub stored: AtomicU64,
    /// Computed again after another worker had stored the answer (not stored twice).
    pub repeated: AtomicU64,
    /// Ended failed (a panicking kernel, or `n` beyond the kernel's ceiling).
    pub failed: AtomicU64,
}

/// The process: parses the command line, connects, runs until SIGINT/SIGTERM.
pub fn main(kernels: &[&'static dyn Kernel]) -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let kernel = kernel::find(kernels, &cli.kernel)
        .unwrap_or_else(|e| common::cli::usage_error::<Cli>(format!("--kernel: {e}")));
    common::cli::prepare_process(cli.exit_with_parent, cli.cpus.as_ref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        let stop = async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("warning: no SIGTERM handler: {e}");
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        let handed_back = run(&cli, kernel, stop).await?;
        Ok(if handed_back == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

/// What every job task needs.
#[derive(Debug)]
struct Shared {
    keys: Keys,
    consumer: String,
    kernel: &'static dyn Kernel,
    ttl: Duration,
    lease: Duration,
    conn: ConnectionManager,
    tally: Tally,
}

/// Connects to the broker, prints `queue-worker ready …` on stdout, and takes jobs until
/// `stop` resolves; then finishes the jobs in hand (up to `--shutdown-timeout`). Returns how
/// many were handed back unfinished.
pub async fn run(
    cli: &Cli,
    kernel: &'static dyn Kernel,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<usize> {
    let cores = cli
        .cpus
        .as_ref()
        .map_or_else(common::cli::cores, common::placement::CpuList::len);
    let threads = cli.threads.map_or(cores, NonZeroUsize::get);
    let consumer = cli.consumer.clone().unwrap_or_else(default_consumer);
    let keys = Keys::for_kernel(kernel.name());
    let client = cli.broker.client().context("--broker")?;
    let connect = |response: Duration| {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(response))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let client = client.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(3),
                ConnectionManager::new_with_config(client, config),
            )
            .await
            .map_err(|_| anyhow::anyhow!("no answer within 3 s"))?
            .map_err(anyhow::Error::from)
        }
    };
    let unreachable = || format!("cannot reach the broker at {} (--broker)", cli.broker);
    let mut conn = connect(Duration::from_secs(2))
        .await
        .with_context(unreachable)?;
    // The blocking reads get a connection of their own: a command queued behind a blocked
    // XREADGROUP on a multiplexed connection would wait for it.
    let mut reader = connect(READ_BLOCK + Duration::from_secs(2))
        .await
        .with_context(unreachable)?;
    queue::ensure_group(&mut conn, &keys)
        .await
        .with_context(unreachable)?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "queue-worker ready: broker {}, kernel {}, {threads} threads, consumer {consumer}",
            cli.broker,
            kernel.name()
        );
        let _ = out.flush();
    }
    let ctx = Arc::new(Shared {
        keys,
        consumer,
        kernel,
        ttl: cli.job_ttl,
        lease: cli.lease,
        conn: conn.clone(),
        tally: Tally::default(),
    });
    let mut stop = std::pin::pin!(stop);
    let slots = Arc::new(Semaphore::new(threads));
    let mut tasks = JoinSet::new();
    let mut next_reclaim = Instant::now();
    loop {
        while tasks.try_join_next().is_some() {}
        let first = tokio::select! {
            biased;
            () = stop.as_mut() => break,
            permit = Arc::clone(&slots).acquire_owned() => permit.context("the slots closed")?,
        };
        // Every thread free now gets a job from the same read.
        let mut permits = vec![first];
        while let Ok(permit) = Arc::clone(&slots).try_acquire_owned() {
            permits.push(permit);
        }
        // Never raced against the stop signal. Redis hands a read's entries to this consumer
        // as it answers it (they enter its pending list), so a read dropped while in flight
        // stranded them: nobody ran them until another worker's XAUTOCLAIM after the lease,
        // or ever if this was the last worker, while this one exited 0. A read blocks up to
        // READ_BLOCK, so the stop is seen at most that much later, with what it brought in hand.
        let next = take(
            &mut conn,
            &mut reader,
            &ctx,
            permits.len(),
            &mut next_reclaim,
        )
        .await;
        match next {
            // The permits left over (fewer jobs than free threads) are released here.
            Ok(jobs) => {
                for (job, permit) in jobs.into_iter().zip(permits) {
                    tasks.spawn(process(job, Arc::clone(&ctx), permit));
                }
            }
            Err(e) if e.code() == Some("NOGROUP") => {
                // The broker restarted without its data: the queue starts afresh.
                if let Err(e) = queue::ensure_group(&mut conn, &ctx.keys).await {
                    eprintln!("warning: broker: {e}; retrying");
                }
            }
            Err(e) => {
                eprintln!("warning: broker: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        // The stop, looked at without waiting, now that no read is in flight.
        tokio::select! {
            biased;
            () = stop.as_mut() => break,
            () = std::future::ready(()) => {}
        }
    }
    while tasks.try_join_next().is_some() {}
    let in_hand = tasks.len();
    eprintln!(
        "queue-worker: stop signal; finishing {in_hand} jobs in hand (up to {:?})",
        cli.shutdown_timeout
    );
    let deadline = tokio::time::Instant::now() + cli.shutdown_timeout;
    let drained = tokio::time::timeout_at(deadline, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    let left = if drained.is_ok() {
        // Holding nothing now: what the broker still counts as ours must be finished too.
        match finish_own(&mut conn, &ctx, &slots, threads, deadline).await {
            Ok(owned) => owned,
            Err(e) => {
                eprintln!("warning: broker: cannot check this worker's pending entries: {e}");
                1
            }
        }
    } else {
        tasks.len()
    };
    let t = &ctx.tally;
    eprintln!(
        "queue-worker: {} jobs taken ({} taken over from dead workers), {} results stored, {} repeats not stored, {} failed, {left} handed back",
        t.taken.load(Ordering::Relaxed),
        t.reclaimed.load(Ordering::Relaxed),
        t.stored.load(Ordering::Relaxed),
        t.repeated.load(Ordering::Relaxed),
        t.failed.load(Ordering::Relaxed),
    );
    if left > 0 {
        eprintln!(
            "queue-worker: {left} jobs still running at the deadline are HANDED BACK: another worker takes them over after --lease {:?}",
            cli.lease
        );
    }
    Ok(left)
}

/// After the jobs in hand are done: runs the entries the broker still lists as this
/// consumer's (`XREADGROUP … 0`: a result that could not be stored, an entry handed over in a
/// read the worker never ran), until none is left or `deadline`. Returns how many it still owns
/// (`XPENDING` for this consumer): 0 is what lets the worker exit 0.
async fn finish_own(
    conn: &mut ConnectionManager,
    ctx: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    threads: usize,
    deadline: tokio::time::Instant,
) -> redis::RedisResult<usize> {
    // A few rounds: each finishes (acks) what it read, so the next sees only what is left.
    for _ in 0..3 {
        let own = queue::read_own(conn, &ctx.keys, &ctx.consumer, threads).await?;
        if own.is_empty() {
            break;
        }
        eprintln!(
            "queue-worker: {} entries still ours after the jobs in hand; running them before exiting",
            own.len()
        );
        let mut tasks = JoinSet::new();
        for job in own {
            let Ok(permit) = Arc::clone(slots).acquire_owned().await else {
                break;
            };
            ctx.tally.taken.fetch_add(1, Ordering::Relaxed);
            tasks.spawn(process(job, Arc::clone(ctx), permit));
        }
        let finished = tokio::time::timeout_at(deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            break;
        }
    }
    let owned = queue::pending_for(conn, &ctx.keys, &ctx.consumer).await?;
    if owned > 0 {
        eprintln!(
            "queue-worker: {owned} entries still pending for consumer {} at exit: another worker takes them over after the lease",
            ctx.consumer
        );
    }
    Ok(owned)
}

/// The next jobs, at most `count`: one whose worker's lease ran out first, else new ones
/// (waiting up to [`READ_BLOCK`]). Stale jobs are looked for at most every quarter of the lease
/// (`next_reclaim`): one becomes claimable only once its lease has run out, so looking on every
/// take would cost a round trip per job and find nothing sooner than a lease allows; after a
/// find the next take looks again (a dead worker may have left several).
async fn take(
    conn: &mut ConnectionManager,
    reader: &mut ConnectionManager,
    ctx: &Shared,
    count: usize,
    next_reclaim: &mut Instant,
) -> redis::RedisResult<Vec<Taken>> {
    if Instant::now() >= *next_reclaim {
        if let Some(job) = queue::reclaim(conn, &ctx.keys, &ctx.consumer, ctx.lease).await? {
            ctx.tally.reclaimed.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "queue-worker: taking over job {:?} (entry {}): its worker's lease ran out",
                job.id, job.entry
            );
            ctx.tally.taken.fetch_add(1, Ordering::Relaxed);
            return Ok(vec![job]);
        }
        *next_reclaim = Instant::now() + ctx.lease / 4;
    }
    let jobs = queue::read_new(reader, &ctx.keys, &ctx.consumer, count, READ_BLOCK).await?;
    ctx.tally
        .taken
        .fetch_add(jobs.len() as u64, Ordering::Relaxed);
    Ok(jobs)
}

/// Runs one job: marks it running, computes it on the blocking pool while renewing the claim,
/// stores the outcome (retrying while the broker is away).
async fn process(job: Taken, ctx: Arc<Shared>, permit: tokio::sync::OwnedSemaphorePermit) {
    let mut conn = ctx.conn.clone();
    // Marked running while the kernel already runs, not before: the mark is a round trip, and
    // every round trip here holds one of the worker's threads (the same connection sends it
    // before the result; the result wins anyway, as `start` never overwrites a finished job).
    let marking = async {
        let mut conn = ctx.conn.clone();
        if let Some(id) = job.id
            && let Err(e) = queue::start(&mut conn, &ctx.keys, id).await
        {
            eprintln!("warning: job {id}: cannot mark it running: {e}");
        }
    };
    let renewing = {
        let (ctx, entry) = (Arc::clone(&ctx), job.entry.clone());
        tokio::spawn(async move {
            let mut conn = ctx.conn.clone();
            loop {
                tokio::time::sleep(ctx.lease / 3).await;
                if let Err(e) = queue::renew(&mut conn, &ctx.keys, &ctx.consumer, &entry).await {
                    eprintln!("warning: entry {entry}: cannot renew the claim: {e}");
                }
            }
        })
    };
    let kernel = ctx.kernel;
    let n = job.n;
    let computing = async {
        if job.id.is_none() || n > kernel.n_ceiling() {
            eprintln!(
                "error: entry {} is not a job this worker can run (id {:?}, n = {n}); failed",
                job.entry, job.id
            );
            Outcome::Failed
        } else {
            let computed = tokio::task::spawn_blocking(move || {
                let start = Instant::now();
                let total = kernel.run(n);
                (total, start.elapsed())
            })
            .await;
            match computed {
                Ok((total, compute)) => Outcome::Done { total, compute },
                Err(e) => {
                    eprintln!("error: job {:?} (n = {n}): the kernel failed: {e}", job.id);
                    Outcome::Failed
                }
            }
        }
    };
    let ((), outcome) = tokio::join!(marking, computing);
    renewing.abort();
    // Stored or not, the permit goes back only once the job has left this worker's hands.
    let mut delay = Duration::from_millis(100);
    for attempt in 1.. {
        match queue::complete(&mut conn, &ctx.keys, &job, &outcome, ctx.ttl).await {
            Ok(first) => {
                let counter = match (&outcome, first) {
                    (_, false) => &ctx.tally.repeated,
                    (Outcome::Failed, true) => &ctx.tally.failed,
                    (Outcome::Done { .. }, true) => &ctx.tally.stored,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Err(e) if attempt < 30 => {
                eprintln!(
                    "warning: job {:?}: cannot store the result: {e}; retrying",
                    job.id
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                eprintln!(
                    "error: job {:?}: cannot store the result: {e}; giving up (another worker takes it over after the lease)",
                    job.id
                );
                break;
            }
        }
    }
    drop(permit);
}

/// `HOST-PID`: unique among the workers of one broker.
fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}
