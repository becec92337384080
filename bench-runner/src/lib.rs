//! bench-runner: loads every server × strategy pair of this workspace (or any server at
//! `--url`), measures batch time, per-request latency and responsiveness under CPU-bound
//! handlers, and writes long-format CSVs with their metadata to `results/`.
//!
//! Experiments (`--experiment`): batch, described here, [`sizes`] (the work-size sweep),
//! [`rate`] (open loop at offered loads) and [`queue`] (`/queue`'s bursts with 1, 2 worker
//! processes and a worker killed). Batch, sizes and rate run in passes
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
//! - `main.rs`: parses the command line, builds the tokio runtime, calls [`run`], maps the
//!   outcome to the exit status.
//! - `bin/generator-ceiling.rs`: `make generator-ceiling`: the highest `/health` rate the rate
//!   experiment's generator sustains against one of our servers (and wrk's, if installed).
//! - [`cli`]: the options ([`Cli`]) and the [`Settings`](cli::Settings) they resolve to.
//! - [`harness`]: what every experiment measures with; so far [`harness::passes`], the pass
//!   scheduler (each pass's shuffled order of the pairs) and the run's clock.
//! - [`targets`]: the servers ([`TARGETS`](targets::TARGETS)): name, package, runtime,
//!   framework, kind of runtime (which strategies it runs, whether more than one worker) and
//!   the arguments of its configuration (tokio's two flavours are one binary).
//! - [`servers`]: builds them (`cargo build --release`) or finds them (`--server-dir`).
//! - [`spawner`]: the one long-lived thread every server (and the broker, and every queue
//!   worker) is started from, so that each dies with bench-runner (`--exit-with-parent`,
//!   Linux's parent-death signal) and never before.
//! - [`broker`]: `/queue`'s parts: bench-runner's own redis-server (or `--broker`), and the
//!   `queue-worker` processes of each pair.
//! - [`client`]: `--client reqwest|surf`, both as `conformance::HttpClient`.
//! - [`external`]: `--url`: the one check, before any pair, that the server there can be
//!   measured (fails at once otherwise).
//! - [`measure`]: one measurement, recorded raw ([`Measurement`](measure::Measurement)):
//!   start, verify, warm-up, calibration, rounds, background completion, stop; the start,
//!   verification and stop of a pair's server (`Bench::on_server`) and one round at a given
//!   plan (`Bench::round`) are what every experiment measures with.
//! - [`memory`]: the server's peak resident memory per round (VmHWM, reset before it).
//! - [`sizes`]: the work-size sweep (`--experiment sizes`): per pair, one server, T1 and
//!   rounds with the probe at each `n` of the sweep; its CSV files.
//! - [`rate`]: the rate experiment: open-loop steps at offered loads per pair, the pacing
//!   thread, its records and figures, and its CSV files.
//! - [`queue`]: the queue experiment: bursts on `/jobs` and on `/queue` with each count of
//!   worker processes, the fault run, and its CSV files.
//! - [`probe`]: the open-loop `/health` probe, on its own threads (a pacer, a runtime) and
//!   its own pool of connections, with the harness's own lateness recorded apart from the
//!   server's share.
//! - [`stats`]: percentiles (hdrhistogram), mean and spread, ideal batch time, efficiency.
//! - [`summary`]: per-round and per-pair figures derived from the raw records.
//! - [`output`]: the CSV headers and writers, and the atomic swap into `--out`.
//! - [`metadata`]: metadata.json (date, commit, rustc, CPU, cores, OS, arguments, profile).
//! - [`console`]: the `[k/N elapsed, eta …]` prefix on every line, the keep-alive line of a long
//!   pair, the demo's `Batch of … took … ms` lines, summary tables and their legend.

use std::time::{Instant, SystemTime};

use anyhow::Context;

pub mod broker;
pub mod cli;
pub mod client;
pub mod console;
pub mod cpu;
pub mod external;
pub mod harness;
pub mod lag;
pub mod measure;
pub mod memory;
pub mod metadata;
pub mod output;
pub mod probe;
pub mod queue;
pub mod rate;
pub mod servers;
pub mod sizes;
pub mod spawner;
pub mod stats;
pub mod summary;
pub mod targets;

