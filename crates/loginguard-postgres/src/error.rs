//! The errors of the PostgreSQL store, and how they become [`StoreError`]s.

use std::time::Duration;

use loginguard_core::StoreError;

/// What went wrong talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresStoreError {
    /// The store URL could not be used.
    #[error("invalid PostgreSQL store URL {url:?}: {reason}")]
    Url {
        /// The URL, password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// The schema name is not a plain SQL identifier.
    #[error("invalid PostgreSQL schema name {0:?} (from `store_prefix`): use {rule}", rule = loginguard_core::config::STORE_PREFIX_RULE)]
    Schema(String),
    /// No answer within the store timeout.
    #[error("no answer from PostgreSQL within {0:?}: is the server up? (raise `store_timeout` if it is only slow)")]
    Timeout(Duration),
    /// A query failed.
    #[error("PostgreSQL {what} failed")]
    Query {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Running migrations failed.
    #[error("PostgreSQL migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A row could not be read back.
    #[error("unexpected data in PostgreSQL: {0}")]
    Corrupt(String),
}

impl PostgresStoreError {
    /// `map_err` helper: a failed query while doing `what`.
    pub(crate) fn query(what: &'static str) -> impl Fn(sqlx::Error) -> PostgresStoreError + Copy {
        move |source| PostgresStoreError::Query { what, source }
    }

    /// Whether this means the server could not be reached (as opposed to a
    /// server that answered with an error).
    pub fn is_unreachable(&self) -> bool {
        match self {
            PostgresStoreError::Timeout(_) => true,
            PostgresStoreError::Query { source, .. } => unreachable(source),
            PostgresStoreError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => {
                unreachable(source)
            }
            _ => false,
        }
    }
}

impl PostgresStoreError {
    /// The driver's error under this one, if any.
    fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        match self {
            PostgresStoreError::Query { source, .. } => Some(Box::new(source)),
            PostgresStoreError::Migrate(source) => Some(Box::new(source)),
            _ => None,
        }
    }
}

fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // 57P01..57P03: admin shutdown, crash shutdown, cannot connect now;
        // 57014: statement timeout; 08xxx: connection exceptions.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P") || c == "57014" || c.starts_with("08")),
        _ => false,
    }
}

impl From<PostgresStoreError> for StoreError {
    fn from(e: PostgresStoreError) -> StoreError {
        match e {
            PostgresStoreError::Url { .. } | PostgresStoreError::Schema(_) => {
                StoreError::Config(e.to_string())
            }
            PostgresStoreError::Corrupt(ref what) => StoreError::Corrupt(what.clone()),
            e if e.is_unreachable() => StoreError::Unavailable {
                message: e.to_string(),
                source: e.into_source(),
            },
            e => StoreError::Backend {
                message: e.to_string(),
                source: e.into_source(),
            },
        }
    }
}
