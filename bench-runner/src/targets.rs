//! The servers bench-runner knows how to build, start and measure: one list, like
//! [`Strategy::ALL`](common::Strategy::ALL) for the endpoints. A target is a binary in one
//! configuration: tokio's two flavours are one binary with two sets of arguments.

use clap::ValueEnum;
use common::{RuntimeKind, Strategy};

/// One of the workspace's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The name used on the command line and in the CSVs (`async-std`).
    pub name: &'static str,
    /// The Cargo package, which is also the binary's name (`server-async-std-tide`).
    pub package: &'static str,
    /// The async runtime (`async-std`).
    pub runtime: &'static str,
    /// The HTTP framework on top of it (`tide`).
    pub framework: &'static str,
    /// Its kind of executor: which strategies it runs ([`Strategy::supported_on`]) and whether
    /// it has more than one executor thread.
    pub kind: RuntimeKind,
    /// Arguments that select this configuration of the binary (`--flavor current-thread`),
    /// before bench-runner's own.
    pub args: &'static [&'static str],
}

impl Target {
    /// Whether `--workers w` means something here: a one-thread runtime (tokio current-thread)
    /// is measured at 1 worker only (it refuses more).
    pub fn runs_with_workers(&self, w: usize) -> bool {
        w == 1 || self.kind != RuntimeKind::TokioCurrentThread
    }

    /// Whether it runs `strategy` at all; elsewhere the pair is recorded *not applicable*.
    pub fn runs(&self, strategy: Strategy) -> bool {
        strategy.supported_on(self.kind)
    }
}

/// Every server, in the order reports list them.
pub const TARGETS: [Target; 5] = [
    Target {
        name: "tokio",
        package: "server-tokio-axum",
        runtime: "tokio",
        framework: "axum",
        kind: RuntimeKind::TokioMultiThread,
        args: &[],
    },
    Target {
        name: "tokio-current-thread",
        package: "server-tokio-axum",
        runtime: "tokio",
        framework: "axum",
        kind: RuntimeKind::TokioCurrentThread,
        args: &["--flavor", "current-thread"],
    },
    Target {
        name: "async-std",
        package: "server-async-std-tide",
        runtime: "async-std",
        framework: "tide",
        kind: RuntimeKind::AsyncStd,
        args: &[],
    },
    Target {
        name: "smol",
        package: "server-smol-hyper",
        runtime: "smol",
        framework: "hyper",
        kind: RuntimeKind::Smol,
        args: &[],
    },
    Target {
        name: "actix",
        package: "server-actix-web",
        runtime: "actix-rt",
        framework: "actix-web",
        kind: RuntimeKind::Actix,
        args: &[],
    },
];

/// `--target`: one server, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetChoice {
    /// tokio + axum (`server-tokio-axum`), multi-thread runtime.
    Tokio,
    /// tokio + axum on tokio's current-thread runtime (`server-tokio-axum --flavor
    /// current-thread`); measured at 1 worker only.
    TokioCurrentThread,
    /// async-std + tide (`server-async-std-tide`); both unmaintained upstream.
    AsyncStd,
    /// smol + hyper (`server-smol-hyper`).
    Smol,
    /// actix-web (`server-actix-web`): one current-thread runtime per worker, no stealing.
    Actix,
    /// All of them, one after the other.
    All,
}

impl TargetChoice {
    /// The servers this choice selects, in [`TARGETS`] order.
    pub fn targets(self) -> Vec<Target> {
        let wanted = match self {
            TargetChoice::Tokio => "tokio",
            TargetChoice::TokioCurrentThread => "tokio-current-thread",
            TargetChoice::AsyncStd => "async-std",
            TargetChoice::Smol => "smol",
            TargetChoice::Actix => "actix",
            TargetChoice::All => return TARGETS.to_vec(),
        };
        TARGETS
            .iter()
            .copied()
            .filter(|t| t.name == wanted)
            .collect()
    }

    /// The servers any of `choices` selects, each once, in [`TARGETS`] order (all of them
    /// for no choice).
    pub fn union(choices: &[TargetChoice]) -> Vec<Target> {
        if choices.is_empty() {
            return TARGETS.to_vec();
        }
        let chosen: Vec<Target> = choices.iter().flat_map(|c| c.targets()).collect();
        TARGETS
            .iter()
            .copied()
            .filter(|t| chosen.iter().any(|c| c.name == t.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_single_choice_selects_one_target_named_like_its_value() {
        for choice in TargetChoice::value_variants() {
            let name = choice
                .to_possible_value()
                .expect("visible")
                .get_name()
                .to_owned();
            let targets = choice.targets();
            if *choice == TargetChoice::All {
                assert_eq!(targets, TARGETS.to_vec());
            } else {
                assert_eq!(targets.len(), 1, "{name}");
                assert_eq!(targets[0].name, name);
            }
        }
    }

    #[test]
    fn a_list_of_choices_selects_each_target_once_in_list_order() {
        let names = |ts: Vec<Target>| ts.iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(
            names(TargetChoice::union(&[
                TargetChoice::Smol,
                TargetChoice::Tokio,
                TargetChoice::Smol
            ])),
            ["tokio", "smol"]
        );
        assert_eq!(TargetChoice::union(&[]), TARGETS.to_vec());
        assert_eq!(
            TargetChoice::union(&[TargetChoice::All, TargetChoice::Actix]),
            TARGETS.to_vec()
        );
    }

    #[test]
    fn names_and_packages_are_unique() {
        let names: HashSet<_> = TARGETS.iter().map(|t| t.name).collect();
        // A binary with its arguments is one configuration: no two targets alike.
        let configs: HashSet<_> = TARGETS.iter().map(|t| (t.package, t.args)).collect();
        let kinds: HashSet<_> = TARGETS.iter().map(|t| t.kind).collect();
        assert_eq!(names.len(), TARGETS.len());
        assert_eq!(configs.len(), TARGETS.len());
        assert_eq!(kinds.len(), TARGETS.len());
        for t in TARGETS {
            assert!(t.package.starts_with("server-"), "{}", t.package);
            assert!(t.package.contains(t.framework), "{}", t.package);
            assert_eq!(t.runtime, t.kind.runtime(), "{}", t.name);
        }
    }

    #[test]
    fn one_thread_targets_run_at_one_worker_and_block_in_place_only_on_tokio() {
        let at_two: Vec<&str> = TARGETS
            .iter()
            .filter(|t| !t.runs_with_workers(2))
            .map(|t| t.name)
            .collect();
        assert_eq!(at_two, ["tokio-current-thread"]);
        assert!(TARGETS.iter().all(|t| t.runs_with_workers(1)));
        let block_in_place: Vec<&str> = TARGETS
            .iter()
            .filter(|t| t.runs(Strategy::BlockInPlace))
            .map(|t| t.name)
            .collect();
        assert_eq!(block_in_place, ["tokio"]);
    }
}
