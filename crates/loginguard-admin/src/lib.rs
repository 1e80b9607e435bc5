//! loginguard-admin: the operator's web UI, its JSON API, and Prometheus
//! metrics.
//!
//! [`router`] returns an axum [`Router`] that an application
//! mounts under a path of its choice; `loginguard admin` serves the same
//! router on its own (see [`server`]). It works with any
//! [`Store`](loginguard_core::Store): locked keys, unlock, the failure and
//! access logs (when the store keeps an audit log), and the effective policy.
//!
//! - **Sign-in**: the admin password is checked against
//!   `admin_password_hash` (an argon2 PHC string, made by
//!   `loginguard admin --hash-password`). Wrong passwords are counted by a
//!   [`Guard`](loginguard_core::Guard) of scope `admin` on the same store, so
//!   they are locked out like any other login. Without a hash the UI is closed.
//! - **Sessions**: a random id in an `HttpOnly`, `SameSite=Strict` cookie
//!   whose `Path` is the mount path; every form that changes state carries a
//!   per-session CSRF token.
//! - **JSON API** under `api/`, authenticated by
//!   `Authorization: Bearer <admin_token>`.
//! - **Metrics**: [`metrics::render`] and [`metrics::route`] expose a guard's
//!   counters in the Prometheus text format.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use axum::Router;
//! use loginguard_core::{Config, MemoryStore, Store};
//!
//! let config = Config::load(None)?;
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new().with_audit_log(10_000));
//! let admin = loginguard_admin::AdminState::from_config(&config, store)?;
//! let app: Router = Router::new().nest("/admin", loginguard_admin::router(admin));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(
//!     listener,
//!     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod auth;
mod chart;
mod ctx;
mod error;
pub mod metrics;
mod pages;
mod password;
pub mod server;
mod session;
mod state;

pub use error::AdminError;
pub use password::hash_password;
pub use state::{AdminBuilder, AdminState, DEFAULT_ADMIN_COOL_OFF};

use axum::routing::{get, post};
use axum::Router;

/// The admin UI and its JSON API as a router, to be mounted with
/// [`Router::nest`] (links, form actions and the session cookie follow the
/// mount path) or served as is.
///
/// Give the server `ConnectInfo<SocketAddr>`
/// (`into_make_service_with_connect_info`) so wrong admin passwords are
/// counted per client IP; without it every client shares one counter.
pub fn router<S>(state: AdminState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/locked", get(pages::locked::page))
        .route("/unlock", post(pages::locked::unlock))
        .route("/unlock-all", post(pages::locked::unlock_all))
        .route("/failures", get(pages::logs::failures))
        .route("/access", get(pages::logs::access))
        .route("/policy", get(pages::policy::page))
        .route("/signin", get(auth::signin_form).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route("/style.css", get(pages::layout::stylesheet))
        .route("/api/locked", get(api::locked))
        .route("/api/logs", get(api::logs))
        .route("/api/unlock", post(api::unlock))
        .route("/api/policy", get(api::policy))
        .layer(axum::middleware::map_response(
            pages::layout::security_headers,
        ))
        .with_state(state)
}
