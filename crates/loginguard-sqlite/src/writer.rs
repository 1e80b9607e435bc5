//! The write path: one connection that applies queued writes in batches,
//! each batch one `BEGIN IMMEDIATE` transaction (group commit).
//!
//! A caller queues its write and waits for the connection. Whoever gets the
//! connection takes every write queued so far and applies them, in order,
//! in one transaction; each caller is answered only after that transaction
//! has committed. So a counted attempt is on disk before anyone hears of it,
//! the read-modify-write of each key is serialised (within this handle by
//! the connection's mutex, across handles and processes by SQLite's write
//! lock, which `BEGIN IMMEDIATE` takes up front), and one commit serves many
//! callers. A batch runs in its own task, so a caller that gives up halfway
//! cannot leave a transaction open; writes whose caller left before the
//! batch started are skipped.

use std::sync::Arc;

use loginguard_core::audit::{AuditEntry, AuditKind, LogRetention};
use loginguard_core::record::{self, to_ms, KeyRecord, KeyVerdict, Limits, Release};
use loginguard_core::{Key, StoreError};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use crate::codec::{encode_failures, record_from_row, SELECT_RECORD};
use crate::error::{Shared, SqliteError};

/// One queued write.
#[derive(Debug)]
pub(crate) enum Op {
    /// [`record::begin`] on a key.
    Begin { key: Key, limits: Limits, now: i64 },
    /// [`record::release`] on a key.
    Release {
        key: Key,
        release: Release,
        limits: Limits,
        now: i64,
    },
    /// One audit entry, then its retention.
    Append {
        entry: AuditEntry,
        retention: LogRetention,
    },
}

/// What a write answers.
#[derive(Debug)]
pub(crate) enum Done {
    Verdict(KeyVerdict),
    Unit,
}

type Reply = oneshot::Sender<Result<Done, Shared>>;

#[derive(Debug)]
struct Pending {
    op: Op,
    reply: Reply,
}

/// The single write connection and its queue.
#[derive(Debug)]
pub(crate) struct Writer {
    conn: Arc<Mutex<SqliteConnection>>,
    queue: parking_lot::Mutex<Vec<Pending>>,
}

