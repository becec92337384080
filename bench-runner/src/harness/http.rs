//! The HTTP exchanges every experiment makes, timed and checked: a GET with a timeout
//! ([`timed_get`]: `/health`, `/stats`, the probe), one request of a strategy with its answer
//! checked ([`call_checked`]), and how a request that is not a verified answer went
//! ([`RequestError`], [`Outcome`]).

use std::time::{Duration, Instant};

use common::Strategy;
use common::kernel::Kernel;
use conformance::{AnswerError, ClientError, HttpClient, HttpResponse, Mode};
use results_format::{RATE_OK, RATE_REFUSED, RATE_SHED};

use crate::settings::Plan;

/// Why one request does not count as a verified answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No answer within `--timeout`.
    #[error("timeout")]
    Timeout,
    /// Connection refused or reset, malformed response...
    #[error("transport: {0}")]
    Transport(String),
    /// An answer with another status than the strategy's success status.
    #[error("status {0}")]
    Status(u16),
    /// The right status, but a body that does not hold the right answer.
    #[error("body: {0}")]
    Body(String),
}

impl RequestError {
    /// The kind, as counted in the `errors_*` columns.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestError::Timeout => "timeout",
            RequestError::Transport(_) => "transport",
            RequestError::Status(_) => "status",
            RequestError::Body(_) => "body",
        }
    }
}

/// How one request of a step ended (rate_raw.csv's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The strategy's success status with the right body.
    Ok,
    /// 503: the server shed it.
    Shed,
    /// Another status than the strategy's success status and 503.
    Status,
    /// No answer within `--timeout`.
    Timeout,
    /// Connection refused or reset, malformed response.
    Transport,
    /// The right status, the wrong body.
    Body,
    /// Not sent: the in-flight cap (the generator's error).
    Refused,
}

impl Outcome {
    /// Its name in rate_raw.csv.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => RATE_OK,
            Outcome::Shed => RATE_SHED,
            Outcome::Status => "status",
            Outcome::Timeout => "timeout",
            Outcome::Transport => "transport",
            Outcome::Body => "body",
            Outcome::Refused => RATE_REFUSED,
        }
    }

    /// The outcome of a sent request.
    pub fn of(error: Option<&RequestError>) -> Outcome {
        match error {
            None => Outcome::Ok,
            Some(RequestError::Status(503)) => Outcome::Shed,
            Some(RequestError::Status(_)) => Outcome::Status,
            Some(RequestError::Timeout) => Outcome::Timeout,
            Some(RequestError::Transport(_)) => Outcome::Transport,
            Some(RequestError::Body(_)) => Outcome::Body,
        }
    }
}

/// A GET with a timeout, timed from just before the client is called to the last body byte.
/// For `/health`, `/stats` and the probe.
pub async fn timed_get(
    client: &dyn HttpClient,
    url: &str,
    timeout: Duration,
) -> (Duration, Result<HttpResponse, RequestError>) {
    let start = Instant::now();
    let result = match tokio::time::timeout(timeout, client.get(url)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(ClientError::Timeout(_))) => Err(RequestError::Timeout),
        Ok(Err(e)) => Err(RequestError::Transport(e.to_string())),
        Err(_) => Err(RequestError::Timeout),
    };
    (start.elapsed(), result)
}

/// One request of `strategy`, bounded by the plan's timeout, and its answer checked: the
/// status if one came, and why it is not a verified answer if it is not.
pub async fn call_checked(
    client: &dyn HttpClient,
    base: &str,
    strategy: Strategy,
    plan: &Plan,
    mode: Mode,
) -> (Option<u16>, Option<RequestError>) {
    let query = strategy_query(strategy, plan);
    let work = conformance::call_strategy(client, base, strategy, &query);
    let result = match tokio::time::timeout(plan.request_timeout, work).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(ClientError::Timeout(_))) | Err(_) => Err(RequestError::Timeout),
        Ok(Err(e)) => Err(RequestError::Transport(e.to_string())),
    };
    match result {
        Ok(response) => (
            Some(response.status),
            check_response(plan.kernel, strategy, plan.n, mode, &response).err(),
        ),
        Err(e) => (None, Some(e)),
    }
}

