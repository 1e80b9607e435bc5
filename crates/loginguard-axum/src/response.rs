//! The responses the layer writes itself — the lockout response, 503 when
//! the store is down, 400/413 for bad input — as axum responses. The bytes
//! are [`loginguard_http`]'s, the same for every integration.

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use loginguard_core::{Lockout, Policy};
use loginguard_http::{BodyError, LockoutPages};

pub use loginguard_http::UNAVAILABLE_RETRY_AFTER_SECS;

/// The response to a refused attempt, as the layer sends it; handlers
/// that drive the engine themselves send it too
/// ([`LoginGuardHandle::lockout_response`](crate::LoginGuardHandle::lockout_response)).
///
/// - a lock, a deny-listed or a not-allow-listed IP: `lockout_status` (429
///   by default) with `Retry-After` (seconds left, rounded up) when the lock
///   ends by itself, an HTML page, or JSON
///   `{"error":"locked_out","retry_after":N,"message":"…"}` (`retry_after`
///   is `null` without an end) when [`prefers_json`](crate::prefers_json);
///   or a 303 redirect to `lockout_url` when that is set;
/// - a store that cannot answer (`on_store_error = "deny"`): 503 with
///   `Retry-After: 5` and `"error":"unavailable"`.
///
/// The same as [`loginguard_http::lockout_response`], as an axum response.
pub fn lockout_response(
    policy: &Policy,
    lockout: &Lockout,
    request_headers: &HeaderMap,
) -> Response {
    loginguard_http::lockout_response(policy, lockout, request_headers).map(Body::from)
}

/// [`lockout_response`] from the pages the layer rendered once.
pub(crate) fn respond(
    policy: &Policy,
    lockout: &Lockout,
    request_headers: &HeaderMap,
    pages: &LockoutPages,
) -> Response {
    pages
        .respond(policy, lockout, request_headers)
        .map(Body::from)
}

/// 400 or 413 for bad input.
pub(crate) fn bad_input(error: &BodyError, request_headers: &HeaderMap) -> Response {
    loginguard_http::bad_input_response(error, request_headers).map(Body::from)
}
