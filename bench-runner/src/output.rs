//! The result files and how they reach the disk.
//!
//! Long-format CSV; each file's name and columns are declared once, in the `results-format`
//! crate (which report reads through too). Writers are generic over [`Write`].
//! [`write_results`] puts every file into a fresh directory beside `--out`, then swaps it with
//! `--out` in one `renameat2` (`RENAME_EXCHANGE`), so readers see either the old results or the
//! new ones, never a mix, and a failed or interrupted run never touches the old ones. The old
//! report (REPORT.md, charts/) is not carried over: it describes the old CSVs; nor are the files
//! of experiments this run did not measure: metadata.json describes one run, so the directory
//! holds that run's files only.

use std::fmt::Display;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use results_format::{DERIVED, FILES, PASSES, PROBES, RAW, ROUNDS, SUMMARY};

use crate::measure::Measurement;
use crate::stats::{self, Spread, micros};
use crate::summary::{PairSummary, PassSpeed, RoundFigures};

/// One CSV row under construction (every experiment's writers build theirs with it).
#[derive(Debug, Default)]
pub(crate) struct Row(Vec<String>);

impl Row {
    pub(crate) fn put(mut self, v: impl Display) -> Row {
        self.0.push(field(&v.to_string()));
        self
    }

    pub(crate) fn opt(self, v: Option<impl Display>) -> Row {
        match v {
            Some(v) => self.put(v),
            None => self.put(""),
        }
    }

    /// A float with `digits` decimals, empty if absent.
    pub(crate) fn num(self, v: Option<f64>, digits: usize) -> Row {
        self.opt(v.map(|v| format!("{v:.digits$}")))
    }

    /// `_mean,_sd` of a spread.
    fn spread(self, s: Option<Spread>, digits: usize) -> Row {
        self.num(s.map(|s| s.mean), digits)
            .num(s.and_then(|s| s.sd), digits)
    }

    /// A probe's columns after its round or step, the same in every experiment's probes file:
    /// index, scheduled offset, the connection that carried it, the split of its wait,
    /// latency, status, error.
    pub(crate) fn probe(self, p: &crate::probe::ProbeRecord) -> Row {
        self.put(p.index)
            .put(micros(p.scheduled_offset))
            .put(p.connection)
            .put(micros(p.harness_late))
            .put(micros(p.answer))
            .put(micros(p.latency()))
            .opt(p.status)
            .opt(p.error.as_deref())
    }

    pub(crate) fn write(self, w: &mut impl Write) -> io::Result<()> {
        writeln!(w, "{}", self.0.join(","))
    }
}

/// `text` on one line: its lines, trimmed, joined with " | ".
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The columns naming a pair, up to `kernel`: every file of every experiment starts with them
/// (`wide`: with runtime, framework and client after the target).
pub(crate) fn pair_labels(m: &Measurement, wide: bool) -> Row {
    let l = &m.labels;
    let row = Row::default().put(&l.target);
    let row = if wide {
        row.put(&l.runtime).put(&l.framework).put(l.client)
    } else {
        row
    };
    row.opt(l.workers).put(m.strategy).put(m.plan.kernel.name())
}

/// The batch files' leading columns.
fn labels(m: &Measurement, wide: bool) -> Row {
    let row = pair_labels(m, wide);
    if wide {
        row.put(m.plan.n).put(m.plan.concurrency)
    } else {
        row
    }
}

/// raw.csv.
pub fn write_raw(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", RAW.header())?;
    for m in ms {
        for round in &m.rounds {
            for r in &round.requests {
                labels(m, true)
                    .put(round.number)
                    .put(r.index)
                    .put(micros(r.start_offset))
                    .put(micros(r.latency))
                    .opt(r.status)
                    .put(r.error.is_none())
                    .opt(r.error.as_ref())
                    .write(w)?;
            }
        }
    }
    Ok(())
}

/// probes.csv.
pub fn write_probes(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", PROBES.header())?;
    for m in ms {
        for round in &m.rounds {
            for p in &round.probes {
                labels(m, false).put(round.number).probe(p).write(w)?;
            }
        }
    }
    Ok(())
}

