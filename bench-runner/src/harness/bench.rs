//! One measurement per (target, workers, strategy): start the server, verify it, warm up,
//! calibrate T1, run the rounds with the open-loop probe beside each batch, wait until the
//! server is idle, stop it. Records everything raw ([`Measurement`]); the figures are derived
//! later ([`crate::harness::summary`]) so the CSVs and the console agree by construction.
//!
//! Memory: every request and every probe is kept (a default run is ~3 000 requests and
//! ~10 000 probes), because raw.csv and probes.csv want one row each, and because a run that
//! is interrupted writes nothing, so nothing can be streamed to disk early.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::Strategy;
use common::app::Stats;
use common::cache::CacheStats;
use conformance::{HttpClient, Mode, ServerProcess};
use tokio::task::JoinSet;

use crate::cpu::{self, CpuTime};
use crate::harness::broker::{QueueParts, Workers};
use crate::harness::cache_mix::{CacheCounts, CacheRound, HOT_KEYS, Mix, mix_keys, round_seed};
use crate::harness::http::{RequestError, call_checked, strategy_query, timed_get};
use crate::harness::lag::{self, LagAnswer, LagWindow};
use crate::harness::memory;
use crate::harness::passes::{RunClock, Slot};
use crate::harness::probe::{self, ClientFactory, ProbeConfig};
use crate::harness::records::{
    Labels, Log, Lone, Measurement, Place, RequestRecord, Round, Verification,
};
use crate::harness::spawner;
use crate::harness::stop::Stop;
use crate::sched::{self, Party, Watch};
use crate::settings::Plan;
use crate::targets::Target;

/// How long a server may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a started server may take to answer `/health` with 200.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(10);
/// SIGTERM, then SIGKILL after this long.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// `--shutdown-quiet-ms` of every server bench-runner starts. A server's default, 200 ms, lets
/// requests that clients sent just before the stop reach their handler; bench-runner stops a
/// server only once it is idle with every answer in (nothing of its own is in flight), so a
/// short quiet loses nothing, and with the default a stop took 208–226 ms: ~150 ms of waiting in
/// each of a run's ~1,300 visits, before the next round's clock could start.
pub const SHUTDOWN_QUIET_MS: u64 = 20;
/// How often `/stats` is polled while waiting for the server to be idle or background jobs to
/// finish (the completion time itself is the server's record, not the poll's).
const STATS_POLL: Duration = Duration::from_millis(2);

/// The measuring engine: the two clients and the plan, reused for every pair.
pub struct Bench {
    client: Arc<dyn HttpClient>,
    probe: ClientFactory,
    plan: Plan,
    client_name: &'static str,
    server_extra: Vec<String>,
    clk_tck: u64,
    /// Whether CPU is read from the scheduler's per-thread figures ([`sched`]) or, where the
    /// kernel has none, from clock ticks.
    schedstat: bool,
    queue: Result<Option<Arc<QueueParts>>, String>,
    clock: RunClock,
    stopping: Stopping,
    /// The run's stop request.
    stop: Stop,
    /// The strategies whose answers the conformance suite checks on a `--url` server: the
    /// run's, those it serves ([`Bench::with_external_strategies`]); ours are checked for all.
    external_strategies: Vec<Strategy>,
    /// `/cached`'s hit ratios asked (`--cache-hit`), each a round per visit after the batch's.
    cache_mixes: Vec<f64>,
    /// `--seed`: the key mixes' draws come from it.
    seed: u64,
    /// Each server configuration's conformance verdict, once it passed: the suite checks every
    /// strategy of a server, so the pairs of one configuration (the same binary and command
    /// line, the strategy aside) share it instead of each running the same checks again.
    verified: std::sync::Mutex<HashMap<ServerConfig, Verification>>,
}

/// What a server's command line is made of, beyond what is the same for every server of a
/// [`Bench`] (its plan and `--server-arg`s): the binary, the target's own arguments (by its
/// name), the executor threads, a visit's extra arguments, and whether a broker is given
/// (`/queue` pairs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ServerConfig {
    binary: PathBuf,
    target: &'static str,
    workers: usize,
    extra: Vec<String>,
    broker: bool,
}

/// The pair processes of the last visit, stopping in the background ([`Bench::stop_later`]):
/// a server takes some time to stop (it waits [`SHUTDOWN_QUIET_MS`] for its connections to go
/// quiet, then for its threads), which over a run's thousand visits would add up. The next
/// visit starts its own server meanwhile, and waits for the stop to finish before its clock
/// starts ([`Bench::settle_previous`]): no round runs beside a stopping server.
#[derive(Debug, Default)]
struct Stopping {
    /// The pair's name and its stop.
    pending: tokio::sync::Mutex<Option<(String, tokio::task::JoinHandle<Vec<String>>)>>,
    /// What went wrong in finished stops: (pair name, note).
    notes: std::sync::Mutex<Vec<(String, String)>>,
}

/// A pair's processes: its server, and for `/queue` the worker processes computing its jobs.
#[derive(Debug)]
pub struct PairProcesses {
    /// The server.
    pub server: ServerProcess,
    /// The queue workers (none but for `/queue`).
    pub workers: Workers,
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("plan", &self.plan)
            .field("client", &self.client_name)
            .field("server_extra", &self.server_extra)
            .finish()
    }
}

