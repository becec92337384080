//! `sum-squares`, the default kernel: the sum of `i * i` for `i` in `0..n`, as `u128` (the
//! Python demo's). One unit of `n` is one iteration (about 0.5 ns here); no memory.
//!
//! Three forms that really iterate (iterator for `/generator`, loop, and the loop over a range
//! that the sliced form runs) and the closed form that serves as the oracle.
//!
//! Why `black_box` sits *inside* the loop: LLVM recognises the naive sum of squares and replaces
//! the loop with the closed form `(n-1)·n·(2n-1)/6`, so a release build would answer
//! n = 10^8 as fast as n = 10^7 and the benchmark would measure nothing. `black_box(n)` on the
//! input does not stop that; hiding each `i` from the optimiser does. The release-profile test
//! at the bottom of this file checks that the time grows with `n`.
//!
//! Why `u128`: for n = 10^7 the sum is 333333283333335000000 ≈ 3.3e20, above `u64::MAX`
//! (≈ 1.8e19). A `u64` would wrap silently in release and panic in debug.

use std::hint::black_box;

use super::{Kernel, Run};

/// The largest `n` any server accepts, whatever its `--max-n`: the closed form's intermediate
/// product `(n-1)·n·(2n-1)` then stays below `u128::MAX` (n = 10^12 gives ≈ 2e36 < 3.4e38).
pub const N_CEILING: u64 = 1_000_000_000_000;

/// The iterator form (`map` + `sum`), used by `/generator`: the Rust twin of Python's
/// `sum(i * i for i in range(n))`.
pub fn sum_squares_iter(n: u64) -> u128 {
    (0..n)
        .map(|i| {
            let i = u128::from(black_box(i));
            i * i
        })
        .sum()
}

/// The manual-loop form, used by `/cycle` and by every offloaded strategy.
pub fn sum_squares_loop(n: u64) -> u128 {
    sum_squares_range(0, n)
}

/// The manual loop over `lo..hi`; the sliced form runs it slice by slice.
fn sum_squares_range(lo: u64, hi: u64) -> u128 {
    let mut total: u128 = 0;
    for i in lo..hi {
        let i = u128::from(black_box(i));
        total += i * i;
    }
    total
}

/// `sum-squares` in the kernel list.
#[derive(Debug, Clone, Copy)]
pub struct SumSquares;

impl Kernel for SumSquares {
    fn name(&self) -> &'static str {
        "sum-squares"
    }
    fn description(&self) -> &'static str {
        "sum of i*i over 0..n as u128 (the Python demo's kernel); answer: the decimal sum"
    }
    fn unit(&self) -> &'static str {
        "iteration"
    }
    fn memory_bytes(&self) -> u64 {
        0
    }
    fn default_n(&self) -> u64 {
        10_000_000
    }
    fn default_work(&self) -> Option<&'static str> {
        Some("4.5–6.6 ms")
    }
    fn default_max_n(&self) -> u64 {
        1_000_000_000
    }
    fn n_ceiling(&self) -> u64 {
        N_CEILING
    }
    fn start(&self, n: u64) -> Box<dyn Run> {
        Box::new(Sliced {
            next: 0,
            n,
            total: 0,
        })
    }
    fn run(&self, n: u64) -> String {
        sum_squares_loop(n).to_string()
    }
    fn run_iter(&self, n: u64) -> String {
        sum_squares_iter(n).to_string()
    }
    fn oracle(&self, n: u64) -> Option<String> {
        Some(closed_form(n).to_string())
    }
}

/// The loop in slices: the next `i`, the end, the sum so far.
#[derive(Debug)]
struct Sliced {
    next: u64,
    n: u64,
    total: u128,
}

impl Run for Sliced {
    fn advance(&mut self, units: u64) -> u64 {
        let hi = self.next.saturating_add(units).min(self.n);
        self.total += sum_squares_range(self.next, hi);
        self.next = hi;
        self.n - hi
    }
    fn answer(self: Box<Self>) -> String {
        self.total.to_string()
    }
}

