//! `SqliteError`: what can go wrong in the SQLite store, and how it maps
//! onto the core's [`StoreError`].

use std::fmt;
use std::sync::Arc;

use loginguard_core::StoreError;

/// A fault in the SQLite store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The driver failed while doing `context`.
    #[error("{context}")]
    Driver {
        /// What the store was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("applying migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file does not exist and the store was not asked to create it.
    #[error("the database {path} is not created yet: run `loginguard migrate`")]
    Missing {
        /// The path that was looked for.
        path: String,
    },
    /// A row could not be read back.
    #[error("corrupt row for key {id:?}: {what}")]
    Corrupt {
        /// The key id of the row.
        id: String,
        /// What was wrong.
        what: String,
    },
    /// The `store` URL is not an SQLite URL this crate understands.
    #[error("invalid SQLite store URL {url:?}: expected \"sqlite://path\", \"sqlite:path\" or \"sqlite::memory:\"")]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// The background step that applies a batch of writes stopped before
    /// answering (the runtime is shutting down).
    #[error("the write was abandoned before it committed (is the runtime shutting down?)")]
    Abandoned,
}

impl SqliteError {
    /// Wraps a driver error with what the store was doing.
    pub(crate) fn driver(context: &'static str) -> impl FnOnce(sqlx::Error) -> SqliteError {
        move |source| SqliteError::Driver { context, source }
    }

    /// Whether the error means "try again later": the database is locked by
    /// another writer for longer than `busy_timeout`, or the file cannot be
    /// reached.
    fn is_transient(&self) -> bool {
        match self {
            SqliteError::Driver { source, .. } => match source {
                sqlx::Error::Database(db) => db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    // SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes.
                    .is_some_and(|code| matches!(code & 0xff, 5 | 6)),
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                _ => false,
            },
            SqliteError::Abandoned => true,
            _ => false,
        }
    }

    fn message(&self) -> String {
        if self.is_transient() {
            format!("{self}: the database is busy or unreachable")
        } else {
            self.to_string()
        }
    }
}

/// One error shared by every waiter of a failed batch.
#[derive(Debug, Clone)]
pub(crate) struct Shared(pub(crate) Arc<SqliteError>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message is already in the StoreError; show the cause.
        match std::error::Error::source(&*self.0) {
            Some(source) => fmt::Display::fmt(source, f),
            None => fmt::Display::fmt(&*self.0, f),
        }
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause = std::error::Error::source(&*self.0)?;
        let next = cause.source()?;
        // sqlx's database errors already print their source; don't repeat it.
        if cause.to_string().contains(&next.to_string()) {
            next.source()
        } else {
            Some(next)
        }
    }
}

impl Shared {
    pub(crate) fn to_store_error(&self) -> StoreError {
        let err = &*self.0;
        match err {
            SqliteError::Missing { path } => StoreError::NotCreated {
                what: format!("the database {path}"),
            },
            SqliteError::BadUrl { .. } => StoreError::Config(err.to_string()),
            SqliteError::Corrupt { .. } => StoreError::Corrupt(err.to_string()),
            SqliteError::Abandoned => StoreError::Unavailable {
                message: err.message(),
                source: None,
            },
            SqliteError::Driver { .. } | SqliteError::Migrate(_) => {
                let message = err.message();
                let source: Box<dyn std::error::Error + Send + Sync> = Box::new(self.clone());
                if err.is_transient() {
                    StoreError::Unavailable {
                        message,
                        source: Some(source),
                    }
                } else {
                    StoreError::Backend {
                        message,
                        source: Some(source),
                    }
                }
            }
        }
    }
}

impl From<SqliteError> for StoreError {
    fn from(err: SqliteError) -> StoreError {
        Shared(Arc::new(err)).to_store_error()
    }
}
