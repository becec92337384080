//! The result files and how they reach the disk.
//!
//! Long-format CSV; each file's name and columns are declared once, in the `results-format`
//! crate (which report reads through too). Writers are generic over [`Write`].
//! [`write_results`] puts every file into a fresh directory beside `--out`, has the report
//! written there from them, then swaps it with `--out` in one `renameat2` (`RENAME_EXCHANGE`),
//! so readers see either the old results or the new ones with their report, never a mix, and a
//! run that fails before the swap never touches the old ones. A run's own files are replaced:
//! the old report (REPORT.md, the report's charts) describes the old CSVs, and the files of
//! experiments this run did not measure would sit beside a metadata.json that does not
//! describe them. Everything else is carried over; [`foreign_entries`] lists what a run did
//! not write, which `--out` refuses before measuring unless `--force`.

use std::fmt::Display;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use results_format::{CHARTS, CHARTS_DIR, FILES, NESTED, REPORT_FILE};

use crate::harness::records::Measurement;
use crate::harness::stats::{Spread, micros};

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
    pub(crate) fn spread(self, s: Option<Spread>, digits: usize) -> Row {
        self.num(s.map(|s| s.mean), digits)
            .num(s.and_then(|s| s.sd), digits)
    }

    /// A probe's columns after its round or step, the same in every experiment's probes file:
    /// index, scheduled offset, the connection that carried it, the split of its wait,
    /// latency, status, error.
    pub(crate) fn probe(self, p: &crate::harness::probe::ProbeRecord) -> Row {
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
pub(crate) fn one_line(text: &str) -> String {
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

/// Writes `files` into `out` as one step: all of them into a temporary directory beside `out`
/// (same filesystem), synced, then `report` run on that directory (it writes REPORT.md and
/// charts/ from the files), then the directory swapped with `out` atomically. Entries of an
/// existing `out` that a run does not write ([`foreign_entries`], kept there by `--force`) and
/// the Makefile's [`NESTED`] directories are copied over first, so only a run's files are
/// replaced. Not carried over: every results file ([`FILES`]) and the previous report
/// (REPORT.md and the report's charts, [`CHARTS`]): derived from the CSVs being replaced, it
/// would contradict the new ones, and an experiment not run this time would otherwise sit beside
/// a metadata.json that does not describe it. If anything fails before the swap, `out` is
/// untouched and the temporary directory is removed; a failed `report` does not stop the swap
/// (the measurements are kept, without a report) and is returned as `Ok(Some(why))`.
pub fn write_results(
    out: &Path,
    files: &[(&str, Vec<u8>)],
    report: impl FnOnce(&Path) -> Result<(), String>,
) -> anyhow::Result<Option<String>> {
    let tmp = temp_dir_for(out)?;
    let mut report_failed = None;
    let result = fill(&tmp, out, files)
        .map(|()| report_failed = report(&tmp).err())
        .and_then(|()| swap_into_place(&tmp, out));
    // After a swap `tmp` holds the old results; after a failure, the partial new ones.
    let _ = fs::remove_dir_all(&tmp);
    result.map(|()| report_failed)
}

/// `--out` holds files that no run writes: refused before anything is measured, unless
/// `--force` (which keeps them beside the new files).
#[derive(Debug, thiserror::Error)]
#[error(
    "--out {}: holds files bench-runner does not write: {}; nothing measured. Move them away, \
     choose another --out (or none: a fresh directory under runs/), or pass --force to keep \
     them beside the results",
    out.display(),
    files.join(", ")
)]
pub struct ForeignFiles {
    /// The `--out` directory.
    pub out: PathBuf,
    /// Its foreign entries, relative to it (a directory with a trailing `/`).
    pub files: Vec<String>,
}

