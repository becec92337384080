//! Everything the servers share, with no async runtime in it: the CPU-bound kernels, the
//! one list of strategies, query validation, response bodies, request and job accounting, and
//! the command line. Each server keeps only what is particular to its runtime: how it routes,
//! yields, offloads, spawns and shuts down.
//!
//! # Layout
//! - `lib.rs`: [`Endpoint`], the one list of endpoints (the strategies' and the others), and
//!   [`Route`], what a request's method and path select.
//! - [`kernel`]: the list of CPU-bound kernels ([`kernel::KERNELS`]: `sum-squares`, the
//!   default, `argon2`, `sha256`), each run whole or in slices, with its oracle.
//! - [`strategy`]: [`Strategy`], the one list (`ALL`), with each endpoint's path, description
//!   and accepted parameters, and which [`RuntimeKind`]s support it.
//! - [`params`]: query-string parsing and the 400 reasons.
//! - [`reply`]: [`Reply`] (status + JSON) and the serde body types, also read by the
//!   conformance suite and bench-runner.
//! - [`app`]: [`App`], the per-process state every handler goes through, in files by job:
//!   `app.rs` (the state and its configuration: [`RuntimeInfo`], [`Limits`]),
//!   `app/dispatch.rs` (validation and counting around each handler, the runner of each
//!   strategy, the other endpoints' replies), `app/work.rs` ([`Work`]: a validated request and
//!   how its kernel runs), `app/admission.rs` (background jobs: admission, [`BackgroundJob`],
//!   their accounting), `app/stats.rs` (the answer counts and the `/stats` body, [`Stats`]),
//!   `app/shutdown.rs` (graceful shutdown: its state, the watchdog, the drains, the report).
//! - [`cache`]: [`cache::ResultCache`], `/cached`'s bounded cache of answers keyed by
//!   (kernel, n), concurrent misses of one key computed once (moka's `future::Cache`).
//! - [`cpu_pool`]: a rayon pool sized to the cores, awaitable from any runtime (`/rayon`,
//!   `/jobs`).
//! - [`offload`]: what wraps every closure handed to a blocking pool, once for the three
//!   servers: a panic caught (answered 500 or counted), the pool measured.
//! - [`threads`]: [`threads::ThreadCensus`], the OS threads that really did a kind of work
//!   (measured thread counts in `/stats`), and [`threads::ThreadRole`], the OS names that say
//!   what a thread does (bench-runner groups the kernel's per-thread figures by them).
//! - `tracker.rs`: a count of things in progress that a plain thread can wait on (requests in
//!   flight, pending background jobs, running `/jobs`), whatever runtime runs them.
//! - [`gate`]: the semaphore with one permit per core (tokio's, handed over in arrival
//!   order) and its bounded queue (`/bounded`).
//! - [`jobs`]: the job store behind `POST /jobs` and `GET /jobs/{id}`.
//! - [`queue`]: the `/queue` protocol on Redis (keys, scripts, at-least-once delivery), used
//!   by the servers and by `queue-worker`.
//! - [`broker`]: [`broker::Broker`], the servers' bridge to Redis: one thread of its own with a
//!   current-thread tokio runtime, answering any runtime's handlers through oneshot channels
//!   (`POST /queue`, `GET /queue/{id}`).
//! - [`lag`]: [`lag::LagMonitor`], the executor-lag heartbeat and its histograms, in windows
//!   a client closes race-free (`GET /lag`, `POST /lag/window`); each server only spawns it.
//! - [`placement`]: `--cpus` (the process pinned before its threads start, read back for
//!   `/stats`) and `--cpu-pool-nice` (the CPU pool's threads at a lower OS priority).
//! - [`openapi`]: `/openapi.json`, an OpenAPI 3.1 document generated from [`Endpoint::all`],
//!   the strategies, the parameter rules and the body types.
//! - [`openapi::docs`] (`openapi/docs.rs`): `/docs`, the HTML page rendered from that
//!   document.
//! - [`cli`]: the shared `clap` options, the `listening on` line, a runtime-agnostic
//!   termination signal.

pub mod app;
pub mod broker;
pub mod cache;
pub mod cli;
pub mod cpu_pool;
pub mod gate;
pub mod jobs;
pub mod kernel;
pub mod lag;
pub mod offload;
pub mod openapi;
pub mod params;
pub mod placement;
pub mod queue;
pub mod reply;
pub mod strategy;
#[cfg(test)]
mod test_util;
pub mod threads;
mod tracker;

pub use app::{App, BackgroundJob, Limits, Offloaded, RuntimeInfo, Stats, Work};
pub use cli::ServerArgs;
pub use lag::{LagMonitor, LagReport};
pub use reply::{CONTENT_TYPE, HTML_CONTENT_TYPE, Reply};
pub use strategy::{RuntimeKind, Strategy};

