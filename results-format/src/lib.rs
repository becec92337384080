//! The results files, defined once: what bench-runner writes into `results/` (`--out DIR`)
//! and what report reads back. Owned by neither side: a new column is added here, bench-runner
//! writes it, report may read it, and the tests below check the lists once.
//!
//! # Layout
//!
//! | item | what it is |
//! |---|---|
//! | [`RAW`], [`PROBES`], [`ROUNDS`], [`SUMMARY`] | each CSV file: its name and its columns, in order ([`CsvFile`]) |
//! | [`CACHE`] | cache.csv: `/cached` at each key mix (the batch experiment's) |
//! | [`CSV_FILES`] | the batch experiment's CSV files, in the order they are written |
//! | [`SIZES_RAW`], [`SIZES_PROBES`], [`SIZES_SUMMARY`], [`SIZES_FILES`] | the sizes experiment's CSV files |
//! | [`RATE_RAW`], [`RATE_PROBES`], [`RATE_SUMMARY`], [`RATE_FILES`] | the rate experiment's files |
//! | [`QUEUE_RAW`], [`QUEUE_SUMMARY`], [`QUEUE_FILES`] | the queue experiment's files |
//! | [`POOLS_RAW`], [`POOLS_PROBES`], [`POOLS_SUMMARY`], [`POOLS_FILES`] | the pools experiment's files (pool sizes) |
//! | [`Experiment`] | bench-runner's experiments, each with its own CSV files ([`Experiment::files`]) |
//! | [`METADATA`] | the name of metadata.json |
//! | [`FILES`] | every file a run may write, in the order they are written |
//! | [`Metadata`] | the contents of metadata.json (written by bench-runner, read by report) |
//! | [`REPORT_FILE`], [`CHARTS_DIR`], [`DERIVED`], [`CHARTS`] | what report derives from the files beside them |
//! | [`NESTED`] | what the Makefile puts inside a results directory beside a run's files |
//!
//! Long-format CSV, one row per line, RFC 4180 quoting; units in column names (`_us`, `_ms`,
//! `_rps`). What every column means is in `docs/results-format.md`.

mod metadata;

pub use metadata::{Interruption, Metadata};

/// One CSV file of a run: its name and its columns, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFile {
    /// The file's name in the results directory.
    pub name: &'static str,
    /// Its columns, in order: the header line is these joined with `,`.
    pub columns: &'static [&'static str],
}

impl CsvFile {
    /// The header line (without its line break).
    pub fn header(&self) -> String {
        self.columns.join(",")
    }

    /// Whether the file has column `name`.
    pub fn has(&self, name: &str) -> bool {
        self.columns.contains(&name)
    }
}

/// The name of the metadata file.
pub const METADATA: &str = "metadata.json";

/// summary.csv's `result` for a pair measured.
pub const RESULT_OK: &str = "ok";
/// summary.csv's `result` for a pair that failed (`failure` says why).
pub const RESULT_FAILED: &str = "failed";
/// summary.csv's `result` for a pair not measured because the target's runtime cannot run the
/// strategy (`/block_in_place` off tokio multi-thread): not a failure, and no figures.
pub const RESULT_NOT_APPLICABLE: &str = "not_applicable";
/// Every `result` value.
pub const RESULTS: [&str; 3] = [RESULT_OK, RESULT_FAILED, RESULT_NOT_APPLICABLE];

/// Whose stall a round's (or a pair's) probe saw, from the executor threads' own figures in
/// the scheduler's per-thread counts (rounds.csv and summary.csv's `attribution`; the rule is
/// bench-runner's `harness::attribution`, written once, and report reads the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribution {
    /// The executor threads were on a CPU for most of the window: they ran handlers' work
    /// themselves (inline kernels), so a ready task had no executor thread to run it.
    ExecutorBusy,
    /// The executor threads were runnable but waited on the run queue, for at least half the
    /// stall: the CPU was taken (by pool threads, worker processes, the load generator).
    WaitingForCpu,
    /// Neither: the executor was free and got a CPU; the wait was on the probe's own path.
    Elsewhere,
    /// No stall: the probe's worst wait was below T1.
    None,
}

impl Attribution {
    /// Every value, in the order of the docs.
    pub const ALL: [Attribution; 4] = [
        Attribution::ExecutorBusy,
        Attribution::WaitingForCpu,
        Attribution::Elsewhere,
        Attribution::None,
    ];