/// rounds.csv.
pub fn write_rounds(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", ROUNDS.header())?;
    for m in ms {
        for round in &m.rounds {
            let f = RoundFigures::of(m, round);
            let l = f.latency;
            let p = f.probe;
            let place = round.place;
            labels(m, true)
                .put(f.round)
                .put(place.pass)
                .put(place.position)
                .opt(place.server_pid)
                .num(Some(stats::millis(place.start_offset)), 1)
                .num(round.lone.map(stats::millis), 3)
                .num(Some(f.batch_ms), 3)
                .num(f.ideal_batch_ms, 3)
                .num(f.efficiency, 4)
                .num(Some(f.throughput_rps), 2)
                .opt(l.map(|l| l.min))
                .opt(l.map(|l| l.p50))
                .opt(l.map(|l| l.max))
                .num(l.map(|l| l.mean), 1)
                .put(f.requests)
                .put(f.errors.timeout)
                .put(f.errors.transport)
                .put(f.errors.status)
                .put(f.errors.body)
                .put(f.probes)
                .put(f.probe_errors)
                .opt(p.map(|p| p.p50))
                .opt(p.map(|p| p.max))
                .opt(f.probe_harness_late.map(|h| h.max))
                .num(f.background_done_ms, 3)
                .opt(f.lag.map(|l| l.samples))
                .opt(f.lag.and_then(|l| l.p50_us))
                .opt(f.lag.and_then(|l| l.p99_us))
                .opt(f.lag.and_then(|l| l.max_us))
                .num(f.server_cpu_ms, 0)
                .num(f.client_cpu_ms, 0)
                .num(f.server_cores_used, 3)
                .num(f.server_peak_rss_mib, 1)
                .write(w)?;
        }
    }
    Ok(())
}

/// summary.csv.
pub fn write_summary(w: &mut impl Write, ms: &[Measurement]) -> io::Result<()> {
    writeln!(w, "{}", SUMMARY.header())?;
    for m in ms {
        let s = PairSummary::of(m);
        labels(m, true)
            .put(m.rounds.len())
            .put(s.result)
            // One line per pair: a server's multi-line stderr is joined with " | ".
            .opt(s.failure.as_ref().map(|f| one_line(f)))
            .opt(s.verified)
            .put(s.checks_passed)
            .put(s.checks_skipped)
            .num(s.t1_ms, 3)
            .num(s.ideal_batch_ms, 3)
            .spread(s.batch_ms, 3)
            .num(s.batch_ms.map(|b| b.min), 3)
            .num(s.batch_ms.map(|b| b.max), 3)
            .spread(s.efficiency, 4)
            .num(s.efficiency.map(|e| e.min), 4)
            .num(s.efficiency.map(|e| e.max), 4)
            .spread(s.throughput_rps, 2)
            .opt(s.latency_us.map(|l| l.min))
            .opt(s.latency_us.map(|l| l.p50))
            .opt(s.latency_us.map(|l| l.p90))
            .opt(s.latency_us.map(|l| l.p99))
            .opt(s.latency_us.map(|l| l.max))
            .put(s.requests)
            .put(s.errors.timeout)
            .put(s.errors.transport)
            .put(s.errors.status)
            .put(s.errors.body)
            .put(s.probes)
            .put(s.probe_errors)
            .opt(s.probe_us.map(|p| p.p50))
            .opt(s.probe_us.map(|p| p.p90))
            .opt(s.probe_us.map(|p| p.p99))
            .opt(s.probe_us.map(|p| p.max))
            .opt(s.probe_harness_late_us.map(|h| h.p99))
            .opt(s.probe_harness_late_us.map(|h| h.max))
            .spread(s.background_done_ms, 3)
            .num(s.background_done_ms.map(|b| b.min), 3)
            .num(s.background_done_ms.map(|b| b.max), 3)
            .opt(s.lag_samples)
            .num(s.lag_us_p50_median, 1)
            .num(s.lag_us_p99_median, 1)
            .opt(s.lag_us_p99_worst)
            .opt(s.lag_us_max)
            .num(s.server_cpu_ms.map(|c| c.mean), 1)
            .num(s.client_cpu_ms.map(|c| c.mean), 1)
            .num(s.server_cores_used.map(|c| c.mean), 3)
            .num(s.server_cores_used.map(|c| c.min), 3)
            .num(s.server_cores_used.map(|c| c.max), 3)
            .num(s.server_peak_rss_mib_max, 1)
            .put(&s.note)
            .write(w)?;
    }
    Ok(())
}

