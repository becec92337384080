//! `GET /openapi.json`, generated once per server process from what `common` already declares:
//! the endpoints ([`Endpoint::all`], hence [`Strategy::ALL`]), the parameter rules
//! ([`params::rule`], with the server's own `--max-n`), the statuses each strategy can answer,
//! and the body types, whose JSON Schemas are derived (schemars) from the very serde types the
//! servers serialize. A new strategy appears in it without touching this file. `GET /docs`,
//! the HTML page rendered from this document, is [`docs`]'s; [`ApiDocs`] holds both answers.
//!
//! # What changes the document
//! Only [`Facts`]: the server's `--max-n` and `--job-ttl`. Nothing about the runtime is in it,
//! so all three servers started with the same flags serve the same bytes (the conformance
//! suite compares them).
//!
//! # Kernels
//! Today there is one kernel; [`Facts::kernel`] carries its name and description into the
//! document's text. When kernels become a list, the server's kernel goes there, and the list
//! belongs in the `x-kernels` extension beside it ([`document`] writes both from [`Facts`]).

use std::collections::BTreeMap;

use schemars::Schema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::app::{Limits, Stats};
use crate::jobs::JobStatus;
use crate::kernel::Kernel;
use crate::lag::LagReport;
use crate::params::{self, REASONS, Rule};
use crate::reply::{Accepted, Computed, ErrorBody, Health};
use crate::strategy::{Execution, RuntimeKind, Strategy};
use crate::{Endpoint, Reply};

pub mod docs;
// Where they were before the page had a file of its own (report's SVG writer uses `escape`).
pub use docs::{docs_page, escape};

/// The OpenAPI version of the document.
pub const OPENAPI_VERSION: &str = "3.1.0";
/// The tags that group the operations, in the order `/docs` shows them.
const DEMO_TAG: &str = "demo strategies";
const RECOMMENDED_TAG: &str = "recommended strategies";
const SERVER_TAG: &str = "server";
/// Where the body schemas are, as `$ref` prefixes name them.
const SCHEMAS: &str = "#/components/schemas/";

/// The kernel a server runs, as the document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelDoc {
    /// Its name (`--kernel`).
    pub name: &'static str,
    /// A sentence for people: what it computes and what `total` is.
    pub description: &'static str,
    /// What one unit of `n` is.
    pub unit: &'static str,
    /// `n` when a request sends none.
    pub default_n: u64,
}

impl KernelDoc {
    /// How the document describes `kernel`.
    pub fn of(kernel: &dyn Kernel) -> KernelDoc {
        KernelDoc {
            name: kernel.name(),
            description: kernel.description(),
            unit: kernel.unit(),
            default_n: kernel.default_n(),
        }
    }
}

/// What the document depends on besides the code: the server's flags that change what a
/// client may send or will get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// `--max-n`: the largest `n` accepted.
    pub max_n: u64,
    /// `--job-ttl`, seconds: how long a finished job's result is kept.
    pub job_ttl_s: u64,
    /// The kernel the server runs.
    pub kernel: KernelDoc,
}

impl Facts {
    /// The facts of a server started with `limits`.
    pub fn of(limits: &Limits) -> Facts {
        Facts {
            max_n: limits.max_n,
            job_ttl_s: limits.job_ttl.as_secs(),
            kernel: KernelDoc::of(limits.kernel),
        }
    }

    /// The facts a server reports in its `/stats` (what the conformance suite expects its
    /// `/openapi.json` to follow).
    pub fn of_stats(stats: &Stats, kernel: &dyn Kernel) -> Facts {
        Facts {
            max_n: stats.max_n,
            job_ttl_s: stats.jobs.ttl_s,
            kernel: KernelDoc::of(kernel),
        }
    }
}

/// The two answers, rendered once when the server starts.
#[derive(Debug, Clone)]
pub struct ApiDocs {
    /// `GET /openapi.json`.
    pub openapi: Reply,
    /// `GET /docs`.
    pub docs: Reply,
}

