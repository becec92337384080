//! The conformance checks: what every server must answer, checked the same way for all three
//! (and, as far as possible, for an external server such as the original Python demo).
//! They run on a tokio runtime (reqwest needs one; they also use its timer).

use std::fmt;
use std::time::{Duration, Instant};

use common::app::Stats;
use common::jobs::JobStatus;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use common::kernel::Kernel;
use common::openapi::{self, Facts};
use common::reply::{Accepted, Computed, ErrorBody};
use common::strategy::Execution;
use common::{CONTENT_TYPE, Endpoint, HTML_CONTENT_TYPE, RuntimeKind, Strategy};
use serde_json::Value;

use crate::client::{ClientError, HttpClient, HttpResponse};

/// Kernel sizes every strategy is checked at: 0, 1, a few, and the kernel's default `n`
/// (for `sum-squares`: 0, 1, 10, 10^7; for `argon2`: 0, 1, 2 hashes).
pub fn checked_n(kernel: &dyn Kernel) -> Vec<u64> {
    let default = kernel.default_n();
    let mut ns = vec![0, 1, 10.min(2 * default), default];
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// The right answer of `kernel` for `n`: its oracle where it has one, otherwise the kernel's
/// own result, computed here once per kernel and `n` (on the calling thread: the first call
/// for a slow kernel takes as long as one request) and kept for the process's life.
pub fn expected(kernel: &dyn Kernel, n: u64) -> String {
    if let Some(answer) = kernel.oracle(n) {
        return answer;
    }
    static ANSWERS: Mutex<Option<HashMap<(&'static str, u64), String>>> = Mutex::new(None);
    let mut answers = ANSWERS.lock().unwrap_or_else(PoisonError::into_inner);
    answers
        .get_or_insert_with(HashMap::new)
        .entry((kernel.name(), n))
        .or_insert_with(|| kernel.run(n))
        .clone()
}

/// How much to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One of this workspace's servers: every body, error and counter.
    Ours,
    /// Any server exposing the strategy paths (the Python demo, say): status codes, and
    /// totals where the body has a `total` field; the rest is reported as skipped.
    External,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It held.
    Passed,
    /// It did not; why.
    Failed(String),
    /// Not checked; why.
    Skipped(String),
}

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`total /cycle n=10`).
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Every check run against one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// In the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The failed checks.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
            .collect()
    }

    /// The skipped checks.
    pub fn skipped(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
            .collect()
    }

    /// `41 passed, 0 failed, 3 skipped` and one line per failure.
    pub fn summary(&self) -> String {
        let failures = self.failures();
        let passed = self.checks.len() - failures.len() - self.skipped().len();
        let mut s = format!(
            "{passed} checks passed, {} failed, {} skipped",
            failures.len(),
            self.skipped().len()
        );
        for c in failures {
            s.push_str(&format!("\n  FAILED {c}"));
        }
        s
    }

    fn record(&mut self, name: impl Into<String>, result: Result<(), String>) {
        let outcome = match result {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        };
        self.checks.push(Check {
            name: name.into(),
            outcome,
        });
    }

    fn skip(&mut self, name: impl Into<String>, why: &str) {
        self.checks.push(Check {
            name: name.into(),
            outcome: Outcome::Skipped(why.into()),
        });
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Passed => write!(f, "{}: passed", self.name),
            Outcome::Failed(why) => write!(f, "{}: {why}", self.name),
            Outcome::Skipped(why) => write!(f, "{}: skipped ({why})", self.name),
        }
    }
}

/// Runs every check against the server at `base_url` (`http://127.0.0.1:PORT`), which must run
/// `kernel` (our servers' `/stats` says which they run): [`verify_strategies`] with every
/// strategy.
pub async fn verify(
    client: &dyn HttpClient,
    base_url: &str,
    mode: Mode,
    kernel: &dyn Kernel,
) -> Report {
    verify_strategies(client, base_url, mode, kernel, &Strategy::ALL).await
}

