//! The pools experiment's facts (pools_summary.csv): each configuration (a pair at one pool
//! size and priority) with its work time and probe against T1; per runtime and worker count
//! the configuration that kept the probe below T1 at the least work time; and per pool size
//! how often it did.
//!
//! "Below T1" is the batch verdict's rule ([`verdict::jackknife_p99`], [`noise::side`]): the
//! pooled probe p99 below the configuration's own T1, and still with any one round left out
//! (pools_probes.csv). A run from before that file is judged by its rounds' worst probes
//! instead ([`ProbeRule::WorstProbe`]): one probe of a round decided it. The work time is the batch time, the
//! median of the rounds with their range; the least of them is *not told apart* from another
//! that is not longer by more than [`ALIKE`] beyond the rounds' noise ([`noise::compare`]: the
//! pools experiment's rounds are not paired by pass), and the report says how many.

use common::Strategy;

use super::noise::{self, Change, Figure, Side};
use super::{ALIKE, stats, verdict};
use crate::data::{PoolsRow, Results};

/// One configuration measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Target name.
    pub target: String,
    /// `tokio + axum`.
    pub label: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// Strategy.
    pub strategy: Strategy,
    /// Pool threads (or permits).
    pub pool: u32,
    /// The pool's nice value.
    pub nice: u8,
    /// T1, ms.
    pub t1_ms: f64,
    /// Batch time, ms: median of the rounds, their range.
    pub work: Figure,
    /// Probe, µs: the pooled p99, and the range of its values with each round left out
    /// ([`ProbeRule::Jackknife`]) or of the rounds' worst probes ([`ProbeRule::WorstProbe`]).
    pub probe: Figure,
    /// Which rule [`Config::side`] followed.
    pub rule: ProbeRule,
    /// Where the probe stands against T1.
    pub side: Side,
    /// The server's lag p99, median of the rounds, µs.
    pub lag_p99_us: Option<f64>,
    /// Run-queue wait per executor thread, median of the rounds, ms.
    pub runq_ms: Option<f64>,
}

/// How a configuration's probe was judged against its T1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeRule {
    /// The pooled p99 with each round left out in turn (the batch verdict's rule).
    Jackknife,
    /// Each round's worst probe (runs without pools_probes.csv).
    WorstProbe,
}

impl Config {
    /// The configuration of `row`, its failed probes counted at no less than `timeout_us`;
    /// `None` when it was not measured or lacks a figure.
    pub fn of(row: &PoolsRow, timeout_us: Option<f64>) -> Option<Config> {
        if !row.ok() {
            return None;
        }
        let t1_ms = row.t1_ms?;
        let rounds = row.rounds as usize;
        let work = Figure {
            value: row.batch_ms_median?,
            lo: row.batch_ms_min?,
            hi: row.batch_ms_max?,
            rounds,
        };
        let samples: Vec<(u32, f64)> = row
            .probes
            .iter()
            .map(|p| (p.round, p.counted_us(timeout_us)))
            .collect();
        let left_out = verdict::jackknife_p99(&samples);
        let (rule, lo, hi) = match left_out
            .as_deref()
            .and_then(|xs| stats::bounds(xs.iter().copied()))
        {
            Some((lo, hi)) => (ProbeRule::Jackknife, lo, hi),
            None => (
                ProbeRule::WorstProbe,
                row.probe_worst_us_min?,
                row.probe_worst_us_max?,
            ),
        };
        let probe = Figure {
            value: row.probe_latency_us_p99?,
            lo,
            hi,
            rounds,
        };
        // A failed probe never counts as below: it waited at least the probe timeout.
        let unanswered = row.probes.iter().any(|p| p.failed);
        let side = match noise::side(probe.value, &[probe.lo, probe.hi], t1_ms * 1e3) {
            Side::Below if unanswered => Side::Borderline,
            side => side,
        };
        Some(Config {
            target: row.target.clone(),
            label: row.label(),
            workers: row.workers,
            strategy: row.strategy,
            pool: row.pool_threads,
            nice: row.pool_nice,
            t1_ms,
            work,
            probe,
            rule,
            side,
            lag_p99_us: row.lag_us_p99_median,
            runq_ms: row.executor_runq_ms_per_thread_median,
        })
    }

