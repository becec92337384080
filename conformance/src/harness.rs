//! Blocking entry points for the servers' integration tests. Each starts the binary as a real
//! process on port 0 and panics with a readable report when the server misbehaves.
//!
//! A server crate gets the whole suite with one line in `tests/conformance.rs`:
//! `conformance::server_tests!(env!("CARGO_BIN_EXE_server-…"));`

use std::path::Path;
use std::time::{Duration, Instant};

use common::Strategy;
use common::jobs::JobStatus;
use common::reply::Computed;

use crate::behaviour::blocking_contrast;
use crate::checks::{Mode, call_strategy, fetch_stats, verify, wait_background_idle};
use crate::client::{HttpClient, ReqwestClient};
use crate::process::ServerProcess;

const STARTUP: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test runtime")
}

fn client() -> ReqwestClient {
    ReqwestClient::new(Duration::from_secs(60)).expect("client")
}

fn start(binary: &str, args: &[&str]) -> ServerProcess {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    ServerProcess::start(Path::new(binary), &args, STARTUP)
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"))
}

/// Every answer and error: [`verify`] in full.
pub fn answers_and_errors(binary: &str) {
    let server = start(binary, &[]);
    let report = runtime().block_on(verify(&client(), &server.base_url(), Mode::Ours));
    let summary = report.summary();
    assert!(
        report.passed(),
        "{binary}: {summary}\nstderr:\n{}",
        server.stderr_tail()
    );
    assert!(report.skipped().is_empty(), "{summary}");
    eprintln!("{binary}: {summary}");
}

/// With `--workers 1`, inline strategies hold up `/health`; offloaded and yielding ones do not.
pub fn strategies_really_differ(binary: &str) {
    let server = start(binary, &["--workers", "1"]);
    let contrast = runtime()
        .block_on(blocking_contrast(&client(), &server.base_url()))
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    for o in &contrast.observations {
        eprintln!(
            "{binary} n={}: {} took {:?}, /health meanwhile {:?}",
            contrast.n, o.strategy, o.heavy, o.health
        );
    }
    assert!(
        contrast.failures.is_empty(),
        "{binary} (n={}, lone /cycle {:?}): {:#?}",
        contrast.n,
        contrast.alone,
        contrast.failures
    );
}

/// `/stats` reports the thread counts given on the command line.
pub fn stats_report_thread_counts(binary: &str) {
    let server = start(
        binary,
        &[
            "--workers",
            "3",
            "--blocking-threads",
            "7",
            "--max-n",
            "5000",
        ],
    );
    let stats = runtime()
        .block_on(fetch_stats(&client(), &server.base_url()))
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    assert_eq!(
        (
            stats.executor_threads,
            stats.blocking_threads_max,
            stats.max_n
        ),
        (3, 7, 5000)
    );
}

