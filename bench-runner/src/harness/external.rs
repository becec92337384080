//! `--url`: before any pair, what the server there is and what of it can be measured.
//!
//! [`check`]: it answers `GET /health` with 200. Every pair starts by waiting up to 10 s for
//! that (a server of ours may still be starting); against a URL that is not such a server, that
//! was 10 s per pair and a screen of identical failures. Checked once here, it fails at once,
//! with what to do.
//!
//! [`discover`]: which strategies it serves, one request each at a small `n`. With
//! `--strategy`, every one asked must be served (one line per missing route otherwise, exit
//! 2); without it, the run measures what the server serves and names what it skipped. The
//! same answers tell whether the server honours `n` ([`Served::honours_n`]), which decides
//! whether the sizes experiment can run ([`Served::experiments`]).

use std::time::Duration;

use common::Strategy;
use common::kernel::Kernel;
use conformance::HttpClient;
use conformance::checks::{expected, find_total, total_matches};

use crate::settings::Experiment;

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
    /// `--strategy` asked for routes the server does not serve (or cannot be measured on).
    #[error(
        "--url {url}: {}\nnothing measured",
        missing.join("\n")
    )]
    Missing {
        /// The base URL.
        url: String,
        /// One line per strategy: `GET /thread: 404 — this server does not serve /thread;
        /// leave it out with --strategy`.
        missing: Vec<String>,
    },
    /// Without `--strategy`: none of the strategies' routes is served.
    #[error(
        "--url {url} serves none of the strategies' routes ({}); nothing measured",
        skipped.join("; ")
    )]
    NoneServed {
        /// The base URL.
        url: String,
        /// Each strategy and why it was left out.
        skipped: Vec<String>,
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

/// Why `/background` is never measured on a `--url` server: what bench-runner times of it is
/// the jobs' completion, which only our servers' `/stats` tells.
const BACKGROUND_WHY: &str = "its 202 comes before the work, and when the work ends only the \
     /stats of the servers bench-runner starts says";

/// What the `--url` server serves of the strategies considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The strategies measured, in `Strategy::ALL` order.
    pub strategies: Vec<Strategy>,
    /// The strategies left out, each with why (`GET /thread: 404`).
    pub skipped: Vec<(Strategy, String)>,
    /// Whether its totals follow `n`: every answer with a `total` had the one for the small
    /// `n` asked. `None`: no answer carried a total.
    pub honours_n: Option<bool>,
    /// The small `n` asked.
    pub n: u64,
}

/// How a strategy's route answered the discovery request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// Served; whether its `total` was the right one for the `n` asked (`None`: no total).
    Served(Option<bool>),
    /// Not served or not measurable here: the line that says so (without the hint).
    Left(String),
}

/// Sends one request of each of `candidates` to `url` at a small `n` (a thousandth of the
/// kernel's default) and sorts them into served and not. `asked`: the candidates are
/// `--strategy`'s, and each one not served is an error ([`NotMeasurable::Missing`]);
/// otherwise they are every strategy and the ones not served are left out
/// ([`Served::skipped`]). A request that gets no answer at all counts as served: its pair's
/// verification then says what went wrong.
pub async fn discover(
    client: &dyn HttpClient,
    url: &str,
    kernel: &dyn Kernel,
    candidates: &[Strategy],
    asked: bool,
    timeout: Duration,
) -> Result<Served, NotMeasurable> {
    let n = kernel.default_n() / 1000;
    let want = expected(kernel, n);
    let mut routes = Vec::new();
    for &strategy in candidates {
        let route = if strategy == Strategy::Background {
            Route::Left(format!(
                "{} {}: not measured on a --url server: {BACKGROUND_WHY}",
                strategy.method(),
                strategy.path()
            ))
        } else {
            let query = format!("n={n}");
            let call = conformance::call_strategy(client, url, strategy, &query);
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(r)) => route(strategy, r.status, &r.body, &want),
                Ok(Err(_)) | Err(_) => Route::Served(None),
            }
        };
        routes.push((strategy, route));
    }
    sort(url, routes, asked, n)
}

