//! loginguard-postgres: a [`Store`](loginguard_core::Store) and
//! [`AuditLog`](loginguard_core::AuditLog) in PostgreSQL, shared by every
//! app server that points at the same database.
//!
//! - All tables live in one schema of their own (`store_prefix`, default
//!   `loginguard`), reached through the connection's `search_path`, so
//!   several apps (or test runs) can share a database.
//! - Versioned migrations (`migrations/`, embedded) are run by
//!   [`Store::migrate`](loginguard_core::Store::migrate), i.e.
//!   `loginguard migrate`. While migrations are pending every call answers
//!   [`StoreError::SchemaOutdated`](loginguard_core::StoreError), unless the
//!   store was opened with `auto_migrate`.
//! - An attempt on several keys (several lockout criteria, or a password's
//!   spray key) is one statement: `lg_begin_all`, a PL/pgSQL function of
//!   migration 0003, runs the rules of [`loginguard_core::batch`] and
//!   [`loginguard_core::record`] on every key's row, atomic over all of
//!   them; settling an attempt is one more (`lg_release_all`). The rows are
//!   locked sorted by id, so attempts on overlapping keys never deadlock; a
//!   new key is inserted with `ON CONFLICT DO NOTHING` and, if another
//!   server inserted it first, taken again with its row. `tests/parity.rs`
//!   checks the functions against the Rust rules.
//! - An attempt on one key runs the Rust rules on its row instead, which
//!   costs the server less for a new key: one statement (`INSERT … ON
//!   CONFLICT DO NOTHING`, which otherwise returns the existing row); an
//!   existing key is then written back with `UPDATE … WHERE version = <the
//!   version read>`, reading again if another server wrote first; after a
//!   few lost races, one short transaction with `SELECT … FOR UPDATE`.
//! - Both are exact however many app servers and pools share the database.
//! - Every call is bounded by the store timeout (pool acquire, statement
//!   timeout and an overall limit); a dead server answers
//!   [`StoreError::Unavailable`](loginguard_core::StoreError) quickly and
//!   the pool reconnects by itself.
//!
//! ```no_run
//! # async fn demo() -> Result<(), loginguard_core::StoreError> {
//! use loginguard_core::Store;
//! use loginguard_postgres::{PostgresOptions, PostgresStore};
//!
//! let store = PostgresStore::connect(
//!     "postgres://app:secret@db.internal/app",
//!     PostgresOptions::new().schema("loginguard"),
//! )
//! .await?;
//! store.migrate().await?; // what `loginguard migrate` does
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod attempt;
mod audit;
mod error;
mod options;
mod schema;
mod store;

pub use error::PostgresStoreError;
pub use options::PostgresOptions;
pub use store::PostgresStore;

/// The database driver this store is built on.
pub use sqlx;
