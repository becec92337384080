//! The sizes experiment (sizes_summary.csv), computed: what each offload costs at the
//! sweep's smallest n, the cheapest and the costliest, and the crossover work size.
//!
//! Definitions, all computed from the rows:
//! - a *setting* is a target with a worker count; every figure is per setting;
//! - *work per request* at `n` is `n` × the kernel's cost per unit in that setting, measured on
//!   `/cycle` (inline: nothing but the kernel between the request and the answer) as
//!   (T1 at the largest n − T1 at the smallest n) ÷ (largest n − smallest n). Subtracting T1
//!   at each n from T1 at the smallest would do at the large sizes, but at n = 10^3 the
//!   work (~0.5 µs) is far inside T1's noise (tens of µs): the slope of the largest sizes is
//!   what the kernel costs;
//! - *offload cost* of a strategy: its T1 minus `/cycle`'s at the sweep's smallest n
//!   (n = 0 by default: no work, so the difference is the offload's machinery alone);
//! - *crossover*: the smallest n from which, at every larger size of the sweep too, the probe
//!   p99 under `/cycle` is more than [`CROSSOVER_RATIO`] times the lowest probe p99 among the
//!   offloading strategies (those that await the kernel on another thread,
//!   `Execution::Offloaded`) at the same n; only sizes where both rest on at least
//!   [`MIN_PROBES`] probes count.

use common::Strategy;
use common::strategy::Execution;

use crate::analysis::stats::bounds;
use crate::data::{Results, SizesRow};

/// How much longer than the best offload's the inline probe p99 must be to count as the
/// server stalling more: twice, a contrast the probe's noise at small sizes (a few hundred
/// µs either way on a shared 2-core machine) does not make on its own.
pub const CROSSOVER_RATIO: f64 = 2.0;

/// The reference every offload is measured against: the inline loop.
pub const INLINE: Strategy = Strategy::Cycle;

/// A target with a worker count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Target name.
    pub target: String,
    /// Worker count.
    pub workers: Option<u32>,
    /// `tokio + axum`.
    pub label: String,
}

impl Setting {
    /// `tokio ×1`.
    pub fn short(&self) -> String {
        match self.workers {
            Some(w) => format!("{} ×{w}", self.target),
            None => self.target.clone(),
        }
    }

    fn has(&self, row: &SizesRow) -> bool {
        row.target == self.target && row.workers == self.workers
    }
}

/// The settings, in file order.
pub fn settings(r: &Results) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    for row in &r.sizes {
        if !out
            .iter()
            .any(|s| s.target == row.target && s.workers == row.workers)
        {
            out.push(Setting {
                target: row.target.clone(),
                workers: row.workers,
                label: row.label(),
            });
        }
    }
    out
}

/// The sizes of the sweep, ascending.
pub fn sizes(r: &Results) -> Vec<u64> {
    let mut n: Vec<u64> = r.sizes.iter().map(|s| s.n).collect();
    n.sort_unstable();
    n.dedup();
    n
}

/// Strategies present, in `Strategy::ALL` order.
fn strategies(r: &Results) -> Vec<Strategy> {
    Strategy::ALL
        .into_iter()
        .filter(|st| r.sizes.iter().any(|s| s.strategy == *st))
        .collect()
}

/// The measured row of `strategy` at `n` in `setting`.
pub fn row<'a>(
    r: &'a Results,
    setting: &Setting,
    strategy: Strategy,
    n: u64,
) -> Option<&'a SizesRow> {
    r.sizes
        .iter()
        .find(|s| setting.has(s) && s.strategy == strategy && s.n == n && s.ok())
}