/// The checks of [`verify`], with the strategies' answers checked for `strategies` only.
///
/// `External` (a `--url` server): `GET /health` answers 200, and each of `strategies` answers
/// its request at the kernel's default `n` with a 2xx and, where the body is JSON with a
/// `total` field, the right total ([`check_answer`]); every other check (errors, 405s, the job
/// API, `/stats`, the documents) is ours and reported as skipped, so a server is asked only for
/// the routes it is measured on.
pub async fn verify_strategies(
    client: &dyn HttpClient,
    base_url: &str,
    mode: Mode,
    kernel: &dyn Kernel,
    strategies: &[Strategy],
) -> Report {
    let mut report = Report::default();
    let get = |path: String| {
        let url = format!("{base_url}{path}");
        async move {
            client
                .get(&url)
                .await
                .map_err(|e| format!("GET {url}: {e}"))
        }
    };

    // /health
    let health = get("/health".into()).await;
    match mode {
        Mode::Ours => report.record(
            "GET /health",
            health.and_then(|r| expect_json(&r, 200, "/health")),
        ),
        Mode::External => match health {
            Ok(r) if r.status == 200 => report.record("GET /health", Ok(())),
            _ => report.skip(
                "GET /health",
                "no /health endpoint: the probe will count its errors",
            ),
        },
    }

    // /stats gives max_n, needed for the above-maximum checks.
    let stats = match mode {
        Mode::Ours => {
            let stats = fetch_stats(client, base_url).await;
            report.record(
                "GET /stats",
                stats.as_ref().map(|_| ()).map_err(Clone::clone),
            );
            report.record(
                "kernel in /stats",
                match &stats {
                    Ok(s) if s.kernel == kernel.name() => Ok(()),
                    Ok(s) => Err(format!(
                        "the server runs the kernel {:?}, expected {:?}",
                        s.kernel,
                        kernel.name()
                    )),
                    Err(e) => Err(e.clone()),
                },
            );
            stats.ok()
        }
        Mode::External => {
            report.skip("GET /stats", "external server: no /stats");
            None
        }
    };

    // The runtime decides which strategies run at all (`Strategy::supported_on`).
    let kind = stats.as_ref().and_then(|s| {
        let kind = s.kind();
        if kind.is_none() {
            report.record(
                "/stats names a known runtime kind",
                Err(format!(
                    "runtime {:?} flavor {:?} is none of common's RuntimeKind::ALL",
                    s.runtime, s.flavor
                )),
            );
        }
        kind
    });

    // Right totals for every strategy and n; 501 where the runtime cannot run the strategy.
    for &strategy in strategies {
        for n in checked_n(kernel) {
            let name = format!("total {} n={n}", strategy.path());
            if mode == Mode::External && n != kernel.default_n() {
                report.skip(name, "external server: checked at the default n only");
                continue;
            }
            // A server without `--broker` answers /queue with its clear 503 `no_broker`.
            if strategy == Strategy::Queue
                && mode == Mode::Ours
                && stats.as_ref().is_some_and(|s| s.broker.is_none())
            {
                let url = format!("{base_url}{}?n={n}", strategy.path());
                let r = send(client, strategy.method(), &url).await;
                report.record(
                    format!("503 no_broker {} n={n}", strategy.path()),
                    r.and_then(|r| check_no_broker(&r)),
                );
                continue;
            }
            if let Some(kind) = kind.filter(|k| !strategy.supported_on(*k)) {
                let url = format!("{base_url}{}?n={n}", strategy.path());
                let r = send(client, strategy.method(), &url).await;
                report.record(
                    format!("501 {} n={n} on {kind}", strategy.path()),
                    r.and_then(|r| check_not_supported(&r, kind)),
                );
                continue;
            }
            let result = call_strategy(client, base_url, strategy, &format!("n={n}"))
                .await
                .map_err(|e| format!("{} {}: {e}", strategy.method(), strategy.path()));
            if mode == Mode::External && matches!(&result, Ok(r) if r.status == 404) {
                report.skip(name, "not exposed by this server");
                continue;
            }
            // An external server with /queue but no broker behind it: nothing to check there.
            if mode == Mode::External
                && strategy == Strategy::Queue
                && matches!(&result, Ok(r) if r.status == 503)
            {
                report.skip(name, "/queue answers 503: no broker behind this server");
                continue;
            }
            report.record(
                name,
                result.and_then(|r| {
                    check_answer(kernel, strategy, n, &r, mode).map_err(|e| e.to_string())
                }),
            );
        }
    }
    // Many slices: 1000 units in slices of 7 (3 argon2 hashes one at a time).
    let n = 1000.min(3 * kernel.default_n());
    let every = 7.min((n / 2).max(1));
    let name = format!("total /cycle_sleep n={n} yield_every={every}");
    match mode {
        Mode::Ours => {
            let r = get(format!("/cycle_sleep?n={n}&yield_every={every}")).await;
            report.record(
                name,
                r.and_then(|r| {
                    check_answer(kernel, Strategy::CycleSleep, n, &r, mode)
                        .map_err(|e| e.to_string())
                }),
            );
        }
        Mode::External => report.skip(name, "external server: yield_every is ours"),
    }

    // Bad input: a 400 naming the parameter, for every strategy.
    for strategy in Strategy::ALL {
        for (query, param, reason) in bad_inputs(strategy, stats.as_ref().map(|s| s.max_n)) {
            let name = format!("400 {}?{query}", strategy.path());
            if mode == Mode::External {
                report.skip(name, "external server: error bodies are ours");
                continue;
            }
            let url = format!("{base_url}{}?{query}", strategy.path());
            let r = send(client, strategy.method(), &url).await;
            report.record(
                name,
                r.and_then(|r| check_error(&r, 400, Some((param, reason)))),
            );
        }
    }

    // Unknown path, wrong method.
    if mode == Mode::Ours {
        let r = get("/no-such-endpoint".into()).await;
        report.record(
            "404 GET /no-such-endpoint",
            r.and_then(|r| check_error(&r, 404, None)),
        );
    } else {
        report.skip(
            "404 GET /no-such-endpoint",
            "external server: only the measured routes are asked for",
        );
    }
    // Every endpoint with a method it does not answer: the JSON 405, and an `Allow` header
    // naming the methods it does.
    let mut wrong_methods: Vec<(&str, String)> = Endpoint::all()
        .map(|e| {
            let wrong = if e.method() == "GET" { "POST" } else { "GET" };
            (wrong, e.path().replace("{id}", "1"))
        })
        .collect();
    wrong_methods.push(("DELETE", "/jobs/1".into()));
    wrong_methods.push(("PUT", "/health".into()));
    for (method, path) in wrong_methods {
        let name = format!("405 {method} {path}");
        if mode == Mode::External {
            report.skip(
                name,
                "external server: only the measured routes are asked for",
            );
            continue;
        }
        let r = send(client, method, &format!("{base_url}{path}")).await;
        report.record(
            name,
            r.and_then(|r| check_error(&r, 405, None).and_then(|()| check_allow(&r, &path))),
        );
    }

    // The job APIs: unknown ids, bad wait values. /queue's ids are the broker's: without
    // one, every id gets the 503 `no_broker`.
    let no_broker = stats.as_ref().is_some_and(|s| s.broker.is_none());
    let queue_missing = if no_broker { 503 } else { 404 };
    for (path, status, param) in [
        ("/jobs/999999999", 404, None),
        ("/jobs/not-a-number", 404, None),
        ("/jobs/1?wait=maybe", 400, Some(("wait", "not_a_boolean"))),
        ("/jobs/1?n=5", 400, Some(("n", "unknown_parameter"))),
        ("/queue/999999999", queue_missing, None),
        ("/queue/not-a-number", queue_missing, None),
        ("/queue/1?wait=maybe", 400, Some(("wait", "not_a_boolean"))),
        ("/queue/1?n=5", 400, Some(("n", "unknown_parameter"))),
    ] {
        let name = format!("{status} GET {path}");
        if mode == Mode::External {
            report.skip(name, "external server: the job API is ours");
            continue;
        }
        let r = get(path.to_owned()).await;
        report.record(
            name,
            r.and_then(|r| {
                if status == 503 {
                    check_no_broker(&r)
                } else if status == 404 {
                    // The job API's own 404 ("no job …"), not the router's ("no endpoint"):
                    // tide's routing-error middleware once rewrote one into the other.
                    check_error(&r, status, param).and_then(|()| served(&r))
                } else {
                    check_error(&r, status, param)
                }
            }),
        );
    }

    // Every endpoint of the list is served (the strategies were called above), and its two
    // documents describe exactly what it serves.
    match (mode, stats.as_ref()) {
        (Mode::Ours, Some(stats)) => {
            for e in Endpoint::OTHERS {
                let path = e.path().replace("{id}", "1");
                let r = send(client, e.method(), &format!("{base_url}{path}")).await;
                report.record(
                    format!("served {} {}", e.method(), e.path()),
                    r.and_then(|r| served(&r)),
                );
            }
            let r = get("/openapi.json".into()).await;
            report.record(
                "GET /openapi.json",
                r.and_then(|r| check_openapi(&r, &Facts::of_stats(stats, kernel))),
            );
            let r = get("/docs".into()).await;
            report.record("GET /docs", r.and_then(|r| check_docs(&r)));
            // A query string is ignored, as /health ignores one.
            for path in ["/health", "/openapi.json", "/docs"] {
                let r = get(format!("{path}?x=1&%FF")).await;
                report.record(
                    format!("GET {path}?x=1&%FF"),
                    r.and_then(|r| expect_status(&r, 200)),
                );
            }
        }
        (Mode::Ours, None) => report.record("GET /openapi.json", Err("no /stats".into())),
        (Mode::External, _) => report.skip("GET /openapi.json", "external server: ours"),
    }

    // The server is still serving after all that.
    let r = get("/health".into()).await;
    match mode {
        Mode::Ours => report.record(
            "alive after bad input",
            r.and_then(|r| expect_status(&r, 200)),
        ),
        Mode::External => report.skip("alive after bad input", "external server: no /health"),
    }

    // Background jobs accepted above all complete, and /stats says so.
    match mode {
        Mode::Ours => {
            let r = wait_background_idle(client, base_url, Duration::from_secs(60)).await;
            report.record(
                "background jobs complete in /stats",
                r.and_then(|s| {
                    let bg = s.background;
                    let want = u64::try_from(checked_n(kernel).len()).unwrap_or_default();
                    if bg.completed >= want && bg.completed == bg.accepted && bg.abandoned == 0 {
                        Ok(())
                    } else {
                        Err(format!("/stats background after drain: {bg:?}"))
                    }
                }),
            );
        }
        Mode::External => report.skip("background jobs complete", "external server: no /stats"),
    }
    report
}

