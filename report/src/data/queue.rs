//! queue_summary.csv: the queue experiment's bursts (scale-out with 1, 2… worker processes,
//! and the fault run), one row per burst (a configuration in a pass), and the CPU figures read
//! from it. [`crate::analysis::queue`] takes each configuration's figures over its passes.

use std::path::Path;

use common::Strategy;
use results_format::{QUEUE_RUN_FAULT, QUEUE_RUN_SCALE, QUEUE_SUMMARY, RESULT_OK};
use serde::Deserialize;

use super::{DataError, Metadata, read_csv};

/// The resolution of a process's CPU time, ms: Linux counts `utime + stime` in clock ticks of
/// 10 ms (`CLK_TCK` 100; docs/results-format.md, "Inside the server"), so each process's
/// figure over a burst is ± one tick.
pub const CPU_TICK_MS: f64 = 10.0;

/// One row of queue_summary.csv (the columns the report uses). A target without runs (no
/// broker, or it failed before its first) is one row with `result`, its reason in `failure`
/// or `note`, and no figures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueueRow {
    /// Target name.
    pub target: String,
    /// Runtime (`tokio`).
    pub runtime: String,
    /// Framework (`axum`).
    pub framework: String,
    /// Executor threads of the server; `None` for an external server.
    pub workers: Option<u32>,
    /// Kernel size of every job.
    pub n: Option<u64>,
    /// `ok`, `failed` or `not_applicable`.
    pub result: String,
    /// Why it failed or was not measured.
    pub failure: Option<String>,
    /// `scale` or `fault` (empty on a target's row without figures).
    #[serde(default)]
    pub run: String,
    /// `jobs` (in process) or `queue` (empty on a target's row without figures).
    #[serde(default)]
    pub strategy: String,
    /// Worker processes (0 for `/jobs`).
    pub queue_workers: Option<u32>,
    /// Threads (kernels at once) of each worker process.
    pub worker_threads: Option<u32>,
    /// The lease after which a job a worker holds may be taken over, ms.
    pub lease_ms: Option<u64>,
    /// The pass the burst ran in, from 1; `None` on a configuration's figures over its passes
    /// and in files older than the column (one burst per configuration).
    #[serde(default)]
    pub pass: Option<u32>,
    /// Jobs of the burst.
    pub jobs: Option<u64>,
    /// Jobs accepted (202) at submission.
    pub accepted: Option<u64>,
    /// Jobs answered done with the right total.
    pub completed: Option<u64>,
    /// Jobs answered with a wrong total or `failed`.
    pub wrong: Option<u64>,
    /// Jobs accepted but never answered done.
    pub lost: Option<u64>,
    /// The worker process killed, from the run's start, ms (`fault` runs).
    pub killed_at_ms: Option<f64>,
    /// Jobs the surviving worker took over (its own count; `fault` runs).
    pub taken_over: Option<u64>,
    /// First submission to the last result, ms.
    pub span_ms: Option<f64>,
    /// Completed jobs per second of the span.
    pub throughput_rps: Option<f64>,
    /// Time to result, median, µs.
    pub latency_us_p50: Option<f64>,
    /// Time to result, p99, µs.
    pub latency_us_p99: Option<f64>,
    /// The `/health` probe's p99 beside the burst, µs.
    pub probe_latency_us_p99: Option<f64>,
    /// The server's executor lag p99 over the burst, µs.
    pub lag_us_p99: Option<f64>,
    /// CPU time of the server over the burst, ms.
    pub server_cpu_ms: Option<f64>,
    /// CPU time of every worker process over the burst, ms.
    pub workers_cpu_ms: Option<f64>,
    /// CPU time of redis-server over the burst, ms (empty for an external broker).
    pub broker_cpu_ms: Option<f64>,
    /// bench-runner's own CPU time over the burst, ms (the load generator and the probe);
    /// `None` in files older than the column.
    #[serde(default)]
    pub client_cpu_ms: Option<f64>,
    /// Remarks; on a target's row without figures, why it was not applicable.
    #[serde(default)]
    pub note: Option<String>,
}

impl QueueRow {
    /// The columns of queue_summary.csv the report reads.
    pub const COLUMNS: &[&str] = &[
        "target",
        "runtime",
        "framework",
        "workers",
        "n",
        "result",
        "failure",
        "run",
        "strategy",
        "queue_workers",
        "worker_threads",
        "lease_ms",
        "jobs",
        "accepted",
        "completed",
        "wrong",
        "lost",
        "killed_at_ms",
        "taken_over",
        "span_ms",
        "throughput_rps",
        "latency_us_p50",
        "latency_us_p99",
        "probe_latency_us_p99",
        "lag_us_p99",
        "server_cpu_ms",
        "workers_cpu_ms",
        "broker_cpu_ms",
        "client_cpu_ms",
        "note",
    ];

    /// Measured (`result` is `ok`).
    pub fn ok(&self) -> bool {
        self.result == RESULT_OK
    }