    /// `/rayon, pool 4` or `/rayon, pool 4, nice 19`.
    pub fn name(&self) -> String {
        match self.nice {
            0 => format!("{}, pool {}", self.strategy.path(), self.pool),
            n => format!("{}, pool {}, nice {n}", self.strategy.path(), self.pool),
        }
    }
}

/// One runtime at one worker count: its cheapest configuration below T1.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Target name.
    pub target: String,
    /// `tokio + axum`.
    pub label: String,
    /// Executor threads.
    pub workers: Option<u32>,
    /// The configuration below T1 with the least work time; `None` when none was below.
    pub best: Option<Config>,
    /// Other configurations below T1 not longer than the best's by more than [`ALIKE`]
    /// beyond the rounds' noise ([`noise::compare`]): not told apart.
    pub tied: Vec<String>,
    /// Configurations below T1.
    pub below: usize,
    /// Configurations measured.
    pub measured: usize,
}

/// One pool size at one priority, over every runtime, worker count and strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeTally {
    /// Pool threads.
    pub pool: u32,
    /// Nice value.
    pub nice: u8,
    /// Configurations measured at it.
    pub measured: usize,
    /// Of those, below T1.
    pub below: usize,
    /// Of those, borderline.
    pub borderline: usize,
    /// The best choices ([`Choice::best`]) at this size and priority.
    pub chosen: usize,
    /// Median over its configurations of the work time ÷ the same pair's at the pool sized
    /// to the cores at normal priority (`None` without such pairs).
    pub work_vs_cores: Option<f64>,
}

/// Everything the pools section says.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolsFacts {
    /// Every configuration measured, in file order.
    pub configs: Vec<Config>,
    /// Per target and worker count, in file order.
    pub choices: Vec<Choice>,
    /// Per pool size and priority, ascending.
    pub sizes: Vec<SizeTally>,
    /// The cores the servers could use (metadata.json's server CPUs, else the machine's).
    pub cores: usize,
    /// Rounds per configuration (the most of any).
    pub rounds: u32,
    /// Kernel size and batch size.
    pub n: u64,
    /// Requests per batch.
    pub concurrency: u64,
    /// Configurations that failed.
    pub failed: usize,
    /// The rule "below T1" followed ([`ProbeRule::WorstProbe`] if any configuration lacked
    /// its probes).
    pub rule: ProbeRule,
}

