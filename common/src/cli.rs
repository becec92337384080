//! The command line every server shares (each binary flattens [`ServerArgs`] into its own
//! `clap` parser), start-up output, and a runtime-agnostic termination signal.
//!
//! # Start-up order
//! Every server installs its SIGINT/SIGTERM handler *before* [`announce`] prints the
//! `listening on` line: whoever started it may signal it the moment it reads that line, and a
//! signal that arrives before the handler exists kills the process without a graceful shutdown.
//!
//! # Exit status
//! - 0: stopped by SIGINT/SIGTERM, and everything accepted was done (see
//!   [`crate::App::finish_shutdown`]).
//! - 1: stopped, but accepted work was lost: requests or jobs still running at the shutdown
//!   deadline, or background jobs that panicked or were dropped before they ran (each listed
//!   on stderr, in lines starting `shutdown:`). Also when start-up fails (port in use, say).
//! - 2: a bad command line (clap's own status).

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::Args;

use crate::app::Limits;
use crate::kernel::N_CEILING;
use crate::lag;
use crate::placement::{self, CpuList};

/// Default `--max-n`: about half a second of one core on the kernel (release build).
pub const DEFAULT_MAX_N: u64 = 1_000_000_000;

/// Options common to the three servers.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on. Port 0 picks a free port; the first stdout line
    /// (`listening on http://ADDR`) gives the one bound. Loopback by default: a non-loopback
    /// address prints a warning, as these endpoints let anyone burn CPU.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Executor threads that poll async tasks, accepting connections included
    /// [default: the number of cores, or of --cpus]. `1` reproduces a single event loop, like Python's asyncio.
    #[arg(long)]
    pub workers: Option<NonZeroUsize>,

    /// Cap of the runtime's blocking thread pool, used by /thread and /background
    /// [default: the runtime's own: 512 for tokio, 500 (or BLOCKING_MAX_THREADS) for async-std and smol].
    #[arg(long)]
    pub blocking_threads: Option<NonZeroUsize>,

    /// Largest kernel size `n` a request may ask for; bounds the CPU one request can take.
    #[arg(long, default_value_t = DEFAULT_MAX_N, value_parser = clap::value_parser!(u64).range(0..=N_CEILING))]
    pub max_n: u64,

    /// Most /background jobs accepted and not yet finished; past it /background answers 503.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_background: u64,

    /// Threads of the CPU pool (rayon) behind /rayon and /jobs, and permits of /bounded's
    /// semaphore [default: the number of cores, or of --cpus].
    #[arg(long)]
    pub cpu_threads: Option<NonZeroUsize>,

    /// Most /bounded requests waiting for a permit, and most /jobs queued or running; past it
    /// they answer 503 with Retry-After.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_queue: u64,

    /// Most finished /jobs results kept (oldest evicted first).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub job_capacity: u64,

    /// How long a finished /jobs result is kept; afterwards GET /jobs/{id} answers 404.
    #[arg(long, default_value = "300", value_name = "SECONDS", value_parser = parse_seconds)]
    pub job_ttl: Duration,

    /// How long a client may take to send its request headers before the connection is closed
    /// (so a client that never finishes them holds nothing forever) [default: 10; async-std/tide:
    /// fixed at 60 by async-h1, which cannot change it].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub header_timeout: Option<Duration>,

    /// On SIGINT/SIGTERM, how long to wait for in-flight requests and accepted background jobs
    /// before exiting anyway (what is left is reported as abandoned).
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = parse_seconds)]
    pub shutdown_timeout: Duration,

    /// Pin the whole process (every thread) to these CPUs, e.g. `1`, `0-3`, `0,2`; done before
    /// any thread starts. --workers and --cpu-threads then default to their number.
    #[arg(long, value_name = "LIST", value_parser = CpuList::parse_online)]
    pub cpus: Option<CpuList>,

    /// Nice value (0-19, higher is less urgent) of the CPU pool's threads (/rayon, /jobs), so
    /// the kernel on them yields the core to executor threads that have work [default: the
    /// process's, usually 0].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=19))]
    pub cpu_pool_nice: Option<u8>,

    /// Interval of the executor-lag heartbeat (`GET /lag`), µs: a task on the executor that
    /// sleeps this long on the runtime's timer and records how late it wakes up.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = lag::DEFAULT_INTERVAL_US,
          value_parser = clap::value_parser!(u64).range(1..=lag::MAX_INTERVAL_US))]
    pub lag_interval_us: u64,

    /// Do not run the lag heartbeat (to measure what it costs); `/lag` then answers
    /// `"enabled": false` with no samples.
    #[arg(long)]
    pub no_lag_monitor: bool,

    /// Fault injection, for tests only: every kernel asked for exactly this n panics. Offloaded
    /// ones (/thread, /bounded, /rayon, /jobs, /background) are then answered 500, reported
    /// `failed`, or counted as failed background jobs; inline ones (/generator, /cycle,
    /// /cycle_sleep) panic in the connection's task, which each runtime here catches: that
    /// connection closes with no answer and the server serves on. `/stats` shows it as
    /// `panic_on_n`. Hidden from `--help`.
    #[arg(long, hide = true, value_name = "N")]
    pub panic_on_n: Option<u64>,
}