impl Bench {
    /// `client` sends the batches, the warm-up, the calibration and the `/stats` polls;
    /// `probe` makes the client of each round's `/health` probe, on the probe's own thread
    /// (its own pool, its own connection).
    pub fn new(
        client: Arc<dyn HttpClient>,
        probe: ClientFactory,
        plan: Plan,
        client_name: &'static str,
    ) -> Bench {
        Bench {
            client,
            probe,
            plan,
            client_name,
            server_extra: vec![],
            clk_tck: cpu::clock_ticks_per_second(),
            schedstat: sched::available(),
            queue: Ok(None),
            clock: RunClock::start(),
            stopping: Stopping::default(),
            stop: Stop::new(),
            external_strategies: Strategy::ALL.to_vec(),
            cache_mixes: vec![],
            seed: 0,
            verified: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// `/cached` is also measured at each of these hit ratios (`--cache-hit`), its keys drawn
    /// from `seed` ([`super::cache_mix`]).
    pub fn with_cache_mixes(mut self, ratios: Vec<f64>, seed: u64) -> Bench {
        self.cache_mixes = ratios;
        self.seed = seed;
        self
    }

    /// The run's stop request, which every experiment's loop of visits watches.
    pub fn with_stop(mut self, stop: Stop) -> Bench {
        self.stop = stop;
        self
    }

    /// The run's stop request ([`Stop`]).
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// `/queue`'s broker and workers ([`QueueParts::prepare`]): `Err` says why `/queue` pairs
    /// are not applicable.
    pub fn with_queue(mut self, queue: Result<Option<QueueParts>, String>) -> Bench {
        self.queue = queue.map(|q| q.map(Arc::new));
        self
    }

    /// The broker and how to start workers, if this run has them.
    pub fn queue(&self) -> Option<&Arc<QueueParts>> {
        self.queue.as_ref().ok().and_then(Option::as_ref)
    }

    /// Why `target` cannot run `strategy` here: its runtime cannot (`/block_in_place` off
    /// tokio multi-thread), or `/queue` without a broker.
    pub fn not_applicable(&self, target: &Target, strategy: Strategy) -> Option<String> {
        let keys_end = self.plan.n.saturating_add(super::cache_mix::FRESH_KEYS);
        if strategy.caches_answers() && keys_end > self.plan.kernel.default_max_n() {
            return Some(format!(
                "{} asks for fresh keys n + 1, n + 2… up to n + {} (cache_mix.rs), past {}'s \
                 --max-n of {}",
                strategy.path(),
                super::cache_mix::FRESH_KEYS,
                self.plan.kernel.name(),
                self.plan.kernel.default_max_n()
            ));
        }
        if strategy == Strategy::Queue {
            match &self.queue {
                Ok(Some(_)) => {}
                Ok(None) => return Some("no /queue broker in this run".into()),
                Err(why) => return Some(why.clone()),
            }
        }
        (!target.runs(strategy)).then(|| {
            format!(
                "{} does not run on {} (common's Strategy::supported_on); the server answers 501",
                strategy.path(),
                target.kind
            )
        })
    }

    /// Starts a pair's processes: for `/queue`, the first `--queue-workers` count of worker
    /// processes, then the server with `--broker`; for the rest, the server alone
    /// ([`Bench::start_server`]).
    pub async fn start_pair(
        &self,
        target: &Target,
        binary: &Path,
        workers: usize,
        strategy: Strategy,
        extra: &[String],
    ) -> Result<PairProcesses, String> {
        let mut extra = extra.to_vec();
        let mut queue_workers = Workers::default();
        if strategy == Strategy::Queue {
            let parts = self
                .queue()
                .ok_or_else(|| "/queue without a broker".to_owned())?;
            let count = parts.workers.first().copied().unwrap_or(1);
            queue_workers = parts.start_workers(count, None).await?;
            extra.extend(["--broker".to_owned(), parts.url().to_owned()]);
        }
        let server = self.start_server(target, binary, workers, &extra).await?;
        Ok(PairProcesses {
            server,
            workers: queue_workers,
        })
    }

    /// The plan every pair is measured with (the batch experiment's; other experiments
    /// derive theirs from it, at another `n`, say).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Arguments added to every server's command line (`--cpus LIST`, `--server-arg`s).
    pub fn server_extra(&self) -> &[String] {
        &self.server_extra
    }

    /// Clock ticks per second of `/proc/PID/stat`'s CPU times (read once).
    pub fn clk_tck(&self) -> u64 {
        self.clk_tck
    }

    /// The client's name (`wire`, `hyper`, `reqwest`, `surf`).
    pub fn client_name(&self) -> &'static str {
        self.client_name
    }

    /// The configuration of a `/health` probe of the server at `base`, on the plan's schedule.
    pub fn probe_config(&self, base: &str) -> ProbeConfig {
        ProbeConfig {
            url: format!("{base}/health"),
            interval: self.plan.probe_interval,
            timeout: self.plan.request_timeout,
            client: Arc::clone(&self.probe),
        }
    }

    /// The strategies a `--url` server is verified for: the ones the run measures on it (by
    /// default, every strategy).
    pub fn with_external_strategies(mut self, strategies: Vec<Strategy>) -> Bench {
        self.external_strategies = strategies;
        self
    }

    /// Arguments added to every server's command line (`--cpus LIST`, `--server-arg`s).
    pub fn with_server_args(mut self, args: Vec<String>) -> Bench {
        self.server_extra = args;
        self
    }

    /// A pair's record before its first visit: who, which strategy, the plan; marked not
    /// applicable when the target's runtime cannot run the strategy (no visit starts a server
    /// then).
    pub fn new_measurement(&self, subject: Subject<'_>, strategy: Strategy) -> Measurement {
        match subject {
            Subject::Server {
                target, workers, ..
            } => {
                let labels = Labels::of_server(target, self.client_name, workers);
                let mut m = Measurement::new(labels, strategy, self.plan);
                m.not_applicable = self.not_applicable(target, strategy);
                m
            }
            Subject::External { .. } => {
                let mut m =
                    Measurement::new(Labels::external(self.client_name), strategy, self.plan);
                if strategy == Strategy::Background {
                    m.notes.push(
                        "external target: no /stats, so background completion is not measured \
                         and jobs may still run when the next measurement starts"
                            .into(),
                    );
                }
                m
            }
        }
    }

    /// One visit of a pair: on our servers a fresh process, started on port 0 and stopped
    /// afterwards; checked first (`Bench::check`); then `body`, which records into `m` (its
    /// rounds, notes). Every experiment's pair goes through here, so each is measured on a
    /// server started, verified and stopped the same way. `body`'s error, or a failed start or
    /// check, becomes [`Measurement::failure`], and a failed or not-applicable pair is not
    /// visited again. A stop that went wrong is a note (each once).
    pub async fn visit(
        &self,
        subject: Subject<'_>,
        m: &mut Measurement,
        log: &dyn Log,
        body: impl AsyncFnOnce(&mut Session<'_>, &mut Measurement) -> Result<(), String>,
    ) {
        self.visit_with(subject, &[], m, log, body).await;
    }

    /// [`Bench::visit`], with `extra` added to the server's command line (after the run's
    /// `--server-arg`s): how the pools experiment sets each pair's pool size. A `--server-arg`
    /// giving the same flag makes the server refuse to start (the pair fails, saying so).
    pub async fn visit_with(
        &self,
        subject: Subject<'_>,
        extra: &[String],
        m: &mut Measurement,
        log: &dyn Log,
        body: impl AsyncFnOnce(&mut Session<'_>, &mut Measurement) -> Result<(), String>,
    ) {
        if m.not_applicable.is_some() || m.failure.is_some() {
            return;
        }
        let first = m.verification.is_none();
        let outcome = match subject {
            Subject::Server {
                target,
                binary,
                workers,
            } => {
                let mut pair = match self
                    .start_pair(target, binary, workers, m.strategy, extra)
                    .await
                {
                    Ok(pair) => pair,
                    Err(why) => {
                        m.failure = Some(why);
                        return;
                    }
                };
                let config = ServerConfig {
                    binary: binary.to_path_buf(),
                    target: target.name,
                    workers,
                    extra: extra.to_vec(),
                    broker: m.strategy == Strategy::Queue,
                };
                let workers = pair.workers.pids();
                let mut session = Session::ours(&mut pair.server).with_workers(workers);
                let outcome = match self.check(&mut session, first, Some(&config), m, log).await {
                    Ok(()) => body(&mut session, m).await,
                    Err(why) => Err(why),
                };
                self.stop_later(m.name(), pair).await;
                outcome
            }
            Subject::External { url } => {
                let mut session = Session::external(url);
                match self.check(&mut session, first, None, m, log).await {
                    Ok(()) => body(&mut session, m).await,
                    Err(why) => Err(why),
                }
            }
        };
        if let Err(why) = outcome {
            m.failure = Some(why);
        }
    }

    /// Before a visit measures: on the pair's first visit the whole conformance suite
    /// ([`Bench::verify`]), unless its server configuration `config` already passed it (on
    /// another strategy's first visit: the verdict is shared); on a later one (a fresh
    /// process of a server already verified, or the same `--url` server) `/health` and an
    /// idle server: the visit's warm-up then checks the strategy's answers, as every timed
    /// request does.
    async fn check(
        &self,
        s: &mut Session<'_>,
        first: bool,
        config: Option<&ServerConfig>,
        m: &mut Measurement,
        log: &dyn Log,
    ) -> Result<(), String> {
        if !first {
            return self.healthy(s).await;
        }
        let verified = |c: &ServerConfig| self.verified_configs().get(c).cloned();
        if let Some(v) = config.and_then(verified) {
            log.line(&format!(
                "{} (the same server configuration, verified on another strategy's visit)",
                v.line()
            ));
            m.verification = Some(v);
            return self.healthy(s).await;
        }
        self.verify(s, &mut m.verification, log).await?;
        if let (Some(c), Some(v)) = (config, &m.verification) {
            self.verified_configs().insert(c.clone(), v.clone());
        }
        Ok(())
    }

    fn verified_configs(&self) -> std::sync::MutexGuard<'_, HashMap<ServerConfig, Verification>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A later visit's check of a fresh process of a server already verified: `/health`
    /// answers 200 and the server is idle.
    pub async fn healthy(&self, s: &mut Session<'_>) -> Result<(), String> {
        self.wait_healthy(&s.base).await?;
        s.check_alive()?;
        self.idle(s).await
    }

    /// Stops `pair` (the processes of the pair named `name`) in the background, after the
    /// previous visit's stop has finished: at most one pair is ever stopping.
    pub async fn stop_later(&self, name: String, pair: PairProcesses) {
        self.settle_previous().await;
        let handle = tokio::spawn(stop_pair(pair));
        *self.stopping.pending.lock().await = Some((name, handle));
    }

    /// Waits until the previous visit's processes have stopped; what went wrong is kept for
    /// [`Bench::stop_notes`]. Called before every round's clock starts, and at an experiment's
    /// end.
    pub async fn settle_previous(&self) {
        let pending = self.stopping.pending.lock().await.take();
        if let Some((name, handle)) = pending {
            let notes = handle
                .await
                .unwrap_or_else(|e| vec![format!("stopping the server: {e}")]);
            self.stopping
                .notes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(notes.into_iter().map(|n| (name.clone(), n)));
        }
    }

    /// What went wrong when the processes of the pair named `name` were stopped (each note
    /// once), taken: call it after [`Bench::settle_previous`] at an experiment's end.
    pub fn stop_notes(&self, name: &str) -> Vec<String> {
        let mut all = self
            .stopping
            .notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut mine = Vec::new();
        all.retain(|(pair, note)| {
            if pair != name {
                return true;
            }
            if !mine.contains(note) {
                mine.push(note.clone());
            }
            false
        });
        mine
    }

    /// `at` as an offset from the run's start (where every round's start is placed).
    pub fn run_offset(&self, at: Instant) -> Duration {
        self.clock.offset(at)
    }

    /// Runs `body` against a fresh `target` server with `workers` executor threads in one
    /// visit ([`Bench::visit`]): for experiments that measure a pair on one server (its stop
    /// notes are in before this returns).
    pub async fn on_server(
        &self,
        target: &Target,
        binary: &Path,
        workers: usize,
        strategy: Strategy,
        log: &dyn Log,
        body: impl AsyncFnOnce(&mut Session<'_>, &mut Measurement) -> Result<(), String>,
    ) -> Measurement {
        let subject = Subject::Server {
            target,
            binary,
            workers,
        };
        let mut m = self.new_measurement(subject, strategy);
        self.visit(subject, &mut m, log, body).await;
        self.settle_previous().await;
        for note in self.stop_notes(&m.name()) {
            m.notes.push(note);
        }
        m
    }

    /// Starts a fresh `target` server with `workers` executor threads on 127.0.0.1:0, with
    /// the plan's limits, the `--server-arg`s and `extra`; it dies with bench-runner
    /// ([`crate::harness::spawner`]).
    pub async fn start_server(
        &self,
        target: &Target,
        binary: &Path,
        workers: usize,
        extra: &[String],
    ) -> Result<ServerProcess, String> {
        let mut args: Vec<String> = target.args.iter().map(|a| (*a).to_owned()).collect();
        args.extend(server_args(&self.plan, workers));
        args.extend(self.server_extra.iter().cloned());
        args.extend(extra.iter().cloned());
        // No server outlives bench-runner, even one killed with SIGKILL (crate::harness::spawner).
        args.extend(["--exit-with-parent".into(), std::process::id().to_string()]);
        match spawner::start(binary.to_path_buf(), args, STARTUP_TIMEOUT).await {
            Ok(Ok(server)) => Ok(server),
            Ok(Err(e)) => Err(format!("server did not start ({}): {e}", binary.display())),
            Err(e) => Err(format!("server start-up task failed: {e}")),
        }
    }

    /// [`Bench::on_server`] for the server already running at `url` (verified in the
    /// conformance suite's external mode; nothing started or stopped).
    pub async fn on_external(
        &self,
        url: &str,
        strategy: Strategy,
        log: &dyn Log,
        body: impl AsyncFnOnce(&mut Session<'_>, &mut Measurement) -> Result<(), String>,
    ) -> Measurement {
        let subject = Subject::External { url };
        let mut m = self.new_measurement(subject, strategy);
        self.visit(subject, &mut m, log, body).await;
        self.settle_previous().await;
        for note in self.stop_notes(&m.name()) {
            m.notes.push(note);
        }
        m
    }

    /// Waits until the server answers `/health`, verifies it with the conformance suite
    /// (the verdict goes into `verification` and is printed), and waits until it is idle.
    pub async fn verify(
        &self,
        s: &mut Session<'_>,
        verification: &mut Option<Verification>,
        log: &dyn Log,
    ) -> Result<(), String> {
        self.wait_healthy(&s.base).await?;
        let strategies = match s.mode {
            Mode::Ours => &Strategy::ALL[..],
            Mode::External => &self.external_strategies,
        };
        let report = conformance::verify_strategies(
            &*self.client,
            &s.base,
            s.mode,
            self.plan.kernel,
            strategies,
        )
        .await;
        let verdict = Verification::of(&report);
        let passed = verdict.passed;
        let failed = verdict.failed.join("; ");
        log.line(&verdict.line());
        *verification = Some(verdict);
        if !passed {
            return Err(format!("verification failed, not measured: {failed}"));
        }
        s.check_alive()?;
        self.idle(s).await
    }

    /// Waits until the server is idle, on our servers (an external one has no `/stats`).
    pub async fn idle(&self, s: &Session<'_>) -> Result<(), String> {
        if s.mode == Mode::Ours {
            self.wait_idle(&s.base).await?;
        }
        Ok(())
    }

    /// Warms up: C concurrent /health requests open the batch's connections, then a few
    /// requests of the strategy itself, of `plan`'s size; then waits until the server is idle.
    pub async fn warm_up(
        &self,
        s: &Session<'_>,
        strategy: Strategy,
        plan: &Plan,
    ) -> Result<(), String> {
        let base = &s.base;
        let url = format!(
            "{base}{}?{}",
            strategy.path(),
            strategy_query(strategy, plan)
        );
        let method = strategy.method();
        let health = format!("{base}/health");
        let mut set = JoinSet::new();
        for _ in 0..plan.concurrency {
            let client = Arc::clone(&self.client);
            let health = health.clone();
            let timeout = plan.request_timeout;
            set.spawn(async move { timed_get(&*client, &health, timeout).await.1.is_ok() });
        }
        let opened = set.join_all().await.into_iter().filter(|ok| *ok).count();
        if opened < plan.concurrency {
            return Err(format!(
                "warm-up: {} of {} concurrent /health requests failed",
                plan.concurrency - opened,
                plan.concurrency
            ));
        }
        for _ in 0..plan.warmup {
            let record = self.lone(base, strategy, s.mode, plan).await;
            if let Some(e) = record.error {
                return Err(format!("warm-up request {method} {url}: {e}"));
            }
        }
        self.idle(s).await
    }

    /// The batch experiment's part of one visit: warm-up, on the pair's first visit the
    /// calibration, then one lone request and one round. T1 is the fastest of every lone
    /// request of every visit: on a shared machine interference only ever adds time (the same
    /// kernel was seen to take 6.7 to 15 ms within seconds here), so the fastest is the best
    /// estimate of what the work costs alone, and the ideal batch built on it a bound no batch
    /// beats; the lone request before each round is kept with it ([`Round::lone`]), the
    /// machine's speed at that moment.
    pub async fn batch_visit(
        &self,
        s: &mut Session<'_>,
        m: &mut Measurement,
        slot: Slot,
        log: &dyn Log,
    ) -> Result<(), String> {
        let strategy = m.strategy;
        let plan = &self.plan;
        self.warm_up(s, strategy, &fresh_plan(m, plan)).await?;
        if m.rounds.is_empty() {
            for _ in 0..plan.calibration {
                let lone = self.lone_time(s, strategy, &fresh_plan(m, plan)).await?;
                m.keep_fastest(&lone);
            }
        }
        self.idle(s).await?;
        let lone = self.lone_time(s, strategy, &fresh_plan(m, plan)).await?;
        m.keep_fastest(&lone);
        self.idle(s).await?;
        let number = m.rounds.len() as u32 + 1;
        let round_plan = fresh_plan(m, plan);
        let before = self.cache_stats(s, strategy).await?;
        let mut round = self.round(s, strategy, number, &round_plan).await?;
        if strategy == Strategy::Cached {
            let counts = self.cache_counts(s, strategy, before).await?;
            round.kernels = counts.map(|c| c.misses);
            let cached = self.cache_round(Mix::Identical, slot.pass, counts, &round);
            m.cache_rounds.push(cached);
        }
        round.place.pass = slot.pass;
        round.place.position = slot.position;
        round.lone = Some(lone.record.latency);
        round.lone_done = lone.done;
        // The Python demo's line, in the one unit of every time here.
        let mut line = format!(
            "Batch of {} requests to {} took {:.1} ms (pass {}/{})",
            plan.concurrency,
            strategy.path(),
            round.batch.as_secs_f64() * 1e3,
            slot.pass,
            plan.rounds
        );
        if let Some(done) = round.background_done {
            line.push_str(&format!(
                "; all jobs done after {:.1} ms",
                done.as_secs_f64() * 1e3
            ));
        }
        log.line(&line);
        m.rounds.push(round);
        s.check_alive()?;
        self.idle(s).await?;
        request_errors(&m.rounds)?;
        if strategy == Strategy::Cached {
            self.cache_mixes(s, m, slot, log).await?;
        }
        Ok(())
    }

    /// `/cached`'s rounds at each hit ratio asked (`--cache-hit`, [`super::cache_mix`]):
    /// [`HOT_KEYS`] fresh `n` computed first (not measured), then one round per ratio in which
    /// each request asks for one of them with that probability and for a fresh `n` otherwise,
    /// the server's cache counts read around it.
    async fn cache_mixes(
        &self,
        s: &mut Session<'_>,
        m: &mut Measurement,
        slot: Slot,
        log: &dyn Log,
    ) -> Result<(), String> {
        if self.cache_mixes.is_empty() {
            return Ok(());
        }
        let plan = self.plan;
        let mut hot = Vec::new();
        for _ in 0..HOT_KEYS {
            let key = fresh_plan(m, &plan);
            self.lone_time(s, Strategy::Cached, &key).await?;
            hot.push(key.n);
        }
        for &hit in &self.cache_mixes {
            self.idle(s).await?;
            let seed = round_seed(self.seed, slot.pass, hit);
            let keys = mix_keys(hit, plan.concurrency, &hot, &mut m.keys, plan.n, seed);
            let before = self.cache_stats(s, Strategy::Cached).await?;
            let round = self
                .round_with_keys(s, Strategy::Cached, 0, &plan, &keys)
                .await?;
            let counts = self.cache_counts(s, Strategy::Cached, before).await?;
            let cached = self.cache_round(Mix::HitRatio(hit), slot.pass, counts, &round);
            log.line(&format!(
                "   /cached at hit ratio {hit} asked: {} of {} hits, {} kernels computed, batch {:.1} ms",
                counts.map_or("?".into(), |c| c.hits.to_string()),
                keys.len(),
                counts.map_or("?".into(), |c| c.misses.to_string()),
                round.batch.as_secs_f64() * 1e3
            ));
            m.cache_rounds.push(cached);
            s.check_alive()?;
            request_errors(std::slice::from_ref(&round))?;
        }
        self.idle(s).await
    }

    /// `/stats`' cache before a `/cached` round on our servers; `None` otherwise (a `--url`
    /// server's `/stats` is not ours to read).
    async fn cache_stats(
        &self,
        s: &Session<'_>,
        strategy: Strategy,
    ) -> Result<Option<CacheStats>, String> {
        if strategy != Strategy::Cached || s.mode != Mode::Ours {
            return Ok(None);
        }
        Ok(Some(self.stats(&s.base).await?.cache))
    }

    /// What the cache counted since `before` (`None` where there is no `before`).
    async fn cache_counts(
        &self,
        s: &Session<'_>,
        strategy: Strategy,
        before: Option<CacheStats>,
    ) -> Result<Option<CacheCounts>, String> {
        let Some(before) = before else {
            return Ok(None);
        };
        let after = self.cache_stats(s, strategy).await?;
        Ok(after.map(|after| CacheCounts::between(&before, &after)))
    }

    /// A `/cached` round's figures for cache.csv.
    fn cache_round(
        &self,
        mix: Mix,
        pass: u32,
        counts: Option<CacheCounts>,
        round: &Round,
    ) -> CacheRound {
        let timeout = self.plan.request_timeout;
        CacheRound {
            mix,
            pass,
            counts,
            batch: round.batch,
            latencies: round.requests.iter().map(|r| r.latency).collect(),
            errors: round.requests.iter().filter(|r| r.error.is_some()).count(),
            probes: round
                .probes
                .iter()
                .map(|p| p.counted_latency(timeout))
                .collect(),
            probe_errors: round.probes.iter().filter(|p| p.error.is_some()).count(),
        }
    }

    /// One request alone of `plan`'s size, checked, timed as every request (its round trip);
    /// for `/background` on our servers also until the job it started ended, as the server
    /// recorded it: that is its work alone, which C × T1 / cores must count to mean the same
    /// as for every other strategy.
    pub async fn lone_time(
        &self,
        s: &Session<'_>,
        strategy: Strategy,
        plan: &Plan,
    ) -> Result<Lone, String> {
        let sent = SystemTime::now();
        let record = self.lone(&s.base, strategy, s.mode, plan).await;
        if let Some(e) = record.error {
            return Err(format!(
                "lone request {} {}?{}: {e}",
                strategy.method(),
                strategy.path(),
                strategy_query(strategy, plan)
            ));
        }
        let done = if strategy == Strategy::Background && s.mode == Mode::Ours {
            Some(self.wait_background_done(&s.base, sent).await?)
        } else {
            None
        };
        Ok(Lone { record, done })
    }

    /// One request alone, checked.
    async fn lone(&self, base: &str, strategy: Strategy, mode: Mode, plan: &Plan) -> RequestRecord {
        exchange(&*self.client, base, strategy, plan, mode, 0, Instant::now()).await
    }

    /// One round: a batch of C concurrent requests of `plan`'s size, with the open-loop
    /// `/health` probe running beside it, the server's CPU time, lag window and peak memory
    /// read around it; for `/background` on our servers, until its jobs finished.
    pub async fn round(
        &self,
        s: &Session<'_>,
        strategy: Strategy,
        number: u32,
        plan: &Plan,
    ) -> Result<Round, String> {
        let keys = vec![plan.n; plan.concurrency];
        self.round_with_keys(s, strategy, number, plan, &keys).await
    }

    /// [`Bench::round`] with request `i` asking for `keys[i]` instead of the plan's `n` (and
    /// checked against it): `/cached`'s key mixes. `keys` has one `n` per request.
    pub async fn round_with_keys(
        &self,
        s: &Session<'_>,
        strategy: Strategy,
        number: u32,
        plan: &Plan,
        keys: &[u64],
    ) -> Result<Round, String> {
        let (base, mode, pid) = (s.base.as_str(), s.mode, s.pid);
        let plan = *plan;
        let ours = mode == Mode::Ours;
        // No round beside a stopping server.
        self.settle_previous().await;
        // The probe's thread, runtime and connection are up before the batch's clock starts.
        let ready = tokio::task::spawn_blocking({
            let config = self.probe_config(base);
            move || probe::prepare(config)
        })
        .await
        .map_err(|e| format!("probe start-up failed: {e}"))??;
        // Close the server's lag window: everything before the batch is left out.
        let lag_open = if ours {
            self.lag_window(base).await?
        } else {
            None
        };
        // The server's peak RSS counts from here: VmHWM reset to the current RSS.
        let rss_reset = pid.filter(|pid| match memory::reset_peak(*pid) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("warning: cannot reset the server's peak RSS: {e}");
                false
            }
        });
        // The scheduler's figures for every thread of the pair and of bench-runner, or clock
        // ticks of the server and bench-runner where the kernel has none.
        let watch = pid
            .filter(|_| self.schedstat)
            .map(|pid| Watch::open(self.parties(pid, &s.workers)));
        let cpu_start = pid
            .filter(|_| watch.is_none())
            .map(|pid| (CpuTime::of(Some(pid)), CpuTime::of(None), Instant::now()));
        let start_wall = SystemTime::now();
        let start = Instant::now();
        let probe = ready.start(start);
        let mut set = JoinSet::new();
        for (index, &n) in keys.iter().enumerate() {
            let client = Arc::clone(&self.client);
            let base = base.to_owned();
            let plan = Plan { n, ..plan };
            set.spawn(async move {
                exchange(&*client, &base, strategy, &plan, mode, index, start).await
            });
        }
        let mut requests = Vec::with_capacity(plan.concurrency);
        let mut failed = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(record) => requests.push(record),
                Err(e) => failed = Some(format!("request task failed: {e}")),
            }
        }
        requests.sort_by_key(|r| r.index);
        let batch = requests
            .iter()
            .map(|r| r.start_offset + r.latency)
            .max()
            .unwrap_or(Duration::ZERO);
        let background_done = if strategy == Strategy::Background && ours {
            match self.wait_background_done(base, start_wall).await {
                Ok(done) => Some(done),
                Err(why) => {
                    failed.get_or_insert(why);
                    None
                }
            }
        } else {
            None
        };
        // The CPU and lag windows end here too: the batch, and for /background the jobs' run.
        let usage = watch.map(Watch::close);
        let (server_cpu, client_cpu, cpu_wall) = match (&usage, cpu_start) {
            (Some(u), _) => (Some(u.server().oncpu), Some(u.client.oncpu), Some(u.wall)),
            (None, Some((s0, c0, t0))) => {
                let (s1, c1, t1) = (CpuTime::of(pid), CpuTime::of(None), Instant::now());
                (
                    s0.zip(s1).map(|(a, b)| b.since(a, self.clk_tck)),
                    c0.zip(c1).map(|(a, b)| b.since(a, self.clk_tck)),
                    Some(t1 - t0),
                )
            }
            (None, None) => (None, None, None),
        };
        let server_peak_rss_kib = rss_reset.and_then(memory::peak_kib);
        let lag = match lag_open {
            Some(_) => self.lag_window(base).await?,
            None => None,
        };
        // The probe covers the batch and, for /background, the jobs' run (up to now: the
        // completion is known only once /stats has shown it).
        let end = Instant::now();
        let probes = tokio::task::spawn_blocking(move || probe.finish(end))
            .await
            .map_err(|e| format!("probe thread: {e}"))??;
        if let Some(why) = failed {
            return Err(why);
        }
        Ok(Round {
            number,
            place: Place {
                pass: 0,
                position: 0,
                server_pid: pid,
                start_offset: self.clock.offset(start),
            },
            lone: None,
            lone_done: None,
            batch,
            kernels: None,
            background_done,
            requests,
            probes,
            server_cpu,
            client_cpu,
            cpu_wall,
            sched: usage,
            lag,
            server_peak_rss_kib,
        })
    }

    /// The processes a round's [`Watch`] reads: the server, its queue workers and then the
    /// broker (ours, for a pair with workers), and bench-runner itself.
    fn parties(&self, server: u32, workers: &[u32]) -> Vec<(Party, u32)> {
        let mut parties = vec![(Party::Server, server)];
        parties.extend(workers.iter().map(|&pid| (Party::Worker, pid)));
        if !workers.is_empty()
            && let Ok(Some(queue)) = &self.queue
            && let Some(broker) = queue.broker_pid()
        {
            parties.push((Party::Broker, broker));
        }
        parties.push((Party::Client, std::process::id()));
        parties
    }

    /// `POST /lag/window`: the window it closed, or `None` if the server has no `/lag`.
    async fn lag_window(&self, base: &str) -> Result<Option<LagWindow>, String> {
        let url = format!("{base}/lag/window");
        let answer =
            tokio::time::timeout(self.plan.request_timeout, self.client.send("POST", &url))
                .await
                .map_err(|_| "POST /lag/window: timeout".to_owned())?
                .map_err(|e| format!("POST /lag/window: {e}"))?;
        Ok(match lag::parse_answer(answer.status, &answer.body)? {
            LagAnswer::Window(w) => Some(w),
            LagAnswer::Unsupported(_) => None,
        })
    }

    async fn wait_healthy(&self, base: &str) -> Result<(), String> {
        let url = format!("{base}/health");
        let deadline = Instant::now() + HEALTHY_TIMEOUT;
        loop {
            let last = match timed_get(&*self.client, &url, self.plan.request_timeout)
                .await
                .1
            {
                Ok(r) if r.status == 200 => return Ok(()),
                Ok(r) => format!("status {}", r.status),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "GET /health did not answer 200 within {HEALTHY_TIMEOUT:?} (last: {last})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stats(&self, base: &str) -> Result<Stats, String> {
        let url = format!("{base}/stats");
        let r = timed_get(&*self.client, &url, self.plan.request_timeout)
            .await
            .1
            .map_err(|e| format!("GET /stats: {e}"))?;
        if r.status != 200 {
            return Err(format!("GET /stats: status {}", r.status));
        }
        serde_json::from_str(&r.body).map_err(|e| format!("GET /stats: unreadable body: {e}"))
    }

    /// Until no strategy request is in flight and no background job is queued or running:
    /// nothing of one measurement leaks into the next.
    pub async fn wait_idle(&self, base: &str) -> Result<(), String> {
        let deadline = Instant::now() + self.plan.idle_timeout();
        loop {
            let s = self.stats(base).await?;
            let jobs_idle = s.jobs.queued == 0 && s.jobs.running == 0;
            let bounded_idle = s.bounded.running == 0 && s.bounded.waiting == 0;
            if s.in_flight == 0 && s.background.is_idle() && jobs_idle && bounded_idle {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "server not idle after {:?}: {} requests in flight, background {:?}, jobs {:?}, bounded {:?}",
                    self.plan.idle_timeout(),
                    s.in_flight,
                    s.background,
                    s.jobs,
                    s.bounded
                ));
            }
            tokio::time::sleep(STATS_POLL).await;
        }
    }

    /// Waits until `/stats` shows no background job queued or running, then gives the time
    /// from `since` to the last job's completion as the server recorded it (wall clock: client
    /// and server run on the same machine). Polling only tells *that* the jobs are done; *when*
    /// comes from the server, exact to the microsecond, whatever the polling interval.
    async fn wait_background_done(
        &self,
        base: &str,
        since: SystemTime,
    ) -> Result<Duration, String> {
        let deadline = Instant::now() + self.plan.idle_timeout();
        let s = loop {
            let s = self.stats(base).await?;
            if s.background.is_idle() {
                break s;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "background jobs not finished after {:?}: {} queued, {} running",
                    self.plan.idle_timeout(),
                    s.background.queued,
                    s.background.running
                ));
            }
            tokio::time::sleep(STATS_POLL).await;
        };
        completion_since(since, s.background.last_completed_unix_us)
    }
}

