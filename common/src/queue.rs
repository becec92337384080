//! The `/queue` protocol on Redis, written once for both sides: the servers put jobs on the
//! queue and read their status ([`crate::broker`] runs these calls for them), `queue-worker`
//! takes jobs, computes and stores results.
//!
//! # Keys (one set per kernel)
//! Every key starts with `queue:{kernel}:`, so a worker started with `--kernel sha256` only
//! ever takes jobs a server with the same kernel queued, and servers with different kernels can
//! share one broker.
//! - `…:stream`: a Redis Stream, one entry per job (`id`, `n`), read by the consumer group
//!   [`GROUP`]. An entry stays in the stream until its job is finished (the worker acks and
//!   deletes it), so the stream's length is the number of jobs queued or running: what the
//!   bound (`--max-queue`) is checked against, atomically with the add ([`enqueue`]).
//! - `…:next`: the last job id given out (`INCR`).
//! - `…:job:{id}`: a hash with `n`, `status` (`queued`, `running`, `done`, `failed`) and, once
//!   done, `total` and `compute_us`. Given an expiry (`--job-ttl`) when the job finishes.
//! - `…:done`: a pub/sub channel; the id of each finished job is published on it, which is what
//!   wakes `GET /queue/{id}?wait=true`.
//!
//! # Delivery: at least once, one answer
//! A worker reads new entries with `XREADGROUP` (the entry then sits in the group's pending list
//! under that worker's name). While it computes, it renews its claim every third of the lease
//! (`XCLAIM … JUSTID` with min-idle 0 resets the entry's idle time). A worker killed mid-job stops
//! renewing: once the entry has been idle for the lease, any worker takes it over with
//! `XAUTOCLAIM` before reading new entries, and computes it again. So a job is never lost while a
//! worker runs, and a long kernel is not taken twice merely for being long.
//!
//! A job may therefore be computed twice (a worker that was only slow, not dead). Completion is a
//! script ([`complete`]) that writes the result only if the job is not finished yet (a `SET NX`
//! on the status, in effect), then acks and deletes the entry: the first answer is the one
//! reported, and the job's status never changes once `done`. The kernels are deterministic, so a
//! second computation would give the same answer anyway.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};

/// The consumer group every worker reads with.
pub const GROUP: &str = "queue-workers";

/// The default lease of a taken job: renewed every third of it while the job runs; past it
/// without renewal, another worker takes the job over.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// Where the broker is: a `redis://HOST:PORT[/DB]` URL, checked when the command line is parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl(String);

