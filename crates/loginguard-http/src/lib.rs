//! loginguard-http: the framework-neutral HTTP pieces of loginguard, on the
//! [`http`] crate's types, written once for every integration (the axum
//! layer, and whatever middleware, backend wrapper or proxy sits in front
//! of a login handler).
//!
//! - **The username in the body**: [`body_kind`] tells a form from JSON by
//!   `Content-Type`, [`read_field`] reads the username field strictly.
//! - **The attempt of a request**: [`attempt_of`] builds the engine's
//!   attempt from the peer address and the headers ([`HeaderLookup`]) by
//!   the client-IP rules ([`client_ip`]).
//! - **The login outcome**: [`OutcomeRules`] decide from the handler's
//!   response whether the attempt was a [`Success`](Outcome::Success), a
//!   [`Failure`](Outcome::Failure) or [`Neutral`](Outcome::Neutral) (given
//!   back); an explicit marker from the handler wins.
//! - **The responses loginguard writes**: the lockout response
//!   ([`lockout_response`], [`LockoutPages`]), negotiated between HTML and
//!   JSON by `Accept` ([`prefers_json`]), and the 400/413 for bad input
//!   ([`bad_input_response`]).
//!
//! An integration asks the engine ([`loginguard_core::Guard`]) once per
//! attempt, sends [`LockoutPages::respond`] for a refusal, calls the
//! handler otherwise, and settles the ticket with [`OutcomeRules::decide`]:
//!
//! ```
//! use http::{HeaderMap, StatusCode};
//! use loginguard_core::Policy;
//! use loginguard_http::{LoginResponse, Outcome, OutcomeRules};
//!
//! let policy = Policy::builder().failure_body_text(Some("Invalid credentials".into())).build().unwrap();
//! let rules = OutcomeRules::from_policy(&policy);
//! let headers = HeaderMap::new();
//! let body = b"<h1>Sign in</h1><p>Invalid credentials</p>";
//! let res = LoginResponse::new("/login", StatusCode::OK, &headers).body_start(body);
//! assert_eq!(rules.decide(&res), Outcome::Failure);
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod device;
mod fields;
mod handle;
mod negotiate;
mod outcome;
mod request;
mod response;

pub use device::{device_cookie, is_https, set_cookie_line, set_device_cookie};
pub use fields::{body_kind, credentials, form_field, json_field, read_field, BodyError, BodyKind};
pub use handle::{negotiation_headers, AttemptHandle};
pub use negotiate::prefers_json;
pub use outcome::{LoginResponse, Outcome, OutcomeRules, BODY_SNIFF_LIMIT};
pub use request::{
    attempt_of, client_ip, is_safe_method, user_agent, HeaderLookup, MAX_USER_AGENT_CHARS,
};
pub use response::{
    bad_input_response, bad_request, lockout_json, lockout_response, too_large, upstream_error,
    LockoutPages, UNAVAILABLE_RETRY_AFTER_SECS,
};

/// A header map of `pairs`, for the tests.
#[cfg(test)]
fn test_headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, http::HeaderValue::from_static(v));
    }
    h
}
