//! `/cached` in the batch experiment: which `n` each request asks for, and what the server's
//! cache did with them.
//!
//! A cache turns repeated requests into lookups, so the `n` a request asks for decides what is
//! measured. Every `n` here is the plan's `n` plus an offset (`n + 1`, `n + 2`, …), never
//! asked before on that pair ([`Keys`]): the work of `n + k` differs from `n`'s by `k` units,
//! nothing at `n = 10^7` iterations or bytes (for a kernel whose `n` is a few units, argon2's
//! one hash, it is not: docs/methodology.md says so). Two kinds of round ([`Mix`]):
//! - **identical** (the batch's own round): all C requests ask for one fresh `n`, so they miss
//!   together: the coalescing case (one kernel computed for C answers). Lone requests (T1) and
//!   calibration each ask for a fresh `n` too: T1 is a miss's time, as for `/rayon`.
//! - **hit ratio h** (`--cache-hit`): before the first such round of a visit, [`HOT_KEYS`]
//!   fresh `n` are computed (not measured); then each of the round's C requests asks, with
//!   probability h, for one of them (drawn uniformly: a hit), and otherwise for a fresh `n` of
//!   its own (a miss). The expected hit ratio is h; the draws come from `--seed`, the pass and
//!   h, so a run is repeatable. What is reported is the ratio the server counted (`/stats`'
//!   `cache`, read before and after the round), not h.

use std::time::Duration;

use common::cache::CacheStats;

use super::passes::SplitMix64;

/// How many fresh keys a pair may ask for over a run, at most: `/cached` is measured only where
/// `n` plus this stays within the kernel's default `--max-n`. A default run asks for about 520
/// (per pass: a calibration, the identical round, [`HOT_KEYS`] and the misses of four hit
/// ratios at C = 20). argon2's `n` is 1 hash and its `--max-n` 10: `make bench-argon2` failed on
/// `/cached` when the server refused `n = 11`, and each extra key would have added a whole hash.
pub const FRESH_KEYS: u64 = 1000;

/// Pre-computed `n` per visit that the hit-ratio rounds draw their hits from.
pub const HOT_KEYS: u64 = 4;

/// The fresh `n` of one pair: `base + 1`, `base + 2`, … in the order asked, never twice (a
/// pair's visits share it, so a key is not repeated across passes either).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keys {
    used: u64,
}

impl Keys {
    /// An `n` this pair has not asked for: `base` plus the next offset.
    pub fn fresh(&mut self, base: u64) -> u64 {
        self.used += 1;
        base.saturating_add(self.used)
    }
}

/// What a `/cached` round's requests ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mix {
    /// All C requests for one fresh `n`: the coalescing case (the batch's own round).
    Identical,
    /// Each request a pre-computed `n` with this probability, else a fresh one.
    HitRatio(f64),
}

impl Mix {
    /// Its name in cache.csv: `identical`, `hit_0.9`.
    pub fn name(self) -> String {
        match self {
            Mix::Identical => "identical".into(),
            Mix::HitRatio(h) => format!("hit_{h}"),
        }
    }

    /// The hit ratio asked (`None` for the identical mix: it asks for no hits, and coalesces).
    pub fn asked(self) -> Option<f64> {
        match self {
            Mix::Identical => None,
            Mix::HitRatio(h) => Some(h),
        }
    }
}

/// The `n` of each request of a hit-ratio round: `hot[j]` (j uniform) with probability
/// `hit`, else a fresh key. `seed` fixes the draws.
pub fn mix_keys(
    hit: f64,
    concurrency: usize,
    hot: &[u64],
    keys: &mut Keys,
    base: u64,
    seed: u64,
) -> Vec<u64> {
    let mut rng = SplitMix64::new(seed);
    (0..concurrency)
        .map(|_| {
            // 53 random bits: a uniform draw in [0, 1).
            let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            match hot.len() as u64 {
                count if count > 0 && u < hit => hot[rng.below(count) as usize],
                _ => keys.fresh(base),
            }
        })
        .collect()
}

/// The seed of one hit-ratio round's draws: the run's `--seed`, the pass and the ratio.
pub fn round_seed(seed: u64, pass: u32, hit: f64) -> u64 {
    seed ^ (u64::from(pass) << 32) ^ hit.to_bits()
}

