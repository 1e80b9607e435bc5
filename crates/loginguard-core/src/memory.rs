//! `MemoryStore`: a sharded, bounded, in-process store.
//!
//! State lives in this process only, so it suits a single server, tests and
//! benchmarks. It holds at most `max_keys` keys. A flood of fresh keys never
//! costs another key its count: when a new key finds its shard full, only
//! records that can no longer change a verdict are dropped (window over,
//! cool-off over, progressive history no longer needed, or holding nothing).
//! If none is, the new key is answered with [`StoreError::Full`], so the
//! policy's `on_store_error` decides that attempt; keys already tracked keep
//! counting.
//!
//! ```
//! use loginguard_core::MemoryStore;
//!
//! let store = MemoryStore::with_max_keys(10_000).with_audit_log(1_000);
//! # let _ = store;
//! ```

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use async_trait::async_trait;
use parking_lot::{Mutex, MutexGuard};

use crate::audit::{AuditEntry, AuditKind, AuditLog, LogQuery, LogRetention};
use crate::batch::{Begun, KeyRelease, KeyStep};
use crate::key::{Key, KeyFilter};
use crate::record::{self, to_ms, KeyRecord, KeyVerdict, Limits, Release, Tag};
use crate::store::{KeyStatus, ListQuery, Store, StoreError, StoreHealth};

/// The default bound on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

#[derive(Debug)]
struct Entry {
    record: KeyRecord,
    /// When the record may be dropped (ms); `i64::MAX`: never by itself.
    expires_at: i64,
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<Box<str>, Entry, ahash::RandomState>,
    /// No record of the shard may be dropped before this time (ms): a lower
    /// bound on the entries' `expires_at`, so a full shard of live records
    /// refuses a new key without scanning them.
    earliest: i64,
}

/// A sharded, bounded, in-process [`Store`].
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: ahash::RandomState,
    per_shard: usize,
    table_capacity: usize,
    audit: Option<MemoryAudit>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// A store tracking at most [`DEFAULT_MAX_KEYS`] keys, with no audit log.
    pub fn new() -> MemoryStore {
        MemoryStore::with_max_keys(DEFAULT_MAX_KEYS)
    }

    /// A store tracking at most `max_keys` keys (at least 1).
    ///
    /// Keys are spread by a keyed hash over shards of `max_keys / shards`
    /// keys each (one shard under 16,384 keys, 16 to 128 above): "full"
    /// means the new key's shard is full, so with many shards the first
    /// [`StoreError::Full`] can come a little before `max_keys` keys are
    /// tracked in all.
    pub fn with_max_keys(max_keys: usize) -> MemoryStore {
        let max_keys = max_keys.max(1);
        let shards = shard_count(max_keys);
        let per_shard = (max_keys / shards).max(1);
        let hasher = ahash::RandomState::new();
        let table_capacity =
            HashMap::<Box<str>, Entry, _>::with_capacity_and_hasher(per_shard, hasher.clone())
                .capacity();
        MemoryStore {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            hasher,
            per_shard,
            table_capacity,
            audit: None,
        }
    }

    /// Also keeps an in-memory audit log of at most `capacity` entries
    /// (oldest dropped first).
    #[must_use]
    pub fn with_audit_log(mut self, capacity: usize) -> MemoryStore {
        self.audit = Some(MemoryAudit {
            entries: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        });
        self
    }

    /// The most keys this store tracks at once.
    pub fn max_keys(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    /// How many keys are tracked now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the shard holding `id`.
    fn shard_index(&self, id: &str) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        let hash = self.hasher.hash_one(id);
        usize::try_from(hash % self.shards.len() as u64).unwrap_or(0)
    }

    /// Locks the shards of `keys`, each once, in shard order (so two steps
    /// over the same shards can never wait on each other).
    fn lock_shards<'k>(&self, keys: impl Iterator<Item = &'k Key>) -> Held<'_> {
        let of_key: Vec<usize> = keys.map(|k| self.shard_index(k.id())).collect();
        let mut indexes = of_key.clone();
        indexes.sort_unstable();
        indexes.dedup();
        let slots = of_key
            .iter()
            .map(|i| indexes.partition_point(|j| j < i))
            .collect();
        Held {
            guards: indexes.into_iter().map(|i| self.shards[i].lock()).collect(),
            slots,
        }
    }

    /// The error a full shard answers a new key with.
    fn full(&self, live_keys: usize) -> Full {
        Full {
            live_keys,
            shards: self.shards.len(),
            max_keys: self.max_keys(),
        }
    }
}

