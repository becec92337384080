//! The open-loop generator of the rate experiment (and of `generator-ceiling`): one thread,
//! made real-time, running a current-thread runtime of its own with its own client and
//! connections; the schedule is kept on that runtime, and each request is written there.
//!
//! ```text
//!   generator thread (SCHED_FIFO, current-thread runtime, own client and connections)
//!     pacing task: Pacer::next ── due ──▶ spawns request k's task (lateness read on its first
//!        │                                poll, right before the client writes it)
//!        └── nothing due: waits on a timer fd in the runtime's reactor (precise, no spin)
//! ```
//!
//! Two designs came before, and the machine defeated both. Handing each request to
//! bench-runner's multi-thread runtime had it wait for a parked worker and for tokio's 1 ms
//! timer: lateness p99 1.71 ms at 250 requests/s. A pacing thread of its own (nice -10, sleep
//! then a 100 µs spin) spawning onto this runtime kept 4,000 requests/s at most (wrk: 70,000 on
//! the same server): the spin took a core whenever the intervals were short, every send woke
//! the runtime's thread across threads, and under the server's load the scheduler woke the
//! nice -10 threads milliseconds late (132 of 184 rate steps behind). Now one thread both
//! paces and sends, sleeps in the reactor between sends, and preempts the server's threads
//! when a send is due ([`pacing::realtime_thread`]). Lateness is still measured, never
//! assumed: a step whose lateness p99 is above the rate experiment's limit is flagged.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use conformance::HttpClient;

use super::http::RequestError;
use super::pacing::{self, Dispatch, Next, Pacer, PreciseTimer, Schedule, Urgency};
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

/// Most connections the generator's client opens to a server (its `connections`): a request
/// due while all are busy waits for one, its wait counted in its latency, as behind a proxy's
/// pool. Without a bound, a server whose executor was busy (a current-thread runtime running
/// kernels inline) accepted nothing while the generator kept opening connections for its
/// backlog: past the listen queue the kernel dropped them, and the retries after its 1 s timer
/// made the step's p99 read 1 s. 64, as wrk's `-c64`: below the listen queue of 128 that std
/// and mio (so tokio) give every server here.
pub const CONNECTIONS: usize = 64;

/// The generator's resolution: it wakes at most this often, and sends every request due by
/// then at once. Below it a wake-up per request cost more than the request: in this VM the
/// timer's interrupt, the switch to the thread and the reactor's poll took the thread's CPU
/// per request from about 36 to 55 µs (real-time, waking on time, against nice -10, waking
/// late and sending many at once), and the one thread ran out of CPU below 24,000
/// requests/s. A request is then up to this much later than its time; lateness is measured
/// all the same. The rate experiment's steps, a few thousand requests a second at most here,
/// are spaced wider than this and never share a wake-up.
pub const RESOLUTION: Duration = Duration::from_micros(100);

/// When to wake for a request due at `due`, the thread having last woken at `woke`: not
/// before `due`, nor within [`RESOLUTION`] of the last wake-up.
fn wake_at(due: Instant, woke: Instant) -> Instant {
    due.max(woke + RESOLUTION)
}

