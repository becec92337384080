//! End to end: the real bench-runner binary against the real server binaries, as `make test`
//! runs it. The servers are debug builds (built here if needed), which only `--quick
//! --allow-debug` accepts; the run records that profile in metadata.json.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bench_runner::harness::output::parse_line;
use bench_runner::targets::TARGETS;
use common::Strategy;
use results_format::{
    Experiment, FILES, METADATA, PROBES, QUEUE_RAW, QUEUE_SUMMARY, RATE_PROBES, RATE_RAW,
    RATE_SUMMARY, RAW, ROUNDS, SIZES_FILES, SIZES_PROBES, SIZES_RAW, SIZES_SUMMARY, SUMMARY,
};

const EXE: &str = env!("CARGO_BIN_EXE_bench-runner");

/// `target/debug`, where cargo puts bench-runner and the servers alike.
fn bin_dir() -> PathBuf {
    Path::new(EXE).parent().expect("bin dir").to_path_buf()
}

/// Builds the servers, /queue's worker and the example server (debug; a no-op when they are up
/// to date, and never stale binaries): every target of the workspace, the units
/// `cargo test --workspace` (`make test`) builds, so that build finds them fresh. A build of
/// the servers alone resolved other features, compiled the shared crates again and replaced
/// the binaries `cargo test` had built.
fn servers() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(bench_runner::servers::workspace_root())
        .args(["build", "--quiet", "--workspace", "--all-targets"])
        .status()
        .expect("cargo build runs");
    assert!(status.success(), "building the servers failed");
    bin_dir()
}

/// A fresh directory under the system temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-runner-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(EXE)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("bench-runner runs")
}

/// A CSV file as its header and rows of (column → value).
struct Csv {
    header: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines();
        let header = lines.next().expect("header").to_owned();
        let columns = parse_line(&header);
        let rows: Vec<Vec<String>> = lines.map(parse_line).collect();
        for row in &rows {
            assert_eq!(row.len(), columns.len(), "{}: {row:?}", path.display());
        }
        Csv {
            header,
            columns,
            rows,
        }
    }

    fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn values(&self, name: &str) -> Vec<&str> {
        let i = self.col(name);
        self.rows.iter().map(|r| r[i].as_str()).collect()
    }
}

