//! `SeenKeys`: a small, lossy memory of the lockout keys a store has
//! recently found in its database, to choose the cheaper command for an
//! attempt (the Redis and PostgreSQL stores use it).

use std::sync::atomic::{AtomicU64, Ordering};

/// Slots in the table (a power of two): 256 KiB per store.
const SLOTS: usize = 1 << 15;

/// A direct-mapped table of key hashes. A hit means "this key probably
/// exists in the store", a miss "probably not"; either answer may be wrong
/// (collisions, expiry, another server's writes), so it only ever picks
/// between two commands that are both correct on their own.
///
/// ```
/// use loginguard_core::seen::SeenKeys;
///
/// let seen = SeenKeys::new();
/// let entry = seen.entry("login/ip=192.0.2.1");
/// assert!(!entry.is_marked());
/// entry.mark();
/// assert!(seen.entry("login/ip=192.0.2.1").is_marked());
/// ```
pub struct SeenKeys {
    hasher: ahash::RandomState,
    slots: Box<[AtomicU64]>,
}

impl SeenKeys {
    /// An empty table.
    pub fn new() -> SeenKeys {
        SeenKeys {
            hasher: ahash::RandomState::new(),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The slot of `id`, to test and then mark with one hashing.
    pub fn entry(&self, id: &str) -> Entry<'_> {
        // Never 0: 0 marks an empty slot.
        let hash = self.hasher.hash_one(id) | 1;
        // `SLOTS` is a power of two, so the mask keeps the index in range.
        let index = usize::try_from(hash >> 1).unwrap_or(0) & (SLOTS - 1);
        Entry {
            slot: &self.slots[index],
            hash,
        }
    }
}

impl Default for SeenKeys {
    fn default() -> SeenKeys {
        SeenKeys::new()
    }
}

impl std::fmt::Debug for SeenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenKeys")
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// One key's slot in [`SeenKeys`].
#[derive(Debug)]
pub struct Entry<'a> {
    slot: &'a AtomicU64,
    hash: u64,
}

impl Entry<'_> {
    /// Whether the key was marked seen and not displaced since.
    pub fn is_marked(&self) -> bool {
        self.slot.load(Ordering::Relaxed) == self.hash
    }

    /// Marks the key as seen.
    pub fn mark(&self) {
        self.slot.store(self.hash, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_what_it_was_told_and_nothing_else() {
        let seen = SeenKeys::new();
        assert!(!seen.entry("login/ip=192.0.2.1").is_marked());
        seen.entry("login/ip=192.0.2.1").mark();
        assert!(seen.entry("login/ip=192.0.2.1").is_marked());
        assert!(!seen.entry("login/ip=192.0.2.2").is_marked());
    }

    #[test]
    fn stays_bounded_by_forgetting_older_keys() {
        let seen = SeenKeys::new();
        for i in 0..(4 * SLOTS) {
            seen.entry(&format!("login/ip=10.{i}")).mark();
        }
        let kept = (0..(4 * SLOTS))
            .filter(|i| seen.entry(&format!("login/ip=10.{i}")).is_marked())
            .count();
        assert!(
            kept <= SLOTS,
            "kept {kept} of {} in {SLOTS} slots",
            4 * SLOTS
        );
        assert!(kept > SLOTS / 2, "the table is mostly used: {kept}");
    }
}