/// passes.csv: the machine's speed in each pass of `experiment`.
pub fn write_passes(w: &mut impl Write, experiment: &str, passes: &[PassSpeed]) -> io::Result<()> {
    writeln!(w, "{}", PASSES.header())?;
    for p in passes {
        Row::default()
            .put(experiment)
            .put(p.pass)
            .put(p.rounds)
            .num(Some(stats::millis(p.start_offset)), 1)
            .num(Some(stats::millis(p.end_offset)), 1)
            .num(Some(p.speed_median), 4)
            .num(Some(p.speed_min), 4)
            .num(Some(p.speed_max), 4)
            .write(w)?;
    }
    Ok(())
}

/// Renders the batch experiment's CSV files, in [`CSV_FILES`](results_format::CSV_FILES) order.
pub fn render(
    ms: &[Measurement],
    passes: &[PassSpeed],
) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    type Writer = fn(&mut Vec<u8>, &[Measurement], &[PassSpeed]) -> io::Result<()>;
    let writers: [(&str, Writer); 5] = [
        (RAW.name, |w, ms, _| write_raw(w, ms)),
        (PROBES.name, |w, ms, _| write_probes(w, ms)),
        (ROUNDS.name, |w, ms, _| write_rounds(w, ms)),
        (SUMMARY.name, |w, ms, _| write_summary(w, ms)),
        (PASSES.name, |w, _, p| {
            write_passes(w, results_format::Experiment::Batch.name(), p)
        }),
    ];
    let mut files = Vec::with_capacity(writers.len());
    for (name, write) in writers {
        let mut buf = Vec::new();
        write(&mut buf, ms, passes)?;
        files.push((name, buf));
    }
    Ok(files)
}

/// Writes `files` into `out` as one step: all of them into a temporary directory beside `out`
/// (same filesystem), synced, then swapped with `out` atomically. Entries of an existing `out`
/// that are not results files (a README, plots, another run's subdirectory) are copied over
/// first, so only our files are replaced. Not carried over: the previous report
/// ([`DERIVED`](results_format::DERIVED): REPORT.md, charts/), which was derived from the CSVs
/// being replaced and would contradict the new ones, and every results file
/// ([`FILES`](results_format::FILES)) this run did not write: an experiment not run this time
/// would otherwise sit beside a metadata.json that does not describe it. If anything fails before the swap, `out`
/// is untouched and the temporary directory is removed.
pub fn write_results(out: &Path, files: &[(&str, Vec<u8>)]) -> anyhow::Result<()> {
    let tmp = temp_dir_for(out)?;
    let result = fill(&tmp, out, files).and_then(|()| swap_into_place(&tmp, out));
    // After a swap `tmp` holds the old results; after a failure, the partial new ones.
    let _ = fs::remove_dir_all(&tmp);
    result
}