impl ApiDocs {
    /// Both answers for a server with these facts.
    pub fn new(facts: &Facts) -> ApiDocs {
        let doc = document(facts);
        ApiDocs {
            docs: Reply::html(docs_page(&doc)),
            openapi: Reply::json(200, &doc),
        }
    }
}

/// The OpenAPI 3.1 document of every endpoint.
pub fn document(facts: &Facts) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .for_serialize()
        .into_generator();
    let mut paths = Map::new();
    for endpoint in Endpoint::all() {
        let operation = operation(endpoint, facts, &mut generator);
        paths.insert(
            endpoint.path().into(),
            json!({ endpoint.method().to_ascii_lowercase(): operation }),
        );
    }
    let mut schemas = generator.take_definitions(true);
    refine(&mut schemas);
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "cpu-bound-async",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "What CPU-bound handlers do to async Rust servers",
            "description": format!(
                "The same endpoints on tokio/axum, async-std/tide and smol/hyper: each strategy \
                 runs the CPU-bound kernel ({}: {}) in a request handler its own way. Every \
                 JSON body escapes `<`, `>` and `&`; every 405 names the allowed methods in \
                 `Allow`; `HEAD` is served wherever `GET` is. A human-readable page: `/docs`.",
                facts.kernel.name, facts.kernel.description
            ),
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
        },
        "x-kernels": [{
            "name": facts.kernel.name,
            "description": facts.kernel.description,
            "unit": facts.kernel.unit,
            "default_n": facts.kernel.default_n,
        }],
        "tags": [
            { "name": DEMO_TAG, "description": "Ways of running the kernel in a handler: the five of the Python demo this project grew from." },
            { "name": RECOMMENDED_TAG, "description": "What tokio's documentation and Alice Ryhl's \"Async: What is blocking?\" recommend instead: a pool sized to the cores, a bounded offload, a job API." },
            { "name": SERVER_TAG, "description": "Health, accounting, executor lag, job results and these documents." },
        ],
        "paths": paths,
        "components": { "schemas": schemas },
    })
}

/// The `operationId` and summary of an endpoint, and its text beyond the strategy's.
fn names(endpoint: Endpoint) -> (String, String, &'static str) {
    match endpoint {
        Endpoint::Strategy(s) => {
            let how = match s.execution() {
                Execution::Inline => "inline: blocks its executor thread",
                Execution::Yielding => "inline, yielding to the executor between slices",
                Execution::Offloaded => "offloaded to another thread, awaited",
                Execution::Detached => "fire and forget: answers before the work is done",
                Execution::Job => "the job API: submit now, fetch the result later",
            };
            (s.name().into(), format!("{} ({how})", s.name()), "")
        }
        Endpoint::JobStatus => (
            "job_status".into(),
            "A job's status and, once done, its result".into(),
            "`queued`, `running`, `done` (with `total` and `compute_us`) or `failed` (the \
             kernel panicked). With `wait=true` the answer waits, asynchronously, until the \
             job is done or failed.",
        ),
        Endpoint::QueueStatus => (
            "queue_status".into(),
            "A queued job's status and, once done, its result, from the broker".into(),
            "`queued`, `running` (a queue-worker took it), `done` (with `total` and \
             `compute_us`) or `failed`. With `wait=true` the answer waits, asynchronously, until \
             a worker has finished the job. 503 `no_broker` on a server started without \
             `--broker`, 503 `broker_unavailable` while the broker does not answer.",
        ),
        Endpoint::Health => (
            "health".into(),
            "Liveness: a tiny answer with no CPU work".into(),
            "The responsiveness probe's target: how long it takes is how long the server \
             makes everyone else wait. Any query string is ignored.",
        ),
        Endpoint::Stats => (
            "stats".into(),
            "Runtime, thread counts configured and measured, job and request accounting".into(),
            "Any query string is ignored.",
        ),
        Endpoint::Lag => (
            "lag".into(),
            "The executor lag in the current window, measured inside the server".into(),
            "A heartbeat task on the server's own executor wakes every `--lag-interval-us` on \
             the runtime's own timer and records how late it woke. Any query string is ignored.",
        ),
        Endpoint::LagWindow => (
            "close_lag_window".into(),
            "Closes the lag window, answers its figures, opens the next".into(),
            "In one step, so every heartbeat sample belongs to exactly one window: call it \
             before and after a batch to get exactly that batch's lag.",
        ),
        Endpoint::OpenApi => (
            "openapi".into(),
            "This document (OpenAPI 3.1)".into(),
            "Generated from the strategy list, the parameter rules and the body types; the \
             same on every server started with the same flags. Any query string is ignored.",
        ),
        Endpoint::Docs => (
            "docs".into(),
            "A human-readable page of this document, with a form per endpoint".into(),
            "Self-contained HTML: nothing is fetched. Any query string is ignored.",
        ),
    }
}

