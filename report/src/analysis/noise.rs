//! Telling a difference from noise, with the rounds as the measure of noise.
//!
//! Every pair is measured in R rounds; each round gives its own figure (batch time, the time
//! until /background's work is done, the worst probe, …). The report calls:
//! - **a difference** between two pairs, read from their rounds, only when the rounds' ranges
//!   do not overlap, and only with at least [`MIN_ROUNDS`] rounds on each side ([`change`]).
//!   Disjoint ranges are the most extreme outcome of a Mann–Whitney rank-sum test: with R
//!   rounds on each side its two-sided p is 2 / C(2R, R) ([`rank_sum_p`]: 0.33 at R = 2, 0.10
//!   at 3, 0.008 at 5), so with few rounds even this rule is generous, never strict;
//! - **alike** within a fraction x only when even the extreme rounds are: the slowest round of
//!   the slowest pair within x of the fastest round of the fastest ([`spread`]);
//! - **lower, higher or alike by a margin** (two worker counts, a strategy against /thread, a
//!   pool against the chosen one): where the two were measured in the same passes
//!   (interleaved: a slow minute falls on both), the interval of the per-pass ratios
//!   ([`Paired`]) against 1 ± the margin, with at least [`MIN_PASSES`] passes; otherwise a
//!   difference needs disjoint rounds and values beyond the margin, and alike every round
//!   within it ([`compare`]);
//! - **a side of a threshold** only when the pooled figure and every round's figure are on
//!   that side; otherwise the result is [`Side::Borderline`] ([`side`]).
//!
//! Pure functions on plain numbers, tested on small hand-made sets.

/// The fewest rounds on each side for a difference (or a likeness) to be called: with one
/// round there is no measure of the noise at all.
pub const MIN_ROUNDS: usize = 2;

/// One pair's figure: the headline value and the range of its rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    /// The headline value (a mean over rounds, or a pooled percentile).
    pub value: f64,
    /// The smallest round's figure.
    pub lo: f64,
    /// The largest round's figure.
    pub hi: f64,
    /// How many rounds.
    pub rounds: usize,
}

impl Figure {
    /// `value` with the range of `rounds`; `None` when there are no rounds.
    pub fn of_rounds(value: f64, rounds: &[f64]) -> Option<Figure> {
        let lo = rounds.iter().copied().reduce(f64::min)?;
        let hi = rounds.iter().copied().reduce(f64::max)?;
        Some(Figure {
            value,
            lo,
            hi,
            rounds: rounds.len(),
        })
    }
}

/// How a figure compares with another, beyond the rounds' noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The second is lower: every round of it below every round of the first ([`change`]),
    /// and for [`compare`] by more than its margin (in every pass, where it pairs them).
    Lower,
    /// The second is higher, as `Lower` the other way.
    Higher,
    /// Within [`compare`]'s margin of each other ([`change`] never says it).
    Alike,
    /// Neither: the ranges overlap (or the per-pass interval straddles the margin), the
    /// difference is within the margin but not every round is, or a side has fewer than
    /// [`MIN_ROUNDS`] rounds.
    Unclear,
}

/// How `b` compares with `a`.
pub fn change(a: &Figure, b: &Figure) -> Change {
    if a.rounds < MIN_ROUNDS || b.rounds < MIN_ROUNDS {
        Change::Unclear
    } else if b.hi < a.lo {
        Change::Lower
    } else if b.lo > a.hi {
        Change::Higher
    } else {
        Change::Unclear
    }
}

/// The fewest passes a paired ratio needs for a difference to be called: under no difference
/// each pass's ratio is as likely above 1 as below, and all of 5 on one side has a two-sided
/// chance of 2 / 2⁵ = 6 % (3 % at 6 passes, the default run's).
pub const MIN_PASSES: usize = 5;

/// The ratio of two pairs measured in the same passes (interleaved: a slow minute falls on
/// both alike): per pass, the one's figure ÷ the other's; their median, and their range,
/// which holds the median ratio with probability 1 − 2 / 2ⁿ over n passes (97 % at 6: the
/// smallest and the largest of n draws bracket the median unless all n fall on one side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// The median of the per-pass ratios.
    pub median: f64,
    /// The smallest per-pass ratio.
    pub lo: f64,
    /// The largest.
    pub hi: f64,
    /// Passes in which both were measured.
    pub passes: usize,
}

