//! The workspace's own instructions, checked as a user would follow them: the Makefile measures
//! the servers cargo just built wherever its target directory is, and every hand-run command
//! in the docs builds release.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    bench_runner::servers::workspace_root()
}

/// `make -n all-bench` with `CARGO_TARGET_DIR` elsewhere: no command names `target/release`
/// (the servers are found through cargo's own report), bench-runner is the binary built in
/// that target directory (never `cargo run`, which would build it alone, with other features),
/// and it is given no `--server-dir` outside that target directory.
#[test]
fn make_all_bench_follows_cargos_target_directory() {
    let elsewhere = std::env::temp_dir().join("bench-runner-makefile-elsewhere");
    let output = Command::new("make")
        .args(["-n", "--no-print-directory", "all-bench"])
        .current_dir(root())
        .env("CARGO_TARGET_DIR", &elsewhere)
        .output()
        .expect("make runs");
    let plan = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{plan}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let runs: Vec<&str> = plan
        .lines()
        .filter(|l| l.contains("/bench-runner "))
        .collect();
    assert!(runs.len() >= 2, "two bench-runner runs expected:\n{plan}");
    assert!(!plan.contains("target/release"), "{plan}");
    assert!(!plan.contains("cargo run"), "{plan}");
    let built = elsewhere.join("release").join("bench-runner");
    for line in &runs {
        assert!(
            line.split_whitespace().any(|w| Path::new(w) == built),
            "{line}"
        );
    }
    for line in runs {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "--server-dir") {
            let dir = Path::new(words.get(i + 1).copied().unwrap_or_default());
            assert!(dir.starts_with(&elsewhere), "{line}");
        }
    }
}

/// `make build-release` is one cargo build of exactly the packages bench-runner's own build
/// asks for (`servers::build_packages`), so that build finds everything fresh; and every
/// `make` step that builds goes through it (no other `cargo build` or `cargo run`).
#[test]
fn one_release_build_serves_every_make_step() {
    let output = Command::new("make")
        .args([
            "-n",
            "--no-print-directory",
            "all-bench",
            "bench-argon2",
            "bench-pools",
            "report",
            "generator-ceiling",
        ])
        .current_dir(root())
        .output()
        .expect("make runs");
    let plan = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{plan}");
    let builds: Vec<&str> = plan
        .lines()
        .filter(|l| l.contains("cargo build") || l.contains("cargo run"))
        .collect();
    assert!(!builds.is_empty(), "{plan}");
    let want = bench_runner::servers::build_packages();
    for line in builds {
        let words: Vec<&str> = line.split_whitespace().collect();
        // `cargo`, or the path in $CARGO (cargo test sets it, and make takes it).
        let cargo = Path::new(words[0]).file_name();
        assert_eq!(cargo, Some(std::ffi::OsStr::new("cargo")), "{line}");
        assert_eq!(&words[1..3], ["build", "--release"], "{line}");
        let packages: Vec<&str> = words
            .windows(2)
            .filter(|w| w[0] == "-p")
            .map(|w| w[1])
            .collect();
        assert_eq!(packages, want, "{line}");
    }
}

/// Every `cargo run` of a server, bench-runner or report in README.md, docs/*.md and the
/// binaries' `//! Run with` lines builds release: a debug server's kernel is ~30× slower, and
/// a reader comparing with the README's figures is misled.
#[test]
fn hand_run_commands_build_release() {
    let root = root();
    let mut files = vec![root.join("README.md")];
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/");
    files.extend(
        docs.map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    for main in [
        "bench-runner/src/main.rs",
        "report/src/main.rs",
        "runtimes/tokio-axum/src/main.rs",
        "runtimes/tokio-axum/examples/own_server.rs",
        "runtimes/async-std-tide/src/main.rs",
        "runtimes/smol-hyper/src/main.rs",
    ] {
        files.push(root.join(main));
    }
    let mut debug = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        debug.extend(debug_runs(&text).into_iter().map(|(line, command)| {
            format!(
                "{}:{line}: {command}",
                file.strip_prefix(&root).unwrap_or(file).display()
            )
        }));
    }
    assert!(
        debug.is_empty(),
        "cargo run without --release:\n{}",
        debug.join("\n")
    );
}

/// `(line number, command)` of each `cargo run` in `text` that runs one of our binaries
/// without `--release` (before its `--`, where cargo's own options end).
fn debug_runs(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("cargo run") {
            let command = &rest[at..];
            // The command ends at a closing backquote or the end of the line.
            let command = command.split('`').next().unwrap_or(command);
            let cargo_part = command.split(" -- ").next().unwrap_or(command);
            let ours = ["server-", "bench-runner", "report"]
                .iter()
                .any(|p| cargo_part.contains(p));
            if ours && !cargo_part.split_whitespace().any(|w| w == "--release") {
                found.push((i + 1, command.trim().to_owned()));
            }
            rest = &rest[at + "cargo run".len()..];
        }
    }
    found
}

#[test]
fn debug_runs_are_found_and_release_runs_are_not() {
    let text = "run `cargo run -p server-smol-hyper` or\n\
                cargo run --release -p bench-runner -- --target smol\n\
                cargo run -p bench-runner -- --release\n\
                `cargo run -p report` and `cargo run -p report --release`\n\
                cargo run --example foo\n";
    let found: Vec<usize> = debug_runs(text).into_iter().map(|(l, _)| l).collect();
    // Line 3: `--release` after `--` goes to bench-runner, not to cargo.
    assert_eq!(found, [1, 3, 4]);
}

/// The work of each kernel's default n is one figure, the kernel's own
/// (`Kernel::default_work`): docs/kernels.md's table says it for every kernel, the README and
/// docs/methodology.md for the default one, and `--help` lists it (generated from the list).
#[test]
fn the_default_ns_work_is_one_figure_everywhere() {
    let root = root();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).expect(p);
    let kernels_md = read("docs/kernels.md");
    for k in common::kernel::KERNELS {
        let work = k.default_work().expect("every shipped kernel is measured");
        assert!(
            kernels_md.contains(&format!("{work})")),
            "docs/kernels.md does not give {}'s default n as {work}",
            k.name()
        );
    }
    let default = common::kernel::DEFAULT
        .default_work()
        .expect("the default kernel is measured");
    for doc in ["README.md", "docs/methodology.md", "docs/results-format.md"] {
        assert!(read(doc).contains(default), "{doc} does not say {default}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .arg("--help")
        .output()
        .expect("bench-runner --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for k in common::kernel::KERNELS {
        assert!(help.contains(&common::kernel::describe(*k)), "{help}");
    }
}