/// The bad queries each strategy must refuse, with the parameter and reason expected.
fn bad_inputs(strategy: Strategy, max_n: Option<u64>) -> Vec<(String, &'static str, &'static str)> {
    let mut cases = vec![
        ("n=abc".to_owned(), "n", "not_a_number"),
        ("n=".to_owned(), "n", "not_a_number"),
        ("n=1.5".to_owned(), "n", "not_a_number"),
        ("n=-1".to_owned(), "n", "negative"),
        ("n=99999999999999999999999".to_owned(), "n", "above_maximum"),
        ("n=1&n=2".to_owned(), "n", "repeated_parameter"),
        ("foo=1".to_owned(), "foo", "unknown_parameter"),
        // Percent-encoded junk: invalid UTF-8, a NUL, an encoded minus sign.
        ("n=%FF%FE".to_owned(), "n", "not_a_number"),
        ("n=1%00".to_owned(), "n", "not_a_number"),
        ("n=%2D5".to_owned(), "n", "negative"),
    ];
    if let Some(max) = max_n.and_then(|m| m.checked_add(1)) {
        cases.push((format!("n={max}"), "n", "above_maximum"));
    }
    if strategy.parameters().contains(&"yield_every") {
        cases.push(("yield_every=0".into(), "yield_every", "zero"));
        cases.push(("yield_every=x".into(), "yield_every", "not_a_number"));
        cases.push(("yield_every=-3".into(), "yield_every", "negative"));
    } else {
        cases.push(("yield_every=5".into(), "yield_every", "unknown_parameter"));
    }
    cases
}