/// Whether `response` is the right answer to `strategy` with kernel size `n`: the conformance
/// suite's definition ([`conformance::check_answer`]), errors sorted into this run's kinds.
pub fn check_response(
    kernel: &dyn Kernel,
    strategy: Strategy,
    n: u64,
    mode: Mode,
    response: &HttpResponse,
) -> Result<(), RequestError> {
    conformance::check_answer(kernel, strategy, n, response, mode).map_err(|e| match e {
        AnswerError::Status(status) => RequestError::Status(status),
        AnswerError::Body(why) => RequestError::Body(why),
    })
}

/// The query of one request of `strategy`: `n=…`, and `yield_every=…` for `/cycle_sleep` when given.
pub fn strategy_query(strategy: Strategy, plan: &Plan) -> String {
    let mut query = format!("n={}", plan.n);
    if let (Strategy::CycleSleep, Some(every)) = (strategy, plan.yield_every) {
        query.push_str(&format!("&yield_every={every}"));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            body: body.into(),
            content_type: Some(common::CONTENT_TYPE.into()),
            retry_after: None,
            allow: None,
        }
    }

    #[test]
    fn our_bodies_are_checked_exactly() {
        let ok = r#"{"strategy":"cycle","n":10,"total":"285","compute_us":1}"#;
        assert_eq!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Cycle,
                10,
                Mode::Ours,
                &response(200, ok)
            ),
            Ok(())
        );
        let wrong = r#"{"strategy":"cycle","n":10,"total":"286","compute_us":1}"#;
        assert!(matches!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Cycle,
                10,
                Mode::Ours,
                &response(200, wrong)
            ),
            Err(RequestError::Body(_))
        ));
        // The right body from the wrong endpoint.
        assert!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Thread,
                10,
                Mode::Ours,
                &response(200, ok)
            )
            .is_err()
        );
        assert_eq!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Cycle,
                10,
                Mode::Ours,
                &response(503, "{}")
            ),
            Err(RequestError::Status(503))
        );
        let accepted = r#"{"strategy":"background","n":10,"job":3,"status":"accepted"}"#;
        assert_eq!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Background,
                10,
                Mode::Ours,
                &response(202, accepted)
            ),
            Ok(())
        );
        // 200 where 202 is due.
        assert_eq!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Background,
                10,
                Mode::Ours,
                &response(200, accepted)
            ),
            Err(RequestError::Status(200))
        );
        assert!(matches!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Cycle,
                10,
                Mode::Ours,
                &response(200, "not json")
            ),
            Err(RequestError::Body(_))
        ));
    }

    #[test]
    fn external_bodies_are_checked_where_they_can_be() {
        let big = common::kernel::closed_form(10_000_000);
        let cases = [
            (r#"{"total": 285}"#, 10, true),
            (r#"{"total": 286}"#, 10, false),
            (r#"{"result": {"total": 285}}"#, 10, true),
            (r#"{"result": {"total": "285"}}"#, 10, true),
            (r#"{"message": "started"}"#, 10, true),
            ("plain text", 10, true),
            (r#"{"total": 333333283333335000000}"#, 10_000_000, true),
            (r#"{"total": 333333283333336000000}"#, 10_000_000, false),
            (r#"{"total": null}"#, 10, false),
        ];
        for (body, n, good) in cases {
            let r = check_response(
                common::kernel::DEFAULT,
                Strategy::Generator,
                n,
                Mode::External,
                &response(200, body),
            );
            assert_eq!(r.is_ok(), good, "{body}: {r:?}");
        }
        assert_eq!(big, 333_333_283_333_335_000_000);
        // Any 2xx will do (the Python demo's background answers 200); errors will not.
        assert!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Background,
                10,
                Mode::External,
                &response(200, "{}")
            )
            .is_ok()
        );
        assert_eq!(
            check_response(
                common::kernel::DEFAULT,
                Strategy::Cycle,
                10,
                Mode::External,
                &response(500, "{}")
            ),
            Err(RequestError::Status(500))
        );
    }

    #[test]
    fn error_kinds() {
        assert_eq!(RequestError::Timeout.kind(), "timeout");
        assert_eq!(RequestError::Transport("x".into()).kind(), "transport");
        assert_eq!(RequestError::Status(500).kind(), "status");
        assert_eq!(RequestError::Body("x".into()).kind(), "body");
    }
}
