//! A measurement, not a unit test (ignored by default; docs/testing.md): a slowdown injected
//! for the second half of a run must not make the report call a runtime difference that the
//! same run without it does not call. It is what interleaved passes are for: a slow stretch
//! falls on every pair alike instead of on the pairs measured in it.
//!
//! Needs the release builds (`make build-release`): bench-runner, the servers and the report,
//! in `target/release` (or `$CARGO_TARGET_DIR/release`). Run it with
//! `cargo test -p bench-runner --test drift -- --ignored --nocapture` (about 2 minutes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `target/release`, where `make build-release` puts every binary.
fn release_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| bench_runner::servers::workspace_root().join("target"));
    target.join("release")
}

/// One batch run of tokio and smol at one worker with `/rayon` and `/thread`, then its report;
/// the wall time it took.
fn measure(release: &Path, out: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new(release.join("bench-runner"))
        .args([
            "--experiment",
            "batch",
            "--server-dir",
            release.to_str().expect("utf-8 path"),
            "--target",
            "tokio,smol",
            "--workers",
            "1",
            "--strategy",
            "rayon,thread",
            "--rounds",
            "12",
            "--out",
            out.to_str().expect("utf-8 path"),
        ])
        .status()
        .expect("bench-runner runs");
    assert!(status.success(), "bench-runner: {status}");
    let took = started.elapsed();
    let status = Command::new(release.join("report"))
        .args(["--results", out.to_str().expect("utf-8 path")])
        .status()
        .expect("report runs");
    assert!(status.success(), "report: {status}");
    took
}

/// The runtime differences a report calls: each `with … X was fastest, Y slowest` of its
/// "The runtime matters" verdict, as (worker count, fastest, slowest).
fn runtime_claims(out: &Path) -> Vec<String> {
    let md = std::fs::read_to_string(out.join("REPORT.md")).expect("REPORT.md");
    let mut claims = Vec::new();
    for line in md.lines().filter(|l| l.contains("The runtime matters for")) {
        let Some((_, rest)) = line.split_once(":** ") else {
            continue;
        };
        for part in rest.split("; ") {
            // "with 1 worker tokio was fastest, smol slowest by 1.20×"
            let cut = part.split(" by ").next().unwrap_or(part);
            claims.push(cut.trim().to_owned());
        }
    }
    claims
}

#[test]
#[ignore = "a measurement of about 2 minutes on the release builds: see the module doc"]
fn a_slowdown_in_half_the_run_calls_no_runtime_difference_of_its_own() {
    let release = release_dir();
    for bin in [
        "bench-runner",
        "report",
        "server-tokio-axum",
        "server-smol-hyper",
    ] {
        assert!(
            release.join(bin).is_file(),
            "{bin} not in {}: run `make build-release` first",
            release.display()
        );
    }
    let tmp = std::env::temp_dir().join(format!("bench-runner-drift-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("scratch dir");

    let calm = tmp.join("calm");
    let took = measure(&release, &calm);
    eprintln!("calm run: {took:?}, claims {:?}", runtime_claims(&calm));

    // The same run, with a busy loop at normal priority on one core from halfway through:
    // the second half of the run is slower for every pair measured then.
    let slowed = tmp.join("slowed");
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(took / 2);
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        })
    };
    let took_slowed = measure(&release, &slowed);
    stop.store(true, Ordering::Relaxed);
    spinner.join().expect("spinner");
    let passes = std::fs::read_to_string(slowed.join("passes.csv")).expect("passes.csv");
    eprintln!("slowed run: {took_slowed:?}\n{passes}");

    let (a, b) = (runtime_claims(&calm), runtime_claims(&slowed));
    eprintln!("claims: calm {a:?}, slowed {b:?}");
    for claim in &b {
        assert!(
            a.contains(claim),
            "the slowed run calls `{claim}`, the calm one does not ({a:?})"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