async fn send(client: &dyn HttpClient, method: &str, url: &str) -> Result<HttpResponse, String> {
    client
        .send(method, url)
        .await
        .map_err(|e| format!("{method} {url}: {e}"))
}

/// Runs one request of `strategy` with `query` (`n=10`) the way a client would, and returns the
/// answer that carries its outcome: the response itself, except for the job API, where it
/// submits (`POST /jobs`) and, given a 202 with the job's URL, waits for the result
/// (`GET /jobs/{id}?wait=true`). bench-runner times exactly this, so a job's latency is its
/// time to result. A submission refused (503) or unreadable is returned as it is, for
/// [`check_answer`] to judge.
///
/// A 503 is therefore always a refused submission. One while waiting (`/queue`'s
/// `broker_unavailable`) is not a refusal: the job was accepted and the server says when to
/// ask again, so the wait is asked again (after its `Retry-After`, up to [`WAIT_RETRIES`]
/// times, within the caller's timeout) and ends done, failed or gone; a 503 still left then is
/// an error ([`ClientError::Other`]), never the 503 of a job shed.
pub async fn call_strategy(
    client: &dyn HttpClient,
    base_url: &str,
    strategy: Strategy,
    query: &str,
) -> Result<HttpResponse, ClientError> {
    let url = format!("{base_url}{}?{query}", strategy.path());
    let first = client.send(strategy.method(), &url).await?;
    match strategy.execution() {
        Execution::Job if first.status == 202 => {
            match serde_json::from_str::<JobStatus>(&first.body) {
                Ok(job) => {
                    wait_for_result(client, &format!("{base_url}{}?wait=true", job.url)).await
                }
                Err(_) => Ok(first),
            }
        }
        Execution::Job
        | Execution::Inline
        | Execution::Yielding
        | Execution::Offloaded
        | Execution::Detached => Ok(first),
    }
}

/// How many times [`call_strategy`] asks again for a job's result answered 503 while waiting.
pub const WAIT_RETRIES: usize = 30;

