//! Who may use the admin UI: the sign-in form (guarded by loginguard
//! itself), the session extractor every page uses, CSRF checks, and the
//! bearer token of the JSON API.

use std::net::{IpAddr, Ipv4Addr};

use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use loginguard_core::{Attempt, Decision, Guard, Lockout, Verdict};
use serde::Deserialize;

use crate::ctx;
use crate::pages;
use crate::session::{self, COOKIE};
use crate::state::AdminState;

/// A signed-in administrator: every page handler takes one. Without a live
/// session the request is redirected (303) to the sign-in page; when the UI
/// is closed it gets the "closed" page.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    /// The mount path.
    pub(crate) base: String,
    /// The session's CSRF token, for the forms of the page.
    pub(crate) csrf: String,
}

impl Admin {
    /// The refusal (403) of a form whose CSRF token is missing or wrong;
    /// `None` when the token is right.
    pub(crate) fn csrf_refusal(&self, token: Option<&str>) -> Option<Response> {
        match token {
            Some(t) if session::secrets_equal(t, &self.csrf) => None,
            _ => Some(pages::layout::message_page(
                StatusCode::FORBIDDEN,
                &self.base,
                "Request refused",
                "The form's security token is missing or out of date. Go back, reload the page and try again.",
            )),
        }
    }
}

impl FromRequestParts<AdminState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let base = ctx::base_path(state, parts);
        if !state.is_open() {
            return Err(pages::layout::closed_page(&base));
        }
        let csrf =
            session::cookie(&parts.headers, COOKIE).and_then(|id| state.sessions().touch(id));
        match csrf {
            Some(csrf) => Ok(Admin { base, csrf }),
            None => Err(Redirect::to(&ctx::url(&base, "/signin")).into_response()),
        }
    }
}

/// The mount path of an unauthenticated request.
#[derive(Debug, Clone)]
pub(crate) struct Base(pub(crate) String);

impl FromRequestParts<AdminState> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Base(ctx::base_path(state, parts)))
    }
}

/// What the sign-in handler needs of the request besides its form.
#[derive(Debug, Clone)]
pub(crate) struct SigninRequest {
    base: String,
    attempt: Attempt,
}

impl FromRequestParts<AdminState> for SigninRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        Ok(SigninRequest {
            base: ctx::base_path(state, parts),
            attempt: attempt(state, parts),
        })
    }
}

/// The attempt of an admin sign-in, built as the layer builds it. Without
/// connect info the IP counts as `0.0.0.0`, so wrong passwords are still
/// counted (on one shared key) rather than not at all.
fn attempt(state: &AdminState, parts: &Parts) -> Attempt {
    let attempt = loginguard_axum::attempt_from_parts(parts, state.resolver());
    match attempt.ip {
        Some(_) => attempt,
        None => attempt.ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
    }
}

