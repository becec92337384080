//! Every committed report checked whole: what `report::generate` makes of a committed set of
//! results must be, byte for byte, the REPORT.md committed beside it (or, for the fixtures, in
//! `tests/fixtures/expected/`). A change to the report shows up as one diff of the whole text,
//! reviewed and committed with the change, instead of slipping past tests that each check a
//! sentence.
//!
//! After a deliberate change, rewrite them all with
//! `REPORT_BLESS=1 cargo test -p report --test whole` and review `git diff`.
//!
//! The README's headline figures are checked here too: it must quote, word for word, the
//! phrases `report::render::readme::quotes` makes of the baseline.

use std::fs;
use std::path::{Path, PathBuf};

use report::Results;

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// Checks (or, with `REPORT_BLESS=1`, writes) `expected` against the report of `results`.
fn check(results: &Path, expected: &Path) {
    let r = Results::load(results).unwrap_or_else(|e| panic!("{}: {e}", results.display()));
    let made = report::generate(&r).markdown;
    if std::env::var_os("REPORT_BLESS").is_some() {
        fs::create_dir_all(expected.parent().expect("a parent")).expect("the directory");
        fs::write(expected, &made).expect("write");
        return;
    }
    let committed = fs::read_to_string(expected).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with REPORT_BLESS=1 cargo test -p report --test whole)",
            expected.display()
        )
    });
    if made != committed {
        let at = made
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| made.lines().count().min(committed.lines().count()));
        let line = |s: &str| s.lines().nth(at).unwrap_or("(end)").to_owned();
        panic!(
            "{} is not what the report makes of {} (first difference at line {}):\n  \
             committed: {}\n  generated: {}\nRegenerate every committed report with \
             REPORT_BLESS=1 cargo test -p report --test whole and review the diff.",
            expected.display(),
            results.display(),
            at + 1,
            line(&committed),
            line(&made)
        );
    }
}

#[test]
fn the_fixtures_reports_are_the_expected_ones() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["results", "external", "pools"] {
        check(
            &fixtures.join(name),
            &fixtures.join("expected").join(name).join("REPORT.md"),
        );
    }
}

#[test]
fn the_committed_reports_are_what_the_report_makes_of_their_results() {
    for dir in [
        "results",
        "results/separate-cores",
        "results/argon2",
        "results/pools",
    ] {
        let dir = root().join(dir);
        check(&dir, &dir.join("REPORT.md"));
    }
}

#[test]
fn the_readme_quotes_the_baselines_figures() {
    let r = Results::load(&root().join("results")).expect("the baseline loads");
    let f = report::analysis::Facts::of(&r);
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    // The README wraps its lines: compare with every run of white space as one space.
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = flat(&readme);
    let quotes = report::render::readme::quotes(&f);
    assert!(quotes.len() >= 5, "{quotes:?}");
    let missing: Vec<&String> = quotes.iter().filter(|q| !text.contains(&flat(q))).collect();
    assert!(
        missing.is_empty(),
        "README.md does not quote these figures of results/ (report::render::readme::quotes); update \
         its What to do with them:\n  {}",
        missing
            .iter()
            .map(|q| q.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