/// What one answer says of its route.
fn route(strategy: Strategy, status: u16, body: &str, want: &str) -> Route {
    let (method, path) = (strategy.method(), strategy.path());
    match status {
        404 | 405 => Route::Left(format!(
            "{method} {path}: {status} — this server does not serve {path}"
        )),
        501 => Route::Left(format!(
            "{method} {path}: 501 — this server cannot run {path} (not implemented)"
        )),
        503 if strategy == Strategy::Queue => Route::Left(format!(
            "{method} {path}: 503 — no broker behind this server's {path}"
        )),
        _ => Route::Served(
            serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .as_ref()
                .and_then(find_total)
                .map(|total| total_matches(total, want)),
        ),
    }
}

/// [`discover`]'s verdict from each candidate's route.
fn sort(
    url: &str,
    routes: Vec<(Strategy, Route)>,
    asked: bool,
    n: u64,
) -> Result<Served, NotMeasurable> {
    let mut served = Served {
        strategies: Vec::new(),
        skipped: Vec::new(),
        honours_n: None,
        n,
    };
    for (strategy, route) in routes {
        match route {
            Route::Served(total_right) => {
                served.strategies.push(strategy);
                if let Some(right) = total_right {
                    served.honours_n = Some(served.honours_n.unwrap_or(true) && right);
                }
            }
            Route::Left(line) => served.skipped.push((strategy, line)),
        }
    }
    if asked && !served.skipped.is_empty() {
        return Err(NotMeasurable::Missing {
            url: url.to_owned(),
            missing: served
                .skipped
                .iter()
                .map(|(_, line)| format!("{line}; leave it out with --strategy"))
                .collect(),
        });
    }
    if served.strategies.is_empty() {
        return Err(NotMeasurable::NoneServed {
            url: url.to_owned(),
            skipped: served.skipped.iter().map(|(_, l)| l.clone()).collect(),
        });
    }
    Ok(served)
}

impl Served {
    /// The line that names what is measured and what was left out.
    pub fn line(&self) -> String {
        let paths = |list: &mut dyn Iterator<Item = Strategy>| {
            list.map(|s| s.path()).collect::<Vec<_>>().join(", ")
        };
        let mut line = format!(
            "--url: measuring {}",
            paths(&mut self.strategies.iter().copied())
        );
        if !self.skipped.is_empty() {
            line.push_str(&format!(
                "; not measured: {} (pass --strategy to ask for a list; each must be served)",
                paths(&mut self.skipped.iter().map(|(s, _)| *s))
            ));
            for (_, why) in &self.skipped {
                line.push_str(&format!("\n  {why}"));
            }
        }
        line
    }

