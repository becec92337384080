//! Response bodies, as serde types shared by the servers (which write them) and by the
//! conformance suite and bench-runner (which read them back), and [`Reply`], the status + JSON
//! body every handler returns. Each server converts a `Reply` into its framework's response
//! type in one place, so all three answer byte-for-byte the same.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Endpoint;
use crate::params::ParamError;
use crate::strategy::{RuntimeKind, Strategy};

/// The `Content-Type` of every JSON body (every body but `/docs`).
pub const CONTENT_TYPE: &str = "application/json";
/// The `Content-Type` of `/docs`.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// An HTTP status, a body and the headers that go with it, ready for any framework. Each server
/// writes every field in its one `respond` function, so all three send the same headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body: serialized JSON, or `/docs`' HTML.
    pub body: String,
    /// Its `Content-Type` ([`CONTENT_TYPE`] but for `/docs`).
    pub content_type: &'static str,
    /// Seconds for a `Retry-After` header (set on 503s).
    pub retry_after: Option<u32>,
    /// The `Allow` header (set on 405s): the methods the path answers to.
    pub allow: Option<&'static str>,
}

/// Body of a finished computation (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Computed {
    /// Strategy name (`cycle_sleep`).
    pub strategy: String,
    /// The kernel run (`sum-squares`); `""` when read from a server older than the field.
    #[serde(default)]
    pub kernel: String,
    /// Kernel size.
    pub n: u64,
    /// The kernel's answer as a string: for `sum-squares` the decimal sum (it does not fit in a
    /// JSON number that every client reads exactly); for the hashes their hex digest.
    pub total: String,
    /// Server-side time from the kernel's start to its end, in µs (yields included for `cycle_sleep`;
    /// queueing for a pool thread excluded for `thread`). For `/cached`, the time of the one
    /// computation that produced the answer, whoever it answered.
    pub compute_us: u64,
    /// `/cached` only: how the cache answered: `hit` (it held the answer), `miss` (this request
    /// computed it) or `coalesced` (another request's computation, which this one waited for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
}

/// Body of an accepted background job (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Accepted {
    /// Strategy name (`background`).
    pub strategy: String,
    /// Kernel size.
    pub n: u64,
    /// Sequence number of the job within this server process, from 1.
    pub job: u64,
    /// Always `"accepted"`.
    pub status: String,
}

/// Body of every error (400, 404, 405, 500, 503).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// Kind: `invalid_parameter`, `not_found`, `method_not_allowed`, `overloaded`, `internal`,
    /// `not_supported`, `no_broker`, `broker_unavailable` (`/queue` only).
    pub error: String,
    /// The query parameter at fault (400 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Why the parameter was refused (400 only): `not_a_number`, `negative`, `above_maximum`,
    /// `zero`, `unknown_parameter`, `repeated_parameter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The runtime that cannot run the strategy asked for (`tokio current-thread`; 501 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The strategy whose handler panicked (500 `internal` from a panic in a handler only;
    /// absent when the panic was on another endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// A sentence for people.
    pub message: String,
}

/// Body of `/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// Always `"ok"`.
    pub status: String,
}