/// From `since` to the completion the server recorded (`last_completed_unix_us` in `/stats`).
fn completion_since(since: SystemTime, completed_unix_us: Option<u64>) -> Result<Duration, String> {
    let completed_unix_us = completed_unix_us.ok_or(
        "/stats reports no background completion time (background.last_completed_unix_us)",
    )?;
    let completed = SystemTime::UNIX_EPOCH + Duration::from_micros(completed_unix_us);
    completed.duration_since(since).map_err(|_| {
        format!(
            "the last background job completed before the request that started it was sent              (server clock {completed_unix_us} µs): was the clock stepped?"
        )
    })
}

/// The plan of `m`'s next request or round: for `/cached` with an `n` it has not asked for
/// yet (each round must miss to be the coalescing case, [`super::cache_mix`]), otherwise the
/// plan as it is.
fn fresh_plan(m: &mut Measurement, plan: &Plan) -> Plan {
    if m.strategy == Strategy::Cached {
        Plan {
            n: m.keys.fresh(plan.n),
            ..*plan
        }
    } else {
        *plan
    }
}

/// `3 of 240 probes failed (2 timeout, 1 transport)`, or `None` when every probe was answered.
/// A failed probe is the worst stall there is: the pair says so in its note, and the summary
/// counts it at no less than the timeout.
pub fn probe_errors_note(rounds: &[Round]) -> Option<String> {
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let mut total = 0;
    for p in rounds.iter().flat_map(|r| &r.probes) {
        total += 1;
        if let Some(e) = &p.error {
            let kind = e.split(':').next().unwrap_or(e);
            *kinds.entry(kind).or_default() += 1;
        }
    }
    let failed: usize = kinds.values().sum();
    (failed > 0).then(|| {
        let list: Vec<String> = kinds.iter().map(|(k, v)| format!("{v} {k}")).collect();
        format!("{failed} of {total} probes failed ({})", list.join(", "))
    })
}