/// One endpoint the servers answer: a method and a path (an OpenAPI path template for
/// `/jobs/{id}`). [`Endpoint::all`] is the one list of them: routing ([`Route::of`]), the 405's
/// `Allow` header, `/openapi.json`, `/docs` and the tests all go through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A strategy's path with its method (`GET /cycle`, `POST /jobs`).
    Strategy(Strategy),
    /// `GET /jobs/{id}`.
    JobStatus,
    /// `GET /queue/{id}`.
    QueueStatus,
    /// `GET /health`.
    Health,
    /// `GET /stats`.
    Stats,
    /// `GET /lag`.
    Lag,
    /// `POST /lag/window`.
    LagWindow,
    /// `GET /openapi.json`: the OpenAPI 3.1 document of these endpoints ([`openapi`]).
    OpenApi,
    /// `GET /docs`: the HTML page generated from that document ([`openapi::docs_page`]).
    Docs,
}

impl Endpoint {
    /// The endpoints that are not strategies, in the order documents list them.
    pub const OTHERS: [Endpoint; 8] = [
        Endpoint::JobStatus,
        Endpoint::QueueStatus,
        Endpoint::Health,
        Endpoint::Stats,
        Endpoint::Lag,
        Endpoint::LagWindow,
        Endpoint::OpenApi,
        Endpoint::Docs,
    ];

    /// Every endpoint: the strategies' ([`Strategy::ALL`]), then [`Endpoint::OTHERS`].
    pub fn all() -> impl Iterator<Item = Endpoint> {
        Strategy::ALL
            .into_iter()
            .map(Endpoint::Strategy)
            .chain(Endpoint::OTHERS)
    }

    /// The path, as an OpenAPI path template (`/jobs/{id}`).
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Strategy(s) => s.path(),
            Endpoint::JobStatus => "/jobs/{id}",
            Endpoint::QueueStatus => "/queue/{id}",
            Endpoint::Health => "/health",
            Endpoint::Stats => "/stats",
            Endpoint::Lag => "/lag",
            Endpoint::LagWindow => "/lag/window",
            Endpoint::OpenApi => "/openapi.json",
            Endpoint::Docs => "/docs",
        }
    }

    /// The one method it answers to (`HEAD` is served like `GET` too).
    pub const fn method(self) -> &'static str {
        match self {
            Endpoint::Strategy(s) => s.method(),
            Endpoint::LagWindow => "POST",
            Endpoint::JobStatus
            | Endpoint::QueueStatus
            | Endpoint::Health
            | Endpoint::Stats
            | Endpoint::Lag
            | Endpoint::OpenApi
            | Endpoint::Docs => "GET",
        }
    }

    /// The `Allow` header of a 405 at this endpoint: its method, with `HEAD` beside `GET`
    /// (every server serves `HEAD` like `GET`).
    pub fn allow(self) -> &'static str {
        match self.method() {
            "GET" => "GET, HEAD",
            other => other,
        }
    }

    /// The endpoint at `path` (a request's path, without the query), if any.
    pub fn at(path: &str) -> Option<Endpoint> {
        if let Some(s) = Strategy::from_path(path) {
            return Some(Endpoint::Strategy(s));
        }
        if id_under(path, "/jobs/").is_some() {
            return Some(Endpoint::JobStatus);
        }
        if id_under(path, "/queue/").is_some() {
            return Some(Endpoint::QueueStatus);
        }
        Endpoint::OTHERS.into_iter().find(|e| e.path() == path)
    }
}

