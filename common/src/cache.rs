//! `/cached`: a bounded, concurrent cache of kernel answers keyed by (kernel, n), in front of
//! the CPU pool ([`crate::cpu_pool`]): the Python demo's third production answer
//! (`functools.lru_cache`), with what a plain LRU lacks: concurrent misses of one key are
//! computed **once**. Twenty identical requests at once are one kernel run and twenty answers.
//!
//! The map is `moka`'s `future::Cache` (TinyLFU admission, LRU eviction, a time-to-live):
//! its `try_get_with` coalesces concurrent calls on a key that is not there into one
//! evaluation of the first caller's future, the others waiting for its value. Since 0.12 it has
//! no background threads and no runtime of its own (its waits are `async-lock` and
//! `event-listener`, runtime-agnostic), so the same code runs on tokio, actix-rt, async-std and
//! smol; the conformance suite checks the coalescing on each of them.
//!
//! # Counting
//! Every answered lookup is exactly one of:
//! - a **hit**: the answer was in the cache when the request looked;
//! - a **miss**: it was not, and this request's computation ran (one kernel on the CPU pool):
//!   `misses` is the number of kernels computed;
//! - **coalesced**: it was not, and another request's computation answered it (one in
//!   progress, or one that finished between the look and the wait).
//!
//! # The bound
//! moka applies its bound (`--cache-capacity` entries) in maintenance passes, not at each
//! insert; [`ResultCache::get_or_compute`] runs one after each miss, so the entry count read
//! back after a miss is the bounded one ([`CacheStats::entries_peak`] is its maximum). One entry
//! holds the key (16 bytes and a pointer), the answer (a string: 21 digits for `sum-squares` at
//! 10^7, 64 hex digits for the hashes) and moka's own bookkeeping: about 200 bytes, so the
//! default 10,000 entries is about 2 MB.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What one lookup was ([`ResultCache::get_or_compute`]); the `cache` field of `/cached`'s body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// In the cache already.
    Hit,
    /// Computed by this request.
    Miss,
    /// Computed by another request while this one waited.
    Coalesced,
}

impl Lookup {
    /// Its name in the body (`hit`, `miss`, `coalesced`).
    pub const fn name(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Coalesced => "coalesced",
        }
    }
}

/// A cached answer: the kernel's result and how long its one computation took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The kernel's answer (the body's `total`).
    pub total: String,
    /// How long the computation that produced it took, µs.
    pub compute_us: u64,
}

/// The key: the kernel's name and `n` (a server runs one kernel, but the key says which).
type Key = (&'static str, u64);

/// The `/cached` cache and its counts.
#[derive(Debug)]
pub struct ResultCache {
    cache: moka::future::Cache<Key, Arc<Answer>>,
    capacity: u64,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    failed: AtomicU64,
    entries_peak: AtomicU64,
}

impl ResultCache {
    /// A cache of at most `capacity` answers, each kept `ttl` after it was computed.
    pub fn new(capacity: u64, ttl: Duration) -> ResultCache {
        ResultCache {
            cache: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            capacity,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            entries_peak: AtomicU64::new(0),
        }
    }

    /// The answer for (`kernel`, `n`): from the cache, or from `compute` (run by one caller
    /// only, however many ask for the key at once; the others wait for it, holding no thread).
    /// An error of `compute` is not cached: every caller waiting on it gets it, and the next
    /// request computes again.
    pub async fn get_or_compute<F, E>(
        &self,
        kernel: &'static str,
        n: u64,
        compute: F,
    ) -> Result<(Arc<Answer>, Lookup), Arc<E>>
    where
        F: Future<Output = Result<Answer, E>>,
        E: Send + Sync + 'static,
    {
        let key = (kernel, n);
        if let Some(answer) = self.cache.get(&key).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((answer, Lookup::Hit));
        }
        // Set only if moka runs this caller's future: then this request is the one computing.
        let mut ran = false;
        let init = async {
            ran = true;
            compute.await.map(Arc::new)
        };
        let result = self.cache.try_get_with(key, init).await;
        let lookup = if ran { Lookup::Miss } else { Lookup::Coalesced };
        match lookup {
            Lookup::Miss => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                // Apply the bound now (moka defers it to maintenance passes): the entry count
                // in /stats is then the bounded one.
                self.cache.run_pending_tasks().await;
                self.entries_peak
                    .fetch_max(self.cache.entry_count(), Ordering::Relaxed);
            }
            Lookup::Coalesced => {
                self.coalesced.fetch_add(1, Ordering::Relaxed);
            }
            Lookup::Hit => {}
        }
        if result.is_err() && ran {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        result.map(|answer| (answer, lookup))
    }

    /// The figures `/stats` reports.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            capacity: self.capacity,
            ttl_ms: u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX),
            entries: self.cache.entry_count(),
            entries_peak: self.entries_peak.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// `/cached`'s cache in `/stats`. Invariant: every `/cached` request that got past validation