    /// Its value in the CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Attribution::ExecutorBusy => "executor_busy",
            Attribution::WaitingForCpu => "waiting_for_cpu",
            Attribution::Elsewhere => "elsewhere",
            Attribution::None => "none",
        }
    }

    /// The value named `name`, if any.
    pub fn from_name(name: &str) -> Option<Attribution> {
        Attribution::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// metadata.json's `cpu_clock` when CPU times come from the scheduler's per-thread figures
/// (`/proc/PID/task/TID/schedstat`, nanoseconds).
pub const CPU_CLOCK_SCHEDSTAT: &str = "schedstat";
/// metadata.json's `cpu_clock` on a kernel without schedstat: process CPU from clock ticks
/// (`/proc/PID/stat`, 10 ms), no per-thread figures, attribution from the heartbeat's lag and
/// the cores used.
pub const CPU_CLOCK_TICKS: &str = "ticks";

/// The batch experiment's CSV files, in the order they are written.
pub const CSV_FILES: [CsvFile; 6] = [RAW, PROBES, ROUNDS, SUMMARY, PASSES, CACHE];

/// Every file a run may write, in the order they are written: each experiment's CSV files
/// ([`Experiment::ALL`] order), then metadata.json. A run writes the files of the experiments it
/// ran and metadata.json, and removes the others from its results directory: the directory
/// holds one run, which metadata.json describes.
pub const FILES: [&str; 18] = [
    RAW.name,
    PROBES.name,
    ROUNDS.name,
    SUMMARY.name,
    PASSES.name,
    CACHE.name,
    SIZES_RAW.name,
    SIZES_PROBES.name,
    SIZES_SUMMARY.name,
    RATE_RAW.name,
    RATE_PROBES.name,
    RATE_SUMMARY.name,
    QUEUE_RAW.name,
    QUEUE_SUMMARY.name,
    POOLS_RAW.name,
    POOLS_PROBES.name,
    POOLS_SUMMARY.name,
    METADATA,
];

/// One of bench-runner's experiments (`--experiment`). Each writes its own CSV files, named
/// for it (the batch experiment's came first and keep their plain names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Experiment {
    /// C concurrent requests per round, R rounds, per pair: batch time, latency, probe.
    Batch,
    /// The work-size sweep: per pair, at each `n` of `--n`, T1 and rounds of C concurrent
    /// requests with the probe: what an offload costs, and from which work size inline work
    /// stalls the server.
    Sizes,
    /// Open loop: requests sent on a fixed schedule at several offered rates, per pair.
    Rate,
    /// `/queue` on its broker: a burst of jobs with 1, 2… worker processes (and `/jobs` in
    /// process beside it), then a worker killed mid-burst.
    Queue,
    /// The pool-sizing sweep: the CPU pool's (or the blocking pool's) size swept over a list
    /// that scales with the cores, at normal and low priority, at the batch's load. Not in a
    /// default run (too long for it): `--experiment pools`, `make bench-pools`.
    Pools,
}

impl Experiment {
    /// Every experiment, in the order a run measures them (`--experiment all`).
    pub const ALL: [Experiment; 5] = [
        Experiment::Batch,
        Experiment::Sizes,
        Experiment::Rate,
        Experiment::Queue,
        Experiment::Pools,
    ];

    /// What a run without `--experiment` measures (`make all-bench`): all but the pools
    /// sweep, which has a make target of its own to keep the default run's budget.
    pub const DEFAULT: [Experiment; 4] = [
        Experiment::Batch,
        Experiment::Sizes,
        Experiment::Rate,
        Experiment::Queue,
    ];

    /// Its name on the command line and in metadata.json.
    pub fn name(self) -> &'static str {
        match self {
            Experiment::Batch => "batch",
            Experiment::Sizes => "sizes",
            Experiment::Rate => "rate",
            Experiment::Queue => "queue",
            Experiment::Pools => "pools",
        }
    }

    /// The experiment named `name`.
    pub fn from_name(name: &str) -> Option<Experiment> {
        Experiment::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Its CSV files, in the order they are written.
    pub fn files(self) -> &'static [CsvFile] {
        match self {
            Experiment::Batch => &CSV_FILES,
            Experiment::Sizes => &SIZES_FILES,
            Experiment::Rate => &RATE_FILES,
            Experiment::Queue => &QUEUE_FILES,
            Experiment::Pools => &POOLS_FILES,
        }
    }
}

