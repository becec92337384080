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

/// Default `--load`: fractions of the capacity around it, from a half to twice (issue 24's
/// points, less 0.9 and 1.1, and less 0.25, to fit the budget: a step of 500 answers at a
/// quarter of the capacity lasted as long as the three steps past it together, and took 31 of
/// the rate experiment's 113 s in the baseline that had it; no knee or verdict came from it).
pub const DEFAULT_LOADS: [f64; 6] = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0];
/// `--load` with `--quick`: one step below the capacity, one above.
pub const QUICK_LOADS: [f64; 2] = [0.5, 1.5];
/// Default `--step-answers`: a step is measured until it has sent at least this many requests
/// (its p99 then rests on 500 answers, five beyond it, not on its maximum), within
/// [`DEFAULT_STEP_CAP`]. At the rate experiment's n (a tenth of the batch's: about 0.6 ms)
/// the default run's 30 pairs × 6 steps fit in about a minute and a half here; at the
/// batch's n, 500 answers at half the capacity would take 4 s a step.
pub const DEFAULT_ANSWERS: u64 = 500;
/// `--step-answers` with `--quick`.
pub const QUICK_ANSWERS: u64 = 100;
/// Default `--step-cap`: the longest measured time of a step, whatever it has sent.
pub const DEFAULT_STEP_CAP: Duration = Duration::from_secs(2);
/// Default `--duration`: the shortest measured time of a step, whatever it has sent.
pub const DEFAULT_DURATION: Duration = Duration::from_millis(100);
/// `--duration` with `--quick`.
pub const QUICK_DURATION: Duration = Duration::from_millis(100);
/// The shortest warm-up of a step (otherwise a tenth of its measured time).
pub const MIN_WARMUP: Duration = Duration::from_millis(50);
/// The rate experiment's n without `--rate-n`: the run's n divided by this (at least 1).
pub const RATE_N_DIVISOR: u64 = 10;
/// Default `--max-in-flight`: far above what a server at twice its capacity accumulates in a
/// default step (its backlog grows by the capacity each second: about 450 requests over a
/// step of 0.15 s at 3,000 requests/s), so a refusal means the server stopped answering.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

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
    /// Shortest measured time of a step (`--duration`).
    pub duration: Duration,
    /// Least requests a step's measured part sends, unless [`RatePlan::cap`] ends it first
    /// (`--step-answers`).
    pub answers: u64,
    /// Longest measured time of a step (`--step-cap`; never below `duration`).
    pub cap: Duration,
    /// Kernel size of the rate experiment's requests (`--rate-n`); `None`: the run's n ÷
    /// [`RATE_N_DIVISOR`].
    pub n: Option<u64>,
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
            answers: if quick {
                QUICK_ANSWERS
            } else {
                DEFAULT_ANSWERS
            },
            cap: DEFAULT_STEP_CAP.max(duration),
            n: None,
            max_in_flight,
            arrivals,
            seed,
        }
    }

    /// The measured time of a step offered `rate` requests per second: long enough for
    /// [`RatePlan::answers`] requests, within `duration`..`cap`.
    pub fn measured(&self, rate: f64) -> Duration {
        let wanted = if rate > 0.0 {
            Duration::try_from_secs_f64(self.answers as f64 / rate).unwrap_or(self.cap)
        } else {
            self.cap
        };
        wanted.clamp(self.duration, self.cap.max(self.duration))
    }

    /// The warm-up before a measured time of `measured`, on the same schedule: a tenth of it,
    /// at least [`MIN_WARMUP`].
    pub fn warmup(measured: Duration) -> Duration {
        (measured / 10).max(MIN_WARMUP)
    }

    /// The rate experiment's kernel size in a run of kernel size `run_n`.
    pub fn n(&self, run_n: u64) -> u64 {
        self.n.unwrap_or((run_n / RATE_N_DIVISOR).max(1))
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
