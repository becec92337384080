//! The command line, and the [`Settings`] a run derives from it (defaults filled in, `--quick`
//! applied, combinations checked), so the rest of the crate never looks at raw options.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use common::Strategy;
use common::kernel::{self, Kernel};

use crate::client::ClientKind;
use crate::cpu::{self, CpuList};
use crate::servers::ServerSource;
use crate::settings::{Experiment, Plan, QueuePlan, RatePlan, Settings, Steps, Subjects};
use crate::targets::TargetChoice;

/// Default kernel size: the Python demo's n = 10^7, so the default run is the demo's load
/// (20 concurrent requests) and the report can set our figures beside the demo's. It takes
/// 4.5–6.6 ms of one core in a release build (`Kernel::default_work`): the work still dwarfs
/// the ~0.1 ms of HTTP around it, a batch of 20 on one worker lasts about 90 ms (~45 probes at the default 2 ms
/// interval, enough for a p99 that means something), and the whole default matrix
/// (3 runtimes × 2 worker counts × 8 strategies × 5 rounds) runs in about a minute here.
pub const DEFAULT_N: u64 = 10_000_000;
/// Default interval of the /health probe, ms (see [`DEFAULT_N`]).
pub const DEFAULT_PROBE_INTERVAL_MS: u64 = 2;
/// Default batch size: the Python demo's 20 concurrent requests.
pub const DEFAULT_CONCURRENCY: usize = 20;
/// Default rounds per pair: one per pass. Six, so that every comparison rests on at least
/// six rounds per pair, three in each half (odd and even passes) of the run.
pub const DEFAULT_ROUNDS: u32 = 6;
/// `--quick`: kernel size (for the default kernel; a thousandth of each kernel's default `n`,
/// at least 1), batch size, rounds. Tiny: checks the whole path, measures nothing.
pub const QUICK: (u64, usize, u32) = (10_000, 4, 1);

/// Where runs without `--out` go, in the workspace (`--runs-dir` for another place).
pub const RUNS_DIR: &str = "runs";

const AFTER_HELP: &str = "\
Experiments (--experiment): batch, sizes, rate, queue, pools, in that order; without the option,
all but pools (its own make target, make bench-pools).

Every experiment runs in passes: each pass visits every pair (target, workers, strategy) once, in an
order shuffled per pass from --seed, on a fresh server process, so a pair's rounds are spread over
the whole run and a slow minute of the machine falls on every pair alike (docs/methodology.md).