/// The entries of `out` that are not a run's (relative to `out`, sorted; a directory with a
/// trailing `/`): anything but the results files ([`FILES`]), REPORT.md, the report's charts
/// under charts/ ([`CHARTS`]) and the Makefile's [`NESTED`] entries (each a run of its own,
/// checked when that run writes it). Empty when `out` does not exist.
pub fn foreign_entries(out: &Path) -> io::Result<Vec<String>> {
    let mut foreign = Vec::new();
    if !out.is_dir() {
        return Ok(foreign);
    }
    for entry in fs::read_dir(out)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type()?.is_dir();
        let ours = match name.as_str() {
            n if NESTED.contains(&n) => true,
            n if FILES.contains(&n) || n == REPORT_FILE => !is_dir,
            CHARTS_DIR if is_dir => {
                for chart in fs::read_dir(entry.path())? {
                    let chart = chart?;
                    if !is_report_chart(&chart)? {
                        let name = chart.file_name().to_string_lossy().into_owned();
                        let slash = if chart.file_type()?.is_dir() { "/" } else { "" };
                        foreign.push(format!("{CHARTS_DIR}/{name}{slash}"));
                    }
                }
                true
            }
            _ => false,
        };
        if !ours {
            foreign.push(if is_dir { format!("{name}/") } else { name });
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// Whether `entry` (in charts/) is one of the report's charts.
fn is_report_chart(entry: &fs::DirEntry) -> io::Result<bool> {
    let name = entry.file_name();
    Ok(CHARTS.iter().any(|c| name == **c) && !entry.file_type()?.is_dir())
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
            if FILES.iter().chain(&[REPORT_FILE]).any(|n| name == **n) {
                continue;
            }
            let to = tmp.join(&name);
            if name == CHARTS_DIR && entry.file_type()?.is_dir() {
                // Only what is not the report's: the new report writes its own charts.
                for chart in fs::read_dir(entry.path())? {
                    let chart = chart?;
                    if !is_report_chart(&chart)? {
                        fs::create_dir_all(&to)?;
                        copy_all(&chart.path(), &to.join(chart.file_name()))
                            .with_context(|| format!("carrying {} over", chart.path().display()))?;
                    }
                }
                continue;
            }
            copy_all(&entry.path(), &to)
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

    fn no_report(_: &Path) -> Result<(), String> {
        Ok(())
    }

    /// A report that fails does not stop the swap: the measurements are kept, the failure
    /// returned.
    #[test]
    fn a_failed_report_still_writes_the_results() {
        let dir = scratch("report-fails");
        let out = dir.join("results");
        let failed = write_results(&out, &[("summary.csv", b"new\n".to_vec())], |_| {
            Err("no".into())
        })
        .expect("write");
        assert_eq!(failed.as_deref(), Some("no"));
        assert!(out.join("summary.csv").is_file());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_run_s_own_files_are_not_foreign() {
        let dir = scratch("foreign");
        let out = dir.join("results");
        assert!(foreign_entries(&out).expect("missing dir").is_empty());
        fs::create_dir_all(out.join("charts")).expect("charts");
        for name in FILES.iter().chain(&[REPORT_FILE, "generator-ceiling.txt"]) {
            fs::write(out.join(name), "x").expect("file");
        }
        for chart in CHARTS {
            fs::write(out.join(CHARTS_DIR).join(chart), "x").expect("chart");
        }
        fs::create_dir_all(out.join("argon2/charts")).expect("nested");
        fs::write(out.join("argon2/whatever"), "x").expect("nested file");
        assert!(foreign_entries(&out).expect("list").is_empty());
        // A directory where a run writes a file is not the run's.
        fs::remove_file(out.join("raw.csv")).expect("rm");
        fs::create_dir(out.join("raw.csv")).expect("dir");
        fs::write(out.join(".hidden"), "x").expect("hidden");
        assert_eq!(
            foreign_entries(&out).expect("list"),
            [".hidden", "raw.csv/"]
        );
        let _ = fs::remove_dir_all(&dir);
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
            no_report,
        )
        .expect("first write");
        fs::write(out.join("README.md"), "keep me").expect("readme");
        fs::create_dir(out.join("plots")).expect("plots");
        fs::write(out.join("plots/a.svg"), "svg").expect("plot");
        // The previous run's report, derived from the CSVs being replaced.
        fs::write(out.join("REPORT.md"), "old report").expect("report");
        fs::create_dir(out.join("charts")).expect("charts");
        fs::write(out.join("charts/batch_time.svg"), "old chart").expect("chart");
        // A chart of the user's, beside the report's.
        fs::write(out.join("charts/mine.svg"), "mine").expect("own chart");
        fs::create_dir(out.join("separate-cores")).expect("nested run");
        fs::write(out.join("separate-cores/summary.csv"), "nested").expect("nested");
        assert_eq!(
            foreign_entries(&out).expect("list"),
            ["README.md", "charts/mine.svg", "plots/"]
        );
        let mut report_saw = vec![];
        let failed = write_results(&out, &[("summary.csv", b"new\n".to_vec())], |dir| {
            report_saw = fs::read_dir(dir)
                .expect("list")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            report_saw.sort();
            fs::write(dir.join("REPORT.md"), "new report").map_err(|e| e.to_string())
        })
        .expect("second write");
        assert_eq!(failed, None);
        // The report ran on the new files (and what was carried over), before the swap.
        assert_eq!(
            report_saw,
            [
                "README.md",
                "charts",
                "plots",
                "separate-cores",
                "summary.csv"
            ]
        );
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
        // The old report is gone rather than left contradicting the new CSVs: the new one is
        // in its place; the user's chart and the nested run are kept.
        assert_eq!(
            fs::read_to_string(out.join("REPORT.md")).expect("read"),
            "new report"
        );
        assert!(!out.join("charts/batch_time.svg").exists());
        assert_eq!(
            fs::read_to_string(out.join("charts/mine.svg")).expect("read"),
            "mine"
        );
        assert_eq!(
            fs::read_to_string(out.join("separate-cores/summary.csv")).expect("read"),
            "nested"
        );
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
        write_results(&out, &[("summary.csv", b"old\n".to_vec())], no_report).expect("first write");
        // A file name that cannot be created makes the run fail before the swap.
        let err = write_results(
            &out,
            &[
                ("summary.csv", b"new\n".to_vec()),
                ("no/such/dir.csv", vec![]),
            ],
            no_report,
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
        assert!(write_results(&file, &[("a.csv", vec![])], no_report).is_err());
        assert_eq!(fs::read_to_string(&file).expect("read"), "x");
        let _ = fs::remove_dir_all(&dir);
    }
}