impl PoolsFacts {
    /// The facts of `r`'s pools experiment; `None` when it was not measured.
    pub fn of(r: &Results) -> Option<PoolsFacts> {
        let rows = r.pools.as_ref()?;
        let timeout_us = r.probe_timeout_us();
        let configs: Vec<Config> = rows
            .iter()
            .filter_map(|row| Config::of(row, timeout_us))
            .collect();
        let failed = rows
            .iter()
            .filter(|p| p.result == results_format::RESULT_FAILED)
            .count();
        let mut keys: Vec<(String, String, Option<u32>)> = Vec::new();
        for c in &configs {
            let key = (c.target.clone(), c.label.clone(), c.workers);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let choices: Vec<Choice> = keys
            .into_iter()
            .map(|(target, label, workers)| {
                let mine: Vec<&Config> = configs
                    .iter()
                    .filter(|c| c.target == target && c.workers == workers)
                    .collect();
                choose(target, label, workers, &mine)
            })
            .collect();
        let cores = r
            .metadata
            .server_cpus
            .as_ref()
            .map_or(r.metadata.cores, Vec::len)
            .max(1);
        let sizes = tally(&configs, &choices, cores);
        // Jackknife only when every configuration could be judged so.
        let rule = if configs.iter().all(|c| c.rule == ProbeRule::Jackknife) {
            ProbeRule::Jackknife
        } else {
            ProbeRule::WorstProbe
        };
        Some(PoolsFacts {
            rule,
            rounds: rows.iter().map(|p| p.rounds).max().unwrap_or(0),
            n: rows.first().map_or(0, |p| p.n),
            concurrency: rows.first().map_or(0, |p| p.concurrency),
            configs,
            choices,
            sizes,
            cores,
            failed,
        })
    }
}

/// The cheapest of `mine` below T1, and the others it is not told apart from.
fn choose(target: String, label: String, workers: Option<u32>, mine: &[&Config]) -> Choice {
    let below: Vec<&Config> = mine
        .iter()
        .copied()
        .filter(|c| c.side == Side::Below)
        .collect();
    let best = below
        .iter()
        .min_by(|a, b| a.work.value.total_cmp(&b.work.value))
        .map(|c| (*c).clone());
    let tied = best.as_ref().map_or_else(Vec::new, |b| {
        below
            .iter()
            .filter(|c| ***c != *b)
            .filter(|c| noise::compare(&b.work, &c.work, None, ALIKE) != Change::Higher)
            .map(|c| c.name())
            .collect()
    });
    Choice {
        target,
        label,
        workers,
        best,
        tied,
        below: below.len(),
        measured: mine.len(),
    }
}

/// Per pool size and priority: how often below T1, how often the best, and the work time
/// against the pool sized to the cores.
fn tally(configs: &[Config], choices: &[Choice], cores: usize) -> Vec<SizeTally> {
    let mut sizes: Vec<(u32, u8)> = configs.iter().map(|c| (c.pool, c.nice)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
        .into_iter()
        .map(|(pool, nice)| {
            let at: Vec<&Config> = configs
                .iter()
                .filter(|c| c.pool == pool && c.nice == nice)
                .collect();
            let ratios = at.iter().filter_map(|c| {
                let base = configs.iter().find(|b| {
                    b.target == c.target
                        && b.workers == c.workers
                        && b.strategy == c.strategy
                        && b.nice == 0
                        && b.pool as usize == cores
                })?;
                Some(c.work.value / base.work.value)
            });
            SizeTally {
                pool,
                nice,
                measured: at.len(),
                below: at.iter().filter(|c| c.side == Side::Below).count(),
                borderline: at.iter().filter(|c| c.side == Side::Borderline).count(),
                chosen: choices
                    .iter()
                    .filter_map(|ch| ch.best.as_ref())
                    .filter(|b| b.pool == pool && b.nice == nice)
                    .count(),
                work_vs_cores: super::stats::median_lower(ratios),
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::pools::PoolsProbe;

    /// A row of pools_summary.csv: T1 5 ms, work `batch` ± 5 ms over 3 rounds, probe p99
    /// `probe` µs with rounds' worst from `probe` to 1.2 × `probe`.
    pub(crate) fn row(
        workers: u32,
        strategy: Strategy,
        pool: u32,
        nice: u8,
        batch: f64,
        probe: f64,
    ) -> PoolsRow {
        PoolsRow {
            target: "tokio".into(),
            runtime: "tokio".into(),
            framework: "axum".into(),
            workers: Some(workers),
            strategy,
            n: 10_000_000,
            concurrency: 20,
            pool_threads: pool,
            pool_nice: nice,
            rounds: 3,
            result: "ok".into(),
            t1_ms: Some(5.0),
            batch_ms_median: Some(batch),
            batch_ms_min: Some(batch - 5.0),
            batch_ms_max: Some(batch + 5.0),
            efficiency_median: Some(0.5),
            latency_us_p99: Some(batch * 1e3),
            probe_latency_us_p99: Some(probe),
            probe_worst_us_min: Some(probe),
            probe_worst_us_max: Some(probe * 1.2),
            lag_us_p99_median: None,
            server_cores_used_median: None,
            executor_runq_ms_per_thread_median: None,
            probes: Vec::new(),
        }
    }

    /// `rounds` rounds of 100 probes each, every one `us` but those in `high` (round,
    /// latency): the pooled p99 of 1,000 µs-probes lies in its top 1 %.
    fn probes(rounds: u32, us: u64, high: &[(u32, u64)]) -> Vec<PoolsProbe> {
        let mut all: Vec<PoolsProbe> = (1..=rounds)
            .flat_map(|round| {
                (0..100).map(move |_| PoolsProbe {
                    round,
                    latency_us: us,
                    failed: false,
                })
            })
            .collect();
        for (k, &(round, latency_us)) in high.iter().enumerate() {
            all[(round as usize - 1) * 100 + k] = PoolsProbe {
                round,
                latency_us,
                failed: false,
            };
        }
        all
    }

    /// With its probes, a configuration is judged as the batch's pairs are: one slow probe in
    /// one round (its worst above T1) no longer makes it borderline; slow probes that only
    /// one round had do (the p99 without that round falls on the other side); an
    /// unanswered probe is never below.
    #[test]
    fn with_its_probes_a_configuration_is_judged_by_the_jackknife() {
        // T1 = 5 ms. One probe of 9 ms in round 2: its worst is above T1, the p99 is not.
        let mut one = row(1, Strategy::Rayon, 2, 0, 100.0, 1_000.0);
        one.probe_worst_us_max = Some(9_000.0);
        assert_eq!(
            Config::of(&one, None).expect("config").side,
            Side::Borderline
        );
        one.probes = probes(6, 1_000, &[(2, 9_000)]);
        let c = Config::of(&one, None).expect("config");
        assert_eq!((c.rule, c.side), (ProbeRule::Jackknife, Side::Below));
        // Eight slow probes, all in round 3: the pooled p99 (600 probes) is slow, without
        // round 3 it is not.
        let mut burst = row(1, Strategy::Rayon, 2, 0, 100.0, 9_000.0);
        burst.probes = probes(6, 1_000, &[(3, 9_000); 8]);
        let c = Config::of(&burst, None).expect("config");
        assert_eq!((c.rule, c.side), (ProbeRule::Jackknife, Side::Borderline));
        // Slow in every round: above.
        let mut slow = row(1, Strategy::Rayon, 2, 0, 100.0, 9_000.0);
        slow.probes = probes(6, 9_000, &[]);
        assert_eq!(Config::of(&slow, None).expect("config").side, Side::Above);
        // Fast, but one probe got no answer: borderline, not below.
        let mut lost = row(1, Strategy::Rayon, 2, 0, 100.0, 1_000.0);
        lost.probes = probes(6, 1_000, &[]);
        lost.probes[0].failed = true;
        assert_eq!(
            Config::of(&lost, None).expect("config").side,
            Side::Borderline
        );
    }

    #[test]
    fn the_cheapest_configuration_below_t1_is_chosen_with_those_it_is_not_told_apart_from() {
        let rows = [
            // Below T1 (5 ms) and the cheapest.
            row(1, Strategy::Rayon, 2, 0, 100.0, 2_000.0),
            // Cheaper, but the probe waited longer than T1: not a candidate.
            row(1, Strategy::Rayon, 8, 0, 80.0, 9_000.0),
            // Below, its rounds overlap the best's: not told apart, tied.
            row(1, Strategy::Rayon, 2, 19, 108.0, 1_000.0),
            // Below, slower beyond the rounds' noise.
            row(1, Strategy::Rayon, 1, 0, 150.0, 1_000.0),
            // Borderline: p99 below T1, a round's worst above.
            row(1, Strategy::Thread, 4, 0, 90.0, 4_500.0),
            // Below, its rounds apart from the best's but 6 % longer: within the margin, tied.
            PoolsRow {
                batch_ms_min: Some(105.5),
                batch_ms_max: Some(106.5),
                ..row(1, Strategy::Bounded, 2, 0, 106.0, 1_000.0)
            },
        ];
        let configs: Vec<Config> = rows
            .iter()
            .filter_map(|row| Config::of(row, None))
            .collect();
        assert_eq!(configs[4].side, Side::Borderline);
        let mine: Vec<&Config> = configs.iter().collect();
        let c = choose("tokio".into(), "tokio + axum".into(), Some(1), &mine);
        let best = c.best.clone().expect("a best");
        assert_eq!((best.pool, best.nice, best.work.value), (2, 0, 100.0));
        assert_eq!(c.tied, ["/rayon, pool 2, nice 19", "/bounded, pool 2"]);
        assert_eq!((c.below, c.measured), (4, 6));
        let t = tally(&configs, std::slice::from_ref(&c), 2);
        let at = |pool, nice| {
            t.iter()
                .find(|s| s.pool == pool && s.nice == nice)
                .expect("size")
        };
        assert_eq!(at(2, 0).chosen, 1);
        assert_eq!(at(2, 0).work_vs_cores, Some(1.0));
        assert_eq!(at(8, 0).below, 0);
        assert_eq!(at(1, 0).work_vs_cores, Some(1.5));
    }

    #[test]
    fn none_below_t1_means_no_choice() {
        let rows = [row(2, Strategy::Thread, 8, 0, 80.0, 9_000.0)];
        let configs: Vec<Config> = rows
            .iter()
            .filter_map(|row| Config::of(row, None))
            .collect();
        let mine: Vec<&Config> = configs.iter().collect();
        let c = choose("tokio".into(), "tokio + axum".into(), Some(2), &mine);
        assert_eq!((c.best, c.below, c.measured), (None, 0, 1));
    }
}
