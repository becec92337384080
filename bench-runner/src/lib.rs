//! bench-runner: loads every server × strategy pair of this workspace (or any server at
//! `--url`), measures batch time, per-request latency and responsiveness under CPU-bound
//! handlers, and writes long-format CSVs with their metadata and their report (REPORT.md,
//! charts/) to a directory of the run's own, `runs/<UTC date>-<time>/`, or to `--out` (the
//! committed baseline `results/` only on purpose: [`harness::run_dir`]). Ctrl-C keeps the
//! visits finished, marked partial ([`harness::stop`]).
//!
//! Experiments (`--experiment`, [`experiments`]): [`batch`](experiments::batch), described
//! here, [`sizes`](experiments::sizes) (the work-size sweep), [`rate`](experiments::rate) (open
//! loop at offered loads), [`queue`](experiments::queue) (`/queue`'s bursts with 1, 2 worker
//! processes and a worker killed) and [`pools`](experiments::pools) (the pool-size sweep, not
//! in a default run). Batch, sizes, rate and pools run in passes
//! ([`harness::passes`]): each pass visits every pair (target, workers, strategy) once, in an
//! order shuffled per pass from `--seed`, on a fresh server each visit. A batch visit: start
//! the server on 127.0.0.1:0, verify it with the conformance suite (the pair's first visit;
//! later ones check `/health`), warm up, a lone request for T1 (the fastest of all of them),
//! then one round of C concurrent requests while an open-loop `/health` probe runs on its own
//! threads and connections; `/background` is also timed until the last job's completion,
//! which the server records; the server must be idle before the round; then it is stopped in
//! the background while the next visit starts (no round runs beside a stopping server).
//!
//! # Layout
//! Four layers, each importing only those below it:
//! 1. What is measured and with what: [`targets`] (the servers, [`TARGETS`](targets::TARGETS):
//!    name, package, runtime, framework, kind of runtime, the arguments of its configuration),
//!    [`servers`] (builds them with `cargo build --release`, or finds them: `--server-dir`),
//!    [`client`] (`--client wire|hyper|reqwest|surf`, all as `conformance::HttpClient`), [`cpu`] (CPU
//!    lists, pinning, a process's CPU time from /proc), [`sched`] (the scheduler's per-thread
//!    on-CPU and run-queue time over a window, the server's threads grouped by role), and
//!    [`settings`] (a run's resolved
//!    settings: [`Plan`](settings::Plan), [`RatePlan`](settings::RatePlan), the subjects).
//! 2. [`harness`]: what every experiment measures with: the pass scheduler, the measuring
//!    engine (a pair's server started, verified, stopped; warm-up, T1, one round), the HTTP
//!    helpers, the probe, pacing, CPU/lag/memory sampling, the records and their figures, the
//!    CSV rows and the results directory's swap, metadata.json, the console.
//! 3. [`experiments`]: batch, sizes, rate, queue and pools, siblings of one shape that import the
//!    harness and never each other.
//! 4. [`cli`] (the options, [`Cli`], resolved to [`Settings`](settings::Settings)), this file
//!    ([`run`]: prepare the servers, the clients and the broker, run the experiments, write
//!    the results), `main.rs` (the command line, the runtime, the exit status), and
//!    `bin/generator-ceiling.rs` (`make generator-ceiling`: the highest `/health` rate the
//!    pacer sustains against one of our servers, and wrk's, if installed).

use std::time::{Instant, SystemTime};

use anyhow::Context;

pub mod cli;
pub mod client;
pub mod cpu;
pub mod experiments;
pub mod harness;
pub mod sched;
pub mod servers;
pub mod settings;
pub mod targets;

pub use cli::Cli;

use crate::harness::bench::Bench;
use crate::harness::run_dir::{self, RunDir};
use crate::harness::stop::Stop;
use crate::harness::{ExperimentRun, broker, console, external, metadata, output, probe};
use crate::settings::Subjects;

