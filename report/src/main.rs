//! Regenerates `results/REPORT.md` and `results/charts/*.svg` from the CSVs in `results/`.
//!
//! Run with `cargo run --release -p report` (or `make report`); `--results DIR` for another directory.
//! Exit status: 0 when written, 1 when the results cannot be read or the report written.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Writes REPORT.md and its SVG charts from bench-runner's CSVs and metadata.json.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The results directory: reads its CSVs and metadata.json, writes REPORT.md and charts/.
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match report::run(&cli.results) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