/// The shards of one step's keys, locked (see [`MemoryStore::lock_shards`]).
struct Held<'a> {
    /// The locked shards, in shard order.
    guards: Vec<MutexGuard<'a, Shard>>,
    /// For the `n`th key, where its shard is in `guards`.
    slots: Vec<usize>,
}

impl Held<'_> {
    /// The shard of the `n`th key.
    fn shard(&mut self, n: usize) -> &mut Shard {
        &mut self.guards[self.slots[n]]
    }
}

/// A new key that its full shard could not take (the fields of
/// [`StoreError::Full`]).
#[derive(Debug, Clone, Copy)]
struct Full {
    live_keys: usize,
    shards: usize,
    max_keys: usize,
}

impl Full {
    fn error(self) -> StoreError {
        StoreError::Full {
            live_keys: self.live_keys,
            shards: self.shards,
            max_keys: self.max_keys,
        }
    }

    fn begun(self) -> Begun {
        Begun::Full {
            live_keys: self.live_keys,
            shards: self.shards,
            max_keys: self.max_keys,
        }
    }
}

/// Chooses how many shards to use so that each shard's hash table is close
/// to full at the bound (hash tables grow by doubling, so a shard sized just
/// over a power of two would waste almost half its slots). Stores under 16k
/// keys use one shard; larger ones 16 to 128.
fn shard_count(max_keys: usize) -> usize {
    if max_keys < 16 * 1024 {
        return 1;
    }
    let mut best = (usize::MAX, 16);
    for n in 16..=128 {
        let per = (max_keys / n).max(1);
        // Slots a table needs for `per` items at hashbrown's 7/8 load.
        let buckets = (per.saturating_mul(8) / 7 + 1).next_power_of_two();
        let cost = buckets.saturating_mul(n);
        if cost < best.0 {
            best = (cost, n);
        }
    }
    best.1
}

impl Shard {
    /// [`record::begin`] on the record of `id`, made when the key is new
    /// and the shard has room for it.
    fn begin(
        &mut self,
        id: &str,
        limits: &Limits,
        tag: Option<Tag>,
        now: i64,
        store: &MemoryStore,
    ) -> Result<KeyVerdict, Full> {
        if let Some(entry) = self.map.get_mut(id) {
            let verdict = record::begin(&mut entry.record, limits, tag, now);
            entry.expires_at = entry.record.expires_at(limits).unwrap_or(i64::MAX);
            let expires_at = entry.expires_at;
            self.note_expiry(expires_at);
            return Ok(verdict);
        }
        if !self.make_room(store.per_shard, now, &store.hasher) {
            return Err(store.full(self.map.len()));
        }
        let mut rec = KeyRecord::default();
        let verdict = record::begin(&mut rec, limits, tag, now);
        rec.failures.shrink_to_fit();
        let expires_at = rec.expires_at(limits).unwrap_or(i64::MAX);
        self.note_expiry(expires_at);
        self.map.insert(
            id.into(),
            Entry {
                record: rec,
                expires_at,
            },
        );
        self.keep_compact(store.table_capacity, &store.hasher);
        Ok(verdict)
    }

    /// One step of [`begin_records`](crate::batch::begin_records): `locked` says whether an
    /// earlier key of the attempt is locked.
    fn begin_step(
        &mut self,
        step: &KeyStep<'_>,
        locked: bool,
        now: i64,
        store: &MemoryStore,
    ) -> Begun {
        if step.skipped_after(locked) {
            return Begun::Skipped;
        }
        match self.begin(step.key.id(), step.limits, step.tag, now, store) {
            Ok(verdict) => Begun::Verdict(verdict),
            Err(full) => full.begun(),
        }
    }

    /// [`record::release`] on the record of `id`, if tracked; a record
    /// left holding nothing is dropped.
    fn release(&mut self, id: &str, release: &Release, limits: &Limits, now: i64) {
        let Some(entry) = self.map.get_mut(id) else {
            return;
        };
        record::release(&mut entry.record, limits, release, now);
        entry.expires_at = entry.record.expires_at(limits).unwrap_or(i64::MAX);
        let (expires_at, empty) = (entry.expires_at, entry.record.is_empty());
        if empty {
            self.map.remove(id);
        } else {
            self.note_expiry(expires_at);
        }
    }