/// The server's command line: port 0, the worker count, the shutdown's quiet period, and limits
/// raised when the plan needs it.
pub fn server_args(plan: &Plan, workers: usize) -> Vec<String> {
    // ServerProcess::start adds `--bind 127.0.0.1:0`.
    let mut args = vec![
        "--workers".into(),
        workers.to_string(),
        "--shutdown-quiet-ms".into(),
        SHUTDOWN_QUIET_MS.to_string(),
    ];
    if plan.kernel != common::kernel::DEFAULT {
        args.extend(["--kernel".into(), plan.kernel.name().into()]);
    }
    if plan.n > plan.kernel.default_max_n() {
        args.extend(["--max-n".into(), plan.n.to_string()]);
    }
    // Warm-up and calibration jobs are waited for, so a batch is the most ever pending.
    if plan.concurrency > 1024 {
        let c = plan.concurrency.to_string();
        args.extend([
            "--max-background".into(),
            c.clone(),
            "--max-queue".into(),
            c,
        ]);
    }
    args
}

/// Stops a pair's server, then its queue workers: a note for each that went wrong.
pub async fn stop_pair(pair: PairProcesses) -> Vec<String> {
    let mut notes: Vec<String> = stop_server(pair.server).await.into_iter().collect();
    notes.extend(pair.workers.stop().await.0);
    notes
}

