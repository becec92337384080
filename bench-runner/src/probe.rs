//! The open-loop `/health` probe: "while this batch runs, how long does anyone else wait?"
//!
//! It runs on an OS thread of its own, with its own current-thread tokio runtime and its own
//! HTTP client (hence its own connection), started and connected *before* the batch's clock
//! starts. Nothing of the batch (its tasks, its client, bench-runner's worker threads) can
//! delay a probe from inside bench-runner, and what lateness remains is measured and recorded
//! apart from the server's share:
//!
//! ```text
//!   scheduled ──queued──▶ previous answer ──harness_late──▶ sent ──answer──▶ answered
//! ```
//!
//! - `queued`: the previous probe had not been answered at this probe's scheduled time (one
//!   connection, one probe at a time). Charged to the server: this is wrk2's correction for
//!   coordinated omission, which makes a stall count in full.
//! - `harness_late`: from the moment the probe could have been sent (its schedule, or the
//!   previous answer) until it was: the probe thread's own wake-up lateness. Charged to the
//!   harness, recorded separately, never in the probe's latency.
//! - `answer`: send to the last byte of the answer (client, loopback and server).
//!
//! A probe's latency is `queued + answer`. A probe that got no answer (timeout, reset) is
//! recorded with its error; the summary counts it at no less than the timeout.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use conformance::{ClientError, HttpClient};

/// Makes the probe's client, on the probe's own thread (reqwest binds its connections to the
/// runtime that drives them, so the client must live where the probe runs).
pub type ClientFactory =
    Arc<dyn Fn() -> Result<Arc<dyn HttpClient>, ClientError> + Send + Sync + 'static>;

/// One `/health` probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRecord {
    /// Sequence number in its round, from 0; scheduled at `index × interval`.
    pub index: u64,
    /// Its scheduled send time, from the batch's start.
    pub scheduled_offset: Duration,
    /// From its scheduled time until the previous probe's answer (zero if that came first).
    pub queued: Duration,
    /// From when it could have been sent until it was: the harness's own lateness.
    pub harness_late: Duration,
    /// Send to the last byte of the answer, or to the error.
    pub answer: Duration,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Timeout or transport error.
    pub error: Option<String>,
}

impl ProbeRecord {
    /// What the server is charged with: `queued + answer` (the harness's lateness left out).
    pub fn latency(&self) -> Duration {
        self.queued + self.answer
    }

    /// The latency a summary counts: at least `timeout` for a probe that got no answer (the
    /// worst stall there is must not vanish from the figures).
    pub fn counted_latency(&self, timeout: Duration) -> Duration {
        match self.error {
            Some(_) => self.latency().max(timeout),
            None => self.latency(),
        }
    }
}

/// The times of one probe, and how they split (see the module doc).
fn split(
    scheduled: Instant,
    previous_answer: Option<Instant>,
    sent: Instant,
    answered: Instant,
) -> (Duration, Duration, Duration) {
    let free = previous_answer.map_or(scheduled, |p| p.max(scheduled));
    (
        free.saturating_duration_since(scheduled),
        sent.saturating_duration_since(free),
        answered.saturating_duration_since(sent),
    )
}

