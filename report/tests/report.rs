//! The report generator on a committed fixture (tests/fixtures/results: a small real
//! bench-runner run, see its README.md): every chart is produced and is well-formed SVG, the
//! per-pair grids have a cell per pair, findings are computed from the data, and a missing or malformed
//! file is a clear error, in the library and from the real binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Strategy;
use report::analysis::{self, Facts, Responsiveness};
use report::data::PairKey;
use report::render::findings;
use report::{DataError, Results};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results")
}

fn load() -> Results {
    Results::load(&fixture()).expect("the fixture loads")
}

/// A fresh copy of the fixture in a scratch directory, for tests that write or break it.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("report-test-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    for entry in fs::read_dir(fixture()).expect("fixture dir") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    dir
}

fn key(target: &str, workers: u32, strategy: Strategy) -> PairKey {
    PairKey {
        target: target.into(),
        workers: Some(workers),
        strategy,
    }
}

/// The cell of one pair in the first grid (a row per strategy, a column per setting) after
/// `heading` in `md`: the row starting with `row` (`| /cycle |`, or `| /cycle (inline) |` in the
/// stall table), the column headed `setting` (`tokio ×1`).
fn grid_cell(md: &str, heading: &str, row: &str, setting: &str) -> String {
    let lines: Vec<&str> = md
        .split(heading)
        .nth(1)
        .expect("heading")
        .lines()
        .skip_while(|l| !l.starts_with("| strategy |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let cells = |l: &str| -> Vec<String> { l.split('|').map(|c| c.trim().to_owned()).collect() };
    let column = cells(lines[0])
        .iter()
        .position(|c| c == setting)
        .unwrap_or_else(|| panic!("no column {setting}: {}", lines[0]));
    let line = lines
        .iter()
        .find(|l| l.starts_with(row))
        .unwrap_or_else(|| panic!("no row {row}"));
    cells(line)[column].clone()
}

/// A pair's cell in the "Per pair" section's first grid (work efficiency · request p99).
fn per_pair_cell(md: &str, target: &str, workers: Option<u32>, s: Strategy) -> String {
    let setting = report::render::format::setting(target, workers);
    grid_cell(md, "## Per pair", &format!("| {} |", s.path()), &setting)
}

/// A pair's cell in the stall table under the findings.
fn stall_cell(md: &str, target: &str, workers: Option<u32>, s: Strategy) -> String {
    let setting = report::render::format::setting(target, workers);
    let row = format!(
        "| {} ({}) |",
        s.path(),
        match s.execution() {
            common::strategy::Execution::Inline => "inline",
            common::strategy::Execution::Yielding => "yielding",
            common::strategy::Execution::Offloaded => "offloaded",
            common::strategy::Execution::Detached => "detached",
            common::strategy::Execution::Job => "job API",
        }
    );
    grid_cell(md, "## Findings", &row, &setting)
}

#[test]
fn every_chart_is_written_and_is_well_formed_svg() {
    let dir = scratch("charts");
    let written = report::run(&dir).expect("report");
    let names: Vec<String> = written
        .iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "charts/batch_time.svg",
            "charts/probe_latency.svg",
            "charts/probe_vs_lag.svg",
            "charts/timeline.svg",
            "charts/latency_cdf.svg",
            "charts/drift.svg",
            "charts/queue_throughput.svg",
            "REPORT.md"
        ]
    );
    let md = fs::read_to_string(dir.join("REPORT.md")).expect("report");
    // The report opens with the verdict: the first section after the title is "What to do",
    // and it names the code to copy.
    let first = md
        .lines()
        .find(|l| l.starts_with("## "))
        .expect("a section");
    assert_eq!(first, "## What to do", "{md}");
    assert!(md.contains("Code to copy: `common/src/"), "{md}");
    // The timeline says which batch it shows: the first runtime, one worker, median rounds
    // (a linked chart: its title is the link's text).
    assert!(
        md.contains("- [One batch per strategy (tokio + axum, 1 worker, the median round"),
        "{md}"
    );
    // Every chart is in the report: the first two inline, the others linked by their titles.
    for c in ["batch_time.svg", "probe_latency.svg"] {
        assert!(md.contains(&format!("](charts/{c})\n\n")), "{c}: {md}");
    }
    for c in [
        "probe_vs_lag.svg",
        "timeline.svg",
        "latency_cdf.svg",
        "drift.svg",
    ] {
        assert!(md.contains(&format!("](charts/{c})\n")), "{c}: {md}");
    }
    // The drift chart: the machine's speed per pass, one dot per pass (2 in the fixture).
    let drift = fs::read_to_string(dir.join("charts/drift.svg")).expect("drift chart");
    let doc = roxmltree::Document::parse(&drift).expect("drift.svg is well-formed");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count(),
        2
    );
    assert!(drift.contains("time in the run (s)"), "{drift}");
    assert!(md.contains("(charts/drift.svg)"), "{md}");
    let drawn = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg") && !p.ends_with("drift.svg"));
    for path in drawn {
        let text = fs::read_to_string(path).expect("svg");
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        let texts: Vec<String> = root
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(str::to_owned))
            .collect();
        let has_title = root.descendants().any(|n| n.has_tag_name("title"));
        assert!(has_title, "{}", path.display());
        // Axis titles carry their unit; every strategy is named (axis labels or legend).
        assert!(
            texts
                .iter()
                .any(|t| t.contains("(ms") || t.contains("(%)") || t.contains("jobs / s")),
            "{}: no axis unit",
            path.display()
        );
        // The batch's charts name every strategy; the queue experiment's, /jobs and /queue.
        let queue_chart = path
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with("queue_"));
        let named: Vec<Strategy> = if queue_chart {
            vec![Strategy::Jobs, Strategy::Queue]
        } else {
            Strategy::ALL.to_vec()
        };
        for s in named {
            assert!(
                texts.iter().any(|t| t.contains(s.path())),
                "{}: {} missing",
                path.display(),
                s.path()
            );
        }
        // The report embeds it with a relative link.
        let rel = path
            .strip_prefix(&dir)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        assert!(md.contains(&format!("]({rel})")), "{rel} not linked");
    }
    // Nothing temporary left behind; a second run replaces the files.
    report::run(&dir).expect("second run");
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("dir")
        .chain(fs::read_dir(dir.join("charts")).expect("charts"))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_per_pair_grid_has_a_cell_per_pair() {
    let r = load();
    let md = report::generate(&r).markdown;
    // tokio's two flavours are told apart by the target's name.
    let ctt = per_pair_cell(&md, "tokio-current-thread", Some(1), Strategy::Cycle);
    let tokio = per_pair_cell(&md, "tokio", Some(1), Strategy::Cycle);
    assert!(
        ctt.contains(" · ") && tokio.contains(" · "),
        "{ctt} {tokio}"
    );
    let applicable: Vec<_> = r.summary.iter().filter(|p| !p.not_applicable()).collect();
    assert_eq!(
        r.summary.len(),
        99,
        "(4 targets × 2 worker counts + tokio-current-thread × 1) × 11 strategies"
    );
    assert_eq!(
        r.summary.len() - applicable.len(),
        7,
        "/block_in_place on tokio-current-thread (1), async-std, smol and actix (2 each)"
    );
    // Every pair has its cell: efficiency · request p99 when measured, a dash when not
    // applicable (/block_in_place off tokio multi-thread), **failed** when it failed.
    for pair in &r.summary {
        let cell = per_pair_cell(&md, &pair.target, pair.workers, pair.strategy);
        if pair.not_applicable() {
            assert_eq!(cell, "–", "{}", pair.key());
        } else if pair.ok() {
            let eff = pair.efficiency_mean.expect("efficiency");
            assert!(cell.starts_with(&format!("{eff:.2} · ")), "{cell}");
        } else {
            assert_eq!(cell, "**failed**", "{}", pair.key());
        }
    }
    // The figures left out of the report are said to be in summary.csv.
    assert!(
        md.contains("T1, batch time, request p50, probe p99, lag and cores used: `summary.csv`."),
        "{md}"
    );
}

