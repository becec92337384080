//! The shared conformance suite against the real `server-async-std-tide` binary.

conformance::server_tests!(env!("CARGO_BIN_EXE_server-async-std-tide"));
