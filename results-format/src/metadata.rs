//! metadata.json: what a reader needs to trust or compare the CSVs beside it: when, which
//! commit, which compiler, which machine, which command, which build profile, and whether the
//! load generator and the servers shared the cores.

use serde::{Deserialize, Serialize};

/// What runs older than the `compute_kernel` field measured.
fn default_compute_kernel() -> String {
    "sum-squares".into()
}

/// What runs older than the `experiments` field measured.
fn default_experiments() -> Vec<String> {
    vec!["batch".into()]
}

/// The contents of metadata.json, written by bench-runner (pretty JSON, fields in this order)
/// and read by report. Fields that runs older than the field lack are `#[serde(default)]`
/// (empty, `None`); unknown fields are ignored on reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Start of the run, UTC, RFC 3339.
    pub date_utc: String,
    /// Wall time of the whole run (build excluded), seconds.
    pub duration_s: f64,
    /// The experiments the run measured (`batch`, …), in the order it measured them; runs older
    /// than the field measured the batch experiment only.
    #[serde(default = "default_experiments")]
    pub experiments: Vec<String>,
    /// `git rev-parse HEAD` of the workspace, with `-dirty` if the tree had changes.
    pub git_commit: String,
    /// `rustc -V` in the workspace.
    pub rustc: String,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Cores the servers may use: the CPUs of --server-cpus, else the machine's cores (shared
    /// with bench-runner). The ideal batch time divides by min(C, cores).
    pub cores: usize,
    /// --server-cpus: the CPUs every server was pinned to, or null (not pinned).
    #[serde(default)]
    pub server_cpus: Option<Vec<usize>>,
    /// --client-cpus: the CPUs bench-runner was pinned to, or null (not pinned).
    #[serde(default)]
    pub client_cpus: Option<Vec<usize>>,
    /// The servers' `--cpu-pool-nice` (from --server-arg), or null (not given: nice 0).
    #[serde(default)]
    pub cpu_pool_nice: Option<u32>,
    /// The servers' lag heartbeat interval, µs: `--lag-interval-us` from --server-arg, else
    /// the servers' default (1000); null with `--no-lag-monitor` or an external target.
    #[serde(default)]
    pub lag_interval_us: Option<u64>,
    /// The rate experiment's arrivals (`--arrivals`): `constant` or `poisson` (drawn from
    /// `seed`); null in runs older than the option, which were all constant.
    #[serde(default)]
    pub arrivals: Option<String>,
    /// Arguments added to every server's command line (`--cpus`, --server-arg).
    #[serde(default)]
    pub server_args: Vec<String>,
    /// PRETTY_NAME from /etc/os-release.
    #[serde(default)]
    pub os: String,
    /// Kernel release.
    #[serde(default)]
    pub kernel: String,
    /// bench-runner's command line.
    pub args: Vec<String>,
    /// Build profile of the servers measured (`release`; `debug` only with --quick --allow-debug;
    /// `n/a` for an external target).
    #[serde(default)]
    pub server_build_profile: String,
    /// The server binaries run, or the external URL.
    #[serde(default)]
    pub servers: Vec<String>,
    /// Build profile of bench-runner itself (a debug client adds overhead to every latency).
    #[serde(default)]
    pub bench_runner_profile: String,
    /// `reqwest` or `surf`.
    #[serde(default)]
    pub client: String,
    /// The CPU-bound kernel every request ran (`--kernel`; the CSVs' `kernel` column).
    /// `sum-squares` for runs older than the field. Not to be confused with `kernel`, the
    /// operating system's kernel release.
    #[serde(default = "default_compute_kernel")]
    pub compute_kernel: String,
    /// Kernel size of every request, in units of the kernel's work.
    pub n: u64,
    /// Requests per batch.
    pub concurrency: usize,
    /// Rounds per pair: one per pass.
    pub rounds: u32,
    /// `--seed` of the passes' shuffled orders (`None`: a run from before passes, each pair's
    /// rounds back to back).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Probe interval, ms.
    #[serde(default)]
    pub probe_interval_ms: Option<f64>,
    /// Lone requests per calibration.
    #[serde(default)]
    pub calibration: Option<usize>,
    /// Per-request timeout, seconds.
    #[serde(default)]
    pub request_timeout_s: Option<f64>,
    /// Timeout of each probe, seconds: a failed probe counts at no less than this.
    #[serde(default)]
    pub probe_timeout_s: Option<f64>,
    /// How the probe runs.
    #[serde(default)]
    pub probe: String,
    /// `--quick`: a smoke test, not a measurement.
    pub quick: bool,
    /// Pairs measured.
    #[serde(default)]
    pub pairs: Option<usize>,
    /// Pairs that failed (marked in summary.csv).
    #[serde(default)]
    pub pairs_failed: Option<usize>,
    /// Pairs not measured because the target's runtime cannot run the strategy (`result`
    /// `not_applicable` in summary.csv); absent in runs before `/block_in_place`.
    #[serde(default)]
    pub pairs_not_applicable: Option<usize>,
    /// Where CPU times come from: [`crate::CPU_CLOCK_SCHEDSTAT`] or [`crate::CPU_CLOCK_TICKS`]
    /// (empty in runs before the scheduler's figures: ticks).
    #[serde(default)]
    pub cpu_clock: String,
    /// How to read the numbers on this machine (whether client and servers shared the cores).
    #[serde(default)]
    pub note: String,
    /// The `/queue` broker: `redis-server <version>, started by bench-runner on a free
    /// loopback port, no persistence`, or the `--broker` URL given (credentials hidden); empty
    /// when no `/queue` pair was measured (none asked, or no redis-server installed).
    #[serde(default)]
    pub broker: String,
    /// Worker processes per `/queue` pair: the batch, sizes and rate experiments use the first;
    /// the queue experiment sweeps them all (`--queue-workers`).
    #[serde(default)]
    pub queue_workers: Vec<usize>,
    /// Threads (kernels at once) of each worker process (`queue-worker --threads`).
    #[serde(default)]
    pub queue_worker_threads: Option<usize>,
    /// The run was interrupted (Ctrl-C, SIGTERM): the files hold what it measured before, and
    /// [`Metadata::interrupted`] says what is missing. Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// What an interrupted run did not measure; written only for a partial run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
}

/// What an interrupted run (`partial`) left out of its files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// `SIGINT` or `SIGTERM`.
    pub signal: String,
    /// The experiment that was running when the signal came (its visits stopped there), if any.
    #[serde(default)]
    pub experiment: Option<String>,
    /// The experiments asked for that were not run at all (no files).
    #[serde(default)]
    pub experiments_not_run: Vec<String>,
    /// Pairs of the interrupted experiment with no finished visit: not in its files
    /// (`experiment: target, workers=W, /strategy`).
    #[serde(default)]
    pub pairs_missing: Vec<String>,
    /// Pairs of the interrupted experiment measured with fewer visits (rounds, steps) than
    /// asked: in its files with what they have.
    #[serde(default)]
    pub pairs_short: Vec<String>,
}