    /// Makes room for one more key in a full shard by dropping every record
    /// that can no longer change a verdict (expired, or holding nothing).
    /// Records that still count are never dropped: `false` when none could
    /// go. The table is rebuilt rather than punched with tombstones, so it
    /// never grows past its first size; a shard of live records answers
    /// without a scan until its earliest expiry.
    fn make_room(&mut self, capacity: usize, now: i64, hasher: &ahash::RandomState) -> bool {
        if self.map.len() < capacity {
            return true;
        }
        if now < self.earliest {
            return false;
        }
        let droppable = |e: &Entry| e.expires_at <= now || e.record.is_empty();
        if !self.map.values().any(droppable) {
            self.earliest = self
                .map
                .values()
                .map(|e| e.expires_at)
                .min()
                .unwrap_or(i64::MAX);
            return false;
        }
        let old = std::mem::replace(
            &mut self.map,
            HashMap::with_capacity_and_hasher(capacity, hasher.clone()),
        );
        let mut earliest = i64::MAX;
        for (id, e) in old {
            if droppable(&e) {
                continue;
            }
            earliest = earliest.min(e.expires_at);
            self.map.insert(id, e);
        }
        self.earliest = earliest;
        true
    }

    /// Notes that a record of the shard may be dropped from `expires_at` on.
    fn note_expiry(&mut self, expires_at: i64) {
        self.earliest = self.earliest.min(expires_at);
    }