/// The report (written by the `report` crate) beside the files, derived from them only.
pub const REPORT_FILE: &str = "REPORT.md";
/// The directory of the report's charts beside the files (linked relatively from the report).
pub const CHARTS_DIR: &str = "charts";
/// What report derives from a run's files. bench-runner does not carry these over when it
/// replaces a run's files: derived from the previous CSVs, they would contradict the new ones.
pub const DERIVED: [&str; 2] = [REPORT_FILE, CHARTS_DIR];
/// Every chart the report may write under [`CHARTS_DIR`] (the report's tests check each of its
/// charts is listed): a file of another name in `charts/` is not the report's.
pub const CHARTS: [&str; 15] = [
    "batch_time.svg",
    "probe_latency.svg",
    "probe_vs_lag.svg",
    "timeline.svg",
    "latency_cdf.svg",
    "drift.svg",
    "sizes_probe.svg",
    "sizes_latency.svg",
    "rate_latency.svg",
    "rate_goodput.svg",
    "queue_throughput.svg",
    "pools_rayon.svg",
    "pools_jobs.svg",
    "pools_bounded.svg",
    "pools_thread.svg",
];
/// The pools experiment's charts (among [`CHARTS`]): drawn only by a run that measured it
/// (`make bench-pools`), never by the default run's baseline.
pub const POOLS_CHARTS: [&str; 4] = [
    "pools_rayon.svg",
    "pools_jobs.svg",
    "pools_bounded.svg",
    "pools_thread.svg",
];
/// What the Makefile puts inside a results directory beside a run's files: the run with the
/// cores kept apart (`SEPARATE_OUT`), the argon2 run (`ARGON2_OUT`), the pool-sizing sweep
/// (`POOLS_OUT`), each a results directory of its own, and `make generator-ceiling`'s file. bench-runner carries them over when it replaces
/// the run's files and does not count them as foreign.
pub const NESTED: [&str; 4] = ["separate-cores", "argon2", "pools", "generator-ceiling.txt"];

/// raw.csv: one row per request of every round.
pub const RAW: CsvFile = CsvFile {
    name: "raw.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "round",
        "request",
        "start_offset_us",
        "latency_us",
        "status",
        "verified",
        "error",
    ],
};

/// probes.csv: one row per `/health` probe. `latency_us` = `answer_us` (send to answer: the
/// server's share); `harness_late_us` is the load generator's own lateness (scheduled → sent);
/// `connection` the probe's pool connection that carried it (see bench-runner's `probe`).
pub const PROBES: CsvFile = CsvFile {
    name: "probes.csv",
    columns: &[
        "target",
        "workers",
        "strategy",
        "kernel",
        "round",
        "probe",
        "scheduled_offset_us",
        "connection",
        "harness_late_us",
        "answer_us",
        "latency_us",
        "status",
        "error",
    ],
};

/// rounds.csv: one row per round. A round keeps p50 and max only: with C = 20 requests (or a
/// few dozen probes), its p99 would be its largest value. `pass` and `position` place it in
/// the run's shuffled passes, `server_pid` is the process it ran on (a fresh one each pass),
/// `start_offset_ms` its start from the run's start, and `lone_ms` the lone request just
/// before it, its round trip (the machine's speed then, against the pair's `t1_ms`);
/// `lone_done_ms`, `/background` on our servers only, runs from that request's send to the
/// server's record of its job's end (against the pair's `t1_done_ms`).
pub const ROUNDS: CsvFile = CsvFile {
    name: "rounds.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "round",
        "pass",
        "position",
        "server_pid",
        "start_offset_ms",
        "lone_ms",
        "lone_done_ms",
        "batch_ms",
        "ideal_batch_ms",
        "efficiency",
        "throughput_rps",
        "latency_us_min",
        "latency_us_p50",
        "latency_us_max",
        "latency_us_mean",
        "requests",
        "errors_timeout",
        "errors_transport",
        "errors_status",
        "errors_body",
        "probes",
        "probe_errors",
        "probe_latency_us_p50",
        "probe_latency_us_max",
        "probe_harness_late_us_max",
        "background_done_ms",
        "lag_samples",
        "lag_us_p50",
        "lag_us_p99",
        "lag_us_max",
        "lag_lane",
        "server_cpu_ms",
        "client_cpu_ms",
        "server_cores_used",
        "pair_cpu_ms",
        "workers_cpu_ms",
        "broker_cpu_ms",
        "executor_threads",
        "executor_oncpu_ms",
        "executor_runq_ms",
        "cpu_pool_oncpu_ms",
        "blocking_oncpu_ms",
        "other_oncpu_ms",
        "server_runq_ms",
        "attribution",
        "server_peak_rss_mib",
    ],
};

