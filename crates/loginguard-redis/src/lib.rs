//! loginguard-redis: a [`Store`](loginguard_core::Store) in Redis, shared by
//! every app server that points at the same Redis (single node or Cluster).
//!
//! - Each attempt on a key is atomic: a Lua script (`EVALSHA`, loaded at
//!   connect time) applies the rules of [`loginguard_core::record`] to the
//!   key's record. A new key's record depends on nothing stored, so it is
//!   computed by those rules in Rust; on Redis 7+, a key this store has not
//!   met recently is first tried with one native `SET … NX GET`, which
//!   stores the new record when the key is absent (one cheap command: the
//!   credential-stuffing spray) and otherwise hands the existing record to
//!   the script. Keys met recently go to the script directly (one round
//!   trip: the brute force on one account).
//! - Each lockout key is one Redis string `{prefix}:{<key id>}`. The key id
//!   sits inside one hash tag, so every script touches one slot and works on
//!   Redis Cluster; different lockout keys of one attempt may live on
//!   different nodes, each step atomic on its own.
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
mod seen;
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
