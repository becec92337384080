//! The command line every server shares (each binary flattens [`ServerArgs`] into its own
//! `clap` parser), start-up output, a runtime-agnostic termination signal, and how a binary's
//! error ends it ([`exit_code`]).
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
//!   on stderr, in lines starting `shutdown:`). Also when start-up fails (port in use, say):
//!   then stderr has one line, `error: ` and the error with its causes, never a backtrace
//!   ([`exit_code`]).
//! - 2: a bad command line (clap's own status), an unknown `--kernel` included.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Why [`prepare_process`] failed, naming the flag.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// `--exit-with-parent PID`: not our parent, or the parent-death signal could not be set.
    #[error("--exit-with-parent")]
    ExitWithParent(#[source] std::io::Error),
    /// `--cpus`: the affinity could not be set.
    #[error("--cpus: cannot pin the process")]
    Pin(#[source] std::io::Error),
}

use crate::app::Limits;
use crate::kernel::{self, Kernel, N_CEILING};
use crate::lag;
use crate::placement::{self, CpuList};
use crate::queue::BrokerUrl;

/// Default `--max-n` of the default kernel: about half a second of one core (release build).
/// Each kernel has its own ([`Kernel::default_max_n`]).
pub const DEFAULT_MAX_N: u64 = 1_000_000_000;

/// Options common to the three servers.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on. Port 0 picks a free port; the first stdout line
    /// (`listening on http://ADDR`) gives the one bound. Loopback by default: a non-loopback
    /// address prints a warning, as these endpoints let anyone burn CPU. A host name is
    /// resolved (`localhost:8000` binds 127.0.0.1:8000: IPv4 first, as clients expect).
    #[arg(long, default_value = "127.0.0.1:8000", value_parser = parse_bind)]
    pub bind: SocketAddr,

    /// Executor threads that poll async tasks, accepting connections included
    /// [default: the number of cores, or of --cpus]. `1` reproduces a single event loop, like Python's asyncio.
    #[arg(long, value_parser = parse_at_least_one, allow_negative_numbers = true)]
    pub workers: Option<NonZeroUsize>,

    /// Cap of the runtime's blocking thread pool, used by /thread and /background
    /// [default: the runtime's own: 512 for tokio, 500 (or BLOCKING_MAX_THREADS) for async-std and smol].
    #[arg(long, value_parser = parse_at_least_one, allow_negative_numbers = true)]
    pub blocking_threads: Option<NonZeroUsize>,

    /// Largest kernel size `n` a request may ask for; bounds the CPU one request can take
    /// [default: the kernel's, about half a second of one core: 1000000000 for sum-squares].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=N_CEILING))]
    pub max_n: Option<u64>,

    /// The CPU-bound kernel every request runs: sum-squares (the default), argon2, sha256
    /// (docs/kernels.md). `/stats` names it.
    #[arg(long, value_name = "NAME", default_value = "sum-squares")]
    pub kernel: String,

    /// Most /background jobs accepted and not yet finished; past it /background answers 503.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_background: u64,

    /// Threads of the CPU pool (rayon) behind /rayon and /jobs, and permits of /bounded's
    /// semaphore [default: the number of cores, or of --cpus].
    #[arg(long, value_parser = parse_at_least_one, allow_negative_numbers = true)]
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

    /// Most answers /cached keeps (moka's bound: past it, the least likely to be asked again
    /// are evicted, or a new one is not admitted). About 200 bytes each.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_capacity: u64,

    /// How long /cached keeps an answer after computing it (at most a year); afterwards the next
    /// request for it computes it again.
    #[arg(long, default_value = "300", value_name = "SECONDS", value_parser = parse_cache_ttl)]
    pub cache_ttl: Duration,

    /// How long a client may take to send its request headers before the connection is closed
    /// (so a client that never finishes them holds nothing forever) [default: 10; async-std/tide:
    /// fixed at 60 by async-h1, which cannot change it].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub header_timeout: Option<Duration>,

    /// On SIGINT/SIGTERM, how long to wait for in-flight requests and accepted background jobs
    /// before exiting anyway (what is left is reported as abandoned).
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = parse_seconds)]
    pub shutdown_timeout: Duration,

    /// On SIGINT/SIGTERM, how long no request must have started before the connections are
    /// closed: requests on connections accepted before the stop reach their handler meanwhile.
    /// A client that knows it has nothing in flight (bench-runner, between its visits) may
    /// shorten it.
    #[arg(long, default_value = "200", value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub shutdown_quiet_ms: u64,

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

    /// Die with process PID, the one that started this server: when it exits, even killed with
    /// SIGKILL, this server gets SIGKILL (Linux's parent-death signal). Refused at start-up if
    /// PID is not this process's parent (it already exited). bench-runner passes its own id.
    #[arg(long, value_name = "PID")]
    pub exit_with_parent: Option<u32>,

    /// The Redis broker of /queue, redis://HOST:PORT: jobs go on its queue, queue-worker
    /// processes compute them. Checked at start-up (unreachable: exit 1). Without it, /queue
    /// answers 503 `no_broker`.
    #[arg(long, value_name = "URL", value_parser = BrokerUrl::parse)]
    pub broker: Option<BrokerUrl>,

    /// Fault injection, for tests only: every kernel asked for exactly this n panics. Offloaded
    /// ones (/thread, /bounded, /rayon, /jobs, /background) are then answered 500, reported
    /// `failed`, or counted as failed background jobs; inline ones (/generator, /cycle,
    /// /cycle_sleep, /block_in_place) panic in the handler, which each server catches and
    /// answers 500 naming the strategy (counted in `/stats` as `panicked`), and the connection
    /// serves on. `/stats` shows the flag as `panic_on_n`. Hidden from `--help`.
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

    /// What every server does first in `main`: [`prepare_process`] with its
    /// `--exit-with-parent` and `--cpus`.
    pub fn prepare_process(&self) -> Result<(), ProcessError> {
        prepare_process(self.exit_with_parent, self.cpus.as_ref())
    }

    /// `--exit-with-parent PID`, if given: see [`die_with_parent`]. Call it first in `main`.
    pub fn exit_with_parent(&self) -> std::io::Result<()> {
        self.exit_with_parent.map_or(Ok(()), die_with_parent)
    }

    /// `--header-timeout`, or its default.
    pub fn header_timeout(&self) -> Duration {
        self.header_timeout.unwrap_or(DEFAULT_HEADER_TIMEOUT)
    }

    /// [`ServerArgs::limits`] at a server's start-up: a bad `--kernel` or `--max-n` exits 2 with
    /// [`usage_error`] in the format of the server's parser `C`, as any bad option does.
    pub fn limits_or_exit<C: clap::CommandFactory>(
        &self,
        kernels: &[&'static dyn Kernel],
    ) -> Limits {
        self.limits(kernels).unwrap_or_else(|e| usage_error::<C>(e))
    }

    /// The request limits, with `--kernel` looked up in `kernels` (the shipped
    /// [`kernel::KERNELS`], or a list of the caller's own). An unknown kernel, or a `--max-n`
    /// above the kernel's ceiling, is an error naming what is accepted.
    pub fn limits(&self, kernels: &[&'static dyn Kernel]) -> Result<Limits, String> {
        let kernel = kernel::find(kernels, &self.kernel).map_err(|e| format!("--kernel: {e}"))?;
        let max_n = self.max_n.unwrap_or_else(|| kernel.default_max_n());
        if max_n > kernel.n_ceiling() {
            return Err(format!(
                "--max-n {max_n}: the kernel {} accepts at most {}",
                kernel.name(),
                kernel.n_ceiling()
            ));
        }
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Ok(Limits {
            max_n,
            max_background: size(self.max_background),
            cpu_threads: self
                .cpu_threads
                .map_or_else(|| self.cores(), NonZeroUsize::get),
            cpu_pool_nice: self.cpu_pool_nice,
            max_queue: size(self.max_queue),
            job_capacity: size(self.job_capacity),
            job_ttl: self.job_ttl,
            cache_capacity: self.cache_capacity,
            cache_ttl: self.cache_ttl,
            lag_interval: (!self.no_lag_monitor)
                .then(|| Duration::from_micros(self.lag_interval_us)),
            panic_on_n: self.panic_on_n,
            kernel,
            broker: self.broker.clone(),
            settle_quiet: Duration::from_millis(self.shutdown_quiet_ms),
        })
    }
}

/// A thread or worker count: a whole number ≥ 1. clap's own messages for `0` ("number would be
/// zero for non-zero type") and `-1` ("unexpected argument") say nothing a user can act on.
/// bench-runner's `--workers` uses it too.
pub fn parse_at_least_one(s: &str) -> Result<NonZeroUsize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| format!("must be a whole number ≥ 1, got {s:?}"))
}

