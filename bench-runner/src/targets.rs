//! The servers bench-runner knows how to build, start and measure: one list, like
//! [`Strategy::ALL`](common::Strategy::ALL) for the endpoints.

use clap::ValueEnum;

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
}

/// Every server, in the order reports list them.
pub const TARGETS: [Target; 3] = [
    Target {
        name: "tokio",
        package: "server-tokio-axum",
        runtime: "tokio",
        framework: "axum",
    },
    Target {
        name: "async-std",
        package: "server-async-std-tide",
        runtime: "async-std",
        framework: "tide",
    },
    Target {
        name: "smol",
        package: "server-smol-hyper",
        runtime: "smol",
        framework: "hyper",
    },
];

/// `--target`: one server, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetChoice {
    /// tokio + axum (`server-tokio-axum`).
    Tokio,
    /// async-std + tide (`server-async-std-tide`); both unmaintained upstream.
    AsyncStd,
    /// smol + hyper (`server-smol-hyper`).
    Smol,
    /// The three, one after the other.
    All,
}

impl TargetChoice {
    /// The servers this choice selects, in [`TARGETS`] order.
    pub fn targets(self) -> Vec<Target> {
        let wanted = match self {
            TargetChoice::Tokio => "tokio",
            TargetChoice::AsyncStd => "async-std",
            TargetChoice::Smol => "smol",
            TargetChoice::All => return TARGETS.to_vec(),
        };
        TARGETS
            .iter()
            .copied()
            .filter(|t| t.name == wanted)
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
    fn names_and_packages_are_unique() {
        let names: HashSet<_> = TARGETS.iter().map(|t| t.name).collect();
        let packages: HashSet<_> = TARGETS.iter().map(|t| t.package).collect();
        assert_eq!(names.len(), TARGETS.len());
        assert_eq!(packages.len(), TARGETS.len());
        for t in TARGETS {
            assert!(t.package.starts_with("server-"), "{}", t.package);
            assert!(t.package.contains(t.framework), "{}", t.package);
        }
    }
}
