//! loginguard-sqlite: the embedded default store, one SQLite file holding
//! the lockout counters and the audit logs.
//!
//! - [`SqliteStore`] implements [`Store`](loginguard_core::Store) and
//!   [`AuditLog`](loginguard_core::AuditLog) (returned by `Store::audit`).
//! - Versioned migrations live in `migrations/` and are embedded in the
//!   binary. Opening a database whose schema is older than this build fails
//!   with [`StoreError::SchemaOutdated`] ("run `loginguard migrate`") unless
//!   [`SqliteStoreBuilder::auto_migrate`] is on; a newer schema fails with
//!   [`StoreError::SchemaTooNew`].
//! - Every write goes through one connection that applies queued writes in
//!   batches, one `BEGIN IMMEDIATE` transaction each, answering callers
//!   only after the commit (see [`SqliteStoreBuilder`] for the durability
//!   settings). Reads use a small pool of their own.
//! - An attempt refused by a lock this process has seen is answered from
//!   memory and written a few milliseconds later with the others refused
//!   meanwhile; a write by any other process is noticed by the next
//!   attempt (see the `locks` module).
//!
//! ```no_run
//! # async fn run() -> Result<(), loginguard_core::StoreError> {
//! use std::sync::Arc;
//! use loginguard_core::{Guard, Policy};
//! use loginguard_sqlite::SqliteStore;
//!
//! let store = SqliteStore::builder("loginguard.db").auto_migrate(true).open().await?;
//! let guard = Guard::new(Policy::default(), Arc::new(store));
//! # let _ = guard;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod codec;
mod error;
mod locks;
mod queries;
mod schema;
mod store;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use loginguard_core::StoreError;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, SqliteConnection};

pub use error::SqliteError;
pub use sqlx;

use crate::writer::Writer;

/// The default wait for another process's write lock before giving up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The default number of read connections.
pub const DEFAULT_READ_CONNECTIONS: u32 = 4;

/// A [`Store`](loginguard_core::Store) in one SQLite database file.
///
/// Cheap to clone: clones share the connections. Two `SqliteStore`s opened
/// on the same file (in one process or several) stay exact: SQLite's write
/// lock serialises them.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: Writer,
    /// `None` for an in-memory database, which has only the write connection.
    readers: Option<SqlitePool>,
    description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    File(PathBuf),
    Memory,
}

/// Opens a [`SqliteStore`]; made by [`SqliteStore::builder`],
/// [`SqliteStore::in_memory`] or [`SqliteStore::from_url`].
///
/// The database runs in WAL mode with `synchronous = NORMAL`: a commit is
/// written to the write-ahead log before the caller is answered, so a crash
/// of the process (even `kill -9`) loses nothing that was acknowledged;
/// only a power cut or an operating-system crash can lose the last
/// commits, which WAL mode keeps consistent. That is the usual trade for a
/// counter store: `FULL` would add an `fsync` to every commit.
///
/// A new database file is created with `auto_vacuum = INCREMENTAL`, so the
/// pages that purges of expired keys free go back to the file system. A
/// file created by an older version keeps them (new keys reuse them) until
/// it is converted once, with the application stopped:
/// `sqlite3 FILE 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM'`.
#[derive(Debug, Clone)]
#[must_use = "call `open()` to open the store"]
pub struct SqliteStoreBuilder {
    location: Location,
    create_if_missing: bool,
    auto_migrate: bool,
    check_schema: bool,
    busy_timeout: Duration,
    read_connections: u32,
}

impl SqliteStoreBuilder {
    fn new(location: Location) -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            location,
            create_if_missing: false,
            auto_migrate: false,
            check_schema: true,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            read_connections: DEFAULT_READ_CONNECTIONS,
        }
    }

    /// Creates the database file when it does not exist (default `false`;
    /// [`auto_migrate`](Self::auto_migrate) implies it).
    pub fn create_if_missing(mut self, on: bool) -> Self {
        self.create_if_missing = on;
        self
    }

    /// Applies pending migrations when opening (default `false`: a database
    /// with pending migrations is refused with "run `loginguard migrate`").
    /// An in-memory database is always migrated.
    pub fn auto_migrate(mut self, on: bool) -> Self {
        self.auto_migrate = on;
        self
    }

    /// Refuses a database with pending migrations (default `true`). Turn it
    /// off to open an old database in order to inspect or migrate it
    /// (`loginguard check`, `loginguard migrate`). A schema newer than this
    /// build is refused either way.
    pub fn check_schema(mut self, on: bool) -> Self {
        self.check_schema = on;
        self
    }

    /// How long to wait for another process's write lock (default 5s);
    /// after that the call fails with [`StoreError::Unavailable`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many connections serve reads (`list`, log queries; default 4, at least 1).
    pub fn read_connections(mut self, n: u32) -> Self {
        self.read_connections = n.max(1);
        self
    }

    fn connect_options(&self, create: bool) -> SqliteConnectOptions {
        let options = match &self.location {
            Location::File(path) => SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal),
            Location::Memory => SqliteConnectOptions::new().in_memory(true),
        };
        options
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(self.busy_timeout)
            .foreign_keys(false)
            .pragma("temp_store", "memory")
            // Batches build statements of several sizes; keep them all prepared.
            .statement_cache_capacity(512)
            // sqlx's per-statement logs would flood an application's debug
            // output; store faults are reported through `StoreError`.
            .disable_statement_logging()
    }

    /// Opens the store: connects, checks the schema (migrating it when
    /// asked) and prepares the read pool.
    pub async fn open(self) -> Result<SqliteStore, StoreError> {
        let create = self.create_if_missing || self.auto_migrate;
        let description = match &self.location {
            Location::File(path) => {
                if !create && !path.exists() {
                    return Err(SqliteError::Missing {
                        path: path.display().to_string(),
                    }
                    .into());
                }
                format!("sqlite://{}", path.display())
            }
            Location::Memory => "sqlite::memory:".to_owned(),
        };
        // A new database returns the pages its purges free to the file
        // system (see `SqliteStore::shrink_file`); on an existing one this
        // takes effect only after a `VACUUM`.
        let options = self
            .connect_options(create)
            .auto_vacuum(SqliteAutoVacuum::Incremental);
        let mut conn: SqliteConnection = options
            .connect()
            .await
            .map_err(SqliteError::driver("opening the database"))?;
        let state = schema::state(&mut conn).await?;
        state.refuse_too_new()?;
        if !state.pending.is_empty() {
            if self.auto_migrate || self.location == Location::Memory {
                schema::MIGRATOR
                    .run_direct(&mut conn)
                    .await
                    .map_err(SqliteError::from)?;
                tracing::info!(target: "loginguard::sqlite", db = %description, migrations = ?state.pending, "applied migrations");
            } else if self.check_schema {
                state.refuse_outdated()?;
            }
        }
        let readers = match &self.location {
            Location::File(_) => Some(
                SqlitePoolOptions::new()
                    .max_connections(self.read_connections)
                    .min_connections(0)
                    .acquire_timeout(self.busy_timeout.max(Duration::from_secs(1)))
                    .connect_lazy_with(self.connect_options(false)),
            ),
            Location::Memory => None,
        };
        let cache = match &self.location {
            Location::File(path) => lock_cache(&mut conn, path).await?,
            Location::Memory => None,
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Writer::new(conn, cache),
                readers,
                description,
            }),
        })
    }
}