pub use cli::Cli;

use crate::cli::{Experiment, Settings, Subjects};
use crate::console::Console;
use crate::harness::passes::Passes;
use crate::measure::{Bench, Log, Measurement, Session, Subject};
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
/// Errors (nothing written): bad settings, servers that do not build, a `--url` that is not a
/// server this benchmark can measure ([`external::NotMeasurable`]) or runs another kernel, a
/// client that cannot be built, results that cannot be written, [`NothingMeasured`], or
/// [`Interrupted`]. A pair that fails while others are measured is not an error: it is
/// reported, marked in summary.csv, and counted in [`Outcome::failed`]; the files are written,
/// and the previous report (REPORT.md, charts/) is dropped rather than left beside CSVs it does
/// not describe.
pub async fn run_with(
    cli: Cli,
    argv: Vec<String>,
    kernels: &[&'static dyn common::kernel::Kernel],
) -> anyhow::Result<Outcome> {
    let settings = cli.settings_with(kernels)?;
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
    if let Subjects::External { url } = &settings.subjects {
        external::check(&*client, url, plan.request_timeout).await?;
        check_external_kernel(&*client, url, settings.plan.kernel, settings.plan.n).await?;
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
            String::new()
        }
    };
    let bench = Bench::new(client, probe, plan, settings.client.name())
        .with_server_args(settings.server_args.clone())
        .with_queue(queue);

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
    let started = SystemTime::now();
    let t0 = Instant::now();
    let experiments = async {
        let mut runs = Vec::new();
        for &experiment in &settings.experiments {
            let run = match experiment {
                Experiment::Batch => batch(&bench, &settings, binaries.as_ref()).await?,
                Experiment::Sizes => sizes::run(&bench, &settings, binaries.as_ref()).await?,
                Experiment::Rate => rate::run(&bench, &settings, binaries.as_ref()).await?,
                Experiment::Queue => queue::run(&bench, &settings, binaries.as_ref()).await?,
            };
            runs.push(run);
        }
        anyhow::Ok(runs)
    };
    let runs = tokio::select! {
        runs = experiments => runs?,
        signal = termination() => {
            return Err(Interrupted { signal, out: settings.out.display().to_string() }.into());
        }
    };
    let duration = t0.elapsed();

    let count = |f: fn(&ExperimentRun) -> usize| runs.iter().map(f).sum::<usize>();
    let (pairs, failed, not_applicable) = (
        count(|r| r.pairs),
        count(|r| r.failed),
        count(|r| r.not_applicable),
    );
    // Not-applicable pairs measure nothing either: a run of only those (and failures) is not
    // written.
    if failed + not_applicable == pairs {
        return Err(NothingMeasured {
            pairs,
            failed,
            not_applicable,
            out: settings.out.display().to_string(),
        }
        .into());
    }
    let facts = metadata::RunFacts {
        settings: &settings,
        args: argv,
        server_build_profile: profile,
        servers: servers_run,
        started,
        duration,
        pairs,
        pairs_failed: failed,
        pairs_not_applicable: not_applicable,
        broker: broker_used,
    };
    let meta = metadata::collect(facts, &servers::workspace_root());
    let mut files: Vec<(&str, Vec<u8>)> = runs.into_iter().flat_map(|r| r.files).collect();
    files.push((
        results_format::METADATA,
        format!("{}\n", metadata::to_json(&meta)).into_bytes(),
    ));
    let written: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    let old_report = results_format::DERIVED
        .iter()
        .any(|name| settings.out.join(name).exists());
    output::write_results(&settings.out, &files)
        .with_context(|| format!("writing results to {}", settings.out.display()))?;
    println!(
        "{pairs} pairs in {} ({failed} failed, {not_applicable} not applicable); results in {}/: {}",
        console::clock(duration),
        settings.out.display(),
        written.join(", ")
    );
    if old_report {
        println!(
            "the previous {} and {}/ described the replaced CSVs and were removed; regenerate \
             them with `cargo run --release -p report -- --results {}` (make all-bench does)",
            results_format::REPORT_FILE,
            results_format::CHARTS_DIR,
            settings.out.display()
        );
    }
    Ok(Outcome {
        pairs,
        failed,
        not_applicable,
    })
}

