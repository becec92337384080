//! report: turns the CSVs bench-runner writes into `REPORT.md` and the SVG charts it embeds.
//!
//! It reads only the results directory (`summary.csv`, `rounds.csv`, `raw.csv`, `probes.csv`,
//! `cache.csv`, `sizes_summary.csv` (and `sizes_raw.csv`'s `/jobs` and `/queue` rounds), `rate_summary.csv`, `queue_summary.csv`, `pools_summary.csv`,
//! `metadata.json`: the files of
//! the experiments metadata.json lists), so the report can be regenerated from committed
//! results on any machine, without running a server. Every figure and every sentence with a number in it is computed
//! from those files.
//!
//! ```text
//! cargo run -p report -- --results results
//! ```
//!
//! # Layout
//! Three layers, each importing only those below it (checked by `tests/layers.rs`): [`data`]
//! reads the files, [`analysis`] computes every number from them once, [`render`] writes the
//! numbers it is handed and never reads a row.
//! - `main.rs`: the command line; prints what was written, or the error and exits 1.
//! - [`data`]: loads and checks the files ([`Results`]), the row types of each (the queue
//!   experiment's in `data/queue.rs`, the rate experiment's in `data/rate.rs`); every problem
//!   is a [`DataError`] naming the file and line. It imports no other module of the crate.
//! - [`analysis`]: the numbers, computed once by [`analysis::Facts::of`] before any sentence
//!   is written and handed to the renderers: the run itself (metadata, targets, worker counts,
//!   strategies: [`analysis::run`]), each batch pair with its figures ([`analysis::pairs`]),
//!   each pair's responsiveness verdict and whose stall it was ([`analysis::verdict`], the
//!   ranking of the offloads among them), work times with their rounds and the speed-ups of
//!   more workers ([`analysis::work`]), the timeline's median batches and the latency
//!   distributions ([`analysis::requests`]), the sizes experiment's offload costs and
//!   crossovers ([`analysis::sizes`]), the task queue's broker hops, configurations,
//!   scale-out verdicts and fault tally ([`analysis::queue`]), the rate experiment's knees and
//!   steps ([`analysis::rate`]), the drift and each pass's speed ([`analysis::drift`]), and the
//!   thresholds they use; [`analysis::stats`] defines each statistic once (the medians, bounds,
//!   a pair's work time), and [`analysis::noise`] tells a difference from noise with the
//!   rounds' ranges (differences, likenesses and thresholds: borderline results), tested on
//!   hand-made figures.
//! - [`render`]: every renderer, each handed the facts: [`render::format`] (how a figure is
//!   written: significant figures, units, ratios, spans, lists, one way each), `render::svg`
//!   (private: a small SVG writer: elements, scales, ticks, legends), and the sections and
//!   charts:
//!   - [`render::charts`]: the batch experiment's five charts (batch time, probe latency, probe
//!     vs the server's lag, one batch's timeline, latency CDF).
//!   - [`render::drift`]: the drift line at the top (from [`analysis::drift`]: the machine's
//!     speed in each pass, passes.csv) and its chart.
//!   - [`render::halves`]: the split-halves line at the top: how many of the run's claims both
//!     halves of its passes repeated ([`analysis::claims`]), and which did not.
//!   - [`render::advice`]: "What to do", the verdict the report opens with: the pattern that
//!     kept the server answering (the first of the facts' ranking), with its figures and the
//!     code to copy.
//!   - [`render::findings`]: the findings section; no difference is called inside the rounds'
//!     noise.
//!   - [`render::sizes`]: the "Work size" section (sizes experiment) and its two charts,
//!     rendered from [`analysis::sizes`]' facts: offload cost per strategy and runtime, the
//!     cheapest and the costliest, the crossover work size.
//!   - [`render::rate`]: the rate experiment's section (rate_summary.csv, when present): knee
//!     and overload behaviour per pair (from [`analysis::rate`]), latency and goodput against
//!     offered load.
//!   - [`render::cache`]: "Answers that repeat: /cached" (the batch experiment's cache.csv,
//!     when present), rendered from [`analysis::cache`]' facts: one table of the key mixes
//!     beside `/rayon` (hit ratio asked and counted, kernels computed and coalesced per round,
//!     batch time, request and probe p99), each figure its range over the settings.
//!   - [`render::queue`]: "The task queue: /queue on Redis" (when the run measured `/queue`),
//!     rendered from [`analysis::queue`]' facts: the broker hop per runtime (`/queue`'s time to
//!     result minus `/jobs`', from the sizes experiment at n = 0, paired by pass and read at
//!     the median), the scale-out with 1, 2…
//!     worker processes and its verdict and chart, and the fault run (a worker killed
//!     mid-burst: every job accounted for).
//!   - [`render::readme`]: the phrases with figures the README quotes from the baseline, from
//!     the same facts (checked by `tests/whole.rs`).
//!   - [`render::pools`]: "Pool size" (the pools experiment, pools_summary.csv), rendered from
//!     [`analysis::pools`]' facts: per runtime and worker count the pool size and priority
//!     that kept the probe below T1 at the least work time, with its rounds' range; a line per
//!     pool size; a chart per strategy of probe p99 and work time against the pool's size. A
//!     run without it says "Pools not measured".
//!   - [`render::markdown`]: REPORT.md: metadata, findings, charts, the per-pair grids (work
//!     efficiency and request p99, memory; the rest of each pair's figures in summary.csv),
//!     the Python demo's figures beside ours, the reading notes (noise, stalls, figures: said
//!     once). `render::grid` (private) writes every per-pair grid, the stall table's too: a
//!     row per strategy, a column per runtime × workers.
//! - [`generate`] / [`write()`]: the facts computed once, every section and chart in memory,
//!   then onto disk, each file atomically.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub mod analysis;
pub mod data;
pub mod render;