fn operation(endpoint: Endpoint, facts: &Facts, generator: &mut SchemaGenerator) -> Value {
    let (id, summary, extra) = names(endpoint);
    let mut parameters = Vec::new();
    let mut responses = BTreeMap::new();
    let mut tag = SERVER_TAG;
    let mut description = extra.to_owned();
    match endpoint {
        Endpoint::Strategy(s) => {
            description = format!("{}.", s.description());
            tag = if Strategy::DEMO.contains(&s) {
                description.push_str(" One of the Python demo's endpoints.");
                DEMO_TAG
            } else {
                RECOMMENDED_TAG
            };
            for rule in s
                .parameters()
                .iter()
                .filter_map(|name| params::rule(name, facts.max_n))
            {
                // The kernel decides what a request without `n` runs.
                let rule = if rule.name == "n" {
                    Rule {
                        default: facts.kernel.default_n.min(facts.max_n),
                        ..rule
                    }
                } else {
                    rule
                };
                parameters.push(query_parameter(&rule));
            }
            let (what, body) = match s.execution() {
                Execution::Detached => (
                    "Accepted: the kernel runs on after the answer (its completion is counted in /stats)",
                    generator.subschema_for::<Accepted>(),
                ),
                Execution::Job => (
                    if s == Strategy::Queue {
                        "Queued on the broker: fetch the result at `url` (`GET /queue/{id}?wait=true`)"
                    } else {
                        "Queued: fetch the result at `url` (`GET /jobs/{id}?wait=true`)"
                    },
                    generator.subschema_for::<JobStatus>(),
                ),
                Execution::Inline | Execution::Yielding | Execution::Offloaded => {
                    ("The kernel's result", generator.subschema_for::<Computed>())
                }
            };
            responses.insert(s.success_status(), json_response(what, body));
            responses.insert(400, bad_parameter(generator));
            if s.execution() == Execution::Offloaded {
                responses.insert(
                    500,
                    error_response(
                        "The kernel panicked on its pool thread (`error`: `internal`)",
                        generator,
                    ),
                );
            }
            if let Some(flag) = s.admission_limit() {
                let broker = if s == Strategy::Queue {
                    "; or `no_broker`: the server was started without `--broker redis://HOST:PORT` \
                     (no `Retry-After`: retrying will not help); or `broker_unavailable`: the \
                     broker does not answer now (the server reconnects by itself)"
                } else {
                    ""
                };
                let mut r = error_response(
                    &format!(
                        "Overloaded: the server refuses work past `{flag}` (`error`: `overloaded`); retry after `Retry-After` seconds{broker}"
                    ),
                    generator,
                );
                r["headers"] = json!({ "Retry-After": header("Seconds to wait before retrying", json!({ "type": "integer", "minimum": 0 })) });
                responses.insert(503, r);
            }
            // Declared once, beside the strategy (`Strategy::supported_on`): the runtimes that
            // answer 501 instead of running it. The same document on every server, so listed
            // for all.
            let unsupported: Vec<String> = RuntimeKind::ALL
                .iter()
                .filter(|k| !s.supported_on(**k))
                .map(ToString::to_string)
                .collect();
            if !unsupported.is_empty() {
                responses.insert(
                    501,
                    error_response(
                        &format!(
                            "Not supported by this server's runtime (`error`: `not_supported`, \
                             `runtime` names it): {}",
                            unsupported.join(", ")
                        ),
                        generator,
                    ),
                );
            }
        }
        Endpoint::JobStatus | Endpoint::QueueStatus => {
            let queue = endpoint == Endpoint::QueueStatus;
            parameters.push(json!({
                "name": "id",
                "in": "path",
                "required": true,
                "description": if queue {
                    "the job's id, from `POST /queue`' answer"
                } else {
                    "the job's id, from `POST /jobs`' answer"
                },
                "schema": { "type": "string" },
            }));
            parameters.push(json!({
                "name": "wait",
                "in": "query",
                "required": false,
                "description": "wait until the job is done (or failed) before answering",
                "schema": { "type": "boolean", "default": false },
            }));
            responses.insert(
                200,
                json_response("The job", generator.subschema_for::<JobStatus>()),
            );
            responses.insert(400, bad_parameter(generator));
            let missing = if queue {
                "No such job: unknown to the broker, or its result expired (the workers' `--job-ttl`)"
                    .to_owned()
            } else {
                format!(
                    "No such job: unknown, finished more than {} s ago (`--job-ttl`), or evicted (`--job-capacity`)",
                    facts.job_ttl_s
                )
            };
            responses.insert(404, error_response(&missing, generator));
            if queue {
                responses.insert(
                    503,
                    error_response(
                        "No broker: `no_broker` (the server was started without `--broker`) or \
                         `broker_unavailable` (it does not answer now; `Retry-After` is set)",
                        generator,
                    ),
                );
            }
        }
        Endpoint::Health => {
            responses.insert(
                200,
                json_response("Alive", generator.subschema_for::<Health>()),
            );
        }
        Endpoint::Stats => {
            responses.insert(
                200,
                json_response("The figures", generator.subschema_for::<Stats>()),
            );
        }
        Endpoint::Lag => {
            responses.insert(
                200,
                json_response(
                    "The current window so far",
                    generator.subschema_for::<LagReport>(),
                ),
            );
        }
        Endpoint::LagWindow => {
            responses.insert(
                200,
                json_response(
                    "The window just closed",
                    generator.subschema_for::<LagReport>(),
                ),
            );
        }
        Endpoint::OpenApi => {
            responses.insert(
                200,
                json_response(
                    "The OpenAPI 3.1 document",
                    schemars::json_schema!({ "type": "object" }),
                ),
            );
        }
        Endpoint::Docs => {
            responses.insert(
                200,
                json!({
                    "description": "The page",
                    "content": { "text/html": { "schema": { "type": "string" } } },
                }),
            );
        }
    }
    let mut not_allowed = error_response(
        "Another method: the JSON 405 (`error`: `method_not_allowed`)",
        generator,
    );
    not_allowed["headers"] = json!({
        "Allow": header(
            "The methods this path answers to",
            json!({ "type": "string", "const": endpoint.allow() }),
        ),
    });
    responses.insert(405, not_allowed);
    let responses: Map<String, Value> = responses
        .into_iter()
        .map(|(status, r)| (status.to_string(), r))
        .collect();
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "responses": responses,
    });
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    op
}