/// summary.csv: one row per target × workers × strategy. Percentiles are of all rounds pooled
/// (`requests` and `probes` samples); `_mean`, `_sd`, `_min`, `_max` are over rounds. `t1_ms`
/// is the fastest lone request's round trip, for every strategy; `t1_done_ms`, `/background`
/// on our servers only (it answers before its work), the fastest from a lone request's send
/// to the server's record of its job's end: the work alone, which its ideal batch and its
/// stall rule use.
pub const SUMMARY: CsvFile = CsvFile {
    name: "summary.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "rounds",
        "result",
        "failure",
        "verified",
        "checks_passed",
        "checks_skipped",
        "t1_ms",
        "t1_done_ms",
        "ideal_batch_ms",
        "batch_ms_mean",
        "batch_ms_sd",
        "batch_ms_min",
        "batch_ms_max",
        "efficiency_mean",
        "efficiency_sd",
        "efficiency_min",
        "efficiency_max",
        "throughput_rps_mean",
        "throughput_rps_sd",
        "latency_us_min",
        "latency_us_p50",
        "latency_us_p90",
        "latency_us_p99",
        "latency_us_max",
        "requests",
        "errors_timeout",
        "errors_transport",
        "errors_status",
        "errors_body",
        "probes",
        "probe_errors",
        "probe_latency_us_p50",
        "probe_latency_us_p90",
        "probe_latency_us_p99",
        "probe_latency_us_max",
        "probe_harness_late_us_p99",
        "probe_harness_late_us_max",
        "background_done_ms_mean",
        "background_done_ms_sd",
        "background_done_ms_min",
        "background_done_ms_max",
        "lag_samples",
        "lag_us_p50_median",
        "lag_us_p99_median",
        "lag_us_p99_worst",
        "lag_us_max",
        "server_cpu_ms_mean",
        "client_cpu_ms_mean",
        "server_cores_used_mean",
        "server_cores_used_min",
        "server_cores_used_max",
        "pair_cpu_ms_mean",
        "executor_busy_share_median",
        "executor_runq_ms_per_thread_median",
        "attribution",
        "server_peak_rss_mib_max",
        "note",
    ],
};

/// passes.csv: one row per pass of the batch experiment: when it ran and how fast the machine
/// was, as the median over its rounds of the lone request before the round divided by that
/// pair's T1 (1.0: every pair at its fastest; 1.2: lone requests 20 % slower than their best).
/// The spread of `speed_median` over passes is the run's drift.
pub const PASSES: CsvFile = CsvFile {
    name: "passes.csv",
    columns: &[
        "experiment",
        "pass",
        "rounds",
        "start_offset_ms",
        "end_offset_ms",
        "speed_median",
        "speed_min",
        "speed_max",
    ],
};

/// cache.csv: `/cached` in the batch experiment, one row per target × workers × key mix. The
/// mix `identical` is the batch's own rounds (C requests for one n, fresh each round: the
/// coalescing case, the same rounds as the pair's rows in rounds.csv); each `hit_NN` mix is one
/// round per pass in which each request asks for a pre-computed n with probability
/// `hit_ratio_asked` and for a never-asked one otherwise (`--cache-hit`). `hits`, `misses`,
/// `coalesced` are the server's own counts (`/stats`' `cache`) over the mix's rounds;
/// `hit_ratio` = hits ÷ (hits + misses + coalesced); `computed_per_round_mean` = misses ÷
/// rounds, the kernels computed. Percentiles pool every round's requests (probes). A run from
/// before `/cached` has no cache.csv (nothing of it measured).
pub const CACHE: CsvFile = CsvFile {
    name: "cache.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "mix",
        "hit_ratio_asked",
        "rounds",
        "requests",
        "errors",
        "hits",
        "misses",
        "coalesced",
        "hit_ratio",
        "computed_per_round_mean",
        "batch_ms_median",
        "latency_us_p50",
        "latency_us_p99",
        "probes",
        "probe_errors",
        "probe_latency_us_p99",
    ],
};

/// The sizes experiment's CSV files, in the order they are written.
pub const SIZES_FILES: [CsvFile; 3] = [SIZES_RAW, SIZES_PROBES, SIZES_SUMMARY];

/// sizes_raw.csv: one row per request of the sizes experiment: `phase` `lone` for the lone
/// requests T1 is the fastest of (`round` 0; `latency_us` is the round trip, and for
/// `/background` on our servers `done_us` runs from the send to the server's record of the
/// job's end), `batch` for the requests of each round.
pub const SIZES_RAW: CsvFile = CsvFile {
    name: "sizes_raw.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "phase",
        "round",
        "request",
        "start_offset_us",
        "latency_us",
        "done_us",
        "status",
        "verified",
        "error",
    ],
};

/// sizes_probes.csv: one row per `/health` probe of the sizes experiment (as probes.csv, with
/// the `n` of the round it ran beside).
pub const SIZES_PROBES: CsvFile = CsvFile {
    name: "sizes_probes.csv",
    columns: &[
        "target",
        "workers",
        "strategy",
        "kernel",
        "n",
        "round",
        "probe",
        "scheduled_offset_us",
        "connection",
        "harness_late_us",
        "answer_us",
        "latency_us",
        "status",
        "error",
    ],
};