batch: R passes (--rounds); each visit starts the server on 127.0.0.1:0, verifies it with the
conformance checks (first visit; later ones wait for /health and check the answers), warms up,
takes a lone request for T1 (fastest lone request; --calibration more on the first visit), then
one round of C concurrent requests while a /health probe runs open-loop. Results (see Output):
raw.csv (one row per request), probes.csv (one row per probe), rounds.csv (one row per round),
summary.csv (one row per pair: percentiles of all rounds pooled, batch time over rounds),
passes.csv (the machine's speed per pass) and metadata.json; docs/results-format.md describes
every column.

Experiments (--experiment, all by default): batch (above; its n is the largest of --n); sizes:
R passes; each visit, at each n of --n (default 0 and the kernel's n / 10^4 … / 1: for
sum-squares 0, 1000 … 10000000), lone requests for T1 (up to 5 ms of them over the passes) and
one round of C requests with the probe: sizes_raw.csv, sizes_probes.csv, sizes_summary.csv.
rate: open loop, per target at its largest --workers value (the core count by default), at
--rate-n (a tenth of --n by default), for the representative strategies (/cycle, /cycle_sleep,
/thread, /rayon, /bounded, /jobs; any with --strategy): a fresh server per visit, verified, T1
measured, then one step per --load (fraction of the capacity, threads ÷ T1: executor threads
for inline and yielding handlers, cores for the others) or --rate (requests/s): requests sent at
constant intervals (as wrk2, or --arrivals poisson) until at least --step-answers requests
(within --duration and --step-cap) after a warm-up, each timed from its scheduled send time (no
coordinated omission), with a /health probe beside it; the server is idle before each step,
its --max-queue and --max-background set to C (so that bounded strategies can shed within a
step). At most --max-in-flight requests wait; the rest are refused by the generator (its errors,
not the server's). A step whose send lateness p99 exceeds 1 ms is flagged GENERATOR BEHIND: its
figures are not the server's. Files: rate_raw.csv, rate_probes.csv, rate_summary.csv. The
default takes about 1 min 16 s here; for a bigger run:
--experiment rate --step-answers 2000 --load 0.25,0.5,0.75,0.9,1,1.1,1.25,1.5,2.
queue: /queue on a Redis broker (bench-runner's own redis-server from PATH, or --broker), per
target at its largest --workers value, R passes: each visit a fresh server, then bursts of 4 × C
jobs sent at once on /jobs and on /queue with each --queue-workers count of queue-worker
processes (in an order of the visit's own), then with 2 workers of which one is SIGKILLed
mid-burst: every accepted job must still end done with the right total. Files: queue_raw.csv,
queue_summary.csv (a row per burst). /queue pairs of the other experiments get
the first --queue-workers count of workers. Without redis-server (apt-get install redis-server)
/queue is not applicable and the run goes on.
pools: per target and --workers value, /rayon, /jobs and /bounded at each --pool-threads size of
the servers' CPU pool (--cpu-threads: the pool's threads, /bounded's permits) and /thread at each
size of its blocking pool (--blocking-threads); /rayon and /jobs also with the pool at nice 19
(--cpu-pool-nice 19); each such pair visited as the batch experiment's (R passes, one round of C
requests with the probe). Files: pools_raw.csv (a row per round), pools_summary.csv.

Output: without --out, a run writes a fresh directory of its own, runs/<UTC date>-<time>/ in the
workspace (--runs-dir for another place; git-ignored), and prints its absolute path at the start and
the end. The committed baseline results/ is written only with an explicit --out results (make
all-bench). Every run writes its REPORT.md and charts/ beside its CSVs, all swapped in at once. An
--out that holds anything a run does not write (foreign files) is refused before measuring, with the
list, unless --force (which keeps them). Ctrl-C (SIGINT, SIGTERM) stops at once: the visit under way
is dropped, and the visits finished before are written, marked partial in metadata.json and at the
top of REPORT.md; an interrupted run whose --out is results/ writes to a fresh runs/ directory
instead.

Exit status: 0 every pair measured; 1 some pairs failed (they are marked in summary.csv);
2 nothing was measured (bad options, foreign files in --out, build failure, results not writable, a
--url that does not answer GET /health with 200 or does not serve a route --strategy asks for, or
every pair failed: no CSV written, previous results kept), or the results were written but their
report could not be; 130 interrupted (servers stopped, what was finished written as a partial run;
nothing if no visit had finished).

Examples:
  cargo run -p bench-runner --release                      # every target, every strategy, to runs/
  cargo run -p bench-runner --release -- --out results     # the same, replacing the baseline
  cargo run -p bench-runner --release -- --target smol     # one runtime
  cargo run -p bench-runner --release -- --n 10000000      # the Python demo's load
  cargo run -p bench-runner --release -- --url http://127.0.0.1:8000   # your server: what it serves
  cargo run -p bench-runner --release -- --experiment rate --target tokio --duration 2";

/// Measures the workspace's servers (or any server at `--url`) under CPU-bound request handlers.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench-runner", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Experiments to run, comma-separated, always in the order batch, sizes, rate, queue,
    /// pools: `batch` (C concurrent requests per round), `sizes` (the work-size sweep over --n),
    /// `rate` (open loop at several offered loads), `queue` (/queue's bursts, 1 and 2 worker
    /// processes, a worker killed), `pools` (the pool-size sweep, --pool-threads), or `all`
    /// [default: all but pools].
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_experiment, help_heading = "What to measure")]
    pub experiment: Vec<ExperimentChoice>,

    /// Which servers to measure, comma-separated (always run in the order of the targets'
    /// list) [default: all].
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "LIST",
        help_heading = "What to measure"
    )]
    pub target: Vec<TargetChoice>,

    /// Executor thread counts to sweep, comma-separated (`1,2`) [default: 1 and the core count].
    /// One worker reproduces Python's single event loop.
    #[arg(long, value_delimiter = ',', value_name = "LIST",
          value_parser = common::cli::parse_at_least_one, allow_negative_numbers = true, help_heading = "What to measure")]
    pub workers: Vec<NonZeroUsize>,

    /// Strategies to measure, comma-separated, always run in the order of `common::Strategy::ALL`
    /// [default: all of them; with --url, those the server serves (the rest named): with this
    /// option, each one must be served].
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_strategy, help_heading = "What to measure")]
    pub strategy: Vec<Strategy>,

    /// /cached in the batch experiment: besides its batch of identical requests (which miss
    /// together: the coalescing case), one round per pass at each of these hit ratios (0 to 1,
    /// comma-separated): each request asks for a pre-computed n with that probability, for a
    /// never-asked one otherwise (drawn from --seed); cache.csv reports the ratio the server
    /// counted. `none`: the identical batch only.
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_hit_ratio,
          default_value = "0,0.5,0.9,0.99", help_heading = "What to measure")]
    pub cache_hit: Vec<Option<f64>>,

    /// Rounds (batches) per pair, one per pass: every pass visits each pair once, in an
    /// order shuffled from --seed, on a fresh server process; in the sizes experiment, rounds
    /// per n; in the queue experiment, bursts per configuration [default: 6; 1 with --quick].
    #[arg(long, value_parser = whole_number::<u32>(1, u32::MAX.into()), allow_negative_numbers = true, help_heading = "Load and timing")]
    pub rounds: Option<u32>,

    /// Seed of each pass's shuffled order of the pairs (recorded in metadata.json): the same
    /// seed visits the pairs in the same order.
    #[arg(long, default_value_t = crate::harness::passes::DEFAULT_SEED, help_heading = "Load and timing")]
    pub seed: u64,

    /// Concurrent requests per batch, C [default: 20, as in the Python demo; 4 with --quick].
    #[arg(long, short = 'c', value_parser = whole_number::<u64>(1, 10_000), allow_negative_numbers = true, help_heading = "Load and timing")]
    pub concurrency: Option<u64>,

    // Its help is generated from the kernels' list (`n_help`): their default n and its work.
    #[arg(long, short = 'n', help = n_help(), value_delimiter = ',', value_name = "LIST",
          value_parser = whole_number::<u64>(0, common::kernel::N_CEILING),
          allow_negative_numbers = true, help_heading = "What to measure")]
    pub n: Vec<u64>,

    /// `yield_every` sent to /cycle_sleep [default: the server's, 100000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), help_heading = "What to measure")]
    pub yield_every: Option<u64>,

    // Its help is generated from the kernels' list (`kernel_help`).
    #[arg(
        long,
        help = kernel_help(),
        value_name = "NAME",
        default_value = "sum-squares",
        help_heading = "What to measure"
    )]
    pub kernel: String,

    /// Interval of the open-loop /health probe, in milliseconds.
    #[arg(long, default_value_t = DEFAULT_PROBE_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(1..=10_000), help_heading = "Load and timing")]
    pub probe_interval_ms: u64,

    /// Lone requests before the rounds (the calibration); T1 is the fastest of them and of one
    /// more before each round.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100), help_heading = "Load and timing")]
    pub calibration: u64,

    /// Timeout of every request (probes included), in seconds.
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = parse_seconds, help_heading = "Load and timing")]
    pub timeout: Duration,

    /// HTTP client: wire (HTTP/1.1 written and read by bench-runner on its pooled connections:
    /// the leanest), hyper (hyper's HTTP/1 connections in the same pool), reqwest (hyper with
    /// reqwest's pool and URL handling) or surf (async-h1); all pure Rust, no TLS.
    #[arg(long, value_enum, default_value_t = ClientKind::Wire, help_heading = "Load and timing")]
    pub client: ClientKind,

    /// Measure the server at this base URL (`http://HOST:PORT`) instead of starting ours: yours
    /// (runtimes/tokio-axum/examples/own_server.rs is the smallest), or the Python FastAPI
    /// demo. It must answer GET /health with 200 (checked once, first: otherwise exit 2 at
    /// once); each strategy's route is asked once: without --strategy the run measures those
    /// served and names the rest, with it each one must be served. Verified in the conformance
    /// suite's external mode (status, and a JSON `total` where there is one). Never measured
    /// there: /background (its completion is known only from our /stats), the rate and queue
    /// experiments; sizes only when the server honours n. docs/servers.md, "Measuring your own
    /// server".
    #[arg(long, value_name = "URL", conflicts_with_all = ["target", "workers", "server_dir", "allow_debug"], help_heading = "Your own server (--url)")]
    pub url: Option<String>,

    /// Directory the result files go to, with their REPORT.md and charts/ (the committed
    /// baseline is `results`: `make all-bench` passes `--out results`). Without it, a fresh
    /// directory of its own under --runs-dir. Its run's files are replaced as a whole at the
    /// end of a run that measured something; a DIR that holds anything else (foreign files) is
    /// refused before measuring, unless --force; a run where every pair failed leaves it
    /// untouched.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// With --out: measure even though DIR holds files bench-runner does not write; they are
    /// kept beside the results (nothing a run did not write is deleted).
    #[arg(long, help_heading = "Output")]
    pub force: bool,

    /// Where a run without --out (and an interrupted run whose --out is the baseline
    /// results/) makes its own directory, `<UTC date>-<time>` (e.g. 20261202-201500)
    /// [default: runs/ in the workspace, found from where bench-runner was built, whatever
    /// the current directory; git-ignored].
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub runs_dir: Option<PathBuf>,

    /// Tiny n, C = 4, 1 round: checks the whole path in seconds, measures nothing useful.
    #[arg(long, help_heading = "Load and timing")]
    pub quick: bool,

    /// Take the server binaries from DIR instead of building them with
    /// `cargo build --release`. DIR must be a release build (`target/release`) unless
    /// --allow-debug.
    #[arg(long, value_name = "DIR", help_heading = "Servers and cores")]
    pub server_dir: Option<PathBuf>,

    /// Pin every server we start to these CPUs (`1`, `0-3`, `0,2`; passed as the servers'
    /// `--cpus`). The default worker sweep, every pool the server sizes from the core count,
    /// and the ideal batch time then count these CPUs only. Must not overlap --client-cpus.
    #[arg(long, value_name = "LIST", value_parser = parse_cpu_list, conflicts_with = "url", help_heading = "Servers and cores")]
    pub server_cpus: Option<CpuList>,

    /// Pin bench-runner itself (load generator and probe) to these CPUs, before it starts any
    /// thread. Must not overlap --server-cpus.
    #[arg(long, value_name = "LIST", value_parser = parse_cpu_list, help_heading = "Servers and cores")]
    pub client_cpus: Option<CpuList>,

    /// An argument added to every server's command line, repeatable: e.g.
    /// `--server-arg=--no-lag-monitor` (to measure the lag monitor's cost),
    /// `--server-arg=--cpu-pool-nice --server-arg=19`.
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        conflicts_with = "url",
        help_heading = "Servers and cores"
    )]
    pub server_arg: Vec<String>,

    /// Rate experiment: offered loads, as fractions of the pair's capacity (threads ÷ T1),
    /// comma-separated, any order [default: 0.5,0.75,1,1.25,1.5,2; 0.5,1.5 with --quick].
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_positive,
          allow_negative_numbers = true, conflicts_with = "rate", help_heading = "Rate experiment")]
    pub load: Vec<f64>,

    /// Rate experiment: offered rates in requests per second, comma-separated, instead of
    /// --load (the same for every pair).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_positive,
          allow_negative_numbers = true, help_heading = "Rate experiment")]
    pub rate: Vec<f64>,

    /// Rate experiment: shortest measured time of each step, in seconds, after a warm-up of a
    /// tenth of it (at least 50 ms) on the same schedule [default: 0.1, as with --quick].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true, help_heading = "Rate experiment")]
    pub duration: Option<Duration>,

    /// Rate experiment: each step is measured until it has sent at least this many requests,
    /// within --duration and --step-cap [default: 500; 100 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rate experiment")]
    pub step_answers: Option<u64>,

    /// Rate experiment: longest measured time of each step, in seconds, whatever it has sent.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true, default_value = "2", help_heading = "Rate experiment")]
    pub step_cap: Duration,

    /// Rate experiment: the kernel size of its requests [default: a tenth of --n, at least 1:
    /// 500 answers a step at a quarter of the capacity take 0.7 s at 10^6 on 2 cores, 7 s at
    /// 10^7].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rate experiment")]
    pub rate_n: Option<u64>,

    /// Rate experiment: how requests are spaced: `constant` intervals (as wrk2: the same
    /// schedule for every pair) or `poisson` arrivals drawn from --seed (as independent users
    /// make them; the same arrivals, scaled to each step's rate, for every pair).
    #[arg(long, value_enum, default_value_t = crate::settings::Arrivals::Constant, help_heading = "Rate experiment")]
    pub arrivals: crate::settings::Arrivals,

    /// Rate experiment: at most this many requests in flight; a request due while the cap is
    /// reached is not sent and counted as the generator's error (`refused`), never the server's.
    #[arg(long, value_name = "N", default_value_t = crate::settings::DEFAULT_MAX_IN_FLIGHT,
          value_parser = whole_number::<usize>(1, 10_000), allow_negative_numbers = true, help_heading = "Rate experiment")]
    pub max_in_flight: usize,

    /// The Redis broker of the /queue pairs (`redis://HOST:PORT`), instead of a redis-server
    /// of bench-runner's own (started from PATH on a free loopback port, no persistence,
    /// stopped at the end). Without either, /queue pairs are not applicable.
    #[arg(long, value_name = "URL", value_parser = common::queue::BrokerUrl::parse, conflicts_with = "url", help_heading = "Queue experiment")]
    pub broker: Option<common::queue::BrokerUrl>,

    /// queue-worker processes per /queue pair, comma-separated: the batch, sizes and rate
    /// experiments use the first, the queue experiment measures each [default: 1,2].
    #[arg(long, value_delimiter = ',', value_name = "LIST",
          value_parser = common::cli::parse_at_least_one, allow_negative_numbers = true, help_heading = "Queue experiment")]
    pub queue_workers: Vec<NonZeroUsize>,

    /// Kernels at once in each queue-worker process (its --threads) [default: the cores the
    /// servers may use, as their CPU pool].
    #[arg(long, value_name = "N", value_parser = common::cli::parse_at_least_one,
          allow_negative_numbers = true, help_heading = "Queue experiment")]
    pub queue_worker_threads: Option<NonZeroUsize>,

    /// Pools experiment: the pool sizes to sweep, comma-separated (the servers'
    /// --cpu-threads for /rayon, /jobs and /bounded, --blocking-threads for /thread)
    /// [default: 1, cores/2, cores-1, cores, 2 x cores, 4 x cores, each once, the cores being
    /// those the servers may use (--server-cpus): 1,2,4,8 on 2 cores].
    #[arg(long, value_delimiter = ',', value_name = "LIST",
          value_parser = common::cli::parse_at_least_one, allow_negative_numbers = true, help_heading = "Pools experiment")]
    pub pool_threads: Vec<NonZeroUsize>,

    /// Accept server binaries from a non-release --server-dir (`target/debug`). Only with
    /// --quick: a debug-built server measures the wrong thing. The profile goes to metadata.json.
    #[arg(
        long,
        requires = "quick",
        requires = "server_dir",
        help_heading = "Servers and cores"
    )]
    pub allow_debug: bool,
}

