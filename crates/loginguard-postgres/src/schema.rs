//! The embedded migrations and the schema state of a database.

use sqlx::migrate::Migrator;
use sqlx::PgPool;

use loginguard_core::schema::SchemaState;

use crate::error::PostgresStoreError;

/// The migrations of `migrations/`, embedded at build time.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!();

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
    Ok(SchemaState::compare(
        MIGRATOR
            .iter()
            .map(|m| (m.version, format!("{} {}", m.version, m.description))),
        &applied,
    ))
}
