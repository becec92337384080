//! bench-runner: loads every server × strategy pair of this workspace (or any server at
//! `--url`), measures batch time, per-request latency and responsiveness under CPU-bound
//! handlers, and writes long-format CSVs with their metadata to `results/`.
//!
//! One measurement per (target, workers, strategy), on a fresh server each time: start it on
//! 127.0.0.1:0, verify it with the conformance suite, warm up, calibrate T1 (the fastest of
//! lone requests), then R rounds of C concurrent requests while an open-loop `/health` probe runs on
//! its own thread and connection; `/background` is also timed until the last job's completion,
//! which the server records; the server must be idle before each round; then it is stopped.
//!
//! # Layout
//! - `main.rs`: parses the command line, builds the tokio runtime, calls [`run`], maps the
//!   outcome to the exit status.
//! - [`cli`]: the options ([`Cli`]) and the [`Settings`](cli::Settings) they resolve to.
//! - [`targets`]: the servers ([`TARGETS`](targets::TARGETS)): name, package, runtime,
//!   framework, kind of runtime (which strategies it runs, whether more than one worker) and
//!   the arguments of its configuration (tokio's two flavours are one binary).
//! - [`servers`]: builds them (`cargo build --release`) or finds them (`--server-dir`).
//! - [`client`]: `--client reqwest|surf`, both as `conformance::HttpClient`.
//! - [`measure`]: one measurement, recorded raw ([`Measurement`](measure::Measurement)):
//!   start, verify, warm-up, calibration, rounds, background completion, stop.
//! - [`probe`]: the open-loop `/health` probe, on its own thread, runtime and connection,
//!   with the harness's own lateness recorded apart from the server's share.
//! - [`stats`]: percentiles (hdrhistogram), mean and spread, ideal batch time, efficiency.
//! - [`summary`]: per-round and per-pair figures derived from the raw records.
//! - [`output`]: the CSV headers and writers, and the atomic swap into `--out`.
//! - [`metadata`]: metadata.json (date, commit, rustc, CPU, cores, OS, arguments, profile).
//! - [`console`]: progress bar, the demo's `Batch of … took: … seconds` lines, summary tables.

use std::time::{Instant, SystemTime};

use anyhow::Context;

pub mod cli;
pub mod client;
pub mod console;
pub mod cpu;
pub mod lag;
pub mod measure;
pub mod metadata;
pub mod output;
pub mod probe;
pub mod servers;
pub mod stats;
pub mod summary;
pub mod targets;

pub use cli::Cli;

use crate::cli::{Settings, Subjects};
use crate::console::Console;
use crate::measure::{Bench, Log, Measurement};
use crate::servers::Binaries;

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

/// The run was stopped by a signal: servers stopped, nothing written.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {signal}: servers stopped, no results written ({out} left as it was)")]
pub struct Interrupted {
    /// `SIGINT` or `SIGTERM`.
    pub signal: &'static str,
    /// `--out`.
    pub out: String,
}

/// Runs the whole benchmark `cli` describes; `argv` goes to metadata.json.
///
/// Errors (nothing written): bad settings, servers that do not build, a client that cannot be
/// built, results that cannot be written, or [`Interrupted`]. A pair that fails is not an
/// error: it is reported, marked in summary.csv, and counted in [`Outcome::failed`].
pub async fn run(cli: Cli, argv: Vec<String>) -> anyhow::Result<Outcome> {
    let settings = cli.settings()?;
    output::check_writable(&settings.out)
        .with_context(|| format!("results cannot be written to {}", settings.out.display()))?;
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

    let plan = settings.plan;
    let build = |connections| settings.client.build(plan.request_timeout, connections);
    let client = build(plan.concurrency + 4).context("building the HTTP client")?;
    // Fail early if it cannot be built; each round's probe thread builds its own.
    build(1).context("building the probe's HTTP client")?;
    let kind = settings.client;
    let timeout = plan.request_timeout;
    let probe: probe::ClientFactory = std::sync::Arc::new(move || kind.build(timeout, 1));
    let bench = Bench::new(client, probe, plan, settings.client.name())
        .with_server_args(settings.server_args.clone());

    let pairs = pair_count(&settings);
    let cores = match (&settings.server_cpus, &settings.client_cpus) {
        (Some(s), Some(c)) => format!("server on CPUs {s}, bench-runner on CPUs {c}"),
        (Some(s), None) => format!("server on CPUs {s}, bench-runner unpinned"),
        (None, Some(c)) => format!("bench-runner on CPUs {c}, server unpinned"),
        (None, None) => format!("{} cores shared by bench-runner and the server", plan.cores),
    };
    println!(
        "{pairs} pairs: n = {}, C = {}, {} rounds, probe every {:?}, client {}, {cores}",
        plan.n,
        plan.concurrency,
        plan.rounds,
        plan.probe_interval,
        settings.client.name(),
    );
    let started = SystemTime::now();
    let t0 = Instant::now();
    let console = Console::new(pairs as u64);
    let measurements = tokio::select! {
        ms = measure_all(&bench, &settings, binaries.as_ref(), &console) => ms,
        signal = termination() => {
            console.finish();
            return Err(Interrupted { signal, out: settings.out.display().to_string() }.into());
        }
    };
    console.finish();
    let duration = t0.elapsed();

    let failed = measurements.iter().filter(|m| m.failure.is_some()).count();
    let not_applicable = measurements
        .iter()
        .filter(|m| m.not_applicable.is_some())
        .count();
    let facts = metadata::RunFacts {
        settings: &settings,
        args: argv,
        server_build_profile: profile,
        servers: servers_run,
        started,
        duration,
        pairs: measurements.len(),
        pairs_failed: failed,
        pairs_not_applicable: not_applicable,
    };
    let meta = metadata::collect(facts, &servers::workspace_root());
    let files =
        output::render(&measurements, &metadata::to_json(&meta)).context("rendering the CSVs")?;
    output::write_results(&settings.out, &files)
        .with_context(|| format!("writing results to {}", settings.out.display()))?;
    println!(
        "{} pairs in {:.1} s ({failed} failed, {not_applicable} not applicable); results in {}/: {}",
        measurements.len(),
        duration.as_secs_f64(),
        settings.out.display(),
        results_format::FILES.join(", ")
    );
    Ok(Outcome {
        pairs: measurements.len(),
        failed,
        not_applicable,
    })
}