impl Paired {
    /// `a` ÷ `b` in each pass both have, given as (pass, figure); `None` without a common
    /// pass or with a figure that is not positive.
    pub fn of(a: &[(u32, f64)], b: &[(u32, f64)]) -> Option<Paired> {
        let mut ratios: Vec<f64> = a
            .iter()
            .filter_map(|(pass, x)| {
                let y = b.iter().find(|(q, _)| q == pass)?.1;
                (*x > 0.0 && y > 0.0).then(|| x / y)
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let mid = ratios.len() / 2;
        let median = match ratios.len() {
            0 => return None,
            n if n % 2 == 1 => ratios[mid],
            _ => (ratios[mid - 1] + ratios[mid]) / 2.0,
        };
        Some(Paired {
            median,
            lo: ratios[0],
            hi: ratios[ratios.len() - 1],
            passes: ratios.len(),
        })
    }
}

/// How `b` compares with `a` by more than a fraction `margin` (0.10: 10 %), given
/// `a_over_b`, their ratio pass by pass where both were measured in the same passes.
///
/// With at least [`MIN_PASSES`] passes the per-pass interval decides: `Lower` when every
/// pass's a ÷ b is above 1 + margin, `Higher` when every one is below 1 ÷ (1 + margin),
/// `Alike` when every one is within them, otherwise `Unclear` (a difference this run does not
/// show either way). With fewer passes (a half of a run, a run without passes) the rounds
/// decide: a difference needs disjoint ranges ([`change`]) and means more than the margin
/// apart; alike, every round within the margin of every other.
pub fn compare(a: &Figure, b: &Figure, a_over_b: Option<Paired>, margin: f64) -> Change {
    let up = 1.0 + margin;
    if let Some(p) = a_over_b.filter(|p| p.passes >= MIN_PASSES) {
        return if p.lo > up {
            Change::Lower
        } else if p.hi * up < 1.0 {
            Change::Higher
        } else if p.lo * up >= 1.0 && p.hi <= up {
            Change::Alike
        } else {
            Change::Unclear
        };
    }
    if a.rounds < MIN_ROUNDS || b.rounds < MIN_ROUNDS {
        return Change::Unclear;
    }
    let (lo, hi) = (a.lo.min(b.lo), a.hi.max(b.hi));
    match change(a, b) {
        Change::Lower if a.value > b.value * up => Change::Lower,
        Change::Higher if b.value > a.value * up => Change::Higher,
        _ if lo > 0.0 && hi <= lo * up => Change::Alike,
        _ => Change::Unclear,
    }
}

/// How far apart a set of figures is (the same strategy on several runtimes, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Even the extreme rounds are within the given fraction.
    Alike,
    /// The slowest and the fastest (by value) differ by more than the fraction, and their
    /// rounds' ranges do not overlap.
    Apart,
    /// Neither can be said from these rounds.
    Unclear,
}

/// Whether `figures` are alike within `within` (0.10: 10 %), apart, or neither; `None` for
/// fewer than two figures. The slowest and the fastest are chosen by value.
pub fn spread(figures: &[Figure], within: f64) -> Option<Spread> {
    if figures.len() < 2 {
        return None;
    }
    if figures.iter().any(|f| f.rounds < MIN_ROUNDS) {
        return Some(Spread::Unclear);
    }
    let by_value = |a: &&Figure, b: &&Figure| a.value.total_cmp(&b.value);
    let fast = figures.iter().min_by(by_value)?;
    let slow = figures.iter().max_by(by_value)?;
    let lo = figures.iter().map(|f| f.lo).fold(f64::INFINITY, f64::min);
    let hi = figures.iter().map(|f| f.hi).fold(0.0, f64::max);
    Some(if lo > 0.0 && hi / lo <= 1.0 + within {
        Spread::Alike
    } else if change(fast, slow) == Change::Higher && slow.value > fast.value * (1.0 + within) {
        Spread::Apart
    } else {
        Spread::Unclear
    })
}

/// Where a figure stands against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The pooled figure and every round are below it.
    Below,
    /// They fall on both sides of it.
    Borderline,
    /// The pooled figure and every round are at or above it.
    Above,
}

/// Where `pooled`, with the per-round figures `rounds`, stands against `threshold`. Without
/// per-round figures the pooled one decides alone.
pub fn side(pooled: f64, rounds: &[f64], threshold: f64) -> Side {
    let above = |x: f64| x >= threshold;
    if above(pooled) && rounds.iter().all(|x| above(*x)) {
        Side::Above
    } else if !above(pooled) && rounds.iter().all(|x| !above(*x)) {
        Side::Below
    } else {
        Side::Borderline
    }
}