/// `GET url` (a job's `?wait=true`), asked again while it answers 503 (see [`call_strategy`]).
async fn wait_for_result(client: &dyn HttpClient, url: &str) -> Result<HttpResponse, ClientError> {
    for _ in 0..WAIT_RETRIES {
        let r = client.get(url).await?;
        if r.status != 503 {
            return Ok(r);
        }
        let secs = r
            .retry_after
            .as_deref()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .min(5);
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    Err(ClientError::Other(format!(
        "GET {url}: still 503 after {WAIT_RETRIES} tries: the job was accepted, its result never came"
    )))
}

fn expect_status(r: &HttpResponse, status: u16) -> Result<(), String> {
    if r.status == status {
        Ok(())
    } else {
        Err(format!(
            "expected status {status}, got {} with body {:?}",
            r.status,
            clip(&r.body)
        ))
    }
}

fn expect_json(r: &HttpResponse, status: u16, what: &str) -> Result<(), String> {
    expect_status(r, status)?;
    if r.content_type.as_deref() != Some(CONTENT_TYPE) {
        return Err(format!(
            "{what}: content type {:?}, expected {CONTENT_TYPE}",
            r.content_type
        ));
    }
    serde_json::from_str::<Value>(&r.body)
        .map(|_| ())
        .map_err(|e| format!("{what}: body is not JSON ({e}): {:?}", clip(&r.body)))
}

fn check_error(r: &HttpResponse, status: u16, param: Option<(&str, &str)>) -> Result<(), String> {
    expect_json(r, status, "error")?;
    let body: ErrorBody = serde_json::from_str(&r.body)
        .map_err(|e| format!("not an error body ({e}): {:?}", clip(&r.body)))?;
    if let Some((param, reason)) = param
        && (body.parameter.as_deref() != Some(param) || body.reason.as_deref() != Some(reason))
    {
        return Err(format!(
            "expected parameter {param:?} reason {reason:?}, got {:?} {:?}",
            body.parameter, body.reason
        ));
    }
    Ok(())
}

/// The 503 of `/queue` on a server started without `--broker`: `no_broker`, naming the flag,
/// and no `Retry-After` (retrying cannot help).
fn check_no_broker(r: &HttpResponse) -> Result<(), String> {
    check_error(r, 503, None)?;
    let body: ErrorBody = serde_json::from_str(&r.body).map_err(|e| e.to_string())?;
    if body.error != "no_broker" || !body.message.contains("--broker") {
        return Err(format!(
            "expected error no_broker naming --broker, got {body:?}"
        ));
    }
    Ok(())
}

/// Answered by an endpoint: a 2xx, or (`/jobs/{id}`, `/queue/{id}` of an unknown job) the
/// job's own 404, or `/queue/{id}`'s 503 `no_broker`; not the 404 or 405 of routing.
fn served(r: &HttpResponse) -> Result<(), String> {
    match serde_json::from_str::<ErrorBody>(&r.body) {
        Ok(e)
            if r.status == 404
                && (e.message.starts_with("no job") || e.message.starts_with("no queued job")) =>
        {
            Ok(())
        }
        Ok(e) if r.status == 503 && e.error == "no_broker" => Ok(()),
        _ if (200..300).contains(&r.status) => Ok(()),
        _ => Err(format!(
            "status {} with body {:?}: not served",
            r.status,
            clip(&r.body)
        )),
    }
}

/// `/openapi.json` is JSON and exactly the document `common` generates for the server's flags
/// (`common`'s tests check that document parses as OpenAPI 3.1).
pub fn check_openapi(r: &HttpResponse, facts: &Facts) -> Result<(), String> {
    expect_json(r, 200, "/openapi.json")?;
    let served: Value = serde_json::from_str(&r.body).map_err(|e| format!("/openapi.json: {e}"))?;
    let want = openapi::document(facts);
    if served == want {
        Ok(())
    } else {
        Err(format!(
            "/openapi.json is not the document for {facts:?}: {:?}",
            clip(&r.body)
        ))
    }
}

/// `/docs` is well-formed HTML (the page is XHTML-compatible: an XML parser checks it) that
/// names every endpoint's path.
pub fn check_docs(r: &HttpResponse) -> Result<(), String> {
    expect_status(r, 200)?;
    if r.content_type.as_deref() != Some(HTML_CONTENT_TYPE) {
        return Err(format!(
            "/docs: content type {:?}, expected {HTML_CONTENT_TYPE}",
            r.content_type
        ));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let page = roxmltree::Document::parse_with_options(&r.body, options)
        .map_err(|e| format!("/docs is not well-formed: {e}"))?;
    let text: Vec<&str> = page.descendants().filter_map(|n| n.text()).collect();
    let missing: Vec<&str> = Endpoint::all()
        .map(Endpoint::path)
        .filter(|path| !text.contains(path))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("/docs does not name {missing:?}"))
    }
}

/// A 405's `Allow` header names exactly the methods `path` answers to, as `common` says.
fn check_allow(r: &HttpResponse, path: &str) -> Result<(), String> {
    let want = Endpoint::at(path).map(Endpoint::allow);
    if r.allow.as_deref() == want {
        Ok(())
    } else {
        Err(format!("Allow header {:?}, expected {want:?}", r.allow))
    }
}

/// A 501 `not_supported` body naming `kind` (`common::Reply::not_supported`).
fn check_not_supported(r: &HttpResponse, kind: RuntimeKind) -> Result<(), String> {
    check_error(r, 501, None)?;
    let body: ErrorBody = serde_json::from_str(&r.body).map_err(|e| e.to_string())?;
    let want = kind.to_string();
    if body.error != "not_supported" || body.runtime.as_deref() != Some(want.as_str()) {
        return Err(format!(
            "expected error \"not_supported\" naming {want:?}, got {:?}",
            clip(&r.body)
        ));
    }
    Ok(())
}

/// Why an answer to a strategy request is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Not the status a right answer has.
    #[error("status {0}")]
    Status(u16),
    /// The right status, the wrong body.
    #[error("{0}")]
    Body(String),
}