/// SIGTERM while a request is in flight: it is answered, then the process exits 0.
pub fn sigterm_finishes_in_flight_requests(binary: &str) {
    let server = start(binary, &["--workers", "1"]);
    let client = client();
    let rt = runtime();
    // A request long enough to still be running when the signal arrives (~ 0.3-3 s).
    let url = format!("{}/thread?n=300000000", server.base_url());
    let reply = rt.block_on(async {
        let request = client.get(&url);
        let signal = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            server.terminate().expect("SIGTERM");
        };
        tokio::join!(request, signal).0
    });
    let reply =
        reply.unwrap_or_else(|e| panic!("{binary}: in-flight request lost on SIGTERM: {e}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: Computed = serde_json::from_str(&reply.body).expect("computed body");
    assert_eq!(
        body.total,
        common::kernel::closed_form(300_000_000).to_string()
    );
    let mut server = server;
    let exit = server
        .wait_timeout(Duration::from_secs(30))
        .expect("wait")
        .expect("exits after SIGTERM");
    assert!(
        exit.success(),
        "{binary} exited with {exit}; stderr:\n{}",
        server.stderr_tail()
    );
    assert!(
        server.stderr_tail().contains("0 abandoned"),
        "{}",
        server.stderr_tail()
    );
    // And it no longer accepts connections.
    let after = rt.block_on(client.get(&format!("{}/health", server.base_url())));
    assert!(after.is_err(), "still answering after exit: {after:?}");
}

/// Background jobs accepted before SIGTERM are finished before the process exits.
pub fn sigterm_finishes_background_jobs(binary: &str) {
    let mut server = start(binary, &["--workers", "1"]);
    let client = client();
    let rt = runtime();
    let base = server.base_url();
    rt.block_on(async {
        for _ in 0..3 {
            let r = client
                .get(&format!("{base}/background?n=100000000"))
                .await
                .expect("202");
            assert_eq!(r.status, 202, "{}", r.body);
        }
    });
    let started = Instant::now();
    server.terminate().expect("SIGTERM");
    let exit = server
        .wait_timeout(Duration::from_secs(60))
        .expect("wait")
        .expect("exits");
    let log = server.stderr_tail();
    assert!(exit.success(), "{binary} exited with {exit}:\n{log}");
    assert!(
        log.contains("3 background jobs accepted, 3 completed"),
        "{log}"
    );
    eprintln!(
        "{binary}: drained 3 background jobs in {:?}",
        started.elapsed()
    );
}

/// Past each limit the answer is 503 with `Retry-After`, and everything accepted completes:
/// `/bounded` (1 permit, 1 waiting), `/jobs` (1 active), `/background` (1 pending).
pub fn limits_give_503_and_accepted_work_completes(binary: &str) {
    let args = [
        "--cpu-threads",
        "1",
        "--max-queue",
        "1",
        "--max-background",
        "1",
    ];
    let server = start(binary, &args);
    let client = client();
    let base = server.base_url();
    // Long enough (~0.05-0.5 s) that the burst arrives while the first request still runs.
    let n = 100_000_000u64;
    let rt = runtime();
    rt.block_on(async {
        for strategy in [Strategy::Bounded, Strategy::Jobs, Strategy::Background] {
            let query = format!("n={n}");
            let burst =
                (0..4).map(|_| async { call_strategy(&client, &base, strategy, &query).await });
            let answers = futures::future::join_all(burst).await;
            let mut statuses: Vec<u16> = Vec::new();
            for answer in answers {
                let r = answer.unwrap_or_else(|e| panic!("{binary} {strategy}: {e}"));
                if r.status == 503 {
                    assert_eq!(
                        r.retry_after.as_deref(),
                        Some("1"),
                        "{strategy}: 503 without Retry-After"
                    );
                }
                statuses.push(r.status);
            }
            let refused = statuses.iter().filter(|s| **s == 503).count();
            assert!(
                (1..4).contains(&refused),
                "{binary} {strategy}: statuses {statuses:?}"
            );
            // What call_strategy ends with: the 202 for fire-and-forget, the result otherwise.
            let ok = if strategy == Strategy::Background {
                202
            } else {
                200
            };
            assert!(
                statuses.iter().all(|s| *s == 503 || *s == ok),
                "{binary} {strategy}: {statuses:?}"
            );
        }
        let stats = wait_background_idle(&client, &base, Duration::from_secs(60))
            .await
            .expect("stats");
        assert!(
            stats.bounded.rejected >= 1
                && stats.jobs.rejected >= 1
                && stats.background.rejected >= 1,
            "{stats:?}"
        );
        assert_eq!(
            stats.background.completed, stats.background.accepted,
            "{:?}",
            stats.background
        );
        assert_eq!(stats.background.abandoned, 0);
        assert_eq!(stats.jobs.done, stats.jobs.submitted, "{:?}", stats.jobs);
        assert_eq!(
            (stats.bounded.running, stats.bounded.waiting),
            (0, 0),
            "{:?}",
            stats.bounded
        );
    });
}

/// A finished job's result is kept for `--job-ttl`, then its id answers 404.
pub fn job_results_expire(binary: &str) {
    let server = start(binary, &["--job-ttl", "0.5"]);
    let client = client();
    let base = server.base_url();
    runtime().block_on(async {
        let submitted = client
            .send("POST", &format!("{base}/jobs?n=10"))
            .await
            .expect("submit");
        assert_eq!(submitted.status, 202, "{}", submitted.body);
        let job: JobStatus = serde_json::from_str(&submitted.body).expect("job body");
        let url = format!("{base}{}", job.url);
        let done = client.get(&format!("{url}?wait=true")).await.expect("wait");
        let done: JobStatus = serde_json::from_str(&done.body).expect("job body");
        assert_eq!(
            (done.status.as_str(), done.total.as_deref()),
            ("done", Some("285"))
        );
        assert_eq!(
            client.get(&url).await.expect("status").status,
            200,
            "kept within the ttl"
        );
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let gone = client.get(&url).await.expect("status");
        assert_eq!(gone.status, 404, "expired: {}", gone.body);
    });
}

/// The tests every server runs: `conformance::server_tests!(env!("CARGO_BIN_EXE_server-x"));`
#[macro_export]
macro_rules! server_tests {
    ($binary:expr) => {
        #[test]
        fn answers_and_errors() {
            $crate::harness::answers_and_errors($binary);
        }
        #[test]
        fn strategies_really_differ() {
            $crate::harness::strategies_really_differ($binary);
        }
        #[test]
        fn stats_report_thread_counts() {
            $crate::harness::stats_report_thread_counts($binary);
        }
        #[test]
        fn sigterm_finishes_in_flight_requests() {
            $crate::harness::sigterm_finishes_in_flight_requests($binary);
        }
        #[test]
        fn sigterm_finishes_background_jobs() {
            $crate::harness::sigterm_finishes_background_jobs($binary);
        }
        #[test]
        fn limits_give_503_and_accepted_work_completes() {
            $crate::harness::limits_give_503_and_accepted_work_completes($binary);
        }
        #[test]
        fn job_results_expire() {
            $crate::harness::job_results_expire($binary);
        }
    };
}
