//! The SQL for listing, resetting, purging and reading the audit logs.
//!
//! Key filters are applied in SQL with the semantics of
//! [`KeyFilter::matches`](loginguard_core::KeyFilter::matches): a key
//! matches when it has at least one of the given fields and every given
//! field it has is equal.

use loginguard_core::audit::{AuditEntry, AuditKind, LogQuery};
use loginguard_core::record::{from_ms, to_ms};
use loginguard_core::{Key, KeyFilter, KeyStatus, ListQuery};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor};

use crate::error::SqliteError;

/// Appends ` AND …` conditions selecting the keys `filter` matches.
fn push_filter(qb: &mut QueryBuilder<'_, Sqlite>, filter: &KeyFilter) {
    if let Some(scope) = &filter.scope {
        qb.push(" AND scope = ").push_bind(scope.clone());
    }
    if filter.sprayed {
        // A password's key has no other component (see `Key::is_spray`).
        qb.push(" AND ip IS NULL AND username IS NULL AND instr(id, '/password=') > 0");
        return;
    }
    let given: Vec<(&str, &String)> = [("ip", &filter.ip), ("username", &filter.username)]
        .into_iter()
        .filter_map(|(col, v)| v.as_ref().map(|v| (col, v)))
        .collect();
    if given.is_empty() {
        return;
    }
    for (col, value) in &given {
        qb.push(format!(" AND ({col} IS NULL OR {col} = "))
            .push_bind((*value).clone())
            .push(")");
    }
    let any: Vec<String> = given
        .iter()
        .map(|(col, _)| format!("{col} IS NOT NULL"))
        .collect();
    qb.push(format!(" AND ({})", any.join(" OR ")));
}

fn limit(n: Option<usize>) -> i64 {
    n.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Keys with failures or locks, most recent attempt first.
pub(crate) async fn list<'e>(
    exec: impl SqliteExecutor<'e>,
    query: &ListQuery,
    now: i64,
) -> Result<Vec<KeyStatus>, SqliteError> {
    let mut qb = QueryBuilder::<Sqlite>::new(
        "SELECT id, failure_count, (locked = 1 AND (locked_until IS NULL OR locked_until > ",
    );
    qb.push_bind(now).push(
        ")) AS active, locked_until, lock_count, updated_at, refused FROM loginguard_keys WHERE 1 = 1",
    );
    push_filter(&mut qb, &query.filter);
    qb.push(" AND ((locked = 1 AND (locked_until IS NULL OR locked_until > ")
        .push_bind(now)
        .push("))");
    if !query.locked_only {
        qb.push(" OR (failure_count > 0 AND (expires_at IS NULL OR expires_at > ")
            .push_bind(now)
            .push("))");
    }
    qb.push(") ORDER BY updated_at DESC LIMIT ")
        .push_bind(limit(query.limit));
    let rows = qb
        .build()
        .fetch_all(exec)
        .await
        .map_err(SqliteError::driver("listing keys"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let read = |row: &sqlx::sqlite::SqliteRow| -> Result<_, sqlx::Error> {
            Ok((
                row.try_get::<String, _>(0)?,
                row.try_get::<i64, _>(1)?,
                row.try_get::<bool, _>(2)?,
                row.try_get::<Option<i64>, _>(3)?,
                row.try_get::<i64, _>(4)?,
                row.try_get::<i64, _>(5)?,
                row.try_get::<i64, _>(6)?,
            ))
        };
        let (id, failures, active, until, lock_count, updated_at, refused) =
            read(&row).map_err(SqliteError::driver("listing keys"))?;
        let Ok(key) = Key::parse(&id) else {
            tracing::warn!(target: "loginguard::sqlite", id, "skipping a row whose key id cannot be parsed");
            continue;
        };
        out.push(
            KeyStatus::new(
                key,
                u32::try_from(failures).unwrap_or(u32::MAX),
                active,
                if active { until.map(from_ms) } else { None },
                u32::try_from(lock_count).unwrap_or(u32::MAX),
                from_ms(updated_at),
            )
            .with_refused(u32::try_from(refused).unwrap_or(u32::MAX)),
        );
    }
    Ok(out)
}

/// Deletes every key matching `filter`.
pub(crate) async fn reset<'e>(
    exec: impl SqliteExecutor<'e>,
    filter: &KeyFilter,
) -> Result<u64, SqliteError> {
    let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM loginguard_keys WHERE 1 = 1");
    push_filter(&mut qb, filter);
    let done = qb
        .build()
        .execute(exec)
        .await
        .map_err(SqliteError::driver("resetting keys"))?;
    Ok(done.rows_affected())
}

