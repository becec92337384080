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
use results_format::{DERIVED, FILES};

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
/// (same filesystem), synced, then swapped with `out` atomically. Entries of an existing `out`
/// that are not results files (a README, plots, another run's subdirectory) are copied over
/// first, so only our files are replaced. Not carried over: the previous report
/// ([`DERIVED`]: REPORT.md, charts/), which was derived from the CSVs
/// being replaced and would contradict the new ones, and every results file
/// ([`FILES`]) this run did not write: an experiment not run this time
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
