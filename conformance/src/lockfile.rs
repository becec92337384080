//! Checks on the workspace's `Cargo.lock`.
//!
//! The async-std and smol servers size pools that live in global state of crates they do not
//! own: `--workers` calls `async_global_executor::init_with_config` (async-std's executor) and
//! `--blocking-threads` calls `blocking::set_max_blocking_threads` (the pool under async-std's
//! `spawn_blocking` and smol's `unblock`), through our own direct dependencies on those crates.
//! If the lock file ever held two versions of one of them, ours and the one async-std or smol
//! links would be different crates with different globals: the flags would configure a copy
//! nobody runs. [`CONFIGURED_GLOBALS`] lists those crates; a test below fails if any of them
//! appears in more than one version. (`/stats` measures the pool too, see `common::offload`.)

/// Crates whose global state a server configures from its flags, through a direct dependency
/// of its own.
pub const CONFIGURED_GLOBALS: [&str; 2] = ["async-global-executor", "blocking"];

/// The versions of `package` in a `Cargo.lock` text, in file order.
pub fn versions<'a>(lock: &'a str, package: &str) -> Vec<&'a str> {
    lock.split("[[package]]")
        .filter(|entry| field(entry, "name") == Some(package))
        .filter_map(|entry| field(entry, "version"))
        .collect()
}

/// The value of a `key = "value"` line of one `[[package]]` entry.
fn field<'a>(entry: &'a str, key: &str) -> Option<&'a str> {
    entry.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_COPIES: &str = r#"
[[package]]
name = "blocking"
version = "1.6.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "blocking-extra"
version = "9.9.9"

[[package]]
name = "blocking"
version = "1.7.0"
dependencies = [
 "async-channel",
]
"#;

    #[test]
    fn finds_every_version_of_exactly_that_package() {
        assert_eq!(versions(TWO_COPIES, "blocking"), ["1.6.1", "1.7.0"]);
        assert_eq!(versions(TWO_COPIES, "blocking-extra"), ["9.9.9"]);
        assert!(versions(TWO_COPIES, "async-channel").is_empty());
    }

    /// The real lock file: each crate whose globals a server configures is there exactly once.
    #[test]
    fn crates_the_servers_configure_are_linked_once() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
        let lock = std::fs::read_to_string(path).expect("the workspace's Cargo.lock");
        for package in CONFIGURED_GLOBALS {
            let found = versions(&lock, package);
            assert_eq!(
                found.len(),
                1,
                "{package} in Cargo.lock: {found:?}. With two versions, the flags that configure \
                 it (--workers on async-std, --blocking-threads on async-std and smol) may set up \
                 a copy async-std and smol do not use; align the workspace dependency with theirs"
            );
        }
    }
}
