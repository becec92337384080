//! `sha256`: SHA-256 (RustCrypto's `sha2` crate) over a stream of `n` deterministic bytes, the
//! way a handler hashes a request or file body as it streams in. One unit of `n` is one byte.
//!
//! The bytes are produced 64 KiB at a time into one buffer, so a call holds 64 KiB whatever its
//! `n` (plus the hash state): the stream is 64-bit words `x ^ (x >> 32)` with
//! `x = k · 0x9E3779B97F4A7C15` (mod 2^64) for word `k`, little-endian, which costs a multiply
//! per 8 bytes, little beside the hash. The answer is the hex digest; no closed form, so the
//! verifier computes it once.

use sha2::{Digest, Sha256};

use super::{Kernel, Run, hex};

/// Bytes produced at a time, and the memory one call holds.
pub const BUFFER: usize = 64 * 1024;

/// `sha256` in the kernel list.
#[derive(Debug, Clone, Copy)]
pub struct Sha256Stream;

impl Kernel for Sha256Stream {
    fn name(&self) -> &'static str {
        "sha256"
    }
    fn description(&self) -> &'static str {
        "SHA-256 of n deterministic bytes streamed through a 64 KiB buffer; answer: hex digest"
    }
    fn unit(&self) -> &'static str {
        "byte"
    }
    fn memory_bytes(&self) -> u64 {
        BUFFER as u64
    }
    fn default_n(&self) -> u64 {
        4 * 1024 * 1024
    }
    fn default_work(&self) -> Option<&'static str> {
        Some("5.6 ms")
    }
    fn default_max_n(&self) -> u64 {
        256 * 1024 * 1024
    }
    fn n_ceiling(&self) -> u64 {
        super::N_CEILING
    }
    fn start(&self, n: u64) -> Box<dyn Run> {
        Box::new(Stream {
            left: n,
            hasher: Sha256::new(),
            buffer: vec![0; BUFFER],
            cursor: BUFFER,
            next_block: 0,
        })
    }
}

/// A stream in progress: bytes left, the hash so far, the buffer and how much of it is used.
struct Stream {
    left: u64,
    hasher: Sha256,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already hashed; `BUFFER` when it must be refilled.
    cursor: usize,
    /// Which 64 KiB block of the stream the next refill produces.
    next_block: u64,
}

impl Stream {
    fn refill(&mut self) {
        let words_per_block = (BUFFER / 8) as u64;
        let first = self.next_block * words_per_block;
        for (k, chunk) in (first..).zip(self.buffer.chunks_exact_mut(8)) {
            let x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(&(x ^ (x >> 32)).to_le_bytes());
        }
        self.next_block += 1;
        self.cursor = 0;
    }
}

impl Run for Stream {
    fn advance(&mut self, units: u64) -> u64 {
        let mut todo = units.min(self.left);
        while todo > 0 {
            if self.cursor == BUFFER {
                self.refill();
            }
            let room = BUFFER - self.cursor;
            let take = usize::try_from(todo).map_or(room, |t| t.min(room));
            self.hasher
                .update(&self.buffer[self.cursor..self.cursor + take]);
            self.cursor += take;
            todo -= take as u64;
            self.left -= take as u64;
        }
        self.left
    }
    fn answer(self: Box<Self>) -> String {
        hex(&self.hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference digests from an independent implementation: Python's `hashlib.sha256` over
    /// the same stream, produced with `struct.pack('<Q', x ^ (x >> 32))`.
    #[test]
    fn matches_the_reference_implementation() {
        // The empty input and three zero bytes (the stream starts with word 0 = 0): the
        // well-known SHA-256 vectors.
        assert_eq!(
            Sha256Stream.run(0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Sha256Stream.run(3),
            "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c"
        );
        // Across a buffer boundary (65 536 bytes).
        assert_eq!(
            Sha256Stream.run(100_000),
            "6b6d299bf9b3c1cc27261364520cfa67798ebf53bbfb7de1aa35ef878598f167"
        );
    }

    #[test]
    fn the_stream_is_the_documented_words() {
        let mut s = Stream {
            left: 0,
            hasher: Sha256::new(),
            buffer: vec![0; BUFFER],
            cursor: BUFFER,
            next_block: 0,
        };
        s.refill();
        assert_eq!(hex(&s.buffer[..16]), "0000000000000000ac057de1b979379e");
    }
}