impl BrokerUrl {
    /// Checks `s`: the `redis://` scheme (no TLS: `rediss://` needs a TLS stack, which we do not
    /// build), a host, and what the `redis` crate accepts.
    pub fn parse(s: &str) -> Result<BrokerUrl, String> {
        let example = "expected redis://HOST:PORT, e.g. redis://127.0.0.1:6379";
        let Some(rest) = s.strip_prefix("redis://") else {
            return Err(format!("{s:?} is not a redis:// URL ({example})"));
        };
        let host = rest.rsplit('@').next().unwrap_or(rest);
        let host = host.split('/').next().unwrap_or(host);
        if host.is_empty() || host.starts_with(':') {
            return Err(format!("{s:?} names no host ({example})"));
        }
        if let Some((_, port)) = host.rsplit_once(':')
            && !host.ends_with(']')
            && port.parse::<u16>().is_err()
        {
            return Err(format!(
                "{s:?}: the port {port:?} is not a number ({example})"
            ));
        }
        redis::Client::open(s).map_err(|e| format!("{s:?}: {e} ({example})"))?;
        Ok(BrokerUrl(s.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A client for it (no connection yet).
    pub fn client(&self) -> redis::RedisResult<redis::Client> {
        redis::Client::open(self.0.as_str())
    }

    /// Whether the broker answers `PING` within `timeout`: a one-off check on a connection of
    /// its own, opened and closed here (bench-runner's `--broker`, before it measures
    /// anything). The servers check theirs by connecting their bridge ([`crate::broker`]).
    pub fn ping(&self, timeout: Duration) -> redis::RedisResult<()> {
        let mut conn = self.client()?.get_connection_with_timeout(timeout)?;
        conn.set_read_timeout(Some(timeout))?;
        redis::cmd("PING").query::<String>(&mut conn).map(drop)
    }

    /// The URL without a password, for messages.
    pub fn redacted(&self) -> String {
        match self
            .0
            .strip_prefix("redis://")
            .and_then(|r| r.rsplit_once('@'))
        {
            Some((_, host)) => format!("redis://***@{host}"),
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for BrokerUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<BrokerUrl, String> {
        BrokerUrl::parse(s)
    }
}

/// The keys of one kernel's queue (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The stream of jobs queued or running.
    pub stream: String,
    /// The id counter.
    pub next: String,
    /// The prefix of the job hashes (`…:job:`).
    pub job_prefix: String,
    /// The channel finished job ids are published on.
    pub done: String,
}

impl Keys {
    /// The keys of the queue of jobs for `kernel`.
    pub fn for_kernel(kernel: &str) -> Keys {
        let base = format!("queue:{kernel}:");
        Keys {
            stream: format!("{base}stream"),
            next: format!("{base}next"),
            job_prefix: format!("{base}job:"),
            done: format!("{base}done"),
        }
    }

    /// The hash of job `id`.
    pub fn job(&self, id: u64) -> String {
        format!("{}{id}", self.job_prefix)
    }
}

/// A job as the broker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job's id.
    pub id: u64,
    /// Kernel size.
    pub n: u64,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// The kernel's answer, once done.
    pub total: Option<String>,
    /// Kernel time in µs, once done.
    pub compute_us: Option<u64>,
}

impl JobRecord {
    /// Whether the job is over (`done` or `failed`): its status will not change again.
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }

    /// From a job hash (`HGETALL`); `None` for an empty one (no such job, or expired).
    fn from_hash(id: u64, mut h: HashMap<String, String>) -> Option<JobRecord> {
        let status = h.remove("status")?;
        Some(JobRecord {
            id,
            n: h.get("n").and_then(|n| n.parse().ok()).unwrap_or(0),
            status,
            total: h.remove("total"),
            compute_us: h.get("compute_us").and_then(|c| c.parse().ok()),
        })
    }
}

/// A job a worker has taken off the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The stream entry's id (what is acked and renewed).
    pub entry: String,
    /// The job's id; `None` for an entry that is not a job of ours (dropped unanswered).
    pub id: Option<u64>,
    /// Kernel size.
    pub n: u64,
}

impl Taken {
    fn of(e: &StreamId) -> Taken {
        let field = |k: &str| e.get::<String>(k).and_then(|v| v.parse::<u64>().ok());
        Taken {
            entry: e.id.clone(),
            id: field("id"),
            n: field("n").unwrap_or(0),
        }
    }
}

/// How a taken job ended, as [`complete`] stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel's answer and how long it took.
    Done {
        /// The answer.
        total: String,
        /// Kernel time.
        compute: Duration,
    },
    /// The kernel panicked, or `n` is beyond what the worker's kernel accepts.
    Failed,
}

/// Puts a job on the queue (creating the stream and the group the first time): `Some(id)`, or
/// `None` when `max_queue` jobs are already queued or running (refused, nothing written).
static ENQUEUE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS[1] stream, KEYS[2] id counter
-- ARGV[1] most jobs queued or running, ARGV[2] n, ARGV[3] job key prefix, ARGV[4] group
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[4], '0', 'MKSTREAM')
end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', ARGV[3] .. id, 'n', ARGV[2], 'status', 'queued')
redis.call('XADD', KEYS[1], '*', 'id', id, 'n', ARGV[2])
return id
",
    )
});

/// Marks a job running, unless it is already further along.
static START: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running')
end
return 0
",
    )
});