fn query_parameter(rule: &Rule) -> Value {
    json!({
        "name": rule.name,
        "in": "query",
        "required": false,
        "description": rule.description,
        "schema": {
            "type": "integer",
            "minimum": rule.minimum,
            "maximum": rule.maximum,
            "default": rule.default,
        },
    })
}

fn header(description: &str, schema: Value) -> Value {
    json!({ "description": description, "schema": schema })
}

fn json_response(description: &str, schema: Schema) -> Value {
    json!({
        "description": description,
        "content": { crate::CONTENT_TYPE: { "schema": schema } },
    })
}

fn error_response(description: &str, generator: &mut SchemaGenerator) -> Value {
    json_response(description, generator.subschema_for::<ErrorBody>())
}

fn bad_parameter(generator: &mut SchemaGenerator) -> Value {
    error_response(
        "A query parameter refused (`error`: `invalid_parameter`): `parameter` names it and \
         `reason` says why",
        generator,
    )
}

/// What the types alone cannot say: the closed sets of some string fields. And what they say
/// that a client does not need: `default`s, which tell how bodies from older servers parse
/// (`#[serde(default)]`), while every server here sends every field.
fn refine(schemas: &mut Map<String, Value>) {
    for schema in schemas.values_mut() {
        let properties = schema.get_mut("properties").and_then(Value::as_object_mut);
        for property in properties.into_iter().flatten() {
            if let Some(p) = property.1.as_object_mut() {
                p.remove("default");
            }
        }
    }
    let mut enumerate = |schema: &str, field: &str, values: &[&str]| {
        if let Some(property) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
        {
            property["enum"] = json!(values);
        }
    };
    enumerate("ErrorBody", "reason", &REASONS);
    enumerate(
        "ErrorBody",
        "error",
        &[
            "invalid_parameter",
            "not_found",
            "method_not_allowed",
            "overloaded",
            "internal",
        ],
    );
    enumerate(
        "JobStatus",
        "status",
        &["queued", "running", "done", "failed"],
    );
    enumerate("Health", "status", &["ok"]);
    enumerate("Accepted", "status", &["accepted"]);
}