/// What one experiment measured: its files, rendered, and how its pairs went.
#[derive(Debug)]
pub struct ExperimentRun {
    /// Its CSV files ([`Experiment::files`]), in order, with their contents.
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// Pairs measured (or attempted).
    pub pairs: usize,
    /// Pairs that failed.
    pub failed: usize,
    /// Pairs not applicable.
    pub not_applicable: usize,
}

impl ExperimentRun {
    /// The run of an experiment whose pairs are `measurements`, with its rendered `files`.
    fn of(measurements: &[Measurement], files: Vec<(&'static str, Vec<u8>)>) -> ExperimentRun {
        let outcomes = measurements
            .iter()
            .map(|m| (m.failure.is_some(), m.not_applicable.is_some()));
        ExperimentRun::tally(files, outcomes)
    }

    /// The run of an experiment with its rendered `files`, from each pair's outcome:
    /// (failed, not applicable).
    pub(crate) fn tally(
        files: Vec<(&'static str, Vec<u8>)>,
        outcomes: impl IntoIterator<Item = (bool, bool)>,
    ) -> ExperimentRun {
        let mut run = ExperimentRun {
            files,
            pairs: 0,
            failed: 0,
            not_applicable: 0,
        };
        for (failed, not_applicable) in outcomes {
            run.pairs += 1;
            run.failed += usize::from(failed);
            run.not_applicable += usize::from(not_applicable);
        }
        run
    }
}

/// The batch experiment: every pair, one round of C concurrent requests in each of R passes.
async fn batch(
    bench: &Bench,
    settings: &Settings,
    binaries: Option<&Binaries>,
) -> anyhow::Result<ExperimentRun> {
    let plan = &settings.plan;
    let pairs = pairs(settings, binaries);
    let passes = Passes {
        count: plan.rounds,
        seed: settings.seed,
    };
    println!(
        "batch: {} pairs in {} passes (seed {}): n = {}, C = {}, a fresh server per pass, probe \
         every {:?}, client {}",
        pairs.len(),
        passes.count,
        passes.seed,
        plan.n,
        plan.concurrency,
        plan.probe_interval,
        settings.client.name(),
    );
    let console = Console::new((pairs.len() * passes.count as usize) as u64);
    let mut ms: Vec<Measurement> = pairs
        .iter()
        .map(|(subject, strategy)| bench.new_measurement(*subject, *strategy))
        .collect();
    for (slot, i) in passes.visits(pairs.len()) {
        let (subject, _) = pairs[i];
        let m = &mut ms[i];
        let what = m.name();
        if m.not_applicable.is_none() && m.failure.is_none() {
            console.working_on(&what);
            console.line(&format!("== pass {}/{}: {what}", slot.pass, passes.count));
            let body = async |s: &mut Session<'_>, m: &mut Measurement| {
                bench.batch_visit(s, m, slot, &console).await
            };
            console
                .keep_alive(&what, bench.visit(subject, m, &console, body))
                .await;
            if let Some(why) = &m.failure {
                console.line(&format!("   FAILED {what}: {why} (not visited again)"));
            }
        }
        console.step();
    }
    console.finish();
    bench.settle_previous().await;
    for (m, (subject, _)) in ms.iter_mut().zip(&pairs) {
        let name = m.name();
        m.notes.extend(bench.stop_notes(&name));
        let mode = match subject {
            Subject::Server { .. } => conformance::Mode::Ours,
            Subject::External { .. } => conformance::Mode::External,
        };
        m.notes.extend(measure::round_notes(mode, &m.rounds));
        report_pair(m, &console);
    }
    print_tables(settings, &ms, &console);
    let speeds = summary::pass_speeds(&ms);
    if let Some(drift) = summary::drift(&speeds) {
        println!(
            "batch: the machine's speed per pass (median lone request ÷ its pair's T1): {}; \
             slowest ÷ fastest pass {drift:.3}",
            speeds
                .iter()
                .map(|p| format!("{:.3}", p.speed_median))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let files = output::render(&ms, &speeds).context("rendering the batch CSVs")?;
    Ok(ExperimentRun::of(&ms, files))
}

/// Every pair of `settings`, each (subject, strategy), in the order of the result files:
/// target, then workers (a one-thread runtime at its one worker only), then strategy.
pub(crate) fn pairs<'a>(
    settings: &'a Settings,
    binaries: Option<&'a Binaries>,
) -> Vec<(Subject<'a>, common::Strategy)> {
    let subjects: Vec<Subject<'a>> = match (&settings.subjects, binaries) {
        (
            Subjects::Servers {
                targets, workers, ..
            },
            Some(binaries),
        ) => targets
            .iter()
            .filter_map(|target| Some((target, binaries.path(target)?)))
            .flat_map(|(target, binary)| {
                workers
                    .iter()
                    .filter(|w| target.runs_with_workers(**w))
                    .map(move |&workers| Subject::Server {
                        target,
                        binary,
                        workers,
                    })
            })
            .collect(),
        (Subjects::External { url }, _) => vec![Subject::External { url }],
        (Subjects::Servers { .. }, None) => vec![],
    };
    subjects
        .into_iter()
        .flat_map(|subject| settings.strategies.iter().map(move |s| (subject, *s)))
        .collect()
}

/// The console's table of each target's pairs, then the legend.
fn print_tables(settings: &Settings, ms: &[Measurement], console: &Console) {
    let plan = &settings.plan;
    let mut targets: Vec<&str> = ms.iter().map(|m| m.labels.target.as_str()).collect();
    targets.dedup();
    for target in targets {
        let ours: Vec<&Measurement> = ms.iter().filter(|m| m.labels.target == target).collect();
        let heading = match (&settings.subjects, ours.first()) {
            (Subjects::External { url }, _) => format!("external {url}"),
            (_, Some(m)) => format!(
                "{} ({} + {})",
                m.labels.target, m.labels.runtime, m.labels.framework
            ),
            (_, None) => continue,
        };
        console.block(&format!(
            "\n{heading}, n = {}, C = {}, {} rounds\n{}",
            plan.n,
            plan.concurrency,
            plan.rounds,
            console::table(&ours)
        ));
    }
    console.block(&console::legend());
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

/// Each of our servers at its largest worker count (a one-thread runtime at 1), with its
/// binary: what the rate and queue experiments measure (none for a `--url` server).
pub(crate) fn at_largest_workers<'a>(
    s: &'a Settings,
    binaries: Option<&'a Binaries>,
) -> Vec<(&'a targets::Target, &'a std::path::Path, usize)> {
    let (
        Subjects::Servers {
            targets, workers, ..
        },
        Some(binaries),
    ) = (&s.subjects, binaries)
    else {
        return Vec::new();
    };
    targets
        .iter()
        .filter_map(|target| {
            let most = workers
                .iter()
                .copied()
                .filter(|w| target.runs_with_workers(*w))
                .max()?;
            Some((target, binaries.path(target)?, most))
        })
        .collect()
}

/// What is known of a pair only at its end (its verification was printed when it ran).
fn report_pair(m: &Measurement, log: &dyn Log) {
    if let (Some(t1), None) = (m.t1, &m.not_applicable) {
        log.line(&format!(
            "   T1 = {:.1} ms (the fastest lone request)",
            t1.as_secs_f64() * 1e3
        ));
    }
    pair_end(
        log,
        &m.name(),
        m.not_applicable.as_deref(),
        &m.notes,
        m.failure.as_deref(),
    );
}

/// The lines every experiment prints at a pair's end: not applicable (a pair that is has
/// neither notes nor a failure), its notes, its failure naming it.
pub(crate) fn pair_end(
    log: &dyn Log,
    name: &str,
    not_applicable: Option<&str>,
    notes: &[String],
    failure: Option<&str>,
) {
    if let Some(why) = not_applicable {
        log.line(&format!("   not applicable: {why}"));
    }
    for note in notes {
        log.line(&format!("   note: {note}"));
    }
    if let Some(why) = failure {
        log.line(&format!("   FAILED {name}: {why}"));
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