/// Scheduled offset of probe `k`: `k × interval`, saturating.
pub fn scheduled_offset(interval: Duration, k: u64) -> Duration {
    let nanos = interval.as_nanos().saturating_mul(u128::from(k));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// What a probe thread needs to know.
#[derive(Clone)]
pub struct ProbeConfig {
    /// `http://HOST:PORT/health`.
    pub url: String,
    /// Time between scheduled sends.
    pub interval: Duration,
    /// Timeout of each probe.
    pub timeout: Duration,
    /// The probe's client maker.
    pub client: ClientFactory,
}

impl std::fmt::Debug for ProbeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeConfig")
            .field("url", &self.url)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A probe thread, connected and waiting for the batch's start ([`ReadyProbe::start`]).
#[derive(Debug)]
pub struct ReadyProbe {
    start: mpsc::Sender<Instant>,
    end: Arc<std::sync::Mutex<Option<Instant>>>,
    thread: std::thread::JoinHandle<Vec<ProbeRecord>>,
}

/// A probe thread that is sending; [`RunningProbe::finish`] ends it. Dropped unfinished (the
/// run was interrupted), it tells the thread to stop at its next schedule check.
#[derive(Debug)]
pub struct RunningProbe {
    end: Arc<std::sync::Mutex<Option<Instant>>>,
    thread: Option<std::thread::JoinHandle<Vec<ProbeRecord>>>,
}

/// Starts a probe thread, builds its runtime and client, and opens its connection with one
/// `GET /health`; returns once that answered, so the batch can start its clock.
pub fn prepare(config: ProbeConfig) -> Result<ReadyProbe, String> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (start_tx, start_rx) = mpsc::channel::<Instant>();
    let end = Arc::new(std::sync::Mutex::new(None));
    let end_seen = Arc::clone(&end);
    let thread = std::thread::Builder::new()
        .name("probe".into())
        .spawn(move || {
            let setup = || -> Result<_, String> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("probe: cannot build its runtime: {e}"))?;
                let client = (config.client)()
                    .map_err(|e| format!("probe: cannot build its client: {e}"))?;
                let opened = rt.block_on(get(&*client, &config.url, config.timeout));
                match opened {
                    Ok(200) => Ok((rt, client)),
                    Ok(status) => Err(format!("probe: /health answered {status} before the batch")),
                    Err(e) => Err(format!("probe: /health failed before the batch: {e}")),
                }
            };
            let (rt, client) = match setup() {
                Ok(ok) => {
                    let _ = ready_tx.send(Ok(()));
                    ok
                }
                Err(why) => {
                    let _ = ready_tx.send(Err(why));
                    return Vec::new();
                }
            };
            // The sender is dropped without a start when the batch is abandoned.
            let Ok(start) = start_rx.recv() else {
                return Vec::new();
            };
            run(&rt, &*client, &config, start, &end_seen)
        })
        .map_err(|e| format!("probe: cannot start its thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(ReadyProbe {
            start: start_tx,
            end,
            thread,
        }),
        Ok(Err(why)) => {
            let _ = thread.join();
            Err(why)
        }
        Err(_) => Err("probe: its thread ended before it was ready".into()),
    }
}

impl ReadyProbe {
    /// Starts sending on the schedule `start + k × interval`.
    pub fn start(self, start: Instant) -> RunningProbe {
        // If the thread is gone, finish() reports it.
        let _ = self.start.send(start);
        RunningProbe {
            end: self.end,
            thread: Some(self.thread),
        }
    }
}

impl RunningProbe {
    /// Tells the probe the batch ended at `end`: probes scheduled up to `end` are still sent
    /// (and awaited), none after. Blocks until the thread is done: call it from a blocking
    /// context.
    pub fn finish(mut self, end: Instant) -> Result<Vec<ProbeRecord>, String> {
        self.end_at(end);
        self.thread
            .take()
            .ok_or("probe: already finished")?
            .join()
            .map_err(|_| "probe: its thread panicked".to_owned())
    }

    fn end_at(&self, end: Instant) {
        self.end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(end);
    }
}

impl Drop for RunningProbe {
    fn drop(&mut self) {
        self.end_at(Instant::now());
    }
}

