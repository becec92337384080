//! The contract with bench-runner: every column the report reads is in the header bench-runner
//! writes (its `output::*_HEADER` constants), so a renamed or dropped column fails here rather
//! than in a reader's `make report`.

use bench_runner::output::{PROBES_HEADER, RAW_HEADER, ROUNDS_HEADER, SUMMARY_HEADER};
use report::data::{ProbeRow, RawRow, RoundRow, SummaryRow};

#[test]
fn every_column_the_report_reads_is_written_by_bench_runner() {
    let files = [
        ("summary.csv", SummaryRow::COLUMNS, SUMMARY_HEADER),
        ("rounds.csv", RoundRow::COLUMNS, ROUNDS_HEADER),
        ("raw.csv", RawRow::COLUMNS, RAW_HEADER),
        ("probes.csv", ProbeRow::COLUMNS, PROBES_HEADER),
    ];
    for (file, read, header) in files {
        let written: Vec<&str> = header.split(',').collect();
        for col in read {
            assert!(
                written.contains(col),
                "{file}: bench-runner no longer writes `{col}`"
            );
        }
    }
}

#[test]
fn the_fixture_has_bench_runners_headers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results");
    for (file, header) in [
        ("summary.csv", SUMMARY_HEADER),
        ("rounds.csv", ROUNDS_HEADER),
        ("raw.csv", RAW_HEADER),
        ("probes.csv", PROBES_HEADER),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect("fixture file");
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first, header,
            "{file}: the fixture is older than bench-runner's format; regenerate it as \
             tests/fixtures/README.md says"
        );
    }
}
