//! The demo's routes: `/`, `/login` (guarded), `/logout`, `/healthz`, a
//! page for any other path, and the demo's own lockout page.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use loginguard_axum::LoginGuardLayer;
use loginguard_core::{Lockout, Policy};

use crate::pages;
use crate::sessions::Sessions;
use crate::users::Users;

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) users: Arc<Users>,
    pub(crate) sessions: Sessions,
    pub(crate) policy: Policy,
}

/// The demo app; `guard` wraps `POST /login`.
pub(crate) fn router(state: Arc<AppState>, guard: LoginGuardLayer) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login).layer(guard))
        .route("/logout", post(logout))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(state)
}

/// loginguard's lockout response (status, `Retry-After`, JSON or redirect
/// as configured) with the demo's page in place of the plain HTML one.
pub(crate) fn lockout_response(
    policy: &Policy,
    lockout: &Lockout,
    headers: &HeaderMap,
) -> Response {
    let res = loginguard_axum::lockout_response(policy, lockout, headers);
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return res;
    }
    let (parts, _) = res.into_parts();
    Response::from_parts(parts, Body::from(pages::refused(lockout)))
}

async fn not_found() -> (StatusCode, Html<String>) {
    (
        StatusCode::NOT_FOUND,
        Html(pages::problem(
            "Page not found",
            "There is no page at this address.",
            "The demo has a home page and a login form.",
        )),
    )
}

/// A 4xx for the login form: JSON for a JSON request, else the demo's page.
fn bad_login(status: StatusCode, json: bool, title: &str, message: &str) -> Response {
    if json {
        let code = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            "unsupported_media_type"
        } else {
            "bad_request"
        };
        let body = serde_json::json!({ "error": code, "message": message });
        return (status, Json(body)).into_response();
    }
    let page = pages::problem(title, message, "Fill in the form and send it again.");
    (status, Html(page)).into_response()
}

async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Html<String> {
    Html(pages::home(state.sessions.user(&headers).as_deref()))
}

async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Html<String> {
    Html(pages::login_form(
        None,
        state.sessions.user(&headers).as_deref(),
    ))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let cookie = state.sessions.close(&headers);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/")),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Whether the request's `Content-Type` is `mime` (parameters allowed).
fn content_type_is(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with(mime))
}

/// `POST /login`: 200 and a session cookie for the right password, 401
/// otherwise (the layer turns a locked attempt into 429 before this runs).
async fn login(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let json = content_type_is(&headers, "application/json");
    let parsed: Result<Credentials, String> = if json {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    } else if content_type_is(&headers, "application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    } else {
        return bad_login(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            false,
            "Unsupported request",
            "Send the login as application/x-www-form-urlencoded or application/json.",
        );
    };
    let credentials = match parsed {
        Ok(c) => c,
        Err(e) => {
            return bad_login(
                StatusCode::BAD_REQUEST,
                json,
                "Bad request",
                &format!("Expected a username and a password: {e}"),
            )
        }
    };
    // The same normalisation loginguard counts with.
    let username = match state.policy.normalize_username(&credentials.username) {
        Ok(name) => name,
        Err(e) => {
            return bad_login(
                StatusCode::BAD_REQUEST,
                json,
                "Bad request",
                &format!("{e}"),
            )
        }
    };
    let ok = state
        .users
        .verify_blocking(username.clone(), credentials.password)
        .await;
    match (ok, json) {
        (true, true) => {
            let cookie = state.sessions.open(&username);
            let body = serde_json::json!({ "ok": true, "username": username });
            ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
        }
        (true, false) => {
            let cookie = state.sessions.open(&username);
            (
                [(header::SET_COOKIE, cookie)],
                Html(pages::welcome(&username)),
            )
                .into_response()
        }
        (false, true) => {
            let body = serde_json::json!({ "error": "invalid_credentials", "message": "wrong username or password" });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
        (false, false) => {
            let page = pages::login_form(Some("Wrong username or password."), None);
            (StatusCode::UNAUTHORIZED, Html(page)).into_response()
        }
    }
}