/// `--kernel`'s help: every kernel of `common::kernel::KERNELS`, described by itself
/// (`kernel::describe`: what it computes, its default n and that n's work).
fn kernel_help() -> String {
    let list: Vec<String> = kernel::KERNELS
        .iter()
        .map(|k| kernel::describe(*k))
        .collect();
    format!(
        "The CPU-bound kernel: every server started runs it (`--kernel`), a --url server must \
         say in /stats that it does (or run the default), and every answer is checked for it; \
         docs/kernels.md. One of: {}",
        list.join("; ")
    )
}

/// `--n`'s help, with each kernel's default n and its work from the kernels' list.
fn n_help() -> String {
    let defaults: Vec<String> = kernel::KERNELS
        .iter()
        .map(|k| {
            let work = k
                .default_work()
                .map(|w| format!(", {w}"))
                .unwrap_or_default();
            format!("{} {}(s) for {}{work}", k.default_n(), k.unit(), k.name())
        })
        .collect();
    format!(
        "Kernel sizes n, comma-separated, in units of the kernel's work (0 allowed: the HTTP and \
         offload overhead alone). The sizes experiment sweeps the list (sorted, each once); batch \
         measures at its largest value [default: the kernel's n: {} (of one core on this \
         project's machine); a thousandth of it with --quick; the sizes sweep: 0 and that n \
         divided by 10^4, 10^3, 10^2, 10 and 1 (0 and the quick n with --quick)]",
        defaults.join("; ")
    )
}

