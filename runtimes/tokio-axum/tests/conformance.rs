//! The shared conformance suite against the real `server-tokio-axum` binary.

conformance::server_tests!(env!("CARGO_BIN_EXE_server-tokio-axum"));
