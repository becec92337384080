//! Everything the servers share, with no async runtime in it: the CPU-bound kernel, the
//! one list of strategies, query validation, response bodies, request and job accounting, and
//! the command line. Each server keeps only what is particular to its runtime: how it routes,
//! yields, offloads, spawns and shuts down.
//!
//! # Layout
//! - [`kernel`]: the sum of `i * i` over `0..n` as `u128`, in iterator, loop and yielding
//!   forms, kept from folding into a closed form; the closed form itself is the test oracle.
//! - [`strategy`]: [`Strategy`], the one list (`ALL`), with each endpoint's path, description
//!   and accepted parameters, and which [`RuntimeKind`]s support it.
//! - [`params`]: query-string parsing and the 400 reasons.
//! - [`reply`]: [`Reply`] (status + JSON) and the serde body types, also read by the
//!   conformance suite and bench-runner.
//! - [`app`]: [`App`], the per-process state: validation and counting around each handler,
//!   background-job admission and drain, `/stats`.
//! - [`cpu_pool`]: a rayon pool sized to the cores, awaitable from any runtime (`/rayon`,
//!   `/jobs`).
//! - [`offload`]: what wraps every closure handed to a blocking pool, once for the three
//!   servers: a panic caught (answered 500 or counted), the pool measured.
//! - [`threads`]: [`threads::ThreadCensus`], the OS threads that really did a kind of work
//!   (measured thread counts in `/stats`).
//! - [`gate`]: the semaphore with one permit per core (tokio's, handed over in arrival
//!   order) and its bounded queue (`/bounded`).
//! - [`jobs`]: the job store behind `POST /jobs` and `GET /jobs/{id}`.
//! - [`lag`]: [`lag::LagMonitor`], the executor-lag heartbeat and its histograms, in windows
//!   a client closes race-free (`GET /lag`, `POST /lag/window`); each server only spawns it.
//! - [`placement`]: `--cpus` (the process pinned before its threads start, read back for
//!   `/stats`) and `--cpu-pool-nice` (the CPU pool's threads at a lower OS priority).
//! - [`cli`]: the shared `clap` options, the `listening on` line, a runtime-agnostic
//!   termination signal.

pub mod app;
pub mod cli;
pub mod cpu_pool;
pub mod gate;
pub mod jobs;
pub mod kernel;
pub mod lag;
pub mod offload;
pub mod params;
pub mod placement;
pub mod reply;
pub mod strategy;
#[cfg(test)]
mod test_util;
pub mod threads;

pub use app::{App, BackgroundJob, Limits, Offloaded, RuntimeInfo, Stats, Work};
pub use cli::ServerArgs;
pub use lag::{LagMonitor, LagReport};
pub use reply::{CONTENT_TYPE, Reply};
pub use strategy::{RuntimeKind, Strategy};

/// The route a request's method and path select; for servers without a router (hyper) and for
/// the bodies of 405 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// A strategy's path with its method (`GET /cycle`, `POST /jobs`).
    Strategy(Strategy),
    /// `GET /jobs/{id}`, with the id as sent.
    JobStatus(&'a str),
    /// `GET /health`.
    Health,
    /// `GET /stats`.
    Stats,
    /// `GET /lag`: the executor lag in the current window.
    Lag,
    /// `POST /lag/window`: closes the lag window, answers it, opens the next.
    LagWindow,
    /// A known path with another method.
    MethodNotAllowed,
    /// No endpoint at this path.
    NotFound,
}

impl Route<'_> {
    /// Routes `method` and `path` (without the query). `HEAD` is served like `GET`.
    pub fn of<'a>(method: &str, path: &'a str) -> Route<'a> {
        let Some(allowed) = Route::allowed_method(path) else {
            return Route::NotFound;
        };
        if method != allowed && !(allowed == "GET" && method == "HEAD") {
            return Route::MethodNotAllowed;
        }
        match path {
            "/health" => Route::Health,
            "/stats" => Route::Stats,
            "/lag" => Route::Lag,
            "/lag/window" => Route::LagWindow,
            _ => match (Strategy::from_path(path), job_id(path)) {
                (Some(strategy), _) => Route::Strategy(strategy),
                (None, Some(id)) => Route::JobStatus(id),
                (None, None) => Route::NotFound,
            },
        }
    }

    /// The one method a path answers to, or `None` if no endpoint is there.
    pub fn allowed_method(path: &str) -> Option<&'static str> {
        match path {
            "/health" | "/stats" | "/lag" => Some("GET"),
            "/lag/window" => Some("POST"),
            _ => match Strategy::from_path(path) {
                Some(strategy) => Some(strategy.method()),
                None => job_id(path).map(|_| "GET"),
            },
        }
    }
}

/// The `{id}` of `/jobs/{id}`: one non-empty path segment.
fn job_id(path: &str) -> Option<&str> {
    path.strip_prefix("/jobs/")
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
        assert_eq!(Route::of("GET", "/nope"), Route::NotFound);
        assert_eq!(Route::of("DELETE", "/nope"), Route::NotFound);
        assert_eq!(Route::of("GET", "/cycle/"), Route::NotFound);
    }
}