/// is one of `hits`, `misses` or `coalesced`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct CacheStats {
    /// Most answers kept (`--cache-capacity`).
    pub capacity: u64,
    /// How long an answer is kept after it was computed, ms (`--cache-ttl`).
    pub ttl_ms: u64,
    /// Answers in the cache now (moka's count, as of its last maintenance pass, run after
    /// every miss).
    pub entries: u64,
    /// Most answers held after any miss so far: at most `capacity`.
    pub entries_peak: u64,
    /// Requests answered from the cache.
    pub hits: u64,
    /// Requests that computed their answer: the kernels computed.
    pub misses: u64,
    /// Requests answered by another request's computation, which they waited for.
    pub coalesced: u64,
    /// Misses whose kernel failed (panicked): answered 500, not cached. Should stay 0.
    pub failed: u64,
}

impl CacheStats {
    /// Requests counted: hits + misses + coalesced.
    pub fn lookups(&self) -> u64 {
        self.hits + self.misses + self.coalesced
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::block_on;

    fn answer(total: &str) -> Result<Answer, String> {
        Ok(Answer {
            total: total.into(),
            compute_us: 7,
        })
    }

    #[test]
    fn a_second_lookup_hits_and_another_n_misses() {
        let cache = ResultCache::new(10, Duration::from_secs(60));
        let first = block_on(cache.get_or_compute("k", 1, async { answer("one") }));
        let (a, lookup) = first.expect("computed");
        assert_eq!((a.total.as_str(), lookup), ("one", Lookup::Miss));
        let again = block_on(cache.get_or_compute("k", 1, async { answer("other") }));
        let (a, lookup) = again.expect("cached");
        assert_eq!((a.total.as_str(), lookup), ("one", Lookup::Hit));
        let other = block_on(cache.get_or_compute("k", 2, async { answer("two") }));
        assert_eq!(other.expect("computed").1, Lookup::Miss);
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.coalesced, s.failed), (1, 2, 0, 0));
        assert_eq!(s.entries, 2);
    }

    #[test]
    fn concurrent_misses_on_one_key_compute_once() {
        // Twenty callers on plain threads, each blocking on its own future: no runtime at all.
        let cache = Arc::new(ResultCache::new(10, Duration::from_secs(60)));
        let computed = Arc::new(AtomicU64::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(20));
        let threads: Vec<_> = (0..20)
            .map(|_| {
                let (cache, computed, barrier) = (
                    Arc::clone(&cache),
                    Arc::clone(&computed),
                    Arc::clone(&barrier),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    block_on(cache.get_or_compute("k", 5, async {
                        computed.fetch_add(1, Ordering::Relaxed);
                        // Long enough for every other caller to find the computation running.
                        std::thread::sleep(Duration::from_millis(300));
                        answer("five")
                    }))
                })
            })
            .collect();
        for t in threads {
            let (a, _) = t.join().expect("thread").expect("answer");
            assert_eq!(a.total, "five");
        }
        assert_eq!(computed.load(Ordering::Relaxed), 1);
        let s = cache.stats();
        assert_eq!((s.misses, s.lookups()), (1, 20));
    }

    #[test]
    fn a_failed_computation_is_not_cached() {
        let cache = ResultCache::new(10, Duration::from_secs(60));
        let failed =
            block_on(cache.get_or_compute("k", 1, async { Err::<Answer, String>("boom".into()) }));
        assert_eq!(failed.expect_err("failed").as_str(), "boom");
        let again = block_on(cache.get_or_compute("k", 1, async { answer("one") }));
        assert_eq!(again.expect("computed").1, Lookup::Miss);
        let s = cache.stats();
        assert_eq!((s.misses, s.failed), (2, 1));
    }

    #[test]
    fn the_bound_holds_under_distinct_keys() {
        let cache = ResultCache::new(8, Duration::from_secs(60));
        for n in 0..200 {
            let r = block_on(cache.get_or_compute("k", n, async move { answer(&n.to_string()) }));
            assert!(r.is_ok());
        }
        let s = cache.stats();
        assert!(s.entries <= 8 && s.entries_peak <= 8, "{s:?}");
        assert_eq!(s.misses, 200);
    }
}
