//! Finding the server binaries: built by `cargo build --release` (the default), or taken from
//! `--server-dir`. A debug-built server measures the wrong thing (the kernel alone is ~50×
//! slower), so anything but a release directory needs `--allow-debug`, which needs `--quick`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::targets::Target;

/// Where the server binaries come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSource {
    /// `cargo build --release -p …` in this workspace, then `target/release/…`.
    Build,
    /// Binaries already in `dir` (`--server-dir`).
    Dir {
        /// The directory.
        dir: PathBuf,
        /// `--allow-debug`: accept a directory that is not a release build.
        allow_debug: bool,
    },
}

/// The binaries a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// `release`, `debug`, or `unknown` (a directory named otherwise).
    pub profile: String,
    /// One binary per target, in the order given.
    pub paths: Vec<(Target, PathBuf)>,
    /// The `/queue` worker (`queue-worker`), built with the servers.
    pub queue_worker: Option<PathBuf>,
}

impl Binaries {
    /// The binary of `target`.
    pub fn path(&self, target: &Target) -> Option<&Path> {
        self.paths
            .iter()
            .find(|(t, _)| t == target)
            .map(|(_, p)| p.as_path())
    }
}

/// The workspace bench-runner was built from: where `cargo build` runs.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Builds or finds the binaries of `targets`.
pub fn prepare(targets: &[Target], source: &ServerSource) -> anyhow::Result<Binaries> {
    match source {
        ServerSource::Build => {
            let (paths, queue_worker) = build_release(targets)?;
            Ok(Binaries {
                profile: "release".into(),
                paths,
                queue_worker: Some(queue_worker),
            })
        }
        ServerSource::Dir { dir, allow_debug } => {
            let profile = profile_of_dir(dir);
            if profile != "release" && !allow_debug {
                bail!(
                    "--server-dir {} is a {profile} build directory: servers are measured as \
                     release builds (target/release), or use --quick --allow-debug for a smoke test",
                    dir.display()
                );
            }
            let paths = targets.iter().map(|t| (*t, dir.join(t.package))).collect();
            Ok(Binaries {
                profile: profile.into(),
                paths,
                queue_worker: Some(dir.join(QUEUE_WORKER)),
            })
        }
    }
}

/// `release` or `debug` from the directory's name (cargo's `target/<profile>`), else `unknown`.
pub fn profile_of_dir(dir: &Path) -> &'static str {
    let name = dir
        .components()
        .next_back()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    match name.as_deref() {
        Some("release") => "release",
        Some("debug") => "debug",
        _ => "unknown",
    }
}

/// The `/queue` worker's package and binary.
pub const QUEUE_WORKER: &str = "queue-worker";

/// The binaries' packages besides the servers' that a run or a `make` step uses: bench-runner
/// itself (and `generator-ceiling`) and the report.
const TOOLS: [&str; 2] = ["bench-runner", "report"];

/// Every package one release build makes: each server's (once, in
/// [`TARGETS`](crate::targets::TARGETS) order), the queue worker's, bench-runner's and the
/// report's. `make build-release` builds exactly these in one cargo invocation, and so does
/// bench-runner's own build whatever `--target` says: cargo unifies features per invocation,
/// so the same list resolves the same features and bench-runner's build finds everything
/// fresh, where a build of the servers alone recompiled the shared crates with other features
/// (a fresh clone built `common` three times). `bench-runner/tests/workspace_files.rs` checks
/// that the Makefile's list is this one.
pub fn build_packages() -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    let all = crate::targets::TARGETS.iter().map(|t| t.package);
    for package in all.chain([QUEUE_WORKER]).chain(TOOLS) {
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    packages
}

