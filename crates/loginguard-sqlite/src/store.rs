//! `Store` and `AuditLog` for [`SqliteStore`].

use std::time::SystemTime;

use async_trait::async_trait;
use loginguard_core::audit::{AuditEntry, AuditLog, LogQuery, LogRetention};
use loginguard_core::record::{to_ms, KeyVerdict, Limits, Release, Tag};
use loginguard_core::{Key, KeyFilter, KeyStatus, ListQuery, Store, StoreError, StoreHealth};
use sqlx::{Connection, SqliteConnection};

use crate::error::SqliteError;
use crate::writer::{Done, Op};
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

#[async_trait]
impl Store for SqliteStore {
    async fn begin_tagged(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        let op = Op::Begin {
            key: key.clone(),
            limits: limits.clone(),
            tag,
            now: to_ms(now),
        };
        match self.inner.writer.submit(op).await? {
            Done::Verdict(verdict) => Ok(verdict),
            Done::Unit => Err(StoreError::Corrupt(
                "the write path answered a begin without a verdict".to_owned(),
            )),
        }
    }

    async fn release(
        &self,
        key: &Key,
        release: &Release,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let op = Op::Release {
            key: key.clone(),
            release: *release,
            limits: limits.clone(),
            now: to_ms(now),
        };
        self.inner.writer.submit(op).await.map(|_| ())
    }

    async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError> {
        let mut conn = self.inner.writer.lock().await;
        Ok(queries::reset(&mut *conn, filter).await?)
    }

    async fn list(&self, query: &ListQuery, now: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
        let now = to_ms(now);
        Ok(read!(self, |exec| queries::list(exec, query, now))?)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let mut conn = self.inner.writer.lock().await;
        Ok(queries::purge_expired(&mut *conn, to_ms(now)).await?)
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
