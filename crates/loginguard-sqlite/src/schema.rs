//! The embedded migrations and the schema version check done on open.

use sqlx::migrate::Migrator;
use sqlx::{Row, SqliteConnection};

use loginguard_core::schema::SchemaState;

use crate::error::SqliteError;

/// The migrations in `migrations/`, embedded in the binary.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!();

/// Reads the applied migrations and compares them with [`MIGRATOR`].
pub(crate) async fn state(conn: &mut SqliteConnection) -> Result<SchemaState, SqliteError> {
    let has_table: i64 = sqlx::query(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await
    .and_then(|row| row.try_get(0))
    .map_err(SqliteError::driver("reading the schema version"))?;
    let applied: Vec<i64> = if has_table > 0 {
        sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(SqliteError::driver("reading the schema version"))?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(SqliteError::driver("reading the schema version"))?
    } else {
        Vec::new()
    };
    Ok(SchemaState::compare(
        MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| (m.version, format!("{:04} {}", m.version, m.description))),
        &applied,
    ))
}
