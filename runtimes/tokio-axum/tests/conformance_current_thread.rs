//! The shared conformance suite against `server-tokio-axum --flavor current-thread`: the same
//! binary and router on tokio's one-thread runtime (`--workers` above 1 refused).

use conformance::harness::Server;

conformance::server_tests!(
    server: Server::new(env!("CARGO_BIN_EXE_server-tokio-axum"))
        .args(&["--flavor", "current-thread"])
        .one_thread()
);
