//! The CPU-bound kernels a handler runs, as one list ([`KERNELS`]) like the strategies'.
//!
//! A kernel is a [`Kernel`]: a name, what one unit of `n` is, the memory one call holds, a
//! default `n` for the benchmark and a `--max-n` of its own, and an answer that can be checked
//! (an oracle where there is a closed form, otherwise the kernel's own deterministic result,
//! which the verifier computes once). It runs whole ([`Kernel::run`]) or in slices
//! ([`Kernel::start`] then [`Run::advance`]), so that `/cycle_sleep` can yield every
//! `yield_every` units of any kernel ([`run_yielding`]).
//!
//! The answer is a string: the JSON bodies' `total` field. For `sum-squares` the decimal
//! `u128` it has always been; for the hashes their hex digest.
//!
//! # Layout
//! - `mod.rs`: [`Kernel`], [`Run`], [`KERNELS`], [`find`], [`run_yielding`].
//! - [`sum_squares`]: the sum of `i * i` over `0..n` (the default; iterator, loop and sliced
//!   forms, kept from folding into the closed form, which is its oracle).
//! - [`argon2`]: `n` chained Argon2id hashes at OWASP's parameters (19 MiB, t = 2, p = 1).
//! - [`sha256`]: SHA-256 over `n` deterministic bytes produced in a 64 KiB buffer.
//!
//! # Adding a kernel
//! One file here with a `struct` that implements [`Kernel`], and one line in [`KERNELS`]:
//! every server (`--kernel NAME`), strategy, bench-runner run and chart picks it up.
//! `docs/kernels.md` walks through it.
//!
//! # Strategies and forms
//! `/generator` runs [`Kernel::run_iter`] and every other strategy [`Kernel::run`] (or the
//! slices, for `/cycle_sleep`). Only `sum-squares` has two forms (iterator and loop); for every
//! other kernel `run_iter` is `run`, so `/generator` and `/cycle` run the same code.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU64;

pub mod argon2;
pub mod sha256;
pub mod sum_squares;

pub use sum_squares::{N_CEILING, closed_form, sum_squares_iter, sum_squares_loop};

/// A CPU-bound kernel. Implement it in one file and add the value to [`KERNELS`] (or pass a
/// list of your own to the servers' and bench-runner's library entry points).
pub trait Kernel: Send + Sync + fmt::Debug {
    /// Kebab-case name, as `--kernel` takes it and the CSVs record it (`sum-squares`).
    fn name(&self) -> &'static str;
    /// One sentence: what it computes.
    fn description(&self) -> &'static str;
    /// What one unit of `n` is (`iteration`, `hash`, `byte`): the work grows linearly with `n`.
    fn unit(&self) -> &'static str;
    /// Memory one call holds while it runs, in bytes (beyond a few registers and the stack).
    fn memory_bytes(&self) -> u64;
    /// The benchmark's default `n`: about 5-30 ms of one core in a release build, or one unit
    /// where a unit takes longer (one argon2 hash). A request without `n` gets it too (capped
    /// by the server's `--max-n`).
    fn default_n(&self) -> u64;
    /// The work of one call at [`Kernel::default_n`] on one core of this project's machine
    /// (`4.5–6.6 ms`), measured (docs/kernels.md, "Cost per unit") and written here once:
    /// `--help`, docs/kernels.md and the README say this figure ([`describe`]). `None`: not
    /// measured.
    fn default_work(&self) -> Option<&'static str> {
        None
    }
    /// The servers' default `--max-n`: a second or so of one core.
    fn default_max_n(&self) -> u64;
    /// The largest `--max-n` (and `n`) accepted at all.
    fn n_ceiling(&self) -> u64;
    /// Starts a run of `n` units, to be done in slices.
    fn start(&self, n: u64) -> Box<dyn Run>;
    /// The answer for `n`, computed in one go (every strategy but `/generator` and
    /// `/cycle_sleep`).
    fn run(&self, n: u64) -> String {
        let mut run = self.start(n);
        run.advance(n);
        run.answer()
    }
    /// The answer for `n` in the iterator form (`/generator`); the same code as [`Kernel::run`]
    /// unless the kernel has such a form.
    fn run_iter(&self, n: u64) -> String {
        self.run(n)
    }
    /// The answer for `n` without running the kernel, where there is a closed form. `None`:
    /// the verifier runs the kernel itself, once per `n`.
    fn oracle(&self, _n: u64) -> Option<String> {
        None
    }
}

