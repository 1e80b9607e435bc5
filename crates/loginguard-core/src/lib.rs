//! loginguard-core: brute-force login protection without a web framework.
//!
//! - [`Policy`]: every setting, built in code or loaded by [`Config`] from
//!   TOML and `LOGINGUARD_*` environment variables.
//! - [`Guard`]: the engine. [`Guard::begin`] before the password check,
//!   [`Guard::success`] / [`Guard::failure`] after.
//! - [`Store`]: where counts and locks live; [`MemoryStore`] here, SQLite,
//!   PostgreSQL and Redis in their own crates. The per-key rules every store
//!   applies are the pure functions of [`record`].
//! - [`Event`]s and [`Metrics`] for observers; [`Clock`] for tests.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use loginguard_core::{Attempt, Decision, Guard, MemoryStore, Policy};
//!
//! let policy = Policy::builder().failure_limit(5).build().unwrap();
//! let guard = Guard::new(policy, Arc::new(MemoryStore::new()));
//! let attempt = Attempt::new("POST", "/login")
//!     .ip("198.51.100.4".parse().unwrap())
//!     .username("alice");
//! match guard.begin(attempt).await.unwrap() {
//!     Decision::Proceed(ticket) => {
//!         let password_ok = false; // check it here
//!         if password_ok { guard.success(ticket).await } else { let _ = guard.failure(ticket).await; }
//!     }
//!     Decision::Refused(lockout) => println!("{}", lockout.message),
//! }
//! # });
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
pub mod batch;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod device;
pub mod events;
pub mod guard;
pub mod key;
pub mod memory;
pub mod policy;
pub mod record;
pub mod schema;
pub mod secret;
pub mod seen;
pub mod settings;
pub mod store;
pub mod stored;
pub mod username;

pub use audit::{AuditEntry, AuditKind, AuditLog, LogQuery, LogRetention};
pub use batch::{Begun, KeyRelease, KeyStep};
pub use client_ip::ClientIpResolver;
pub use clock::{Clock, FakeClock, SystemClock};
pub use config::{Config, ProxyTable, DEFAULT_CONFIG_FILE, DEFAULT_STORE};
pub use events::{Event, Metrics, MetricsSnapshot};
pub use guard::{
    Attempt, AttemptError, Decision, DeviceCookie, Guard, GuardBuilder, LockReason, Lockout,
    Password, Ticket, Verdict, PURGE_INTERVAL,
};
pub use key::{Field, Key, KeyFilter, KeyParseError};
pub use memory::MemoryStore;
pub use policy::{Criterion, OnStoreError, Origin, Policy, PolicyBuilder, PolicyError};
pub use record::{KeyVerdict, Limits};
pub use secret::{Secret, SecretError};
pub use store::{KeyStatus, ListQuery, Store, StoreError, StoreHealth};
pub use username::UsernameError;

/// Formats an error with its whole `source()` chain: `a: b: c`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
