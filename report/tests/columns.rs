//! The contract with bench-runner, through the one definition both use (`results-format`):
//! every column the report reads is one the results files have, so a renamed or dropped column
//! fails here rather than in a reader's `make report`.

use report::data::{
    PassRow, PoolsRow, ProbeRow, QueueRow, RawRow, RoundRow, SizesRawRow, SizesRow, SummaryRow,
};
use results_format::{
    CsvFile, PASSES, POOLS_SUMMARY, PROBES, QUEUE_SUMMARY, RAW, ROUNDS, SIZES_RAW, SIZES_SUMMARY,
    SUMMARY,
};

/// Each file with the columns the report reads from it.
const READ: [(CsvFile, &[&str]); 5] = [
    (SUMMARY, SummaryRow::COLUMNS),
    (ROUNDS, RoundRow::COLUMNS),
    (RAW, RawRow::COLUMNS),
    (PROBES, ProbeRow::COLUMNS),
    (PASSES, PassRow::COLUMNS),
];

#[test]
fn every_column_the_report_reads_is_in_the_results_format() {
    for (file, read) in READ {
        for col in read {
            assert!(file.has(col), "{}: the format has no `{col}`", file.name);
        }
    }
    for col in SizesRow::COLUMNS {
        assert!(SIZES_SUMMARY.has(col), "sizes_summary.csv: no `{col}`");
    }
    for col in SizesRawRow::COLUMNS {
        assert!(SIZES_RAW.has(col), "sizes_raw.csv: no `{col}`");
    }
    for col in QueueRow::COLUMNS {
        assert!(QUEUE_SUMMARY.has(col), "queue_summary.csv: no `{col}`");
    }
    for col in PoolsRow::COLUMNS {
        assert!(POOLS_SUMMARY.has(col), "pools_summary.csv: no `{col}`");
    }
}

#[test]
fn the_fixture_has_the_results_format_headers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results");
    for (file, _) in READ {
        let text = std::fs::read_to_string(dir.join(file.name)).expect("fixture file");
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            file.header(),
            "{}: the fixture is older than the results format; regenerate it as \
             tests/fixtures/README.md says",
            file.name
        );
    }
}

/// The probe's pool replaced `queued_us` with `connection`; the report reads neither, so it
/// reads results of either probe alike (the fixture and baselines recorded before the pool).
#[test]
fn the_report_reads_no_column_the_probes_pool_changed() {
    for col in ["queued_us", "connection"] {
        assert!(!ProbeRow::COLUMNS.contains(&col), "{col}");
    }
    assert!(PROBES.has("connection") && !PROBES.has("queued_us"));
}