impl ServerArgs {
    /// `--workers`, or the number of `--cpus`, or of cores.
    pub fn workers(&self) -> usize {
        self.workers.map_or_else(|| self.cores(), NonZeroUsize::get)
    }

    /// The cores this server sizes itself to: those of `--cpus`, or all it may use.
    fn cores(&self) -> usize {
        self.cpus.as_ref().map_or_else(cores, CpuList::len)
    }

    /// Pins the process to `--cpus`, if given; returns the affinity in force. Call it first
    /// in `main`, before any thread starts ([`crate::placement`]).
    pub fn pin(&self) -> std::io::Result<Option<Vec<usize>>> {
        self.cpus.as_ref().map(placement::pin_process).transpose()
    }

    /// `--header-timeout`, or its default.
    pub fn header_timeout(&self) -> Duration {
        self.header_timeout.unwrap_or(DEFAULT_HEADER_TIMEOUT)
    }

    /// The request limits.
    pub fn limits(&self) -> Limits {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Limits {
            max_n: self.max_n,
            max_background: size(self.max_background),
            cpu_threads: self
                .cpu_threads
                .map_or_else(|| self.cores(), NonZeroUsize::get),
            cpu_pool_nice: self.cpu_pool_nice,
            max_queue: size(self.max_queue),
            job_capacity: size(self.job_capacity),
            job_ttl: self.job_ttl,
            lag_interval: (!self.no_lag_monitor)
                .then(|| Duration::from_micros(self.lag_interval_us)),
            panic_on_n: self.panic_on_n,
        }
    }
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expected a number of seconds, got {s:?}"))
}

/// Default `--header-timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The cap the `blocking` crate (under async-std's `spawn_blocking` and smol's `unblock`)
/// applies when nobody calls `set_max_blocking_threads`: `BLOCKING_MAX_THREADS` if it parses,
/// clamped to 1..=10000, else 500. Mirrors blocking 1.7's `Executor::max_threads`.
pub fn blocking_crate_default_cap(env_value: Option<&str>) -> usize {
    env_value
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(500, |v| v.clamp(1, 10_000))
}

/// Prints the first stdout line, `listening on http://ADDR`, and flushes it: bench-runner and
/// the tests read the real address from it. Warns on stderr when not bound to loopback. Call
/// it only once the termination signal's handler is installed (see [Start-up
/// order](self#start-up-order)).
pub fn announce(addr: SocketAddr, info: &crate::app::RuntimeInfo) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server; the line is only for whoever started it.
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
    eprintln!(
        "{} ({}) + {}: {} executor threads, blocking pool up to {} threads, header-read timeout {:?}",
        info.kind.runtime(),
        info.kind.flavor(),
        info.framework,
        info.executor_threads,
        info.blocking_threads_max,
        info.header_read_timeout
    );
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on non-loopback address {addr}: anyone who can reach it can make \
             this server burn CPU (up to --max-n per request)"
        );
    }
}

