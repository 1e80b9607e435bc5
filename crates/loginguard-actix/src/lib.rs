//! loginguard-actix: brute-force login protection for actix-web 4.
//!
//! Wrap a login resource in [`LoginGuard`]. For each guarded request the
//! middleware
//!
//! 1. reads the username from the body (form-encoded or JSON field
//!    `username_field`, or your closure), capped at `body_limit` bytes, and
//!    hands the body on to the handler intact;
//! 2. resolves the client IP from the socket peer and, behind
//!    `trusted_proxies`, the forwarding headers;
//! 3. asks the engine ([`Guard::begin`]) once, and answers a locked-out
//!    attempt with the lockout response **before** the handler runs;
//! 4. learns the outcome from the handler's response and records it: a
//!    [`LoginOutcome`] on the response wins, else the [`OutcomeRules`]
//!    decide (the same rules, in the same order, as the axum layer's). The
//!    failure that reaches the limit is itself answered with the lockout
//!    response.
//!
//! When nothing needs the username to judge ([`Guard::needs_username`]),
//! steps 1 and 3 swap: a locked-out client costs no body read.
//!
//! The lockout response (429, `Retry-After`, HTML or JSON by `Accept`), the
//! 503 of a store that is down and the 400/413 for bad input are the bytes
//! of [`loginguard_http`], the same for every integration. Bad input never
//! reaches the handler; it counts as a failure on the keys that need no
//! username. `GET`, `HEAD`, `OPTIONS` and `TRACE` pass through unguarded
//! unless [`LoginGuard::guard_safe_methods`] is on.
//!
//! # Examples
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use loginguard_actix::LoginGuard;
//! use loginguard_core::{Guard, MemoryStore, Policy};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! async fn login(f: web::Form<Login>) -> HttpResponse {
//!     if f.username == "alice" && f.password == "wonderland" {
//!         HttpResponse::Ok().body("Welcome!")
//!     } else {
//!         HttpResponse::Unauthorized().body("Wrong username or password")
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
//! HttpServer::new(move || {
//!     App::new().service(
//!         web::resource("/login")
//!             .wrap(LoginGuard::new(guard.clone()))
//!             .route(web::post().to(login)),
//!     )
//! })
//! .bind("127.0.0.1:8000")?
//! .run()
//! .await
//! # }
//! ```
//!
//! Handlers that drive the engine themselves take a [`LoginGuardHandle`]
//! instead of sitting behind the middleware.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod body;
mod edge;
mod handle;
mod ip;
mod middleware;
mod outcome;
mod service;

pub use handle::{LoginGuardHandle, MissingGuard};
pub use ip::attempt_of;
pub use loginguard_http::{prefers_json, Outcome, OutcomeRules, BODY_SNIFF_LIMIT};
pub use middleware::LoginGuard;
pub use outcome::{LoginOutcome, Marked};
pub use service::LoginGuardMiddleware;

#[doc(no_inline)]
pub use loginguard_core::{Guard, Lockout, Policy};
