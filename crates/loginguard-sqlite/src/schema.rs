//! The embedded migrations and the schema version check done on open.

use sqlx::migrate::Migrator;
use sqlx::{Row, SqliteConnection};

use crate::error::SqliteError;

/// The migrations in `migrations/`, embedded in the binary.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!();

/// Where a database's schema stands against this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaState {
    /// The newest migration applied (0: none).
    pub(crate) found: i64,
    /// The newest migration this build knows.
    pub(crate) expected: i64,
    /// Known migrations not applied yet, as `version description`.
    pub(crate) pending: Vec<String>,
    /// Applied migrations this build does not know (a newer build ran).
    pub(crate) unknown: Vec<i64>,
}

impl SchemaState {
    /// The newest version this build knows.
    pub(crate) fn latest() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

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
    let pending = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .map(|m| format!("{:04} {}", m.version, m.description))
        .collect();
    let unknown = applied
        .iter()
        .copied()
        .filter(|v| !MIGRATOR.version_exists(*v))
        .collect();
    Ok(SchemaState {
        found: applied.iter().copied().max().unwrap_or(0),
        expected: SchemaState::latest(),
        pending,
        unknown,
    })
}
