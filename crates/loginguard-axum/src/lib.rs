//! loginguard-axum: brute-force login protection for axum and any tower
//! server.
//!
//! # Telling success from failure
//!
//! The layer counts an attempt before your handler checks the password and
//! then learns from your handler's response whether the password was right.
//! That outcome decides everything, so it is never guessed in the
//! attacker's favour:
//!
//! - **A [`LoginOutcome`] in the response wins.** A handler that re-renders
//!   the login form with 200 on a wrong password must say so (or set
//!   `failure_body_text`), or every guess would count as a success:
//!
//! ```
//! use axum::{http::StatusCode, response::{Html, IntoResponse, Response}, Form};
//! use loginguard_axum::LoginOutcome;
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! async fn login(Form(f): Form<Login>) -> Response {
//!     if f.username == "alice" && f.password == "wonderland" {
//!         (StatusCode::OK, LoginOutcome::Success, Html("<p>Welcome!</p>")).into_response()
//!     } else {
//!         // The form again, with a message, and a 200:
//!         (LoginOutcome::Failure, Html("<form method=post>…<p>Wrong password</p></form>")).into_response()
//!     }
//! }
//! ```
//!
//! - **Otherwise the [`OutcomeRules`] decide**, in order: a status in
//!   `failure_statuses` (default 401, 403, 422) is a failure; a redirect
//!   whose `Location` points back at the login path itself, with any query
//!   (`303 /login?error=1`, as axum-login's examples, Rails and Passport
//!   answer a wrong password), is a failure, and so is one matching
//!   `failure_location`; 400, 429 and 5xx give the attempt back; a body
//!   whose first [`BODY_SNIFF_LIMIT`] bytes contain `failure_body_text` is
//!   a failure; any other 4xx is a failure; with `success_cookie`, only a
//!   response setting that cookie is a success, and with
//!   `success_statuses` only those statuses; every other 2xx and 3xx is a
//!   success. The rules come from the [`Policy`] (TOML, environment) or
//!   from code with [`LoginGuardLayer::outcome_rules`]. Only with
//!   `failure_body_text` is the response body read, and only its first
//!   [`BODY_SNIFF_LIMIT`] bytes; the rest streams through untouched.
//!
//! # What the layer does
//!
//! Wrap your login route in a [`LoginGuardLayer`]. For each guarded request
//! the layer
//!
//! 1. reads the username from the body (form-encoded or JSON field
//!    `username_field`, or your closure), capped at `body_limit` bytes, and
//!    hands the body on to the handler intact;
//! 2. resolves the client IP from [`ConnectInfo`](axum::extract::ConnectInfo)
//!    and, when the peer is one of `trusted_proxies`, the one header
//!    `client_ip_header` names, read from the right;
//! 3. asks the engine ([`Guard::begin`]) once, and answers a locked-out
//!    attempt with the lockout response **before** the handler runs, so no
//!    password is hashed and no user looked up;
//! 4. learns the outcome from the handler's response (above) and records
//!    it. The failure that reaches the limit is itself answered with the
//!    lockout response.
//!
//! When nothing needs the username to judge the attempt (no lockout
//! criterion uses it and the guard has no `allow_if` or
//! `failure_limit_with` hook: [`Guard::needs_username`]), steps 1 and 3
//! swap: the attempt is judged before the body is read, so a locked-out
//! client costs no body read, and the username is read afterwards for the
//! audit trail. Otherwise the body is read first and the hooks see the
//! username.
//!
//! # Examples
//!
//! ```no_run
//! use std::{net::SocketAddr, sync::Arc};
//! use axum::{http::StatusCode, routing::post, Form, Router};
//! use loginguard_axum::LoginGuardLayer;
//! use loginguard_core::{Guard, MemoryStore, Policy};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! async fn login(Form(f): Form<Login>) -> StatusCode {
//!     if f.username == "alice" && f.password == "wonderland" { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
//! let app = Router::new().route("/login", post(login).layer(LoginGuardLayer::new(guard)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
//! # }
//! ```
//!
//! # What each request meets
//!
//! - **Methods**: `GET`, `HEAD`, `OPTIONS` and `TRACE` pass through
//!   unguarded (showing the login form is not a login attempt) unless
//!   [`LoginGuardLayer::guard_safe_methods`] is on; then `never_lockout_get`
//!   applies.
//! - **Bad input**: a body over `body_limit` gets 413 (`Content-Length` is
//!   checked first) without being read; serve with a [`LingeringListener`]
//!   so that a client still uploading reads it instead of a reset
//!   connection. A username over `username_max_length`, not UTF-8, given
//!   twice, or a malformed JSON body gets 400 with a plain message. Such a
//!   request still counts as a failure on the keys that need no username
//!   (the IP criteria), and an IP that is locked out gets the lockout
//!   response instead. A body of any other content type is not read: the
//!   handler gets it untouched and the attempt is judged without a username.
//!   axum's `Form` and `Json` extractors refuse such bodies; a handler that
//!   parses a body whatever its `Content-Type` should read the username with
//!   [`LoginGuardLayer::username_with`], or username criteria miss it.
//! - **Client IP**: without [`ConnectInfo`](axum::extract::ConnectInfo) (the
//!   app was not served with `into_make_service_with_connect_info`, and no
//!   `MockConnectInfo` layer) the IP is unknown: IP criteria are not counted
//!   for that request and a warning is logged once. Serve with connect info.
//! - **Store down**: `on_store_error = "deny"` answers 503 with
//!   `Retry-After`; `"allow"` lets the attempt through uncounted.
//!
//! Handlers that want to drive the engine themselves take a
//! [`LoginGuardHandle`] instead of sitting behind the layer.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod body;
mod drain;
mod handle;
mod ip;
mod layer;
mod linger;
mod outcome;
mod protect;
mod response;
mod service;

pub use handle::{LoginGuardHandle, MissingGuard};
pub use ip::{attempt_from_parts, client_ip};
pub use layer::LoginGuardLayer;
pub use linger::{
    ConnectInfoListener, Lingering, LingeringListener, LINGER_BYTES, LINGER_IDLE, LINGER_TIME,
};
pub use loginguard_http::{prefers_json, Outcome, OutcomeRules, BODY_SNIFF_LIMIT};
pub use outcome::{default_outcome, LoginOutcome};
pub use response::{lockout_response, UNAVAILABLE_RETRY_AFTER_SECS};
pub use service::LoginGuard;

#[doc(no_inline)]
pub use loginguard_core::{Guard, Lockout, Policy};