/// The generator's thread with its current-thread runtime and its client; started once and
/// reused for every step. Dropped, it tells the thread to end (requests still in flight are
/// dropped with its runtime).
pub struct Generator {
    handle: tokio::runtime::Handle,
    client: Arc<dyn HttpClient>,
    urgency: Urgency,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("urgency", &self.urgency)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// Starts the thread, made as urgent as it may be ([`pacing::realtime_thread`]), builds
    /// its runtime and, inside it, the generator's client.
    pub fn start(factory: ClientFactory) -> Result<Generator, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || {
                let urgency = pacing::realtime_thread();
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
                let _ = ready_tx.send(client.map(|c| (rt.handle().clone(), c, urgency)));
                // Runs the spawned requests until told to stop (or the Generator is gone).
                rt.block_on(async move {
                    let _ = stop_rx.await;
                });
            })
            .map_err(|e| format!("generator: cannot start its thread: {e}"))?;
        let (handle, client, urgency) = ready_rx
            .recv()
            .map_err(|_| "generator: its thread ended before it was ready".to_owned())??;
        Ok(Generator {
            handle,
            client,
            urgency,
            stop: Some(stop_tx),
        })
    }

    /// How urgent its thread could be made (real-time needs root or CAP_SYS_NICE).
    pub fn urgency(&self) -> Urgency {
        self.urgency
    }

    /// Keeps `schedule` from `start` on the generator's runtime ([`keep`]): request k's task
    /// makes `call` with the generator's client at its time, unless `cap` requests are in
    /// flight. Returns once every request sent is answered: what the pacer did, and the
    /// answers in send order.
    pub async fn run(
        &self,
        schedule: Schedule,
        cap: usize,
        start: Instant,
        call: Call,
    ) -> Result<(Vec<Dispatch>, Vec<Answer>), String> {
        let client = Arc::clone(&self.client);
        self.handle
            .spawn(keep(schedule, cap, start, call, client))
            .await
            .map_err(|e| format!("generator: its pacing task failed: {e}"))?
    }
}

/// The pacing task, on the generator's runtime: spawns each request when due, waits on a
/// [`PreciseTimer`] while none is, then collects the answers.
async fn keep(
    schedule: Schedule,
    cap: usize,
    start: Instant,
    call: Call,
    client: Arc<dyn HttpClient>,
) -> Result<(Vec<Dispatch>, Vec<Answer>), String> {
    let timer = PreciseTimer::new().map_err(|e| format!("generator: no timer: {e}"))?;
    // Constant intervals: the timer ticks on the schedule by itself, at most every RESOLUTION.
    let ticking = schedule.interval().is_some();
    if let Some(interval) = schedule.interval() {
        timer
            .tick_every(start, interval.max(RESOLUTION))
            .map_err(|e| format!("generator: its timer failed: {e}"))?;
    }
    let mut woke = start;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut pacer = Pacer::new(&schedule, cap);
    let mut dispatched = Vec::with_capacity(usize::try_from(schedule.len()).unwrap_or(0));
    let mut tasks = Vec::with_capacity(dispatched.capacity());
    loop {
        match pacer.next(start.elapsed(), in_flight.load(Ordering::Acquire)) {
            Next::WaitUntil(at) => {
                let until = if ticking {
                    start + at
                } else {
                    wake_at(start + at, woke)
                };
                timer
                    .sleep_until(until)
                    .await
                    .map_err(|e| format!("generator: its timer failed: {e}"))?;
                woke = Instant::now();
            }
            Next::Send(k) => {
                in_flight.fetch_add(1, Ordering::AcqRel);
                let scheduled = start + schedule.offset(k);
                let (call, client) = (Arc::clone(&call), Arc::clone(&client));
                let in_flight = Arc::clone(&in_flight);
                tasks.push(tokio::spawn(async move {
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
                // Behind its schedule the pacer spawns every request due before it waits; the
                // runtime then runs their tasks in order, and each reads its own lateness.
                dispatched.push(Dispatch::Sent { k });
            }
            Next::Refuse { k, late } => dispatched.push(Dispatch::Refused { k, late }),
            Next::Done => break,
        }
    }
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(
            task.await
                .map_err(|e| format!("generator: a request's task failed: {e}"))?,
        );
    }
    Ok((dispatched, answers))
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

    #[test]
    fn wake_ups_are_a_resolution_apart_and_never_early() {
        let woke = Instant::now();
        // Due long after the last wake-up: at its time.
        let due = woke + RESOLUTION * 3;
        assert_eq!(wake_at(due, woke), due);
        // Due right after it: a resolution after it, late by less than a resolution.
        let soon = woke + RESOLUTION / 4;
        assert_eq!(wake_at(soon, woke), woke + RESOLUTION);
        assert!(wake_at(soon, woke) - soon < RESOLUTION);
        // Already due: still not within a resolution of the last wake-up.
        assert_eq!(wake_at(woke, woke), woke + RESOLUTION);
    }

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
            Arc::new(|| crate::client::ClientKind::Wire.build(Duration::from_secs(5), 64));
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
