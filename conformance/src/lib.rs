//! The conformance suite, written once and run against every server binary as a real process
//! on port 0 (by each server's tests, through [`server_tests!`]) and by bench-runner before it
//! measures anything, as TechEmpower verifies before it benchmarks.
//!
//! # Layout
//! - [`process`]: [`ServerProcess`], a server binary started on `127.0.0.1:0`, stopped with
//!   SIGTERM, killed on drop; [`process::run_to_exit`], a binary whose start must fail, run to
//!   its exit.
//! - [`client`]: the [`HttpClient`] trait the checks go through, and [`ReqwestClient`].
//! - [`checks`]: [`verify`]: totals for every strategy against the kernel's expected answer
//!   ([`checks::expected`]: its closed form, or its own result computed once), the kernel
//!   named in `/stats`, every 400 with its parameter, 404, 405 with its `Allow` header, every
//!   endpoint of `common::Endpoint::all` served, `/openapi.json` (the document `common`
//!   generates for the server's flags) and `/docs` (well-formed, naming every path),
//!   background completion in `/stats`.
//! - [`behaviour`]: with one executor thread, `/health` waits behind an inline request and not
//!   behind an offloaded or yielding one.
//! - [`lag`]: the server's own lag monitor (`/lag`, `POST /lag/window`) sees an inline request
//!   block the executor, and an offloaded one not.
//! - [`broker`]: a `redis-server` and `queue-worker`s started by the tests, for `/queue`
//!   (skipped with a printed reason when `redis-server` is not on PATH).
//! - [`raw`]: raw HTTP/1.1 over TCP, for what client libraries will not do (a thousand
//!   connections held at once, headers that never end or are far too large).
//! - [`harness`]: blocking entry points for `#[test]`s, and the [`server_tests!`] macro.
//! - [`lockfile`]: the crates whose global pools the servers configure are linked in one
//!   version only (tested against the workspace's `Cargo.lock`).

pub mod behaviour;
pub mod broker;
pub mod checks;
pub mod client;
pub mod harness;
pub mod lag;
pub mod lockfile;
pub mod process;
pub mod raw;

pub use checks::{
    AnswerError, Check, Mode, Outcome, Report, call_strategy, check_answer, verify,
    verify_strategies,
};
pub use client::{ClientError, HttpClient, HttpResponse, ReqwestClient};
pub use process::{ServerProcess, StartError};