/// How a run that got to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Pairs measured (or attempted).
    pub pairs: usize,
    /// Pairs that failed: marked `failed` in summary.csv.
    pub failed: usize,
    /// Pairs not applicable (the runtime cannot run the strategy): `not_applicable` in
    /// summary.csv, neither measured nor failed.
    pub not_applicable: usize,
}

/// The run was stopped by a signal: servers stopped; the visits finished before it written
/// (marked partial) to `written`, or nothing if none had finished.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted by {signal}: servers stopped; {}",
    match written {
        Some(dir) => format!(
            "what was measured before is in {} (marked partial in metadata.json and REPORT.md)",
            dir.display()
        ),
        None => "no visit had finished, no results written".to_owned(),
    }
)]
pub struct Interrupted {
    /// `SIGINT` or `SIGTERM`.
    pub signal: &'static str,
    /// The directory the partial results went to, if any.
    pub written: Option<std::path::PathBuf>,
}

/// Every pair failed or was not applicable (or there was none): the run is not written, so
/// results that measured something are never replaced by results that measured nothing.
#[derive(Debug, thiserror::Error)]
#[error(
    "nothing measured: {failed} of {pairs} pairs failed{}; no results written ({out} left as it \
     was)",
    if *not_applicable > 0 { format!(", {not_applicable} not applicable") } else { String::new() }
)]
pub struct NothingMeasured {
    /// Pairs attempted.
    pub pairs: usize,
    /// Pairs that failed.
    pub failed: usize,
    /// Pairs whose runtime cannot run the strategy (the rest).
    pub not_applicable: usize,
    /// `--out`.
    pub out: String,
}

/// Runs the whole benchmark `cli` describes, with the shipped kernels; `argv` goes to
/// metadata.json.
pub async fn run(cli: Cli, argv: Vec<String>) -> anyhow::Result<Outcome> {
    run_with(cli, argv, common::kernel::KERNELS).await
}