/// `--bind`: `IP:PORT`, or `HOST:PORT` resolved now (IPv4 first: `localhost:8000` binds
/// 127.0.0.1:8000, where the clients and the printed `http://127.0.0.1:…` expect it).
pub fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let example = "e.g. 127.0.0.1:8000, localhost:8000, [::1]:8000, or port 0 for any free one";
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!("expected HOST:PORT with a port ({example})"));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("expected HOST:PORT ({example})"));
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(s)
        .map_err(|e| format!("cannot resolve host {host:?}: {e} ({example})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("host {host:?} resolves to no address ({example})"))
}

/// A duration in seconds (fractions allowed), for `--job-ttl` and the like; `queue-worker` uses it too.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expected a number of seconds, got {s:?}"))
}

/// `--cache-ttl`: [`parse_seconds`], at most a year (moka refuses, by panicking at start-up,
/// a time-to-live past 1000 years; a year is already "never" for a benchmark).
fn parse_cache_ttl(s: &str) -> Result<Duration, String> {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    let ttl = parse_seconds(s)?;
    if ttl > YEAR {
        return Err(format!("at most a year (31536000 seconds), got {s:?}"));
    }
    Ok(ttl)
}

/// What a process we start does first in `main`, before any thread starts (the servers through
/// [`ServerArgs::prepare_process`], and `queue-worker`): `--exit-with-parent PID` (so that it
/// dies with the process that started it), then `--cpus` (so that every thread inherits the
/// affinity, [`crate::placement`]).
pub fn prepare_process(
    exit_with_parent: Option<u32>,
    cpus: Option<&CpuList>,
) -> Result<(), ProcessError> {
    exit_with_parent
        .map_or(Ok(()), die_with_parent)
        .map_err(ProcessError::ExitWithParent)?;
    if let Some(cpus) = cpus {
        placement::pin_process(cpus).map_err(ProcessError::Pin)?;
    }
    Ok(())
}

