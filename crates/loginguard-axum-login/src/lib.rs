//! loginguard-axum-login: brute-force login protection for
//! [axum-login](axum_login), where the outcome of every login is known
//! for certain.
//!
//! [`LoginGuardBackend`] wraps your `AuthnBackend` (as django-axes'
//! `AxesBackend` goes first in Django's authentication backends): each
//! `authenticate` call is judged and counted before your backend checks
//! the password, a locked-out attempt never reaches it, `Ok(Some(_))` is a
//! success, `Ok(None)` a failure, and an `Err` gives the attempt back. No
//! outcome rules, no guessing from status codes.
//!
//! `authenticate` sees no request, so the login handler extracts a
//! [`LoginContext`] (client IP with loginguard's rules, user agent, method,
//! path) and sends it with the credentials ([`LoginContext::with`]). A
//! refusal comes back as [`LoginGuardError::LockedOut`]; with
//! [`RefusalLayer`] on the router the client gets loginguard's lockout
//! response (429, `Retry-After`, HTML or JSON by `Accept`, the same bytes
//! for existing and unknown users) whatever the handler answers to the
//! error, so the handler stays as axum-login's examples write it.
//! Without the layer, [`error_response`] turns the error into that
//! response.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{response::{IntoResponse, Redirect, Response}, routing::post, Form, Router};
//! use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
//! use axum_login::tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};
//! use loginguard_axum_login::{error_response, LoginContext, LoginCredentials, LoginGuardBackend};
//! use loginguard_core::{Guard, MemoryStore, Policy};
//!
//! # #[derive(Debug, Clone)] struct User;
//! # impl AuthUser for User { type Id = i64; fn id(&self) -> i64 { 1 } fn session_auth_hash(&self) -> &[u8] { b"" } }
//! #[derive(Clone, serde::Deserialize)]
//! struct Credentials { username: String, password: String }
//!
//! // Tells loginguard the username, for the username criteria:
//! impl LoginCredentials for Credentials {
//!     fn username(&self) -> Option<&str> { Some(&self.username) }
//! }
//!
//! # #[derive(Clone)] struct Backend;
//! # impl AuthnBackend for Backend {
//! #     type User = User; type Credentials = Credentials; type Error = std::convert::Infallible;
//! #     async fn authenticate(&self, c: Credentials) -> Result<Option<User>, Self::Error> {
//! #         Ok((c.username == "alice" && c.password == "wonderland").then_some(User)) }
//! #     async fn get_user(&self, _: &UserId<Self>) -> Result<Option<User>, Self::Error> { Ok(Some(User)) }
//! # }
//! type Auth = AuthSession<LoginGuardBackend<Backend>>;
//!
//! async fn login(mut auth: Auth, context: LoginContext, Form(creds): Form<Credentials>) -> Response {
//!     let user = match auth.authenticate(context.with(creds)).await {
//!         Ok(Some(user)) => user,
//!         Ok(None) => return Redirect::to("/login?error=1").into_response(),
//!         Err(e) => return error_response(e), // the lockout response when refused
//!     };
//!     if let Err(e) = auth.login(&user).await {
//!         return error_response(e);
//!     }
//!     Redirect::to("/").into_response()
//! }
//!
//! let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
//! let backend = LoginGuardBackend::new(Backend, guard);
//! let sessions = SessionManagerLayer::new(Sessions::default());
//! let app: Router = Router::new()
//!     .route("/login", post(login))
//!     .layer(AuthManagerLayerBuilder::new(backend, sessions).build());
//! ```
//!
//! Serve the app with `into_make_service_with_connect_info::<SocketAddr>()`:
//! without the socket address the client IP is unknown and IP criteria
//! are not counted.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod answer;
mod backend;
mod context;
mod credentials;
mod error;

pub use answer::{RefusalLayer, RefusalService};
pub use backend::LoginGuardBackend;
pub use context::LoginContext;
pub use credentials::{Guarded, LoginCredentials};
pub use error::{error_response, BadUsername, LoginGuardError, Refusal};
