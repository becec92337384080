//! The lag check: the server's own lag monitor sees what the behaviour check sees from outside.
//! With one executor thread, a lone inline `/cycle` of about a second holds the heartbeat for
//! about that second; the same work through `/thread` (a blocking-pool thread) leaves the
//! executor free and the heartbeat on time.

use std::time::Duration;

use common::lag::LagReport;

use crate::behaviour::calibrate_one_worker;
use crate::client::HttpClient;

/// How long the heavy request should take alone.
pub const TARGET: Duration = Duration::from_secs(1);
/// The lag max an inline request must reach: half of [`TARGET`].
pub const BLOCKED_US: u64 = 500_000;
/// The lag max an offloaded request must stay under.
pub const FREE_US: u64 = 100_000;

/// What the lag monitor reported for each kind of request.
#[derive(Debug, Clone)]
pub struct LagContrast {
    /// `n` of both requests, calibrated so that a lone `/cycle` takes about [`TARGET`].
    pub n: u64,
    /// The lone `/cycle` time at that `n` during calibration.
    pub alone: Duration,
    /// The window holding exactly one `/cycle?n=…`.
    pub inline: LagReport,
    /// The window holding exactly one `/thread?n=…`.
    pub offloaded: LagReport,
}

/// `GET /lag`, parsed.
pub async fn fetch_lag(client: &dyn HttpClient, base_url: &str) -> Result<LagReport, String> {
    parse(client.get(&format!("{base_url}/lag")).await, "GET /lag")
}

/// `POST /lag/window`: closes the window, parsed.
pub async fn close_window(client: &dyn HttpClient, base_url: &str) -> Result<LagReport, String> {
    let url = format!("{base_url}/lag/window");
    parse(client.send("POST", &url).await, "POST /lag/window")
}

fn parse(
    r: Result<crate::HttpResponse, crate::ClientError>,
    what: &str,
) -> Result<LagReport, String> {
    let r = r.map_err(|e| format!("{what}: {e}"))?;
    if r.status != 200 {
        return Err(format!("{what}: status {} ({})", r.status, r.body));
    }
    serde_json::from_str(&r.body).map_err(|e| format!("{what}: {e}: {}", r.body))
}

/// Runs the check against a server started with `--workers 1`: one window per request, each
/// closed right before and right after it.
pub async fn lag_contrast(client: &dyn HttpClient, base_url: &str) -> Result<LagContrast, String> {
    let (n, alone) = calibrate_one_worker(client, base_url, TARGET).await?;
    let window = |path: &'static str| async move {
        close_window(client, base_url).await?;
        let url = format!("{base_url}{path}?n={n}");
        let r = client
            .get(&url)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if r.status != 200 {
            return Err(format!("GET {url}: status {}", r.status));
        }
        close_window(client, base_url).await
    };
    let inline = window("/cycle").await?;
    let offloaded = window("/thread").await?;
    Ok(LagContrast {
        n,
        alone,
        inline,
        offloaded,
    })
}
