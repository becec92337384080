//! The report's layers (its crate doc, "Layout"): `data` reads the files, `analysis` computes
//! the facts from them, `render` writes the facts. A renderer takes the facts and never reads
//! the rows: no file under `src/render/` names `data` (its row types, `Results`); the analysis
//! imports no renderer, and `data` neither of them. Checked here on the source text, so a new
//! `use crate::data` in a renderer fails `make test`.

use std::fs;
use std::path::{Path, PathBuf};

/// The crate's `src/`.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of `path` that the crate compiles outside its tests: comments dropped (a doc link
/// is not an import) and everything from the first `#[cfg(test)]` on (a test may build what it
/// tests with anything, fake rows included).
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
    out.sort();
    out
}

/// Whether `code` names the path `path` (`crate::data`, not `crate::database`).
fn names(code: &str, path: &str) -> bool {
    code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + path.len()..].chars().next();
        let word = |c: char| c.is_alphanumeric() || c == '_';
        before.is_none_or(|c| !word(c)) && after.is_none_or(|c| !word(c))
    })
}

/// The ways a renderer could reach the rows: the `data` module by any path, or the `Results`
/// the crate root re-exports from it.
const ROWS: &[&str] = &[
    "crate::data",
    "super::data",
    "super::super::data",
    "crate::Results",
    "crate::DataError",
];

/// The renderers under `src/render/` that name any of [`ROWS`], by file name.
fn reading_rows() -> Vec<String> {
    files(&src().join("render"))
        .into_iter()
        .filter(|(_, code)| ROWS.iter().any(|p| names(code, p)))
        .filter_map(|(path, _)| Some(path.file_name()?.to_str()?.to_owned()))
        .collect()
}

#[test]
fn a_path_is_named_whole() {
    assert!(names("use crate::data::Results;", "crate::data"));
    assert!(names("use crate::data;", "crate::data"));
    assert!(names("fn f(r: &crate::Results)", "crate::Results"));
    assert!(!names("use crate::database::Row;", "crate::data"));
    assert!(!names("use crate::analysis::data_points;", "crate::data"));
    assert!(!names("use mycrate::data::Row;", "crate::data"));
}

#[test]
fn the_check_finds_an_import() {
    let reads = "use std::fmt;\nuse crate::data::{Results, SummaryRow};\n";
    assert!(ROWS.iter().any(|p| names(reads, p)));
    let clean = "use crate::analysis::Facts;\n// crate::data in a comment is no import\n";
    let path = std::env::temp_dir().join(format!("report-layers-{}.rs", std::process::id()));
    fs::write(&path, clean).expect("write");
    let kept = code(&path);
    let _ = fs::remove_file(&path);
    assert!(!ROWS.iter().any(|p| names(&kept, p)), "{kept}");
}

#[test]
fn renderers_read_no_rows() {
    let renderers = files(&src().join("render"));
    assert!(renderers.len() > 10, "the renderers: {}", renderers.len());
    let found = reading_rows();
    assert!(
        found.is_empty(),
        "renderers that read rows (take the figure from analysis::Facts instead): {found:?}"
    );
}

#[test]
fn the_analysis_imports_no_renderer_and_data_nothing_above_it() {
    let analysis = files(&src().join("analysis"));
    assert!(analysis.len() > 10, "the analysis: {}", analysis.len());
    let found: Vec<String> = analysis
        .iter()
        .filter(|(_, code)| names(code, "crate::render"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        found.is_empty(),
        "analysis files that import render: {found:?}"
    );
    let found: Vec<String> = files(&src().join("data"))
        .iter()
        .filter(|(_, code)| names(code, "crate::render") || names(code, "crate::analysis"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        found.is_empty(),
        "data files that import a layer above: {found:?}"
    );
}
