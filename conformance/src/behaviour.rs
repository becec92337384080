//! The behaviour check: the strategies really differ. With one executor thread, a `/health`
//! request sent while a long inline request runs must wait for it; while a long offloaded or
//! yielding request runs, it must not. A contrast of several hundred milliseconds against a
//! few, checked with wide margins: a behaviour check, not a benchmark.

use std::time::{Duration, Instant};

use common::Strategy;
use common::reply::Computed;
use common::strategy::Execution;

use crate::checks::fetch_stats;
use crate::client::HttpClient;

/// How long the heavy request should take alone.
const TARGET: Duration = Duration::from_millis(600);
/// When `/health` is sent after the heavy request.
const HEALTH_DELAY: Duration = Duration::from_millis(150);

/// What one strategy did to a concurrent `/health`.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The heavy request's strategy.
    pub strategy: Strategy,
    /// How long the heavy request took (client side).
    pub heavy: Duration,
    /// How long `/health` took, sent `HEALTH_DELAY` after it.
    pub health: Duration,
}

/// The outcome: each strategy's observation, and what contradicts expectations.
#[derive(Debug, Clone)]
pub struct Contrast {
    /// `n` calibrated so that a lone `/cycle` takes about [`TARGET`].
    pub n: u64,
    /// The lone `/cycle` time at that `n`.
    pub alone: Duration,
    /// One per strategy that answers with a result (not `/background`).
    pub observations: Vec<Observation>,
    /// Contradictions; empty when the check passed.
    pub failures: Vec<String>,
}

/// Checks that the server at `base_url` runs one executor thread (`--workers 1`), then finds
/// the `n` whose lone `/cycle` takes about `target`: that `n` and the time it took.
pub(crate) async fn calibrate_one_worker(
    client: &dyn HttpClient,
    base_url: &str,
    target: Duration,
) -> Result<(u64, Duration), String> {
    let stats = fetch_stats(client, base_url).await?;
    if stats.executor_threads != 1 {
        return Err(format!(
            "needs a server with --workers 1; it has {}",
            stats.executor_threads
        ));
    }
    calibrate(client, base_url, stats.max_n, target).await
}

/// Runs the check against a server started with `--workers 1`.
pub async fn blocking_contrast(
    client: &dyn HttpClient,
    base_url: &str,
) -> Result<Contrast, String> {
    let (n, alone) = calibrate_one_worker(client, base_url, TARGET).await?;
    let kind = fetch_stats(client, base_url).await?.kind();
    // A request that waits behind the heavy one waits about (alone - HEALTH_DELAY); one
    // that does not, a few ms. The threshold sits far from both.
    let threshold = alone / 4;
    let mut observations = Vec::new();
    let mut failures = Vec::new();
    for strategy in Strategy::ALL {
        let blocks = match strategy.execution() {
            Execution::Inline => true,
            Execution::Yielding | Execution::Offloaded => false,
            // Answer at once; their work never runs on the executor.
            Execution::Detached | Execution::Job => continue,
        };
        if kind.is_some_and(|k| !strategy.supported_on(k)) {
            continue; // Answers 501 at once: checked by `verify`.
        }
        let heavy_url = format!("{base_url}{}?n={n}", strategy.path());
        let health_url = format!("{base_url}/health");
        let heavy = async {
            let start = Instant::now();
            let r = client
                .get(&heavy_url)
                .await
                .map_err(|e| format!("GET {heavy_url}: {e}"))?;
            if r.status != 200 {
                return Err(format!("GET {heavy_url}: status {}", r.status));
            }
            Ok::<_, String>(start.elapsed())
        };
        let health = async {
            tokio::time::sleep(HEALTH_DELAY).await;
            let start = Instant::now();
            let r = client
                .get(&health_url)
                .await
                .map_err(|e| format!("GET {health_url}: {e}"))?;
            if r.status != 200 {
                return Err(format!("GET {health_url}: status {}", r.status));
            }
            Ok::<_, String>(start.elapsed())
        };
        let (heavy, health) = tokio::join!(heavy, health);
        let (heavy, health) = (heavy?, health?);
        let waited = health >= threshold;
        if waited != blocks {
            failures.push(format!(
                "{}: /health took {health:?} while it ran ({heavy:?}); expected {} {threshold:?}",
                strategy.path(),
                if blocks { "at least" } else { "under" }
            ));
        }
        observations.push(Observation {
            strategy,
            heavy,
            health,
        });
    }
    Ok(Contrast {
        n,
        alone,
        observations,
        failures,
    })
}

/// Finds `n` such that a lone `/cycle` takes about `target` (debug and release builds differ
/// tenfold), within `max_n`.
pub(crate) async fn calibrate(
    client: &dyn HttpClient,
    base_url: &str,
    max_n: u64,
    target: Duration,
) -> Result<(u64, Duration), String> {
    let mut n = 1_000_000u64.min(max_n);
    for _ in 0..12 {
        let url = format!("{base_url}/cycle?n={n}");
        let start = Instant::now();
        let r = client
            .get(&url)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let took = start.elapsed();
        serde_json::from_str::<Computed>(&r.body).map_err(|e| format!("GET {url}: {e}"))?;
        if took >= target || n == max_n {
            return Ok((n, took));
        }
        let factor = (target.as_secs_f64() / took.as_secs_f64().max(1e-4)).clamp(2.0, 100.0);
        n = ((n as f64 * factor * 1.1) as u64).min(max_n);
    }
    Err(format!(
        "could not calibrate n: /cycle stays under {target:?} up to n={n}"
    ))
}
