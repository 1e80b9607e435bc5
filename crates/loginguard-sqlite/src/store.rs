//! `Store` and `AuditLog` for [`SqliteStore`].

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use loginguard_core::audit::{AuditEntry, AuditLog, LogQuery, LogRetention};
use loginguard_core::batch::{Begun, KeyRelease, KeyStep};
use loginguard_core::record::{to_ms, KeyVerdict, Limits, Release, Tag};
use loginguard_core::{Key, KeyFilter, KeyStatus, ListQuery, Store, StoreError, StoreHealth};
use sqlx::{Connection, SqliteConnection};

use crate::error::SqliteError;
use crate::locks::{Answer, FLUSH_DELAY};
use crate::writer::{Done, Op, Step};
use crate::{queries, schema, SqliteStore};

/// Runs a read on the read pool, or on the write connection of an
/// in-memory database.
macro_rules! read {
    ($store:expr, |$exec:ident| $body:expr) => {
        match &$store.inner.readers {
            Some(pool) => {
                let $exec = pool;
                $body.await
            }
            None => {
                let mut conn = $store.inner.writer.lock().await;
                let $exec = &mut *conn;
                $body.await
            }
        }
    };
}

/// Key rows deleted by one step of a purge.
const PURGE_STEP_ROWS: u32 = 1_000;

/// Free pages returned to the file system by one step of a purge.
const VACUUM_STEP_PAGES: u32 = 256;

/// Steps of returning free pages per purge at most (with 4 KiB pages,
/// 1,024 x 256 pages: 1 GiB).
const VACUUM_STEPS: u32 = 1_024;

impl SqliteStore {
    /// After a purge: returns free pages to the file system in steps (when
    /// the database was created with `auto_vacuum = INCREMENTAL`; pages
    /// left over by the step limit go at the next purge), then checkpoints
    /// the write-ahead log, which SQLite's automatic checkpoint keeps at
    /// about 1,000 pages anyway.
    async fn shrink_file(&self) -> Result<(), StoreError> {
        if self.inner.readers.is_none() {
            return Ok(());
        }
        let mut released = false;
        for _ in 0..VACUUM_STEPS {
            let (before, left) = {
                let mut conn = self.inner.writer.lock().await;
                queries::release_free_pages(&mut conn, VACUUM_STEP_PAGES).await?
            };
            released |= left < before;
            if left == 0 || left == before {
                break;
            }
            tokio::task::yield_now().await;
        }
        if released {
            // The file itself shrinks when the log is copied back into it;
            // `PASSIVE` does what it can without waiting for readers.
            let mut conn = self.inner.writer.lock().await;
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_all(&mut *conn)
                .await
                .map_err(SqliteError::driver("checkpointing the write-ahead log"))?;
        }
        Ok(())
    }
}

