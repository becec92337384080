//! The open-loop generator of the rate experiment (and of `generator-ceiling`): a schedule
//! kept by a pacing thread of its own, each request sent on the generator's own thread,
//! runtime and connections, as the probe ([`super::probe`]) sends its own.
//!
//! ```text
//!   pacing thread (precise wait)          generator thread (current-thread runtime, own client)
//!   waits to request k's time ──spawn──▶  the request's task: its lateness read on its first
//!   (refuses it at the cap)               poll, right before the client writes it
//! ```
//!
//! Until this module the pacer handed each request to bench-runner's multi-thread runtime,
//! where it waited for a parked worker to wake and for tokio's 1 ms timer: lateness p99 1.71
//! ms at 250 requests/s while wrk did 51,477 requests/s against the same server. Here the
//! pacer waits with [`pacing::sleep_until`] (sleep, then a short spin) and spawns straight onto
//! a runtime that runs nothing but the generator's requests and their connections (its client
//! is built for it and used by nothing else, so no connection of it is driven by another
//! runtime). Lateness is still measured, never assumed: a step whose lateness p99 is above the
//! rate experiment's limit is flagged.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use conformance::HttpClient;

use super::http::RequestError;
use super::pacing::{self, Dispatch, RealClock, Schedule, pace};
use super::probe::ClientFactory;

/// One request, sent and checked: its status and why it is not a verified answer.
pub type Call = Arc<
    dyn Fn(
            Arc<dyn HttpClient>,
        ) -> Pin<Box<dyn Future<Output = (Option<u16>, Option<RequestError>)> + Send>>
        + Send
        + Sync,
>;

/// What a sent request's task reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// From its scheduled time to the moment its task called the client.
    pub late: Duration,
    /// From its scheduled time to the answer (or the error).
    pub latency: Duration,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it is not a verified answer.
    pub error: Option<RequestError>,
}

/// The generator's thread with its current-thread runtime and its client; started once and
/// reused for every step. Dropped, it tells the thread to end (requests still in flight are
/// dropped with its runtime).
pub struct Generator {
    handle: tokio::runtime::Handle,
    client: Arc<dyn HttpClient>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator").finish_non_exhaustive()
    }
}

impl Generator {
    /// Starts the thread, builds its runtime and, inside it, the generator's client.
    pub fn start(factory: ClientFactory) -> Result<Generator, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || {
                // It issues every request: as urgent as the pacer.
                pacing::urgent_thread();
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("generator: no runtime: {e}")));
                        return;
                    }
                };
                let client = {
                    let _inside = rt.enter();
                    factory().map_err(|e| format!("generator: cannot build its client: {e}"))
                };
                let _ = ready_tx.send(client.map(|c| (rt.handle().clone(), c)));
                // Runs the spawned requests until told to stop (or the Generator is gone).
                rt.block_on(async move {
                    let _ = stop_rx.await;
                });
            })
            .map_err(|e| format!("generator: cannot start its thread: {e}"))?;
        let (handle, client) = ready_rx
            .recv()
            .map_err(|_| "generator: its thread ended before it was ready".to_owned())??;
        Ok(Generator {
            handle,
            client,
            stop: Some(stop_tx),
        })
    }

    /// Keeps `schedule` from `start`: a pacing thread of its own ([`pace`], with the precise
    /// wait) spawns request k at its time onto the generator's runtime, where its task makes
    /// `call` with the generator's client, unless `cap` requests are in flight. Returns once
    /// every request sent is answered: what the pacer did, and the answers in send order.
    pub async fn run(
        &self,
        schedule: Schedule,
        cap: usize,
        start: Instant,
        call: Call,
    ) -> Result<(Vec<Dispatch>, Vec<Answer>), String> {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let (handle, client) = (self.handle.clone(), Arc::clone(&self.client));
        std::thread::Builder::new()
            .name("generator-pacer".into())
            .spawn(move || {
                pacing::urgent_thread();
                let mut tasks = Vec::new();
                let dispatched = pace(&schedule, cap, &in_flight, &mut RealClock(start), |k| {
                    in_flight.fetch_add(1, Ordering::AcqRel);
                    let scheduled = start + schedule.offset(k);
                    let (call, client) = (Arc::clone(&call), Arc::clone(&client));
                    let in_flight = Arc::clone(&in_flight);
                    tasks.push(handle.spawn(async move {
                        // Lateness ends when the request is issued: on the task's first poll,
                        // right before the client writes it.
                        let late = scheduled.elapsed();
                        let (status, error) = call(client).await;
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                        Answer {
                            late,
                            latency: scheduled.elapsed(),
                            status,
                            error,
                        }
                    }));
                });
                let _ = done_tx.send((dispatched, tasks));
            })
            .map_err(|e| format!("generator: cannot start its pacing thread: {e}"))?;
        let (dispatched, tasks) = done_rx
            .await
            .map_err(|_| "generator: its pacing thread failed".to_owned())?;
        let mut answers = Vec::with_capacity(tasks.len());
        for task in tasks {
            answers.push(
                task.await
                    .map_err(|e| format!("generator: a request's task failed: {e}"))?,
            );
        }
        Ok((dispatched, answers))
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback server answering every request with 200 at once, a thread per connection.
    fn fake_server() -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while let Ok(read) = conn.read(&mut chunk) {
                        if read == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..read]);
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if conn.write_all(answer).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        format!("http://{addr}/health")
    }

    /// Every request of a modest schedule is sent and answered, in order, and the generator
    /// keeps it: lateness p50 far below the 1 ms the rate experiment allows at p99 (a wide
    /// margin on a shared machine: the old hand-off missed 1 ms at p99 at 250/s).
    #[test]
    fn the_generator_keeps_a_modest_schedule() {
        let url = fake_server();
        let factory: ClientFactory =
            Arc::new(|| crate::client::ClientKind::Reqwest.build(Duration::from_secs(5), 64));
        let generator = Generator::start(factory).expect("generator");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let call: Call = Arc::new(move |client| {
            let url = url.clone();
            Box::pin(async move {
                match super::super::http::timed_get(&*client, &url, Duration::from_secs(5))
                    .await
                    .1
                {
                    Ok(r) => (Some(r.status), None),
                    Err(e) => (None, Some(e)),
                }
            })
        });
        // 500 requests/s for 0.4 s.
        let schedule = Schedule::new(500.0, Duration::ZERO, Duration::from_millis(400));
        let start = Instant::now() + Duration::from_millis(5);
        let (dispatched, answers) = rt
            .block_on(generator.run(schedule, 1024, start, call))
            .expect("run");
        assert_eq!(dispatched.len(), 200);
        assert!(
            dispatched
                .iter()
                .enumerate()
                .all(|(k, d)| *d == Dispatch::Sent { k: k as u64 })
        );
        assert_eq!(answers.len(), 200);
        assert!(answers.iter().all(|a| a.status == Some(200)), "{answers:?}");
        let mut late: Vec<Duration> = answers.iter().map(|a| a.late).collect();
        late.sort();
        assert!(
            late[100] < Duration::from_millis(1),
            "lateness p50 {:?}",
            late[100]
        );
        assert!(answers.iter().all(|a| a.latency >= a.late));
    }
}