/// sizes_summary.csv: one row per target × workers × strategy × n. `t1_us` is the fastest of
/// the `lone` rows' round trips, `t1_done_us` (`/background` on our servers) the fastest of
/// their `done_us`; percentiles pool every round of that n (`batch` rows, probes).
pub const SIZES_SUMMARY: CsvFile = CsvFile {
    name: "sizes_summary.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "rounds",
        "result",
        "failure",
        "lone_requests",
        "t1_us",
        "t1_done_us",
        "batch_ms_total",
        "latency_us_p50",
        "latency_us_p99",
        "latency_us_max",
        "requests",
        "probes",
        "probe_errors",
        "probe_latency_us_p50",
        "probe_latency_us_p99",
        "probe_latency_us_max",
        "probe_harness_late_us_p99",
        "lag_samples",
        "lag_us_p99_median",
        "lag_us_p99_worst",
        "note",
    ],
};

/// The rate experiment's CSV files, in the order they are written.
pub const RATE_FILES: [CsvFile; 3] = [RATE_RAW, RATE_PROBES, RATE_SUMMARY];

/// rate_raw.csv's `outcome` of a request answered and verified.
pub const RATE_OK: &str = "ok";
/// rate_raw.csv's `outcome` of a request the generator did not send: `--max-in-flight`
/// requests were already waiting. The generator's error, never the server's.
pub const RATE_REFUSED: &str = "refused";
/// rate_raw.csv's `outcome` of an answer 503 (the server shed the request).
pub const RATE_SHED: &str = "status_503";

/// rate_raw.csv: one row per request of the measured part of every step (the warm-up's are
/// not kept). Times from the step's measured start; `latency_us` runs from the request's
/// *scheduled* send time (no coordinated omission), `late_us` is the generator's own lateness
/// (actual − scheduled send). `outcome`: `ok`, `status_503`, `status` (another unexpected
/// status), `timeout`, `transport`, `body`, or `refused` (not sent: the in-flight cap).
pub const RATE_RAW: CsvFile = CsvFile {
    name: "rate_raw.csv",
    columns: &[
        "target",
        "workers",
        "strategy",
        "step",
        "request",
        "scheduled_offset_us",
        "late_us",
        "latency_us",
        "status",
        "outcome",
        "error",
    ],
};

/// rate_probes.csv: one row per `/health` probe sent during the measured part of a step
/// (the columns of probes.csv, with `step` for `round`).
pub const RATE_PROBES: CsvFile = CsvFile {
    name: "rate_probes.csv",
    columns: &[
        "target",
        "workers",
        "strategy",
        "step",
        "probe",
        "scheduled_offset_us",
        "connection",
        "harness_late_us",
        "answer_us",
        "latency_us",
        "status",
        "error",
    ],
};

/// rate_summary.csv: one row per target × workers × strategy × step (a pair that failed or is
/// not applicable: one row, step 0, no figures). Derived from rate_raw.csv and
/// rate_probes.csv only, apart from the step's settings and T1.
pub const RATE_SUMMARY: CsvFile = CsvFile {
    name: "rate_summary.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "result",
        "failure",
        "t1_ms",
        "capacity_rps",
        "capacity_threads",
        "capacity_basis",
        "step",
        "pass",
        "server_pid",
        "start_offset_ms",
        "lone_ms",
        "load",
        "offered_rps",
        "duration_ms",
        "max_in_flight",
        "scheduled",
        "sent",
        "refused",
        "responses",
        "verified",
        "status_503",
        "errors_status",
        "errors_timeout",
        "errors_transport",
        "errors_body",
        "span_ms",
        "achieved_rps",
        "goodput_rps",
        "latency_us_p50",
        "latency_us_p99",
        "latency_us_p999",
        "latency_us_max",
        "late_us_p99",
        "late_us_max",
        "generator_behind",
        "probes",
        "probe_errors",
        "probe_latency_us_p99",
        "note",
    ],
};

/// rate_summary.csv's `capacity_basis` of a pair whose kernels run on the executor's threads
/// (inline and yielding handlers): its capacity is executor threads ÷ T1.
pub const CAPACITY_EXECUTOR: &str = "executor";
/// rate_summary.csv's `capacity_basis` of a pair whose kernels run off the executor: its
/// capacity is cores ÷ T1.
pub const CAPACITY_CORES: &str = "cores";

/// The pools experiment's CSV files, in the order they are written.
pub const POOLS_FILES: [CsvFile; 3] = [POOLS_RAW, POOLS_PROBES, POOLS_SUMMARY];

/// pools_raw.csv: one row per round of the pools experiment: a pair (target × workers ×
/// strategy) at one pool size (`pool_threads`: the server's `--cpu-threads` for `/rayon`,
/// `/jobs` and `/bounded`, its `--blocking-threads` for `/thread`) and one priority of the
/// pool (`pool_nice`: 0, or 19 through `--cpu-pool-nice`, for the CPU pool's strategies).
pub const POOLS_RAW: CsvFile = CsvFile {
    name: "pools_raw.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "pool_threads",
        "pool_nice",
        "round",
        "pass",
        "position",
        "server_pid",
        "lone_ms",
        "batch_ms",
        "ideal_batch_ms",
        "efficiency",
        "latency_us_p50",
        "latency_us_max",
        "requests",
        "errors",
        "probes",
        "probe_errors",
        "probe_latency_us_p50",
        "probe_latency_us_max",
        "lag_us_p99",
        "server_cpu_ms",
        "server_cores_used",
        "executor_oncpu_ms",
        "executor_runq_ms",
        "pool_oncpu_ms",
        "server_runq_ms",
        "attribution",
    ],
};