/// Stores a result unless the job already has one, then acks and deletes the entry; publishes
/// the id when this was the first answer. Returns 1 for the first answer, 0 for a repeat.
static COMPLETE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS[1] stream, KEYS[2] job hash
-- ARGV[1] group, ARGV[2] entry, ARGV[3] 'done' or 'failed', ARGV[4] total, ARGV[5] compute_us,
-- ARGV[6] ttl (s), ARGV[7] channel, ARGV[8] job id, ARGV[9] n
local first = 0
local st = redis.call('HGET', KEYS[2], 'status')
if st ~= 'done' and st ~= 'failed' then
  if ARGV[3] == 'done' then
    redis.call('HSET', KEYS[2], 'n', ARGV[9], 'status', 'done', 'total', ARGV[4], 'compute_us', ARGV[5])
  else
    redis.call('HSET', KEYS[2], 'n', ARGV[9], 'status', 'failed')
  end
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  first = 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if first == 1 then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
return first
",
    )
});

/// Server side: queues a job of size `n`; `None` when the queue is full.
pub async fn enqueue<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    n: u64,
    max_queue: usize,
) -> redis::RedisResult<Option<u64>> {
    let id: i64 = ENQUEUE
        .key(&keys.stream)
        .key(&keys.next)
        .arg(max_queue)
        .arg(n)
        .arg(&keys.job_prefix)
        .arg(GROUP)
        .invoke_async(conn)
        .await?;
    Ok(u64::try_from(id).ok())
}

/// Server side: job `id` as the broker holds it; `None` if unknown or expired.
pub async fn fetch<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    id: u64,
) -> redis::RedisResult<Option<JobRecord>> {
    let hash: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(keys.job(id))
        .query_async(conn)
        .await?;
    Ok(JobRecord::from_hash(id, hash))
}

/// Worker side: creates the stream and the group if they do not exist (a broker restarted
/// without persistence has neither).
pub async fn ensure_group<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// Worker side: takes over one job whose entry has been idle for `lease` (its worker died).
pub async fn reclaim<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    consumer: &str,
    lease: Duration,
) -> redis::RedisResult<Option<Taken>> {
    let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
        .arg(&keys.stream)
        .arg(GROUP)
        .arg(consumer)
        .arg(millis(lease))
        .arg("0-0")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(reply.claimed.first().map(Taken::of))
}

/// Worker side: waits up to `block` for new jobs and takes up to `count` of them (as many as
/// the worker has free threads: one read, not one per job, when a burst arrives).
pub async fn read_new<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    consumer: &str,
    count: usize,
    block: Duration,
) -> redis::RedisResult<Vec<Taken>> {
    read_group(conn, keys, consumer, count, Some(block), ">").await
}

/// Worker side: the entries `consumer` holds in the group's pending list (read, not yet acked),
/// at most `count`, oldest first. A stopping worker looks here before it exits: whatever is
/// left is work handed to it that it must finish (or report), not leave for a lease to expire.
pub async fn read_own<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    consumer: &str,
    count: usize,
) -> redis::RedisResult<Vec<Taken>> {
    // ID 0 instead of `>`: this consumer's own pending history, not new entries; no BLOCK.
    read_group(conn, keys, consumer, count, None, "0").await
}

/// `XREADGROUP` for `consumer` from `from` (`>`: new entries; `0`: its own pending ones), at
/// most `count`, waiting up to `block` if given.
async fn read_group<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    consumer: &str,
    count: usize,
    block: Option<Duration>,
    from: &str,
) -> redis::RedisResult<Vec<Taken>> {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP")
        .arg(GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(count.max(1));
    if let Some(block) = block {
        cmd.arg("BLOCK").arg(millis(block));
    }
    let reply: Option<StreamReadReply> = cmd
        .arg("STREAMS")
        .arg(&keys.stream)
        .arg(from)
        .query_async(conn)
        .await?;
    Ok(reply.map_or_else(Vec::new, |r| {
        r.keys
            .into_iter()
            .flat_map(|k| k.ids)
            .map(|e| Taken::of(&e))
            .collect()
    }))
}

/// Worker side: how many entries `consumer` owns in the group's pending list (`XPENDING` for
/// that consumer, counted up to 1000).
pub async fn pending_for<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    consumer: &str,
) -> redis::RedisResult<usize> {
    let entries: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg(&keys.stream)
        .arg(GROUP)
        .arg("-")
        .arg("+")
        .arg(1000)
        .arg(consumer)
        .query_async(conn)
        .await?;
    Ok(entries.len())
}