/// One value of `--experiment`: an experiment, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentChoice {
    /// This experiment.
    One(Experiment),
    /// Every experiment ([`Experiment::ALL`]).
    All,
}

fn parse_experiment(s: &str) -> Result<ExperimentChoice, String> {
    match s.trim() {
        "all" => Ok(ExperimentChoice::All),
        name => Experiment::from_name(name)
            .map(ExperimentChoice::One)
            .ok_or_else(|| {
                let names: Vec<&str> = Experiment::ALL.iter().map(|e| e.name()).collect();
                format!(
                    "unknown experiment {s:?}; one of: {}, all",
                    names.join(", ")
                )
            }),
    }
}

impl Cli {
    /// Resolves defaults and checks what clap cannot, with the shipped kernels.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        self.settings_with(kernel::KERNELS)
    }

    /// [`Cli::settings`], with `--kernel` looked up in `kernels`.
    pub fn settings_with(&self, kernels: &[&'static dyn Kernel]) -> anyhow::Result<Settings> {
        self.check_cpus().map_err(anyhow::Error::msg)?;
        let kernel =
            kernel::find(kernels, &self.kernel).map_err(|e| anyhow::anyhow!("--kernel: {e}"))?;
        // The cores the server may use: the ideal batch time and the default sweep count these.
        let cores = match &self.server_cpus {
            Some(list) => list.len(),
            None => common::cli::cores(),
        };
        let (_, quick_c, quick_rounds) = QUICK;
        let q = self.quick;
        let quick_n = (kernel.default_n() / 1000).max(1);
        let default_n = if q { quick_n } else { kernel.default_n() };
        let sizes = sizes_sweep(&self.n, default_n, q);
        for &n in &sizes {
            if n > kernel.n_ceiling() {
                bail!(
                    "--n {n}: the kernel {} accepts at most {}",
                    kernel.name(),
                    kernel.n_ceiling()
                );
            }
        }
        // The batch experiment (and every other measuring at one size) takes the largest.
        let n = self.n.iter().copied().max().unwrap_or(default_n);
        let concurrency = match self.concurrency {
            Some(c) => usize::try_from(c).context("--concurrency too large")?,
            None if q => quick_c,
            None => DEFAULT_CONCURRENCY,
        };
        let rounds = self
            .rounds
            .unwrap_or(if q { quick_rounds } else { DEFAULT_ROUNDS });

        let subjects = match &self.url {
            Some(url) => Subjects::External {
                url: parse_base_url(url)?,
            },
            None => {
                let mut workers: Vec<usize> = if self.workers.is_empty() {
                    vec![1, cores]
                } else {
                    self.workers.iter().map(|w| w.get()).collect()
                };
                workers.dedup();
                let source = match &self.server_dir {
                    Some(dir) => ServerSource::Dir {
                        dir: dir.clone(),
                        allow_debug: self.allow_debug,
                    },
                    None => ServerSource::Build,
                };
                Subjects::Servers {
                    targets: TargetChoice::union(&self.target),
                    workers,
                    source,
                }
            }
        };

        // Without --strategy, every one: a --url server is then measured on those it serves
        // (harness::external::discover).
        let strategies = if self.strategy.is_empty() {
            Strategy::ALL.to_vec()
        } else {
            Strategy::ALL
                .into_iter()
                .filter(|s| self.strategy.contains(s))
                .collect()
        };

        let plan = Plan {
            kernel,
            n,
            yield_every: self.yield_every,
            concurrency,
            rounds,
            probe_interval: Duration::from_millis(self.probe_interval_ms),
            calibration: usize::try_from(self.calibration).unwrap_or(1),
            warmup: 2,
            request_timeout: self.timeout,
            cores,
        };
        let mut server_args = Vec::new();
        if let Some(list) = &self.server_cpus {
            server_args.extend(["--cpus".to_owned(), list.to_string()]);
        }
        server_args.extend(self.server_arg.iter().cloned());
        // Without --experiment, the default run's (all but pools); `all` is every one.
        let experiments = if self.experiment.is_empty() {
            Experiment::DEFAULT.to_vec()
        } else if self.experiment.contains(&ExperimentChoice::All) {
            Experiment::ALL.to_vec()
        } else {
            Experiment::ALL
                .into_iter()
                .filter(|e| self.experiment.contains(&ExperimentChoice::One(*e)))
                .collect()
        };
        let mut rate = RatePlan::new(
            if self.rate.is_empty() {
                Steps::Load(self.load.clone())
            } else {
                Steps::Rate(self.rate.clone())
            },
            self.duration,
            self.max_in_flight,
            q,
            self.arrivals,
            self.seed,
        );
        if let Some(answers) = self.step_answers {
            rate.answers = answers;
        }
        rate.cap = self.step_cap.max(rate.duration);
        rate.n = self.rate_n;
        let mut queue_workers: Vec<usize> = if self.queue_workers.is_empty() {
            vec![1, 2]
        } else {
            self.queue_workers.iter().map(|w| w.get()).collect()
        };
        queue_workers.dedup();
        let queue = QueuePlan {
            broker: self.broker.clone(),
            workers: queue_workers,
            threads: self.queue_worker_threads.map_or(cores, NonZeroUsize::get),
        };
        let mut pool_sizes: Vec<usize> = if self.pool_threads.is_empty() {
            crate::settings::pool_sweep(cores)
        } else {
            self.pool_threads.iter().map(|k| k.get()).collect()
        };
        pool_sizes.sort_unstable();
        pool_sizes.dedup();
        let mut cache_hit: Vec<f64> = self.cache_hit.iter().flatten().copied().collect();
        cache_hit.sort_by(f64::total_cmp);
        cache_hit.dedup();
        Ok(Settings {
            pool_sizes,
            cache_hit,
            queue,
            rate,
            seed: self.seed,
            experiments,
            sizes,
            subjects,
            strategies,
            strategies_asked: !self.strategy.is_empty(),
            plan,
            client: self.client,
            out: self.out.clone(),
            force: self.force,
            runs_dir: self
                .runs_dir
                .clone()
                .unwrap_or_else(|| crate::servers::workspace_root().join(RUNS_DIR)),
            quick: self.quick,
            server_cpus: self.server_cpus.clone(),
            client_cpus: self.client_cpus.clone(),
            server_args,
        })
    }

    /// The CPU lists are each valid (checked when parsed) and disjoint. Called by `main`
    /// before anything starts, and again by [`Cli::settings`].
    pub fn check_cpus(&self) -> Result<(), String> {
        cpu::check_apart(self.server_cpus.as_ref(), self.client_cpus.as_ref())
    }
}