/// The lock cache of the database at `path`, when it runs in WAL mode (see
/// the `locks` module).
async fn lock_cache(
    conn: &mut SqliteConnection,
    path: &Path,
) -> Result<Option<Arc<locks::LockCache>>, StoreError> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .map_err(SqliteError::driver("reading the journal mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(None);
    }
    let version = data_version(conn).await?;
    Ok(locks::LockCache::open(path, version).map(Arc::new))
}

/// `PRAGMA data_version` of the connection: it changes when another
/// connection commits.
async fn data_version(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(&mut *conn)
        .await
        .map_err(SqliteError::driver("reading the data version"))?)
}

impl SqliteStore {
    /// A builder for the database file at `path` (relative to the working
    /// directory, or absolute).
    pub fn builder(path: impl AsRef<Path>) -> SqliteStoreBuilder {
        SqliteStoreBuilder::new(Location::File(path.as_ref().to_path_buf()))
    }

    /// A builder for a private in-memory database (for tests; its state
    /// dies with the store).
    pub fn in_memory() -> SqliteStoreBuilder {
        SqliteStoreBuilder::new(Location::Memory)
    }

    /// A builder from a `store` URL: `sqlite://path`, `sqlite:path`
    /// (relative or absolute, e.g. `sqlite:///var/lib/app/lg.db`) or
    /// `sqlite::memory:`.
    ///
    /// ```
    /// use loginguard_sqlite::SqliteStore;
    ///
    /// assert!(SqliteStore::from_url("sqlite://loginguard.db").is_ok());
    /// assert!(SqliteStore::from_url("sqlite::memory:").is_ok());
    /// assert!(SqliteStore::from_url("postgres://db").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<SqliteStoreBuilder, StoreError> {
        let bad = || {
            StoreError::from(SqliteError::BadUrl {
                url: url.to_owned(),
            })
        };
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(bad)?;
        if rest.contains('?') {
            return Err(bad());
        }
        match rest {
            "" => Err(bad()),
            ":memory:" => Ok(SqliteStore::in_memory()),
            path => Ok(SqliteStore::builder(path)),
        }
    }

    /// Opens the database file at `path` with the default settings (it must
    /// exist and be migrated).
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::builder(path).open().await
    }

    /// Migrations known to this build and not applied to the database yet.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.inner.writer.lock().await;
        Ok(schema::state(&mut conn).await?.pending)
    }

    /// The newest schema version this build knows.
    pub fn schema_version() -> i64 {
        schema::MIGRATOR
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }
}

impl FromStr for SqliteStoreBuilder {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        SqliteStore::from_url(url)
    }
}

/// The stored-record codec, for the fuzz targets in `fuzz/`; not part of
/// the API and may change at any time.
#[doc(hidden)]
pub mod fuzzing {
    /// Encodes failure times as the `failures` column holds them.
    pub fn encode_failures(failures: &[i64]) -> String {
        crate::codec::encode_failures(failures)
    }

    /// Decodes a `failures` column; `None` when it is not in that format.
    pub fn decode_failures(text: &str) -> Option<Vec<i64>> {
        crate::codec::decode_failures(text)
    }

    /// Encodes remembered tags as the `tags` column holds them.
    pub fn encode_tags(tags: &[(i64, loginguard_core::record::Tag)]) -> String {
        crate::codec::encode_tags(tags)
    }

    /// Decodes a `tags` column; `None` when it is not in that format.
    pub fn decode_tags(text: &str) -> Option<Vec<(i64, loginguard_core::record::Tag)>> {
        crate::codec::decode_tags(text)
    }
}