    /// Of `asked`, the experiments that make sense on this server, and a line for each left
    /// out: sizes only when the server honours `n`; rate never (its steps are sized from a
    /// capacity bench-runner knows only for the servers it starts: their threads, and
    /// `/background`'s completion); queue runs its own check (it starts worker processes of
    /// its own, so never on a `--url` server).
    pub fn experiments(&self, asked: &[Experiment]) -> (Vec<Experiment>, Vec<String>) {
        let mut kept = Vec::new();
        let mut left = Vec::new();
        for &e in asked {
            let why = match e {
                Experiment::Sizes => match self.honours_n {
                    Some(true) => None,
                    Some(false) => Some(format!(
                        "the server ignores n (its totals for n = {} were not that n's)",
                        self.n
                    )),
                    None => Some(format!(
                        "no total in its answers to n = {}, so nothing tells whether it honours n",
                        self.n
                    )),
                },
                Experiment::Rate => Some(
                    "its steps are sized from the pair's capacity (the server's threads, and \
                     /background's completion), which only the servers bench-runner starts \
                     tell; measured here it flooded servers (docs/servers.md)"
                        .to_owned(),
                ),
                Experiment::Pools => Some(
                    "the pool sizes are the servers' own flags (--cpu-threads, \
                     --blocking-threads), which only the servers bench-runner starts take"
                        .to_owned(),
                ),
                Experiment::Batch | Experiment::Queue => None,
            };
            match why {
                Some(why) => left.push(format!("{}: skipped for a --url server: {why}", e.name())),
                None => kept.push(e),
            }
        }
        (kept, left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANT: &str = "333283335000";

    #[test]
    fn a_route_is_served_unless_its_status_says_it_is_not() {
        let body = format!(r#"{{"total":"{WANT}"}}"#);
        assert_eq!(
            route(Strategy::Cycle, 200, &body, WANT),
            Route::Served(Some(true))
        );
        assert_eq!(
            route(Strategy::Cycle, 200, r#"{"total":"1"}"#, WANT),
            Route::Served(Some(false))
        );
        assert_eq!(route(Strategy::Cycle, 200, "ok", WANT), Route::Served(None));
        assert_eq!(
            route(Strategy::Thread, 404, "", WANT),
            Route::Left("GET /thread: 404 — this server does not serve /thread".into())
        );
        assert!(
            matches!(route(Strategy::Jobs, 405, "", WANT), Route::Left(l) if l.starts_with("POST /jobs: 405"))
        );
        assert!(matches!(
            route(Strategy::BlockInPlace, 501, "", WANT),
            Route::Left(_)
        ));
        assert!(matches!(
            route(Strategy::Queue, 503, "", WANT),
            Route::Left(_)
        ));
        // A 503 elsewhere is a server shedding load: served.
        assert_eq!(route(Strategy::Bounded, 503, "", WANT), Route::Served(None));
    }

    #[test]
    fn asked_routes_must_be_served_one_line_each() {
        let routes = vec![
            (Strategy::Cycle, Route::Served(Some(true))),
            (Strategy::Thread, route(Strategy::Thread, 404, "", WANT)),
        ];
        let err = sort("http://h:1", routes.clone(), true, 10).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "--url http://h:1: GET /thread: 404 — this server does not serve /thread; leave it \
             out with --strategy\nnothing measured"
        );
        let served = sort("http://h:1", routes, false, 10).expect("what it serves");
        assert_eq!(served.strategies, [Strategy::Cycle]);
        assert_eq!(served.skipped.len(), 1);
        assert_eq!(served.honours_n, Some(true));
        assert!(
            served
                .line()
                .contains("measuring /cycle; not measured: /thread"),
            "{}",
            served.line()
        );
        let none = vec![(Strategy::Thread, route(Strategy::Thread, 404, "", WANT))];
        assert!(matches!(
            sort("u", none, false, 10),
            Err(NotMeasurable::NoneServed { .. })
        ));
    }

    #[test]
    fn sizes_only_when_n_is_honoured_and_rate_never() {
        let mut served = Served {
            strategies: vec![Strategy::Cycle],
            skipped: vec![],
            honours_n: Some(true),
            n: 10_000,
        };
        let (kept, left) = served.experiments(&Experiment::DEFAULT);
        assert_eq!(
            kept,
            [Experiment::Batch, Experiment::Sizes, Experiment::Queue]
        );
        assert_eq!(left.len(), 1);
        assert!(
            left[0].starts_with("rate: skipped for a --url server"),
            "{left:?}"
        );
        // The pool sizes are flags of the servers bench-runner starts.
        let (kept, left) = served.experiments(&[Experiment::Pools]);
        assert!(kept.is_empty());
        assert!(
            left[0].starts_with("pools: skipped for a --url server"),
            "{left:?}"
        );
        for honours in [Some(false), None] {
            served.honours_n = honours;
            let (kept, left) = served.experiments(&Experiment::DEFAULT);
            assert_eq!(kept, [Experiment::Batch, Experiment::Queue]);
            assert!(left[0].starts_with("sizes: skipped"), "{left:?}");
        }
        // A server serving a strategy with the wrong total for n, and one with the right: not
        // honoured.
        let routes = vec![
            (Strategy::Cycle, Route::Served(Some(true))),
            (Strategy::Rayon, Route::Served(Some(false))),
            (Strategy::Thread, Route::Served(None)),
        ];
        assert_eq!(
            sort("u", routes, false, 10).expect("served").honours_n,
            Some(false)
        );
    }
}
