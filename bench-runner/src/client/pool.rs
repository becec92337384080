//! The connection pool under the hyper and wire clients: per origin, idle connections reused
//! (the most recently used first), at most `max` open and at most [`MAX_CONNECTING`] being
//! opened; a request that finds none idle and no room waits for the first one freed or opened
//! (its wait is part of its latency, as a proxy's pool would make it).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use conformance::ClientError;

/// At most this many connections of one origin being opened at once. Without a bound, a
/// hiccup of a few milliseconds at 12,000 requests/s had every request in flight open a
/// connection of its own: a thousand connection attempts overflowed the server's accept queue
/// (`ListenOverflows`), the dropped ones were retried after the kernel's 1 s, and the latency
/// p99 of `/health` read 1 s.
pub const MAX_CONNECTING: usize = 4;

/// A pooled connection.
pub(super) trait Connection: Send {
    /// Whether the server closed it (or it broke) while it was idle: it is then dropped
    /// instead of lent.
    fn is_closed(&self) -> bool;
}

/// Connections of type `C`, per origin (`host:port`).
#[derive(Debug)]
pub(super) struct Pool<C> {
    max: usize,
    origins: Mutex<HashMap<String, Origin<C>>>,
    /// Told whenever a connection is given back, closed or opened, or an attempt fails.
    freed: tokio::sync::Notify,
}

/// One origin's idle connections (the most recently used last) and how many it has in all
/// (idle, in use or being opened) and being opened.
#[derive(Debug)]
struct Origin<C> {
    idle: Vec<C>,
    live: usize,
    connecting: usize,
}

impl<C> Default for Origin<C> {
    fn default() -> Self {
        Origin {
            idle: Vec::new(),
            live: 0,
            connecting: 0,
        }
    }
}

/// What a request gets from the pool.
enum Taken<C> {
    /// An idle connection.
    Idle(C),
    /// Room to open one.
    Open,
}

/// A connection lent to one request: given back when dropped if [`Lease::finish`] said its
/// answer was read whole and it is still open, else closed (and its place freed).
pub(super) struct Lease<'p, C: Connection> {
    pool: &'p Pool<C>,
    origin: &'p str,
    conn: Option<C>,
    reused: bool,
    done: bool,
}

impl<C: Connection> Lease<'_, C> {
    /// The connection.
    pub(super) fn conn(&mut self) -> Option<&mut C> {
        self.conn.as_mut()
    }

    /// Whether the connection had served a request before this one (a server may have closed
    /// it in the meantime, unseen).
    pub(super) fn reused(&self) -> bool {
        self.reused
    }

    /// Its answer was read whole and the server keeps it open: the connection can serve the
    /// next request.
    pub(super) fn finish(mut self) {
        self.done = true;
    }
}

impl<C: Connection> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        let mut origins = self.pool.origins();
        let o = origins.entry(self.origin.to_owned()).or_default();
        match self.conn.take() {
            Some(conn) if self.done && !conn.is_closed() => o.idle.push(conn),
            _ => o.live = o.live.saturating_sub(1),
        }
        drop(origins);
        self.pool.freed.notify_one();
    }
}

/// Closes the idle connections the servers closed, and forgets the origins left with none:
/// done when a new origin appears (bench-runner starts a fresh server for each visit, on a
/// new port). Without it the idle connections of every server visited stayed open, and a
/// whole run (~1,300 visits, up to 64 connections each) ran out of file descriptors.
fn sweep<C: Connection>(origins: &mut HashMap<String, Origin<C>>) {
    for o in origins.values_mut() {
        let before = o.idle.len();
        o.idle.retain(|c| !c.is_closed());
        o.live -= before - o.idle.len();
    }
    origins.retain(|_, o| o.live > 0);
}

impl<C: Connection> Pool<C> {
    /// A pool of at most `max` connections per origin (at least 1).
    pub(super) fn new(max: usize) -> Pool<C> {
        Pool {
            max: max.max(1),
            origins: Mutex::new(HashMap::new()),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn origins(&self) -> MutexGuard<'_, HashMap<String, Origin<C>>> {
        self.origins.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection to `origin`, or room to open one, as soon as there is either.
    async fn take(&self, origin: &str) -> Taken<C> {
        loop {
            // Registered before looking, so that a connection freed in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut origins = self.origins();
                if !origins.contains_key(origin) {
                    sweep(&mut origins);
                }
                let o = origins.entry(origin.to_owned()).or_default();
                while let Some(conn) = o.idle.pop() {
                    if !conn.is_closed() {
                        return Taken::Idle(conn);
                    }
                    // The server closed it while it was idle.
                    o.live -= 1;
                }
                if o.live < self.max && o.connecting < MAX_CONNECTING {
                    o.live += 1;
                    o.connecting += 1;
                    return Taken::Open;
                }
            }
            freed.await;
        }
    }

    /// An idle connection to `origin`, or a new one from `open`, lent to one request.
    pub(super) async fn lease<'p, F, Fut>(
        &'p self,
        origin: &'p str,
        open: F,
    ) -> Result<Lease<'p, C>, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, ClientError>>,
    {
        let mut lease = Lease {
            pool: self,
            origin,
            conn: None,
            reused: false,
            done: false,
        };
        match self.take(origin).await {
            Taken::Idle(conn) => {
                lease.conn = Some(conn);
                lease.reused = true;
            }
            Taken::Open => {
                // Counted in `live` from here: a failed attempt frees its place on drop.
                let opened = open().await;
                if let Some(o) = self.origins().get_mut(origin) {
                    o.connecting -= 1;
                }
                // Room for another attempt.
                self.freed.notify_one();
                lease.conn = Some(opened?);
            }
        }
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A connection whose server can close it, counting its drops (its fd closed).
    struct Fake {
        closed: Arc<AtomicBool>,
        dropped: Arc<AtomicUsize>,
    }

    impl Connection for Fake {
        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::SeqCst)
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Connections to a server that went away are closed when the next server's origin is
    /// first used, not kept until their own origin is asked for again (which never happens).
    #[tokio::test]
    async fn a_new_origin_closes_what_gone_servers_left_idle() {
        let pool: Pool<Fake> = Pool::new(8);
        let closed = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let open = || async {
            Ok(Fake {
                closed: Arc::clone(&closed),
                dropped: Arc::clone(&dropped),
            })
        };
        // Three connections to the first server, given back idle.
        let leases = [
            pool.lease("a:1", open).await.expect("a"),
            pool.lease("a:1", open).await.expect("a"),
            pool.lease("a:1", open).await.expect("a"),
        ];
        for lease in leases {
            lease.finish();
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        // The first server goes away: its connections read closed.
        closed.store(true, Ordering::SeqCst);
        let other = Arc::new(AtomicBool::new(false));
        let lease = pool
            .lease("b:2", || async {
                Ok(Fake {
                    closed: Arc::clone(&other),
                    dropped: Arc::new(AtomicUsize::new(0)),
                })
            })
            .await
            .expect("b");
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            3,
            "the gone server's connections"
        );
        assert!(!pool.origins().contains_key("a:1"));
        lease.finish();
        // A live origin's idle connections stay.
        assert_eq!(pool.origins().get("b:2").map(|o| o.idle.len()), Some(1));
    }
}
