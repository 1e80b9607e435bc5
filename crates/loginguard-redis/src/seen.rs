//! `SeenKeys`: a small, lossy memory of the lockout keys this store has
//! recently found in Redis, to choose the cheaper command for an attempt.

use std::sync::atomic::{AtomicU64, Ordering};

/// Slots in the table (a power of two): 256 KiB per store.
const SLOTS: usize = 1 << 15;

/// A direct-mapped table of key hashes. A hit means "this key probably
/// exists in Redis", a miss "probably not"; either answer may be wrong
/// (collisions, expiry, another server's writes), so it only ever picks
/// between two commands that are both correct on their own.
pub(crate) struct SeenKeys {
    hasher: ahash::RandomState,
    slots: Box<[AtomicU64]>,
}

impl SeenKeys {
    pub(crate) fn new() -> SeenKeys {
        SeenKeys {
            hasher: ahash::RandomState::new(),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The key's hash, never 0 (0 marks an empty slot).
    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id) | 1
    }

    fn slot(&self, hash: u64) -> &AtomicU64 {
        // `SLOTS` is a power of two, so the mask keeps the index in range.
        let index = usize::try_from(hash >> 1).unwrap_or(0) & (SLOTS - 1);
        &self.slots[index]
    }

    /// Whether `id` was marked seen and not displaced since.
    pub(crate) fn contains(&self, id: &str) -> bool {
        let hash = self.hash(id);
        self.slot(hash).load(Ordering::Relaxed) == hash
    }

    /// Marks `id` as seen.
    pub(crate) fn insert(&self, id: &str) {
        let hash = self.hash(id);
        self.slot(hash).store(hash, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_what_it_was_told_and_nothing_else() {
        let seen = SeenKeys::new();
        assert!(!seen.contains("login/ip=192.0.2.1"));
        seen.insert("login/ip=192.0.2.1");
        assert!(seen.contains("login/ip=192.0.2.1"));
        assert!(!seen.contains("login/ip=192.0.2.2"));
    }

    #[test]
    fn stays_bounded_by_forgetting_older_keys() {
        let seen = SeenKeys::new();
        for i in 0..(4 * SLOTS) {
            seen.insert(&format!("login/ip=10.{i}"));
        }
        let kept = (0..(4 * SLOTS))
            .filter(|i| seen.contains(&format!("login/ip=10.{i}")))
            .count();
        assert!(
            kept <= SLOTS,
            "kept {kept} of {} in {SLOTS} slots",
            4 * SLOTS
        );
        assert!(kept > SLOTS / 2, "the table is mostly used: {kept}");
    }
}