/// Rounds run in passes: every pair once per pass, in an order shuffled per pass from the seed,
/// each on a fresh server process; rounds.csv places every round and passes.csv has a row per
/// pass; the same seed visits the pairs in the same order.
#[test]
fn rounds_run_in_shuffled_passes_on_fresh_processes() {
    let dir = servers();
    let tmp = scratch("passes");
    let order = |out: &Path| -> Vec<(String, String, String)> {
        let rounds = Csv::read(&out.join("rounds.csv"));
        let mut placed: Vec<(u32, usize, String, String, String)> = rounds
            .rows
            .iter()
            .map(|r| {
                (
                    r[rounds.col("pass")].parse().expect("pass"),
                    r[rounds.col("position")].parse().expect("position"),
                    r[rounds.col("target")].clone(),
                    r[rounds.col("workers")].clone(),
                    r[rounds.col("strategy")].clone(),
                )
            })
            .collect();
        placed.sort();
        placed
            .into_iter()
            .map(|(_, _, t, w, s)| (t, w, s))
            .collect()
    };
    let mut orders = Vec::new();
    for name in ["a", "b"] {
        let out = tmp.join(name);
        let output = run(&[
            "--experiment",
            "batch",
            "--quick",
            "--allow-debug",
            "--server-dir",
            dir.to_str().expect("utf-8 path"),
            "--target",
            "tokio,smol",
            "--workers",
            "1",
            "--strategy",
            "cycle,rayon",
            "--rounds",
            "3",
            "--seed",
            "5",
            "--out",
            out.to_str().expect("utf-8 path"),
        ]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "bench-runner failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("== pass 3/3: "), "{stdout}");
        let rounds = Csv::read(&out.join("rounds.csv"));
        assert_eq!(rounds.rows.len(), 4 * 3, "4 pairs × 3 passes");
        let pairs: BTreeSet<(String, String)> = rounds
            .rows
            .iter()
            .map(|r| {
                (
                    r[rounds.col("target")].clone(),
                    r[rounds.col("strategy")].clone(),
                )
            })
            .collect();
        for (target, strategy) in &pairs {
            let mine: Vec<&Vec<String>> = rounds
                .rows
                .iter()
                .filter(|r| {
                    &r[rounds.col("target")] == target && &r[rounds.col("strategy")] == strategy
                })
                .collect();
            let passes: BTreeSet<&str> = mine
                .iter()
                .map(|r| r[rounds.col("pass")].as_str())
                .collect();
            assert_eq!(
                passes,
                BTreeSet::from(["1", "2", "3"]),
                "{target} {strategy}"
            );
            let pids: BTreeSet<&str> = mine
                .iter()
                .map(|r| r[rounds.col("server_pid")].as_str())
                .collect();
            assert_eq!(pids.len(), 3, "a fresh process per pass: {pids:?}");
            for r in &mine {
                assert!(r[rounds.col("lone_ms")].parse::<f64>().expect("lone_ms") > 0.0);
                assert!(
                    r[rounds.col("start_offset_ms")]
                        .parse::<f64>()
                        .expect("offset")
                        >= 0.0
                );
            }
        }
        // Each pass visits the four pairs once: positions 0..4.
        for pass in ["1", "2", "3"] {
            let mut positions: Vec<&str> = rounds
                .rows
                .iter()
                .filter(|r| r[rounds.col("pass")] == pass)
                .map(|r| r[rounds.col("position")].as_str())
                .collect();
            positions.sort_unstable();
            assert_eq!(positions, ["0", "1", "2", "3"], "pass {pass}");
        }
        let passes = Csv::read(&out.join("passes.csv"));
        assert_eq!(passes.values("pass"), ["1", "2", "3"]);
        assert!(passes.values("experiment").iter().all(|e| *e == "batch"));
        for v in passes.values("speed_median") {
            assert!(v.parse::<f64>().expect("speed") >= 1.0, "{v}");
        }
        let meta = std::fs::read_to_string(out.join(METADATA)).expect("metadata");
        assert!(meta.contains("\"seed\": 5"), "{meta}");
        orders.push(order(&out));
    }
    assert_eq!(
        orders[0], orders[1],
        "the same seed visits the pairs in the same order"
    );
}

#[test]
fn quick_run_against_every_server_writes_verified_csvs() {
    let dir = servers();
    let tmp = scratch("quick");
    let out = tmp.join("results");
    let started = Instant::now();
    // The batch experiment only: the rate experiment has its own test below.
    let output = run(&[
        "--experiment",
        "batch",
        "--quick",
        "--allow-debug",
        "--server-dir",
        dir.to_str().expect("utf-8 path"),
        "--workers",
        "1",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench-runner failed:\n{stdout}\n{stderr}"
    );
    eprintln!("quick run: {:?}", started.elapsed());

    // Console: the demo's line per batch, a table per target, the binaries it ran.
    assert!(
        stdout.contains("Batch of 4 requests to /thread took "),
        "{stdout}"
    );
    // Every progress line carries `[k/N elapsed, eta …]`, stdout being a pipe here; the
    // verification is printed before the first batch; a legend follows the last table.
    let pairs = TARGETS.len() * Strategy::ALL.len();
    let progress: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("== ") || l.contains("Batch of") || l.contains("verified:"))
        .collect();
    assert!(!progress.is_empty(), "{stdout}");
    for line in &progress {
        assert!(
            line.starts_with('[')
                && line.contains(&format!("/{pairs} "))
                && line.contains(", eta "),
            "{line}"
        );
    }
    let first = |what: &str| {
        stdout
            .find(what)
            .unwrap_or_else(|| panic!("{what}: {stdout}"))
    };
    assert!(first("verified: yes") < first("Batch of"), "{stdout}");
    assert!(first("columns (times in ms):") > stdout.rfind("workers  strategy").expect("table"));
    for t in TARGETS {
        assert!(
            stdout.contains(&dir.join(t.package).display().to_string()),
            "{stdout}"
        );
    }

    // The default kernel, named in every file; the server's peak RSS measured per pair.
    let summary = Csv::read(&out.join("summary.csv"));
    assert!(summary.values("kernel").iter().all(|k| *k == "sum-squares"));
    let results = summary.values("result");
    // Each server configuration runs the conformance suite once (it checks every strategy):
    // per target, the servers without a broker and, where /queue was measured, the one with
    // it. Its other strategies' pairs share the verdict, and every pair measured carries it.
    let shared = |l: &&str| l.contains("verified on another strategy's visit");
    let verified: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("verified: yes"))
        .collect();
    let configs: std::collections::BTreeSet<(&str, bool)> = summary
        .values("target")
        .into_iter()
        .zip(summary.values("strategy"))
        .zip(&results)
        .filter(|(_, r)| **r != "not_applicable")
        .map(|((t, s), _)| (t, s == "queue"))
        .collect();
    assert!(configs.len() >= TARGETS.len());
    assert_eq!(
        verified.iter().filter(|l| !shared(l)).count(),
        configs.len(),
        "{stdout}"
    );
    let measured = results.iter().filter(|r| **r != "not_applicable").count();
    assert_eq!(verified.len(), measured, "{stdout}");
    for (v, result) in summary.values("verified").iter().zip(&results) {
        assert_eq!(*v == "true", *result != "not_applicable");
    }
    for (mib, result) in summary
        .values("server_peak_rss_mib_max")
        .iter()
        .zip(&results)
    {
        if *result == "not_applicable" {
            assert_eq!(*mib, "", "a pair not run has no memory figure");
            continue;
        }
        let mib: f64 = mib.parse().unwrap_or_else(|e| panic!("{mib:?}: {e}"));
        assert!((1.0..4096.0).contains(&mib), "{mib} MiB");
    }

    let names: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("results dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    // The batch experiment's files, metadata.json and their report: no other experiment's.
    let want: BTreeSet<String> = Experiment::Batch
        .files()
        .iter()
        .map(|f| f.name)
        .chain([METADATA, "REPORT.md", "charts"])
        .map(str::to_owned)
        .collect();
    assert_eq!(names, want, "files in {}", out.display());
    // Nothing left beside the results (the temporary directory was swapped in).
    let beside: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert_eq!(beside.len(), 1);

    let pairs = TARGETS.len() * Strategy::ALL.len();
    // A strategy a runtime cannot run (`/block_in_place` off tokio multi-thread) is recorded
    // not applicable: no server started, no rows but its summary line. So is /queue on a
    // machine without redis-server (bench-runner starts its own broker from PATH).
    let no_broker = conformance::broker::skip_reason().is_some();
    let not_applicable = TARGETS
        .iter()
        .flat_map(|t| {
            Strategy::ALL
                .iter()
                .filter(|s| !t.runs(**s) || (**s == Strategy::Queue && no_broker))
        })
        .count();
    assert!(not_applicable > 0);
    let measured = pairs - not_applicable;
    let (c, rounds) = (4, 1);

    let summary = Csv::read(&out.join("summary.csv"));
    assert_eq!(summary.header, SUMMARY.header());
    assert_eq!(summary.rows.len(), pairs);
    let results = summary.values("result");
    assert_eq!(
        (
            results.iter().filter(|v| **v == "ok").count(),
            results.iter().filter(|v| **v == "not_applicable").count()
        ),
        (measured, not_applicable),
        "{:?}",
        summary.values("failure")
    );
    for (result, verified) in results.iter().zip(summary.values("verified")) {
        assert_eq!(verified, if *result == "ok" { "true" } else { "" });
    }
    let targets: BTreeSet<&str> = summary.values("target").into_iter().collect();
    assert_eq!(targets, TARGETS.iter().map(|t| t.name).collect());
    let strategies: BTreeSet<&str> = summary.values("strategy").into_iter().collect();
    assert_eq!(strategies, Strategy::ALL.iter().map(|s| s.name()).collect());
    for (v, result) in summary.values("batch_ms_mean").iter().zip(&results) {
        if *result == "ok" {
            assert!(v.parse::<f64>().expect("batch_ms_mean") > 0.0);
        } else {
            assert_eq!(*v, "");
        }
    }
    let bg: Vec<&str> = summary
        .rows
        .iter()
        .filter(|r| r[summary.col("strategy")] == "background")
        .map(|r| r[summary.col("background_done_ms_mean")].as_str())
        .collect();
    assert_eq!(bg.len(), TARGETS.len());
    assert!(bg.iter().all(|v| v.parse::<f64>().is_ok()), "{bg:?}");

    let raw = Csv::read(&out.join("raw.csv"));
    assert_eq!(raw.header, RAW.header());
    assert_eq!(raw.rows.len(), measured * c * rounds);
    assert!(raw.values("verified").iter().all(|v| *v == "true"));
    for (strategy, status) in raw.values("strategy").iter().zip(raw.values("status")) {
        let s = Strategy::from_name(strategy).expect("strategy");
        let want = if s == Strategy::Background {
            "202"
        } else {
            "200"
        };
        assert_eq!(status, want, "{strategy}");
    }
    for v in raw.values("latency_us") {
        v.parse::<u64>().expect("latency_us");
    }

    // /cached on every server: its identical batch (each round a fresh n, computed once for
    // the C requests: the server's own count), then one round per default --cache-hit ratio.
    let cache = Csv::read(&out.join(results_format::CACHE.name));
    assert_eq!(cache.header, results_format::CACHE.header());
    let mixes = ["identical", "hit_0", "hit_0.5", "hit_0.9", "hit_0.99"];
    assert_eq!(cache.rows.len(), TARGETS.len() * mixes.len());
    for row in &cache.rows {
        let get = |name: &str| row[cache.col(name)].as_str();
        assert_eq!(get("strategy"), "cached");
        assert!(mixes.contains(&get("mix")), "{row:?}");
        assert_eq!(get("errors"), "0", "{row:?}");
        let lookups: u64 = ["hits", "misses", "coalesced"]
            .iter()
            .map(|c| get(c).parse::<u64>().expect("count"))
            .sum();
        assert_eq!(lookups.to_string(), get("requests"), "{row:?}");
        match get("mix") {
            "identical" => assert_eq!(get("computed_per_round_mean"), "1.00", "{row:?}"),
            "hit_0" => assert_eq!(get("hits"), "0", "{row:?}"),
            _ => {}
        }
    }

    let rounds_csv = Csv::read(&out.join("rounds.csv"));
    assert_eq!(rounds_csv.header, ROUNDS.header());
    assert_eq!(rounds_csv.rows.len(), measured * rounds);
    // The server's side of every round: CPU times read, a lag window closed.
    for col in [
        "server_cpu_ms",
        "client_cpu_ms",
        "server_cores_used",
        "lag_samples",
    ] {
        for v in rounds_csv.values(col) {
            assert!(v.parse::<f64>().is_ok_and(|v| v >= 0.0), "{col}: {v:?}");
        }
    }

    let probes = Csv::read(&out.join("probes.csv"));
    assert_eq!(probes.header, PROBES.header());
    for (lat, status) in probes
        .values("latency_us")
        .iter()
        .zip(probes.values("status"))
    {
        lat.parse::<u64>().expect("probe latency_us");
        assert!(status.is_empty() || status == "200", "{status}");
    }
    // The server is charged with the send-to-answer time; the connection is a pool number.
    for ((lat, answer), connection) in probes
        .values("latency_us")
        .iter()
        .zip(probes.values("answer_us"))
        .zip(probes.values("connection"))
    {
        assert_eq!(*lat, answer);
        connection.parse::<u32>().expect("probe connection");
    }

    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("metadata.json")).expect("metadata"),
    )
    .expect("metadata.json is JSON");
    assert_eq!(meta["server_build_profile"], "debug");
    assert_eq!(meta["quick"], true);
    // The batch experiment alone (the others have their own tests below).
    assert_eq!(meta["pairs"], pairs);
    assert_eq!(meta["experiments"], serde_json::json!(["batch"]));
    assert!(
        meta["note"].as_str().is_some_and(|n| n.contains("same")),
        "{meta}"
    );
    for key in ["date_utc", "git_commit", "rustc", "cpu_model", "os"] {
        assert!(
            meta[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {meta}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Every file under `dir`, with its bytes (subdirectories walked): to show a directory was not
/// touched.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.insert(path, bytes);
            }
        }
    }
    files
}