#[test]
fn a_failed_pair_is_marked_in_the_table_and_left_out_of_the_charts() {
    let mut r = load();
    let failed = key("smol", 2, Strategy::Jobs);
    let row = r
        .summary
        .iter_mut()
        .find(|s| s.key() == failed)
        .expect("pair");
    row.result = "failed".into();
    row.failure = Some("1 of 4 requests failed: 1 timeout".into());
    let rep = report::generate(&r);
    assert_eq!(
        per_pair_cell(&rep.markdown, "smol", Some(2), Strategy::Jobs),
        "**failed**"
    );
    assert!(
        rep.markdown
            .contains("smol × 2 workers × /jobs (1 of 4 requests failed: 1 timeout)"),
        "{}",
        rep.markdown
    );
    assert!(
        rep.markdown.contains("1 of 92 pairs failed"),
        "99 pairs less 7 not applicable: {}",
        rep.markdown
    );
    // The pairs the runtime cannot run are the stall table's dashes, its legend says why.
    assert!(
        rep.markdown.contains(
            "–: failed, no probe due, or not applicable: the runtime cannot run it, `501`"
        ),
        "{}",
        rep.markdown
    );
    assert!(
        !rep.markdown.contains("- **Not applicable**"),
        "{}",
        rep.markdown
    );
    for c in &rep.charts {
        roxmltree::Document::parse(&c.svg).expect("well-formed");
    }
    let bars = report::render::charts::batch_time(&Facts::of(&r));
    assert!(bars.contains(">failed</text>"));
    // Left out of the findings' figures too.
    assert!(
        analysis::verdict::verdicts(&r)
            .iter()
            .all(|v| v.key != failed)
    );
}