/// The status of a right final answer of [`call_strategy`]: the first answer's
/// (`Strategy::success_status`: 202 for fire-and-forget), except for the job API, whose final
/// answer is the job's status (200).
pub fn answer_status(strategy: Strategy) -> u16 {
    match strategy.execution() {
        Execution::Job => 200,
        Execution::Inline | Execution::Yielding | Execution::Offloaded | Execution::Detached => {
            strategy.success_status()
        }
    }
}

/// Whether `r`, the final answer of [`call_strategy`], is the right answer of `kernel` to
/// `strategy` with kernel size `n`. The one definition of "right", used by [`verify`] and by
/// bench-runner for every request it times.
///
/// `Ours`: the exact success status, a JSON body of `common::reply`/`common::jobs` naming the
/// strategy and `n`, with the [`expected`] total. `External`: any 2xx, and a `total` field
/// (anywhere in the JSON) equal to the expected one when there is one.
pub fn check_answer(
    kernel: &dyn Kernel,
    strategy: Strategy,
    n: u64,
    r: &HttpResponse,
    mode: Mode,
) -> Result<(), AnswerError> {
    let want = expected(kernel, n);
    let body_err = |what: &str, e: serde_json::Error| {
        AnswerError::Body(format!("not {what} ({e}): {:?}", clip(&r.body)))
    };
    match mode {
        Mode::Ours => {
            if r.status != answer_status(strategy) {
                return Err(AnswerError::Status(r.status));
            }
            if r.content_type.as_deref() != Some(CONTENT_TYPE) {
                return Err(AnswerError::Body(format!(
                    "content type {:?}, expected {CONTENT_TYPE}",
                    r.content_type
                )));
            }
            let (name, got_n, total) = match strategy.execution() {
                Execution::Detached => {
                    let body: Accepted = serde_json::from_str(&r.body)
                        .map_err(|e| body_err("an accepted body", e))?;
                    (body.strategy, body.n, None)
                }
                Execution::Job => {
                    let body: JobStatus =
                        serde_json::from_str(&r.body).map_err(|e| body_err("a job body", e))?;
                    if body.status != "done" {
                        return Err(AnswerError::Body(format!("job not done: {body:?}")));
                    }
                    (
                        strategy.name().to_owned(),
                        body.n,
                        Some(body.total.unwrap_or_default()),
                    )
                }
                Execution::Inline | Execution::Yielding | Execution::Offloaded => {
                    let body: Computed = serde_json::from_str(&r.body)
                        .map_err(|e| body_err("a computed body", e))?;
                    (body.strategy, body.n, Some(body.total))
                }
            };
            if name != strategy.name() || got_n != n {
                return Err(AnswerError::Body(format!(
                    "answer for {name} n={got_n}, asked {} n={n}",
                    strategy.name()
                )));
            }
            match total {
                Some(total) if total != want => {
                    Err(AnswerError::Body(format!("total {total}, expected {want}")))
                }
                _ => Ok(()),
            }
        }
        Mode::External => {
            if !(200..300).contains(&r.status) {
                return Err(AnswerError::Status(r.status));
            }
            let Ok(json) = serde_json::from_str::<Value>(&r.body) else {
                return Ok(()); // Not JSON: the status is all we can check.
            };
            match find_total(&json) {
                Some(total) if !total_matches(total, &want) => Err(AnswerError::Body(
                    ignored_n_hint(kernel, n, total).map_or_else(
                        || format!("total {total}, expected {want}"),
                        |hint| format!("total {total}, expected {want}: {hint}"),
                    ),
                )),
                // Fire-and-forget answers carry no total; the status is all we can check.
                _ => Ok(()),
            }
        }
    }
}

/// Why an external server's wrong `total` may be no fault of its kernel: it is the total of
/// the default kernel size, so the server ignores `n` (the Python demo always sums over
/// 0..10^7). `None` when it is not that total, or `n` is that size.
fn ignored_n_hint(kernel: &dyn Kernel, n: u64, total: &Value) -> Option<String> {
    let fixed = kernel.default_n();
    (n != fixed && total_matches(total, &expected(kernel, fixed))).then(|| {
        format!(
            "that is the total for n = {fixed}: the server ignores n and always computes              n = {fixed} (as the Python demo does); measure it with --n {fixed}"
        )
    })
}

/// The first `total` field, depth first (`{"total": …}`, `{"result": {"total": …}}`).
pub fn find_total(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(map) => map
            .get("total")
            .or_else(|| map.values().find_map(find_total)),
        Value::Array(items) => items.iter().find_map(find_total),
        _ => None,
    }
}

