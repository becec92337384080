//! Everything the three servers share, with no async runtime in it: the CPU-bound kernel, the
//! one list of strategies, query validation, response bodies, request and job accounting, and
//! the command line. Each server keeps only what is particular to its runtime: how it routes,
//! yields, offloads, spawns and shuts down.
//!
//! # Layout
//! - [`kernel`]: the sum of `i * i` over `0..n` as `u128`, in iterator, loop and yielding
//!   forms, kept from folding into a closed form; the closed form itself is the test oracle.
//! - [`strategy`]: [`Strategy`], the one list (`ALL`), with each endpoint's path, description
//!   and accepted parameters.
//! - [`params`]: query-string parsing and the 400 reasons.
//! - [`reply`]: [`Reply`] (status + JSON) and the serde body types, also read by the
//!   conformance suite and bench-runner.
//! - [`app`]: [`App`], the per-process state: validation and counting around each handler,
//!   background-job admission and drain, `/stats`.
//! - [`cli`]: the shared `clap` options, the `listening on` line, a runtime-agnostic
//!   termination signal.

pub mod app;
pub mod cli;
pub mod kernel;
pub mod params;
pub mod reply;
pub mod strategy;

pub use app::{App, BackgroundJob, Limits, RuntimeInfo, Stats, Work};
pub use cli::ServerArgs;
pub use reply::{CONTENT_TYPE, Reply};
pub use strategy::Strategy;

/// The route a request's method and path select; for servers without a router (hyper) and for
/// frameworks whose router cannot produce our JSON 404/405 bodies by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET` on a strategy's path.
    Strategy(Strategy),
    /// `GET /health`.
    Health,
    /// `GET /stats`.
    Stats,
    /// A known path with another method.
    MethodNotAllowed,
    /// No endpoint at this path.
    NotFound,
}

impl Route {
    /// Routes `method` and `path` (without the query). `HEAD` is served like `GET`.
    pub fn of(method: &str, path: &str) -> Route {
        let route = match path {
            "/health" => Route::Health,
            "/stats" => Route::Stats,
            _ => match Strategy::from_path(path) {
                Some(s) => Route::Strategy(s),
                None => return Route::NotFound,
            },
        };
        if method == "GET" || method == "HEAD" {
            route
        } else {
            Route::MethodNotAllowed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::of("GET", "/health"), Route::Health);
        assert_eq!(Route::of("GET", "/stats"), Route::Stats);
        for s in Strategy::ALL {
            assert_eq!(Route::of("GET", s.path()), Route::Strategy(s));
            assert_eq!(Route::of("POST", s.path()), Route::MethodNotAllowed);
        }
        assert_eq!(Route::of("GET", "/nope"), Route::NotFound);
        assert_eq!(Route::of("DELETE", "/nope"), Route::NotFound);
        assert_eq!(Route::of("GET", "/cycle/"), Route::NotFound);
    }
}