use render::{cache, charts, drift, markdown, pools, queue, rate, sizes};

pub use data::{DataError, Results};

/// The report's file name inside the results directory.
pub const REPORT_FILE: &str = results_format::REPORT_FILE;
/// The charts' directory inside the results directory (linked relatively from the report).
pub const CHARTS_DIR: &str = results_format::CHARTS_DIR;

/// A generated report, not yet on disk.
#[derive(Debug, Clone)]
pub struct Report {
    /// REPORT.md.
    pub markdown: String,
    /// The charts, to go under [`CHARTS_DIR`].
    pub charts: Vec<charts::Chart>,
}

/// Builds the report of `results`: the batch experiment's sections when it was measured, the
/// sizes and rate experiments' when they were, the task queue's when `/queue` was.
pub fn generate(results: &Results) -> Report {
    let facts = analysis::Facts::of(results);
    let mut charts = if facts.run.has_batch {
        charts::all(&facts)
    } else {
        vec![]
    };
    charts.extend(drift::chart(&facts.passes));
    let sizes = sizes::charts(facts.sizes.as_ref());
    let mut markdown = markdown::report(&facts, &charts, &sizes, CHARTS_DIR);
    charts.extend(sizes);
    // /cached beside /rayon (cache.csv); a batch run without it says it was not measured.
    if facts.run.has_batch {
        markdown.push_str(&cache::markdown(&facts.cache));
    }
    // The rate experiment's section and charts, when it was measured.
    if let (Some(pairs), Some(found), Some(tally)) =
        (&facts.rate_pairs, &facts.rate, &facts.rate_steps)
    {
        let rate_charts = rate::charts(pairs, found);
        markdown.push_str(&rate::markdown(
            pairs,
            &facts.run.metadata,
            found,
            tally,
            &rate_charts,
            CHARTS_DIR,
        ));
        charts.extend(rate_charts);
    }
    // The task queue's section and its chart, when /queue was measured (nothing otherwise).
    let queue_charts = queue::charts(&facts.queue);
    markdown.push_str(&queue::markdown(&facts, &queue_charts, CHARTS_DIR));
    charts.extend(queue_charts);
    // The pool-sizing section and its charts; a line saying it was not measured otherwise.
    let pools_charts = pools::charts(facts.pools.as_ref());
    markdown.push_str(&pools::markdown(
        facts.pools.as_ref(),
        &pools_charts,
        CHARTS_DIR,
    ));
    charts.extend(pools_charts);
    Report { markdown, charts }
}

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The results could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads `dir`, generates the report and writes it there: the charts first, then REPORT.md,
/// each through a temporary file and a rename, so a reader never sees a half-written file.
/// Returns the paths written.
pub fn run(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let results = Results::load(dir)?;
    write(dir, &generate(&results))
}

/// Writes `report` into `dir`.
pub fn write(dir: &Path, report: &Report) -> Result<Vec<PathBuf>, Error> {
    let charts_dir = dir.join(CHARTS_DIR);
    fs::create_dir_all(&charts_dir).map_err(|source| Error::Write {
        path: charts_dir.clone(),
        source,
    })?;
    let mut written = Vec::new();
    for c in &report.charts {
        let path = charts_dir.join(c.file);
        write_atomic(&path, c.svg.as_bytes())?;
        written.push(path);
    }
    let path = dir.join(REPORT_FILE);
    write_atomic(&path, report.markdown.as_bytes())?;
    written.push(path);
    Ok(written)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Write {
            path: path.to_owned(),
            source,
        }
    })
}
