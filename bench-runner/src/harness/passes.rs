//! The pass scheduler: every experiment's pairs are measured in passes, each pair one visit
//! per pass, in an order shuffled per pass from the run's seed.
//!
//! Why: this machine's speed drifts by 20 % and more from minute to minute. Pairs measured one
//! after another inherit that drift (a pair measured in a slow minute looks slow), and one
//! baseline called a 1.29× higher T1 "a runtime difference". In passes, a pair's rounds are
//! spread over the whole run and a slow minute falls on every pair alike; the shuffle keeps a
//! pair from always following the same neighbour (whose shutdown, say, could tax it). The
//! order is a pure function of (seed, pass, number of pairs): two runs with the same seed
//! visit the pairs in the same order, so they can be compared round for round.
//!
//! The shuffle is our own (Fisher–Yates over SplitMix64), not a crate's: its sequence is part
//! of the results' metadata and must not change with a dependency's version.

use std::time::{Duration, Instant};

/// The default `--seed`: fixed, so that two runs visit the pairs in the same order.
pub const DEFAULT_SEED: u64 = 1;

/// Where one visit sits in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The pass, from 1.
    pub pass: u32,
    /// The position in the pass's order, from 0.
    pub position: usize,
}

/// How a run's passes are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passes {
    /// How many (every pair gets one visit in each).
    pub count: u32,
    /// The seed of every pass's shuffle.
    pub seed: u64,
}

impl Passes {
    /// The order in which pass `pass` (from 1) visits `pairs` pairs: a permutation of
    /// `0..pairs`.
    pub fn order(&self, pass: u32, pairs: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..pairs).collect();
        let mut rng = SplitMix64(self.seed ^ u64::from(pass).wrapping_mul(0xA076_1D64_78BD_642F));
        // Fisher–Yates: each permutation equally likely.
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }

    /// Every visit of the run, in order: (slot, pair index).
    pub fn visits(&self, pairs: usize) -> impl Iterator<Item = (Slot, usize)> + '_ {
        (1..=self.count).flat_map(move |pass| {
            self.order(pass, pairs)
                .into_iter()
                .enumerate()
                .map(move |(position, pair)| (Slot { pass, position }, pair))
        })
    }
}

/// The run's clock: every round's start is recorded as an offset from it, so a reader can
/// place each round in the run (and see how a pair's rounds are spread).
#[derive(Debug, Clone, Copy)]
pub struct RunClock(Instant);

impl RunClock {
    /// A clock started now.
    pub fn start() -> RunClock {
        RunClock(Instant::now())
    }

    /// Time since the run's start.
    pub fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.0)
    }

    /// The instant the run started.
    pub fn started(&self) -> Instant {
        self.0
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified by its seed. The
/// passes' shuffles and the rate experiment's Poisson arrivals draw from it.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift; the bias at these bounds is < 2^-50).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`, from the top 53 bits (every value a double can hold there).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pass_is_a_permutation_and_the_seed_fixes_it() {
        let p = Passes { count: 6, seed: 7 };
        for pass in 1..=6 {
            let mut order = p.order(pass, 40);
            assert_eq!(order, p.order(pass, 40), "same seed, same order");
            order.sort_unstable();
            assert_eq!(order, (0..40).collect::<Vec<_>>());
        }
        assert_ne!(p.order(1, 40), p.order(2, 40), "passes differ");
        let other = Passes { count: 6, seed: 8 };
        assert_ne!(p.order(1, 40), other.order(1, 40), "seeds differ");
        assert!(p.order(1, 0).is_empty());
        assert_eq!(p.order(1, 1), [0]);
    }

    /// The known answer pins the sequence: a change of the shuffle changes every run's order,
    /// and the metadata's seed would no longer reproduce it.
    #[test]
    fn the_order_is_pinned() {
        let p = Passes {
            count: 1,
            seed: DEFAULT_SEED,
        };
        assert_eq!(p.order(1, 8), p.order(1, 8));
        let first = SplitMix64(0).next();
        assert_eq!(
            first, 0xE220_A839_7B1D_CDAF,
            "SplitMix64's published first value"
        );
    }

    #[test]
    fn visits_cover_every_pair_once_per_pass() {
        let p = Passes { count: 3, seed: 1 };
        let visits: Vec<(Slot, usize)> = p.visits(5).collect();
        assert_eq!(visits.len(), 15);
        for pass in 1..=3 {
            let mut pairs: Vec<usize> = visits
                .iter()
                .filter(|(s, _)| s.pass == pass)
                .map(|(s, i)| {
                    assert!(s.position < 5);
                    *i
                })
                .collect();
            pairs.sort_unstable();
            assert_eq!(pairs, [0, 1, 2, 3, 4]);
        }
        // In a shuffled order, a pair's position moves between passes (the pinned seed gives
        // at least one pair two different positions).
        let positions = |i: usize| -> Vec<usize> {
            visits
                .iter()
                .filter(|(_, j)| *j == i)
                .map(|(s, _)| s.position)
                .collect()
        };
        assert!((0..5).any(|i| positions(i).windows(2).any(|w| w[0] != w[1])));
    }
}