#[test]
fn findings_are_computed_from_the_data() {
    let r = load();
    let pair = |k: &PairKey| r.pair(k).expect("pair").clone();

    // An inline handler on one worker stalls the probe; the stall ratio is the pooled probe
    // p99 ÷ T1, and every round's worst probe reached T1 too.
    let verdicts = analysis::verdict::verdicts(&r);
    let v = verdicts
        .iter()
        .find(|v| v.key == key("tokio", 1, Strategy::Cycle))
        .expect("verdict");
    assert_eq!(v.class, Responsiveness::Stalled);
    assert_eq!(v.work_alone_ms, FIXTURE_T1_TOKIO_1_CYCLE);
    assert_eq!(v.probe_p99_ms, FIXTURE_PROBE_P99_US_TOKIO_1_CYCLE / 1000.0);
    assert_eq!(v.stall, v.probe_p99_ms / FIXTURE_T1_TOKIO_1_CYCLE);
    assert_eq!(v.rounds.len(), 2);
    assert!(v.rounds.iter().all(|x| *x >= 1.0), "{:?}", v.rounds);
    assert_eq!(
        report::render::format::times(v.stall),
        FIXTURE_STALL_TOKIO_1_CYCLE
    );
    // Whose stall it was, as bench-runner decided it from the executor threads' own figures:
    // one worker running a kernel inline is on a CPU most of the round (executor busy). The
    // server's own lag stays beside it.
    let p = pair(&key("tokio", 1, Strategy::Cycle));
    let lag_ms = p.lag_us_p99_median.expect("lag in the fixture") / 1000.0;
    assert_eq!(v.lag_p99_ms, Some(lag_ms));
    assert_eq!(p.attribution.as_deref(), Some("executor_busy"));
    let busy = p
        .executor_busy_share_median
        .expect("the scheduler's figures");
    assert!(busy >= 0.5, "{busy}");
    assert_eq!(v.executor_busy_share, Some(busy));
    assert_eq!(v.attribution, Some(analysis::Attribution::ExecutorBusy));
    // A yielding handler can keep the probe answered. (Which runtime does varies from run to
    // run on a loaded machine: the fixture was recorded with other builds sharing the cores.)
    let yielding = verdicts
        .iter()
        .find(|v| v.key == key("async-std", 1, Strategy::CycleSleep))
        .expect("verdict");
    assert_eq!(yielding.class, Responsiveness::Responsive);

    // And the findings carry those figures, formatted: the table cell of tokio, 1 worker.
    let md = findings::markdown(&Facts::of(&r));
    let row = md
        .lines()
        .find(|l| l.starts_with("| /cycle (inline) |"))
        .expect("table row");
    // Its 2 rounds have 100 probes or fewer: the p99 is the largest, and the cell says so.
    assert!(
        row.starts_with(&format!(
            "| /cycle (inline) | **{FIXTURE_STALL_CELL_TOKIO_1_CYCLE}** (max) E |"
        )),
        "{row}"
    );
    // The counts in the sentence are the verdicts' (in this fixture every inline pair stalled;
    // the borderline class has its own unit tests in findings.rs).
    let inline: Vec<&analysis::Verdict> = verdicts
        .iter()
        .filter(|v| v.key.strategy.execution() == common::strategy::Execution::Inline)
        .collect();
    let count = |c| inline.iter().filter(|v| v.class == c).count();
    let (stalled, borderline) = (
        count(Responsiveness::Stalled),
        count(Responsiveness::Borderline),
    );
    assert_eq!((stalled, borderline, inline.len()), (18, 0, 18));
    assert!(md.contains("Stalled: inline in 18 of 18 pairs; "), "{md}");
    // No ratio of /generator to /cycle: they run the same machine code.
    assert!(md.contains("Iterator vs loop: not compared"), "{md}");
    assert!(!md.contains("T1 of /generator"), "{md}");

    // 1 worker ÷ 2 workers, by batch time; /background by the time its work was done.
    let speedups = analysis::work::speedups(&r).expect("two worker counts");
    assert_eq!((speedups.few, speedups.many), (1, 2));
    let ratio = |s: Strategy| {
        speedups
            .ratios
            .iter()
            .find(|x| x.target == "tokio" && x.strategy == s)
            .expect("tokio pair")
            .ratio
    };
    let one = pair(&key("tokio", 1, Strategy::Cycle))
        .batch_ms_mean
        .expect("batch");
    let two = pair(&key("tokio", 2, Strategy::Cycle))
        .batch_ms_mean
        .expect("batch");
    assert_eq!(ratio(Strategy::Cycle), one / two);
    let done = |w| {
        pair(&key("tokio", w, Strategy::Background))
            .background_done_ms_mean
            .expect("done")
    };
    assert_eq!(ratio(Strategy::Background), done(1) / done(2));
}