/// The schedule loop, on the probe's thread.
fn run(
    rt: &tokio::runtime::Runtime,
    client: &dyn HttpClient,
    config: &ProbeConfig,
    start: Instant,
    end: &std::sync::Mutex<Option<Instant>>,
) -> Vec<ProbeRecord> {
    let ended = || {
        *end.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let mut probes = Vec::new();
    let mut previous_answer: Option<Instant> = None;
    for k in 0u64.. {
        let scheduled = start + scheduled_offset(config.interval, k);
        // Sleep until the send time, waking at least every interval to see whether the batch
        // is over (then nothing scheduled after its end is sent).
        loop {
            if ended().is_some_and(|end| scheduled > end) {
                return probes;
            }
            let now = Instant::now();
            if now >= scheduled {
                break;
            }
            std::thread::sleep((scheduled - now).min(config.interval));
        }
        let sent = Instant::now();
        let result = rt.block_on(get(client, &config.url, config.timeout));
        let answered = Instant::now();
        let (queued, harness_late, answer) = split(scheduled, previous_answer, sent, answered);
        previous_answer = Some(answered);
        let (status, error) = match result {
            Ok(status) => (Some(status), None),
            Err(e) => (None, Some(e)),
        };
        probes.push(ProbeRecord {
            index: k,
            scheduled_offset: scheduled - start,
            queued,
            harness_late,
            answer,
            status,
            error,
        });
    }
    probes
}

/// One `GET`, bounded by `timeout` (bench-runner's one timed GET): the status, or why there is
/// none (`timeout`, `transport: …`).
async fn get(client: &dyn HttpClient, url: &str, timeout: Duration) -> Result<u16, String> {
    let (_, result) = crate::measure::timed_get(client, url, timeout).await;
    result.map(|r| r.status).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_split_between_server_and_harness() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Previous answer came before the schedule; sent 1 ms late; answered in 2 ms.
        assert_eq!(
            split(t0 + ms(10), Some(t0 + ms(5)), t0 + ms(11), t0 + ms(13)),
            (ms(0), ms(1), ms(2))
        );
        // Previous answer 7 ms after the schedule (queued), sent 0.5 ms after that.
        let (q, h, a) = split(
            t0 + ms(10),
            Some(t0 + ms(17)),
            t0 + Duration::from_micros(17_500),
            t0 + ms(20),
        );
        assert_eq!(
            (q, h, a),
            (
                ms(7),
                Duration::from_micros(500),
                Duration::from_micros(2_500)
            )
        );
        // The first probe has no previous one.
        assert_eq!(
            split(t0, None, t0 + ms(1), t0 + ms(2)),
            (ms(0), ms(1), ms(1))
        );
    }

    #[test]
    fn failed_probes_count_at_least_the_timeout() {
        let ms = Duration::from_millis;
        let mut p = ProbeRecord {
            index: 0,
            scheduled_offset: ms(0),
            queued: ms(3),
            harness_late: ms(100),
            answer: ms(4),
            status: Some(200),
            error: None,
        };
        assert_eq!(
            p.latency(),
            ms(7),
            "the harness's lateness is not the server's"
        );
        assert_eq!(p.counted_latency(ms(1000)), ms(7));
        p.status = None;
        p.error = Some("transport: reset".into());
        assert_eq!(p.counted_latency(ms(1000)), ms(1000));
        p.answer = ms(2000);
        assert_eq!(p.counted_latency(ms(1000)), ms(2003));
    }

    #[test]
    fn schedule_offsets() {
        let ms = Duration::from_millis;
        assert_eq!(scheduled_offset(ms(5), 0), Duration::ZERO);
        assert_eq!(scheduled_offset(ms(5), 3), ms(15));
        assert_eq!(
            scheduled_offset(Duration::MAX, 3),
            Duration::from_nanos(u64::MAX)
        );
    }

    fn reqwest() -> ClientFactory {
        Arc::new(|| crate::client::ClientKind::Reqwest.build(Duration::from_secs(1), 1))
    }

    /// A loopback server answering `GET /health` with 200 on keep-alive connections; the
    /// request numbered `stall_at` (from 0, over all connections) is answered after `stall`.
    fn fake_health(stall_at: usize, stall: Duration) -> String {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        let Ok(read) = conn.read(&mut chunk) else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..read]);
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..end + 4);
                            if seen.fetch_add(1, Ordering::SeqCst) == stall_at {
                                std::thread::sleep(stall);
                            }
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

    /// A stall of the server is charged to the server (answer, then queued for the probes
    /// due meanwhile), not to the harness; nothing scheduled after the end is sent.
    #[test]
    fn a_server_stall_is_charged_to_the_server() {
        let ms = Duration::from_millis;
        // Request 0 opens the connection; probe k is request k + 1: probe 3 stalls 60 ms.
        let url = fake_health(4, ms(60));
        let ready = prepare(ProbeConfig {
            url,
            interval: ms(5),
            timeout: Duration::from_secs(5),
            client: reqwest(),
        })
        .expect("ready");
        let start = Instant::now();
        let running = ready.start(start);
        std::thread::sleep(ms(150));
        let end = Instant::now();
        let probes = running.finish(end).expect("probes");
        let due = (end - start).as_millis() / 5 + 1;
        assert!(
            probes.len() >= 10 && probes.len() as u128 <= due,
            "{} of {due}",
            probes.len()
        );
        for (i, p) in probes.iter().enumerate() {
            assert_eq!(p.index, i as u64);
            assert_eq!(p.scheduled_offset, ms(5 * i as u64));
            assert!(p.scheduled_offset <= end - start);
            assert_eq!((p.status, &p.error), (Some(200), &None), "{p:?}");
        }
        let stalled = &probes[3];
        assert!(stalled.answer >= ms(60), "{stalled:?}");
        // Probes 4.. were due while probe 3 hung: their wait is queued, not harness lateness.
        let next = &probes[4];
        assert!(next.queued >= ms(40), "{next:?}");
        assert!(next.latency() >= ms(40), "{next:?}");
        for p in &probes {
            // Wide margin: a loaded machine may wake the thread late, but not by a stall's worth.
            assert!(p.harness_late < ms(40), "{p:?}");
        }
    }

    /// Nobody listens: the probe is not ready, and says why.
    #[test]
    fn a_probe_that_cannot_connect_is_not_ready() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let why = prepare(ProbeConfig {
            url: format!("http://127.0.0.1:{port}/health"),
            interval: Duration::from_millis(10),
            timeout: Duration::from_secs(1),
            client: reqwest(),
        })
        .expect_err("nobody listens");
        assert!(why.contains("before the batch"), "{why}");
    }
}
