//! The one thread every server (and the /queue broker and workers) is started from, alive as
//! long as bench-runner itself.
//!
//! Each server runs with `--exit-with-parent <bench-runner's pid>` (Linux's parent-death
//! signal, see `common::cli::die_with_parent`), so that no server outlives bench-runner, even
//! one killed with `kill -9`. Linux sends that signal when the *thread* that forked the server
//! exits, not the process: a server started from tokio's blocking pool, whose idle threads
//! exit after 10 s, would be killed in the middle of its measurement. This thread starts on
//! first use and never exits (it waits on a channel whose sender lives in a static), so the
//! signal comes only when bench-runner ends.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use conformance::{ServerProcess, StartError};

type Job = Box<dyn FnOnce() + Send>;

/// The spawner thread's queue, the thread started on the first call (`None`: it could not be).
fn queue() -> Option<&'static mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("server-spawner".into())
                .spawn(move || {
                    for job in rx {
                        job();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// [`ServerProcess::start`] on the spawner thread. The outer error: the thread is unavailable.
/// If this future is dropped before the server is handed over, the server is killed (the
/// `ServerProcess` the thread could not deliver is dropped).
pub async fn start(
    binary: PathBuf,
    args: Vec<String>,
    startup_timeout: Duration,
) -> Result<Result<ServerProcess, StartError>, &'static str> {
    run(move || ServerProcess::start(&binary, &args, startup_timeout)).await
}

/// Runs `start` on the spawner thread and hands back what it returns: every child process
/// bench-runner starts (servers, the broker, queue workers) is started through here, so each
/// dies with bench-runner (their parent-death signal follows this thread) and never before.
pub async fn run<T: Send + 'static>(
    start: impl FnOnce() -> T + Send + 'static,
) -> Result<T, &'static str> {
    let queue = queue().ok_or("cannot start the thread that starts the servers")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    queue
        .send(Box::new(move || {
            let _ = tx.send(start());
        }))
        .map_err(|_| "the thread that starts the servers is gone")?;
    rx.await
        .map_err(|_| "the thread that starts the servers dropped the start")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every start runs on the same thread, whichever task or thread asks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_start_runs_on_one_long_lived_thread() {
        let ids = || async {
            let queue = queue().expect("spawner");
            let (tx, rx) = tokio::sync::oneshot::channel();
            queue
                .send(Box::new(move || {
                    let _ = tx.send(std::thread::current().id());
                }))
                .expect("send");
            rx.await.expect("answer")
        };
        let first = ids().await;
        let second = tokio::spawn(async move { ids().await })
            .await
            .expect("task");
        assert_eq!(first, second);
        assert_ne!(first, std::thread::current().id());
        let missing = start(
            PathBuf::from("/nonexistent/server"),
            vec![],
            Duration::from_secs(1),
        )
        .await
        .expect("the thread is there");
        assert!(
            matches!(missing, Err(StartError::Spawn { .. })),
            "{missing:?}"
        );
    }
}
