//! The audit trail (access and failure logs) in the `audit_log` table.

use std::time::SystemTime;

use async_trait::async_trait;
use loginguard_core::record::{duration_ms, from_ms, to_ms};
use loginguard_core::{AuditEntry, AuditKind, AuditLog, LogQuery, LogRetention, StoreError};
use sqlx::Row;

use crate::error::PostgresStoreError;
use crate::store::PostgresStore;

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append(&self, entry: &AuditEntry, retention: &LogRetention) -> Result<(), StoreError> {
        self.ensure_schema().await?;
        let q = PostgresStoreError::query("audit append");
        let time = to_ms(entry.time);
        self.bounded(async {
            sqlx::query(
                "INSERT INTO audit_log (kind, scope, username, ip, user_agent, method, path, \
                 time_ms, locked_out) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(entry.kind.as_str())
            .bind(&entry.scope)
            .bind(&entry.username)
            .bind(&entry.ip)
            .bind(&entry.user_agent)
            .bind(&entry.method)
            .bind(&entry.path)
            .bind(time)
            .bind(entry.locked_out)
            .execute(&self.pool)
            .await
            .map_err(q)?;
            if let Some(max_age) = retention.max_age {
                sqlx::query("DELETE FROM audit_log WHERE time_ms < $1")
                    .bind(time.saturating_sub(duration_ms(max_age)))
                    .execute(&self.pool)
                    .await
                    .map_err(q)?;
            }
            if let (Some(cap), AuditKind::Failure) = (retention.max_failures_per_user, entry.kind) {
                sqlx::query(
                    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log \
                     WHERE kind = 'failure' AND username IS NOT DISTINCT FROM $1 \
                     ORDER BY time_ms DESC, id DESC OFFSET $2)",
                )
                .bind(&entry.username)
                .bind(i64::from(cap))
                .execute(&self.pool)
                .await
                .map_err(q)?;
            }
            Ok(())
        })
        .await
    }

    async fn query(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.ensure_schema().await?;
        let q = PostgresStoreError::query("audit query");
        let rows = self
            .bounded(async {
                sqlx::query(
                    "SELECT kind, scope, username, ip, user_agent, method, path, time_ms, locked_out \
                     FROM audit_log WHERE ($1::text IS NULL OR kind = $1) \
                     AND ($2::text IS NULL OR username = $2) AND ($3::text IS NULL OR ip = $3) \
                     AND ($4::bigint IS NULL OR time_ms >= $4) \
                     ORDER BY time_ms DESC, id DESC LIMIT $5 OFFSET $6",
                )
                .bind(query.kind.map(AuditKind::as_str))
                .bind(&query.username)
                .bind(&query.ip)
                .bind(query.since.map(to_ms))
                .bind(query.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
                .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(q)
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let get = |e| StoreError::from(q(e));
            let kind: String = row.try_get("kind").map_err(get)?;
            let kind = match kind.as_str() {
                "success" => AuditKind::Success,
                "failure" => AuditKind::Failure,
                other => return Err(StoreError::Corrupt(format!("audit kind {other:?}"))),
            };
            let time: i64 = row.try_get("time_ms").map_err(get)?;
            let method: String = row.try_get("method").map_err(get)?;
            let path: String = row.try_get("path").map_err(get)?;
            let scope: String = row.try_get("scope").map_err(get)?;
            out.push(
                AuditEntry::new(
                    kind,
                    scope,
                    row.try_get("username").map_err(get)?,
                    row.try_get("ip").map_err(get)?,
                    row.try_get("user_agent").map_err(get)?,
                    method,
                    path,
                    from_ms(time),
                )
                .locked_out(row.try_get("locked_out").map_err(get)?),
            );
        }
        Ok(out)
    }

    async fn purge(&self, before: SystemTime) -> Result<u64, StoreError> {
        self.ensure_schema().await?;
        let done = self
            .bounded(async {
                sqlx::query("DELETE FROM audit_log WHERE time_ms < $1")
                    .bind(to_ms(before))
                    .execute(&self.pool)
                    .await
                    .map_err(PostgresStoreError::query("audit purge"))
            })
            .await?;
        Ok(done.rows_affected())
    }
}