/// The route a request's method and path select; for servers without a router (hyper) and for
/// the bodies of 405 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// A strategy's path with its method (`GET /cycle`, `POST /jobs`).
    Strategy(Strategy),
    /// `GET /jobs/{id}`, with the id as sent.
    JobStatus(&'a str),
    /// `GET /queue/{id}`, with the id as sent.
    QueueStatus(&'a str),
    /// `GET /health`.
    Health,
    /// `GET /stats`.
    Stats,
    /// `GET /lag`: the executor lag in the current window.
    Lag,
    /// `POST /lag/window`: closes the lag window, answers it, opens the next.
    LagWindow,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /docs`.
    Docs,
    /// A known path with another method.
    MethodNotAllowed,
    /// No endpoint at this path.
    NotFound,
}

impl Route<'_> {
    /// Routes `method` and `path` (without the query). `HEAD` is served like `GET`.
    pub fn of<'a>(method: &str, path: &'a str) -> Route<'a> {
        let Some(endpoint) = Endpoint::at(path) else {
            return Route::NotFound;
        };
        let allowed = endpoint.method();
        if method != allowed && !(allowed == "GET" && method == "HEAD") {
            return Route::MethodNotAllowed;
        }
        match endpoint {
            Endpoint::Strategy(strategy) => Route::Strategy(strategy),
            Endpoint::JobStatus => {
                id_under(path, "/jobs/").map_or(Route::NotFound, Route::JobStatus)
            }
            Endpoint::QueueStatus => {
                id_under(path, "/queue/").map_or(Route::NotFound, Route::QueueStatus)
            }
            Endpoint::Health => Route::Health,
            Endpoint::Stats => Route::Stats,
            Endpoint::Lag => Route::Lag,
            Endpoint::LagWindow => Route::LagWindow,
            Endpoint::OpenApi => Route::OpenApi,
            Endpoint::Docs => Route::Docs,
        }
    }

    /// The one method a path answers to, or `None` if no endpoint is there.
    pub fn allowed_method(path: &str) -> Option<&'static str> {
        Endpoint::at(path).map(Endpoint::method)
    }
}

/// The `{id}` of `/jobs/{id}` (`prefix` `/jobs/`) or `/queue/{id}`: one non-empty path segment.
fn id_under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::of("GET", "/health"), Route::Health);
        assert_eq!(Route::of("HEAD", "/health"), Route::Health);
        assert_eq!(Route::of("GET", "/stats"), Route::Stats);
        assert_eq!(Route::of("GET", "/lag"), Route::Lag);
        assert_eq!(Route::of("POST", "/lag"), Route::MethodNotAllowed);
        assert_eq!(Route::of("POST", "/lag/window"), Route::LagWindow);
        assert_eq!(Route::of("GET", "/lag/window"), Route::MethodNotAllowed);
        for s in Strategy::ALL {
            assert_eq!(Route::of(s.method(), s.path()), Route::Strategy(s));
            let wrong = if s.method() == "GET" { "POST" } else { "GET" };
            assert_eq!(Route::of(wrong, s.path()), Route::MethodNotAllowed);
        }
        assert_eq!(Route::of("GET", "/jobs/17"), Route::JobStatus("17"));
        assert_eq!(Route::of("GET", "/jobs/abc"), Route::JobStatus("abc"));
        assert_eq!(Route::of("DELETE", "/jobs/17"), Route::MethodNotAllowed);
        assert_eq!(Route::of("GET", "/jobs/"), Route::NotFound);
        assert_eq!(Route::of("GET", "/jobs/1/2"), Route::NotFound);
        assert_eq!(Route::of("GET", "/queue/17"), Route::QueueStatus("17"));
        assert_eq!(
            Route::of("POST", "/queue"),
            Route::Strategy(Strategy::Queue)
        );
        assert_eq!(Route::of("POST", "/queue/17"), Route::MethodNotAllowed);
        assert_eq!(Route::of("GET", "/queue/"), Route::NotFound);
        assert_eq!(Route::of("GET", "/nope"), Route::NotFound);
        assert_eq!(Route::of("DELETE", "/nope"), Route::NotFound);
        assert_eq!(Route::of("GET", "/cycle/"), Route::NotFound);
        assert_eq!(Route::of("GET", "/openapi.json"), Route::OpenApi);
        assert_eq!(Route::of("HEAD", "/docs"), Route::Docs);
        assert_eq!(Route::of("POST", "/docs"), Route::MethodNotAllowed);
        assert_eq!(Route::of("POST", "/openapi.json"), Route::MethodNotAllowed);
        assert_eq!(Route::of("GET", "/docs/"), Route::NotFound);
    }

    #[test]
    fn every_endpoint_is_routed_to_itself_with_its_method_only() {
        let all: Vec<Endpoint> = Endpoint::all().collect();
        assert_eq!(all.len(), Strategy::ALL.len() + Endpoint::OTHERS.len());
        let mut paths: Vec<&str> = all.iter().map(|e| e.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), all.len(), "paths are unique");
        for e in all {
            // A request path for the template: `/jobs/{id}` with an id.
            let path = e.path().replace("{id}", "7");
            assert_eq!(Endpoint::at(&path), Some(e), "{path}");
            assert!(!matches!(
                Route::of(e.method(), &path),
                Route::MethodNotAllowed | Route::NotFound
            ));
            let wrong = if e.method() == "GET" { "POST" } else { "GET" };
            assert_eq!(Route::of(wrong, &path), Route::MethodNotAllowed, "{path}");
            assert!(e.allow().split(", ").any(|m| m == e.method()));
            assert_eq!(e.allow().contains("HEAD"), e.method() == "GET");
        }
    }
}
