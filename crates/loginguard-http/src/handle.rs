//! The engine plus one request's attempt, for handlers that call the
//! engine themselves: the framework-neutral core of each integration's
//! `LoginGuardHandle` extractor.

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response};
use loginguard_core::{Attempt, AttemptError, Decision, Guard, Lockout, Ticket, Verdict};

use crate::request::HeaderLookup;
use crate::response::lockout_response;

/// The request headers that choose between an HTML and a JSON answer
/// (`Accept`, `Content-Type`), copied into an `http` map.
pub fn negotiation_headers(headers: &impl HeaderLookup) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in [header::ACCEPT, header::CONTENT_TYPE] {
        for value in headers.values(name.as_str()) {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                out.append(name.clone(), value);
            }
        }
    }
    out
}

/// The engine, this request's attempt (IP, user agent, method, path; no
/// username yet) and what its answers are negotiated with.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use http::HeaderMap;
/// use loginguard_core::{Attempt, Decision, Guard, MemoryStore, Policy};
/// use loginguard_http::AttemptHandle;
///
/// let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
/// let attempt = Attempt::new("POST", "/login").ip("192.0.2.1".parse().unwrap());
/// let handle = AttemptHandle::new(guard, attempt, &HeaderMap::new());
/// let Ok(Decision::Proceed(ticket)) = handle.begin(Some("alice")).await else { unreachable!() };
/// handle.success(ticket).await;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct AttemptHandle {
    guard: Arc<Guard>,
    attempt: Attempt,
    negotiation: HeaderMap,
}

impl AttemptHandle {
    /// The handle of a request with `attempt`, whose headers are
    /// `request_headers`.
    pub fn new(guard: Arc<Guard>, attempt: Attempt, request_headers: &impl HeaderLookup) -> Self {
        AttemptHandle {
            guard,
            attempt,
            negotiation: negotiation_headers(request_headers),
        }
    }

    /// The engine.
    pub fn guard(&self) -> &Arc<Guard> {
        &self.guard
    }

    /// This request's attempt, without a username.
    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    /// [`Guard::begin`] for this request with `username` (trimmed and
    /// checked; an error deserves a 400). Settle a `Proceed` ticket with
    /// [`success`](Self::success) or [`failure`](Self::failure).
    pub async fn begin(&self, username: Option<&str>) -> Result<Decision, AttemptError> {
        let mut attempt = self.attempt.clone();
        if let Some(name) = username {
            attempt = attempt.username(name);
        }
        self.guard.begin(attempt).await
    }

    /// The password was right.
    pub async fn success(&self, ticket: Ticket) {
        self.guard.success(ticket).await;
    }

    /// The password was wrong; answer [`Verdict::LockedOut`] with
    /// [`lockout_response`](Self::lockout_response).
    pub async fn failure(&self, ticket: Ticket) -> Verdict {
        self.guard.failure(ticket).await
    }

    /// The lockout response for `lockout`, negotiated with this request's
    /// `Accept` header.
    pub fn lockout_response(&self, lockout: &Lockout) -> Response<Bytes> {
        lockout_response(self.guard.policy(), lockout, &self.negotiation)
    }
}