/// The two-sided p of a Mann–Whitney rank-sum test when the `m` values of one side all lie
/// below the `n` of the other (U = 0): 2 / C(m + n, m), at most 1.
pub fn rank_sum_p(m: usize, n: usize) -> f64 {
    // C(m + n, m) as a product of ratios, in f64: exact enough for any number of rounds.
    let arrangements: f64 = (1..=m).map(|i| (n + i) as f64 / i as f64).product();
    (2.0 / arrangements).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paired_ratio_is_read_pass_by_pass() {
        // b is 10 % faster in every pass, though the passes drift by 40 %: lower.
        let a: Vec<(u32, f64)> = (1..=6).map(|p| (p, 100.0 + 8.0 * f64::from(p))).collect();
        let b: Vec<(u32, f64)> = a.iter().map(|(p, x)| (*p, x / 1.1)).collect();
        let r = Paired::of(&a, &b).expect("paired");
        assert_eq!(r.passes, 6);
        assert!((r.median - 1.1).abs() < 1e-9 && (r.lo - 1.1).abs() < 1e-9);
        assert!((r.hi - 1.1).abs() < 1e-9);
        // Unpaired, the same rounds overlap: the old rule sees no difference.
        let fa = Figure::of_rounds(120.0, &a.iter().map(|x| x.1).collect::<Vec<_>>());
        let fb = Figure::of_rounds(110.0, &b.iter().map(|x| x.1).collect::<Vec<_>>());
        assert_eq!(change(&fa.expect("a"), &fb.expect("b")), Change::Unclear);
        // One pass the other way: unclear; the pass only one side has is left out.
        let mut c = b.clone();
        c[2].1 = a[2].1 * 1.05;
        c.push((7, 1.0));
        let r = Paired::of(&a, &c).expect("paired");
        assert_eq!(r.passes, 6);
        assert!(r.lo < 1.0 && r.hi > 1.0);
        // b slower in every pass; only the passes both have count.
        let d: Vec<(u32, f64)> = a.iter().map(|(p, x)| (*p, x * 1.25)).collect();
        let r = Paired::of(&a[..4], &d).expect("paired");
        assert_eq!(r.passes, 4);
        assert!((r.hi - 0.8).abs() < 1e-9);
        assert_eq!(Paired::of(&a, &[]), None);
    }

    fn fig(value: f64, rounds: &[f64]) -> Figure {
        Figure::of_rounds(value, rounds).expect("rounds")
    }

    #[test]
    fn a_difference_needs_disjoint_ranges() {
        let a = fig(100.0, &[95.0, 100.0, 105.0]);
        // Mean 15 % higher, but one round of b is faster than a round of a: no difference.
        let b = fig(115.0, &[104.0, 116.0, 125.0]);
        assert_eq!(change(&a, &b), Change::Unclear);
        // Disjoint: higher; and the other way round, lower.
        let c = fig(115.0, &[106.0, 116.0, 125.0]);
        assert_eq!(change(&a, &c), Change::Higher);
        assert_eq!(change(&c, &a), Change::Lower);
        // One round: no measure of the noise, nothing is called, however far apart.
        let one = fig(300.0, &[300.0]);
        assert_eq!(change(&a, &one), Change::Unclear);
    }

    #[test]
    fn a_comparison_by_a_margin_reads_the_passes_first() {
        let passes = |xs: &[f64]| -> Vec<(u32, f64)> { (1..).zip(xs.iter().copied()).collect() };
        // a ÷ b per pass, six passes: 1.3–1.6× in every one.
        let a = passes(&[130.0, 150.0, 160.0, 140.0, 135.0, 145.0]);
        let b = passes(&[100.0; 6]);
        let fa = fig(143.0, &[130.0, 160.0]);
        let fb = fig(100.0, &[100.0, 100.0]);
        let paired = |x: &[(u32, f64)], y: &[(u32, f64)]| Paired::of(x, y);
        assert_eq!(compare(&fa, &fb, paired(&a, &b), 0.1), Change::Lower);
        assert_eq!(compare(&fb, &fa, paired(&b, &a), 0.1), Change::Higher);
        // Every pass within 10 %, though the passes drift by 40 % and the ranges overlap.
        let c = passes(&[100.0, 120.0, 140.0, 110.0, 130.0, 125.0]);
        let d = passes(&[95.0, 125.0, 135.0, 112.0, 121.0, 130.0]);
        let (fc, fd) = (fig(120.0, &[100.0, 140.0]), fig(120.0, &[95.0, 135.0]));
        assert_eq!(compare(&fc, &fd, paired(&c, &d), 0.1), Change::Alike);
        // 5 % faster in every pass: a difference, but not one beyond the margin; nor alike
        // once one pass leaves it.
        let e = passes(&[105.0; 6]);
        let mut f = b.clone();
        f[0].1 = 80.0;
        assert_eq!(compare(&fb, &fb, paired(&e, &f), 0.1), Change::Unclear);
        // Too few passes: the rounds decide. Disjoint and 1.3× apart: lower.
        assert_eq!(
            compare(&fa, &fb, paired(&a[..3], &b[..3]), 0.1),
            Change::Lower
        );
        // Disjoint but 5 % apart: not beyond the margin, and not alike at the extremes (12 %).
        let g = fig(105.0, &[103.0, 112.0]);
        assert_eq!(compare(&g, &fb, None, 0.1), Change::Unclear);
        // Every round within 10 % of every other: alike.
        let h = fig(104.0, &[103.0, 106.0]);
        assert_eq!(compare(&h, &fb, None, 0.1), Change::Alike);
        // One round on a side: nothing is called.
        assert_eq!(
            compare(&fig(300.0, &[300.0]), &fb, None, 0.1),
            Change::Unclear
        );
    }

    #[test]
    fn alike_only_when_the_extreme_rounds_are_within_the_margin() {
        // Means 1.05× apart, but the rounds span 90..120: 10 % cannot be vouched for.
        let a = fig(100.0, &[90.0, 110.0]);
        let b = fig(105.0, &[95.0, 120.0]);
        assert_eq!(spread(&[a, b], 0.10), Some(Spread::Unclear));
        // Tight rounds, 4 % apart at the extremes: alike.
        let a = fig(100.0, &[99.0, 101.0]);
        let b = fig(102.0, &[101.0, 103.0]);
        assert_eq!(spread(&[a, b], 0.10), Some(Spread::Alike));
        // 1.15× apart with overlapping rounds: not apart either.
        let a = fig(100.0, &[90.0, 110.0]);
        let b = fig(115.0, &[105.0, 125.0]);
        assert_eq!(spread(&[b, a], 0.10), Some(Spread::Unclear));
        // 1.15× apart, disjoint rounds: apart, whatever the order given.
        let b = fig(115.0, &[112.0, 118.0]);
        assert_eq!(spread(&[b, a], 0.10), Some(Spread::Apart));
        // Disjoint but only 5 % apart: a real difference, yet not "apart" by more than 10 %,
        // and not within 10 % at the extremes either.
        let a = fig(100.0, &[95.0, 100.0]);
        let b = fig(105.0, &[101.0, 110.0]);
        assert_eq!(spread(&[a, b], 0.10), Some(Spread::Unclear));
        // A middle figure whose rounds reach beyond the slowest still counts for "alike".
        let a = fig(100.0, &[99.0, 101.0]);
        let m = fig(101.0, &[95.0, 115.0]);
        let b = fig(102.0, &[101.0, 103.0]);
        assert_eq!(spread(&[a, m, b], 0.10), Some(Spread::Unclear));
        assert_eq!(spread(&[a], 0.10), None);
    }

    #[test]
    fn near_a_threshold_is_borderline() {
        // The case: pooled 1.02× the threshold, 3 of 5 rounds below it.
        assert_eq!(
            side(1.02, &[1.3, 0.8, 0.9, 1.1, 0.95], 1.0),
            Side::Borderline
        );
        // Pooled below, one round above: borderline too.
        assert_eq!(side(0.6, &[1.2, 0.5, 0.4], 1.0), Side::Borderline);
        assert_eq!(side(3.7, &[3.5, 3.9], 1.0), Side::Above);
        assert_eq!(side(0.2, &[0.3, 0.1], 1.0), Side::Below);
        // At the threshold counts as reaching it.
        assert_eq!(side(1.0, &[1.0], 1.0), Side::Above);
        assert_eq!(side(0.5, &[], 1.0), Side::Below);
    }

    #[test]
    fn rank_sum_p_of_disjoint_ranges() {
        assert!((rank_sum_p(2, 2) - 2.0 / 6.0).abs() < 1e-12);
        assert!((rank_sum_p(3, 3) - 2.0 / 20.0).abs() < 1e-12);
        assert!((rank_sum_p(5, 5) - 2.0 / 252.0).abs() < 1e-12);
        assert!((rank_sum_p(2, 3) - 2.0 / 10.0).abs() < 1e-12);
        assert_eq!(rank_sum_p(1, 1), 1.0);
    }
}
