//! `GET /openapi.json` and `GET /docs`, generated once per server process from what `common`
//! already declares: the endpoints ([`Endpoint::all`], hence [`Strategy::ALL`]), the parameter
//! rules ([`params::rule`], with the server's own `--max-n`), the statuses each strategy can
//! answer, and the body types, whose JSON Schemas are derived (schemars) from the very serde
//! types the servers serialize. A new strategy appears in both without touching this file.
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
//!
//! # `/docs`
//! One page generated from the document (not from the Rust types), so it shows what a client
//! generator reads. It is HTML that is also well-formed XML (every element closed, every
//! attribute quoted, every text escaped), so the tests check it with an XML parser, which,
//! unlike an HTML5 parser, refuses what is malformed. Nothing is fetched: the style sheet is
//! inline, and so is the one small script, needed only by the forms plain HTML cannot send (a
//! path parameter, `/jobs/{id}`; a POST whose parameters go in the query, `POST /jobs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// The `/docs` page of `doc`: every operation with its text, parameters, responses and a form,
/// then every body schema.
pub fn docs_page(doc: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let title = text(&doc["info"]["title"]);
    // (method, already escaped; path; operation)
    let mut ops: Vec<(String, String, &Value)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                ops.push((escape(&method.to_ascii_uppercase()), path.clone(), op));
            }
        }
    }
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(page, "<title>{} API</title>", escape(&title));
    page.push_str(STYLE);
    page.push_str(SCRIPT);
    page.push_str("</head>\n<body>\n");
    let _ = writeln!(
        page,
        "<h1>{} API</h1>\n<p>{}</p>\n<p>{}</p>",
        escape(&title),
        inline_code(&text(&doc["info"]["summary"])),
        inline_code(&text(&doc["info"]["description"]))
    );
    let _ = writeln!(
        page,
        "<p>The same as a machine-readable OpenAPI {} document: <a href=\"/openapi.json\">/openapi.json</a>. Each form below sends its request from this page; the answer opens in its place.</p>",
        escape(&text(&doc["openapi"]))
    );
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = text(&tag["name"]);
        let _ = writeln!(
            page,
            "<h2>{}</h2>\n<p>{}</p>\n<ul class=\"toc\">",
            escape(&name),
            inline_code(&text(&tag["description"]))
        );
        for (method, path, op) in ops.iter().filter(|(_, _, op)| has_tag(op, &name)) {
            let _ = writeln!(
                page,
                "<li><a href=\"#{}\"><code>{} {}</code></a>: {}</li>",
                escape(&anchor(op)),
                method,
                escape(path),
                inline_code(&text(&op["summary"]))
            );
        }
        page.push_str("</ul>\n");
    }
    // The sections in the order of the contents: by tag, then by path.
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    ops.sort_by_key(|(_, path, op)| {
        let tag = tags.iter().position(|t| has_tag(op, t));
        (tag.unwrap_or(tags.len()), path.clone())
    });
    for (method, path, op) in &ops {
        operation_section(&mut page, method, path, op);
    }
    page.push_str("<h2 id=\"bodies\">Response bodies</h2>\n");
    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        schema_section(&mut page, name, schema);
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn has_tag(op: &Value, tag: &str) -> bool {
    op["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t == tag))
}

fn anchor(op: &Value) -> String {
    format!("op-{}", op["operationId"].as_str().unwrap_or_default())
}

fn operation_section(page: &mut String, method: &str, path: &str, op: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let _ = writeln!(
        page,
        "<section id=\"{}\">\n<h3><span class=\"method\">{method}</span> <code>{}</code></h3>\n<p class=\"summary\">{}</p>",
        escape(&anchor(op)),
        escape(path),
        inline_code(&text(&op["summary"]))
    );
    let description = text(&op["description"]);
    if !description.is_empty() {
        let _ = writeln!(page, "<p>{}</p>", inline_code(&description));
    }
    let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
    if !parameters.is_empty() {
        page.push_str("<table>\n<tr><th>parameter</th><th>in</th><th>type</th><th>accepted</th><th>default</th><th>meaning</th></tr>\n");
        for p in &parameters {
            let s = &p["schema"];
            let range = match (s.get("minimum"), s.get("maximum")) {
                (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
                _ => String::new(),
            };
            let _ = writeln!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(&p["name"])),
                escape(&text(&p["in"])),
                escape(&text(&s["type"])),
                escape(&range),
                escape(&s.get("default").map(Value::to_string).unwrap_or_default()),
                inline_code(&text(&p["description"]))
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("<ul class=\"responses\">\n");
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        let mut line = format!(
            "<li><b>{}</b> {}",
            escape(status),
            inline_code(&text(&r["description"]))
        );
        for content in r["content"].as_object().into_iter().flatten() {
            let (media, body) = content;
            match ref_name(&body["schema"]) {
                Some(name) => {
                    let _ = write!(
                        line,
                        "; <code>{}</code> <a href=\"#schema-{}\">{}</a>",
                        escape(media),
                        escape(name),
                        escape(name)
                    );
                }
                None => {
                    let _ = write!(line, "; <code>{}</code>", escape(media));
                }
            }
        }
        for (name, h) in r["headers"].as_object().into_iter().flatten() {
            let value = h["schema"]
                .get("const")
                .and_then(Value::as_str)
                .map(|v| format!(": {v}"))
                .unwrap_or_default();
            let _ = write!(
                line,
                "; header <code>{}{}</code>",
                escape(name),
                escape(&value)
            );
        }
        line.push_str("</li>\n");
        page.push_str(&line);
    }
    page.push_str("</ul>\n");
    form(page, method, path, &parameters);
    page.push_str("</section>\n");
}

/// A form that sends the request. A GET with query parameters only is plain HTML; a path
/// parameter or a POST with query parameters needs the inline script to build the URL.
fn form(page: &mut String, method: &str, path: &str, parameters: &[Value]) {
    let in_path = parameters.iter().any(|p| p["in"] == "path");
    let scripted = in_path || (method != "GET" && !parameters.is_empty());
    let verb = if method == "GET" { "get" } else { "post" };
    let _ = write!(
        page,
        "<form class=\"try\" method=\"{verb}\" action=\"{}\"",
        escape(path)
    );
    if scripted {
        let _ = write!(
            page,
            " data-path=\"{}\" onsubmit=\"return send(this)\"",
            escape(path)
        );
    }
    page.push_str(">\n");
    for p in parameters {
        let name = escape(p["name"].as_str().unwrap_or_default());
        let s = &p["schema"];
        let _ = write!(page, "<label>{name} ");
        if s["type"] == "boolean" {
            let _ = write!(
                page,
                "<select name=\"{name}\"><option>false</option><option>true</option></select>"
            );
        } else if s["type"] == "integer" {
            let attr = |key: &str| {
                s.get(key)
                    .map(|v| format!(" {key}=\"{}\"", escape(&v.to_string())))
                    .unwrap_or_default()
            };
            let _ = write!(
                page,
                "<input type=\"number\" name=\"{name}\"{}{}{}/>",
                attr("minimum").replace("minimum", "min"),
                attr("maximum").replace("maximum", "max"),
                attr("default").replace("default", "value")
            );
        } else {
            let _ = write!(
                page,
                "<input type=\"text\" name=\"{name}\" required=\"required\" value=\"1\"/>"
            );
        }
        page.push_str("</label>\n");
    }
    let _ = writeln!(
        page,
        "<button type=\"submit\">{method} {}</button>\n</form>",
        escape(path)
    );
}

fn schema_section(page: &mut String, name: &str, schema: &Value) {
    let _ = writeln!(
        page,
        "<section id=\"schema-{}\">\n<h3>{}</h3>",
        escape(name),
        escape(name)
    );
    if let Some(d) = schema["description"].as_str() {
        let _ = writeln!(page, "<p>{}</p>", inline_code(d));
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    page.push_str("<table>\n<tr><th>field</th><th>type</th><th>meaning</th></tr>\n");
    for (field, p) in schema["properties"].as_object().into_iter().flatten() {
        let ty = type_cell(p);
        let optional = if required.contains(&field.as_str()) {
            ""
        } else {
            " (optional)"
        };
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code>{optional}</td><td>{ty}</td><td>{}</td></tr>",
            escape(field),
            inline_code(p["description"].as_str().unwrap_or_default())
        );
    }
    page.push_str("</table>\n</section>\n");
}

/// A property's type as HTML: a link to a body schema (`LagSummary`, `WorkerMetrics | null`),
/// or [`type_of`]'s text.
fn type_cell(p: &Value) -> String {
    let link = |target: &str| {
        format!(
            "<a href=\"#schema-{}\">{}</a>",
            escape(target),
            escape(target)
        )
    };
    if let Some(target) = ref_name(p) {
        return link(target);
    }
    if let Some(options) = p["anyOf"].as_array() {
        let parts: Vec<String> = options
            .iter()
            .map(|o| ref_name(o).map_or_else(|| escape(&type_of(o)), link))
            .collect();
        return parts.join(" | ");
    }
    escape(&type_of(p))
}

/// A short type for a property schema: `integer`, `string | null`, `array of integer`, an
/// enumeration.
fn type_of(p: &Value) -> String {
    if let Some(values) = p["enum"].as_array() {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("one of {}", values.join(", "));
    }
    let ty = match &p["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".into(),
    };
    match p.get("items") {
        Some(items) => format!("{ty} of {}", type_of(items)),
        None if p.get("additionalProperties").is_some_and(Value::is_object) => {
            format!("map to {}", type_of(&p["additionalProperties"]))
        }
        None => ty,
    }
}

/// Escapes text for HTML and XML alike (element text and quoted attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `s` and sets its `code spans` in `<code>`.
fn inline_code(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: no spans, just text.
        return escape(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if !i.is_multiple_of(2) {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

const STYLE: &str = "<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1b1b1b; }
code { font-family: ui-monospace, monospace; background: #f2f2f2; padding: 0 0.2em; }
section { border-top: 1px solid #ccc; margin-top: 1.5rem; }
.method { display: inline-block; min-width: 3.5em; padding: 0.1em 0.4em; background: #224e8a; color: #fff; font-size: 0.8em; text-align: center; }
.summary { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
form.try { background: #f6f8fb; border: 1px solid #d5dde8; padding: 0.5rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
form.try input[type=number] { width: 14em; }
</style>
";

/// Builds the URL of a form whose parameters do not all go where plain HTML puts them: path
/// parameters into the path template, the others into the query string (also for a POST).
/// Written without `<` and `&`, so the page stays well-formed XML without a CDATA section.
const SCRIPT: &str = "<script>
function send(form) {
  var path = form.getAttribute('data-path');
  var query = new URLSearchParams();
  for (const el of form.elements) {
    if (!el.name) { continue; }
    var slot = '{' + el.name + '}';
    if (path.indexOf(slot) === -1) { query.append(el.name, el.value); }
    else { path = path.replace(slot, encodeURIComponent(el.value)); }
  }
  var url = query.toString() === '' ? path : path + '?' + query.toString();
  if (form.method === 'get') { window.location.href = url; return false; }
  form.action = url;
  return true;
}
</script>
";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::time::Duration;

    fn facts(max_n: u64) -> Facts {
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
                cpu_pool_nice: None,
                lag_interval: None,
                panic_on_n: None,
                kernel: crate::kernel::DEFAULT,
                broker: None,
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
    fn docs_is_well_formed_and_names_every_path_with_a_form() {
        let doc = document(&facts(1000));
        let page = docs_page(&doc);
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let html = roxmltree::Document::parse_with_options(&page, options)
            .unwrap_or_else(|e| panic!("not well-formed: {e}"));
        let text: String = html
            .descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join(" ");
        let forms: Vec<roxmltree::Node<'_, '_>> = html
            .descendants()
            .filter(|n| n.has_tag_name("form"))
            .collect();
        // Every link inside the page leads somewhere on it.
        let ids: BTreeSet<&str> = html
            .descendants()
            .filter_map(|n| n.attribute("id"))
            .collect();
        for href in html.descendants().filter_map(|n| n.attribute("href")) {
            if let Some(id) = href.strip_prefix('#') {
                assert!(ids.contains(id), "a link to #{id}, which is not there");
            }
        }
        assert!(page.contains("<a href=\"#schema-WorkerMetrics\">WorkerMetrics</a> | null"));
        for e in Endpoint::all() {
            assert!(text.contains(e.path()), "{} is named", e.path());
            let form = forms
                .iter()
                .find(|f| f.attribute("action") == Some(e.path()))
                .unwrap_or_else(|| panic!("a form for {}", e.path()));
            let method = form.attribute("method").expect("method");
            assert!(method.eq_ignore_ascii_case(e.method()), "{}", e.path());
            let names: Vec<&str> = form
                .descendants()
                .filter_map(|n| n.attribute("name"))
                .collect();
            if let Endpoint::Strategy(s) = e {
                assert_eq!(names, s.parameters(), "{}", e.path());
            }
        }
        assert_eq!(forms.len(), Endpoint::all().count());
        // Nothing is fetched: no external script, style sheet, image or frame.
        for n in html.descendants() {
            assert!(n.attribute("src").is_none(), "{:?}", n.tag_name());
            if n.has_tag_name("link") {
                panic!("a <link> element");
            }
        }
    }

    #[test]
    fn docs_escapes_what_it_quotes() {
        let mut doc = document(&facts(1000));
        doc["info"]["description"] = json!("a <b> & \"c\" `<i>`");
        let page = docs_page(&doc);
        assert!(page.contains("a &lt;b&gt; &amp; &quot;c&quot; <code>&lt;i&gt;</code>"));
        assert_eq!(escape("<'&\">"), "&lt;&#39;&amp;&quot;&gt;");
        assert_eq!(inline_code("a `b` c `"), "a `b` c `");
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