/// Has this process killed (SIGKILL) when its parent, process `parent`, exits; a safe wrapper
/// (rustix) of `prctl(PR_SET_PDEATHSIG)`. SIGKILL, not SIGTERM: whoever could want the answers
/// of in-flight work is gone, and a graceful shutdown writing to pipes nobody reads could hang.
///
/// Closes the race with a parent that dies before the call: it fails if `parent` is not the
/// parent, both before the signal is set and after (a process re-parented in between is then
/// caught by the second check). Linux sends the signal when the parent *thread* that forked
/// this process exits: the parent must start it from a thread that lives as long as it does.
pub fn die_with_parent(parent: u32) -> std::io::Result<()> {
    let check = || {
        let now = rustix::process::getppid().map(|p| p.as_raw_pid());
        if now.and_then(|p| u32::try_from(p).ok()) == Some(parent) {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "--exit-with-parent {parent}: process {parent} is not this process's parent (it \
                 already exited?); the parent is {}",
                now.map_or_else(|| "none".to_owned(), |p| p.to_string())
            )))
        }
    };
    check()?;
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    check()
}

/// Exits with clap's usage-error status (2) and `message` in clap's format, for a bad option
/// clap cannot check by itself (an unknown `--kernel`, say). `C` is the server's parser.
pub fn usage_error<C: clap::CommandFactory>(message: String) -> ! {
    C::command()
        .error(clap::error::ErrorKind::InvalidValue, message)
        .exit()
}

