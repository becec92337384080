//! `argon2`: `n` chained Argon2id password hashes (RustCrypto's pure-Rust `argon2` crate) at
//! OWASP's recommended parameters: m = 19456 KiB (19 MiB), t = 2 passes, p = 1 lane, 32-byte
//! output. Hash `k` hashes the 32 bytes hash `k - 1` produced, starting from a fixed seed, with
//! a fixed 16-byte salt: `n = 1` is one password hash as a login handler would run it, and the
//! slices of `/cycle_sleep` fall between hashes (one hash cannot be split).
//!
//! Memory: the 19 MiB of Argon2's blocks, allocated once per call and reused by every hash of
//! the chain; 20 concurrent calls hold 380 MiB. The answer is the hex of the last output (the
//! seed's for `n = 0`); there is no closed form, so the verifier computes it once.

use argon2::{Algorithm, Block, Params, Version};

use super::{Kernel, Run, hex};

/// The chain's first input (hash 1 hashes these 32 bytes).
const SEED: [u8; 32] = *b"async-cpu-bench argon2 chain 000";
/// The salt of every hash of the chain.
const SALT: [u8; 16] = *b"async-cpu-bench!";

/// `argon2` in the kernel list.
#[derive(Debug, Clone, Copy)]
pub struct Argon2id;

/// OWASP's parameters, which are also the crate's defaults (checked by a test).
fn params() -> Params {
    Params::DEFAULT
}

impl Kernel for Argon2id {
    fn name(&self) -> &'static str {
        "argon2"
    }
    fn description(&self) -> &'static str {
        "n chained Argon2id password hashes at OWASP's parameters (m = 19 MiB, t = 2, p = 1); \
         answer: hex of the last 32-byte hash"
    }
    fn unit(&self) -> &'static str {
        "hash"
    }
    fn memory_bytes(&self) -> u64 {
        u64::from(params().m_cost()) * 1024
    }
    fn default_n(&self) -> u64 {
        1
    }
    fn default_work(&self) -> Option<&'static str> {
        Some("20–43 ms")
    }
    fn default_max_n(&self) -> u64 {
        10
    }
    fn n_ceiling(&self) -> u64 {
        100_000
    }
    fn start(&self, n: u64) -> Box<dyn Run> {
        Box::new(Chain {
            left: n,
            last: SEED,
            // Allocated on the first hash: n = 0 holds nothing.
            blocks: Vec::new(),
        })
    }
}

/// A chain in progress: hashes left, the last output, Argon2's memory.
struct Chain {
    left: u64,
    last: [u8; 32],
    blocks: Vec<Block>,
}

impl Run for Chain {
    fn advance(&mut self, units: u64) -> u64 {
        let params = params();
        for _ in 0..units.min(self.left) {
            if self.blocks.is_empty() {
                self.blocks = vec![Block::default(); params.block_count()];
            }
            let argon2 = argon2::Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let mut out = [0u8; 32];
            argon2
                .hash_password_into_with_memory(&self.last, &SALT, &mut out, &mut self.blocks)
                // Fixed inputs within every bound (32-byte password, 16-byte salt, 32-byte
                // output, memory of block_count() blocks): a failure is a bug, answered 500.
                .expect("argon2 refused the chain's fixed, valid inputs");
            self.last = out;
            self.left -= 1;
        }
        self.left
    }
    fn answer(self: Box<Self>) -> String {
        hex(&self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owasp_parameters() {
        let p = params();
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
        // Unset means the default output length, the 32 bytes the chain hashes.
        assert_eq!(p.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), 32);
        assert_eq!(Argon2id.memory_bytes(), 19 * 1024 * 1024);
    }

    /// Reference values from an independent implementation: argon2-cffi (the C reference
    /// implementation), `hash_secret_raw(secret, salt, time_cost=2, memory_cost=19456,
    /// parallelism=1, hash_len=32, type=ID)`, chained by hand.
    #[test]
    fn matches_the_reference_implementation() {
        assert_eq!(Argon2id.run(0), hex(&SEED));
        assert_eq!(Argon2id.run(1), REFERENCE_1);
        assert_eq!(Argon2id.run(2), REFERENCE_2);
    }

    const REFERENCE_1: &str = "461535fb2759de3b4bc4a0013d324b513d1de822ebac57f72876a8efb92d0b97";
    const REFERENCE_2: &str = "2e17e9e0f892e6521a1a52cd62e2772254ed40a4809b3c1ca681ec1b2077b583";
}