#[test]
fn the_report_says_how_many_samples_each_percentile_rests_on() {
    let r = load();
    let md = report::generate(&r).markdown;
    let requests: Vec<u64> = r
        .summary
        .iter()
        .filter(|p| p.ok())
        .map(|p| p.answered())
        .collect();
    assert!(
        requests.iter().all(|n| *n == 8),
        "C = 4 × 2 rounds: {requests:?}"
    );
    assert!(
        md.contains("Here each pair's request percentiles rest on 8 answered requests"),
        "{md}"
    );
    let probes: Vec<u64> = r
        .summary
        .iter()
        .map(|p| p.probes)
        .filter(|n| *n > 0)
        .collect();
    let (lo, hi) = (
        probes.iter().min().expect("probes"),
        probes.iter().max().expect("probes"),
    );
    assert!(
        md.contains(&format!("and its probe percentiles on {lo} – {hi} probes")),
        "{md}"
    );
    // A p99 that rests on 100 samples or fewer, so is the largest of them, is marked: here
    // every request p99 (8 requests) in the per-pair grid, and a probe p99 in the stall table
    // by its own count.
    for p in r.summary.iter().filter(|p| p.ok()) {
        let cell = per_pair_cell(&md, &p.target, p.workers, p.strategy);
        assert!(cell.ends_with("(max)"), "request p99: {cell}");
        let cell = stall_cell(&md, &p.target, p.workers, p.strategy);
        assert_eq!(cell.contains("(max)"), p.probes <= 100, "probe p99: {cell}");
    }
}

#[test]
fn probe_errors_are_shown_in_the_table_and_the_findings() {
    let mut r = load();
    assert!(
        r.summary.iter().all(|p| p.probe_errors == 0),
        "the fixture has no failed probe; this test makes one"
    );
    let md = report::generate(&r).markdown;
    assert!(md.contains("- **Probe errors: none.**"), "{md}");

    let k = key("smol", 2, Strategy::Rayon);
    let timeout = r
        .probe_timeout_us()
        .expect("probe timeout in metadata.json");
    r.summary
        .iter_mut()
        .find(|s| s.key() == k)
        .expect("pair")
        .probe_errors = 1;
    let round = r
        .rounds
        .iter_mut()
        .find(|x| x.key() == k && x.round == 1)
        .expect("round");
    round.probe_errors = 1;
    assert_eq!(round.probe_worst_us(Some(timeout)), Some(timeout));
    let md = report::generate(&r).markdown;
    assert!(
        md.contains("- **Probes that got no answer** on 1 of 92 pairs: /rayon on smol, 2 workers"),
        "{md}"
    );
    let cell = stall_cell(&md, "smol", Some(2), Strategy::Rayon);
    assert!(cell.ends_with("✗ 1"), "{cell}");
    // A probe that waited the whole timeout: that round stalled, so the pair cannot be
    // responsive.
    let v = analysis::verdict::verdicts(&r)
        .into_iter()
        .find(|v| v.key == k)
        .expect("verdict");
    assert_ne!(v.class, Responsiveness::Responsive);
    let cells = md
        .lines()
        .find(|l| l.starts_with("| /rayon (offloaded) |"))
        .expect("table row");
    // smol, 2 workers: the column before actix's two.
    assert!(cells.contains("✗ 1 |"), "{cells}");
    // And the probe chart marks it.
    assert!(!report::render::charts::probe_latency(&Facts::of(&load())).contains(">✗</text>"));
    assert!(report::render::charts::probe_latency(&Facts::of(&r)).contains(">✗</text>"));
}

// Figures of the fixture's summary.csv, read by eye from the file (tokio, 1 worker, /cycle).
const FIXTURE_T1_TOKIO_1_CYCLE: f64 = 11.754;
const FIXTURE_PROBE_P99_US_TOKIO_1_CYCLE: f64 = 47136.0;
const FIXTURE_STALL_TOKIO_1_CYCLE: &str = "4.01×";
/// The same stall in the findings' table, which gives two significant figures from 10 on.
const FIXTURE_STALL_CELL_TOKIO_1_CYCLE: &str = "4.01";

