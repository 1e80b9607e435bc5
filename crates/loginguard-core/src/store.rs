//! The `Store` trait: where failure counts and locks live.
//!
//! One implementation per backend crate (memory here; SQLite, PostgreSQL and
//! Redis in their own crates). Every method is one atomic step, even with
//! many app servers sharing the store: the per-key rules are the pure
//! functions of [`record`](crate::record), run inside one statement,
//! transaction or script.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::audit::AuditLog;
use crate::batch::{give_backs, Begun, KeyRelease, KeyStep};
use crate::key::{Key, KeyFilter};
use crate::record::{from_ms, to_ms, KeyRecord, KeyVerdict, Limits, Release, Tag};

/// A fault in a store: the store could not answer. A lockout is never an
/// error; it is a [`KeyVerdict::Locked`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached (connection refused, timed out, pool
    /// exhausted). Usually transient.
    #[error("store unreachable: {message}")]
    Unavailable {
        /// What failed, in words.
        message: String,
        /// The driver's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The database schema is older than this build expects.
    #[error("schema out of date (database at version {found}, this build needs {expected}): run `loginguard migrate`")]
    SchemaOutdated {
        /// The version found in the database.
        found: i64,
        /// The version this build needs.
        expected: i64,
    },
    /// The database schema is newer than this build understands.
    #[error(
        "schema version {found} is newer than this build supports ({expected}): upgrade loginguard"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        expected: i64,
    },
    /// The database does not exist yet (and the store was not asked to
    /// create it): `loginguard migrate` creates it.
    #[error("{what} is not created yet: run `loginguard migrate`")]
    NotCreated {
        /// What is missing, e.g. "the database loginguard.db".
        what: String,
    },
    /// The store does not offer this operation.
    #[error("this store does not support {0}")]
    Unsupported(&'static str),
    /// The store's configuration is wrong (bad URL, bad prefix, bad path).
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// Stored data could not be read back.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// A bounded store has no room for a new key: every record it could
    /// hold still counts (live failures, a lock, or a progressive lock
    /// history), and dropping one would hand an attacker a fresh count.
    /// Keys the store already tracks keep counting; `on_store_error`
    /// decides the attempt on the new key.
    #[error(
        "memory store full: {live_keys} keys hold live failures{}; raise memory_max_keys or use a shared store",
        full_scope(*.shards, *.max_keys)
    )]
    Full {
        /// Records in the full part of the store, none of which can be
        /// dropped yet.
        live_keys: usize,
        /// How many shards the store is split into (the key's shard is
        /// full; `live_keys` counts that shard).
        shards: usize,
        /// The store's bound on tracked keys.
        max_keys: usize,
    },
    /// Any other backend failure.
    #[error("store backend error: {message}")]
    Backend {
        /// What failed, in words.
        message: String,
        /// The driver's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// An [`StoreError::Unavailable`] wrapping a driver error.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Unavailable {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A [`StoreError::Backend`] wrapping a driver error.
    pub fn backend(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Backend {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Where a [`StoreError::Full`] applies: the whole store, or one shard of it.
fn full_scope(shards: usize, max_keys: usize) -> String {
    if shards <= 1 {
        String::new()
    } else {
        format!(" in this key's shard (1 of {shards}, {max_keys} keys in all)")
    }
}

/// The state of one key, as listed for operators.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KeyStatus {
    /// The key.
    pub key: Key,
    /// Failures currently counted (inside the window).
    pub failures: u32,
    /// Whether a lock is in force now.
    pub locked: bool,
    /// When the lock ends; `None` while locked means until reset.
    pub locked_until: Option<SystemTime>,
    /// How many times the key has been locked.
    pub lock_count: u32,
    /// The last attempt on the key.
    pub last_attempt: SystemTime,
    /// Attempts refused since the current lock was set (0 when not locked):
    /// how hard a locked key is still being hammered.
    pub refused: u32,
}

impl KeyStatus {
    /// Builds a status.
    pub fn new(
        key: Key,
        failures: u32,
        locked: bool,
        locked_until: Option<SystemTime>,
        lock_count: u32,
        last_attempt: SystemTime,
    ) -> KeyStatus {
        KeyStatus {
            key,
            failures,
            locked,
            locked_until,
            lock_count,
            last_attempt,
            refused: 0,
        }
    }

    /// Sets the count of attempts refused since the lock (kept only while
    /// the lock is in force).
    #[must_use]
    pub fn with_refused(mut self, refused: u32) -> KeyStatus {
        self.refused = if self.locked { refused } else { 0 };
        self
    }
}

impl KeyStatus {
    /// The status of `key` from its stored record at `now_ms`. Failures are
    /// not windowed here: the store does not know the window a reader has
    /// in mind (expired records are left out by [`ListQuery::wants`]).
    pub fn from_record(key: Key, record: &KeyRecord, now_ms: i64) -> KeyStatus {
        let locked = record.lock_active(now_ms);
        KeyStatus::new(
            key,
            u32::try_from(record.failures.len()).unwrap_or(u32::MAX),
            locked,
            if locked {
                record.locked_until.map(from_ms)
            } else {
                None
            },
            record.lock_count,
            from_ms(record.updated_at),
        )
        .with_refused(record.refused)
    }
}

/// Which keys to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only keys matching this filter.
    pub filter: KeyFilter,
    /// Only keys locked now.
    pub locked_only: bool,
    /// At most this many (most recent attempt first).
    pub limit: Option<usize>,
}

impl ListQuery {
    /// Every key with failures or a lock.
    pub fn all() -> ListQuery {
        ListQuery::default()
    }

    /// Sets the filter.
    #[must_use]
    pub fn filter(mut self, filter: KeyFilter) -> ListQuery {
        self.filter = filter;
        self
    }

    /// Only locked keys.
    #[must_use]
    pub fn locked_only(mut self, on: bool) -> ListQuery {
        self.locked_only = on;
        self
    }

    /// At most `n` keys.
    #[must_use]
    pub fn limit(mut self, n: usize) -> ListQuery {
        self.limit = Some(n);
        self
    }

    /// Whether a stored record belongs in the listing at `now_ms`: locked
    /// now, or (unless `locked_only`) holding failures and not expired
    /// (`expires_at` as stored; `None`: never). The key filter is applied
    /// separately, once the key is parsed.
    pub fn wants(&self, record: &KeyRecord, expires_at: Option<i64>, now_ms: i64) -> bool {
        if record.lock_active(now_ms) {
            return true;
        }
        !self.locked_only && !record.failures.is_empty() && expires_at.is_none_or(|e| e > now_ms)
    }

    /// Orders statuses most recent attempt first and applies `limit`.
    pub fn finish(&self, mut statuses: Vec<KeyStatus>) -> Vec<KeyStatus> {
        statuses.sort_by_key(|s| std::cmp::Reverse(s.last_attempt));
        if let Some(limit) = self.limit {
            statuses.truncate(limit);
        }
        statuses
    }
}

/// What a store says about itself for `loginguard check`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreHealth {
    /// A short description (`memory`, `sqlite:///path`, `redis://host:6379/0`, never a password).
    pub description: String,
    /// Migrations known to this build but not applied yet.
    pub pending_migrations: Vec<String>,
    /// Anything else the operator should know.
    pub notes: Vec<String>,
}