impl Reply {
    /// Serializes `body` with `status`.
    pub fn json(status: u16, body: &impl Serialize) -> Reply {
        // Our body types are plain structs of strings and integers: serialization cannot fail.
        let body = serde_json::to_string(body).unwrap_or_else(|e| {
            format!(r#"{{"error":"internal","message":"cannot serialize body: {e}"}}"#)
        });
        // Client input quoted in messages is JSON-escaped by serde; `<`, `>` and `&` are escaped
        // too (legal JSON escapes, as Go's encoder does), so no body carries markup even if a
        // careless client renders it as HTML. They can only occur inside strings here.
        let body = escape_markup(&body);
        Reply {
            status,
            body,
            content_type: CONTENT_TYPE,
            retry_after: None,
            allow: None,
        }
    }

    /// 200 with an HTML page (`/docs`).
    pub fn html(body: String) -> Reply {
        Reply {
            status: 200,
            body,
            content_type: HTML_CONTENT_TYPE,
            retry_after: None,
            allow: None,
        }
    }

    /// 200 `{"status":"ok"}`.
    pub fn health() -> Reply {
        Reply::json(
            200,
            &Health {
                status: "ok".into(),
            },
        )
    }

    /// 400 naming the parameter at fault.
    pub fn bad_parameter(err: &ParamError) -> Reply {
        Reply::json(
            400,
            &ErrorBody {
                error: "invalid_parameter".into(),
                parameter: Some(err.parameter().into()),
                reason: Some(err.reason().into()),
                runtime: None,
                strategy: None,
                message: err.to_string(),
            },
        )
    }

    /// 404 for a path no endpoint serves.
    pub fn not_found(path: &str) -> Reply {
        let endpoints: Vec<&str> = Endpoint::all().map(Endpoint::path).collect();
        Reply::error(
            404,
            "not_found",
            format!(
                "no endpoint at {:?}; endpoints: {} (described at /docs)",
                truncate(path),
                endpoints.join(", ")
            ),
        )
    }

    /// 404 for a job id that is unknown, evicted or expired.
    pub fn not_found_job(id: &str, ttl: std::time::Duration) -> Reply {
        Reply::error(
            404,
            "not_found",
            format!(
                "no job {:?}: unknown, or finished more than {} s ago (or evicted by --job-capacity)",
                truncate(id),
                ttl.as_secs()
            ),
        )
    }

    /// 404 for a `/queue` job id the broker does not know (never given, or expired).
    pub fn not_found_queued(id: &str) -> Reply {
        Reply::error(
            404,
            "not_found",
            format!(
                "no queued job {:?}: unknown, or its result expired (the workers' --job-ttl)",
                truncate(id)
            ),
        )
    }

    /// 405 for a known path with a method it does not answer; names the one it does, in the
    /// message and in the `Allow` header.
    pub fn method_not_allowed(method: &str, path: &str) -> Reply {
        let endpoint = Endpoint::at(path);
        Reply {
            allow: endpoint.map(Endpoint::allow),
            ..Reply::error(
                405,
                "method_not_allowed",
                format!(
                    "{} {:?} is not allowed; use {}",
                    truncate(method),
                    truncate(path),
                    endpoint.map_or("GET", Endpoint::method)
                ),
            )
        }
    }

    /// 501: this runtime cannot run `strategy` ([`Strategy::supported_on`]); names the
    /// runtime and where the strategy does run.
    pub fn not_supported(strategy: Strategy, kind: RuntimeKind) -> Reply {
        let runs_on: Vec<String> = RuntimeKind::ALL
            .iter()
            .filter(|k| strategy.supported_on(**k))
            .map(ToString::to_string)
            .collect();
        Reply::json(
            501,
            &ErrorBody {
                error: "not_supported".into(),
                parameter: None,
                reason: None,
                runtime: Some(kind.to_string()),
                strategy: None,
                message: format!(
                    "{} is not supported on {kind}; it runs on: {}",
                    strategy.path(),
                    runs_on.join(", ")
                ),
            },
        )
    }

    /// 503 with `Retry-After`: the server refuses work it could not finish in reasonable time.
    pub fn overloaded(message: String, retry_after_s: u32) -> Reply {
        Reply {
            retry_after: Some(retry_after_s),
            ..Reply::error(503, "overloaded", message)
        }
    }

    /// 503 from `/queue` on a server started without `--broker`: nothing to queue on. No
    /// `Retry-After`: retrying will not help until the server is restarted with a broker.
    pub fn no_broker() -> Reply {
        Reply::error(
            503,
            "no_broker",
            "no broker configured: /queue needs a Redis broker; start the server with \
             --broker redis://HOST:PORT (and run queue-worker processes against it)"
                .into(),
        )
    }

    /// 503 from `/queue` when the broker does not answer (it went away, or is too slow);
    /// `reason` says what failed. The server reconnects by itself when the broker is back.
    pub fn broker_unavailable(reason: String) -> Reply {
        Reply {
            retry_after: Some(1),
            ..Reply::error(
                503,
                "broker_unavailable",
                format!("the /queue broker is unavailable ({reason}); retry later"),
            )
        }
    }

    /// 500: something broke inside the server (a panicked pool thread).
    pub fn internal(message: String) -> Reply {
        Reply::error(500, "internal", message)
    }

    /// 500 for `strategy`'s kernel that panicked on a pool thread (`message` says which); the
    /// body of [`Reply::handler_panicked`] with another message.
    pub fn internal_in(strategy: Strategy, message: String) -> Reply {
        Reply::internal_of(Some(strategy), message)
    }

    /// The one 500 body naming the strategy (`None`: another endpoint).
    fn internal_of(strategy: Option<Strategy>, message: String) -> Reply {
        Reply::json(
            500,
            &ErrorBody {
                error: "internal".into(),
                parameter: None,
                reason: None,
                runtime: None,
                strategy: strategy.map(|s| s.name().into()),
                message,
            },
        )
    }

    /// 500 for a request whose handler panicked (the kernel inline, or anything else on the
    /// executor thread): the same body on every server, whatever caught the panic (each
    /// framework's own mechanism, see the servers' `respond_to_panic`). `strategy` is the
    /// endpoint's strategy, `None` for the other endpoints.
    pub fn handler_panicked(strategy: Option<Strategy>) -> Reply {
        Reply::internal_of(
            strategy,
            format!(
                "the handler of {} panicked (its message is on the server's stderr); the \
                 server serves on",
                strategy.map_or("this endpoint", Strategy::path)
            ),
        )
    }

    fn error(status: u16, kind: &str, message: String) -> Reply {
        Reply::json(
            status,
            &ErrorBody {
                error: kind.into(),
                parameter: None,
                reason: None,
                runtime: None,
                strategy: None,
                message,
            },
        )
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn escape_markup(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// Client input quoted back in messages is cut short; serde escapes it when the body is written.
fn truncate(s: &str) -> &str {
    match s.char_indices().nth(100) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;
    use crate::strategy::Strategy;

    #[test]
    fn error_bodies_round_trip_and_escape_input() {
        let r = Reply::not_found("/<script>\"x\"");
        assert_eq!(r.status, 404);
        let body: ErrorBody = serde_json::from_str(&r.body).expect("valid JSON");
        assert_eq!(body.error, "not_found");
        assert!(body.message.contains("/cycle_sleep"));
        assert!(!r.body.contains('<'), "markup is escaped: {}", r.body);
        assert!(
            body.message.contains("<script>"),
            "and decodes back: {}",
            body.message
        );
        assert!(
            !r.body.contains("\"x\""),
            "quotes in input are escaped: {}",
            r.body
        );

        let e = params::parse(Strategy::Cycle, Some("n=abc"), 10).expect_err("refused");
        let r = Reply::bad_parameter(&e);
        let body: ErrorBody = serde_json::from_str(&r.body).expect("valid JSON");
        assert_eq!(r.status, 400);
        assert_eq!(body.parameter.as_deref(), Some("n"));
        assert_eq!(body.reason.as_deref(), Some("not_a_number"));

        let r = Reply::method_not_allowed("POST", "/cycle");
        assert_eq!((r.status, r.allow), (405, Some("GET, HEAD")));
        assert!(r.body.contains("use GET"));
        let r = Reply::method_not_allowed("GET", "/lag/window");
        assert!(r.body.contains("use POST"), "{}", r.body);
        assert_eq!(r.allow, Some("POST"));
        let r = Reply::method_not_allowed("POST", "/jobs/12");
        assert_eq!(r.allow, Some("GET, HEAD"));
        assert_eq!(Reply::not_found("/x").allow, None);

        let r = Reply::not_supported(Strategy::BlockInPlace, RuntimeKind::Actix);
        assert_eq!(r.status, 501);
        let body: ErrorBody = serde_json::from_str(&r.body).expect("valid JSON");
        assert_eq!(body.error, "not_supported");
        assert_eq!(
            body.runtime.as_deref(),
            Some("actix-rt current-thread-per-worker")
        );
        assert!(
            body.message.contains("/block_in_place") && body.message.contains("tokio multi-thread"),
            "{}",
            body.message
        );

        let r = Reply::overloaded("full".into(), 1);
        assert_eq!((r.status, r.retry_after), (503, Some(1)));
    }

    #[test]
    fn long_input_is_truncated() {
        let r = Reply::not_found(&"a".repeat(100_000));
        assert!(r.body.len() < 400, "{}", r.body.len());
    }
}
