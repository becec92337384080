//! A run's settings, resolved from the command line ([`crate::cli`]) before anything runs: what
//! to measure ([`Subjects`]), how each pair is measured ([`Plan`]), how the rate experiment
//! steps its load ([`RatePlan`]), `/queue`'s parts ([`QueuePlan`]) and the pools
//! experiment's sweep ([`pool_sweep`]). Plain values: the
//! harness and the experiments read them, nothing here measures.

use std::path::PathBuf;
use std::time::Duration;

use common::Strategy;
use common::kernel::Kernel;

use crate::client::ClientKind;
use crate::cpu::CpuList;
use crate::servers::ServerSource;
use crate::targets::Target;

pub use results_format::Experiment;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subjects {
    /// The workspace's servers, each with each worker count.
    Servers {
        /// Servers, in [`TARGETS`](crate::targets::TARGETS) order.
        targets: Vec<Target>,
        /// The worker sweep.
        workers: Vec<usize>,
        /// Where their binaries come from.
        source: ServerSource,
    },
    /// A server already running at this base URL (no trailing `/`).
    External {
        /// `http://HOST:PORT`.
        url: String,
    },
}

/// A run's settings: the command line with every default resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The experiments, in [`Experiment::ALL`] order, each once.
    pub experiments: Vec<Experiment>,
    /// The sizes experiment's kernel sizes, ascending, each once (`plan.n` is the batch's).
    pub sizes: Vec<u64>,
    /// What to measure.
    pub subjects: Subjects,
    /// Strategies, in `Strategy::ALL` order.
    pub strategies: Vec<Strategy>,
    /// `--strategy` was given: a `--url` server must serve every one of `strategies`;
    /// without it, it is measured on those it serves.
    pub strategies_asked: bool,
    /// How each pair is measured.
    pub plan: Plan,
    /// Which HTTP client.
    pub client: ClientKind,
    /// `--out`: the results directory asked for; `None`: a fresh one under `runs_dir`.
    pub out: Option<PathBuf>,
    /// `--force`: an `--out` holding foreign files is written anyway, keeping them.
    pub force: bool,
    /// `--runs-dir`: where runs of their own go (`runs/` in the workspace by default).
    pub runs_dir: PathBuf,
    /// `--quick`.
    pub quick: bool,
    /// `--server-cpus`.
    pub server_cpus: Option<CpuList>,
    /// `--client-cpus`.
    pub client_cpus: Option<CpuList>,
    /// Added to every server's command line: `--cpus LIST`, then the `--server-arg`s.
    pub server_args: Vec<String>,
    /// How the rate experiment steps its load.
    pub rate: RatePlan,
    /// `--seed`: every experiment's passes are shuffled from it.
    pub seed: u64,
    /// Where /queue's broker is and how many workers it gets.
    pub queue: QueuePlan,
    /// `--cache-hit`: the hit ratios /cached is measured at besides its identical batch,
    /// ascending, each once.
    pub cache_hit: Vec<f64>,
    /// The pools experiment's pool sizes, ascending, each once.
    pub pool_sizes: Vec<usize>,
}

/// The pools experiment's default sweep for a server that may use `cores` cores: 1, cores/2,
/// cores − 1, cores, 2 × cores and 4 × cores (each at least 1), ascending, each once. It
/// follows the machine: 1, 2, 4 on one core; 1, 2, 4, 8 on two; 1, 4, 7, 8, 16, 32 on eight.
pub fn pool_sweep(cores: usize) -> Vec<usize> {
    let cores = cores.max(1);
    let mut sizes: Vec<usize> = [1, cores / 2, cores - 1, cores, 2 * cores, 4 * cores]
        .into_iter()
        .map(|k| k.max(1))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The /queue pairs' parts: the broker and the worker processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlan {
    /// `--broker`: an existing broker; `None`: bench-runner starts its own redis-server.
    pub broker: Option<common::queue::BrokerUrl>,
    /// Worker processes per /queue pair; the first is every experiment's but the queue one's.
    pub workers: Vec<usize>,
    /// Threads of each worker process.
    pub threads: usize,
}

/// How every pair is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The kernel the servers run and every answer is checked for.
    pub kernel: &'static dyn Kernel,
    /// Kernel size of every request.
    pub n: u64,
    /// `yield_every` for `/cycle_sleep`, if not the server's default.
    pub yield_every: Option<u64>,
    /// Requests per batch, C.
    pub concurrency: usize,
    /// Batches per pair, R.
    pub rounds: u32,
    /// Interval of the open-loop probe.
    pub probe_interval: Duration,
    /// Lone requests before the rounds; T1 is the fastest of them and of one more before
    /// each round.
    pub calibration: usize,
    /// Lone requests of the strategy before calibration.
    pub warmup: usize,
    /// Timeout of every request.
    pub request_timeout: Duration,
    /// Cores of this machine (the ideal batch time divides by min(C, cores)).
    pub cores: usize,
}

