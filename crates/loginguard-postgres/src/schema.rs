//! The embedded migrations and the schema state of a database.

use sqlx::migrate::Migrator;
use sqlx::PgPool;

use crate::error::PostgresStoreError;

/// The migrations of `migrations/`, embedded at build time.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!();

/// What a schema holds compared with this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaState {
    /// Newest applied version (0: none).
    pub(crate) found: i64,
    /// Newest version this build knows.
    pub(crate) expected: i64,
    /// Known migrations not applied yet, as `version description`.
    pub(crate) pending: Vec<String>,
    /// Applied versions this build does not know (a newer loginguard ran).
    pub(crate) unknown: Vec<i64>,
}

/// Reads `_sqlx_migrations` in the schema on the search path.
pub(crate) async fn state(pool: &PgPool) -> Result<SchemaState, PostgresStoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(PostgresStoreError::query("schema check"))?;
    let applied: Vec<i64> = if exists {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(PostgresStoreError::query("schema check"))?
    } else {
        Vec::new()
    };
    let known: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    Ok(SchemaState {
        found: applied.iter().copied().max().unwrap_or(0),
        expected: known.iter().copied().max().unwrap_or(0),
        pending: MIGRATOR
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect(),
        unknown: applied.into_iter().filter(|v| !known.contains(v)).collect(),
    })
}