/// [`run`], with `--kernel` looked up in `kernels`: a program with a kernel of its own (a
/// test, say) measures it with servers that know it too (see `server_tokio_axum::start`).
///
/// The run writes to `--out`, or without it to a fresh directory under `--runs-dir`
/// ([`RunDir`]); its absolute path is printed at the start and the end. The files go in with
/// their report (REPORT.md, charts/, from the `report` crate), in one atomic swap.
///
/// Errors (nothing written): bad settings, an `--out` holding foreign files without `--force`
/// ([`output::ForeignFiles`]), servers that do not build, a `--url` that is not a server this
/// benchmark can measure ([`external::NotMeasurable`]) or runs another kernel, a client that
/// cannot be built, results that cannot be written, [`NothingMeasured`]. [`Interrupted`]: the
/// visits finished before the signal are written, marked partial (to a fresh run directory
/// when `--out` is the baseline). A report that cannot be written is an error too, after the
/// CSVs are. A pair that fails while others are measured is not an error: it is reported,
/// marked in summary.csv, and counted in [`Outcome::failed`]; the files are written.
pub async fn run_with(
    cli: Cli,
    argv: Vec<String>,
    kernels: &[&'static dyn common::kernel::Kernel],
) -> anyhow::Result<Outcome> {
    let settings = cli.settings_with(kernels)?;
    let started = SystemTime::now();
    let dir = RunDir::prepare(&settings, started)?;
    println!("results will go to {}", dir.path.display());
    let result = measure(settings, argv, &dir, started).await;
    // A fresh directory the run did not write into is not left behind.
    dir.forget();
    result
}

/// [`run_with`] once the directory is known.
async fn measure(
    mut settings: settings::Settings,
    argv: Vec<String>,
    dir: &RunDir,
    started: SystemTime,
) -> anyhow::Result<Outcome> {
    if cfg!(debug_assertions) && !settings.quick {
        eprintln!(
            "note: bench-runner itself is a debug build: its client overhead is in every latency \
             (run it with --release)"
        );
    }
    let binaries = match &settings.subjects {
        Subjects::Servers {
            targets, source, ..
        } => Some(servers::prepare(targets, source)?),
        Subjects::External { .. } => None,
    };
    let servers_run: Vec<String> = match (&binaries, &settings.subjects) {
        (Some(b), _) => b
            .paths
            .iter()
            .map(|(t, p)| {
                let missing = if p.is_file() { "" } else { " (MISSING)" };
                format!(
                    "{} ({} + {}): {}{missing}",
                    t.name,
                    t.runtime,
                    t.framework,
                    p.display()
                )
            })
            .collect(),
        (None, Subjects::External { url }) => vec![format!("external: {url}")],
        (None, Subjects::Servers { .. }) => vec![],
    };
    let profile = binaries
        .as_ref()
        .map_or_else(|| "n/a".to_owned(), |b| b.profile.clone());
    println!("servers ({profile} build):");
    for s in &servers_run {
        println!("  {s}");
    }
    if binaries.is_some() && !sched::available() {
        // Said once; metadata.json's cpu_clock and the report say it again.
        println!(
            "note: this kernel has no per-thread schedstat (/proc/PID/task/TID/schedstat): CPU \
             from clock ticks (10 ms), attributions from the heartbeat's lag and the cores used"
        );
    }

    let plan = settings.plan;
    let build = |connections| settings.client.build(plan.request_timeout, connections);
    let client = build(plan.concurrency + 4).context("building the HTTP client")?;
    // What of a --url server is measured: the strategies it serves, the experiments that make
    // sense on it; what is left out is said now and again at the end.
    let mut left_out = Vec::new();
    if let Subjects::External { url } = &settings.subjects {
        external::check(&*client, url, plan.request_timeout).await?;
        check_external_kernel(&*client, url, settings.plan.kernel, settings.plan.n).await?;
        let served = external::discover(
            &*client,
            url,
            plan.kernel,
            &settings.strategies,
            settings.strategies_asked,
            plan.request_timeout,
        )
        .await?;
        println!("{}", served.line());
        let (experiments, skipped) = served.experiments(&settings.experiments);
        for line in &skipped {
            println!("{line}");
        }
        if experiments.is_empty() {
            anyhow::bail!("--url {url}: no experiment asked for can run on it; nothing measured");
        }
        if !served.skipped.is_empty() {
            let paths: Vec<&str> = served.skipped.iter().map(|(s, _)| s.path()).collect();
            left_out.push(format!(
                "not served or not measurable there: {}",
                paths.join(", ")
            ));
        }
        left_out.extend(skipped);
        settings.strategies = served.strategies;
        settings.experiments = experiments;
    }
    // Fail early if it cannot be built; each round's probe thread builds its own.
    build(1).context("building the probe's HTTP client")?;
    let kind = settings.client;
    let timeout = plan.request_timeout;
    let probe: probe::ClientFactory = std::sync::Arc::new(move || kind.build(timeout, 1));
    let queue_worker = binaries.as_ref().and_then(|b| b.queue_worker.clone());
    let queue = broker::QueueParts::prepare(&settings, queue_worker).await?;
    let broker_used = match &queue {
        Ok(Some(parts)) => {
            println!(
                "/queue: broker {}; {} queue-worker process(es) of {} threads per /queue pair",
                parts.description(),
                parts.workers.first().copied().unwrap_or(1),
                parts.threads()
            );
            parts.description().to_owned()
        }
        Ok(None) => String::new(),
        Err(why) => {
            println!("/queue: {why}");
            // Said again in the run's last lines: a long run's first lines scroll away.
            left_out.push(format!("/queue: {why}"));
            String::new()
        }
    };
    let stop = Stop::new();
    let bench = Bench::new(client, probe, plan, settings.client.name())
        .with_external_strategies(settings.strategies.clone())
        .with_server_args(settings.server_args.clone())
        .with_queue(queue)
        .with_cache_mixes(settings.cache_hit.clone(), settings.seed)
        .with_stop(stop.clone());

    let cores = match (&settings.server_cpus, &settings.client_cpus) {
        (Some(s), Some(c)) => format!("server on CPUs {s}, bench-runner on CPUs {c}"),
        (Some(s), None) => format!("server on CPUs {s}, bench-runner unpinned"),
        (None, Some(c)) => format!("bench-runner on CPUs {c}, server unpinned"),
        (None, None) => format!("{} cores shared by bench-runner and the server", plan.cores),
    };
    println!(
        "kernel {}: {}; n = {} {}(s), {} per call in flight; {cores}",
        plan.kernel.name(),
        plan.kernel.description(),
        plan.n,
        plan.kernel.unit(),
        mib(plan.kernel.memory_bytes())
    );
    let measuring = SystemTime::now();
    let t0 = Instant::now();
    let signals = on_termination(stop.clone());
    // After a stop request no experiment starts, and the one under way keeps the visits it
    // finished (each experiment watches `stop`).
    let mut runs = Vec::new();
    let mut cut = None;
    let mut not_run = Vec::new();
    for &experiment in &settings.experiments {
        if stop.requested().is_some() {
            not_run.push(experiment.name().to_owned());
            continue;
        }
        let run = experiments::run(experiment, &bench, &settings, binaries.as_ref()).await?;
        if let Some(c) = &run.cut {
            cut = Some((experiment, c.clone()));
            if run.pairs == run.not_applicable {
                // Nothing of it finished: no files.
                not_run.push(experiment.name().to_owned());
                continue;
            }
        }
        runs.push(run);
    }
    signals.abort();
    let duration = t0.elapsed();
    let interrupted = stop
        .requested()
        .filter(|_| cut.is_some() || !not_run.is_empty())
        .map(|signal| {
            let experiment = cut.as_ref().map(|(e, _)| e.name().to_owned());
            let cut = cut.map(|(_, c)| c).unwrap_or_default();
            (
                signal,
                results_format::Interruption {
                    signal: signal.to_owned(),
                    experiment,
                    experiments_not_run: not_run,
                    pairs_missing: cut.missing,
                    pairs_short: cut.short,
                },
            )
        });

    let count = |f: fn(&ExperimentRun) -> usize| runs.iter().map(f).sum::<usize>();
    let (pairs, failed, not_applicable) = (
        count(|r| r.pairs),
        count(|r| r.failed),
        count(|r| r.not_applicable),
    );
    // Not-applicable pairs measure nothing either: a run of only those (and failures) is not
    // written.
    if failed + not_applicable == pairs {
        if let Some((signal, _)) = interrupted {
            return Err(Interrupted {
                signal,
                written: None,
            }
            .into());
        }
        return Err(NothingMeasured {
            pairs,
            failed,
            not_applicable,
            out: dir.path.display().to_string(),
        }
        .into());
    }
    // An interrupted run never writes the baseline: its partial files go to a run directory.
    let fallback = match &interrupted {
        Some(_) if dir.is_baseline() => Some(run_dir::fresh(&settings.runs_dir, started)?),
        _ => None,
    };
    let out = fallback.as_ref().map_or(&dir.path, |d| &d.path);
    if let Some(d) = &fallback {
        println!(
            "interrupted: the partial results go to {}, not to the baseline {}",
            d.path.display(),
            dir.path.display()
        );
    }
    let facts = metadata::RunFacts {
        settings: &settings,
        args: argv,
        server_build_profile: profile,
        servers: servers_run,
        started: measuring,
        duration,
        pairs,
        pairs_failed: failed,
        pairs_not_applicable: not_applicable,
        broker: broker_used,
        interrupted: interrupted.as_ref().map(|(_, i)| i.clone()),
    };
    let meta = metadata::collect(facts, &servers::workspace_root());
    let mut files: Vec<(&str, Vec<u8>)> = runs.into_iter().flat_map(|r| r.files).collect();
    files.push((
        results_format::METADATA,
        format!("{}\n", metadata::to_json(&meta)).into_bytes(),
    ));
    let written: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    // The report is written from the new files before they replace the old ones, so the
    // directory always holds a report that describes exactly its CSVs.
    let report = |dir: &std::path::Path| report::run(dir).map(|_| ()).map_err(|e| format!("{e:#}"));
    let report_failed = output::write_results(out, &files, report)
        .with_context(|| format!("writing results to {}", out.display()))?;
    println!(
        "{pairs} pairs in {} ({failed} failed, {not_applicable} not applicable); results in {}/: \
         {}{}",
        console::clock(duration),
        out.display(),
        written.join(", "),
        match report_failed {
            None => format!(
                ", {} and {}/",
                results_format::REPORT_FILE,
                results_format::CHARTS_DIR
            ),
            Some(_) => String::new(),
        }
    );
    for line in &left_out {
        println!("not measured: {line}");
    }
    if let Some(why) = report_failed {
        anyhow::bail!(
            "the results are in {} but their report could not be written: {why}",
            out.display()
        );
    }
    if let Some((signal, _)) = interrupted {
        return Err(Interrupted {
            signal,
            written: Some(out.clone()),
        }
        .into());
    }
    Ok(Outcome {
        pairs,
        failed,
        not_applicable,
    })
}

/// `bytes` as `19.0 MiB` (`no memory` for 0).
fn mib(bytes: u64) -> String {
    if bytes == 0 {
        "no memory".into()
    } else {
        format!("{:.3} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// A `--url` server must run the kernel asked for, or every answer would be judged against
/// another kernel's: our servers say which in `/stats`, and their `--max-n`, which the largest
/// `n` asked (`n`) must not pass: every request would be a 400. A server without `/stats` (the
/// Python demo) can only be measured with the default kernel, the demo's.
async fn check_external_kernel(
    client: &dyn conformance::HttpClient,
    url: &str,
    kernel: &dyn common::kernel::Kernel,
    n: u64,
) -> anyhow::Result<()> {
    match conformance::checks::fetch_stats(client, url).await {
        Ok(stats) if stats.kernel == kernel.name() && n > stats.max_n => anyhow::bail!(
            "--n {n}: the server at {url} accepts at most n = {} (its --max-n, /stats says); \
             pass a smaller --n or restart it with --max-n {n}",
            stats.max_n
        ),
        Ok(stats) if stats.kernel == kernel.name() => Ok(()),
        Ok(stats) => anyhow::bail!(
            "--url {url} runs the kernel {:?} (its /stats says), not {:?}: pass --kernel {} \
             or restart the server with --kernel {}",
            stats.kernel,
            kernel.name(),
            stats.kernel,
            kernel.name()
        ),
        Err(_) if kernel.name() == common::kernel::DEFAULT.name() => Ok(()),
        Err(why) => anyhow::bail!(
            "--url {url}: cannot tell which kernel it runs ({why}); only the default kernel, \
             {}, can be measured on a server without our /stats",
            common::kernel::DEFAULT.name()
        ),
    }
}

/// Listens for the first SIGINT or SIGTERM and turns it into a stop request: no visit starts
/// after it, the one under way is dropped (its server killed on drop, `ServerProcess`), and
/// what was measured before is written, marked partial. Abort the task when the experiments
/// are over.
fn on_termination(stop: Stop) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("warning: cannot handle SIGINT/SIGTERM; Ctrl-C will kill bench-runner at once");
        return tokio::spawn(async {});
    };
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        eprintln!(
            "{signal}: stopping: the visit under way is dropped, no other starts; writing what \
             was measured so far"
        );
        stop.request(signal);
    })
}