    /// Rebuilds the table if deletions let it grow past its first size.
    fn keep_compact(&mut self, table_capacity: usize, hasher: &ahash::RandomState) {
        if self.map.capacity() > table_capacity {
            let old = std::mem::take(&mut self.map);
            let mut map = HashMap::with_capacity_and_hasher(table_capacity, hasher.clone());
            map.extend(old);
            self.map = map;
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn begin_tagged(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        let now = to_ms(now);
        let mut shard = self.shards[self.shard_index(key.id())].lock();
        shard
            .begin(key.id(), limits, tag, now, self)
            .map_err(|full| full.error())
    }

    async fn release(
        &self,
        key: &Key,
        release: &Release,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let now = to_ms(now);
        self.shards[self.shard_index(key.id())]
            .lock()
            .release(key.id(), release, limits, now);
        Ok(())
    }

    /// [`begin_records`](crate::batch::begin_records) on the records of every key of the attempt
    /// at once: the shards of its keys are held (locked in shard order,
    /// each once) for the whole step, so the attempt is atomic over its
    /// keys. A new key its full shard cannot take is [`Begun::Full`].
    async fn begin_all(
        &self,
        steps: &[KeyStep<'_>],
        now: SystemTime,
    ) -> Result<Vec<Begun>, StoreError> {
        let now = to_ms(now);
        if let [step] = steps {
            // One key, one shard: the common attempt.
            let mut shard = self.shards[self.shard_index(step.key.id())].lock();
            let begun = shard.begin_step(step, false, now, self);
            if begun.is_locked() {
                if let Some(release) = step.refusal_release(&begun, now) {
                    shard.release(step.key.id(), &release, step.limits, now);
                }
            }
            return Ok(vec![begun]);
        }
        let mut held = self.lock_shards(steps.iter().map(|s| s.key));
        let mut begun = Vec::with_capacity(steps.len());
        let mut locked = false;
        for (n, step) in steps.iter().enumerate() {
            let shard = held.shard(n);
            let b = shard.begin_step(step, locked, now, self);
            locked |= b.is_locked();
            begun.push(b);
        }
        if locked {
            for (n, (step, b)) in steps.iter().zip(&begun).enumerate() {
                if let Some(release) = step.refusal_release(b, now) {
                    held.shard(n)
                        .release(step.key.id(), &release, step.limits, now);
                }
            }
        }
        Ok(begun)
    }

    /// [`Store::release`] on every key, with the shards of all of them held
    /// for the whole step.
    async fn release_all(
        &self,
        releases: &[KeyRelease<'_>],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let now = to_ms(now);
        if let [r] = releases {
            self.shards[self.shard_index(r.key.id())].lock().release(
                r.key.id(),
                &r.release,
                r.limits,
                now,
            );
            return Ok(());
        }
        let mut held = self.lock_shards(releases.iter().map(|r| r.key));
        for (n, r) in releases.iter().enumerate() {
            held.shard(n).release(r.key.id(), &r.release, r.limits, now);
        }
        Ok(())
    }

    async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError> {
        let mut cleared = 0u64;
        for shard in self.shards.iter() {
            shard.lock().map.retain(|id, _| {
                let hit = Key::parse(id).is_ok_and(|key| filter.matches(&key));
                cleared += u64::from(hit);
                !hit
            });
        }
        Ok(cleared)
    }

    async fn list(&self, query: &ListQuery, now: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
        let now_ms = to_ms(now);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for (id, entry) in &shard.map {
                if !query.wants(&entry.record, Some(entry.expires_at), now_ms) {
                    continue;
                }
                let Ok(key) = Key::parse(id) else { continue };
                if query.filter.matches(&key) {
                    out.push(KeyStatus::from_record(key, &entry.record, now_ms));
                }
            }
        }
        Ok(query.finish(out))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = to_ms(now);
        let mut purged = 0u64;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let before = shard.map.len();
            shard.map.retain(|_, e| e.expires_at > now);
            purged += u64::try_from(before - shard.map.len()).unwrap_or(0);
        }
        Ok(purged)
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        let mut health = StoreHealth::ok("memory");
        health.notes.push(format!(
            "state lives in this process only; {} of at most {} keys tracked",
            self.len(),
            self.max_keys()
        ));
        Ok(health)
    }

    fn audit(&self) -> Option<&dyn AuditLog> {
        self.audit.as_ref().map(|a| a as &dyn AuditLog)
    }
}

/// The in-memory audit log of a [`MemoryStore`].
#[derive(Debug)]
struct MemoryAudit {
    entries: Mutex<VecDeque<AuditEntry>>,
    capacity: usize,
}

#[async_trait]
impl AuditLog for MemoryAudit {
    async fn append(&self, entry: &AuditEntry, retention: &LogRetention) -> Result<(), StoreError> {
        let mut entries = self.entries.lock();
        entries.push_back(entry.clone());
        if entries.len() > self.capacity {
            entries.pop_front();
        }
        if let Some(max_age) = retention.max_age {
            if let Some(floor) = entry.time.checked_sub(max_age) {
                entries.retain(|e| e.time >= floor);
            }
        }
        if let (Some(cap), AuditKind::Failure) = (retention.max_failures_per_user, entry.kind) {
            let same =
                |e: &AuditEntry| e.kind == AuditKind::Failure && e.username == entry.username;
            let mut excess = entries
                .iter()
                .filter(|e| same(e))
                .count()
                .saturating_sub(cap as usize);
            entries.retain(|e| {
                if excess > 0 && same(e) {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
        }
        Ok(())
    }

    async fn query(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let entries = self.entries.lock();
        let mut hits: Vec<AuditEntry> = entries
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .skip(query.offset)
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        hits.sort_by_key(|e| std::cmp::Reverse(e.time));
        Ok(hits)
    }

    async fn purge(&self, before: SystemTime) -> Result<u64, StoreError> {
        let mut entries = self.entries.lock();
        let n = entries.len();
        entries.retain(|e| e.time >= before);
        Ok(u64::try_from(n - entries.len()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FakeClock};
    use std::sync::Arc;
    use std::time::Duration;

    fn ip_key(i: u32) -> Key {
        Key::new("login").with_ip(std::net::Ipv4Addr::from(i).to_string())
    }

    #[tokio::test]
    async fn a_million_distinct_ips_stay_under_the_bound_and_keep_locks() {
        let store = MemoryStore::with_max_keys(10_000);
        let clock = FakeClock::new();
        let limits = Limits::new(1);
        // Ten attackers get locked first.
        let locked: Vec<Key> = (0..10)
            .map(|i| Key::new("login").with_ip(format!("192.0.2.{i}")))
            .collect();
        for key in &locked {
            store
                .begin_attempt(key, &limits, clock.now())
                .await
                .unwrap();
        }
        // Failures with no window count for ever: once the store is full,
        // every new key is refused and no counted key is dropped.
        let spray = Limits::new(3);
        let mut refused = 0;
        for i in 0..1_000_000u32 {
            clock.advance(Duration::from_millis(1));
            match store.begin_attempt(&ip_key(i), &spray, clock.now()).await {
                Ok(_) => {}
                Err(StoreError::Full { live_keys, .. }) => {
                    assert_eq!(live_keys, 10_000);
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(store.len(), store.max_keys());
        assert_eq!(store.max_keys(), 10_000);
        assert_eq!(refused, 1_000_000 - (10_000 - 10));
        for key in &locked {
            let v = store
                .begin_attempt(key, &limits, clock.now())
                .await
                .unwrap();
            assert!(matches!(v, KeyVerdict::Locked { .. }), "{key} was evicted");
        }
    }

    #[tokio::test]
    async fn a_flood_of_fresh_keys_cannot_reset_a_partial_count() {
        let store = MemoryStore::with_max_keys(64);
        let clock = FakeClock::new();
        let limits = Limits::new(3).with_failure_window(Some(Duration::from_secs(60)));
        let victim = Key::new("login").with_username("alice");
        for _ in 0..2 {
            store
                .begin_attempt(&victim, &limits, clock.now())
                .await
                .unwrap();
        }
        let mut accepted = 0;
        for i in 0..640 {
            clock.advance(Duration::from_millis(10));
            match store.begin_attempt(&ip_key(i), &limits, clock.now()).await {
                Ok(_) => accepted += 1,
                Err(e) => assert_eq!(
                    e.to_string(),
                    "memory store full: 64 keys hold live failures; raise memory_max_keys or use a shared store"
                ),
            }
        }
        assert_eq!(accepted, 63);
        assert_eq!(store.len(), 64);
        // The victim is still at two failures: the third reaches the limit.
        let v = store
            .begin_attempt(&victim, &limits, clock.now())
            .await
            .unwrap();
        assert!(
            matches!(
                v,
                KeyVerdict::Allowed {
                    failures: 3,
                    locks_on_failure: true,
                    ..
                }
            ),
            "{v:?}"
        );
        assert!(matches!(
            store
                .begin_attempt(&victim, &limits, clock.now())
                .await
                .unwrap(),
            KeyVerdict::Locked { .. }
        ));
        // Once the flood's window has passed, its records go and new keys
        // are counted again; the lock (until reset) stays.
        clock.advance(Duration::from_secs(61));
        assert!(store
            .begin_attempt(&ip_key(10_000), &limits, clock.now())
            .await
            .is_ok());
        let listed = store.list(&ListQuery::all(), clock.now()).await.unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert!(listed.iter().any(|s| s.key == victim && s.locked));
    }

    #[tokio::test]
    async fn a_success_frees_its_slot_in_a_full_store() {
        let store = MemoryStore::with_max_keys(4);
        let clock = FakeClock::new();
        let limits = Limits::new(3);
        for i in 0..4 {
            store
                .begin_attempt(&ip_key(i), &limits, clock.now())
                .await
                .unwrap();
        }
        assert!(store
            .begin_attempt(&ip_key(9), &limits, clock.now())
            .await
            .is_err());
        let t = to_ms(clock.now());
        store
            .release(
                &ip_key(0),
                &Release::give_back(t, false),
                &limits,
                clock.now(),
            )
            .await
            .unwrap();
        assert!(store
            .begin_attempt(&ip_key(9), &limits, clock.now())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_sharded_store_fills_shard_by_shard_up_to_its_bound() {
        let store = MemoryStore::with_max_keys(20_000);
        let clock = FakeClock::new();
        let limits = Limits::new(3);
        let mut refused = 0;
        for i in 0..100_000u32 {
            if let Err(e) = store.begin_attempt(&ip_key(i), &limits, clock.now()).await {
                // The key's shard is full, and the message says so.
                assert!(
                    matches!(e, StoreError::Full { live_keys, shards, .. }
                        if shards > 1 && live_keys == store.max_keys() / shards),
                    "{e}"
                );
                assert!(e.to_string().contains("in this key's shard"), "{e}");
                refused += 1;
            }
        }
        assert_eq!(refused, 100_000 - store.max_keys());
        assert_eq!(store.len(), store.max_keys());
        assert!(store.max_keys() <= 20_000);
    }

    #[tokio::test]
    async fn expired_records_are_evicted_before_live_ones() {
        let store = MemoryStore::with_max_keys(16);
        let clock = FakeClock::new();
        let short = Limits::new(5).with_failure_window(Some(Duration::from_secs(1)));
        let long = Limits::new(5);
        let keep = Key::new("s").with_username("keep");
        store
            .begin_attempt(&keep, &long, clock.now())
            .await
            .unwrap();
        for i in 0..15 {
            let key = Key::new("s").with_username(format!("old{i}"));
            store
                .begin_attempt(&key, &short, clock.now())
                .await
                .unwrap();
        }
        clock.advance(Duration::from_secs(2));
        let key = Key::new("s").with_username("new");
        store.begin_attempt(&key, &long, clock.now()).await.unwrap();
        let listed = store.list(&ListQuery::all(), clock.now()).await.unwrap();
        let names: Vec<_> = listed.iter().filter_map(|s| s.key.username()).collect();
        assert!(
            names.contains(&"keep") && names.contains(&"new"),
            "{names:?}"
        );
    }

    /// Two keys of `store` that live in different shards.
    fn keys_in_two_shards(store: &MemoryStore) -> (Key, Key) {
        let a = ip_key(1);
        let b = (2..)
            .map(ip_key)
            .find(|k| store.shard_index(k.id()) != store.shard_index(a.id()))
            .unwrap();
        (a, b)
    }

    #[tokio::test]
    async fn an_attempt_locked_on_one_shard_gives_back_on_another() {
        let store = MemoryStore::with_max_keys(20_000);
        let (ip, other) = keys_in_two_shards(&store);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let limits = Limits::new(1).with_count_during_lockout(false);
        store.begin_attempt(&ip, &limits, now).await.unwrap();
        let steps = [KeyStep::new(&ip, &limits), KeyStep::new(&other, &limits)];
        let begun = store.begin_all(&steps, now).await.unwrap();
        assert!(begun[0].is_locked(), "{begun:?}");
        assert!(matches!(
            begun[1],
            Begun::Verdict(KeyVerdict::Allowed { counted: true, .. })
        ));
        // The other key gave the attempt back in the same step and, holding
        // nothing, is not tracked.
        assert_eq!(store.len(), 1);
        let listed = store.list(&ListQuery::all(), now).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, ip);
    }

    #[tokio::test]
    async fn a_full_store_answers_full_for_the_new_key_and_counts_the_tracked_one() {
        let store = MemoryStore::with_max_keys(4);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let limits = Limits::new(3);
        for i in 0..4 {
            store.begin_attempt(&ip_key(i), &limits, now).await.unwrap();
        }
        let (tracked, new) = (ip_key(0), ip_key(9));
        let steps = [KeyStep::new(&tracked, &limits), KeyStep::new(&new, &limits)];
        let begun = store.begin_all(&steps, now).await.unwrap();
        assert!(matches!(
            begun[0],
            Begun::Verdict(KeyVerdict::Allowed { failures: 2, .. })
        ));
        assert_eq!(
            begun[1],
            Begun::Full {
                live_keys: 4,
                shards: 1,
                max_keys: 4
            }
        );
        assert_eq!(store.len(), 4);
    }

    #[test]
    fn attempts_over_the_same_shards_in_opposite_orders_never_wait_on_each_other() {
        let store = Arc::new(MemoryStore::with_max_keys(20_000));
        let (a, b) = keys_in_two_shards(&store);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for n in 0..4 {
            let (store, done_tx) = (store.clone(), done_tx.clone());
            let keys = if n % 2 == 0 {
                [a.clone(), b.clone()]
            } else {
                [b.clone(), a.clone()]
            };
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let limits = Limits::new(3);
                let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
                let steps = [
                    KeyStep::new(&keys[0], &limits),
                    KeyStep::new(&keys[1], &limits),
                ];
                for _ in 0..20_000 {
                    runtime.block_on(store.begin_all(&steps, now)).unwrap();
                }
                done_tx.send(()).unwrap();
            });
        }
        for _ in 0..4 {
            done_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("two attempts over the same shards deadlocked");
        }
    }
}