/// Worker side: marks the job running (its status only: it is already this worker's).
pub async fn start<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    id: u64,
) -> redis::RedisResult<()> {
    START.key(keys.job(id)).invoke_async(conn).await
}

/// Worker side: renews this worker's claim on `entry` (resets its idle time), so that a long
/// job is not taken over while it runs.
pub async fn renew<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    consumer: &str,
    entry: &str,
) -> redis::RedisResult<()> {
    let _: redis::Value = redis::cmd("XCLAIM")
        .arg(&keys.stream)
        .arg(GROUP)
        .arg(consumer)
        .arg(0)
        .arg(entry)
        .arg("JUSTID")
        .query_async(conn)
        .await?;
    Ok(())
}

/// Worker side: stores `outcome` for `job` unless it already has one, acks and deletes its
/// entry, and wakes the waiters. Returns whether this was the job's first answer.
pub async fn complete<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    job: &Taken,
    outcome: &Outcome,
    ttl: Duration,
) -> redis::RedisResult<bool> {
    let (status, total, compute_us) = match outcome {
        Outcome::Done { total, compute } => ("done", total.as_str(), micros(*compute)),
        Outcome::Failed => ("failed", "", 0),
    };
    let id = job.id.map_or_else(String::new, |id| id.to_string());
    let job_key = job
        .id
        .map_or_else(|| format!("{}-", keys.job_prefix), |id| keys.job(id));
    let first: i64 = COMPLETE
        .key(&keys.stream)
        .key(job_key)
        .arg(GROUP)
        .arg(&job.entry)
        .arg(status)
        .arg(total)
        .arg(compute_us)
        .arg(ttl.as_secs().max(1))
        .arg(&keys.done)
        .arg(id)
        .arg(job.n)
        .invoke_async(conn)
        .await?;
    Ok(first == 1)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_are_checked() {
        for good in [
            "redis://127.0.0.1:6379",
            "redis://localhost:1",
            "redis://localhost",
            "redis://:secret@127.0.0.1:6379/2",
        ] {
            assert!(BrokerUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1:6379",
            "http://127.0.0.1:6379",
            "rediss://127.0.0.1:6379",
            "redis://",
            "redis://:6379",
            "redis://127.0.0.1:port",
        ] {
            let e = BrokerUrl::parse(bad).expect_err(bad);
            assert!(e.contains("redis://HOST:PORT"), "{bad}: {e}");
        }
        let url = BrokerUrl::parse("redis://:secret@127.0.0.1:6379").expect("ok");
        assert_eq!(url.to_string(), "redis://***@127.0.0.1:6379");
        assert!(!format!("{url:?}").contains("secret"));
    }

    #[test]
    fn keys_are_per_kernel() {
        let k = Keys::for_kernel("sha256");
        assert_eq!(k.stream, "queue:sha256:stream");
        assert_eq!(k.job(7), "queue:sha256:job:7");
        assert_ne!(Keys::for_kernel("argon2").stream, k.stream);
    }

    #[test]
    fn job_records_parse_from_their_hash() {
        let h = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(JobRecord::from_hash(1, h(&[])), None);
        let queued =
            JobRecord::from_hash(2, h(&[("n", "10"), ("status", "queued")])).expect("record");
        assert!(!queued.finished());
        assert_eq!((queued.n, queued.total), (10, None));
        let done = JobRecord::from_hash(
            3,
            h(&[
                ("n", "10"),
                ("status", "done"),
                ("total", "285"),
                ("compute_us", "4"),
            ]),
        )
        .expect("record");
        assert!(done.finished());
        assert_eq!(
            (done.total.as_deref(), done.compute_us),
            (Some("285"), Some(4))
        );
    }
}
