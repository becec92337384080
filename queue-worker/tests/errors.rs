//! End to end, with the real binary: a `queue-worker` whose broker is not there exits 1 with
//! one stderr line, `error: cannot reach the broker at URL (--broker): ` and its cause, and no
//! backtrace even with `RUST_BACKTRACE=1` (`common::cli::exit_code`). No `redis-server` needed.

use std::path::Path;
use std::time::Duration;

use conformance::process::run_to_exit;

const WORKER: &str = env!("CARGO_BIN_EXE_queue-worker");

#[test]
fn an_unreachable_broker_is_one_error_line_without_a_backtrace() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let args = ["--broker".to_owned(), url.clone()];
    let exited = run_to_exit(
        Path::new(WORKER),
        &args,
        &[("RUST_BACKTRACE", "1")],
        Duration::from_secs(30),
    )
    .expect("queue-worker exits by itself");
    let stderr = exited.stderr.trim_end();
    let context = format!("{}; stderr:\n{stderr}", exited.status);
    assert_eq!(exited.status.code(), Some(1), "{context}");
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("backtrace") && !lower.contains("panicked"),
        "{context}"
    );
    assert_eq!(stderr.lines().count(), 1, "{context}");
    let head = format!("error: cannot reach the broker at {url} (--broker): ");
    assert!(
        stderr.starts_with(&head) && stderr.len() > head.len(),
        "the error and its cause: {context}"
    );
}