/// The sizes experiment's sweep: `given` (`--n`) sorted, each once; without it, 0 and
/// `default_n` divided by 10^4, 10^3, 10^2, 10 and 1 (from nothing to the batch's work, a
/// decade apart); with `--quick`, 0 and `default_n` only.
pub fn sizes_sweep(given: &[u64], default_n: u64, quick: bool) -> Vec<u64> {
    let mut sizes: Vec<u64> = if !given.is_empty() {
        given.to_vec()
    } else if quick {
        vec![0, default_n]
    } else {
        let mut v = vec![0];
        v.extend([10_000, 1000, 100, 10, 1].map(|d| default_n / d));
        v
    };
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// A CPU list, checked against the machine's online CPUs.
fn parse_cpu_list(s: &str) -> Result<CpuList, String> {
    CpuList::parse_online(s, &CpuList::online()).map_err(|e| e.to_string())
}

/// A whole number in `min..=max`, refused with a message that says so. Without it clap takes
/// `--n -5` for a flag ("unexpected argument '-5'"); clap names the option in front of it.
fn whole_number<T: TryFrom<u64>>(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| format!("must be a whole number from {min} to {max}, got {s:?}"))
    }
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    Strategy::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
        format!("unknown strategy {s:?}; one of: {}", names.join(", "))
    })
}

