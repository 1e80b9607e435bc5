//! [`LoginGuardError`]: what [`LoginGuardBackend`](crate::LoginGuardBackend)
//! answers besides the inner backend's own errors — a refusal carrying
//! loginguard's lockout response, or an unusable username — and
//! [`error_response`], which turns axum-login's error into a response.

use std::fmt;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use loginguard_core::Lockout;

use crate::backend::LoginGuardBackend;

/// A refused login: the lockout, and the response to send for it
/// (`lockout_status`, `Retry-After`, HTML or JSON by `Accept`, as the axum
/// layer sends it).
#[derive(Debug)]
pub struct Refusal {
    lockout: Lockout,
    response: http::Response<Bytes>,
}

impl Refusal {
    pub(crate) fn new(lockout: Lockout, response: http::Response<Bytes>) -> Refusal {
        Refusal { lockout, response }
    }

    /// Why and until when.
    pub fn lockout(&self) -> &Lockout {
        &self.lockout
    }

    /// The lockout response, as loginguard renders it.
    pub fn into_response(self) -> Response {
        self.response.map(Body::from)
    }
}

/// An unusable username (over `username_max_length`, control characters,
/// not UTF-8 in the request): the reason and the 400 to send.
#[derive(Debug)]
pub struct BadUsername {
    reason: String,
    response: http::Response<Bytes>,
}

impl BadUsername {
    pub(crate) fn new(reason: String, response: http::Response<Bytes>) -> BadUsername {
        BadUsername { reason, response }
    }

    /// The reason, e.g. "username is longer than 256 characters".
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for BadUsername {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The error of [`LoginGuardBackend`]: a refusal, bad input, or the inner
/// backend's error `E`. Its [`IntoResponse`] sends the lockout response, a
/// 400, or a plain 500 (the inner error is logged, never shown).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginGuardError<E> {
    /// The attempt is locked out (or the IP denied, or the store down with
    /// `on_store_error = "deny"`): answer with [`Refusal::into_response`].
    /// No password was checked, unless this very failure reached the limit.
    #[error("login refused by loginguard ({:?}): answer with the lockout response", .0.lockout.reason)]
    LockedOut(Refusal),
    /// The username cannot be used: answer 400. The inner backend was not
    /// called and nothing was counted.
    #[error("unusable username: {0}")]
    BadUsername(BadUsername),
    /// The inner backend failed; the attempt was given back.
    #[error(transparent)]
    Backend(E),
}

impl<E: std::error::Error> IntoResponse for LoginGuardError<E> {
    fn into_response(self) -> Response {
        match self {
            LoginGuardError::LockedOut(refusal) => refusal.into_response(),
            LoginGuardError::BadUsername(bad) => bad.response.map(Body::from),
            LoginGuardError::Backend(e) => {
                tracing::error!(target: "loginguard", error = %e, "login backend failed");
                internal_error()
            }
        }
    }
}

/// The response for an error of `AuthSession::authenticate` (or `login`)
/// over a [`LoginGuardBackend`]: the lockout response for a refusal, 400
/// for an unusable username, a plain 500 for a session or backend fault
/// (logged). Use it in the `Err` arm of the login handler:
///
/// ```ignore
/// let user = match auth_session.authenticate(context.with(creds)).await {
///     Ok(Some(user)) => user,
///     Ok(None) => return Redirect::to("/login?error=1").into_response(),
///     Err(e) => return loginguard_axum_login::error_response(e),
/// };
/// ```
pub fn error_response<B>(error: axum_login::Error<LoginGuardBackend<B>>) -> Response
where
    B: axum_login::AuthnBackend,
    B::Credentials: crate::LoginCredentials,
{
    match error {
        axum_login::Error::Backend(e) => e.into_response(),
        axum_login::Error::Session(e) => {
            tracing::error!(target: "loginguard", error = %e, "session store failed during login");
            internal_error()
        }
    }
}

fn internal_error() -> Response {
    let mut res = Response::new(Body::from("Internal server error"));
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
