//! `--url`: one check, before any pair, that the server there is one bench-runner can measure.
//! Every pair starts by waiting up to 10 s for `GET /health` to answer 200 (a server of ours
//! may still be starting); against a URL that is not such a server, that was 10 s per pair
//! and a screen of identical failures. Checked once here, it fails at once, with what to do.

use std::time::Duration;

use common::Strategy;
use conformance::HttpClient;

use crate::harness::http::{RequestError, timed_get};

/// The longest the check waits for an answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the server at `--url` cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum NotMeasurable {
    /// No HTTP answer at all.
    #[error(
        "--url {url}: nothing answers GET {url}/health ({why}); start the server first, or \
         check the address; nothing measured"
    )]
    NoAnswer {
        /// The base URL.
        url: String,
        /// What the client saw.
        why: RequestError,
    },
    /// An answer, but not the one every server this benchmark measures gives.
    #[error(
        "--url {url} is not a server this benchmark can measure: GET /health answered \
         {status}{content} instead of 200. bench-runner measures this workspace's servers, or \
         any server that answers GET /health with 200 (its responsiveness probe) and serves the \
         strategies' paths with ?n=N ({paths}; the Python demo does); nothing measured"
    )]
    NotOurs {
        /// The base URL.
        url: String,
        /// The status of `GET /health`.
        status: u16,
        /// ` (text/html)`, or nothing when the answer had no content type.
        content: String,
        /// The strategies' paths, for the message.
        paths: String,
    },
}

/// Checks that `url` answers `GET /health` with 200, as every server bench-runner can measure
/// does (ours, the Python demo).
pub async fn check(
    client: &dyn HttpClient,
    url: &str,
    timeout: Duration,
) -> Result<(), NotMeasurable> {
    let health = format!("{url}/health");
    match timed_get(client, &health, timeout.min(CHECK_TIMEOUT))
        .await
        .1
    {
        Ok(r) if r.status == 200 => Ok(()),
        Ok(r) => Err(NotMeasurable::NotOurs {
            url: url.to_owned(),
            status: r.status,
            content: r
                .content_type
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            paths: Strategy::DEMO
                .iter()
                .map(|s| s.path())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        Err(why) => Err(NotMeasurable::NoAnswer {
            url: url.to_owned(),
            why,
        }),
    }
}