/// `GET signin`: the sign-in form.
pub(crate) async fn signin_form(State(state): State<AdminState>, Base(base): Base) -> Response {
    if !state.is_open() {
        return pages::layout::closed_page(&base);
    }
    pages::signin::page(StatusCode::OK, &base, None)
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct SigninForm {
    #[serde(default)]
    password: String,
}

/// `POST signin`: checks the password (after asking the admin guard), and
/// starts a session.
pub(crate) async fn signin(
    State(state): State<AdminState>,
    req: SigninRequest,
    form: Result<Form<SigninForm>, FormRejection>,
) -> Response {
    let base = req.base;
    if !state.is_open() {
        return pages::layout::closed_page(&base);
    }
    let guard = state.signin_guard();
    let ticket = match guard.begin(req.attempt).await {
        Ok(Decision::Proceed(ticket)) => ticket,
        Ok(Decision::Refused(lockout)) => return locked_page(&base, &lockout),
        Err(e) => return pages::signin::page(StatusCode::BAD_REQUEST, &base, Some(&e.to_string())),
    };
    let password = form.map(|Form(f)| f.password).unwrap_or_default();
    let hash = state.password_hash().unwrap_or_default().to_owned();
    let ok = !password.is_empty()
        && tokio::task::spawn_blocking(move || crate::password::verify(&hash, &password))
            .await
            .unwrap_or(false);
    if ok {
        guard.success(ticket).await;
        let id = state.sessions().create();
        let cookie = session::set_cookie(
            &id,
            ctx::cookie_path(&base),
            state.secure_cookie(),
            state.sessions().idle(),
        );
        tracing::info!(target: "loginguard::admin", "administrator signed in");
        let mut response = Redirect::to(&ctx::url(&base, "/")).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return response;
    }
    match guard.failure(ticket).await {
        Verdict::LockedOut(lockout) => locked_page(&base, &lockout),
        Verdict::Allowed { remaining } => {
            let message = match remaining {
                Some(n) => format!(
                    "Wrong password. {n} {} left before this address is locked out.",
                    if n == 1 { "try" } else { "tries" }
                ),
                None => "Wrong password.".to_owned(),
            };
            pages::signin::page(StatusCode::UNAUTHORIZED, &base, Some(&message))
        }
        _ => pages::signin::page(StatusCode::UNAUTHORIZED, &base, Some("Wrong password.")),
    }
}

/// The answer to a locked-out admin: 429, `Retry-After`, the policy's message.
fn locked_page(base: &str, lockout: &Lockout) -> Response {
    let mut response =
        pages::signin::page(StatusCode::TOO_MANY_REQUESTS, base, Some(&lockout.message));
    add_retry_after(&mut response, lockout);
    response
}

fn add_retry_after(response: &mut Response, lockout: &Lockout) {
    if let Some(secs) = lockout.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

/// The sign-out form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: Option<String>,
}

/// `POST signout`: ends the session (CSRF-checked).
pub(crate) async fn signout(
    State(state): State<AdminState>,
    admin: Admin,
    parts: SessionId,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let token = form.as_ref().ok().and_then(|Form(f)| f.csrf.as_deref());
    if let Some(refused) = admin.csrf_refusal(token) {
        return refused;
    }
    if let Some(id) = parts.0 {
        state.sessions().remove(&id);
    }
    let mut response = Redirect::to(&ctx::url(&admin.base, "/signin")).into_response();
    let cookie = session::clear_cookie(ctx::cookie_path(&admin.base), state.secure_cookie());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The session id from the cookie, if any.
#[derive(Debug, Clone)]
pub(crate) struct SessionId(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(SessionId(
            session::cookie(&parts.headers, COOKIE).map(str::to_owned),
        ))
    }
}

/// A JSON API caller holding the bearer token. A missing token is a 401; a
/// wrong one is counted by the admin guard (401, then 429 once locked).
#[derive(Debug, Clone)]
pub(crate) struct ApiCaller;

impl FromRequestParts<AdminState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.token() else {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                "api_closed",
                "the admin API is closed: set admin_token (LOGINGUARD_ADMIN_TOKEN)",
            ));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(given) = given else {
            return Err(unauthorized("send Authorization: Bearer <admin_token>"));
        };
        let guard: &Guard = state.api_guard();
        let ticket = match guard.begin(attempt(state, parts)).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => return Err(api_locked(guard, &lockout)),
            Err(_) => return Err(unauthorized("wrong token")),
        };
        if session::secrets_equal(given, expected) {
            guard.success(ticket).await;
            return Ok(ApiCaller);
        }
        match guard.failure(ticket).await {
            Verdict::LockedOut(lockout) => Err(api_locked(guard, &lockout)),
            _ => Err(unauthorized("wrong token")),
        }
    }
}

/// A JSON error body `{"error": code, "message": text}`.
pub(crate) fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

fn unauthorized(message: &str) -> Response {
    let mut r = api_error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// The layer's JSON lockout response.
fn api_locked(guard: &Guard, lockout: &Lockout) -> Response {
    loginguard_http::lockout_json(guard.policy(), lockout).map(Body::from)
}