#[test]
fn the_python_demo_figures_stand_beside_ours_only_at_the_same_load() {
    let r = load();
    let md = report::generate(&r).markdown;
    assert!(md.contains("| /thread | 22.03 s |"));
    assert!(md.contains("| /background | 0.47 s |"));
    assert!(md.contains("This run has no pair at the demo's load"));
    assert!(md.contains("--n 10000000 --concurrency 20"));

    // The same data relabelled as the demo's load: our figures appear, in seconds.
    let mut demo = r.clone();
    for s in &mut demo.summary {
        s.n = 10_000_000;
        s.concurrency = 20;
    }
    let md = report::generate(&demo).markdown;
    assert!(!md.contains("This run has no pair at the demo's load"));
    // Per worker count, the fastest and the slowest runtime's /cycle batch, in seconds.
    let cycles: Vec<f64> = demo
        .summary
        .iter()
        .filter(|p| p.ok() && p.strategy == Strategy::Cycle && p.workers == Some(1))
        .filter_map(|p| p.batch_ms_mean)
        .collect();
    let lo = cycles.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = cycles.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let row = md
        .lines()
        .find(|l| l.starts_with("| /cycle | 9.00 s |"))
        .expect("cycle row");
    assert!(
        row.starts_with(&format!(
            "| /cycle | 9.00 s | {:.3} – {:.3} s |",
            lo / 1000.0,
            hi / 1000.0
        )),
        "{row}"
    );
    assert!(md.contains("| this run, 1 worker |"), "{md}");
    // /background's 202 batch time measures no work: ours is left out beside the demo's, and
    // its efficiency in the per-pair grid is that of the time until the work was done.
    let row = md
        .lines()
        .find(|l| l.starts_with("| /background | 0.47 s |"))
        .expect("background row");
    assert_eq!(row, "| /background | 0.47 s | – | – |");
    let bg = demo
        .summary
        .iter()
        .find(|p| p.key() == key("tokio", 1, Strategy::Background))
        .expect("background");
    let ideal = bg.ideal_batch_ms.expect("ideal");
    let from_done = ideal / bg.background_done_ms_mean.expect("done");
    let from_202s = ideal / bg.batch_ms_mean.expect("batch");
    let eff = bg.efficiency_mean.expect("efficiency");
    assert!(
        (eff / from_done - 1.0).abs() < (eff / from_202s - 1.0).abs(),
        "{eff} is the done time's ({from_done}), not the 202s' ({from_202s})"
    );
    let cell = per_pair_cell(&md, "tokio", Some(1), Strategy::Background);
    assert!(cell.starts_with(&format!("{eff:.2} · ")), "{cell}");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    for file in [
        "summary.csv",
        "rounds.csv",
        "raw.csv",
        "probes.csv",
        "metadata.json",
    ] {
        let dir = scratch(&format!("missing-{file}"));
        fs::remove_file(dir.join(file)).expect("remove");
        let err = Results::load(&dir).expect_err("must fail");
        assert!(matches!(err, DataError::Missing { .. }), "{file}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains(file) && msg.contains("not found"), "{msg}");
        assert!(!dir.join("REPORT.md").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_malformed_file_is_an_error_naming_file_and_line() {
    let dir = scratch("malformed");
    // Line 5 of rounds.csv: a batch time that is not a number.
    let path = dir.join("rounds.csv");
    let text = fs::read_to_string(&path).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header
        .iter()
        .position(|c| *c == "batch_ms")
        .expect("batch_ms");
    let mut fields: Vec<String> = lines[4].split(',').map(str::to_owned).collect();
    fields[col] = "fast".into();
    lines[4] = fields.join(",");
    fs::write(&path, lines.join("\n") + "\n").expect("write");
    let msg = Results::load(&dir).expect_err("must fail").to_string();
    assert!(msg.contains("rounds.csv, line 5"), "{msg}");
    assert!(msg.contains(&format!("field {}", col + 1)), "{msg}");

    // A truncated raw.csv row.
    let dir2 = scratch("truncated");
    let path = dir2.join("raw.csv");
    let text = fs::read_to_string(&path).expect("read");
    let cut = format!("{}\ntokio,tokio,axum\n", text.trim_end());
    let line = cut.lines().count();
    fs::write(&path, cut).expect("write");
    let msg = Results::load(&dir2).expect_err("must fail").to_string();
    assert!(msg.contains(&format!("raw.csv, line {line}")), "{msg}");

    // Broken JSON.
    let dir3 = scratch("json");
    fs::write(dir3.join("metadata.json"), "{\"cores\": ").expect("write");
    let msg = Results::load(&dir3).expect_err("must fail").to_string();
    assert!(msg.contains("metadata.json"), "{msg}");

    // A probe of a pair that summary.csv does not list.
    let dir4 = scratch("stray");
    let path = dir4.join("probes.csv");
    let text = fs::read_to_string(&path).expect("read");
    fs::write(
        &path,
        format!("{text}nginx,1,cycle,sum-squares,1,0,0,0,0,100,100,200,\n"),
    )
    .expect("write");
    let msg = Results::load(&dir4).expect_err("must fail").to_string();
    assert!(
        msg.contains("probes.csv") && msg.contains("not in summary.csv"),
        "{msg}"
    );

    for d in [dir, dir2, dir3, dir4] {
        let _ = fs::remove_dir_all(d);
    }
}

#[test]
fn the_binary_writes_the_report_or_exits_non_zero_with_the_reason() {
    let bin = env!("CARGO_BIN_EXE_report");
    let dir = scratch("bin");
    let out = Command::new(bin)
        .arg("--results")
        .arg(&dir)
        .output()
        .expect("run report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("REPORT.md").is_file());

    fs::remove_file(dir.join("summary.csv")).expect("remove");
    let out = Command::new(bin)
        .arg("--results")
        .arg(&dir)
        .output()
        .expect("run report");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("summary.csv: not found"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A run of `--experiment sizes` alone: metadata.json lists only sizes, and there is no
/// summary.csv. The report is still written, with the "Work size" section and its charts and
/// without the batch sections; a run listing sizes without sizes_summary.csv is an error.
#[test]
fn a_sizes_only_run_gets_its_section_and_no_batch_sections() {
    let dir = scratch("sizes-only");
    for name in ["summary.csv", "rounds.csv", "raw.csv", "probes.csv"] {
        fs::remove_file(dir.join(name)).expect("remove");
    }
    let meta = fs::read_to_string(dir.join("metadata.json")).expect("metadata");
    let mut meta: serde_json::Value = serde_json::from_str(&meta).expect("json");
    meta["experiments"] = serde_json::json!(["sizes"]);
    fs::write(dir.join("metadata.json"), meta.to_string()).expect("metadata");
    let err = Results::load(&dir).expect_err("sizes_summary.csv is missing");
    assert!(err.to_string().contains("sizes_summary.csv"), "{err}");

    // /cycle's probe p99 climbs with n; /rayon's stays low; T1 grows 1 µs per unit.
    let mut csv = results_format::SIZES_SUMMARY.header();
    csv.push('\n');
    let cols = results_format::SIZES_SUMMARY.columns;
    for (strategy, extra, probe) in [
        ("cycle", 0.0, [300.0, 350.0, 5_000.0, 40_000.0]),
        ("rayon", 25.0, [300.0, 320.0, 400.0, 900.0]),
    ] {
        for (i, n) in [0u64, 10, 1_000, 10_000].into_iter().enumerate() {
            let t1 = 100.0 + n as f64 + extra;
            let row: Vec<String> = cols
                .iter()
                .map(|c| match *c {
                    "target" => "smol".into(),
                    "runtime" => "smol".into(),
                    "framework" => "hyper".into(),
                    "client" => "reqwest".into(),
                    "workers" => "1".into(),
                    "strategy" => strategy.into(),
                    "kernel" => "sum-squares".into(),
                    "n" => n.to_string(),
                    "concurrency" => "20".into(),
                    "rounds" => "3".into(),
                    "result" => "ok".into(),
                    "t1_us" => format!("{t1:.0}"),
                    "latency_us_p50" => format!("{:.0}", t1 * 3.0),
                    "probe_latency_us_p99" => format!("{:.0}", probe[i]),
                    "probes" => "60".into(),
                    "probe_errors" => "0".into(),
                    _ => String::new(),
                })
                .collect();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
    }
    fs::write(dir.join("sizes_summary.csv"), csv).expect("sizes_summary.csv");

    let written = report::run(&dir).expect("the report is written");
    let md = fs::read_to_string(dir.join("REPORT.md")).expect("REPORT.md");
    assert!(md.contains("## Work size"), "{md}");
    assert!(
        !md.contains("## Findings") && !md.contains("## Charts"),
        "{md}"
    );
    assert!(md.contains("| /rayon | +25 |"), "{md}");
    assert!(md.contains("| smol ×1 | 1,000 | 1.00 ms |"), "{md}");
    let charts: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        charts,
        ["sizes_probe.svg", "sizes_latency.svg", "REPORT.md"]
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A queue_summary.csv row: every column empty but the ones named.
fn queue_line(fields: &[(&str, &str)]) -> String {
    let cols = results_format::QUEUE_SUMMARY.columns;
    let mut v = vec![""; cols.len()];
    for (k, val) in fields {
        v[cols.iter().position(|c| c == k).expect("column")] = val;
    }
    v.join(",")
}

#[test]
fn queue_files_are_read_only_when_the_run_lists_the_queue_experiment() {
    let dir = scratch("queue");
    let meta = dir.join("metadata.json");
    let experiments = |list: serde_json::Value| {
        let mut m: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&meta).expect("read")).expect("json");
        m["experiments"] = list;
        fs::write(&meta, m.to_string()).expect("write");
    };
    // The fixture ran the batch and the queue experiments: as a batch-only run first.
    experiments(serde_json::json!(["batch"]));
    let before = report::generate(&Results::load(&dir).expect("loads")).markdown;
    let path = dir.join(results_format::QUEUE_SUMMARY.name);
    let header = results_format::QUEUE_SUMMARY.header();
    // A stray, even malformed, queue_summary.csv in a run that did not measure the queue
    // experiment is not read: the report is the same, byte for byte.
    let stray = queue_line(&[("target", "tokio"), ("result", "ok"), ("strategy", "rayon")]);
    fs::write(&path, format!("{header}\n{stray}\n")).expect("write");
    let r = Results::load(&dir).expect("loads");
    assert!(r.queue.is_none());
    assert_eq!(report::generate(&r).markdown, before);

    // Listed in metadata.json: read, and its section comes after everything else, which is
    // as before but for the lines that name the experiment and the /queue bullet of "What to
    // do" (its fault result).
    experiments(serde_json::json!(["batch", "queue"]));
    let id = [
        ("target", "tokio"),
        ("runtime", "tokio"),
        ("framework", "axum"),
    ];
    let row = |extra: &[(&'static str, &'static str)]| {
        let mut f = id.to_vec();
        f.extend_from_slice(extra);
        queue_line(&f)
    };
    let fault = row(&[
        ("workers", "2"),
        ("result", "ok"),
        ("run", "fault"),
        ("strategy", "queue"),
        ("queue_workers", "2"),
        ("jobs", "16"),
        ("accepted", "16"),
        ("completed", "15"),
        ("wrong", "0"),
        ("lost", "1"),
        ("killed_at_ms", "120"),
        ("taken_over", "2"),
    ]);
    fs::write(&path, format!("{header}\n{fault}\n")).expect("write");
    let r = Results::load(&dir).expect("loads");
    assert_eq!(r.queue.as_ref().map(|q| q.rows.len()), Some(1));
    let md = report::generate(&r).markdown;
    // The section is there either way (the batch measured /queue: its hop), with the queue
    // experiment's part only now.
    let section = "## The task queue: /queue on Redis";
    let at = md.find(section).expect("the section");
    let bullet = "- **To scale out past one machine: the task queue, `/queue`**";
    let head = |md: &str| -> String {
        let at = md.find(section).expect("the section");
        md[..at]
            .lines()
            .filter(|l| !l.starts_with(bullet))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        head(&md)
            .replace(", `queue_summary.csv` (queue experiment)", "")
            .replace("| experiments | batch, queue |", "| experiments | batch |"),
        head(&before)
    );
    assert!(!before[before.find(section).expect("section")..].contains("### Fault run"));
    assert!(
        md.lines().any(|l| l.starts_with(bullet)
            && l.contains("With a worker process killed mid-burst: **JOBS LOST")),
        "{md}"
    );
    assert!(
        md[at..].contains("**JOBS LOST OR WRONG with a worker killed** in 1 of 1 fault runs: tokio: of 16 accepted jobs, 1 lost and 15 completed"),
        "{md}"
    );
    // A run that lost a job shows every count.
    assert!(
        md[at..].contains("| tokio | 16 | 16 | 15 | 0 | 1 | 2 | 120 |"),
        "{md}"
    );

    // Listed but missing: an error naming the file.
    fs::remove_file(&path).expect("remove");
    let msg = Results::load(&dir).expect_err("must fail").to_string();
    assert!(
        msg.contains("queue_summary.csv") && msg.contains("not found"),
        "{msg}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// bench-runner tells the report's charts from files of the user's in `charts/` by
/// `results_format::CHARTS`: the committed baseline, which measured every experiment, renders
/// exactly those charts.
#[test]
fn the_charts_list_names_every_chart_the_report_writes() {
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let results = Results::load(&baseline).expect("the baseline loads");
    let mut written: Vec<&str> = report::generate(&results)
        .charts
        .iter()
        .map(|c| c.file)
        .collect();
    written.sort_unstable();
    // The baseline's run has no pools experiment (its own run, `make bench-pools`): every
    // chart but the pools section's.
    assert!(
        results.pools.is_none(),
        "pools not measured in the baseline"
    );
    let mut listed: Vec<&str> = results_format::CHARTS
        .iter()
        .copied()
        .filter(|c| !results_format::POOLS_CHARTS.contains(c))
        .collect();
    listed.sort_unstable();
    assert_eq!(written, listed);
    let md = report::generate(&results).markdown;
    assert!(md.contains("Pools not measured in this run"), "{md}");
}

/// The report of an external run (`tests/fixtures/external`: `bench-runner --url` at a server
/// serving `/cycle` and `/thread`, the case issue 26 met): it names the server as external,
/// never both recommends a strategy and advises against it, says what to add when `/rayon` was
/// not measured, and prints no `inf`, `NaN` or empty label.
#[test]
fn an_external_report_never_recommends_what_it_advises_against() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/external");
    let r = Results::load(&dir).expect("the external fixture loads");
    assert!(r.external());
    let md = report::generate(&r).markdown;
    let what_to_do = md
        .split("## What to do")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("no What to do: {md}"));
    // The bullets that recommend and those that advise against, by their bold heading.
    let mut recommended = Vec::new();
    let mut advised_against = Vec::new();
    for bullet in what_to_do.lines().filter(|l| l.starts_with("- **")) {
        let heading = bullet.split("**").nth(1).unwrap_or_default();
        let named: Vec<Strategy> = Strategy::ALL
            .into_iter()
            .filter(|s| bullet.contains(&format!("`{}`", s.path())))
            .collect();
        if heading.starts_with("Do not") || heading.starts_with("Not ") {
            advised_against.extend(named);
        } else if heading.starts_with("Offload") || heading.starts_with("To scale out") {
            recommended.extend(named);
        }
    }
    assert!(!advised_against.is_empty(), "{what_to_do}");
    for s in &recommended {
        assert!(
            !advised_against.contains(s),
            "{} both ways:\n{what_to_do}",
            s.path()
        );
    }
    assert!(
        what_to_do.contains("**`/rayon` was not measured here**"),
        "{what_to_do}"
    );
    assert!(what_to_do.contains("on an external server"), "{what_to_do}");
    assert!(
        !what_to_do.contains("with the `sum-squares` kernel"),
        "{what_to_do}"
    );
    let words: Vec<&str> = md.split(|c: char| !c.is_alphanumeric()).collect();
    assert!(!words.iter().any(|w| *w == "inf" || *w == "NaN"), "{md}");
    assert!(!md.contains("( + )") && !md.contains("()"), "{md}");
    // One offload measured: no "cheapest … and the costliest" of the same pair.
    assert!(!md.contains("costliest /thread"), "{md}");
}

/// The pools experiment's section from a real short run (`tests/fixtures/pools`: tokio, one
/// worker, `/rayon` and `/thread` at pools of 1 and 2, `/rayon` also at nice 19, 2 passes):
/// the facts follow the file (the cheapest configuration whose probe p99 and rounds' worst are
/// below its T1), the section and a chart per strategy are written, and nothing else.
#[test]
fn a_pools_run_gets_its_section_from_the_facts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pools");
    let r = Results::load(&dir).expect("the pools fixture loads");
    assert!(!r.has_batch());
    let rows = r.pools.as_ref().expect("pools rows");
    assert_eq!(rows.len(), 6);
    let f = Facts::of(&r);
    let pools = f.pools.as_ref().expect("pools facts");
    assert_eq!(pools.cores, 2);
    assert_eq!(pools.choices.len(), 1);
    // The choice, re-derived from the rows themselves.
    let below = |p: &report::data::PoolsRow| {
        let t1_us = p.t1_ms.expect("t1") * 1e3;
        [
            p.probe_latency_us_p99,
            p.probe_worst_us_min,
            p.probe_worst_us_max,
        ]
        .iter()
        .all(|v| v.expect("probe") < t1_us)
    };
    let cheapest = rows.iter().filter(|p| below(p)).min_by(|a, b| {
        let m = |p: &report::data::PoolsRow| p.batch_ms_median.expect("batch");
        m(a).total_cmp(&m(b))
    });
    let choice = &pools.choices[0];
    assert_eq!(choice.below, rows.iter().filter(|p| below(p)).count());
    match (cheapest, &choice.best) {
        (Some(want), Some(got)) => {
            assert_eq!(
                (want.strategy, want.pool_threads, want.pool_nice),
                (got.strategy, got.pool, got.nice)
            );
        }
        (None, None) => {}
        (want, got) => panic!("{want:?} against {got:?}"),
    }
    let report = report::generate(&r);
    let files: Vec<&str> = report.charts.iter().map(|c| c.file).collect();
    assert_eq!(files, ["pools_rayon.svg", "pools_thread.svg"]);
    assert!(
        report.markdown.contains("## Pool size"),
        "{}",
        report.markdown
    );
    assert!(
        report.markdown.contains("| tokio (tokio + axum) | 1 |"),
        "{}",
        report.markdown
    );
    assert!(!report.markdown.contains("Pools not measured"));
}

/// A run from before `/cached` (the committed baseline has no cache.csv) still loads, and its
/// report says `/cached` was not measured rather than showing figures it does not have.
#[test]
fn a_run_without_cache_csv_says_cached_was_not_measured() {
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    if baseline.join(results_format::CACHE.name).exists() {
        // A baseline rerun with /cached: the fixture's test covers the section.
        return;
    }
    let results = Results::load(&baseline).expect("the baseline loads");
    assert!(results.cache.is_empty());
    let md = report::generate(&results).markdown;
    assert!(
        md.contains("## Answers that repeat: /cached")
            && md.contains("was not measured in this run: no cache.csv"),
        "{md}"
    );
}

/// The fixture's `/cached` (cache.csv): on every setting, its identical batch computed one
/// kernel per round (the C requests coalesced), each hit-ratio mix is there with the ratio
/// the server counted, `/rayon` stands beside it, and the section renders them.
#[test]
fn the_cached_section_comes_from_cache_csv_beside_rayon() {
    let r = load();
    let facts = Facts::of(&r);
    // (4 targets × 2 worker counts + tokio-current-thread × 1).
    assert_eq!(facts.cache.len(), 9);
    for setting in &facts.cache {
        let identical = setting
            .mixes
            .iter()
            .find(|m| m.asked.is_none())
            .expect("the identical batch");
        assert_eq!(identical.computed_per_round, Some(1.0), "{setting:?}");
        let asked: Vec<f64> = setting.mixes.iter().filter_map(|m| m.asked).collect();
        assert_eq!(asked, [0.0, 0.5, 0.9, 0.99], "{setting:?}");
        assert!(setting.mixes.iter().all(|m| m.measured.is_some()));
        let rayon = setting.rayon.expect("/rayon beside it");
        assert_eq!(rayon.computed_per_round, setting.concurrency as f64);
    }
    let md = report::generate(&r).markdown;
    assert!(md.contains("## Answers that repeat: /cached"), "{md}");
    assert!(
        md.contains("| /cached identical | – | 0 % | 1.00 |"),
        "{md}"
    );
}
