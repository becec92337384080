//! The shared conformance suite against the real `server-actix-web` binary.

conformance::server_tests!(env!("CARGO_BIN_EXE_server-actix-web"));