/// pools_probes.csv: one row per `/health` probe of the pools experiment, its configuration
/// named as in pools_raw.csv and its columns as probes.csv's: the report's verdict on a
/// configuration leaves each round out in turn, as for the batch's pairs, which takes every
/// probe.
pub const POOLS_PROBES: CsvFile = CsvFile {
    name: "pools_probes.csv",
    columns: &[
        "target",
        "workers",
        "strategy",
        "kernel",
        "pool_threads",
        "pool_nice",
        "round",
        "probe",
        "scheduled_offset_us",
        "connection",
        "harness_late_us",
        "answer_us",
        "latency_us",
        "status",
        "error",
    ],
};

/// pools_summary.csv: one row per target × workers × strategy × `pool_threads` × `pool_nice`,
/// derived from its rows of pools_raw.csv (and the pair's probes, pooled for the p99):
/// T1, batch time over the rounds (median and range: the interval the report quotes), the
/// pooled request and probe p99, the range of the rounds' worst probes, the lag, the CPU
/// used and the run-queue wait.
pub const POOLS_SUMMARY: CsvFile = CsvFile {
    name: "pools_summary.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "strategy",
        "kernel",
        "n",
        "concurrency",
        "pool_threads",
        "pool_nice",
        "rounds",
        "result",
        "failure",
        "t1_ms",
        "ideal_batch_ms",
        "batch_ms_median",
        "batch_ms_min",
        "batch_ms_max",
        "efficiency_median",
        "latency_us_p99",
        "probes",
        "probe_errors",
        "probe_latency_us_p99",
        "probe_worst_us_min",
        "probe_worst_us_max",
        "lag_us_p99_median",
        "server_cpu_ms_median",
        "server_cores_used_median",
        "executor_runq_ms_per_thread_median",
        "server_runq_ms_median",
        "attribution",
        "note",
    ],
};

/// The queue experiment's CSV files, in the order they are written.
pub const QUEUE_FILES: [CsvFile; 2] = [QUEUE_RAW, QUEUE_SUMMARY];

/// queue_summary.csv's `run` of a burst measured for throughput (`/jobs` in process, `/queue`
/// with 1, 2… worker processes).
pub const QUEUE_RUN_SCALE: &str = "scale";
/// queue_summary.csv's `run` of the burst during which one worker process is killed.
pub const QUEUE_RUN_FAULT: &str = "fault";

/// queue_raw.csv: one row per job of every burst (a run in a pass): when it was submitted and when its result
/// came back, from the run's start; `latency_us` is its time to result (the `POST` sent →
/// the `GET …?wait=true` answered). `outcome`: `ok` (done, the right total), `status_503`
/// (refused at submission), `status`, `timeout`, `transport`, `body` (answered, but not the
/// right total, or `failed`).
pub const QUEUE_RAW: CsvFile = CsvFile {
    name: "queue_raw.csv",
    columns: &[
        "target",
        "workers",
        "run",
        "strategy",
        "queue_workers",
        "pass",
        "job",
        "submitted_offset_us",
        "done_offset_us",
        "latency_us",
        "status",
        "outcome",
        "error",
    ],
};

