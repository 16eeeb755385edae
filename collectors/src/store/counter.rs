//! A cheap hash for maps keyed by kernel counters (socket cookies, inodes).

use std::collections::HashMap;

/// Socket cookies and inodes are counters the kernel hands out, not keys anyone can
/// choose to collide: a multiply spreads them over the table at a fraction of the
/// standard hasher's cost, and the fold looks up every socket of every dump.
#[derive(Debug, Clone, Copy, Default)]
pub struct CounterHasher(u64);

impl std::hash::Hasher for CounterHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // SplitMix64's finaliser: every input bit reaches every output bit, so the
        // table's order looks random. A bare multiply would spread the keys as well,
        // but would leave sequential cookies in a regular order that follows their
        // ports, and the Connections tab's selection of the rows on screen, which
        // starts from that order, slows down on such patterns.
        let mut z = (self.0 ^ n).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }
}

/// Builds [`CounterHasher`]s.
pub type CounterHash = std::hash::BuildHasherDefault<CounterHasher>;

/// A map keyed by a kernel counter (socket cookie, inode).
pub type CounterMap<K, V> = HashMap<K, V, CounterHash>;
