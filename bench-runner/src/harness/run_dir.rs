//! Which directory a run writes: `--out DIR` (checked for foreign files before anything is
//! measured), or a fresh directory of its own under `--runs-dir` (`runs/` in the workspace by
//! default), `<UTC date>-<time>` such as `runs/20261202-201500/`. The committed baseline
//! (`results/` in the workspace, and the runs the Makefile nests inside it) is written only by
//! an explicit `--out`, and never by an interrupted run, whose partial files go to a fresh
//! directory instead ([`fresh`]).
//!
//! The workspace is the one bench-runner was built in (`CARGO_MANIFEST_DIR` at build time,
//! [`crate::servers::workspace_root`], as for building the servers), so a run started from
//! `bench-runner/` or anywhere else writes the same `runs/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

use crate::harness::{metadata, output};
use crate::settings::Settings;

/// The directory a run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// Absolute.
    pub path: PathBuf,
    /// Made for this run (removed again if the run writes nothing).
    pub fresh: bool,
}

impl RunDir {
    /// The directory `settings` ask for, checked before anything is measured: `--out` must be
    /// writable and hold no foreign files ([`output::ForeignFiles`]) unless `--force`; without
    /// `--out`, a fresh directory is made under `--runs-dir`.
    pub fn prepare(settings: &Settings, now: SystemTime) -> anyhow::Result<RunDir> {
        let Some(out) = &settings.out else {
            return fresh(&settings.runs_dir, now);
        };
        let path = std::path::absolute(out)
            .with_context(|| format!("--out {}: no absolute path", out.display()))?;
        output::check_writable(&path)
            .with_context(|| format!("results cannot be written to {}", path.display()))?;
        let foreign = output::foreign_entries(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if !foreign.is_empty() && !settings.force {
            return Err(output::ForeignFiles {
                out: path,
                files: foreign,
            }
            .into());
        }
        Ok(RunDir { path, fresh: false })
    }

    /// Removes a fresh directory the run did not write into (nothing else: a directory that
    /// holds anything stays).
    pub fn forget(&self) {
        if self.fresh {
            let _ = fs::remove_dir(&self.path);
        }
    }

    /// Whether this is the committed baseline: `results/` in the workspace or a directory in
    /// it (the Makefile's separate-cores/ and argon2/).
    pub fn is_baseline(&self) -> bool {
        is_under(
            &self.path,
            &crate::servers::workspace_root().join("results"),
        )
    }
}

/// A fresh directory under `root`, named for `now` (UTC, `20261202-201500`; `-2`, `-3`… when
/// a run that started in the same second has it), made now so no other run takes it.
pub fn fresh(root: &Path, now: SystemTime) -> anyhow::Result<RunDir> {
    let root = std::path::absolute(root)
        .with_context(|| format!("--runs-dir {}: no absolute path", root.display()))?;
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let stamp = stamp(now);
    for k in 1..1000 {
        let name = if k == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{k}")
        };
        let path = root.join(name);
        match fs::create_dir(&path) {
            Ok(()) => return Ok(RunDir { path, fresh: true }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    anyhow::bail!(
        "{}: no free name for a run started at {stamp}",
        root.display()
    )
}

/// `20261202-201500`: the UTC date and time of `t`, to the second.
pub fn stamp(t: SystemTime) -> String {
    // From `2026-12-02T20:15:00Z`.
    let digits: String = metadata::rfc3339(t)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{date}-{time}")
}

/// Whether `path` is `dir` or inside it, symbolic links resolved where the paths exist.
fn is_under(path: &Path, dir: &Path) -> bool {
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    path.starts_with(dir) || real(path).starts_with(real(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn fresh_directories_are_named_for_the_utc_second_and_never_shared() {
        // 2023-11-14T22:13:20Z.
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(stamp(t), "20231114-221320");
        let root = std::env::temp_dir().join(format!("bench-runner-runs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let a = fresh(&root, t).expect("first");
        let b = fresh(&root, t).expect("second");
        assert_eq!(a.path, root.join("20231114-221320"));
        assert_eq!(b.path, root.join("20231114-221320-2"));
        assert!(a.fresh && a.path.is_dir() && !a.is_baseline());
        fs::write(b.path.join("kept"), "x").expect("file");
        a.forget();
        b.forget();
        assert!(!a.path.exists(), "an empty fresh directory is removed");
        assert!(b.path.join("kept").exists(), "one with files stays");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn the_baseline_is_results_in_the_workspace_and_what_it_nests() {
        let root = crate::servers::workspace_root();
        let dir = |p: PathBuf| RunDir {
            path: p,
            fresh: false,
        };
        assert!(dir(root.join("results")).is_baseline());
        assert!(dir(root.join("results/separate-cores")).is_baseline());
        assert!(!dir(root.join("runs/20231114-221320")).is_baseline());
        assert!(!dir(root.join("bench-runner/results")).is_baseline());
        assert!(!dir(std::env::temp_dir().join("results")).is_baseline());
    }
}