/// Stops `server` (SIGTERM, then SIGKILL after a grace period): a note if that went wrong.
pub async fn stop_server(server: ServerProcess) -> Option<String> {
    match tokio::task::spawn_blocking(move || server.stop(STOP_GRACE)).await {
        Ok(Ok(status)) if status.success() => None,
        Ok(Ok(status)) => Some(format!("server exited with {status} when stopped")),
        Ok(Err(e)) => Some(format!("stopping the server: {e}")),
        Err(e) => Some(format!("stopping the server: {e}")),
    }
}

/// What a pair is measured on: one of our servers (a fresh process each visit) or the
/// server at `--url`.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// One of ours.
    Server {
        /// Which.
        target: &'a Target,
        /// Its binary.
        binary: &'a Path,
        /// `--workers`.
        workers: usize,
    },
    /// The `--url` server.
    External {
        /// Its base URL.
        url: &'a str,
    },
}

/// The server a pair is measured on, once verified: where it is, whether it is ours (then it
/// has `/stats` and a pid), and the process, to notice a crash.
#[derive(Debug)]
pub struct Session<'a> {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Ours (started here) or external (`--url`).
    pub mode: Mode,
    /// The server's pid (ours only).
    pub pid: Option<u32>,
    /// The pids of its queue workers (`/queue` pairs only), whose CPU a round reads too.
    pub workers: Vec<u32>,
    server: Option<&'a mut ServerProcess>,
}