/// Deletes records that can no longer change a verdict.
pub(crate) async fn purge_expired<'e>(
    exec: impl SqliteExecutor<'e>,
    now: i64,
    limit: u32,
) -> Result<u64, SqliteError> {
    let done = sqlx::query(
        "DELETE FROM loginguard_keys WHERE id IN (SELECT id FROM loginguard_keys \
         WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)",
    )
    .bind(now)
    .bind(i64::from(limit))
    .execute(exec)
    .await
    .map_err(SqliteError::driver("purging expired keys"))?;
    Ok(done.rows_affected())
}

/// Returns up to `pages` free pages at the end of the file to the file
/// system (a no-op unless the database has `auto_vacuum = INCREMENTAL`);
/// answers how many free pages there were before and are left after.
pub(crate) async fn release_free_pages(
    conn: &mut sqlx::SqliteConnection,
    pages: u32,
) -> Result<(i64, i64), SqliteError> {
    let free = || sqlx::query_scalar::<_, i64>("PRAGMA freelist_count");
    let before = free()
        .fetch_one(&mut *conn)
        .await
        .map_err(SqliteError::driver("counting free pages"))?;
    if before == 0 {
        return Ok((0, 0));
    }
    // `incremental_vacuum` frees one page per step of its statement.
    sqlx::query(&format!("PRAGMA incremental_vacuum({pages})"))
        .fetch_all(&mut *conn)
        .await
        .map_err(SqliteError::driver(
            "returning free pages to the file system",
        ))?;
    let after = free()
        .fetch_one(&mut *conn)
        .await
        .map_err(SqliteError::driver("counting free pages"))?;
    Ok((before, after))
}

/// Audit entries matching `query`, newest first.
pub(crate) async fn query_log<'e>(
    exec: impl SqliteExecutor<'e>,
    query: &LogQuery,
) -> Result<Vec<AuditEntry>, SqliteError> {
    let mut qb = QueryBuilder::<Sqlite>::new(
        "SELECT kind, scope, username, ip, user_agent, method, path, time, locked_out FROM (",
    );
    let mut first = true;
    for (kind, table, locked_out) in [
        (AuditKind::Success, "loginguard_access_log", "0"),
        (AuditKind::Failure, "loginguard_failure_log", "locked_out"),
    ] {
        if query.kind.is_some_and(|k| k != kind) {
            continue;
        }
        if !first {
            qb.push(" UNION ALL ");
        }
        first = false;
        qb.push(format!(
            "SELECT '{}' AS kind, id, scope, username, ip, user_agent, method, path, time, \
             {locked_out} AS locked_out FROM {table} WHERE 1 = 1",
            kind.as_str()
        ));
        if let Some(username) = &query.username {
            qb.push(" AND username = ").push_bind(username.clone());
        }
        if let Some(ip) = &query.ip {
            qb.push(" AND ip = ").push_bind(ip.clone());
        }
        if let Some(since) = query.since {
            qb.push(" AND time >= ").push_bind(to_ms(since));
        }
    }
    qb.push(") ORDER BY time DESC, id DESC LIMIT ")
        .push_bind(limit(query.limit))
        .push(" OFFSET ")
        .push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
    let rows = qb
        .build()
        .fetch_all(exec)
        .await
        .map_err(SqliteError::driver("reading the audit log"))?;
    rows.iter()
        .map(|row| -> Result<AuditEntry, sqlx::Error> {
            let kind: String = row.try_get(0)?;
            let kind = if kind == "success" {
                AuditKind::Success
            } else {
                AuditKind::Failure
            };
            Ok(AuditEntry::new(
                kind,
                row.try_get::<String, _>(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get::<String, _>(5)?,
                row.try_get::<String, _>(6)?,
                from_ms(row.try_get(7)?),
            )
            .locked_out(row.try_get(8)?))
        })
        .collect::<Result<_, _>>()
        .map_err(SqliteError::driver("reading the audit log"))
}

/// Row counts for `loginguard check`.
pub(crate) async fn counts<'e>(
    exec: impl SqliteExecutor<'e>,
    now: i64,
) -> Result<(i64, i64, i64, i64), SqliteError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM loginguard_keys), \
         (SELECT count(*) FROM loginguard_keys WHERE locked = 1 AND (locked_until IS NULL OR locked_until > ?1)), \
         (SELECT count(*) FROM loginguard_access_log), \
         (SELECT count(*) FROM loginguard_failure_log)",
    )
    .bind(now)
    .fetch_one(exec)
    .await
    .map_err(SqliteError::driver("counting rows"))?;
    let get = |i| row.try_get::<i64, _>(i);
    (|| Ok((get(0)?, get(1)?, get(2)?, get(3)?)))().map_err(SqliteError::driver("counting rows"))
}