/// The kernel's cost per unit of n in `setting`, µs: the slope of `/cycle`'s T1 between the
/// sweep's smallest and largest sizes (see the module doc). `None` without both, or if the
/// slope is not positive.
pub fn cost_per_unit_us(r: &Results, setting: &Setting) -> Option<f64> {
    let n = sizes(r);
    let (lo, hi) = (*n.first()?, *n.last()?);
    if hi <= lo {
        return None;
    }
    let t_lo = row(r, setting, INLINE, lo)?.t1_us?;
    let t_hi = row(r, setting, INLINE, hi)?.t1_us?;
    let slope = (t_hi - t_lo) / (hi - lo) as f64;
    (slope > 0.0).then_some(slope)
}

/// Offload cost of `strategy` in `setting`, µs: its work alone (T1; `/background`'s job's end)
/// minus `/cycle`'s T1, at the smallest n.
pub fn offload_cost_us(r: &Results, setting: &Setting, strategy: Strategy) -> Option<f64> {
    let n0 = *sizes(r).first()?;
    let own = row(r, setting, strategy, n0)?.work_alone_us()?;
    let inline = row(r, setting, INLINE, n0)?.t1_us?;
    Some(own - inline)
}

/// The lowest probe p99 among the offloading strategies at `n` in `setting`, with its
/// strategy.
pub fn best_offload(r: &Results, setting: &Setting, n: u64) -> Option<(Strategy, f64)> {
    Strategy::ALL
        .into_iter()
        .filter(|s| s.execution() == Execution::Offloaded)
        .filter_map(|s| Some((s, row(r, setting, s, n)?.probe_latency_us_p99?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// A probe p99 resting on fewer probes than this is not told apart from noise: a size where
/// the inline strategy or the best offload has fewer is not taken for a crossover (at the
/// small sizes a round lasts a millisecond or two and holds a probe or two).
pub const MIN_PROBES: u64 = 20;

/// Where inline starts stalling the server more than the best offload.
#[derive(Debug, Clone, PartialEq)]
pub enum Crossover {
    /// From this n on (at every larger size too) the inline probe p99 is more than
    /// [`CROSSOVER_RATIO`] × the best offload's.
    At {
        /// The kernel size.
        n: u64,
        /// Its work per request, µs (`None`: the cost per unit is unknown).
        work_us: Option<f64>,
        /// Inline probe p99 there, µs.
        inline_us: f64,
        /// The best offload there and its probe p99, µs.
        best: (Strategy, f64),
        /// The next smaller size had fewer than [`MIN_PROBES`] probes: the crossover may lie
        /// lower.
        thin_below: bool,
    },
    /// Not up to the largest size of the sweep.
    Never {
        /// The largest n.
        n: u64,
        /// Its work per request, µs.
        work_us: Option<f64>,
    },
    /// The largest size already has fewer than [`MIN_PROBES`] probes.
    TooFewProbes,
    /// `/cycle` or every offloading strategy is missing at some size.
    Unknown,
}

/// The crossover of `setting`.
pub fn crossover(r: &Results, setting: &Setting) -> Crossover {
    let n = sizes(r);
    let unit = cost_per_unit_us(r, setting);
    let mut found = None;
    let mut thin = false;
    for &k in n.iter().rev() {
        let inline = row(r, setting, INLINE, k);
        let best = best_offload(r, setting, k);
        let (Some(inline), Some(best)) = (inline, best) else {
            return Crossover::Unknown;
        };
        let Some(inline_us) = inline.probe_latency_us_p99 else {
            return Crossover::Unknown;
        };
        let best_probes = row(r, setting, best.0, k).map_or(0, |b| b.probes);
        if inline.probes < MIN_PROBES || best_probes < MIN_PROBES {
            thin = true;
            break;
        }
        if inline_us > CROSSOVER_RATIO * best.1 {
            found = Some((k, inline_us, best));
        } else {
            break;
        }
    }
    match (found, n.last()) {
        (Some((k, inline_us, best)), _) => Crossover::At {
            n: k,
            work_us: unit.map(|u| u * k as f64),
            inline_us,
            best,
            thin_below: thin,
        },
        (None, _) if thin => Crossover::TooFewProbes,
        (None, Some(&hi)) => Crossover::Never {
            n: hi,
            work_us: unit.map(|u| u * hi as f64),
        },
        (None, None) => Crossover::Unknown,
    }
}

/// One offload's cost in one setting.
#[derive(Debug, Clone, PartialEq)]
pub struct OffloadCost {
    /// The setting, `tokio ×1`.
    pub setting: String,
    /// The strategy.
    pub strategy: Strategy,
    /// Its T1 minus `/cycle`'s at the sweep's smallest n, µs.
    pub cost_us: f64,
}

/// How one strategy's offload costs compare with the noise band.
#[derive(Debug, Clone, PartialEq)]
pub struct BeyondNoise {
    /// The strategy.
    pub strategy: Strategy,
    /// Settings where its cost was above the band.
    pub above: usize,
    /// Settings where it was below.
    pub below: usize,
    /// Settings measured.
    pub of: usize,
}

/// One measured pair at one size, as the section's charts draw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SizePoint {
    /// Target name.
    pub target: String,
    /// Executor threads; `None` for an external server.
    pub workers: Option<u32>,
    /// The strategy.
    pub strategy: Strategy,
    /// Kernel size.
    pub n: u64,
    /// Probe p99, pooled over the rounds, µs.
    pub probe_p99_us: Option<f64>,
    /// Request median, pooled over the rounds, µs.
    pub request_p50_us: Option<f64>,
}

/// Everything the "Work size" section and its charts say, computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct SizesFacts {
    /// The settings, in file order.
    pub settings: Vec<Setting>,
    /// The sizes of the sweep, ascending.
    pub sizes: Vec<u64>,
    /// The strategies measured, in `Strategy::ALL` order.
    pub strategies: Vec<Strategy>,
    /// The kernel of the sweep (its first row's).
    pub kernel: String,
    /// The kernel's cost per unit of n, µs, per setting ([`cost_per_unit_us`]).
    pub cost_per_unit_us: Vec<Option<f64>>,
    /// Each strategy but [`INLINE`] with its offload cost per setting, µs
    /// ([`offload_cost_us`]).
    pub offload_costs: Vec<(Strategy, Vec<Option<f64>>)>,
    /// [`INLINE`]'s own T1 at the smallest n per setting, µs.
    pub inline_t1_us: Vec<Option<f64>>,
    /// The cheapest offload among the strategies that await the kernel on another thread
    /// (`Execution::Offloaded`), over every setting.
    pub cheapest: Option<OffloadCost>,
    /// The costliest of them.
    pub costliest: Option<OffloadCost>,
    /// The noise of an offload cost: the smallest and largest "cost" of `/generator`, whose
    /// handler is the same machine code as [`INLINE`]'s (docs/kernels.md), over the settings;
    /// `None` without it.
    pub noise_us: Option<(f64, f64)>,
    /// Per strategy but `/generator`, with [`SizesFacts::noise_us`]: in how many settings its
    /// cost lay above the noise, below it, and of how many measured.
    pub beyond_noise: Vec<BeyondNoise>,
    /// The crossover per setting.
    pub crossovers: Vec<Crossover>,
    /// The sizes where some measured pair's probe p99 rests on fewer than [`MIN_PROBES`]
    /// probes, ascending.
    pub thin_sizes: Vec<u64>,
    /// Every pair measured successfully at every size, in file order: the charts' points.
    pub points: Vec<SizePoint>,
}

impl SizesFacts {
    /// Each strategy of [`SizesFacts::offload_costs`] with its lowest and highest cost over
    /// the settings, µs (`None`: measured in none).
    pub fn offload_cost_bounds(&self) -> impl Iterator<Item = (Strategy, Option<(f64, f64)>)> {
        self.offload_costs
            .iter()
            .map(|(s, cells)| (*s, bounds(cells.iter().flatten().copied())))
    }

    /// [`INLINE`]'s T1 at the smallest n, lowest and highest over the settings, µs.
    pub fn inline_t1_bounds(&self) -> Option<(f64, f64)> {
        bounds(self.inline_t1_us.iter().flatten().copied())
    }

    /// The facts of the sizes experiment; `None` when the run did not measure it.
    pub fn of(r: &Results) -> Option<SizesFacts> {
        if r.sizes.is_empty() {
            return None;
        }
        let settings = settings(r);
        let sizes = sizes(r);
        let strategies = strategies(r);
        let n0 = sizes.first().copied().unwrap_or(0);
        let offload_costs: Vec<(Strategy, Vec<Option<f64>>)> = strategies
            .iter()
            .filter(|s| **s != INLINE)
            .map(|&st| {
                let cells = settings.iter().map(|s| offload_cost_us(r, s, st)).collect();
                (st, cells)
            })
            .collect();
        let mut costs: Vec<OffloadCost> = Vec::new();
        for s in &settings {
            for &st in strategies
                .iter()
                .filter(|x| x.execution() == Execution::Offloaded)
            {
                if let Some(c) = offload_cost_us(r, s, st) {
                    costs.push(OffloadCost {
                        setting: s.short(),
                        strategy: st,
                        cost_us: c,
                    });
                }
            }
        }
        // min_by keeps the first of equal costs, max_by the last: the order they were picked in
        // before these facts existed.
        let cheapest = costs
            .iter()
            .min_by(|a, b| a.cost_us.total_cmp(&b.cost_us))
            .cloned();
        let costliest = costs
            .iter()
            .max_by(|a, b| a.cost_us.total_cmp(&b.cost_us))
            .cloned();
        let noise_us = offload_costs
            .iter()
            .find(|(st, _)| *st == Strategy::Generator)
            .and_then(|(_, cells)| bounds(cells.iter().flatten().copied()));
        let beyond_noise = noise_us
            .map(|(lo, hi)| {
                offload_costs
                    .iter()
                    .filter(|(st, _)| *st != Strategy::Generator)
                    .map(|(st, cells)| {
                        let measured: Vec<f64> = cells.iter().flatten().copied().collect();
                        BeyondNoise {
                            strategy: *st,
                            above: measured.iter().filter(|c| **c > hi).count(),
                            below: measured.iter().filter(|c| **c < lo).count(),
                            of: measured.len(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let thin_sizes = r
            .sizes
            .iter()
            .filter(|s| s.ok() && s.probes < MIN_PROBES)
            .map(|s| s.n)
            .collect::<std::collections::BTreeSet<u64>>()
            .into_iter()
            .collect();
        let points = r
            .sizes
            .iter()
            .filter(|s| s.ok())
            .map(|s| SizePoint {
                target: s.target.clone(),
                workers: s.workers,
                strategy: s.strategy,
                n: s.n,
                probe_p99_us: s.probe_latency_us_p99,
                request_p50_us: s.latency_us_p50,
            })
            .collect();
        Some(SizesFacts {
            points,
            cost_per_unit_us: settings.iter().map(|s| cost_per_unit_us(r, s)).collect(),
            inline_t1_us: settings
                .iter()
                .map(|s| row(r, s, INLINE, n0).and_then(|x| x.t1_us))
                .collect(),
            crossovers: settings.iter().map(|s| crossover(r, s)).collect(),
            kernel: r.sizes.first().map_or("", |s| s.kernel.as_str()).to_owned(),
            offload_costs,
            cheapest,
            costliest,
            noise_us,
            beyond_noise,
            thin_sizes,
            settings,
            sizes,
            strategies,
        })
    }

    /// The measured point of `strategy` at `n` in `setting` (the first, as [`row`] finds it).
    pub fn point(&self, setting: &Setting, strategy: Strategy, n: u64) -> Option<&SizePoint> {
        self.points.iter().find(|p| {
            p.target == setting.target
                && p.workers == setting.workers
                && p.strategy == strategy
                && p.n == n
        })
    }

    /// The sweep's smallest n (0 without one).
    pub fn n0(&self) -> u64 {
        self.sizes.first().copied().unwrap_or(0)
    }
}