/// Whether a `total` found in an external body is `want`. A string compares exactly (as a
/// number when both are decimal); a JSON number (a decimal `want` only) above `u64` (Python's
/// exact int) is read as an `f64`, within a few ulps (serde_json's parser is not correctly
/// rounded there): 1e-15 is about 5 ulps, while a total off by one in its 15th digit is about
/// 15 ulps away.
pub fn total_matches(total: &Value, want: &str) -> bool {
    let Ok(want_number) = want.parse::<u128>() else {
        return total.as_str() == Some(want);
    };
    let want = want_number;
    match total {
        Value::String(s) => s.parse::<u128>().ok() == Some(want),
        Value::Number(num) => match num.as_u64() {
            Some(v) => u128::from(v) == want,
            None => num.as_f64().is_some_and(|f| {
                let w = want as f64;
                (f - w).abs() <= w * 1e-15
            }),
        },
        _ => false,
    }
}

/// `GET /stats`, parsed.
pub async fn fetch_stats(client: &dyn HttpClient, base_url: &str) -> Result<Stats, String> {
    let url = format!("{base_url}/stats");
    let r = client
        .get(&url)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    expect_json(&r, 200, "/stats")?;
    serde_json::from_str(&r.body).map_err(|e| format!("/stats body ({e}): {:?}", clip(&r.body)))
}