/// What the server's cache counted over one round: the difference of two `/stats` readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheCounts {
    /// Answered from the cache.
    pub hits: u64,
    /// Computed: the kernels run.
    pub misses: u64,
    /// Answered by another request's computation.
    pub coalesced: u64,
}

impl CacheCounts {
    /// `after` − `before`.
    pub fn between(before: &CacheStats, after: &CacheStats) -> CacheCounts {
        CacheCounts {
            hits: after.hits.saturating_sub(before.hits),
            misses: after.misses.saturating_sub(before.misses),
            coalesced: after.coalesced.saturating_sub(before.coalesced),
        }
    }

    /// The sum of two counts.
    pub fn plus(self, other: CacheCounts) -> CacheCounts {
        CacheCounts {
            hits: self.hits + other.hits,
            misses: self.misses + other.misses,
            coalesced: self.coalesced + other.coalesced,
        }
    }

    /// hits ÷ lookups, `None` with no lookup.
    pub fn hit_ratio(self) -> Option<f64> {
        let lookups = self.hits + self.misses + self.coalesced;
        (lookups > 0).then(|| self.hits as f64 / lookups as f64)
    }
}

impl std::iter::Sum for CacheCounts {
    fn sum<I: Iterator<Item = CacheCounts>>(iter: I) -> CacheCounts {
        iter.fold(CacheCounts::default(), CacheCounts::plus)
    }
}

/// One `/cached` round: its mix, the server's counts (`None`: an external server, whose
/// `/stats` we do not read) and the figures cache.csv pools.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheRound {
    /// What its requests asked for.
    pub mix: Mix,
    /// The pass it ran in.
    pub pass: u32,
    /// What the cache counted.
    pub counts: Option<CacheCounts>,
    /// Batch start to the last answer.
    pub batch: Duration,
    /// Every request's latency (verified or not).
    pub latencies: Vec<Duration>,
    /// Requests that were not a verified answer.
    pub errors: usize,
    /// Every probe's latency as a summary counts it (no answer: at least the timeout).
    pub probes: Vec<Duration>,
    /// Probes that got no answer.
    pub probe_errors: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_above_the_base() {
        let mut k = Keys::default();
        assert_eq!((k.fresh(100), k.fresh(100), k.fresh(100)), (101, 102, 103));
    }

    #[test]
    fn the_mix_draws_hits_at_the_ratio_asked() {
        let hot = [1, 2, 3, 4];
        for hit in [0.0, 0.5, 0.9, 0.99] {
            let mut keys = Keys::default();
            let drawn = mix_keys(hit, 100_000, &hot, &mut keys, 1_000, round_seed(7, 1, hit));
            let hits = drawn.iter().filter(|n| hot.contains(n)).count();
            let ratio = hits as f64 / drawn.len() as f64;
            assert!((ratio - hit).abs() < 0.01, "{hit}: {ratio}");
            // Every other request asks for an n of its own.
            let mut misses: Vec<u64> = drawn.into_iter().filter(|n| !hot.contains(n)).collect();
            let count = misses.len();
            misses.dedup();
            assert_eq!(misses.len(), count);
        }
        let a = mix_keys(0.5, 20, &hot, &mut Keys::default(), 1_000, 5);
        let b = mix_keys(0.5, 20, &hot, &mut Keys::default(), 1_000, 5);
        assert_eq!(a, b, "the seed fixes the draws");
    }

    #[test]
    fn counts_are_differences_and_ratios() {
        let before = CacheStats {
            hits: 3,
            misses: 2,
            ..CacheStats::default()
        };
        let after = CacheStats {
            hits: 21,
            misses: 4,
            coalesced: 0,
            ..CacheStats::default()
        };
        let c = CacheCounts::between(&before, &after);
        assert_eq!((c.hits, c.misses, c.coalesced), (18, 2, 0));
        assert_eq!(c.hit_ratio(), Some(0.9));
        assert_eq!(CacheCounts::default().hit_ratio(), None);
        assert_eq!(Mix::HitRatio(0.9).name(), "hit_0.9");
    }
}