    /// The run has figures: a span and a throughput. bench-runner gives a target one `result`,
    /// so the runs of a target that failed (a job lost in its fault run, say) are `failed`
    /// rows with their figures: they are shown, and marked.
    pub fn measured(&self) -> bool {
        self.span_ms.is_some() && self.throughput_rps.is_some()
    }

    /// Measured, and every accepted job came back done with the right total: a throughput
    /// that counts.
    pub fn sound(&self) -> bool {
        self.measured() && self.clean() == Some(true)
    }

    /// Why the row is not `ok`: its failure, else its note (where bench-runner puts why a
    /// target was not applicable).
    pub fn why(&self) -> Option<&str> {
        [self.failure.as_deref(), self.note.as_deref()]
            .into_iter()
            .flatten()
            .find(|w| !w.is_empty())
    }

    /// A `scale` run of `/queue` (not `/jobs`' reference).
    pub(crate) fn is_queue(&self) -> bool {
        self.strategy == Strategy::Queue.name()
    }

    /// CPU busy, a fraction of the cores over the span, and whether it is a lower bound (the
    /// broker's or bench-runner's CPU time unknown: an external broker, an older file). `/jobs`
    /// runs no worker process and no broker, so only the server's (and bench-runner's) time
    /// counts there. `None` when the server's time, the workers' (for `/queue`) or the span is
    /// missing.
    pub fn cpu_busy(&self, cores: Cores) -> Option<(f64, bool)> {
        let span = self.span_ms.filter(|s| *s > 0.0)?;
        let mut cpu = self.server_cpu_ms?;
        let mut partial = false;
        let mut add = |v: Option<f64>| match v {
            Some(v) => cpu += v,
            None => partial = true,
        };
        if self.is_queue() {
            add(Some(self.workers_cpu_ms?));
            add(self.broker_cpu_ms);
        }
        if cores.with_client {
            add(self.client_cpu_ms);
        }
        Some((cpu / (span * cores.n as f64), partial))
    }

    /// How far CPU busy may be off from the clock ticks alone: one [`CPU_TICK_MS`] per process
    /// counted, over span × cores (a fraction).
    pub fn cpu_busy_resolution(&self, cores: Cores) -> Option<f64> {
        let span = self.span_ms.filter(|s| *s > 0.0)?;
        let mut processes = 1.0;
        if self.is_queue() {
            processes += f64::from(self.queue_workers.unwrap_or(0));
            processes += if self.broker_cpu_ms.is_some() {
                1.0
            } else {
                0.0
            };
        }
        if cores.with_client && self.client_cpu_ms.is_some() {
            processes += 1.0;
        }
        Some(processes * CPU_TICK_MS / (span * cores.n as f64))
    }

    /// The fault run's jobs all came back right: none lost, none wrong, every accepted one
    /// completed. `None` if the counts are missing.
    pub fn clean(&self) -> Option<bool> {
        Some(self.lost? == 0 && self.wrong? == 0 && self.completed? == self.accepted?)
    }
}

/// queue_summary.csv, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueResults {
    /// Every row, in file order (bench-runner's: target, then its bursts, pass after pass).
    pub rows: Vec<QueueRow>,
}

/// Reads `dir`/queue_summary.csv (the run measured the queue experiment: the file must be
/// there). A strategy other than `/jobs` and `/queue`, or a run other than `scale` and
/// `fault`, on a measured row is an error naming the line.
pub fn load(dir: &Path) -> Result<QueueResults, DataError> {
    let path = dir.join(QUEUE_SUMMARY.name);
    let mut rows = Vec::new();
    for (line, row) in read_csv::<QueueRow>(&path, QueueRow::COLUMNS)? {
        let bad = |message: String| DataError::Csv {
            path: path.clone(),
            line,
            message,
        };
        let strategy = Strategy::from_name(&row.strategy);
        if !row.strategy.is_empty() && !matches!(strategy, Some(Strategy::Jobs | Strategy::Queue)) {
            return Err(bad(format!(
                "strategy {:?}: the queue experiment measures jobs and queue only",
                row.strategy
            )));
        }
        if !["", QUEUE_RUN_SCALE, QUEUE_RUN_FAULT].contains(&row.run.as_str()) {
            return Err(bad(format!(
                "run {:?}: neither {QUEUE_RUN_SCALE} nor {QUEUE_RUN_FAULT}",
                row.run
            )));
        }
        if row.ok() && (row.run.is_empty() || row.strategy.is_empty()) {
            return Err(bad("an ok row without its run or strategy".into()));
        }
        rows.push(row);
    }
    Ok(QueueResults { rows })
}

/// The cores a burst had, and whether bench-runner ran on them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cores {
    /// How many: the servers' CPUs when pinned (the broker and the workers are pinned with
    /// them), else the machine's.
    pub n: usize,
    /// bench-runner was not pinned apart (`client_cpus` unset): its CPU time was spent on the
    /// same cores and counts in CPU busy.
    pub with_client: bool,
}

/// The cores of the run described by `m`.
pub fn cores(m: &Metadata) -> Cores {
    Cores {
        n: m.server_cpus.as_ref().map_or(m.cores, Vec::len).max(1),
        with_client: m.client_cpus.is_none(),
    }
}