/// Builds every package of [`build_packages`] in one cargo invocation (as
/// `make build-release` does); returns the binaries of `targets`' servers and of the queue
/// worker.
fn build_release(targets: &[Target]) -> anyhow::Result<(Vec<(Target, PathBuf)>, PathBuf)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = workspace_root();
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--release",
            "--message-format",
            "json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let packages = build_packages();
    for package in &packages {
        cmd.args(["-p", package]);
    }
    eprintln!(
        "building servers: cargo build --release {} (in {})",
        packages
            .iter()
            .map(|p| format!("-p {p}"))
            .collect::<Vec<_>>()
            .join(" "),
        root.display()
    );
    let output = cmd
        .output()
        .with_context(|| format!("running {}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "cargo build --release failed ({}); see its messages above",
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let built = |package: &str| {
        executable(&stdout, package)
            .with_context(|| format!("cargo build did not report a binary for {package}"))
    };
    let servers = targets
        .iter()
        .map(|t| built(t.package).map(|p| (*t, p)))
        .collect::<anyhow::Result<_>>()?;
    Ok((servers, built(QUEUE_WORKER)?))
}

/// The `executable` of the `compiler-artifact` message for binary `name` in cargo's JSON output.
fn executable(cargo_json: &str, name: &str) -> Option<PathBuf> {
    cargo_json.lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        if v["reason"] != "compiler-artifact" || v["target"]["name"] != name {
            return None;
        }
        let is_bin = v["target"]["kind"].as_array()?.iter().any(|k| k == "bin");
        is_bin
            .then(|| v["executable"].as_str().map(PathBuf::from))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::TARGETS;

    #[test]
    fn profiles_from_directory_names() {
        assert_eq!(profile_of_dir(Path::new("target/release")), "release");
        assert_eq!(profile_of_dir(Path::new("/x/target/release/")), "release");
        assert_eq!(profile_of_dir(Path::new("target/debug")), "debug");
        assert_eq!(profile_of_dir(Path::new("/opt/bin")), "unknown");
    }

    #[test]
    fn debug_directories_need_allow_debug() {
        let dir = ServerSource::Dir {
            dir: "target/debug".into(),
            allow_debug: false,
        };
        let err = prepare(&TARGETS, &dir).expect_err("refused");
        assert!(err.to_string().contains("release builds"), "{err}");
        let dir = ServerSource::Dir {
            dir: "/opt/target/debug".into(),
            allow_debug: true,
        };
        let b = prepare(&TARGETS, &dir).expect("accepted");
        assert_eq!(b.profile, "debug");
        assert_eq!(
            b.path(&TARGETS[2]),
            Some(Path::new("/opt/target/debug/server-async-std-tide"))
        );
        // tokio's two flavours: one binary.
        assert_eq!(b.path(&TARGETS[0]), b.path(&TARGETS[1]));
        let dir = ServerSource::Dir {
            dir: "/opt/target/release".into(),
            allow_debug: false,
        };
        assert_eq!(
            prepare(&TARGETS[..1], &dir).expect("release").profile,
            "release"
        );
    }

    #[test]
    fn finds_executables_in_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","target":{"name":"common","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"server-smol-hyper","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"server-smol-hyper","kind":["bin"]},"executable":"/w/target/release/server-smol-hyper"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(json, "server-smol-hyper"),
            Some(PathBuf::from("/w/target/release/server-smol-hyper"))
        );
        assert_eq!(executable(json, "server-tokio-axum"), None);
        assert_eq!(executable(json, "common"), None);
    }

    #[test]
    fn one_build_holds_every_server_the_worker_and_the_tools_once() {
        let packages = build_packages();
        for t in TARGETS {
            assert_eq!(packages.iter().filter(|p| **p == t.package).count(), 1);
        }
        for p in [QUEUE_WORKER, "bench-runner", "report"] {
            assert!(packages.contains(&p), "{p}");
        }
    }

    #[test]
    fn workspace_root_holds_the_servers() {
        let root = workspace_root();
        assert!(root.join("bench-runner").is_dir(), "{}", root.display());
        assert!(root.join("Cargo.toml").is_file());
    }
}
