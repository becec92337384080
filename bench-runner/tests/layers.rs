//! bench-runner's layers (its crate doc, "Layout"): the settings and what is measured at the
//! bottom, the harness above them, the experiments above the harness, the command line and
//! `run` on top. Each layer imports only those below it, and no experiment imports another:
//! checked here on the source text, so a new `use` that breaks a layer fails `make test`.

use std::fs;
use std::path::{Path, PathBuf};

/// The crate's `src/`.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of `path` that the crate compiles outside its tests: comments dropped (a doc link
/// is not an import) and everything from the first `#[cfg(test)]` on (a test may build what it
/// tests with anything).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `.rs` file under `dir`, with its code.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let code = code(&path);
            out.push((path, code));
        }
    }
    out
}

/// Whether `code` names the module path `path` (`crate::cli`, not `crate::client`).
fn names(code: &str, path: &str) -> bool {
    code.match_indices(path).any(|(at, _)| {
        code[at + path.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// The paths of `forbidden` that `files` use, as `file: path` lines.
fn uses(files: &[(PathBuf, String)], forbidden: &[&str]) -> Vec<String> {
    files
        .iter()
        .flat_map(|(path, code)| {
            forbidden
                .iter()
                .filter(|f| names(code, f))
                .map(move |f| format!("{}: {f}", path.display()))
        })
        .collect()
}

#[test]
fn a_path_is_named_whole() {
    assert!(names("use crate::cli::Cli;", "crate::cli"));
    assert!(names("crate::cli", "crate::cli"));
    assert!(!names("use crate::client::ClientKind;", "crate::cli"));
}

#[test]
fn the_bottom_layer_imports_nothing_above_it() {
    let bottom: Vec<(PathBuf, String)> =
        ["settings", "targets", "servers", "client", "cpu", "sched"]
            .iter()
            .map(|name| {
                let path = src().join(format!("{name}.rs"));
                let code = code(&path);
                (path, code)
            })
            .collect();
    let found = uses(
        &bottom,
        &[
            "crate::harness",
            "crate::experiments",
            "crate::cli",
            "crate::run",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_harness_imports_no_experiment_and_not_the_command_line() {
    let harness = files(&src().join("harness"));
    assert!(harness.len() > 10, "the harness's files: {}", harness.len());
    let found = uses(
        &harness,
        &["crate::experiments", "crate::cli", "crate::run"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn no_experiment_imports_another() {
    let dir = src().join("experiments");
    let experiments: Vec<String> = files(&dir)
        .iter()
        .filter_map(|(p, _)| p.file_stem()?.to_str().map(str::to_owned))
        .filter(|name| name != "mod")
        .collect();
    assert_eq!(experiments.len(), results_format::Experiment::ALL.len());
    for (path, code) in files(&dir) {
        if path.file_stem().is_some_and(|s| s == "mod") {
            continue;
        }
        let found: Vec<&String> = experiments
            .iter()
            .filter(|other| {
                [format!("experiments::{other}"), format!("super::{other}")]
                    .iter()
                    .any(|p| names(&code, p))
            })
            .filter(|other| path.file_stem().is_none_or(|s| s != other.as_str()))
            .collect();
        assert!(found.is_empty(), "{}: imports {found:?}", path.display());
        assert!(
            !names(&code, "crate::cli") && !names(&code, "crate::run"),
            "{}: imports the command line",
            path.display()
        );
    }
}