fn pair_count(s: &Settings) -> usize {
    match &s.subjects {
        Subjects::Servers {
            targets, workers, ..
        } => {
            let configs: usize = targets
                .iter()
                .map(|t| workers.iter().filter(|w| t.runs_with_workers(**w)).count())
                .sum();
            configs * s.strategies.len()
        }
        Subjects::External { .. } => s.strategies.len(),
    }
}

async fn measure_all(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
    console: &Console,
) -> Vec<Measurement> {
    let mut all = Vec::new();
    match (&settings.subjects, binaries) {
        (
            Subjects::Servers {
                targets, workers, ..
            },
            Some(binaries),
        ) => {
            for target in targets {
                let first = all.len();
                let Some(binary) = binaries.path(target) else {
                    continue;
                };
                // A one-thread runtime is measured at its one worker only.
                for &w in workers.iter().filter(|w| target.runs_with_workers(**w)) {
                    for &strategy in &settings.strategies {
                        let what = format!("{}, workers={w}, {}", target.name, strategy.path());
                        console.working_on(&what);
                        console.line(&format!("== {what}"));
                        let m = bench
                            .measure_server(target, binary, w, strategy, console)
                            .await;
                        report_pair(&m, console);
                        all.push(m);
                        console.step();
                    }
                }
                let ours: Vec<&Measurement> = all[first..].iter().collect();
                console.line(&format!(
                    "\n{} ({} + {}), n = {}, C = {}, {} rounds; ms; batch and bg done: mean ± sd over rounds; percentiles: all rounds pooled; lag p99: the server's executor lag, median of the rounds' p99; cores: server cores used, mean over rounds\n{}",
                    target.name,
                    target.runtime,
                    target.framework,
                    settings.plan.n,
                    settings.plan.concurrency,
                    settings.plan.rounds,
                    console::table(&ours)
                ));
            }
        }
        (Subjects::External { url }, _) => {
            for &strategy in &settings.strategies {
                let what = format!("external {url}, {}", strategy.path());
                console.working_on(&what);
                console.line(&format!("== {what}"));
                let m = bench.measure_external(url, strategy, console).await;
                report_pair(&m, console);
                all.push(m);
                console.step();
            }
            let ours: Vec<&Measurement> = all.iter().collect();
            console.line(&format!("\nexternal {url}\n{}", console::table(&ours)));
        }
        (Subjects::Servers { .. }, None) => {}
    }
    all
}

fn report_pair(m: &Measurement, log: &dyn Log) {
    if let Some(why) = &m.not_applicable {
        log.line(&format!("   not applicable: {why}"));
        return;
    }
    if let Some(v) = &m.verification {
        let mut line = format!(
            "   verified: {} ({} checks passed, {} failed, {} skipped)",
            if v.passed { "yes" } else { "NO" },
            v.checks_passed,
            v.failed.len(),
            v.skipped.len()
        );
        if let Some(t1) = m.t1 {
            line.push_str(&format!("; T1 = {:.1} ms", t1.as_secs_f64() * 1e3));
        }
        log.line(&line);
    }
    for note in &m.notes {
        log.line(&format!("   note: {note}"));
    }
    if let Some(why) = &m.failure {
        log.line(&format!("   FAILED {}: {why}", m.name()));
    }
}

/// Resolves at the first SIGINT or SIGTERM. Dropping the measurement future then kills the
/// server it runs (`ServerProcess` kills on drop), and nothing is written.
async fn termination() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("warning: cannot handle SIGINT/SIGTERM; Ctrl-C will kill bench-runner at once");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
