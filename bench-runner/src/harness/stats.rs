//! The arithmetic: latency percentiles (hdrhistogram), mean and spread over rounds, the ideal
//! batch time and the efficiency. Pure functions with exact known-answer tests; nothing here
//! knows about HTTP or files.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Significant digits the histograms keep: values are exact up to 2048 µs and within 0.1 %
/// above, far finer than the noise of a shared 2-core machine.
const SIGFIG: u8 = 3;

/// Percentiles of a set of latencies, in whole microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Smallest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// How many values.
    pub count: u64,
}

/// The `q` quantile of `values_us` (0 < q ≤ 1) by the same rule as [`percentiles`] (for
/// p99.9, which it does not give), or `None` if it is empty.
pub fn quantile_us(values_us: &[u64], q: f64) -> Option<u64> {
    let min = *values_us.iter().min()?;
    let max = *values_us.iter().max()?;
    let mut h = Histogram::<u64>::new(SIGFIG).ok()?;
    for &v in values_us {
        if h.record(v).is_err() {
            h.saturating_record(v);
        }
    }
    Some(h.lowest_equivalent(h.value_at_quantile(q)).clamp(min, max))
}

/// Percentiles of `values_us`, or `None` if it is empty.
///
/// min, max and mean are exact. A percentile q is hdrhistogram's `value_at_quantile(q)` (the
/// bucket holding the value that at least q of the values are less than or equal to: for
/// 1..=100, p50 is 50 and p99 is 99), reported as that bucket's lowest value: exact below
/// 2048 µs, within 0.1 % above.
pub fn percentiles(values_us: &[u64]) -> Option<Percentiles> {
    let min = *values_us.iter().min()?;
    let max = *values_us.iter().max()?;
    // Auto-resizing histogram: never refuses a value, however large.
    let mut h = Histogram::<u64>::new(SIGFIG).ok()?;
    for &v in values_us {
        // `record` grows the histogram; `saturating_record` would clamp to its current top.
        if h.record(v).is_err() {
            h.saturating_record(v);
        }
    }
    let at = |q: f64| h.lowest_equivalent(h.value_at_quantile(q)).clamp(min, max);
    Some(Percentiles {
        min,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max,
        mean: values_us.iter().map(|&v| v as f64).sum::<f64>() / values_us.len() as f64,
        count: h.len(),
    })
}

/// Mean and spread of one figure over rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divides by k - 1); `None` for a single value.
    pub sd: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// The median of `xs` (the mean of the two middle values for an even count), or `None` if it
/// is empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let k = v.len();
    match k {
        0 => None,
        _ if k % 2 == 1 => Some(v[k / 2]),
        _ => Some((v[k / 2 - 1] + v[k / 2]) / 2.0),
    }
}

/// Mean, sample standard deviation, min and max of `xs`, or `None` if it is empty.
pub fn spread(xs: &[f64]) -> Option<Spread> {
    let k = xs.len();
    if k == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / k as f64;
    let sd = (k > 1).then(|| {
        let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
        (ss / (k - 1) as f64).sqrt()
    });
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(Spread { mean, sd, min, max })
}

/// The shortest time a batch of `concurrency` requests of lone duration `t1` can take on
/// `cores` cores: `C × T1 / min(C, cores)`. With C = 20, T1 = 10 ms and 2 cores: 100 ms.
pub fn ideal_batch(t1: Duration, concurrency: usize, cores: usize) -> Duration {
    let parallel = concurrency.min(cores).max(1);
    t1.mul_f64(concurrency as f64 / parallel as f64)
}

/// `ideal / measured`: 1.0 is the hardware limit, 0.5 is twice as slow as it. `None` when
/// the measured time is zero.
pub fn efficiency(ideal: Duration, measured: Duration) -> Option<f64> {
    (!measured.is_zero()).then(|| ideal.as_secs_f64() / measured.as_secs_f64())
}

/// Whole microseconds, saturating.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Milliseconds as a float.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    use super::*;

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let values: Vec<u64> = (1..=100).collect();
        let p = percentiles(&values).expect("some");
        assert_eq!((p.min, p.p50, p.p90, p.p99, p.max), (1, 50, 90, 99, 100));
        assert_eq!(p.mean, 50.5);
        assert_eq!(p.count, 100);
    }

    #[test]
    fn percentiles_ignore_order_and_handle_one_value_and_zero() {
        let p = percentiles(&[30, 10, 20]).expect("some");
        assert_eq!((p.min, p.p50, p.p90, p.p99, p.max), (10, 20, 30, 30, 30));
        assert_eq!(p.mean, 20.0);
        let p = percentiles(&[7]).expect("some");
        assert_eq!((p.min, p.p50, p.p99, p.max), (7, 7, 7, 7));
        let p = percentiles(&[0, 0, 4]).expect("some");
        assert_eq!((p.min, p.p50, p.max), (0, 0, 4));
        assert_eq!(percentiles(&[]), None);
    }

    #[test]
    fn percentiles_of_large_values_stay_within_the_histogram_precision() {
        // 3 significant digits: 1 234 567 µs is kept to within 0.1 %.
        let p = percentiles(&[1_234_567]).expect("some");
        let err = (p.max as f64 - 1_234_567.0).abs() / 1_234_567.0;
        assert!(err < 1e-3, "{}", p.max);
        // A tail of one slow request among 99 fast ones: p99 is fast, max is slow.
        let mut v = vec![100; 99];
        v.push(90_000);
        let p = percentiles(&v).expect("some");
        assert_eq!((p.p50, p.p99), (100, 100));
        assert!(p.max >= 90_000 && p.max < 90_100, "{}", p.max);
    }

    #[test]
    fn spread_known_answers() {
        let s = spread(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("some");
        assert_eq!(s.mean, 5.0);
        // Sum of squares 32, k - 1 = 7.
        assert_eq!(s.sd, Some((32.0f64 / 7.0).sqrt()));
        assert_eq!((s.min, s.max), (2.0, 9.0));
        let s = spread(&[3.5]).expect("some");
        assert_eq!((s.mean, s.sd, s.min, s.max), (3.5, None, 3.5, 3.5));
        let s = spread(&[1.0, 3.0]).expect("some");
        assert_eq!(s.sd, Some(2.0f64.sqrt()));
        assert_eq!(spread(&[]), None);
    }

    #[test]
    fn ideal_batch_and_efficiency() {
        let ms = Duration::from_millis;
        // The formula: C × T1 / min(C, cores).
        assert_eq!(ideal_batch(ms(10), 20, 2), ms(100));
        assert_eq!(ideal_batch(ms(10), 20, 1), ms(200));
        // Fewer requests than cores: one T1.
        assert_eq!(ideal_batch(ms(10), 1, 2), ms(10));
        assert_eq!(ideal_batch(ms(10), 4, 8), ms(10));
        assert_eq!(ideal_batch(ms(10), 3, 2), ms(15));
        assert_eq!(efficiency(ms(100), ms(200)), Some(0.5));
        assert_eq!(efficiency(ms(100), ms(100)), Some(1.0));
        assert_eq!(efficiency(ms(100), Duration::ZERO), None);
    }

    #[test]
    fn unit_conversions() {
        assert_eq!(micros(Duration::from_nanos(1_999)), 1);
        assert_eq!(micros(Duration::from_secs(2)), 2_000_000);
        assert_eq!(millis(Duration::from_micros(1500)), 1.5);
    }
}