impl<'a> Session<'a> {
    /// The session of `server`, which we started.
    pub fn ours(server: &'a mut ServerProcess) -> Session<'a> {
        Session {
            base: server.base_url(),
            mode: Mode::Ours,
            pid: Some(server.pid()),
            workers: Vec::new(),
            server: Some(server),
        }
    }

    /// With the pids of the pair's queue workers.
    pub fn with_workers(mut self, workers: Vec<u32>) -> Session<'a> {
        self.workers = workers;
        self
    }

    /// The session of the server already running at `url` (`--url`).
    pub fn external(url: &str) -> Session<'a> {
        Session {
            base: url.to_owned(),
            mode: Mode::External,
            pid: None,
            workers: Vec::new(),
            server: None,
        }
    }

    /// An error if the server we started has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.server.as_mut().and_then(|s| s.try_exited()) {
            Some(status) => Err(format!("server crashed: it exited with {status}")),
            None => Ok(()),
        }
    }
}

/// What the reader should know of a pair's `rounds`: probes that failed, lag not measured.
pub fn round_notes(mode: Mode, rounds: &[Round]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(note) = probe_errors_note(rounds) {
        notes.push(note);
    }
    if mode == Mode::Ours && !rounds.is_empty() && rounds.iter().all(|r| r.lag.is_none()) {
        notes.push("the server answers no POST /lag/window: lag columns blank".into());
    }
    notes
}

