//! loginguard: brute-force login protection for Rust web applications.
//!
//! This crate gathers the loginguard crates behind features, so an
//! application adds one dependency:
//!
//! - everything of [`loginguard_core`] (the [`Policy`], the [`Guard`]
//!   engine, the [`Store`] trait, the [`MemoryStore`]) re-exported at the
//!   root;
//! - `sqlite` (default): [`sqlite::SqliteStore`], the embedded store;
//! - `axum` (default): [`axum::LoginGuardLayer`], the tower/axum layer that
//!   guards login routes;
//! - `actix`: `actix::LoginGuard`, the actix-web middleware that guards
//!   login routes;
//! - `axum-login`: [`axum_login::LoginGuardBackend`], the backend wrapper
//!   that guards any axum-login `AuthnBackend`;
//! - `http` (with `axum` or `actix`): [`http::OutcomeRules`] and the
//!   lockout response as `http` types, the pieces any other HTTP
//!   integration builds on;
//! - [`open_store`]: the store named by [`Config::store`], as the
//!   `loginguard` command and the demo open it.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use loginguard::{open_store, Config, Guard};
//!
//! let config = Config::load(None)?; // loginguard.toml if present, then LOGINGUARD_* variables
//! let store = open_store(&config).await?;
//! let guard = Guard::new(config.policy.clone(), store);
//! # let _ = guard;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod open;

#[doc(inline)]
pub use loginguard_core::*;

pub use open::{
    accepted_store_forms, open_store, open_store_with, OpenMode, MEMORY_AUDIT_CAPACITY,
};

/// The SQLite store (feature `sqlite`).
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
#[doc(inline)]
pub use loginguard_sqlite as sqlite;

/// The PostgreSQL store and audit log (feature `postgres`).
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[doc(inline)]
pub use loginguard_postgres as postgres;

/// The Redis store, single node or Cluster (feature `redis`).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(inline)]
pub use loginguard_redis as redis;

/// The tower/axum layer (feature `axum`).
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[doc(inline)]
pub use loginguard_axum as axum;

/// The actix-web middleware (feature `actix`).
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
#[doc(inline)]
pub use loginguard_actix as actix;
/// The axum-login backend wrapper (feature `axum-login`).
#[cfg(feature = "axum-login")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum-login")))]
#[doc(inline)]
pub use loginguard_axum_login as axum_login;

/// The framework-neutral HTTP pieces: outcome rules, username field,
/// lockout response (feature `http`).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use loginguard_http as http;