/// queue_summary.csv: one row per burst: target × run (`scale` with each worker-process count
/// and `/jobs`'s reference; `fault`) × pass, with where it ran (pass, position in the pass,
/// the server's pid, its start from the run's start); a target that failed before its first
/// burst or has no broker: one row, no figures.
/// Derived from queue_raw.csv, apart from the probe, the lag, the CPU times (the server's, the
/// worker processes', the broker's, and bench-runner's own: all share the machine's cores) and
/// the workers' own count of the jobs they took over.
pub const QUEUE_SUMMARY: CsvFile = CsvFile {
    name: "queue_summary.csv",
    columns: &[
        "target",
        "runtime",
        "framework",
        "client",
        "workers",
        "kernel",
        "n",
        "result",
        "failure",
        "run",
        "strategy",
        "queue_workers",
        "worker_threads",
        "lease_ms",
        "pass",
        "position",
        "server_pid",
        "start_offset_ms",
        "jobs",
        "accepted",
        "completed",
        "wrong",
        "lost",
        "status_503",
        "errors",
        "killed_at_ms",
        "taken_over",
        "span_ms",
        "throughput_rps",
        "latency_us_p50",
        "latency_us_p99",
        "latency_us_max",
        "probes",
        "probe_errors",
        "probe_latency_us_p99",
        "lag_us_p99",
        "server_cpu_ms",
        "workers_cpu_ms",
        "broker_cpu_ms",
        "client_cpu_ms",
        "note",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn headers_are_the_documented_ones() {
        // The bytes of every header line bench-runner has written since these columns were
        // added: a change here is a change of the files' format (update docs/results-format.md
        // and report's fixture).
        assert_eq!(
            RAW.header(),
            "target,runtime,framework,client,workers,strategy,kernel,n,concurrency,round,request,\
             start_offset_us,latency_us,status,verified,error"
        );
        assert_eq!(
            PROBES.header(),
            "target,workers,strategy,kernel,round,probe,scheduled_offset_us,connection,\
             harness_late_us,answer_us,latency_us,status,error"
        );
        assert_eq!(
            ROUNDS.header(),
            "target,runtime,framework,client,workers,strategy,kernel,n,concurrency,round,pass,\
             position,server_pid,start_offset_ms,lone_ms,lone_done_ms,batch_ms,ideal_batch_ms,efficiency,\
             throughput_rps,latency_us_min,latency_us_p50,latency_us_max,\
             latency_us_mean,requests,errors_timeout,errors_transport,errors_status,errors_body,\
             probes,probe_errors,probe_latency_us_p50,probe_latency_us_max,probe_harness_late_us_max,\
             background_done_ms,lag_samples,lag_us_p50,lag_us_p99,lag_us_max,lag_lane,server_cpu_ms,\
             client_cpu_ms,server_cores_used,pair_cpu_ms,workers_cpu_ms,broker_cpu_ms,\
             executor_threads,executor_oncpu_ms,executor_runq_ms,cpu_pool_oncpu_ms,\
             blocking_oncpu_ms,other_oncpu_ms,server_runq_ms,attribution,server_peak_rss_mib"
        );
        assert_eq!(
            PASSES.header(),
            "experiment,pass,rounds,start_offset_ms,end_offset_ms,speed_median,speed_min,speed_max"
        );
        assert_eq!(
            SUMMARY.header(),
            "target,runtime,framework,client,workers,strategy,kernel,n,concurrency,rounds,result,failure,\
             verified,checks_passed,checks_skipped,t1_ms,t1_done_ms,ideal_batch_ms,batch_ms_mean,batch_ms_sd,\
             batch_ms_min,batch_ms_max,efficiency_mean,efficiency_sd,efficiency_min,efficiency_max,\
             throughput_rps_mean,throughput_rps_sd,latency_us_min,latency_us_p50,latency_us_p90,\
             latency_us_p99,latency_us_max,requests,errors_timeout,errors_transport,errors_status,\
             errors_body,probes,probe_errors,probe_latency_us_p50,probe_latency_us_p90,\
             probe_latency_us_p99,probe_latency_us_max,probe_harness_late_us_p99,\
             probe_harness_late_us_max,background_done_ms_mean,background_done_ms_sd,\
             background_done_ms_min,background_done_ms_max,lag_samples,lag_us_p50_median,\
             lag_us_p99_median,lag_us_p99_worst,lag_us_max,server_cpu_ms_mean,client_cpu_ms_mean,\
             server_cores_used_mean,server_cores_used_min,server_cores_used_max,\
             pair_cpu_ms_mean,executor_busy_share_median,executor_runq_ms_per_thread_median,\
             attribution,server_peak_rss_mib_max,note"
        );
    }

    #[test]
    fn attribution_values_are_unique_and_read_back() {
        let names: HashSet<&str> = Attribution::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names.len(), Attribution::ALL.len());
        for a in Attribution::ALL {
            assert_eq!(Attribution::from_name(a.name()), Some(a));
        }
        assert_eq!(Attribution::from_name(""), None);
        assert_eq!(Attribution::from_name("executor blocked"), None);
    }

    #[test]
    fn sizes_headers_are_the_documented_ones() {
        assert_eq!(
            SIZES_RAW.header(),
            "target,runtime,framework,client,workers,strategy,kernel,n,concurrency,phase,round,\
             request,start_offset_us,latency_us,done_us,status,verified,error"
        );
        assert_eq!(
            SIZES_PROBES.header(),
            "target,workers,strategy,kernel,n,round,probe,scheduled_offset_us,connection,\
             harness_late_us,answer_us,latency_us,status,error"
        );
        assert_eq!(
            SIZES_SUMMARY.header(),
            "target,runtime,framework,client,workers,strategy,kernel,n,concurrency,rounds,result,\
             failure,lone_requests,t1_us,t1_done_us,batch_ms_total,latency_us_p50,latency_us_p99,\
             latency_us_max,requests,probes,probe_errors,probe_latency_us_p50,\
             probe_latency_us_p99,probe_latency_us_max,probe_harness_late_us_p99,lag_samples,\
             lag_us_p99_median,lag_us_p99_worst,note"
        );
        assert!(SIZES_FILES.iter().all(|f| f.name.starts_with("sizes_")));
    }

    #[test]
    fn pools_files_carry_the_pool_size_and_are_not_in_a_default_run() {
        for file in POOLS_FILES {
            assert!(file.name.starts_with("pools_"), "{}", file.name);
            assert!(
                file.has("pool_threads") && file.has("pool_nice"),
                "{}",
                file.name
            );
        }
        assert!(!Experiment::DEFAULT.contains(&Experiment::Pools));
        assert!(Experiment::ALL.contains(&Experiment::Pools));
        assert!(
            Experiment::DEFAULT
                .iter()
                .all(|e| Experiment::ALL.contains(e))
        );
    }

    #[test]
    fn the_files_in_order() {
        assert_eq!(
            FILES,
            [
                "raw.csv",
                "probes.csv",
                "rounds.csv",
                "summary.csv",
                "passes.csv",
                "cache.csv",
                "sizes_raw.csv",
                "sizes_probes.csv",
                "sizes_summary.csv",
                "rate_raw.csv",
                "rate_probes.csv",
                "rate_summary.csv",
                "queue_raw.csv",
                "queue_summary.csv",
                "pools_raw.csv",
                "pools_probes.csv",
                "pools_summary.csv",
                "metadata.json"
            ]
        );
        let names: HashSet<_> = FILES.iter().collect();
        assert_eq!(names.len(), FILES.len());
        assert!(CSV_FILES.iter().all(|f| f.name.ends_with(".csv")));
        // FILES is every experiment's files, in order, then metadata.json.
        let mut want: Vec<&str> = Experiment::ALL
            .iter()
            .flat_map(|e| e.files().iter().map(|f| f.name))
            .collect();
        want.push(METADATA);
        assert_eq!(FILES.to_vec(), want);
        for e in Experiment::ALL {
            assert_eq!(Experiment::from_name(e.name()), Some(e));
        }
    }

    #[test]
    fn column_names_are_unique_and_carry_units() {
        for file in Experiment::ALL.iter().flat_map(|e| e.files()) {
            let unique: HashSet<_> = file.columns.iter().collect();
            assert_eq!(unique.len(), file.columns.len(), "{}", file.name);
            for col in file.columns {
                assert!(
                    col.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{col}"
                );
                let timed = [
                    "latency", "offset", "delay", "batch", "done", "t1", "late", "answer", "cpu",
                ]
                .iter()
                .any(|w| col.contains(w));
                if timed {
                    assert!(
                        col.contains("_us") || col.contains("_ms"),
                        "{col} has no unit"
                    );
                }
                if col.contains("throughput") {
                    assert!(col.contains("_rps"), "{col}");
                }
            }
        }
        assert!(SUMMARY.has("note") && !SUMMARY.has("nope"));
        assert!(RATE_SUMMARY.has("generator_behind") && RATE_RAW.has("late_us"));
        for file in RATE_FILES {
            assert!(file.name.starts_with("rate_"), "{}", file.name);
        }
        for file in QUEUE_FILES {
            assert!(file.name.starts_with("queue_"), "{}", file.name);
        }
    }

    #[test]
    fn metadata_of_an_older_run_reads_with_defaults() {
        let old = r#"{
            "date_utc": "2026-01-01T00:00:00Z", "duration_s": 1.5, "git_commit": "abc",
            "rustc": "rustc 1.88.0", "cpu_model": "cpu", "cores": 2, "args": ["--quick"],
            "n": 1000, "concurrency": 20, "rounds": 3, "quick": true, "unknown_field": 1
        }"#;
        let m: Metadata = serde_json::from_str(old).expect("older metadata.json");
        assert_eq!(m.cores, 2);
        assert_eq!(m.probe_timeout_s, None);
        assert_eq!(m.server_cpus, None);
        assert!(m.server_args.is_empty() && m.note.is_empty());
    }

    #[test]
    fn metadata_round_trips() {
        let old = r#"{
            "date_utc": "d", "duration_s": 1.5, "git_commit": "c", "rustc": "r",
            "cpu_model": "m", "cores": 4, "args": [], "n": 1, "concurrency": 2, "rounds": 3,
            "quick": false
        }"#;
        let mut m: Metadata = serde_json::from_str(old).expect("metadata");
        m.server_cpus = Some(vec![1]);
        m.probe_timeout_s = Some(30.0);
        m.pairs = Some(3);
        let json = serde_json::to_string_pretty(&m).expect("json");
        assert!(json.contains("\"probe_timeout_s\": 30.0"), "{json}");
        let back: Metadata = serde_json::from_str(&json).expect("back");
        assert_eq!(back, m);
    }
}