/// Checks, before anything is measured, that results can be written to `out`: its parent can
/// hold the temporary directory, and `out` is a directory if it exists. A run that could not
/// save its results fails at once rather than after minutes of measuring.
pub fn check_writable(out: &Path) -> anyhow::Result<()> {
    let tmp = temp_dir_for(out)?;
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    fs::remove_dir(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    match fs::symlink_metadata(out) {
        Ok(meta) if !meta.is_dir() => {
            anyhow::bail!("--out {} exists and is not a directory", out.display())
        }
        Ok(_) | Err(_) => Ok(()),
    }
}

/// The temporary directory beside `out` (`.results.new-PID`) the files are written into; its
/// parent is created if need be.
fn temp_dir_for(out: &Path) -> anyhow::Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("--out {}: needs a directory name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    Ok(parent.join(format!(".{name}.new-{}", std::process::id())))
}

fn fill(tmp: &Path, out: &Path, files: &[(&str, Vec<u8>)]) -> anyhow::Result<()> {
    let _ = fs::remove_dir_all(tmp);
    fs::create_dir(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    for (name, bytes) in files {
        let path = tmp.join(name);
        let mut f =
            fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", path.display()))?;
    }
    if out.is_dir() {
        for entry in fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
            let entry = entry?;
            let name = entry.file_name();
            if FILES.iter().chain(&DERIVED).any(|n| name == **n) {
                continue;
            }
            copy_all(&entry.path(), &tmp.join(entry.file_name()))
                .with_context(|| format!("carrying {} over", entry.path().display()))?;
        }
    }
    fs::File::open(tmp)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", tmp.display()))
}

fn copy_all(from: &Path, to: &Path) -> io::Result<()> {
    if fs::symlink_metadata(from)?.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_all(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

fn swap_into_place(tmp: &Path, out: &Path) -> anyhow::Result<()> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::rename(tmp, out).with_context(|| format!("moving results into {}", out.display()))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", out.display())),
        Ok(meta) if !meta.is_dir() => {
            anyhow::bail!("--out {} exists and is not a directory", out.display())
        }
        Ok(_) => nix::fcntl::renameat2(
            nix::fcntl::AT_FDCWD,
            tmp,
            nix::fcntl::AT_FDCWD,
            out,
            nix::fcntl::RenameFlags::RENAME_EXCHANGE,
        )
        .with_context(|| format!("swapping the new results into {}", out.display())),
    }
}

/// Splits one line of the CSVs written here into fields (RFC 4180 quotes; no field spans lines,
/// as failures are written on one line). For tests, here and in tests/.
pub fn parse_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::measurement;

    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines().map(parse_line).collect()
    }

    #[test]
    fn every_row_has_as_many_fields_as_its_header() {
        let mut m = measurement();
        for (i, r) in m.rounds.iter_mut().enumerate() {
            r.place.pass = i as u32 + 1;
            r.lone = m.t1;
        }
        let ms = vec![m];
        let files = render(&ms, &crate::summary::pass_speeds(&ms)).expect("render");
        let batch: Vec<&str> = results_format::CSV_FILES.iter().map(|f| f.name).collect();
        assert_eq!(files.iter().map(|(n, _)| *n).collect::<Vec<_>>(), batch);
        let want_rows = [
            ("raw.csv", 8),
            ("probes.csv", 5),
            ("rounds.csv", 2),
            ("summary.csv", 1),
            ("passes.csv", 2),
        ];
        for ((name, bytes), (want_name, want)) in files.iter().zip(want_rows) {
            assert_eq!(*name, want_name);
            let text = std::str::from_utf8(bytes).expect("utf-8");
            let rows = rows(text);
            let width = rows[0].len();
            assert_eq!(rows.len() - 1, want, "{name}");
            for row in &rows {
                assert_eq!(row.len(), width, "{name}: {row:?}");
            }
        }
    }

    #[test]
    fn a_pair_not_applicable_is_neither_ok_nor_failed_and_has_no_figures() {
        let mut m = measurement();
        m.failure = None;
        m.rounds.clear();
        m.verification = None;
        m.t1 = None;
        m.not_applicable = Some("/block_in_place does not run on smol multi-thread".into());
        let mut buf = Vec::new();
        write_summary(&mut buf, &[m]).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let rows = rows(&text);
        let get = |col: &str| {
            let i = rows[0].iter().position(|c| c == col).expect(col);
            rows[1][i].clone()
        };
        assert_eq!(get("result"), results_format::RESULT_NOT_APPLICABLE);
        assert_eq!(
            (get("failure"), get("t1_ms")),
            (String::new(), String::new())
        );
        assert_eq!(get("batch_ms_mean"), "");
    }

    #[test]
    fn summary_row_values() {
        let ms = vec![measurement()];
        let mut buf = Vec::new();
        write_summary(&mut buf, &ms).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let rows = rows(&text);
        let get = |col: &str| {
            let i = rows[0]
                .iter()
                .position(|c| c == col)
                .unwrap_or_else(|| panic!("{col}"));
            rows[1][i].clone()
        };
        assert_eq!(get("target"), "tokio");
        assert_eq!(get("workers"), "1");
        assert_eq!(get("strategy"), "cycle");
        assert_eq!(get("result"), "failed");
        // The comma inside survives the quoting.
        assert_eq!(get("failure"), "1 of 8 requests failed: 1 timeout");
        assert_eq!(get("verified"), "true");
        assert_eq!(get("t1_ms"), "10.000");
        assert_eq!(get("batch_ms_mean"), "60.000");
        assert_eq!(get("batch_ms_sd"), "28.284");
        assert_eq!(get("efficiency_mean"), "0.3750");
        assert_eq!(get("latency_us_p50"), "20000");
        assert_eq!(get("latency_us_p99"), "40000");
        assert_eq!(get("probe_latency_us_p99"), "6000");
        assert_eq!(get("probe_errors"), "0");
        assert_eq!(get("errors_timeout"), "1");
        assert_eq!(get("background_done_ms_mean"), "");
        assert_eq!(get("note"), "a; b");
        assert_eq!(get("lag_samples"), "300");
        assert_eq!(get("lag_us_p99_median"), "1950.0");
        assert_eq!(get("lag_us_p99_worst"), "3000");
        assert_eq!(get("lag_us_max"), "4000");
        assert_eq!(get("server_cpu_ms_mean"), "80.0");
        assert_eq!(get("client_cpu_ms_mean"), "15.0");
        assert_eq!(get("server_cores_used_mean"), "1.250");
        assert_eq!(get("kernel"), "sum-squares");
        // The larger of the rounds' peaks (20 and 30.5 MiB).
        assert_eq!(get("server_peak_rss_mib_max"), "30.5");
        assert_eq!(get("server_cores_used_max"), "1.500");
    }

    #[test]
    fn raw_rows_mark_errors() {
        let mut buf = Vec::new();
        write_raw(&mut buf, &[measurement()]).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let last = rows(&text).pop().expect("rows");
        assert_eq!(
            &last[9..],
            ["2", "3", "3", "1000000", "", "false", "timeout"]
        );
    }

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            parse_line("a,\"b,c\",\"d\"\"e\","),
            ["a", "b,c", "d\"e", ""]
        );
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bench-runner-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn results_replace_ours_and_keep_the_rest() {
        let dir = scratch("swap");
        let out = dir.join("results");
        write_results(
            &out,
            &[
                ("summary.csv", b"old\n".to_vec()),
                ("raw.csv", b"old\n".to_vec()),
            ],
        )
        .expect("first write");
        fs::write(out.join("README.md"), "keep me").expect("readme");
        fs::create_dir(out.join("plots")).expect("plots");
        fs::write(out.join("plots/a.svg"), "svg").expect("plot");
        // The previous run's report, derived from the CSVs being replaced.
        fs::write(out.join("REPORT.md"), "old report").expect("report");
        fs::create_dir(out.join("charts")).expect("charts");
        fs::write(out.join("charts/batch.svg"), "old chart").expect("chart");
        write_results(&out, &[("summary.csv", b"new\n".to_vec())]).expect("second write");
        assert_eq!(
            fs::read_to_string(out.join("summary.csv")).expect("read"),
            "new\n"
        );
        assert_eq!(
            fs::read_to_string(out.join("README.md")).expect("read"),
            "keep me"
        );
        assert_eq!(
            fs::read_to_string(out.join("plots/a.svg")).expect("read"),
            "svg"
        );
        // raw.csv was not in the second run's files: a results file of the previous run, gone
        // with it rather than left beside a metadata.json that does not describe it.
        assert!(!out.join("raw.csv").exists());
        // The old report is gone rather than left contradicting the new CSVs.
        assert!(!out.join("REPORT.md").exists());
        assert!(!out.join("charts").exists());
        // No temporary directory left behind.
        let left: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["results"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_write_leaves_the_old_results() {
        let dir = scratch("fail");
        let out = dir.join("results");
        write_results(&out, &[("summary.csv", b"old\n".to_vec())]).expect("first write");
        // A file name that cannot be created makes the run fail before the swap.
        let err = write_results(
            &out,
            &[
                ("summary.csv", b"new\n".to_vec()),
                ("no/such/dir.csv", vec![]),
            ],
        );
        assert!(err.is_err());
        assert_eq!(
            fs::read_to_string(out.join("summary.csv")).expect("read"),
            "old\n"
        );
        let left: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["results"]);
        // --out naming a file is refused, the file untouched.
        let file = dir.join("file");
        fs::write(&file, "x").expect("file");
        assert!(write_results(&file, &[("a.csv", vec![])]).is_err());
        assert_eq!(fs::read_to_string(&file).expect("read"), "x");
        let _ = fs::remove_dir_all(&dir);
    }
}