/// The name a `$ref` to a body schema points at (`Computed`).
fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(SCHEMAS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::time::Duration;

    pub(super) fn facts(max_n: u64) -> Facts {
        Facts {
            max_n,
            job_ttl_s: 300,
            kernel: KernelDoc::of(crate::kernel::DEFAULT),
        }
    }

    #[test]
    fn the_document_parses_as_openapi_3_1_with_every_reference_resolved() {
        let doc = document(&facts(1_000_000_000));
        let text = serde_json::to_string(&doc).expect("JSON");
        let spec = oas3::from_json(&text).expect("parses as OpenAPI 3.1");
        let version = spec.validate_version().expect("a supported version");
        assert_eq!((version.major, version.minor), (3, 1));
        let mut operations = 0;
        for (path, method, op) in spec.operations() {
            operations += 1;
            assert!(op.operation_id.is_some(), "{method} {path}");
            op.parameters(&spec)
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let responses = op.responses(&spec);
            assert!(responses.contains_key("405"), "{method} {path}");
            for (status, r) in responses {
                for (media, content) in &r.content {
                    let schema = content
                        .schema(&spec)
                        .unwrap_or_else(|e| panic!("{method} {path} {status} {media}: {e}"));
                    assert!(schema.is_some(), "{method} {path} {status} {media}");
                }
            }
        }
        assert_eq!(operations, Endpoint::all().count());
        // Nothing in the document is lost on the way through the typed model: every key is
        // one OpenAPI 3.1 knows (a misspelt one would be dropped here).
        let round_trip = serde_json::to_value(&spec).expect("serializes");
        let lost = differences(&doc, &round_trip, "");
        assert!(lost.is_empty(), "changed by the typed model: {lost:#?}");
    }

    /// The JSON pointers where `a` and `b` differ.
    fn differences(a: &Value, b: &Value, at: &str) -> Vec<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter()
                    .flat_map(|k| {
                        let here = format!("{at}/{k}");
                        match (x.get(k), y.get(k)) {
                            (Some(v), Some(w)) => differences(v, w, &here),
                            _ => vec![here],
                        }
                    })
                    .collect()
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .flat_map(|(i, (v, w))| differences(v, w, &format!("{at}/{i}")))
                .collect(),
            _ if a == b => Vec::new(),
            _ => vec![at.to_owned()],
        }
    }

    #[test]
    fn every_endpoint_is_in_the_document_with_its_method_and_nothing_else() {
        let doc = document(&facts(1000));
        let paths = doc["paths"].as_object().expect("paths");
        let documented: BTreeSet<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(move |m| (m.to_ascii_uppercase(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = Endpoint::all()
            .map(|e| (e.method().to_owned(), e.path().to_owned()))
            .collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn every_strategy_is_documented_with_its_parameters_and_statuses() {
        let doc = document(&facts(12_345));
        for s in Strategy::ALL {
            let op = &doc["paths"][s.path()][s.method().to_ascii_lowercase()];
            assert_eq!(op["operationId"], s.name(), "{s}");
            assert!(
                op["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(s.description())),
                "{s}"
            );
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(names, s.parameters(), "{s}");
            let n = &op["parameters"][0]["schema"];
            assert_eq!(
                (&n["maximum"], &n["default"]),
                (&json!(12_345), &json!(12_345)),
                "{s}: the server's --max-n"
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key(&s.success_status().to_string()));
            assert!(responses.contains_key("400"));
            assert_eq!(
                responses.contains_key("503"),
                s.admission_limit().is_some(),
                "{s}"
            );
            assert_eq!(
                responses.contains_key("501"),
                RuntimeKind::ALL.iter().any(|k| !s.supported_on(*k)),
                "{s}"
            );
            assert_eq!(
                responses["405"]["headers"]["Allow"]["schema"]["const"],
                Endpoint::Strategy(s).allow()
            );
        }
        // Only the flags move the document.
        assert_eq!(document(&facts(12_345)), doc);
        assert_ne!(document(&facts(12_346)), doc);
        let a = serde_json::to_string(&document(&facts(5))).expect("JSON");
        let b = serde_json::to_string(&document(&facts(7))).expect("JSON");
        assert_eq!(a.replace(":5,", ":7,"), b, "n's maximum and default only");
    }

    #[test]
    fn body_schemas_describe_the_bodies_the_servers_send() {
        let doc = document(&facts(1000));
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for name in [
            "Computed",
            "Accepted",
            "ErrorBody",
            "Health",
            "JobStatus",
            "Stats",
            "LagReport",
        ] {
            assert!(schemas.contains_key(name), "{name}");
        }
        // Every field of real bodies is a documented property, and every required property
        // is in them.
        let app = crate::App::new(
            crate::RuntimeInfo {
                kind: crate::RuntimeKind::Smol,
                framework: "none",
                executor_threads: 1,
                blocking_threads_max: 1,
                header_read_timeout: Duration::from_secs(1),
            },
            Limits {
                max_n: 1000,
                max_background: 1,
                cpu_threads: 1,
                max_queue: 1,
                job_capacity: 1,
                job_ttl: Duration::from_secs(300),
                cache_capacity: 1,
                cache_ttl: Duration::from_secs(300),
                cpu_pool_nice: None,
                lag_interval: None,
                panic_on_n: None,
                kernel: crate::kernel::DEFAULT,
                broker: None,
                settle_quiet: crate::app::SETTLE_QUIET,
            },
        )
        .expect("app");
        let bodies = [
            ("Stats", app.stats().body),
            ("LagReport", app.lag().body),
            ("Health", Reply::health().body),
            ("ErrorBody", Reply::not_found("/x").body),
        ];
        for (name, body) in bodies {
            let body: Value = serde_json::from_str(&body).expect("JSON");
            let schema = &schemas[name];
            let properties = schema["properties"].as_object().expect("properties");
            for key in body.as_object().expect("object").keys() {
                assert!(properties.contains_key(key), "{name}.{key}");
            }
            for key in schema["required"].as_array().into_iter().flatten() {
                assert!(
                    body.get(key.as_str().expect("name")).is_some(),
                    "{name}.{key}"
                );
            }
        }
        assert_eq!(
            schemas["ErrorBody"]["properties"]["reason"]["enum"],
            json!(REASONS)
        );
    }

    #[test]
    fn api_docs_answer_json_and_html() {
        let docs = ApiDocs::new(&facts(1000));
        assert_eq!(
            (docs.openapi.status, docs.openapi.content_type),
            (200, crate::CONTENT_TYPE)
        );
        assert_eq!(
            (docs.docs.status, docs.docs.content_type),
            (200, crate::HTML_CONTENT_TYPE)
        );
        let back: Value = serde_json::from_str(&docs.openapi.body).expect("JSON");
        assert_eq!(back, document(&facts(1000)));
    }
}
