//! loginguard-redis: a [`Store`](loginguard_core::Store) in Redis, shared by
//! every app server that points at the same Redis (single node or Cluster).
//!
//! - An attempt is one atomic step over all its keys, whatever the number
//!   of lockout criteria: [`Store::begin_all`](loginguard_core::Store::begin_all)
//!   is one Lua script call (`EVALSHA`, loaded at connect time) that applies
//!   [`batch::begin_records`](loginguard_core::batch::begin_records) to the
//!   records of every key of the attempt, its password's spray key
//!   included: one round trip. Settling the attempt
//!   ([`Store::release_all`](loginguard_core::Store::release_all), a right
//!   password) is one more, for all its keys. A new key's record depends on
//!   nothing stored, so it is computed by the rules of
//!   [`loginguard_core::record`] in Rust and the script stores it with one
//!   `SET … NX GET` when the key is absent (`GET` then `SET` before Redis
//!   7).
//! - An attempt on one key (one criterion, no spray key) takes a cheaper
//!   path on Redis 7+: a key this store has not met recently is first tried
//!   with one native `SET … NX GET`, which stores the new record when the
//!   key is absent (one cheap command: the credential-stuffing spray) and
//!   otherwise hands the attempt to the script. Keys met recently go to the
//!   script directly (one round trip: the brute force on one account).
//! - Each lockout key is one Redis string `{prefix}:{<key id>}`. The key id
//!   sits inside one hash tag, so each record has one Cluster slot.
//! - On a Redis Cluster a script may only touch keys of one slot, and the
//!   keys of one attempt (its IP, its username, its spray key) usually hash
//!   to different slots. Their steps are grouped by slot and one script per
//!   slot runs, all at once: about one round trip of latency, one call per
//!   slot. Each script applies the one-step rules to the keys of its slot.
//!   When some key is locked, the answers and the give-backs are then those
//!   of one step over every key: keys on the other slots give the refused
//!   attempt back when their [`KeyStep::refusal_release`](loginguard_core::KeyStep::refusal_release)
//!   says so, and a spray key after the locked key is answered
//!   [`Begun::Skipped`](loginguard_core::Begun::Skipped) and gives back
//!   what its own slot counted. That is a second round trip (one script per
//!   slot, at once), only for refused attempts whose keys span slots. What
//!   is lost there is atomicity across slots: until the second step, other
//!   attempts see the counts not yet given back, and a spray key begun
//!   beside a lock on another slot keeps the traces a give-back does not
//!   undo (its last-attempt time; if it was locked itself, one more refused
//!   attempt counted, and with limits that count refused attempts the
//!   failure and the restarted cool-off; at its cap, the oldest failure or
//!   remembered tag it made room for). When the script of one slot fails,
//!   the keys counted on the other slots are given back before the error
//!   is returned. Keys of one attempt that share a slot, and every attempt
//!   on a single server, get the one atomic step.
//! - Every key has a TTL: until the record can no longer change a verdict,
//!   or, when that is never (a lock until reset, failures with no window),
//!   the retention (default 30 days), refreshed on each write.
//! - `list`, `reset` and `purge_expired` walk the keyspace with `SCAN` on
//!   the server (on every primary of a Cluster): no separate index has to be
//!   kept in step with the records, so a record is never missed by a reset.
//! - Every command is bounded by the store timeout; a dead server answers
//!   [`StoreError::Unavailable`](loginguard_core::StoreError) quickly and the
//!   connection is re-established by itself when the server is back.
//! - No audit log: [`Store::audit`](loginguard_core::Store::audit) returns
//!   `None` (keep the audit trail in PostgreSQL or SQLite).
//!
//! ```no_run
//! # async fn demo() -> Result<(), loginguard_core::StoreError> {
//! use std::time::Duration;
//! use loginguard_redis::{RedisOptions, RedisStore};
//!
//! let store = RedisStore::connect(
//!     "redis://127.0.0.1:6379/0",
//!     RedisOptions::new().prefix("myapp").timeout(Duration::from_secs(1)),
//! )
//! .await?;
//! // A Cluster: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379"
//! # let _ = store; Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod conn;
mod error;
mod options;
mod scripts;
mod store;
mod target;

pub use error::RedisStoreError;
pub use options::{RedisOptions, DEFAULT_RETENTION};
pub use store::RedisStore;
pub use target::Target;

/// The Redis client crate this store is built on.
pub use redis;

/// The stored-record codec, for the fuzz targets in `fuzz/`; not part of
/// the API and may change at any time.
#[doc(hidden)]
pub mod fuzzing {
    use loginguard_core::record::{KeyRecord, Limits};

    /// Decodes a record value: the record and when it expires (ms).
    pub fn decode(value: &str) -> Option<(KeyRecord, Option<i64>)> {
        crate::codec::decode(value).map(|s| (s.record, s.expires_at))
    }

    /// The stored form of `rec` and its TTL in ms, as the store writes it.
    pub fn encode(rec: &KeyRecord, limits: &Limits, now: i64, retention_ms: i64) -> (String, i64) {
        crate::codec::encode(rec, limits, now, retention_ms)
    }

    /// The shortest TTL the store sets (ms).
    pub const MIN_TTL_MS: i64 = crate::codec::MIN_TTL_MS;
}