/// An error counting the requests of `rounds` that were not verified answers, by kind: a
/// pair with any such request failed.
pub fn request_errors(rounds: &[Round]) -> Result<(), String> {
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut total = 0;
    for r in rounds.iter().flat_map(|r| &r.requests) {
        total += 1;
        if let Some(e) = &r.error {
            let kind = match e {
                RequestError::Status(s) => format!("status {s}"),
                other => other.kind().to_owned(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
    }
    if kinds.is_empty() {
        return Ok(());
    }
    let bad: usize = kinds.values().sum();
    let list: Vec<String> = kinds.iter().map(|(k, v)| format!("{v} {k}")).collect();
    Err(format!(
        "{bad} of {total} requests failed: {}",
        list.join(", ")
    ))
}

/// One request of `strategy`, timed from just before the client is called to the last byte of
/// the answer and checked; `start` is the batch's start. For `/jobs` it is the whole exchange a
/// client of the job API makes: `POST /jobs?n=…` (202 with the job's URL), then
/// `GET /jobs/{id}?wait=true` until the result is there. One timeout bounds the whole of it.
async fn exchange(
    client: &dyn HttpClient,
    base: &str,
    strategy: Strategy,
    plan: &Plan,
    mode: Mode,
    index: usize,
    start: Instant,
) -> RequestRecord {
    let start_offset = start.elapsed();
    let sent = Instant::now();
    let (status, error) = call_checked(client, base, strategy, plan, mode).await;
    let latency = sent.elapsed();
    RequestRecord {
        index,
        start_offset,
        latency,
        status,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::probe::ProbeRecord;

    fn plan() -> Plan {
        Plan {
            kernel: common::kernel::DEFAULT,
            n: 10,
            yield_every: None,
            concurrency: 3,
            rounds: 1,
            probe_interval: Duration::from_millis(5),
            calibration: 1,
            warmup: 1,
            request_timeout: Duration::from_secs(2),
            cores: 2,
        }
    }

    #[test]
    fn urls_and_server_args() {
        let mut p = plan();
        assert_eq!(strategy_query(Strategy::Thread, &p), "n=10");
        assert_eq!(strategy_query(Strategy::CycleSleep, &p), "n=10");
        p.yield_every = Some(7);
        assert_eq!(
            strategy_query(Strategy::CycleSleep, &p),
            "n=10&yield_every=7"
        );
        assert_eq!(strategy_query(Strategy::Cycle, &p), "n=10");
        assert_eq!(
            server_args(&p, 2),
            ["--workers", "2", "--shutdown-quiet-ms", "20"]
        );
        p.n = common::cli::DEFAULT_MAX_N + 1;
        p.concurrency = 2000;
        let args = server_args(&p, 1).join(" ");
        assert!(
            args.ends_with(&format!(
                "--max-n {} --max-background 2000 --max-queue 2000",
                p.n
            )),
            "{args}"
        );
    }

    /// /background's T1 and completion come from the server's record of when the last job
    /// finished, not from when a poll of /stats noticed it.
    #[test]
    fn background_completion_is_the_servers_record() {
        let sent = SystemTime::UNIX_EPOCH + Duration::from_micros(1_000_000_000);
        let done = Some(1_000_004_850);
        assert_eq!(
            completion_since(sent, done),
            Ok(Duration::from_micros(4_850))
        );
        let why = completion_since(sent, None).expect_err("no record");
        assert!(why.contains("last_completed_unix_us"), "{why}");
        let why = completion_since(sent, Some(999_000_000)).expect_err("before the send");
        assert!(why.contains("clock"), "{why}");
    }

    #[test]
    fn probe_errors_are_noted() {
        let ms = Duration::from_millis;
        let probe = |error: Option<&str>| ProbeRecord {
            index: 0,
            scheduled_offset: ms(0),
            connection: 0,
            harness_late: ms(0),
            answer: ms(1),
            status: error.is_none().then_some(200),
            error: error.map(str::to_owned),
        };
        let round = |probes| Round {
            number: 1,
            place: Place::default(),
            lone: None,
            lone_done: None,
            batch: ms(10),
            kernels: None,
            background_done: None,
            requests: vec![],
            probes,
            server_cpu: None,
            client_cpu: None,
            cpu_wall: None,
            sched: None,
            lag: None,
            server_peak_rss_kib: None,
        };
        assert_eq!(probe_errors_note(&[round(vec![probe(None)])]), None);
        let rounds = [
            round(vec![probe(None), probe(Some("timeout"))]),
            round(vec![
                probe(Some("transport: reset")),
                probe(Some("timeout")),
            ]),
        ];
        assert_eq!(
            probe_errors_note(&rounds).as_deref(),
            Some("3 of 4 probes failed (2 timeout, 1 transport)")
        );
    }

    /// `/cached` is not measured where its fresh keys would pass the kernel's `--max-n`
    /// (argon2: n = 1, max 10), and is where they fit (sum-squares); other strategies are not
    /// affected.
    #[tokio::test]
    async fn cached_needs_room_for_its_fresh_keys() {
        let bench = |plan: Plan| {
            let client = crate::client::ClientKind::Hyper
                .build(Duration::from_secs(1), 1)
                .expect("client");
            let probe: ClientFactory =
                Arc::new(|| crate::client::ClientKind::Hyper.build(Duration::from_secs(1), 1));
            Bench::new(client, probe, plan, "hyper")
        };
        let target = crate::targets::TARGETS[0];
        let argon2 = common::kernel::find(common::kernel::KERNELS, "argon2").expect("argon2");
        let small = bench(Plan {
            kernel: argon2,
            n: 1,
            ..plan()
        });
        let why = small
            .not_applicable(&target, Strategy::Cached)
            .expect("not applicable");
        assert!(why.contains("--max-n of 10"), "{why}");
        assert_eq!(small.not_applicable(&target, Strategy::Rayon), None);
        assert_eq!(
            bench(plan()).not_applicable(&target, Strategy::Cached),
            None
        );
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_named_failure_not_an_error() {
        struct Quiet;
        impl Log for Quiet {
            fn line(&self, _: &str) {}
        }
        let client = crate::client::ClientKind::Reqwest
            .build(Duration::from_secs(1), 1)
            .expect("client");
        let probe: ClientFactory =
            Arc::new(|| crate::client::ClientKind::Reqwest.build(Duration::from_secs(1), 1));
        let bench = Bench::new(client, probe, plan(), "reqwest");
        let target = crate::targets::TARGETS[0];
        let subject = Subject::Server {
            target: &target,
            binary: Path::new("/nonexistent/server-none"),
            workers: 1,
        };
        let mut m = bench.new_measurement(subject, Strategy::Thread);
        let slot = Slot {
            pass: 1,
            position: 0,
        };
        let body = async |s: &mut Session<'_>, m: &mut Measurement| {
            bench.batch_visit(s, m, slot, &Quiet).await
        };
        bench.visit(subject, &mut m, &Quiet, body).await;
        assert_eq!(m.name(), "tokio, workers=1, /thread");
        let failure = m.failure.expect("failed");
        assert!(
            failure.contains("did not start") && failure.contains("server-none"),
            "{failure}"
        );
        assert!(m.rounds.is_empty() && m.verification.is_none());
    }
}
