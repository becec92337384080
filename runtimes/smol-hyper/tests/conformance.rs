//! The shared conformance suite against the real `server-smol-hyper` binary.

conformance::server_tests!(env!("CARGO_BIN_EXE_server-smol-hyper"));
