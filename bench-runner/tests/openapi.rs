//! `/openapi.json` and `/docs` are the same on every server bench-runner knows ([`TARGETS`]),
//! started with the same flags. Here because this is where the list of servers is; the check
//! itself is the conformance suite's.

use std::path::Path;
use std::process::Command;

use bench_runner::targets::TARGETS;

#[test]
fn openapi_and_docs_are_the_same_on_every_server() {
    // The servers are built as the end-to-end test builds them (debug, every target of the
    // workspace, as `cargo test --workspace` does: a no-op there).
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(bench_runner::servers::workspace_root())
        .args(["build", "--quiet", "--workspace", "--all-targets"]);
    assert!(
        cmd.status().expect("cargo build runs").success(),
        "building the servers failed"
    );
    let dir = Path::new(env!("CARGO_BIN_EXE_bench-runner"))
        .parent()
        .expect("bin dir");
    let mut binaries: Vec<String> = TARGETS
        .iter()
        .map(|t| dir.join(t.package).to_string_lossy().into_owned())
        .collect();
    // Two targets can be one binary (tokio's two flavours).
    binaries.dedup();
    let binaries: Vec<&str> = binaries.iter().map(String::as_str).collect();
    conformance::harness::openapi_is_the_same_on_every_server(&binaries);
}
