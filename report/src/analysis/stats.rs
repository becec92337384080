//! The statistics every fact rests on, each defined once: the middle value of a list, the
//! smallest and largest, a pair's work time, and whether two counts out of their pairs tell two
//! strategies apart ([`fisher_two_sided`]).
//!
//! Two medians are kept apart on purpose. Of an even number of values, "What to do" has
//! always quoted the upper middle one ([`median_upper`]) and the reading notes and the
//! timeline's median round the lower ([`median_lower`]): issue 22's first step changes nothing
//! the report prints, so both stay, named for what they do, until its later fix settles on one.

use common::Strategy;

use crate::data::{RoundRow, SummaryRow};

/// The upper of the two middle values of `xs` (the middle one when odd); `None` when empty.
pub fn median_upper(xs: impl IntoIterator<Item = f64>) -> Option<f64> {
    let sorted = sorted(xs);
    sorted.get(sorted.len() / 2).copied()
}

/// The lower of the two middle values of `xs` (the middle one when odd); `None` when empty.
pub fn median_lower(xs: impl IntoIterator<Item = f64>) -> Option<f64> {
    let sorted = sorted(xs);
    lower_middle(&sorted).copied()
}

/// The lower middle item of an already sorted slice: what [`median_lower`] picks, for items
/// that are not plain numbers (a round sorted by its work time).
pub fn lower_middle<T>(sorted: &[T]) -> Option<&T> {
    sorted.len().checked_sub(1).and_then(|k| sorted.get(k / 2))
}

fn sorted(xs: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = xs.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The nearest-rank `q` quantile (0.99: p99) of the already sorted `sorted`: the smallest value
/// with at least a fraction `q` of them at or below it. `None` when empty.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

/// The smallest and largest of `xs`; `None` when empty.
pub fn bounds(xs: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    xs.into_iter().fold(None, |acc, x| match acc {
        None => Some((x, x)),
        Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
    })
}

/// Whether a strategy's work is measured until the server recorded the end of its jobs
/// rather than by the batch time: `/background`, whose 202 answers measure no work. The one
/// place that decides which column is a pair's work time.
pub fn work_is_completion(s: Strategy) -> bool {
    s == Strategy::Background
}

/// A pair's work time from summary.csv, ms: the mean over rounds, the fastest and the slowest
/// round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkTime {
    /// Mean over rounds.
    pub mean: f64,
    /// The fastest round, when given.
    pub min: Option<f64>,
    /// The slowest round, when given.
    pub max: Option<f64>,
}

/// The work time of `pair` ([`work_is_completion`] decides which column); `None` without it.
pub fn pair_work(pair: &SummaryRow) -> Option<WorkTime> {
    Some(if work_is_completion(pair.strategy) {
        WorkTime {
            mean: pair.background_done_ms_mean?,
            min: pair.background_done_ms_min,
            max: pair.background_done_ms_max,
        }
    } else {
        WorkTime {
            mean: pair.batch_ms_mean?,
            min: pair.batch_ms_min,
            max: pair.batch_ms_max,
        }
    })
}

/// The work time of one round, ms; `None` for a `/background` round without its completion.
pub fn round_work_ms(round: &RoundRow) -> Option<f64> {
    if work_is_completion(round.strategy) {
        round.background_done_ms
    } else {
        Some(round.batch_ms)
    }
}

/// Fisher's exact test, two-sided, of `a` of `n1` against `b` of `n2` (say, pairs not kept
/// responsive by two strategies): the probability, with the margins fixed, of a split at least
/// as uneven as this one if the two did not differ. 1 of 9 against 0 of 9 gives 1.0 (nothing
/// told apart); 6 of 9 against 0 of 9 about 0.009.
pub fn fisher_two_sided(a: usize, n1: usize, b: usize, n2: usize) -> f64 {
    let (a, b) = (a.min(n1), b.min(n2));
    let k = a + b;
    let n = n1 + n2;
    // ln of the hypergeometric probability of x of the k in the first group.
    let ln_choose = |n: usize, r: usize| ln_factorial(n) - ln_factorial(r) - ln_factorial(n - r);
    let ln_p = |x: usize| ln_choose(n1, x) + ln_choose(n2, k - x) - ln_choose(n, k);
    let observed = ln_p(a);
    let lo = k.saturating_sub(n2);
    let hi = k.min(n1);
    // The relative tolerance every implementation uses, so that ties in floating point count.
    let p: f64 = (lo..=hi)
        .map(ln_p)
        .filter(|lp| *lp <= observed + 1e-7)
        .map(f64::exp)
        .sum();
    p.min(1.0)
}

/// ln(n!), summed: the counts here are pairs, a few dozen at most.
fn ln_factorial(n: usize) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_medians_differ_only_on_an_even_count() {
        assert_eq!(median_upper([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_lower([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_upper([4.0, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(median_lower([4.0, 1.0, 3.0, 2.0]), Some(2.0));
        assert_eq!(median_upper([]), None);
        assert_eq!(median_lower([]), None);
        assert_eq!(lower_middle::<u32>(&[]), None);
        assert_eq!(lower_middle(&[1, 2, 3, 4]), Some(&2));
    }

    #[test]
    fn nearest_rank_is_a_value_of_the_set() {
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&hundred, 0.99), Some(99.0));
        assert_eq!(nearest_rank(&hundred[..50], 0.99), Some(50.0));
        assert_eq!(nearest_rank(&[], 0.99), None);
    }

    #[test]
    fn bounds_are_the_smallest_and_largest() {
        assert_eq!(bounds([2.0, -1.0, 5.0]), Some((-1.0, 5.0)));
        assert_eq!(bounds([7.0]), Some((7.0, 7.0)));
        assert_eq!(bounds(std::iter::empty()), None);
    }

    #[test]
    fn only_background_is_measured_to_its_completion() {
        for s in Strategy::ALL {
            assert_eq!(
                work_is_completion(s),
                s == Strategy::Background,
                "{}",
                s.path()
            );
        }
    }

    #[test]
    fn fisher_tells_apart_only_uneven_counts() {
        assert!((fisher_two_sided(1, 9, 0, 9) - 1.0).abs() < 1e-9);
        assert!((fisher_two_sided(0, 9, 0, 9) - 1.0).abs() < 1e-9);
        // Known values: 6/9 vs 0/9 is 0.00905; 3/10 vs 8/10 is 0.0698.
        assert!((fisher_two_sided(6, 9, 0, 9) - 0.009049).abs() < 1e-5);
        assert!((fisher_two_sided(3, 10, 8, 10) - 0.069779).abs() < 1e-5);
        // Symmetric in the two groups.
        let (x, y) = (fisher_two_sided(2, 9, 7, 9), fisher_two_sided(7, 9, 2, 9));
        assert!((x - y).abs() < 1e-12);
    }
}