/// Resolves at the first SIGINT or SIGTERM, on any runtime (the handler runs on its own thread
/// and wakes the future through a channel). For the runtimes without a signal API of their own
/// (async-std and smol); the tokio server uses `tokio::signal`.
///
/// Fails if a handler is already installed in this process.
pub fn termination_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let (tx, rx) = async_channel::bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    })
    .map_err(std::io::Error::other)?;
    Ok(async move {
        let _ = rx.recv().await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["x"]).expect("defaults parse");
        assert_eq!(cli.server.bind, "127.0.0.1:8000".parse().expect("addr"));
        assert_eq!(cli.server.workers(), cores());
        let limits = cli.server.limits();
        assert_eq!(
            (limits.max_n, limits.max_background, limits.max_queue),
            (DEFAULT_MAX_N, 1024, 1024)
        );
        assert_eq!((limits.cpu_threads, limits.job_capacity), (cores(), 10_000));
        assert_eq!(limits.job_ttl, Duration::from_secs(300));
        assert_eq!(cli.server.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(limits.lag_interval, Some(Duration::from_millis(1)));
    }

    #[test]
    fn cpus_set_the_defaults_and_bad_lists_name_the_flag() {
        let cli =
            Cli::try_parse_from(["x", "--cpus", "0", "--cpu-pool-nice", "19"]).expect("parses");
        assert_eq!(cli.server.workers(), 1);
        let limits = cli.server.limits();
        assert_eq!((limits.cpu_threads, limits.cpu_pool_nice), (1, Some(19)));
        let cli = Cli::try_parse_from(["x", "--cpus", "0", "--workers", "3"]).expect("parses");
        assert_eq!(cli.server.workers(), 3);
        for (args, flag) in [
            (["x", "--cpus", "4096"], "--cpus"),
            (["x", "--cpus", ","], "--cpus"),
            (["x", "--cpu-pool-nice", "20"], "--cpu-pool-nice"),
        ] {
            let e = Cli::try_parse_from(args).expect_err("refused");
            assert!(e.to_string().contains(flag), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn lag_flags() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses").server.limits();
        let l = parse(&["x", "--lag-interval-us", "1"]).lag_interval;
        assert_eq!(l, Some(Duration::from_micros(1)));
        let l = parse(&["x", "--lag-interval-us", "1000000"]).lag_interval;
        assert_eq!(l, Some(Duration::from_secs(1)));
        assert_eq!(parse(&["x", "--no-lag-monitor"]).lag_interval, None);
        let e = Cli::try_parse_from(["x", "--lag-interval-us", "0"]).expect_err("refused");
        let message = e.to_string();
        assert!(message.contains("--lag-interval-us"), "{message}");
        assert!(message.contains("1..=1000000"), "{message}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["x", "--workers", "0"][..],
            &["x", "--max-n", "1000000000001"],
            &["x", "--max-background", "0"],
            &["x", "--bind", "localhost"],
            &["x", "--shutdown-timeout", "-1"],
            &["x", "--lag-interval-us", "0"],
            &["x", "--lag-interval-us", "1000001"],
            &["x", "--lag-interval-us", "-5"],
            &["x", "--cpus", ""],
            &["x", "--cpus", "1-0"],
            &["x", "--cpus", "x"],
            &["x", "--cpus", "99999"],
            &["x", "--cpu-pool-nice", "20"],
            &["x", "--cpu-pool-nice", "-1"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn blocking_cap_mirrors_the_blocking_crate() {
        assert_eq!(blocking_crate_default_cap(None), 500);
        assert_eq!(blocking_crate_default_cap(Some("8")), 8);
        assert_eq!(blocking_crate_default_cap(Some("0")), 1);
        assert_eq!(blocking_crate_default_cap(Some("99999")), 10_000);
        assert_eq!(blocking_crate_default_cap(Some("lots")), 500);
    }
}