/// The exit code of a binary whose `main` body returned `result`: its own code, or for an
/// error, one stderr line `error: ` followed by the error and its causes (anyhow's `{:#}`:
/// `cannot listen on 127.0.0.1:8000: Address already in use (os error 98)`), and 1 (see
/// [Exit status](self#exit-status)). Every server's `main` and `queue-worker`'s end with it.
///
/// Why not return the `Result` from `main`: std prints an `Err` with `Debug`, which for anyhow
/// is a `Caused by:` list over several lines and, when `RUST_BACKTRACE` is set (it often is, in
/// shells and CI), a backtrace of where the error was made: dozens of frames for a port in use,
/// which is the user's to fix, not a bug of ours. A panic still prints its backtrace.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            // writeln, not eprintln: a closed stderr must not turn the error into a panic.
            let _ = writeln!(std::io::stderr(), "{}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// What [`exit_code`] prints for `e`.
fn error_line(e: &anyhow::Error) -> String {
    format!("error: {e:#}")
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
        let limits = cli.server.limits(kernel::KERNELS).expect("limits");
        assert_eq!(
            (limits.max_n, limits.max_background, limits.max_queue),
            (DEFAULT_MAX_N, 1024, 1024)
        );
        assert_eq!((limits.cpu_threads, limits.job_capacity), (cores(), 10_000));
        assert_eq!(limits.job_ttl, Duration::from_secs(300));
        assert_eq!(cli.server.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(limits.lag_interval, Some(Duration::from_millis(1)));
        assert_eq!(limits.settle_quiet, crate::app::SETTLE_QUIET);
    }

    #[test]
    fn the_shutdown_quiet_is_a_flag_of_at_least_a_millisecond() {
        let cli = Cli::try_parse_from(["x", "--shutdown-quiet-ms", "20"]).expect("parses");
        let limits = cli.server.limits(kernel::KERNELS).expect("limits");
        assert_eq!(limits.settle_quiet, Duration::from_millis(20));
        for bad in ["0", "-1", "60001", "x"] {
            assert!(
                Cli::try_parse_from(["x", "--shutdown-quiet-ms", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn cpus_set_the_defaults_and_bad_lists_name_the_flag() {
        let cli =
            Cli::try_parse_from(["x", "--cpus", "0", "--cpu-pool-nice", "19"]).expect("parses");
        assert_eq!(cli.server.workers(), 1);
        let limits = cli.server.limits(kernel::KERNELS).expect("limits");
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
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args)
                .expect("parses")
                .server
                .limits(kernel::KERNELS)
                .expect("limits")
        };
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
            &["x", "--cache-capacity", "0"],
            &["x", "--cache-ttl", "1e12"],
            &["x", "--cache-ttl", "-1"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?} accepted");
        }
    }

    /// Zero and negative counts are refused with a message naming the flag and what it takes,
    /// not clap's raw "number would be zero for non-zero type" or "unexpected argument".
    #[test]
    fn counts_below_one_say_what_is_expected() {
        for flag in ["--workers", "--blocking-threads", "--cpu-threads"] {
            for bad in ["0", "-1", "two"] {
                let e = Cli::try_parse_from(["x", flag, bad]).expect_err("refused");
                let message = e.to_string();
                assert!(message.contains(flag), "{message}");
                assert!(message.contains("must be a whole number ≥ 1"), "{message}");
                assert_eq!(e.exit_code(), 2);
            }
        }
        let cli = Cli::try_parse_from(["x", "--workers", "3"]).expect("parses");
        assert_eq!(cli.server.workers(), 3);
    }

    /// Host names are resolved, `localhost` to 127.0.0.1; what cannot be bound says what to
    /// write instead.
    #[test]
    fn bind_accepts_host_names() {
        let bind = |s: &str| Cli::try_parse_from(["x", "--bind", s]).map(|c| c.server.bind);
        let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
        assert_eq!(
            bind("localhost:8000").expect("localhost"),
            addr("127.0.0.1:8000")
        );
        assert_eq!(bind("localhost:0").expect("port 0"), addr("127.0.0.1:0"));
        assert_eq!(bind("[::1]:9").expect("v6"), addr("[::1]:9"));
        assert_eq!(bind("0.0.0.0:80").expect("any"), addr("0.0.0.0:80"));
        for bad in [
            "localhost",
            "localhost:http",
            ":8000",
            "no-such-host.invalid:8000",
        ] {
            let message = bind(bad).expect_err(bad).to_string();
            assert!(message.contains("--bind"), "{message}");
            assert!(
                message.contains("e.g. 127.0.0.1:8000, localhost:8000"),
                "{message}"
            );
        }
    }

    /// A PID that is not the parent is refused before anything is set (so this test leaves
    /// the test process as it was); the signal itself is tested end to end in bench-runner.
    #[test]
    fn exit_with_parent_refuses_a_pid_that_is_not_the_parent() {
        let cli = Cli::try_parse_from(["x", "--exit-with-parent", "1"]).expect("parses");
        assert_eq!(cli.server.exit_with_parent, Some(1));
        let not_parent = std::process::id();
        let e = die_with_parent(not_parent).expect_err("not the parent");
        assert!(
            e.to_string().contains("is not this process's parent"),
            "{e}"
        );
        assert_eq!(
            rustix::process::parent_process_death_signal().expect("readable"),
            None
        );
        let cli = Cli::try_parse_from(["x"]).expect("parses");
        assert!(cli.server.exit_with_parent().is_ok());
    }

    #[test]
    fn kernels_by_name_with_their_own_max_n() {
        let limits = |args: &[&str]| {
            Cli::try_parse_from(args)
                .expect("parses")
                .server
                .limits(kernel::KERNELS)
        };
        let l = limits(&["x"]).expect("default");
        assert_eq!((l.kernel.name(), l.max_n), ("sum-squares", DEFAULT_MAX_N));
        let l = limits(&["x", "--kernel", "argon2"]).expect("argon2");
        assert_eq!((l.kernel.name(), l.max_n), ("argon2", 10));
        let l = limits(&["x", "--kernel", "argon2", "--max-n", "3"]).expect("argon2");
        assert_eq!(l.max_n, 3);
        let e = limits(&["x", "--kernel", "argon2", "--max-n", "100001"]).expect_err("ceiling");
        assert!(e.contains("at most 100000"), "{e}");
        let e = limits(&["x", "--kernel", "md5"]).expect_err("unknown");
        assert!(
            e.contains("--kernel")
                && e.contains("\"md5\"")
                && e.contains("sum-squares, argon2, sha256"),
            "{e}"
        );
    }

    #[test]
    fn blocking_cap_mirrors_the_blocking_crate() {
        assert_eq!(blocking_crate_default_cap(None), 500);
        assert_eq!(blocking_crate_default_cap(Some("8")), 8);
        assert_eq!(blocking_crate_default_cap(Some("0")), 1);
        assert_eq!(blocking_crate_default_cap(Some("99999")), 10_000);
        assert_eq!(blocking_crate_default_cap(Some("lots")), 500);
    }

    #[test]
    fn an_error_is_one_line_with_its_causes_and_exit_1() {
        let cause = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let e = anyhow::Error::new(cause).context("cannot listen on 127.0.0.1:8000");
        assert_eq!(
            error_line(&e),
            format!(
                "error: cannot listen on 127.0.0.1:8000: {}",
                std::io::Error::from(std::io::ErrorKind::AddrInUse)
            )
        );
        assert_eq!(exit_code(Err(e)), ExitCode::FAILURE);
        assert_eq!(exit_code(Ok(ExitCode::from(3))), ExitCode::from(3));
    }
}