/// Kernels are told apart by name: two values with the same name are the same kernel.
impl PartialEq for dyn Kernel {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for dyn Kernel {}

/// A kernel run in progress, done in slices.
pub trait Run: Send {
    /// Does up to `units` more units of work; returns how many are left.
    fn advance(&mut self, units: u64) -> u64;
    /// The answer, once every unit is done (calling it earlier gives a partial answer).
    fn answer(self: Box<Self>) -> String;
}

/// The kernels every server and bench-runner offer, the default ([`DEFAULT`]) first.
pub static KERNELS: &[&dyn Kernel] = &[
    &sum_squares::SumSquares,
    &argon2::Argon2id,
    &sha256::Sha256Stream,
];

/// The default kernel: `sum-squares`, the Python demo's.
pub const DEFAULT: &dyn Kernel = &sum_squares::SumSquares;

/// The kernel of `kernels` called `name`; otherwise an error naming those there are.
pub fn find(kernels: &[&'static dyn Kernel], name: &str) -> Result<&'static dyn Kernel, String> {
    kernels
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| format!("unknown kernel {name:?}; one of: {}", names(kernels)))
}

/// `sum-squares (sum of i*i over 0..n …; default n = 10000000 iterations, 4.5–6.6 ms of one
/// core)`: one kernel as `--help` lists it, from the kernel itself.
pub fn describe(kernel: &dyn Kernel) -> String {
    let work = kernel
        .default_work()
        .map(|w| format!(", {w} of one core"))
        .unwrap_or_default();
    format!(
        "{} ({}; default n = {} {}(s){work})",
        kernel.name(),
        kernel.description(),
        kernel.default_n(),
        kernel.unit()
    )
}

/// The names of `kernels`, comma-separated.
pub fn names(kernels: &[&'static dyn Kernel]) -> String {
    kernels
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `kernel` for `n` units, awaiting `yield_now()` every `yield_every` units (used by
/// `/cycle_sleep`). Generic over the runtime's own yield future, so each server passes
/// `tokio::task::yield_now`, `async_std::task::yield_now` or `smol::future::yield_now`.
///
/// It never yields after the last slice: the answer is ready, there is nothing to share.
pub async fn run_yielding<Y, F>(
    kernel: &dyn Kernel,
    n: u64,
    yield_every: NonZeroU64,
    mut yield_now: Y,
) -> String
where
    Y: FnMut() -> F,
    F: Future<Output = ()>,
{
    let mut run = kernel.start(n);
    let mut left = n;
    while left > 0 {
        left = run.advance(yield_every.get().min(left));
        if left > 0 {
            yield_now().await;
        }
    }
    run.answer()
}

/// Lower-case hex of `bytes` (the hash kernels' answers).
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_util::block_on;
    use std::cell::Cell;
    use std::collections::HashSet;
    use std::task::{Context, Poll};

    /// A yield that returns `Pending` once, like the runtimes' own.
    pub(crate) struct YieldOnce(bool);

    impl YieldOnce {
        pub(crate) fn new() -> YieldOnce {
            YieldOnce(false)
        }
    }

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    /// Small sizes for each kernel: their answers in every form must agree.
    fn sizes(k: &dyn Kernel) -> Vec<u64> {
        match k.name() {
            "argon2" => vec![0, 1, 3],
            "sha256" => vec![0, 1, 63, 64, 65, 65_536, 65_537, 200_000],
            _ => vec![0, 1, 2, 10, 1_000, 12_345],
        }
    }

    #[test]
    fn every_form_of_every_kernel_gives_the_same_answer() {
        for k in KERNELS {
            for n in sizes(*k) {
                let whole = k.run(n);
                assert_eq!(k.run_iter(n), whole, "{} iter n={n}", k.name());
                if let Some(oracle) = k.oracle(n) {
                    assert_eq!(oracle, whole, "{} oracle n={n}", k.name());
                }
                for every in [1, 2, 7, 65_536, u64::MAX] {
                    let every = NonZeroU64::new(every).expect("non-zero");
                    let sliced = block_on(run_yielding(*k, n, every, YieldOnce::new));
                    assert_eq!(sliced, whole, "{} yielding n={n} every={every}", k.name());
                }
            }
        }
    }

    #[test]
    fn yields_once_between_slices_and_never_after_the_last() {
        let cases = [
            (0, 5, 0),
            (1, 5, 0),
            (5, 5, 0),
            (6, 5, 1),
            (10, 5, 1),
            (11, 5, 2),
            (10, 1, 9),
        ];
        for k in [DEFAULT, &sha256::Sha256Stream] {
            for (n, every, want) in cases {
                let count = Cell::new(0);
                let every = NonZeroU64::new(every).expect("non-zero");
                block_on(run_yielding(k, n, every, || {
                    count.set(count.get() + 1);
                    YieldOnce::new()
                }));
                assert_eq!(count.get(), want, "{} n={n} every={every}", k.name());
            }
        }
    }

    #[test]
    fn the_list_is_well_formed() {
        assert_eq!(KERNELS[0], DEFAULT);
        let names: HashSet<_> = KERNELS.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), KERNELS.len(), "names are unique");
        for k in KERNELS {
            let name = k.name();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name} is kebab-case"
            );
            assert!(
                !k.description().is_empty() && !k.unit().is_empty(),
                "{name}"
            );
            assert!(
                0 < k.default_n() && k.default_n() <= k.default_max_n(),
                "{name}: default n within the default --max-n"
            );
            assert!(k.default_max_n() <= k.n_ceiling() && k.n_ceiling() <= N_CEILING);
            assert_eq!(find(KERNELS, name).map(|f| f.name()), Ok(name));
        }
        let e = find(KERNELS, "md5").expect_err("unknown");
        assert!(
            e.contains("\"md5\"") && e.contains("sum-squares, argon2, sha256"),
            "{e}"
        );
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }
}