impl Writer {
    pub(crate) fn new(conn: SqliteConnection) -> Writer {
        Writer {
            conn: Arc::new(Mutex::new(conn)),
            queue: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// Exclusive use of the write connection (for resets, purges,
    /// migrations, and reads of an in-memory database).
    pub(crate) async fn lock(&self) -> OwnedMutexGuard<SqliteConnection> {
        self.conn.clone().lock_owned().await
    }

    /// Queues `op` and answers once the batch holding it has committed.
    pub(crate) async fn submit(&self, op: Op) -> Result<Done, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        self.queue.lock().push(Pending { op, reply });
        let conn = self.lock().await;
        match answer.try_recv() {
            Ok(done) => return done.map_err(|e| e.to_store_error()),
            Err(oneshot::error::TryRecvError::Closed) => return Err(SqliteError::Abandoned.into()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        // The previous batch has answered, so our write is still queued.
        let batch = std::mem::take(&mut *self.queue.lock());
        tokio::spawn(run_batch(conn, batch));
        match answer.await {
            Ok(done) => done.map_err(|e| e.to_store_error()),
            Err(_) => Err(SqliteError::Abandoned.into()),
        }
    }
}

async fn run_batch(mut conn: OwnedMutexGuard<SqliteConnection>, batch: Vec<Pending>) {
    let batch: Vec<Pending> = batch.into_iter().filter(|p| !p.reply.is_closed()).collect();
    if batch.is_empty() {
        return;
    }
    match apply(&mut conn, &batch).await {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                let _ = pending.reply.send(result.map_err(|e| Shared(Arc::new(e))));
            }
        }
        Err(e) => {
            tracing::debug!(target: "loginguard::sqlite", error = %loginguard_core::error_chain(&e), "write batch rolled back");
            let shared = Shared(Arc::new(e));
            for pending in batch {
                let _ = pending.reply.send(Err(shared.clone()));
            }
        }
    }
}

/// Applies a batch in one transaction. The outer error aborts (and rolls
/// back) the whole batch; an inner error concerns one write only.
async fn apply(
    conn: &mut SqliteConnection,
    batch: &[Pending],
) -> Result<Vec<Result<Done, SqliteError>>, SqliteError> {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(SqliteError::driver("starting a write transaction"))?;
    let mut out = Vec::with_capacity(batch.len());
    let mut retention = Retention::default();
    for pending in batch {
        let result = match &pending.op {
            Op::Begin { key, limits, now } => {
                begin(&mut tx, key, limits, *now).await.map(Done::Verdict)
            }
            Op::Release {
                key,
                release,
                limits,
                now,
            } => release_key(&mut tx, key, release, limits, *now)
                .await
                .map(|()| Done::Unit),
            Op::Append {
                entry,
                retention: r,
            } => {
                retention.note(entry, r);
                append(&mut tx, entry).await.map(|()| Done::Unit)
            }
        };
        match result {
            Err(e @ SqliteError::Corrupt { .. }) => out.push(Err(e)),
            Err(e) => return Err(e),
            Ok(done) => out.push(Ok(done)),
        }
    }
    retention.enforce(&mut tx).await?;
    tx.commit()
        .await
        .map_err(SqliteError::driver("committing a write transaction"))?;
    Ok(out)
}

async fn read_record(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<KeyRecord>, SqliteError> {
    let row = sqlx::query(SELECT_RECORD)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(SqliteError::driver("reading a key"))?;
    row.map(|row| record_from_row(&row, id)).transpose()
}

async fn write_record(
    conn: &mut SqliteConnection,
    key: &Key,
    rec: &KeyRecord,
    limits: &Limits,
) -> Result<(), SqliteError> {
    sqlx::query(
        "INSERT INTO loginguard_keys \
         (id, scope, ip, username, user_agent, failures, failure_count, locked, locked_until, lock_count, updated_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, failure_count = excluded.failure_count, \
         locked = excluded.locked, locked_until = excluded.locked_until, lock_count = excluded.lock_count, \
         updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )
    .bind(key.id())
    .bind(key.scope())
    .bind(key.ip())
    .bind(key.username())
    .bind(key.user_agent())
    .bind(encode_failures(&rec.failures))
    .bind(i64::try_from(rec.failures.len()).unwrap_or(i64::MAX))
    .bind(rec.locked)
    .bind(rec.locked_until)
    .bind(i64::from(rec.lock_count))
    .bind(rec.updated_at)
    .bind(rec.expires_at(limits))
    .execute(&mut *conn)
    .await
    .map_err(SqliteError::driver("writing a key"))?;
    Ok(())
}

async fn begin(
    conn: &mut SqliteConnection,
    key: &Key,
    limits: &Limits,
    now: i64,
) -> Result<KeyVerdict, SqliteError> {
    let mut rec = read_record(conn, key.id()).await?.unwrap_or_default();
    let verdict = record::begin(&mut rec, limits, now);
    write_record(conn, key, &rec, limits).await?;
    Ok(verdict)
}

async fn release_key(
    conn: &mut SqliteConnection,
    key: &Key,
    release: &Release,
    limits: &Limits,
    now: i64,
) -> Result<(), SqliteError> {
    let Some(mut rec) = read_record(conn, key.id()).await? else {
        return Ok(());
    };
    record::release(&mut rec, limits, release, now);
    if rec.is_empty() {
        sqlx::query("DELETE FROM loginguard_keys WHERE id = ?1")
            .bind(key.id())
            .execute(&mut *conn)
            .await
            .map_err(SqliteError::driver("deleting a key"))?;
        Ok(())
    } else {
        write_record(conn, key, &rec, limits).await
    }
}

async fn append(conn: &mut SqliteConnection, entry: &AuditEntry) -> Result<(), SqliteError> {
    let sql = match entry.kind {
        AuditKind::Success => {
            "INSERT INTO loginguard_access_log (scope, username, ip, user_agent, method, path, time) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        AuditKind::Failure => {
            "INSERT INTO loginguard_failure_log (scope, username, ip, user_agent, method, path, time, locked_out) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        }
    };
    let mut query = sqlx::query(sql)
        .bind(&entry.scope)
        .bind(&entry.username)
        .bind(&entry.ip)
        .bind(&entry.user_agent)
        .bind(&entry.method)
        .bind(&entry.path)
        .bind(to_ms(entry.time));
    if entry.kind == AuditKind::Failure {
        query = query.bind(entry.locked_out);
    }
    query
        .execute(&mut *conn)
        .await
        .map_err(SqliteError::driver("writing an audit entry"))?;
    Ok(())
}

/// Retention work gathered over a batch and done once at its end.
#[derive(Debug, Default)]
struct Retention {
    /// Entries before this time (ms) go.
    floor: Option<i64>,
    /// Failure-log caps per username.
    caps: Vec<(Option<String>, u32)>,
}

impl Retention {
    fn note(&mut self, entry: &AuditEntry, retention: &LogRetention) {
        if let Some(max_age) = retention.max_age {
            let floor = to_ms(entry.time).saturating_sub(record::duration_ms(max_age));
            self.floor = Some(self.floor.map_or(floor, |f| f.max(floor)));
        }
        if let (Some(cap), AuditKind::Failure) = (retention.max_failures_per_user, entry.kind) {
            match self.caps.iter_mut().find(|(u, _)| *u == entry.username) {
                Some((_, c)) => *c = (*c).min(cap),
                None => self.caps.push((entry.username.clone(), cap)),
            }
        }
    }

    async fn enforce(&self, conn: &mut SqliteConnection) -> Result<(), SqliteError> {
        if let Some(floor) = self.floor {
            for sql in [
                "DELETE FROM loginguard_access_log WHERE time < ?1",
                "DELETE FROM loginguard_failure_log WHERE time < ?1",
            ] {
                sqlx::query(sql)
                    .bind(floor)
                    .execute(&mut *conn)
                    .await
                    .map_err(SqliteError::driver("applying log retention"))?;
            }
        }
        for (username, cap) in &self.caps {
            sqlx::query(
                "DELETE FROM loginguard_failure_log WHERE id IN \
                 (SELECT id FROM loginguard_failure_log WHERE username IS ?1 \
                  ORDER BY time DESC, id DESC LIMIT -1 OFFSET ?2)",
            )
            .bind(username)
            .bind(i64::from(*cap))
            .execute(&mut *conn)
            .await
            .map_err(SqliteError::driver("applying the per-user failure-log cap"))?;
        }
        Ok(())
    }
}