/// The closed form `(n-1)·n·(2n-1)/6`: the oracle the tests and the conformance suite check
/// every strategy's answer against. Exact for every `n <= N_CEILING`.
pub fn closed_form(n: u64) -> u128 {
    if n == 0 {
        return 0;
    }
    let n = u128::from(n);
    (n - 1) * n * (2 * n - 1) / 6
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn known_totals() {
        assert_eq!(closed_form(0), 0);
        assert_eq!(closed_form(1), 0);
        assert_eq!(closed_form(2), 1);
        assert_eq!(closed_form(10), 285);
        assert_eq!(closed_form(10_000_000), 333_333_283_333_335_000_000);
        // Above u64::MAX: the reason for u128.
        assert!(closed_form(10_000_000) > u128::from(u64::MAX));
    }

    #[test]
    fn closed_form_is_exact_at_the_ceiling() {
        // Checked against an independent split: sum = n(n-1)(2n-1)/6 with n = 10^12,
        // computed by hand: 333333333332833333333333500000000000.
        assert_eq!(
            closed_form(N_CEILING),
            333_333_333_332_833_333_333_333_500_000_000_000
        );
    }

    #[test]
    fn every_form_matches_the_closed_form() {
        for n in [0, 1, 2, 3, 10, 99, 100, 101, 1_000, 12_345, 1_000_000] {
            let want = closed_form(n);
            assert_eq!(sum_squares_iter(n), want, "iter n={n}");
            assert_eq!(sum_squares_loop(n), want, "loop n={n}");
        }
    }

    fn fastest_of_three(f: impl Fn(u64) -> u128, n: u64) -> Duration {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                black_box(f(black_box(n)));
                start.elapsed()
            })
            .min()
            .expect("three runs")
    }

    /// Where the optimised kernel's loop starts and ends (the target of its backward jump,
    /// and the end of that jump), read from this process's own code through /proc/self/mem.
    /// Scans the function's first bytes for the first conditional jump backwards into the
    /// function: `jcc rel8` (0x70-0x7F) or `jcc rel32` (0x0F 0x80-0x8F).
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn hot_loop(f: fn(u64) -> u128) -> (usize, usize) {
        use std::io::{Read, Seek, SeekFrom};
        let start = f as usize;
        let mut code = [0u8; 256];
        let mut mem = std::fs::File::open("/proc/self/mem").expect("/proc/self/mem");
        mem.seek(SeekFrom::Start(start as u64)).expect("seek");
        mem.read_exact(&mut code).expect("read own code");
        for i in 0..code.len() - 6 {
            let (len, rel) = match code[i] {
                0x70..=0x7F => (2, i64::from(code[i + 1] as i8)),
                0x0F if (0x80..=0x8F).contains(&code[i + 1]) => {
                    let b = [code[i + 2], code[i + 3], code[i + 4], code[i + 5]];
                    (6, i64::from(i32::from_le_bytes(b)))
                }
                _ => continue,
            };
            let end = i as i64 + len;
            let target = end + rel;
            if rel < 0 && target >= 0 {
                return (start + target as usize, start + end as usize);
            }
        }
        panic!("no backward jump in the first {} bytes", code.len())
    }

    /// The hot loop must not straddle a 64-byte line: where it did (placed there by the
    /// linker, differently in every binary), the same kernel ran up to twice as slow, so one
    /// server or strategy looked slower than another for no reason of its own. The workspace's
    /// `.cargo/config.toml` aligns every loop to 64 bytes; this checks that the flag is in
    /// force. Only meaningful with optimisations, on x86-64 Linux.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[cfg_attr(
        debug_assertions,
        ignore = "needs optimisations: cargo test -p common --release --lib kernel"
    )]
    fn kernel_loops_start_on_a_cache_line() {
        type Kernel = fn(u64) -> u128;
        let kernels: [(&str, Kernel); 2] = [("iter", sum_squares_iter), ("loop", sum_squares_loop)];
        for (name, kernel) in kernels {
            let (start, end) = hot_loop(kernel);
            eprintln!("{name}: loop at {start:#x}..{end:#x}");
            assert!(
                start % 64 == 0 && end - start <= 64,
                "{name}: the loop at {start:#x}..{end:#x} is not one aligned 64-byte line: is \
                 `-C llvm-args=-align-loops=64` (.cargo/config.toml) in force? RUSTFLAGS in the \
                 environment replaces it"
            );
        }
    }

    /// The kernel must really iterate in an optimised build: if LLVM had folded it into the
    /// closed form, n = 10^8 would take as long as n = 10^7 (a few hundred ns each). Linear
    /// work gives a ratio near 10; the bound of 3 leaves a wide margin for a noisy machine.
    /// Only meaningful with optimisations: `make test` runs it with `--release`.
    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "needs optimisations: cargo test -p common --release --lib kernel"
    )]
    fn release_build_really_iterates() {
        type Kernel = fn(u64) -> u128;
        let kernels: [(&str, Kernel); 2] = [("iter", sum_squares_iter), ("loop", sum_squares_loop)];
        for (name, kernel) in kernels {
            let small = fastest_of_three(kernel, 10_000_000);
            let large = fastest_of_three(kernel, 100_000_000);
            let ratio = large.as_secs_f64() / small.as_secs_f64();
            eprintln!("{name}: n=1e7 {small:?}, n=1e8 {large:?}, ratio {ratio:.1}");
            assert!(
                ratio > 3.0 && large > Duration::from_millis(5),
                "{name} kernel does not scale with n (1e7: {small:?}, 1e8: {large:?}): \
                 the optimiser has folded it into a closed form"
            );
        }
    }
}