impl StoreHealth {
    /// A healthy store with nothing pending.
    pub fn ok(description: impl Into<String>) -> StoreHealth {
        StoreHealth {
            description: description.into(),
            pending_migrations: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Where failure counts and locks live; one implementation per backend.
///
/// Every method is one atomic step, even with many app servers sharing the
/// store. Stores apply [`record::begin`](crate::record::begin) and
/// [`record::release`](crate::record::release) (or an exact equivalent) to
/// the key's record. The shared suite in `loginguard-store-tests` checks
/// every implementation against these rules.
#[async_trait]
pub trait Store: fmt::Debug + Send + Sync + 'static {
    /// If `key` is locked, say so (counting the attempt when
    /// `limits.count_during_lockout`). Otherwise count one attempt, and lock
    /// the key when that count reaches `limits.failure_limit`.
    async fn begin_attempt(
        &self,
        key: &Key,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        self.begin_tagged(key, limits, None, now).await
    }

    /// [`Store::begin_attempt`] with the attempt's [`Tag`]: the store runs
    /// [`record::begin`](crate::record::begin) with it, so an attempt whose
    /// tag the key remembers counts nothing and a counted one's tag is
    /// remembered (up to [`Limits::remember`]).
    async fn begin_tagged(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError>;

    /// Settles an attempt that `begin_attempt` allowed: the password was
    /// right, or the attempt was refused on another of its keys.
    async fn release(
        &self,
        key: &Key,
        release: &Release,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Begins an attempt on all its keys in one step (see
    /// [`batch`](crate::batch)): each key in order as
    /// [`Store::begin_tagged`] would, a spray key skipped after a locked
    /// key, and, when a key is locked, the attempt given back on the keys
    /// whose [`KeyStep::refusal_release`] says so. One answer per step.
    ///
    /// This default makes one call per key, each atomic on its own key.
    /// Stores that can reach every key at once (one transaction, one
    /// script) override it with [`batch::begin_records`](crate::batch::begin_records),
    /// so that an attempt costs one round trip and is atomic over its keys.
    ///
    /// On an error other than a full store, the keys counted so far are
    /// given back before the error is returned.
    async fn begin_all(
        &self,
        steps: &[KeyStep<'_>],
        now: SystemTime,
    ) -> Result<Vec<Begun>, StoreError> {
        let mut begun = Vec::with_capacity(steps.len());
        let mut locked = false;
        for step in steps {
            if step.skipped_after(locked) {
                begun.push(Begun::Skipped);
                continue;
            }
            let result = self
                .begin_tagged(step.key, step.limits, step.tag, now)
                .await;
            match Begun::from_result(result) {
                Ok(b) => {
                    locked |= b.is_locked();
                    begun.push(b);
                }
                Err(e) => {
                    let back = give_backs(steps, &begun, to_ms(now), false);
                    // The error that matters is the first one.
                    let _ = self.release_all(&back, now).await;
                    return Err(e);
                }
            }
        }
        if locked {
            let back = give_backs(steps, &begun, to_ms(now), true);
            if let Err(e) = self.release_all(&back, now).await {
                tracing::debug!(target: "loginguard", error = %e, "could not give a refused attempt back");
            }
        }
        Ok(begun)
    }

    /// Settles several keys ([`Store::release`] on each); stores that can
    /// reach every key at once do it in one round trip. Every key is tried;
    /// the first error is returned.
    async fn release_all(
        &self,
        releases: &[KeyRelease<'_>],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut first = Ok(());
        for r in releases {
            if let Err(e) = self.release(r.key, &r.release, r.limits, now).await {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// Clears every key matching `filter`; returns how many were cleared.
    async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError>;

    /// Keys with failures or locks, most recent attempt first.
    async fn list(&self, query: &ListQuery, now: SystemTime) -> Result<Vec<KeyStatus>, StoreError>;

    /// Deletes records that can no longer change a verdict; returns how many.
    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError>;

    /// Creates or upgrades tables; stores without a schema keep this default.
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Reachability and schema state, for `loginguard check`.
    async fn health(&self) -> Result<StoreHealth, StoreError>;

    /// The audit log kept beside the counters, if this store has one.
    fn audit(&self) -> Option<&dyn AuditLog> {
        None
    }
}