impl Plan {
    /// The longest wait for background jobs or in-flight requests to finish.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.request_timeout.max(Duration::from_secs(60))
    }
}

/// Default `--load`: fractions of the capacity, from well below it to half again above. Four
/// steps only, to fit the budget (see [`DEFAULT_DURATION`]).
pub const DEFAULT_LOADS: [f64; 4] = [0.5, 0.9, 1.2, 1.5];
/// `--load` with `--quick`: one step below the capacity, one above.
pub const QUICK_LOADS: [f64; 2] = [0.5, 1.5];
/// Default `--duration`: short steps, so that the default matrix (41 pairs × 4 steps, each
/// with its warm-up, drain and idle wait: ~2.5 s per pair) fits in about 100 s here; at 10^7
/// that is still ~40-100 requests per step at capacity on 2 cores (a p99 near the maximum).
pub const DEFAULT_DURATION: Duration = Duration::from_millis(200);
/// `--duration` with `--quick`.
pub const QUICK_DURATION: Duration = Duration::from_millis(200);
/// The shortest warm-up of a step (otherwise a tenth of `--duration`).
pub const MIN_WARMUP: Duration = Duration::from_millis(50);
/// Default `--max-in-flight`: far above what a server at 1.5 × its capacity accumulates in a
/// default step (~70), so a refusal means the server stopped answering.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// What the steps are expressed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Steps {
    /// Fractions of each pair's capacity (`--load`).
    Load(Vec<f64>),
    /// Requests per second, the same for every pair (`--rate`).
    Rate(Vec<f64>),
}

/// How the rate experiment spaces its requests in time (`--arrivals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arrivals {
    /// Constant intervals, 1 / rate apart (as wrk2): the same schedule for every pair.
    Constant,
    /// Poisson arrivals (exponential gaps, as independent users make them) drawn from the
    /// run's `--seed`: the same arrivals, scaled to each step's rate, for every pair.
    Poisson,
}

impl Arrivals {
    /// Its name in metadata.json and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Arrivals::Constant => "constant",
            Arrivals::Poisson => "poisson",
        }
    }
}

/// How the rate experiment runs each pair.
#[derive(Debug, Clone, PartialEq)]
pub struct RatePlan {
    /// The offered loads or rates, ascending, each once.
    pub steps: Steps,
    /// Measured time of each step.
    pub duration: Duration,
    /// Warm-up before it, on the same schedule.
    pub warmup: Duration,
    /// Most requests outstanding at once.
    pub max_in_flight: usize,
    /// How the requests are spaced.
    pub arrivals: Arrivals,
    /// The seed of Poisson arrivals (the run's `--seed`).
    pub seed: u64,
}

impl RatePlan {
    /// The plan of the command line: an empty `--load` is the default list; lists sorted.
    pub fn new(
        steps: Steps,
        duration: Option<Duration>,
        max_in_flight: usize,
        quick: bool,
        arrivals: Arrivals,
        seed: u64,
    ) -> RatePlan {
        let sorted = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let steps = match steps {
            Steps::Load(v) if v.is_empty() => Steps::Load(if quick {
                QUICK_LOADS.to_vec()
            } else {
                DEFAULT_LOADS.to_vec()
            }),
            Steps::Load(v) => Steps::Load(sorted(v)),
            Steps::Rate(v) => Steps::Rate(sorted(v)),
        };
        let duration = duration.unwrap_or(if quick {
            QUICK_DURATION
        } else {
            DEFAULT_DURATION
        });
        RatePlan {
            steps,
            duration,
            warmup: (duration / 10).max(MIN_WARMUP),
            max_in_flight,
            arrivals,
            seed,
        }
    }

    /// How many steps each pair runs (one per pass).
    pub fn step_count(&self) -> usize {
        match &self.steps {
            Steps::Load(loads) => loads.len(),
            Steps::Rate(rates) => rates.len(),
        }
    }

    /// Each step's load (for `--load`) and offered rate, for a pair of capacity `capacity_rps`.
    pub fn rates(&self, capacity_rps: f64) -> Vec<(Option<f64>, f64)> {
        match &self.steps {
            Steps::Load(loads) => loads.iter().map(|l| (Some(*l), l * capacity_rps)).collect(),
            Steps::Rate(rates) => rates.iter().map(|r| (None, *r)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_sweep_follows_the_cores() {
        assert_eq!(pool_sweep(1), [1, 2, 4]);
        assert_eq!(pool_sweep(2), [1, 2, 4, 8]);
        assert_eq!(pool_sweep(4), [1, 2, 3, 4, 8, 16]);
        assert_eq!(pool_sweep(8), [1, 4, 7, 8, 16, 32]);
        assert_eq!(pool_sweep(0), [1, 2, 4]);
    }
}