/// A results directory as a previous run and report left it.
fn previous_results(out: &Path) {
    std::fs::create_dir_all(out.join("charts")).expect("out");
    for name in FILES {
        std::fs::write(out.join(name), format!("previous {name}\n")).expect("previous");
    }
    std::fs::write(out.join("REPORT.md"), "previous report\n").expect("report");
    std::fs::write(out.join("charts/batch_time.svg"), "<svg/>\n").expect("chart");
}

/// A run where every pair failed measured nothing: each pair is still named with its failure,
/// but the exit status is 2 and the previous results (CSVs, report, charts) stay byte for byte.
#[test]
fn a_run_that_measured_nothing_leaves_the_results_untouched_and_exits_2() {
    let tmp = scratch("missing");
    let empty = tmp.join("debug");
    std::fs::create_dir_all(&empty).expect("empty bin dir");
    let out = tmp.join("results");
    previous_results(&out);
    let before = snapshot(&out);
    // Every experiment (the default): each one's pairs count.
    let output = run(&[
        "--quick",
        "--allow-debug",
        "--server-dir",
        empty.to_str().expect("utf-8"),
        "--target",
        "smol",
        "--workers",
        "1",
        "--strategy",
        "cycle,thread",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FAILED smol, workers=1, /cycle: server did not start"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "nothing measured: {e} of {e} pairs failed; no results written",
            // The queue experiment measures /queue only, not asked for here.
            e = 2 * (Experiment::DEFAULT.len() - 1)
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), before, "{} was touched", out.display());
    let beside: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert_eq!(beside.len(), 2, "only debug/ and results/");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A tiny HTTP server that answers 404 with an HTML page to everything, as a web server that is
/// not ours would; serves until the test process ends.
fn html_404_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = "<html><body><h1>404 Not Found</h1></body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// `--url` at something that is not a server this benchmark measures fails once, at once
/// (not 10 s per pair), saying what it found and what it needs; so does a closed port. Nothing
/// is written.
#[test]
fn a_url_that_is_not_a_measurable_server_fails_at_once() {
    let tmp = scratch("url");
    let out = tmp.join("results");
    previous_results(&out);
    let before = snapshot(&out);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    for (url, says) in [
        (
            html_404_server(),
            "is not a server this benchmark can measure: GET /health answered 404 (text/html) \
             instead of 200",
        ),
        (closed.clone(), "nothing answers GET"),
    ] {
        let started = Instant::now();
        let output = run(&["--url", &url, "--out", out.to_str().expect("utf-8")]);
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains(says), "{url}: {stderr}");
        assert_eq!(stderr.matches("error:").count(), 1, "one error: {stderr}");
        // Five pairs at 10 s each before; a couple of seconds at most now.
        assert!(took < Duration::from_secs(5), "{url}: took {took:?}");
    }
    assert_eq!(snapshot(&out), before);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Overlapping CPU lists: exit 2 with a message naming both flags and the shared CPU, before
/// any server starts (the "server" here is a script that would leave a mark if it ran).
#[test]
fn overlapping_cpu_lists_are_refused_before_anything_starts() {
    let tmp = scratch("overlap");
    let own = tmp.join("release");
    std::fs::create_dir_all(&own).expect("dir");
    let mark = tmp.join("started");
    for t in TARGETS {
        script(&own.join(t.package), &format!("touch {}", mark.display()));
    }
    let out = tmp.join("results");
    let output = run(&[
        "--server-dir",
        own.to_str().expect("utf-8 path"),
        "--server-cpus",
        "0",
        "--client-cpus",
        "0",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--server-cpus 0 and --client-cpus 0 overlap on CPU 0"),
        "{stderr}"
    );
    assert!(!mark.exists(), "a server was started");
    assert!(!out.exists(), "results were written");
    // Malformed and out-of-range lists: refused by the option parser, naming the flag.
    for bad in ["0-", "4096"] {
        let output = run(&[
            "--server-cpus",
            bad,
            "--server-dir",
            own.to_str().expect("utf-8"),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--server-cpus"), "{stderr}");
    }
    assert!(!mark.exists(), "a server was started");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Cores kept apart on a machine with at least two: the server on the last CPU, bench-runner on
/// the first; the run measures, the default worker sweep is the server's one CPU, and
/// metadata.json holds both lists.
#[test]
fn cores_kept_apart_run_and_are_recorded() {
    let online = bench_runner::cpu::CpuList::online().cpus();
    if online.len() < 2 {
        eprintln!("skipped: one CPU online");
        return;
    }
    let (client, server) = (online[0].to_string(), online[online.len() - 1].to_string());
    let dir = servers();
    let tmp = scratch("apart");
    let out = tmp.join("results");
    let output = run(&[
        "--quick",
        "--allow-debug",
        "--server-dir",
        dir.to_str().expect("utf-8 path"),
        "--target",
        "tokio",
        "--strategy",
        "cycle,thread",
        "--server-cpus",
        &server,
        "--client-cpus",
        &client,
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary = Csv::read(&out.join("summary.csv"));
    assert_eq!(summary.values("workers"), ["1", "1"]);
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("metadata.json")).expect("metadata"),
    )
    .expect("JSON");
    assert_eq!(
        meta["server_cpus"],
        serde_json::json!([online[online.len() - 1]])
    );
    assert_eq!(meta["client_cpus"], serde_json::json!([online[0]]));
    assert_eq!(meta["cores"], 1);
    assert_eq!(meta["server_args"], serde_json::json!(["--cpus", server]));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn release_builds_are_required_unless_quick() {
    let output = run(&["--server-dir", "target/debug", "--allow-debug"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&[
        "--server-dir",
        "/nowhere/debug",
        "--out",
        "/nowhere/results",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("release"), "{stderr}");
}

#[test]
fn help_documents_every_option() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--target",
        "--workers",
        "--strategy",
        "--cache-hit",
        "--rounds",
        "--concurrency",
        "--n",
        "--probe-interval-ms",
        "--client",
        "--url",
        "--out",
        "--quick",
        "--server-dir",
        "--allow-debug",
        "--timeout",
        "--server-cpus",
        "--client-cpus",
        "--server-arg",
        "--experiment",
        "--load",
        "--rate",
        "--duration",
        "--max-in-flight",
        "--broker",
        "--queue-workers",
        "--queue-worker-threads",
    ] {
        assert!(help.contains(option), "--help lacks {option}");
    }
}

/// Ctrl-C in the middle of a measurement: exit 130, the server it ran is gone, and the rounds
/// finished before it are written to the run's --out (not the baseline: a temp dir here),
/// marked partial in metadata.json and at the top of REPORT.md, which describes them. The
/// server binary is copied to a path of its own so that its processes can be told apart from
/// those of other tests.
#[test]
fn sigint_stops_the_server_and_writes_the_finished_rounds_marked_partial() {
    let dir = servers();
    let tmp = scratch("sigint");
    let own = tmp.join("debug");
    std::fs::create_dir_all(&own).expect("dir");
    let binary = own.join("server-tokio-axum");
    std::fs::copy(dir.join("server-tokio-axum"), &binary).expect("copy server");
    let out = tmp.join("results");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(out.join("summary.csv"), "previous\n").expect("previous results");

    let run = Running::until(
        &[
            "--quick",
            "--allow-debug",
            "--server-dir",
            own.to_str().expect("utf-8"),
            "--target",
            "tokio",
            "--workers",
            "1",
            "--strategy",
            "cycle",
            "--experiment",
            "batch,sizes",
            "--rounds",
            "100000",
            "--out",
            out.to_str().expect("utf-8"),
        ],
        // The third visit's round: two visits are finished (the one under way is dropped).
        "(pass 3/",
    );
    assert!(
        server_processes(&binary) > 0,
        "the server should be running"
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(run.child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let (status, stdout) = run.finish();
    assert_eq!(status.code(), Some(130), "{stdout}");
    // Killed on drop, reaped: give the kernel a moment to remove the process.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_processes(&binary) > 0 {
        assert!(
            Instant::now() < deadline,
            "server still running after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The finished rounds (at least the one whose line was read) replace the previous files.
    let summary = Csv::read(&out.join("summary.csv"));
    assert_eq!(summary.values("strategy"), ["cycle"]);
    assert_eq!(summary.values("result"), ["ok"]);
    let rounds: usize = summary.values("rounds")[0].parse().expect("rounds");
    assert!((2..100_000).contains(&rounds), "{rounds} rounds");
    assert_eq!(Csv::read(&out.join("rounds.csv")).rows.len(), rounds);
    assert!(!out.join(SIZES_SUMMARY.name).exists(), "sizes never ran");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(METADATA)).expect("metadata.json"))
            .expect("json");
    assert_eq!(meta["partial"], true, "{meta}");
    assert_eq!(meta["experiments"], serde_json::json!(["batch"]), "{meta}");
    let cut = &meta["interrupted"];
    assert_eq!(cut["signal"], "SIGINT", "{meta}");
    assert_eq!(cut["experiment"], "batch", "{meta}");
    assert_eq!(cut["experiments_not_run"], serde_json::json!(["sizes"]));
    assert_eq!(
        cut["pairs_short"],
        serde_json::json!([format!(
            "batch: tokio, workers=1, /cycle ({rounds} of 100000 rounds)"
        )])
    );
    let report = std::fs::read_to_string(out.join("REPORT.md")).expect("REPORT.md");
    let marker = report.lines().nth(2).unwrap_or_default();
    assert!(
        marker.starts_with(
            "**Partial run: interrupted by SIGINT during the batch experiment.** Everything \
             below describes only what it measured before. Experiments not run (no files): \
             sizes."
        ),
        "{report}"
    );
    assert!(out.join("charts/batch_time.svg").is_file());
    let beside: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert_eq!(beside.len(), 2, "only debug/ and results/");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The one-pair batch run the output tests make, to `extra`'s directory.
fn one_pair(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--quick",
        "--allow-debug",
        "--server-dir",
        dir.to_str().expect("utf-8"),
        "--target",
        "tokio",
        "--workers",
        "1",
        "--strategy",
        "cycle",
        "--experiment",
        "batch",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// An --out holding files bench-runner does not write is refused before anything is measured
/// (exit 2, each named), and left as it was; --force measures and keeps them beside the
/// results, with the run's report.
#[test]
fn an_out_with_foreign_files_is_refused_unless_forced() {
    let dir = servers();
    let tmp = scratch("foreign");
    let out = tmp.join("mine");
    previous_results(&out);
    std::fs::write(out.join("notes.txt"), "mine\n").expect("notes");
    std::fs::write(out.join("charts/mine.svg"), "<svg/>\n").expect("own chart");
    let before = snapshot(&out);
    let output = one_pair(&dir, &["--out", out.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("holds files bench-runner does not write: charts/mine.svg, notes.txt;"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(!stdout.contains("Batch of"), "measured anyway: {stdout}");
    assert_eq!(snapshot(&out), before, "{} was touched", out.display());

    let output = one_pair(&dir, &["--out", out.to_str().expect("utf-8"), "--force"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).expect("kept"),
        "mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("charts/mine.svg")).expect("kept"),
        "<svg/>\n"
    );
    assert_eq!(Csv::read(&out.join("summary.csv")).values("result"), ["ok"]);
    // The previous run's files of experiments not run this time are gone, the report is new.
    assert!(!out.join(SIZES_SUMMARY.name).exists());
    assert!(
        std::fs::read_to_string(out.join("REPORT.md"))
            .expect("report")
            .starts_with("# Benchmark report")
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Without --out a run writes a fresh directory of its own under --runs-dir (runs/ in the
/// workspace by default, git-ignored), named for its UTC start, and prints its absolute path
/// at the start and the end; its REPORT.md and charts/ are beside its CSVs.
#[test]
fn a_run_without_out_writes_a_fresh_directory_with_its_report() {
    let dir = servers();
    let tmp = scratch("runs");
    let runs = tmp.join("runs");
    let output = one_pair(&dir, &["--runs-dir", runs.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let made: Vec<PathBuf> = std::fs::read_dir(&runs)
        .expect("runs dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let run_dir = &made[0];
    let name = run_dir.file_name().expect("name").to_string_lossy();
    assert!(
        name.len() == 15
            && name.as_bytes()[8] == b'-'
            && name.chars().filter(char::is_ascii_digit).count() == 14,
        "{name}"
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("results will go to {}", run_dir.display()));
    assert!(run_dir.is_absolute());
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("results in {}/: ", run_dir.display())),
        "{last}"
    );
    for file in [SUMMARY.name, RAW.name, METADATA, "REPORT.md", "charts"] {
        assert!(
            run_dir.join(file).exists(),
            "no {file} in {}",
            run_dir.display()
        );
    }
    // The workspace ignores runs/, so a run there leaves `git status` clean.
    let gitignore =
        std::fs::read_to_string(bench_runner::servers::workspace_root().join(".gitignore"))
            .expect(".gitignore");
    assert!(gitignore.lines().any(|l| l == "/runs"), "{gitignore}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `kill -9` of bench-runner cannot stop its server the way Ctrl-C does: the server must die
/// on its own (`--exit-with-parent`, Linux's parent-death signal). That the signal does not
/// come early (the thread that started the server lives as long as bench-runner) is
/// `spawner`'s unit test.
#[test]
fn kill_9_of_bench_runner_takes_its_server_with_it() {
    let dir = servers();
    let tmp = scratch("kill9");
    let own = tmp.join("debug");
    std::fs::create_dir_all(&own).expect("dir");
    let binary = own.join("server-tokio-axum");
    std::fs::copy(dir.join("server-tokio-axum"), &binary).expect("copy server");
    let out = tmp.join("results");
    let mut run = Running::until(
        &[
            "--quick",
            "--allow-debug",
            "--server-dir",
            own.to_str().expect("utf-8"),
            "--target",
            "tokio",
            "--workers",
            "1",
            "--strategy",
            "cycle",
            "--rounds",
            "100000",
            "--out",
            out.to_str().expect("utf-8"),
        ],
        "Batch of",
    );
    let servers = server_pids(&binary);
    assert_eq!(servers.len(), 1, "one server running: {servers:?}");
    run.child.kill().expect("SIGKILL");
    run.child.wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(5);
    let left = loop {
        let left = server_pids(&binary);
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Never leave an orphan behind, whatever the verdict.
    for pid in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        left.is_empty(),
        "server {left:?} outlived bench-runner's kill -9"
    );
    assert!(!out.exists(), "results were written");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A bench-runner run in the background, read up to a line of its stdout.
struct Running {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    stdout: String,
}

impl Running {
    /// Starts bench-runner with `args` and reads its stdout until a line holds `marker` (after the progress prefix)
    /// (30 s at most).
    fn until(args: &[&str], marker: &str) -> Running {
        let mut child = Command::new(EXE)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut run = Running {
            child,
            lines,
            stdout: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = run.lines.next().expect("a line").expect("utf-8");
            run.stdout.push_str(&line);
            run.stdout.push('\n');
            if line.contains(marker) {
                return run;
            }
            assert!(
                Instant::now() < deadline,
                "no line {marker:?} in {}",
                run.stdout
            );
        }
    }

    /// Reads the rest of its stdout and waits for it to exit.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        for line in self.lines.by_ref() {
            self.stdout.push_str(&line.expect("utf-8"));
            self.stdout.push('\n');
        }
        (self.child.wait().expect("exit"), self.stdout)
    }
}

/// Processes whose executable is `binary`.
fn server_processes(binary: &Path) -> usize {
    server_pids(binary).len()
}

/// Ids of the processes whose executable is `binary`.
fn server_pids(binary: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            (argv0 == binary.as_os_str().as_encoded_bytes()).then_some(pid)
        })
        .collect()
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Fault injection, one run: a server whose port is taken (tokio's, bound by a script to a port
/// this test holds), one that never prints its address (smol's), and a working one
/// (async-std's). Each broken pair fails with a message naming it; the working pair is
/// measured; the exit code is 1.
#[test]
fn broken_servers_fail_their_pairs_by_name_and_the_others_run() {
    let dir = servers();
    let tmp = scratch("broken");
    let own = tmp.join("debug");
    std::fs::create_dir_all(&own).expect("dir");
    std::fs::copy(
        dir.join("server-async-std-tide"),
        own.join("server-async-std-tide"),
    )
    .expect("copy");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let port = busy.local_addr().expect("addr").port();
    let tokio = dir.join("server-tokio-axum");
    script(
        &own.join("server-tokio-axum"),
        // No backtrace, so the stderr tail is the error itself.
        &format!(
            "RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 exec {} --bind 127.0.0.1:{port}",
            tokio.display()
        ),
    );
    script(&own.join("server-smol-hyper"), "exec sleep 60");
    let out = tmp.join("results");
    previous_results(&out);
    let output = run(&[
        "--quick",
        "--allow-debug",
        "--server-dir",
        own.to_str().expect("utf-8"),
        "--workers",
        "1",
        "--strategy",
        "cycle",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_owned)
    };
    let tokio_failure =
        line("FAILED tokio, workers=1, /cycle: ").unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        tokio_failure.contains("server did not start"),
        "{tokio_failure}"
    );
    assert!(
        stdout.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "the server's own words: {stdout}"
    );
    let smol_failure =
        line("FAILED smol, workers=1, /cycle: ").unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        smol_failure.contains("did not print `listening on"),
        "{smol_failure}"
    );
    assert!(line("FAILED async-std").is_none(), "{stdout}");
    let summary = Csv::read(&out.join("summary.csv"));
    // tokio-current-thread runs the same (broken) tokio binary; actix's is missing here.
    assert_eq!(
        summary.values("target"),
        [
            "tokio",
            "tokio-current-thread",
            "async-std",
            "smol",
            "actix"
        ]
    );
    assert_eq!(
        summary.values("result"),
        ["failed", "failed", "ok", "failed", "failed"]
    );
    // Verification never ran where the server never started: empty, not "false".
    assert_eq!(summary.values("verified"), ["", "", "true", "", ""]);
    // Some pairs measured: the files are replaced, and the previous report, which described
    // the replaced CSVs, is replaced by the run's own, written from them.
    let report = std::fs::read_to_string(out.join("REPORT.md")).expect("the run's report");
    assert!(report.starts_with("# Benchmark report"), "{report}");
    assert_ne!(
        std::fs::read(out.join("charts/batch_time.svg")).expect("the run's chart"),
        b"<svg/>\n"
    );
    // The never-listening one was killed, not left behind.
    assert_eq!(
        server_processes(Path::new("/bin/sleep")) + server_processes(Path::new("/usr/bin/sleep")),
        0
    );
    drop(busy);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A server that dies in the middle of its measurement (killed by this test as its visit
/// starts) fails that pair, named, which is not visited again; the other pair, on servers of
/// its own, is measured in every pass; the exit code is 1.
#[test]
fn a_server_that_dies_mid_run_fails_that_pair_only() {
    let dir = servers();
    let tmp = scratch("dies");
    let own = tmp.join("debug");
    std::fs::create_dir_all(&own).expect("dir");
    let binary = own.join("server-tokio-axum");
    std::fs::copy(dir.join("server-tokio-axum"), &binary).expect("copy server");
    let out = tmp.join("results");
    let run = Running::until(
        &[
            "--quick",
            "--allow-debug",
            "--server-dir",
            own.to_str().expect("utf-8"),
            "--target",
            "tokio",
            "--workers",
            "1",
            "--strategy",
            "cycle,thread",
            "--rounds",
            "3",
            "--out",
            out.to_str().expect("utf-8"),
        ],
        // A visit's line comes before its server starts (stdout is line-buffered).
        "workers=1, /cycle",
    );
    // The /cycle visit's own server: a process of the binary that was not there at its line
    // (the previous visit's server may still be stopping beside it).
    let before = server_pids(&binary);
    let deadline = Instant::now() + Duration::from_secs(10);
    let victim = loop {
        if let Some(pid) = server_pids(&binary)
            .into_iter()
            .find(|p| !before.contains(p))
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "no server for /cycle: {}",
            run.stdout
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    let (status, stdout) = run.finish();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAILED tokio, workers=1, /cycle: "),
        "{stdout}"
    );
    let summary = Csv::read(&out.join("summary.csv"));
    assert_eq!(summary.values("strategy"), ["cycle", "thread"]);
    assert_eq!(summary.values("result"), ["failed", "ok"], "{stdout}");
    assert_eq!(server_processes(&binary), 0, "no server left behind");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A server that answers wrong totals (a fake on a loopback port, measured as an external
/// target) fails verification and is not measured; its only pair failed, so nothing is
/// written (exit 2).
#[test]
fn wrong_totals_fail_verification_and_are_not_measured() {
    let fake = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", fake.local_addr().expect("addr"));
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        // Bounded: enough connections for the run, then it stops by itself.
        for stream in fake.incoming().take(500) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let body = r#"{"total": 1}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let tmp = scratch("wrong");
    let out = tmp.join("results");
    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--strategy",
        "cycle",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    // Batch alone: the rate and queue experiments never run on a --url server, and sizes only
    // on one whose totals follow n (this one's are all 1).
    assert!(
        stderr.contains("nothing measured: 1 of 1 pairs failed"),
        "{stderr}"
    );
    assert!(
        stdout.contains("sizes: skipped for a --url server: the server ignores n"),
        "{stdout}"
    );
    let failure = stdout
        .lines()
        .find(|l| l.starts_with("FAILED external") && l.contains("/cycle"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        failure.contains("verification failed") && failure.contains("total 1"),
        "{failure}"
    );
    assert!(stdout.contains("verified: NO"), "{stdout}");
    assert!(!out.exists(), "nothing measured, nothing written");
    assert!(
        !stdout.contains("Batch of"),
        "a server that fails verification is not measured: {stdout}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A `--url` server must run the kernel asked for: another is refused before anything is
/// measured (exit 2, both kernels named); the same one is measured, verified for it, with the
/// kernel recorded and the peak RSS left blank (the pid of a `--url` server is unknown).
#[test]
fn a_url_server_must_run_the_kernel_asked_for() {
    let dir = servers();
    let server = conformance::ServerProcess::start(
        &dir.join("server-tokio-axum"),
        &["--kernel".into(), "sha256".into()],
        Duration::from_secs(10),
    )
    .expect("server starts");
    let url = server.base_url();
    let tmp = scratch("url-kernel");
    let out = tmp.join("results");
    let out_arg = out.to_str().expect("utf-8");
    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--strategy",
        "cycle",
        "--out",
        out_arg,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"sha256\"") && stderr.contains("\"sum-squares\""),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");

    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--strategy",
        "cycle,thread",
        "--kernel",
        "sha256",
        "--out",
        out_arg,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let summary = Csv::read(&out.join("summary.csv"));
    assert_eq!(summary.values("kernel"), ["sha256", "sha256"]);
    assert_eq!(summary.values("verified"), ["true", "true"]);
    assert_eq!(summary.values("server_peak_rss_mib_max"), ["", ""]);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// An `n` above a `--url` server's `--max-n` (its /stats says) is refused before anything is
/// measured: every request would have been a 400.
#[test]
fn a_url_server_refuses_an_n_above_its_maximum() {
    let dir = servers();
    let server = conformance::ServerProcess::start(
        &dir.join("server-tokio-axum"),
        &["--max-n".into(), "5000".into()],
        Duration::from_secs(10),
    )
    .expect("server starts");
    let url = server.base_url();
    let tmp = scratch("url-max-n");
    let out = tmp.join("results");
    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--n",
        "6000",
        "--strategy",
        "cycle",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--n 6000") && stderr.contains("at most n = 5000"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Results that could not be written are found out before anything is measured.
#[test]
fn an_unwritable_results_directory_fails_before_measuring() {
    let tmp = scratch("unwritable");
    let file = tmp.join("a-file");
    std::fs::write(&file, "not a directory").expect("file");
    let out = file.join("results");
    let output = run(&[
        "--quick",
        "--target",
        "tokio",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("results cannot be written to {}", out.display())),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("Batch of"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("intact"),
        "not a directory"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--experiment sizes --quick` on one target: the sweep's files only (the batch's are not
/// written), a summary row per pair and size, T1 and the percentiles re-derived from the raw
/// rows, and metadata.json naming the one experiment.
#[test]
fn the_sizes_experiment_alone_writes_its_files_and_says_so() {
    let dir = servers();
    let tmp = scratch("sizes");
    let out = tmp.join("results");
    previous_results(&out);
    let output = run(&[
        "--experiment",
        "sizes",
        "--quick",
        "--allow-debug",
        "--server-dir",
        dir.to_str().expect("utf-8 path"),
        "--target",
        "tokio",
        "--workers",
        "1",
        "--strategy",
        "cycle,thread,rayon",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("== sizes: tokio, workers=1, /rayon"),
        "{stdout}"
    );
    assert!(stdout.contains("n = 0: T1 "), "{stdout}");
    assert!(stdout.contains("n = 10000: T1 "), "{stdout}");

    let names: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("results dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = SIZES_FILES
        .iter()
        .map(|f| f.name.to_owned())
        .chain([METADATA, "REPORT.md", "charts"].map(str::to_owned))
        .collect();
    assert_eq!(
        names, want,
        "the previous run's batch files are gone, its report replaced by this run's"
    );

    let summary = Csv::read(&out.join(SIZES_SUMMARY.name));
    assert_eq!(summary.header, SIZES_SUMMARY.header());
    assert_eq!(summary.rows.len(), 3 * 2, "three pairs, two sizes");
    assert!(summary.values("result").iter().all(|r| *r == "ok"));
    assert_eq!(
        summary.values("n").into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from(["0", "10000"])
    );
    let raw = Csv::read(&out.join(SIZES_RAW.name));
    assert_eq!(raw.header, SIZES_RAW.header());
    assert!(raw.values("verified").iter().all(|v| *v == "true"));
    let probes = Csv::read(&out.join(SIZES_PROBES.name));
    assert_eq!(probes.header, SIZES_PROBES.header());
    assert!(!probes.rows.is_empty());
    for row in &summary.rows {
        let get = |name: &str| row[summary.col(name)].as_str();
        let of_pair = |r: &&Vec<String>| {
            ["strategy", "n"]
                .iter()
                .all(|c| r[raw.col(c)] == row[summary.col(c)])
        };
        let lone: Vec<u64> = raw
            .rows
            .iter()
            .filter(of_pair)
            .filter(|r| r[raw.col("phase")] == "lone")
            .map(|r| r[raw.col("latency_us")].parse().expect("latency_us"))
            .collect();
        assert_eq!(get("lone_requests"), lone.len().to_string());
        assert_eq!(get("t1_us"), lone.iter().min().expect("lone").to_string());
        let batch: Vec<u64> = raw
            .rows
            .iter()
            .filter(of_pair)
            .filter(|r| r[raw.col("phase")] == "batch")
            .map(|r| r[raw.col("latency_us")].parse().expect("latency_us"))
            .collect();
        assert_eq!(get("requests"), batch.len().to_string());
        assert_eq!(batch.len() % 4, 0, "whole batches of C = 4");
        let p = bench_runner::harness::stats::percentiles(&batch).expect("requests");
        assert_eq!(get("latency_us_p50"), p.p50.to_string());
        assert_eq!(get("latency_us_max"), p.max.to_string());
    }

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(METADATA)).expect("metadata"))
            .expect("metadata.json is JSON");
    assert_eq!(meta["experiments"], serde_json::json!(["sizes"]));
    assert_eq!(meta["n"], 10_000, "the batch n: the largest of the sweep");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Bad `--n` lists: an empty one, a negative value, a value above the kernel's ceiling: exit
/// 2 with a message naming `--n`, no server started, the previous results untouched.
#[test]
fn bad_n_lists_are_refused_naming_the_option() {
    let tmp = scratch("bad-n");
    let own = tmp.join("release");
    std::fs::create_dir_all(&own).expect("dir");
    let mark = tmp.join("started");
    for t in TARGETS {
        script(&own.join(t.package), &format!("touch {}", mark.display()));
    }
    let out = tmp.join("results");
    previous_results(&out);
    let before = snapshot(&out);
    for bad in [
        &["--n", ""][..],
        &["--n", "5,-1"],
        &["--n", "0,1000000000001"],
        &["--kernel", "argon2", "--n", "0,100001"],
    ] {
        let mut args = vec![
            "--experiment",
            "sizes",
            "--server-dir",
            own.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(bad);
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("--n"), "{bad:?}: {stderr}");
    }
    assert!(!mark.exists(), "a server was started");
    assert_eq!(snapshot(&out), before, "{} was touched", out.display());
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The rate experiment alone, quick, on one target: its three files and metadata.json only;
/// a pair per strategy at the target's largest worker count, one row per step; and a sample
/// of rate_summary.csv re-derived from rate_raw.csv and rate_probes.csv.
#[test]
fn quick_rate_run_writes_the_rate_files_and_its_summary_rederives_from_raw() {
    let dir = servers();
    let tmp = scratch("rate");
    let out = tmp.join("results");
    let output = run(&[
        "--experiment",
        "rate",
        "--quick",
        "--allow-debug",
        "--server-dir",
        dir.to_str().expect("utf-8 path"),
        "--target",
        "tokio",
        "--workers",
        "1,2",
        "--strategy",
        "thread,bounded",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // One step per visit: two passes, each step on a server process of its own.
    assert!(
        stdout.contains("== rate, pass 2/2: tokio, workers=2, /thread"),
        "{stdout}"
    );
    assert!(stdout.contains("capacity ≈ "), "{stdout}");
    assert!(stdout.contains("load 0.50 = "), "{stdout}");
    let names: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("results dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = [
        RATE_RAW.name,
        RATE_PROBES.name,
        RATE_SUMMARY.name,
        METADATA,
        "REPORT.md",
        "charts",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(names, want);

    let summary = Csv::read(&out.join(RATE_SUMMARY.name));
    assert_eq!(summary.header, RATE_SUMMARY.header());
    let raw = Csv::read(&out.join(RATE_RAW.name));
    assert_eq!(raw.header, RATE_RAW.header());
    let probes = Csv::read(&out.join(RATE_PROBES.name));
    assert_eq!(probes.header, RATE_PROBES.header());
    // 2 strategies × the 2 quick loads.
    assert_eq!(summary.rows.len(), 4, "{:?}", summary.values("failure"));
    assert!(summary.values("result").iter().all(|r| *r == "ok"));
    assert!(summary.values("workers").iter().all(|w| *w == "2"));
    assert_eq!(summary.values("load"), ["0.500", "1.500", "0.500", "1.500"]);
    let pids = summary.values("server_pid");
    assert!(pids[0] != pids[1] && pids[2] != pids[3], "{pids:?}");
    let mut passes = summary.values("pass");
    passes.sort_unstable();
    assert_eq!(passes, ["1", "1", "2", "2"]);

    let num = |v: &str| v.parse::<f64>().unwrap_or_else(|e| panic!("{v:?}: {e}"));
    for row in &summary.rows {
        let at = |name: &str| row[summary.col(name)].as_str();
        let mine: Vec<&Vec<String>> = raw
            .rows
            .iter()
            .filter(|r| {
                ["target", "workers", "strategy", "step"]
                    .iter()
                    .all(|c| r[raw.col(c)] == at(c))
            })
            .collect();
        let rv = |r: &Vec<String>, c: &str| r[raw.col(c)].clone();
        let count = |outcome: &str| mine.iter().filter(|r| rv(r, "outcome") == outcome).count();
        assert_eq!(mine.len().to_string(), at("scheduled"));
        assert_eq!(count("ok").to_string(), at("verified"));
        assert_eq!(count("refused").to_string(), at("refused"));
        assert_eq!(count("status_503").to_string(), at("status_503"));
        let answered = mine.iter().filter(|r| !rv(r, "status").is_empty()).count();
        assert_eq!(answered.to_string(), at("responses"));
        let us = |r: &Vec<String>, c: &str| num(&rv(r, c)) as u64;
        let ok: Vec<u64> = mine
            .iter()
            .filter(|r| rv(r, "outcome") == "ok")
            .map(|r| us(r, "latency_us"))
            .collect();
        let q =
            |v: &[u64], q: f64| bench_runner::harness::stats::quantile_us(v, q).expect("values");
        assert_eq!(q(&ok, 0.5).to_string(), at("latency_us_p50"));
        assert_eq!(q(&ok, 0.99).to_string(), at("latency_us_p99"));
        assert_eq!(q(&ok, 0.999).to_string(), at("latency_us_p999"));
        let late: Vec<u64> = mine.iter().map(|r| us(r, "late_us")).collect();
        assert_eq!(q(&late, 0.99).to_string(), at("late_us_p99"));
        assert_eq!(
            at("generator_behind"),
            if q(&late, 0.99) > 1000 { "1" } else { "0" }
        );
        // Goodput: verified answers over the span from the measured start to the last answer
        // (at least the step's duration).
        let last_us = mine
            .iter()
            .filter(|r| !rv(r, "status").is_empty())
            .map(|r| us(r, "scheduled_offset_us") + us(r, "latency_us"))
            .max()
            .unwrap_or(0);
        let span_ms = (last_us as f64 / 1e3).max(num(at("duration_ms")));
        assert!(
            (span_ms - num(at("span_ms"))).abs() < 0.01,
            "{span_ms} vs {}",
            at("span_ms")
        );
        let goodput = ok.len() as f64 / (num(at("span_ms")) / 1e3);
        assert!((goodput - num(at("goodput_rps"))).abs() < 0.1, "{goodput}");
        // The probes of that step.
        let probe_count = probes
            .rows
            .iter()
            .filter(|r| {
                ["target", "workers", "strategy", "step"]
                    .iter()
                    .all(|c| r[probes.col(c)] == at(c))
            })
            .count();
        assert_eq!(probe_count.to_string(), at("probes"));
        // Offered: the load times the capacity, threads ÷ T1: the cores for offloaded
        // strategies (the executor's threads count for inline ones only).
        let capacity = num(at("capacity_rps"));
        assert!((num(at("offered_rps")) - num(at("load")) * capacity).abs() < 0.2);
        assert_eq!(at("capacity_basis"), "cores");
        let threads = num(at("capacity_threads"));
        let from_t1 = threads / (num(at("t1_ms")) / 1e3);
        assert!(
            (capacity - from_t1).abs() <= 0.01 * from_t1,
            "{capacity} vs {from_t1}"
        );
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(METADATA)).expect("metadata"))
            .expect("metadata.json is JSON");
    assert_eq!(meta["experiments"], serde_json::json!(["rate"]), "{meta}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The rate experiment's bad values: exit 2, a message naming the option, nothing started,
/// the previous results untouched.
#[test]
fn bad_rate_options_are_refused_and_leave_the_results_untouched() {
    let tmp = scratch("rate-bad");
    let out = tmp.join("results");
    previous_results(&out);
    let before = snapshot(&out);
    for (flag, bad) in [
        ("--load", "0"),
        ("--load", "-1"),
        ("--load", ""),
        ("--load", "0.5,,1"),
        ("--rate", "0"),
        ("--rate", "-5"),
        ("--duration", "0"),
        ("--max-in-flight", "0"),
    ] {
        let output = run(&[
            "--experiment",
            "rate",
            flag,
            bad,
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {bad:?}: {stderr}");
        // Refused for its value (not as an unknown option), naming the option.
        assert!(
            stderr.contains("invalid value") && stderr.contains(flag),
            "{flag} {bad:?}: {stderr}"
        );
        assert_eq!(snapshot(&out), before, "{flag} {bad:?} touched the results");
    }
    let output = run(&[
        "--load",
        "1",
        "--rate",
        "10",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(snapshot(&out), before);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The queue experiment against one server in two passes: a row per burst in
/// queue_summary.csv, in each pass the /jobs reference and /queue with 1 and 2 worker
/// processes (in an order of the pass's own) then the fault burst, each pass on a server
/// process of its own; a row per job in queue_raw.csv that the summary's counts re-derive
/// from; and the worker killed mid-burst lost nothing. Skipped, saying so, without
/// redis-server.
#[test]
fn the_queue_experiment_measures_bursts_and_a_worker_killed_mid_burst() {
    if let Some(why) = conformance::broker::skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let dir = servers();
    let tmp = scratch("queue");
    let out = tmp.join("results");
    let output = run(&[
        "--experiment",
        "queue",
        "--quick",
        "--rounds",
        "2",
        "--allow-debug",
        "--server-dir",
        dir.to_str().expect("utf-8 path"),
        "--target",
        "smol",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("/queue: broker Redis server"), "{stdout}");
    assert!(stdout.contains("a worker killed at "), "{stdout}");
    assert!(stdout.contains("== queue, pass 2/2: smol"), "{stdout}");

    let summary = Csv::read(&out.join(QUEUE_SUMMARY.name));
    assert_eq!(summary.header, QUEUE_SUMMARY.header());
    assert_eq!(summary.rows.len(), 8, "4 bursts in each of 2 passes");
    let burst = |r: &Vec<String>| {
        (
            r[summary.col("run")].clone(),
            r[summary.col("strategy")].clone(),
            r[summary.col("queue_workers")].clone(),
        )
    };
    let owned = |v: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        v.iter()
            .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
            .collect()
    };
    let scale = owned(&[
        ("scale", "jobs", "0"),
        ("scale", "queue", "1"),
        ("scale", "queue", "2"),
    ]);
    let mut pids = Vec::new();
    for (k, pass) in summary.rows.chunks(4).enumerate() {
        assert!(
            pass.iter()
                .all(|r| r[summary.col("pass")] == (k + 1).to_string()),
            "pass {}",
            k + 1
        );
        // The scale-out bursts in an order of the pass's own, the fault burst last.
        let mut runs: Vec<_> = pass[..3].iter().map(burst).collect();
        runs.sort();
        assert_eq!(runs, scale);
        assert_eq!(burst(&pass[3]), owned(&[("fault", "queue", "2")])[0]);
        let pid = &pass[0][summary.col("server_pid")];
        assert!(pass.iter().all(|r| r[summary.col("server_pid")] == *pid));
        pids.push(pid.clone());
    }
    assert_ne!(pids[0], pids[1], "a fresh server per pass");
    assert!(summary.values("result").iter().all(|r| *r == "ok"));
    // Every burst: 4 × C = 16 jobs, all accepted and done right, none lost.
    for name in ["jobs", "accepted", "completed"] {
        assert!(summary.values(name).iter().all(|v| *v == "16"), "{name}");
    }
    for name in ["wrong", "lost", "errors"] {
        assert!(summary.values(name).iter().all(|v| *v == "0"), "{name}");
    }
    for fault in [&summary.rows[3], &summary.rows[7]] {
        let killed: f64 = fault[summary.col("killed_at_ms")]
            .parse()
            .expect("killed_at_ms");
        let span: f64 = fault[summary.col("span_ms")].parse().expect("span_ms");
        assert!(
            killed > 0.0 && killed < span,
            "killed at {killed} of {span} ms"
        );
        assert_eq!(fault[summary.col("lease_ms")], "1000");
        assert!(fault[summary.col("taken_over")].parse::<u64>().is_ok());
    }
    // The workers' and the broker's CPU were read.
    let queue_run = summary
        .rows
        .iter()
        .find(|r| r[summary.col("run")] == "scale" && r[summary.col("strategy")] == "queue")
        .expect("a /queue scale-out burst");
    for name in ["workers_cpu_ms", "broker_cpu_ms", "server_cpu_ms"] {
        let v = &queue_run[summary.col(name)];
        assert!(v.parse::<f64>().is_ok(), "{name}: {v:?}");
    }

    // The counts re-derive from the raw rows, each job in its burst's pass.
    let raw = Csv::read(&out.join(QUEUE_RAW.name));
    assert_eq!(raw.header, QUEUE_RAW.header());
    assert_eq!(raw.rows.len(), 8 * 16);
    assert!(raw.values("outcome").iter().all(|o| *o == "ok"));
    for pass in ["1", "2"] {
        assert_eq!(
            raw.values("pass").iter().filter(|p| *p == &pass).count(),
            4 * 16
        );
    }
    let meta = std::fs::read_to_string(out.join(METADATA)).expect("metadata");
    assert!(meta.contains("\"broker\": \"Redis server"), "{meta}");
    assert!(
        meta.contains("\"experiments\": [\n    \"queue\"\n  ]"),
        "{meta}"
    );
}

/// Without redis-server on PATH, /queue pairs are not applicable, the run says how to install
/// it, and everything else is measured.
#[test]
fn without_redis_server_queue_pairs_are_not_applicable_and_the_run_goes_on() {
    let dir = servers();
    let tmp = scratch("no-redis");
    let out = tmp.join("results");
    let empty_path = tmp.join("bin");
    std::fs::create_dir_all(&empty_path).expect("empty PATH dir");
    let output = Command::new(EXE)
        .args([
            "--experiment",
            "batch",
            "--quick",
            "--allow-debug",
            "--server-dir",
            dir.to_str().expect("utf-8 path"),
            "--target",
            "smol",
            "--workers",
            "1",
            "--strategy",
            "rayon,queue",
            "--out",
            out.to_str().expect("utf-8 path"),
        ])
        .env("PATH", &empty_path)
        .stdin(Stdio::null())
        .output()
        .expect("bench-runner runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("apt-get install redis-server"), "{stdout}");
    let summary = Csv::read(&out.join(SUMMARY.name));
    assert_eq!(summary.values("strategy"), ["rayon", "queue"]);
    assert_eq!(summary.values("result"), ["ok", "not_applicable"]);
    assert!(
        stdout.contains("not applicable: redis-server is not on PATH"),
        "{stdout}"
    );
    // Said again in the run's last lines, with the command that fixes it.
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("not measured: /queue: redis-server is not on PATH")
            && last.contains("apt-get install redis-server"),
        "{stdout}"
    );
}

/// The example server of docs/servers.md's "Measuring your own server" (`/health`, `/cycle`
/// and `/rayon` only), built (debug) and started on port 0 as a user would run it.
fn own_server() -> conformance::ServerProcess {
    conformance::ServerProcess::start(
        &servers().join("examples").join("own_server"),
        &[],
        Duration::from_secs(10),
    )
    .expect("the example server starts")
}

/// `--url` at the example server: with `--strategy cycle,rayon` both are measured; without
/// `--strategy` the same two, and the run names what it skipped (every other strategy: a 404,
/// `/background`: never on a `--url` server) and the experiments it skipped (rate, sizes when
/// n is not honoured: here it is), at the start and again at the end; a strategy the server
/// does not serve, asked for, is one line and nothing is measured. The run's report names the
/// server as external and prints no `inf`.
#[test]
fn url_measures_what_the_server_serves_and_names_what_it_skipped() {
    let server = own_server();
    let url = server.base_url();
    let tmp = scratch("own-server");
    let measured = |out: &Path| {
        let summary = Csv::read(&out.join(SUMMARY.name));
        let mut strategies: Vec<String> = summary
            .values("strategy")
            .into_iter()
            .map(str::to_owned)
            .collect();
        strategies.dedup();
        assert_eq!(
            summary
                .values("verified")
                .iter()
                .filter(|v| **v != "true")
                .count(),
            0
        );
        strategies
    };

    let out = tmp.join("asked");
    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--strategy",
        "cycle,rayon",
        "--experiment",
        "batch",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(measured(&out), ["cycle", "rayon"]);

    let out = tmp.join("served");
    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(measured(&out), ["cycle", "rayon"]);
    let start = stdout
        .lines()
        .find(|l| l.starts_with("--url: measuring /cycle, /rayon; not measured: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    for s in Strategy::ALL {
        if ![Strategy::Cycle, Strategy::Rayon].contains(&s) {
            assert!(start.contains(s.path()), "{start}");
        }
    }
    assert!(
        stdout.contains("GET /thread: 404 — this server does not serve /thread"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rate: skipped for a --url server"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("sizes: skipped"),
        "the example honours n: {stdout}"
    );
    let end: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("not measured: "))
        .collect();
    assert!(
        end.iter().any(|l| l.contains("/thread")) && end.iter().any(|l| l.contains("rate:")),
        "{stdout}"
    );
    let meta = std::fs::read_to_string(out.join(METADATA)).expect("metadata");
    assert!(
        meta.contains("\"sizes\"") && !meta.contains("\"rate\""),
        "{meta}"
    );
    let report = std::fs::read_to_string(out.join("REPORT.md")).expect("report");
    assert!(report.contains("external server"), "{report}");
    let words = report.split(|c: char| !c.is_alphanumeric());
    assert!(
        !words.into_iter().any(|w| w == "inf" || w == "NaN"),
        "{report}"
    );
    assert!(!report.contains("( + )"), "{report}");

    let out = tmp.join("missing");
    let output = run(&[
        "--quick",
        "--url",
        &url,
        "--strategy",
        "cycle,thread",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "GET /thread: 404 — this server does not serve /thread; leave it out with --strategy"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("/cycle:"),
        "only the missing route is named: {stderr}"
    );
    assert!(!out.exists(), "nothing measured, nothing written");
    let _ = std::fs::remove_dir_all(&tmp);
}
