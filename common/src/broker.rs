//! The servers' bridge to the `/queue` broker (Redis), usable from any runtime.
//!
//! # How it is built, and why
//! The `redis` crate's async connections need tokio (its `tokio-comp` IO), and our servers run
//! four different executors. Rather than a client per runtime, [`Broker::connect`] starts one
//! dedicated OS thread, `queue-broker`, running a current-thread tokio runtime that owns the
//! connections. A handler hands it the work as a task (`Handle::spawn` works from any thread)
//! and awaits the answer on a `tokio::sync::oneshot` receiver: a plain future that needs no
//! tokio runtime to be polled, so the same code serves tokio, async-std, smol and actix, and no
//! executor thread is held while Redis answers (or while `?wait=true` waits).
//!
//! - Commands go through one `ConnectionManager` (multiplexed: many requests in flight on one
//!   TCP connection, pipelined), which reconnects by itself after the broker went away; each
//!   call is bounded by [`CALL_TIMEOUT`], so a lost broker answers `503 broker_unavailable`
//!   quickly, and the server keeps serving everything else.
//! - Completions arrive on a pub/sub subscription (the channel [`crate::queue::Keys::done`]),
//!   held by a task that resubscribes whenever the connection drops. A waiter registers before
//!   it reads the job, so a completion in between is not missed; it also reads the job again
//!   every [`RECHECK`], so a message lost while pub/sub reconnected delays it, never strands it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::oneshot;
use tokio_sync as tokio;

use crate::queue::{self, BrokerUrl, JobRecord, Keys};

/// The longest one call to the broker may take before the request is answered 503.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a `?wait=true` waiter reads its job again, whatever pub/sub says.
pub const RECHECK: Duration = Duration::from_secs(1);
/// How long connecting may take at start-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a call to the broker failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker answered with an error, or the connection failed.
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    /// No answer in time.
    #[error("no answer from the broker within {0:?}")]
    Timeout(Duration),
    /// The bridge's thread could not start, or stopped.
    #[error("the broker bridge is not running: {0}")]
    Bridge(String),
}

type Waiters = Mutex<HashMap<u64, Vec<oneshot::Sender<()>>>>;

/// A connection to the broker, shared by every handler of a server.
#[derive(Debug)]
pub struct Broker {
    url: BrokerUrl,
    keys: Keys,
    runtime: tokio::runtime::Handle,
    conn: ConnectionManager,
    waiters: Arc<Waiters>,
}

impl Broker {
    /// Starts the bridge thread and connects to `url`; the jobs go to the queue of `kernel`.
    /// Fails if the broker cannot be reached now (a server refuses to start then: a broker
    /// named on the command line is expected to be there).
    pub fn connect(url: &BrokerUrl, kernel: &str) -> Result<Broker, BrokerError> {
        let client = url.client()?;
        let keys = Keys::for_kernel(kernel);
        let (tx, rx) = std::sync::mpsc::channel();
        let connecting = client.clone();
        std::thread::Builder::new()
            .name("queue-broker".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(BrokerError::Bridge(e.to_string())));
                        return;
                    }
                };
                let connected = runtime.block_on(async {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(Duration::from_secs(1)))
                        .set_response_timeout(Some(CALL_TIMEOUT))
                        .set_number_of_retries(1)
                        .set_max_delay(Duration::from_millis(500));
                    tokio::time::timeout(
                        CONNECT_TIMEOUT,
                        ConnectionManager::new_with_config(connecting, config),
                    )
                    .await
                    .map_err(|_| BrokerError::Timeout(CONNECT_TIMEOUT))?
                    .map_err(BrokerError::from)
                });
                let ok = connected.is_ok();
                let _ = tx.send(connected.map(|c| (runtime.handle().clone(), c)));
                if ok {
                    // Runs the tasks handlers spawn, for the life of the process.
                    runtime.block_on(std::future::pending::<()>());
                }
            })
            .map_err(|e| BrokerError::Bridge(e.to_string()))?;
        let (runtime, conn) = rx
            .recv()
            .map_err(|_| BrokerError::Bridge("its thread exited".into()))??;
        let waiters = Arc::new(Waiters::default());
        runtime.spawn(listen(client, keys.done.clone(), Arc::clone(&waiters)));
        Ok(Broker {
            url: url.clone(),
            keys,
            runtime,
            conn,
            waiters,
        })
    }

    /// The broker's URL (password redacted when shown).
    pub fn url(&self) -> &BrokerUrl {
        &self.url
    }

    /// Queues a job of size `n`: its id, or `None` when `max_queue` jobs are queued or running.
    pub async fn enqueue(&self, n: u64, max_queue: usize) -> Result<Option<u64>, BrokerError> {
        let (mut conn, keys) = (self.conn.clone(), self.keys.clone());
        self.call(async move { Ok(queue::enqueue(&mut conn, &keys, n, max_queue).await?) })
            .await
    }

    /// Job `id` (`None` if unknown or expired); with `wait`, once it is finished.
    pub async fn status(&self, id: u64, wait: bool) -> Result<Option<JobRecord>, BrokerError> {
        let (mut conn, keys) = (self.conn.clone(), self.keys.clone());
        if !wait {
            return self
                .call(async move { Ok(queue::fetch(&mut conn, &keys, id).await?) })
                .await;
        }
        let waiters = Arc::clone(&self.waiters);
        let (tx, rx) = oneshot::channel();
        self.runtime.spawn(async move {
            let mut tx = tx;
            let answer = loop {
                // Listen first, then look: a completion in between wakes `done`.
                let (wake, done) = oneshot::channel();
                lock(&waiters).entry(id).or_default().push(wake);
                let record = match bounded(queue::fetch(&mut conn, &keys, id)).await {
                    Ok(r) => r,
                    Err(e) => break Err(e),
                };
                match record {
                    Some(r) if !r.finished() => {}
                    other => break Ok(other),
                }
                tokio::select! {
                    _ = done => {}
                    () = tokio::time::sleep(RECHECK) => {}
                    // The client went away: stop waiting for it.
                    () = tx.closed() => return,
                }
            };
            lock(&waiters).remove(&id);
            let _ = tx.send(answer);
        });
        rx.await
            .map_err(|_| BrokerError::Bridge("the waiting task was dropped".into()))?
    }

    /// Runs `f` on the bridge's runtime, bounded by [`CALL_TIMEOUT`], and awaits its answer.
    async fn call<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, BrokerError>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(bounded(f).await);
        });
        rx.await
            .map_err(|_| BrokerError::Bridge("the call was dropped".into()))?
    }
}

async fn bounded<T, E: Into<BrokerError>>(
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(BrokerError::Timeout(CALL_TIMEOUT)),
    }
}

/// Holds the subscription to `channel`, waking the waiters of each finished job; when the
/// connection drops, wakes every waiter (each reads its job again) and resubscribes.
async fn listen(client: redis::Client, channel: String, waiters: Arc<Waiters>) {
    loop {
        if let Ok(mut pubsub) = client.get_async_pubsub().await
            && pubsub.subscribe(&channel).await.is_ok()
        {
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                let id = msg
                    .get_payload::<String>()
                    .ok()
                    .and_then(|p| p.parse().ok());
                if let Some(list) = id.and_then(|id| lock(&waiters).remove(&id)) {
                    for w in list {
                        let _ = w.send(());
                    }
                }
            }
        }
        let all: Vec<_> = lock(&waiters).drain().flat_map(|(_, l)| l).collect();
        for w in all {
            let _ = w.send(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