/// Polls `/stats` until no background job is queued or running; returns the last stats.
pub async fn wait_background_idle(
    client: &dyn HttpClient,
    base_url: &str,
    timeout: Duration,
) -> Result<Stats, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let stats = fetch_stats(client, base_url).await?;
        if stats.background.is_idle() {
            return Ok(stats);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "background jobs still busy after {timeout:?}: {:?}",
                stats.background
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_totals_in_our_and_the_demo_shapes() {
        let total = |body: &str| {
            let v: Value = serde_json::from_str(body).expect("json");
            find_total(&v).map(|t| total_matches(t, "285"))
        };
        assert_eq!(total(r#"{"total":"285"}"#), Some(true));
        assert_eq!(total(r#"{"total":285}"#), Some(true));
        assert_eq!(total(r#"{"result":{"total":285}}"#), Some(true));
        assert_eq!(total(r#"{"total":286}"#), Some(false));
        assert_eq!(total(r#"{"message":"started"}"#), None);
        // Python's exact integer for n = 10^7, above u64: compared as f64, within 1e-15.
        let big: Value = serde_json::from_str(r#"{"total":333333283333335000000}"#).expect("json");
        let found = find_total(&big).expect("found");
        let want = common::kernel::closed_form(10_000_000);
        assert!(total_matches(found, &want.to_string()));
        assert!(!total_matches(found, &(want + 1_000_000).to_string()));
        // A digest compares as a string.
        let hex: Value = serde_json::from_str(r#"{"total":"00ff"}"#).expect("json");
        let found = find_total(&hex).expect("found");
        assert!(total_matches(found, "00ff"));
        assert!(!total_matches(found, "00fe"));
    }

    /// A status and a body.
    type Canned = (u16, &'static str);

    /// Answers in the order given, whatever is asked; records what was asked.
    struct Scripted(Mutex<(Vec<Canned>, Vec<String>)>);

    impl HttpClient for Scripted {
        fn send<'a>(&'a self, method: &'a str, url: &'a str) -> crate::client::ResponseFuture<'a> {
            let mut script = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            script.1.push(format!("{method} {url}"));
            let (status, body) = script.0.remove(0);
            Box::pin(async move {
                Ok(HttpResponse {
                    status,
                    body: body.into(),
                    content_type: Some(CONTENT_TYPE.into()),
                    // 0: ask again at once (the servers say 1; the test need not wait).
                    retry_after: (status == 503).then(|| "0".into()),
                    allow: None,
                })
            })
        }
    }

    #[tokio::test]
    async fn a_503_while_waiting_is_asked_again_and_never_returned_as_a_refusal() {
        let queued = r#"{"id":1,"url":"/queue/1","status":"queued","n":10}"#;
        let done = r#"{"id":1,"url":"/queue/1","status":"done","n":10,"total":"285"}"#;
        let busy = r#"{"error":"broker_unavailable","message":"away"}"#;
        // Accepted, the broker away twice while waiting, then the result: the result.
        let client = Scripted(Mutex::new((
            vec![(202, queued), (503, busy), (503, busy), (200, done)],
            vec![],
        )));
        let r = call_strategy(&client, "http://s", Strategy::Queue, "n=10")
            .await
            .expect("answer");
        assert_eq!((r.status, r.body.as_str()), (200, done));
        let asked = client
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone();
        assert_eq!(asked.len(), 4, "{asked:?}");
        assert!(asked[3].ends_with("/queue/1?wait=true"), "{asked:?}");
        // Refused at submission: the 503 itself (a job shed).
        let client = Scripted(Mutex::new((vec![(503, busy)], vec![])));
        let r = call_strategy(&client, "http://s", Strategy::Queue, "n=10")
            .await
            .expect("answer");
        assert_eq!(r.status, 503);
        // Accepted, and the wait never answers otherwise: an error, not a 503.
        let client = Scripted(Mutex::new((
            std::iter::once((202, queued))
                .chain(std::iter::repeat_n((503, busy), WAIT_RETRIES))
                .collect(),
            vec![],
        )));
        let e = call_strategy(&client, "http://s", Strategy::Queue, "n=10")
            .await
            .expect_err("lost");
        assert!(matches!(e, ClientError::Other(_)), "{e}");
    }

    #[test]
    fn a_server_that_ignores_n_is_named_with_the_fix() {
        let kernel = common::kernel::DEFAULT;
        // The Python demo's answer to any n: the total for n = 10^7 (as a JSON number).
        let demo = HttpResponse {
            status: 200,
            body: r#"{"total":333333283333335000000}"#.into(),
            content_type: Some("application/json".into()),
            retry_after: None,
            allow: None,
        };
        let err = check_answer(kernel, Strategy::Cycle, 10_000, &demo, Mode::External)
            .expect_err("wrong total for n = 10000");
        let text = err.to_string();
        assert!(
            text.contains("ignores n") && text.contains("--n 10000000"),
            "{text}"
        );
        // At n = 10^7 that answer is right.
        assert_eq!(
            check_answer(kernel, Strategy::Cycle, 10_000_000, &demo, Mode::External),
            Ok(())
        );
        // Any other wrong total gets no such hint.
        let wrong = HttpResponse {
            body: r#"{"total":12}"#.into(),
            ..demo
        };
        let text = check_answer(kernel, Strategy::Cycle, 10_000, &wrong, Mode::External)
            .expect_err("wrong total")
            .to_string();
        assert!(!text.contains("ignores n"), "{text}");
    }

    /// A kernel without an oracle that counts how often it runs whole.
    #[derive(Debug)]
    struct Counted(std::sync::atomic::AtomicUsize);

    impl Kernel for Counted {
        fn name(&self) -> &'static str {
            "counted"
        }
        fn description(&self) -> &'static str {
            "n, counted"
        }
        fn unit(&self) -> &'static str {
            "unit"
        }
        fn memory_bytes(&self) -> u64 {
            0
        }
        fn default_n(&self) -> u64 {
            1
        }
        fn default_max_n(&self) -> u64 {
            10
        }
        fn n_ceiling(&self) -> u64 {
            10
        }
        fn start(&self, _n: u64) -> Box<dyn common::kernel::Run> {
            unreachable!("only run whole here")
        }
        fn run(&self, n: u64) -> String {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            format!("ran {n}")
        }
    }

    #[test]
    fn expected_answers_come_from_the_oracle_or_one_run() {
        assert_eq!(expected(common::kernel::DEFAULT, 10), "285");
        static COUNTED: Counted = Counted(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..3 {
            assert_eq!(expected(&COUNTED, 7), "ran 7");
        }
        assert_eq!(expected(&COUNTED, 8), "ran 8");
        assert_eq!(COUNTED.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        // And a body is judged against it.
        let r = HttpResponse {
            status: 200,
            content_type: Some(CONTENT_TYPE.into()),
            body: r#"{"strategy":"cycle","kernel":"counted","n":7,"total":"ran 7","compute_us":1}"#
                .into(),
            retry_after: None,
            allow: None,
        };
        assert_eq!(
            check_answer(&COUNTED, Strategy::Cycle, 7, &r, Mode::Ours),
            Ok(())
        );
        assert!(check_answer(&COUNTED, Strategy::Cycle, 8, &r, Mode::Ours).is_err());
    }

    #[test]
    fn checked_sizes_follow_the_kernel() {
        assert_eq!(checked_n(common::kernel::DEFAULT), [0, 1, 10, 10_000_000]);
        assert_eq!(checked_n(&common::kernel::argon2::Argon2id), [0, 1, 2]);
    }

    #[test]
    fn every_strategy_has_bad_inputs_for_each_reason() {
        for s in Strategy::ALL {
            let cases = bad_inputs(s, Some(100));
            for reason in [
                "not_a_number",
                "negative",
                "above_maximum",
                "repeated_parameter",
                "unknown_parameter",
            ] {
                assert!(cases.iter().any(|c| c.2 == reason), "{s}: {reason}");
            }
            // Each expectation agrees with the shared parser.
            for (query, param, reason) in cases {
                let e = common::params::parse(s, Some(&query), 100).expect_err(&query);
                assert_eq!((e.parameter(), e.reason()), (param, reason), "{s}?{query}");
            }
        }
    }

    #[test]
    fn report_summary_counts() {
        let mut r = Report::default();
        r.record("a", Ok(()));
        r.record("b", Err("wrong".into()));
        r.skip("c", "n/a");
        assert!(!r.passed());
        assert_eq!(r.failures().len(), 1);
        assert!(
            r.summary()
                .starts_with("1 checks passed, 1 failed, 1 skipped")
        );
        assert!(r.summary().contains("FAILED b: wrong"));
    }
}