impl SqliteStore {
    /// The lock cache's answer, when it has one (see the `locks` module).
    async fn answer_from_cache(
        &self,
        steps: &[KeyStep<'_>],
        now: i64,
    ) -> Result<Option<Vec<Begun>>, StoreError> {
        let Some(cache) = self.inner.writer.cache() else {
            return Ok(None);
        };
        // Refusals are written by a task of their own, a moment later.
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(None);
        }
        for _ in 0..2 {
            match cache.refuse(steps, now) {
                Answer::Refused { begun, flush } => {
                    if flush {
                        // A store dropped meanwhile writes them as it goes.
                        let inner = Arc::downgrade(&self.inner);
                        tokio::spawn(async move {
                            tokio::time::sleep(FLUSH_DELAY).await;
                            if let Some(inner) = inner.upgrade() {
                                SqliteStore { inner }.flush_refusals().await;
                            }
                        });
                    }
                    return Ok(Some(begun));
                }
                Answer::Pass => return Ok(None),
                Answer::Moved => {
                    let mut conn = self.inner.writer.lock().await;
                    // Read before `data_version`: a commit after it moves
                    // the header again.
                    if let Some(header) = cache.moved_header() {
                        let version = crate::data_version(&mut conn).await?;
                        cache.confirm(header, version);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Writes the refusals the lock cache answered (scheduled a short wait
    /// after the first, so that they gather into one transaction).
    async fn flush_refusals(&self) {
        if let Err(e) = self.flush_pending().await {
            tracing::debug!(target: "loginguard::sqlite", error = %loginguard_core::error_chain(&e), "refused attempts not written");
        }
    }

    /// Writes the refusals the lock cache answered and not written yet, so
    /// that what follows (a listing, a reset) sees them.
    async fn flush_pending(&self) -> Result<(), StoreError> {
        match self.inner.writer.cache() {
            Some(cache) if cache.has_pending() => {}
            _ => return Ok(()),
        }
        let op = Op::Replay {
            attempts: Vec::new(),
        };
        self.inner.writer.submit(op).await.map(|_| ())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin_tagged(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        let step = KeyStep::new(key, limits).with_tag(tag);
        match self.begin_all(&[step], now).await?.as_slice() {
            [Begun::Verdict(verdict)] => Ok(*verdict),
            other => Err(StoreError::Corrupt(format!(
                "the write path answered a one-key begin with {other:?}"
            ))),
        }
    }

    async fn release(
        &self,
        key: &Key,
        release: &Release,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.release_all(&[KeyRelease::new(key, *release, limits)], now)
            .await
    }

    /// An attempt refused by a lock the lock cache holds is answered from
    /// it (and written within a few milliseconds); any other is one queued
    /// write for the whole attempt: its keys are read, counted and written
    /// in the same transaction.
    async fn begin_all(
        &self,
        steps: &[KeyStep<'_>],
        now: SystemTime,
    ) -> Result<Vec<Begun>, StoreError> {
        let at = to_ms(now);
        if let Some(begun) = self.answer_from_cache(steps, at).await? {
            return Ok(begun);
        }
        let op = Op::Begin {
            steps: steps.iter().map(Step::of).collect(),
            now: at,
        };
        match self.inner.writer.submit(op).await? {
            Done::Begun(begun) if begun.len() == steps.len() => Ok(begun),
            other => Err(StoreError::Corrupt(format!(
                "the write path answered a begin of {} keys with {other:?}",
                steps.len()
            ))),
        }
    }

    async fn release_all(
        &self,
        releases: &[KeyRelease<'_>],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if releases.is_empty() {
            return Ok(());
        }
        let op = Op::Release {
            releases: releases
                .iter()
                .map(|r| (r.key.clone(), r.release, r.limits.clone()))
                .collect(),
            now: to_ms(now),
        };
        self.inner.writer.submit(op).await.map(|_| ())
    }

    async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError> {
        self.flush_pending().await?;
        let mut conn = self.inner.writer.lock().await;
        let cleared = queries::reset(&mut *conn, filter).await;
        // This connection's own writes leave `data_version` alone.
        if let Some(cache) = self.inner.writer.cache() {
            cache.clear();
        }
        Ok(cleared?)
    }

    async fn list(&self, query: &ListQuery, now: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
        self.flush_pending().await?;
        let now = to_ms(now);
        Ok(read!(self, |exec| queries::list(exec, query, now))?)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.flush_pending().await?;
        let now = to_ms(now);
        let mut purged = 0;
        // In steps, each holding the write connection briefly, so the
        // attempts queued meanwhile wait for one step, not the whole purge.
        loop {
            let step = {
                let mut conn = self.inner.writer.lock().await;
                queries::purge_expired(&mut *conn, now, PURGE_STEP_ROWS).await?
            };
            purged += step;
            if step < u64::from(PURGE_STEP_ROWS) {
                break;
            }
            tokio::task::yield_now().await;
        }
        self.shrink_file().await?;
        Ok(purged)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.inner.writer.lock().await;
        let state = schema::state(&mut conn).await?;
        state.refuse_too_new()?;
        if !state.pending.is_empty() {
            schema::MIGRATOR
                .run_direct(&mut *conn)
                .await
                .map_err(SqliteError::from)?;
            tracing::info!(target: "loginguard::sqlite", db = %self.inner.description, migrations = ?state.pending, "applied migrations");
        }
        Ok(())
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        // On a read connection: counting a large log must not hold up writes.
        let mut pooled;
        let mut locked;
        let conn: &mut SqliteConnection = match &self.inner.readers {
            Some(pool) => {
                pooled = pool
                    .acquire()
                    .await
                    .map_err(SqliteError::driver("opening a read connection"))?;
                &mut pooled
            }
            None => {
                locked = self.inner.writer.lock().await;
                &mut locked
            }
        };
        let state = schema::state(conn).await?;
        state.refuse_too_new()?;
        let mut health = StoreHealth::ok(self.inner.description.clone());
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .map_err(SqliteError::driver("reading the journal mode"))?;
        health.notes.push(format!(
            "schema version {} of {}; journal mode {mode}",
            state.found, state.expected
        ));
        let auto_vacuum: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&mut *conn)
            .await
            .map_err(SqliteError::driver("reading the auto_vacuum setting"))?;
        if auto_vacuum == 0 && self.inner.readers.is_some() {
            health.notes.push(
                "created without auto_vacuum: space freed by purges stays in the file \
                 (reused by new keys); to give it back, stop the application and run \
                 `sqlite3 FILE 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM'`"
                    .to_owned(),
            );
        }
        if state.pending.is_empty() {
            let now = to_ms(SystemTime::now());
            let (keys, locked, access, failures) = queries::counts(&mut *conn, now).await?;
            health.notes.push(format!(
                "{keys} keys tracked ({locked} locked now); {access} access-log and {failures} failure-log entries"
            ));
        }
        health.pending_migrations = state.pending;
        Ok(health)
    }

    fn audit(&self) -> Option<&dyn AuditLog> {
        Some(self)
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, entry: &AuditEntry, retention: &LogRetention) -> Result<(), StoreError> {
        let op = Op::Append {
            entry: entry.clone(),
            retention: *retention,
        };
        self.inner.writer.submit(op).await.map(|_| ())
    }

    async fn query(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(read!(self, |exec| queries::query_log(exec, query))?)
    }

    async fn purge(&self, before: SystemTime) -> Result<u64, StoreError> {
        let before = to_ms(before);
        let mut conn = self.inner.writer.lock().await;
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(SqliteError::driver("starting a write transaction"))?;
        let mut purged = 0;
        for sql in [
            "DELETE FROM loginguard_access_log WHERE time < ?1",
            "DELETE FROM loginguard_failure_log WHERE time < ?1",
        ] {
            purged += sqlx::query(sql)
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(SqliteError::driver("purging the audit log"))?
                .rows_affected();
        }
        tx.commit()
            .await
            .map_err(SqliteError::driver("committing a write transaction"))?;
        Ok(purged)
    }
}