/// A positive finite number (a load fraction or a rate): 0, negatives, NaN and infinity refused.
/// A hit ratio for `--cache-hit`: 0 to 1; `none` for no key-mix round.
fn parse_hit_ratio(s: &str) -> Result<Option<f64>, String> {
    if s.trim() == "none" {
        return Ok(None);
    }
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .map(Some)
        .ok_or_else(|| format!("a hit ratio is a number from 0 to 1 (or `none`), got {s:?}"))
}

fn parse_positive(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 1e6)
        .ok_or_else(|| format!("must be a number above 0 (and at most 1000000), got {s:?}"))
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expected a number of seconds in (0, 3600], got {s:?}"))
}

/// `http://HOST:PORT`, without a trailing `/`. Only plain HTTP: both clients are built without TLS.
fn parse_base_url(url: &str) -> anyhow::Result<String> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!(
            "--url {url:?}: expected http://HOST:PORT (plain HTTP; the clients are built without TLS)"
        );
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
        bail!(
            "--url {url:?}: expected http://HOST:PORT with no path (the endpoints' paths are appended)"
        );
    }
    Ok(format!("http://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        let mut all = vec!["bench-runner"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn refused(args: &[&str]) -> bool {
        let mut all = vec!["bench-runner"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).is_err()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cache_hit_ratios_are_sorted_once_and_bounded() {
        let s = parse(&["--cache-hit", "0.9,0,0.9"])
            .settings()
            .expect("settings");
        assert_eq!(s.cache_hit, [0.0, 0.9]);
        let s = parse(&["--cache-hit", "none"])
            .settings()
            .expect("settings");
        assert!(s.cache_hit.is_empty());
        for bad in ["1.5", "-0.1", "x", ""] {
            assert!(refused(&["--cache-hit", bad]), "{bad}");
        }
    }

    #[test]
    fn defaults() {
        let s = parse(&[]).settings().expect("settings");
        let cores = common::cli::cores();
        let mut want_workers = vec![1, cores];
        want_workers.dedup();
        match &s.subjects {
            Subjects::Servers {
                targets,
                workers,
                source,
            } => {
                assert_eq!(targets, &crate::targets::TARGETS.to_vec());
                assert_eq!(workers, &want_workers);
                assert_eq!(source, &ServerSource::Build);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.strategies, Strategy::ALL.to_vec());
        assert_eq!(s.cache_hit, [0.0, 0.5, 0.9, 0.99]);
        assert_eq!(s.plan.n, DEFAULT_N);
        assert_eq!(s.plan.concurrency, 20);
        assert_eq!(s.plan.rounds, 6);
        assert_eq!(s.experiments, Experiment::DEFAULT.to_vec());
        assert_eq!(s.pool_sizes, crate::settings::pool_sweep(cores));
        assert_eq!(
            s.plan.probe_interval,
            Duration::from_millis(DEFAULT_PROBE_INTERVAL_MS)
        );
        assert_eq!(s.plan.request_timeout, Duration::from_secs(30));
        assert_eq!(s.plan.calibration, 5);
        assert_eq!(s.client, ClientKind::Wire);
        assert_eq!(s.out, None);
        assert!(!s.force);
        assert_eq!(s.runs_dir, crate::servers::workspace_root().join("runs"));
        assert!(!s.quick);
    }

    /// The pools experiment's sweep follows the cores the servers may use (issue 25).
    #[test]
    fn the_pool_sweep_follows_server_cpus() {
        let s = parse(&["--experiment", "pools", "--server-cpus", "0"])
            .settings()
            .expect("settings");
        assert_eq!(s.experiments, [Experiment::Pools]);
        assert_eq!(s.pool_sizes, [1, 2, 4]);
        let s = parse(&["--pool-threads", "8,1,3,1"])
            .settings()
            .expect("settings");
        assert_eq!(s.pool_sizes, [1, 3, 8]);
        assert!(refused(&["--pool-threads", "0"]));
    }

    #[test]
    fn cpu_lists() {
        let s = parse(&["--server-cpus", "0", "--server-arg=--no-lag-monitor"])
            .settings()
            .expect("settings");
        assert_eq!(s.plan.cores, 1);
        match &s.subjects {
            Subjects::Servers { workers, .. } => assert_eq!(workers, &[1]),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.server_args, ["--cpus", "0", "--no-lag-monitor"]);
        assert_eq!(s.server_cpus.map(|l| l.cpus()), Some(vec![0]));
        let s = parse(&["--server-arg", "--cpu-pool-nice", "--server-arg", "19"])
            .settings()
            .expect("settings");
        assert_eq!(s.server_args, ["--cpu-pool-nice", "19"]);
        assert_eq!(s.plan.cores, common::cli::cores());
        // Malformed, empty, offline: refused by clap, naming the flag.
        for bad in ["", "x", "1-0", "99999"] {
            let mut all = vec!["bench-runner", "--server-cpus", bad];
            let err = Cli::try_parse_from(&all).expect_err(bad).to_string();
            assert!(err.contains("--server-cpus"), "{err}");
            all[1] = "--client-cpus";
            assert!(refused(&all[1..]), "{bad}");
        }
        // Overlap: refused by settings (and by main, before anything starts).
        let cli = parse(&["--server-cpus", "0", "--client-cpus", "0"]);
        let err = cli.check_cpus().expect_err("overlap");
        assert!(err.contains("overlap on CPU 0"), "{err}");
        assert!(cli.settings().is_err());
        assert!(refused(&["--url", "http://x:1", "--server-cpus", "0"]));
    }

    #[test]
    fn quick_shrinks_only_what_is_not_given() {
        let s = parse(&["--quick"]).settings().expect("settings");
        assert_eq!(
            (s.plan.n, s.plan.concurrency, s.plan.rounds),
            (10_000, 4, 1)
        );
        let s = parse(&["--quick", "--n", "7", "-c", "3", "--rounds", "2"])
            .settings()
            .expect("settings");
        assert_eq!((s.plan.n, s.plan.concurrency, s.plan.rounds), (7, 3, 2));
    }

    #[test]
    fn lists_and_choices() {
        let s = parse(&[
            "--target",
            "async-std",
            "--workers",
            "1,4,4",
            "--strategy",
            "thread,cycle",
            "--client",
            "surf",
            "--out",
            "/tmp/x",
            "--timeout",
            "2.5",
            "--probe-interval-ms",
            "2",
        ])
        .settings()
        .expect("settings");
        match &s.subjects {
            Subjects::Servers {
                targets, workers, ..
            } => {
                assert_eq!(targets.len(), 1);
                assert_eq!(targets[0].package, "server-async-std-tide");
                assert_eq!(workers, &[1, 4]);
            }
            other => panic!("{other:?}"),
        }
        // Always in Strategy::ALL order, whatever the command line's.
        assert_eq!(s.strategies, vec![Strategy::Cycle, Strategy::Thread]);
        assert_eq!(s.client, ClientKind::Surf);
        assert_eq!(s.plan.request_timeout, Duration::from_millis(2500));
        assert_eq!(s.plan.probe_interval, Duration::from_millis(2));
    }

    #[test]
    fn server_dir_and_debug_builds() {
        let s = parse(&["--quick", "--server-dir", "target/debug", "--allow-debug"])
            .settings()
            .expect("settings");
        match s.subjects {
            Subjects::Servers { source, .. } => assert_eq!(
                source,
                ServerSource::Dir {
                    dir: PathBuf::from("target/debug"),
                    allow_debug: true
                }
            ),
            other => panic!("{other:?}"),
        }
        // Debug builds only for --quick, and only with an explicit directory.
        assert!(refused(&["--server-dir", "target/debug", "--allow-debug"]));
        assert!(refused(&["--quick", "--allow-debug"]));
    }

    #[test]
    fn external_url() {
        let s = parse(&["--url", "http://127.0.0.1:8000/"])
            .settings()
            .expect("settings");
        assert_eq!(
            s.subjects,
            Subjects::External {
                url: "http://127.0.0.1:8000".into()
            }
        );
        assert!(parse(&["--url", "https://example.com"]).settings().is_err());
        assert!(parse(&["--url", "http://host:1/path"]).settings().is_err());
        assert!(parse(&["--url", "http://"]).settings().is_err());
        assert!(refused(&["--url", "http://h:1", "--target", "smol"]));
        assert!(refused(&["--url", "http://h:1", "--workers", "1"]));
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--workers", "0"][..],
            &["--workers", "x"],
            &["--rounds", "0"],
            &["--concurrency", "0"],
            &["--n", ""],
            &["--n", "5,-1"],
            &["--n", "1,,2"],
            &["--n", "1000000000001"],
            &["--probe-interval-ms", "0"],
            &["--strategy", "sleep"],
            &["--target", "nginx"],
            &["--client", "curl"],
            &["--timeout", "0"],
            &["--timeout", "NaN"],
        ] {
            assert!(refused(args), "{args:?} accepted");
        }
    }

    /// Negative, zero and non-numeric counts: one message naming the option and the numbers it
    /// takes (clap alone said "unexpected argument '-5'" and "number would be zero").
    #[test]
    fn bad_numbers_name_the_option_and_what_it_takes() {
        let message = |args: &[&str]| {
            let mut all = vec!["bench-runner"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).expect_err("refused").to_string()
        };
        for (flag, bad, takes) in [
            (
                "--n",
                "-5",
                "must be a whole number from 0 to 1000000000000",
            ),
            ("-n", "", "must be a whole number from 0 to 1000000000000"),
            (
                "--n",
                "5,-1",
                "must be a whole number from 0 to 1000000000000",
            ),
            (
                "--rounds",
                "-1",
                "must be a whole number from 1 to 4294967295",
            ),
            (
                "--concurrency",
                "-3",
                "must be a whole number from 1 to 10000",
            ),
            (
                "--concurrency",
                "10001",
                "must be a whole number from 1 to 10000",
            ),
            ("--workers", "0", "must be a whole number ≥ 1"),
            ("--workers", "1,-2", "must be a whole number ≥ 1"),
        ] {
            let m = message(&[flag, bad]);
            assert!(m.contains(flag) && m.contains(takes), "{flag} {bad}: {m}");
            assert!(!m.contains("unexpected argument"), "{m}");
        }
        let s = parse(&["--n", "5", "--rounds", "2", "-c", "3", "--workers", "2"]);
        assert_eq!((s.n, s.rounds, s.concurrency), (vec![5], Some(2), Some(3)));
    }

    #[test]
    fn kernels_bring_their_own_n() {
        let s = parse(&[]).settings().expect("settings");
        assert_eq!((s.plan.kernel.name(), s.plan.n), ("sum-squares", DEFAULT_N));
        let s = parse(&["--kernel", "argon2"]).settings().expect("settings");
        assert_eq!((s.plan.kernel.name(), s.plan.n), ("argon2", 1));
        let s = parse(&["--kernel", "sha256", "--quick"])
            .settings()
            .expect("settings");
        assert_eq!(s.plan.n, 4 * 1024 * 1024 / 1000);
        let s = parse(&["--kernel", "argon2", "--quick"])
            .settings()
            .expect("settings");
        assert_eq!(s.plan.n, 1);
        let e = parse(&["--kernel", "md5"]).settings().expect_err("unknown");
        assert!(e.to_string().contains("sum-squares, argon2, sha256"), "{e}");
        let e = parse(&["--kernel", "argon2", "--n", "100001"])
            .settings()
            .expect_err("above the ceiling");
        assert!(e.to_string().contains("at most 100000"), "{e}");
    }

    #[test]
    fn help_names_every_target_and_strategy_option() {
        let help = Cli::command().render_long_help().to_string();
        for word in [
            "tokio",
            "async-std",
            "smol",
            "--quick",
            "--url",
            "--server-dir",
            "Exit status",
        ] {
            assert!(help.contains(word), "--help lacks {word}");
        }
    }

    #[test]
    fn rate_options() {
        let s = parse(&[]).settings().expect("settings");
        assert_eq!(
            s.rate.steps,
            Steps::Load(crate::settings::DEFAULT_LOADS.to_vec())
        );
        let s = parse(&[
            "--load",
            "1.5,0.5,1.5",
            "--duration",
            "2",
            "--max-in-flight",
            "9",
        ])
        .settings()
        .expect("settings");
        // Sorted, each once.
        assert_eq!(s.rate.steps, Steps::Load(vec![0.5, 1.5]));
        assert_eq!(s.rate.duration, Duration::from_secs(2));
        assert_eq!(s.rate.max_in_flight, 9);
        let s = parse(&["--rate", "100,50"]).settings().expect("settings");
        assert_eq!(s.rate.steps, Steps::Rate(vec![50.0, 100.0]));
        for (flag, bad) in [
            ("--load", "0"),
            ("--load", "-1"),
            ("--load", ""),
            ("--load", "x"),
            ("--rate", "0"),
            ("--rate", "inf"),
            ("--duration", "0"),
            ("--max-in-flight", "0"),
        ] {
            let err = Cli::try_parse_from(["bench-runner", flag, bad])
                .expect_err(bad)
                .to_string();
            assert!(err.contains(flag), "{flag} {bad}: {err}");
        }
        assert!(refused(&["--load", "1", "--rate", "10"]));
    }

    #[test]
    fn n_is_a_list_the_sizes_sweep_and_its_largest_the_batch_n() {
        let s = parse(&[]).settings().expect("settings");
        assert_eq!(s.sizes, [0, 1_000, 10_000, 100_000, 1_000_000, 10_000_000]);
        assert_eq!(s.plan.n, DEFAULT_N);
        let s = parse(&["--quick"]).settings().expect("settings");
        assert_eq!((s.sizes.as_slice(), s.plan.n), (&[0, 10_000][..], 10_000));
        let s = parse(&["--kernel", "argon2"]).settings().expect("settings");
        assert_eq!((s.sizes.as_slice(), s.plan.n), (&[0, 1][..], 1));
        // Unsorted and repeated: sorted, each once; the batch at the largest.
        let s = parse(&["--n", "500,0,20,500"])
            .settings()
            .expect("settings");
        assert_eq!((s.sizes.as_slice(), s.plan.n), (&[0, 20, 500][..], 500));
        let s = parse(&["--n", "0"]).settings().expect("settings");
        assert_eq!((s.sizes.as_slice(), s.plan.n), (&[0][..], 0));
        // Any value above the kernel's ceiling is refused, naming --n.
        let e = parse(&["--kernel", "argon2", "--n", "0,100001"])
            .settings()
            .expect_err("above the ceiling");
        assert!(e.to_string().starts_with("--n 100001"), "{e}");
    }

    #[test]
    fn experiments_are_chosen_by_name_in_their_order() {
        let s = parse(&["--experiment", "batch"])
            .settings()
            .expect("settings");
        assert_eq!(s.experiments, vec![Experiment::Batch]);
        let s = parse(&["--experiment", "batch,all"])
            .settings()
            .expect("settings");
        assert_eq!(s.experiments, Experiment::ALL.to_vec());
        assert!(refused(&["--experiment", "nope"]));
        assert!(refused(&["--experiment", ""]));
    }
}
