//! The responses loginguard writes itself, as `http` types: the lockout
//! response (HTML, JSON or a redirect), 503 when the store is down, and
//! 400/413 for bad input. Every integration sends these same bytes.
//!
//! None of them mentions the username or whether it exists: a locked-out
//! attempt on an unknown user gets the very same bytes as one on a real user.
//!
//! ```
//! use http::{header, HeaderMap, StatusCode};
//! use loginguard_core::Policy;
//! use loginguard_http::LockoutPages;
//!
//! let policy = Policy::default();
//! let pages = LockoutPages::new(&policy); // once, at start-up
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! # use std::sync::Arc;
//! # use loginguard_core::{Attempt, Decision, Guard, MemoryStore};
//! # let denied = Policy::builder().deny_list(vec!["203.0.113.9/32".parse().unwrap()]).build().unwrap();
//! # let guard = Guard::new(denied, Arc::new(MemoryStore::new()));
//! # let attempt = Attempt::new("POST", "/login").ip("203.0.113.9".parse().unwrap());
//! # let Ok(Decision::Refused(lockout)) = guard.begin(attempt).await else { unreachable!() };
//! let mut request_headers = HeaderMap::new();
//! request_headers.insert(header::ACCEPT, "application/json".parse().unwrap());
//! let res = pages.respond(&policy, &lockout, &request_headers);
//! assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
//! # });
//! ```

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use loginguard_core::{LockReason, Lockout, Policy};
use parking_lot::Mutex;

use crate::fields::BodyError;
use crate::negotiate::prefers_json;

/// The `Retry-After` (seconds) sent with a 503 when the store cannot answer
/// and `on_store_error = "deny"`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The response to a refused attempt, as the layer sends it.
///
/// - a lock, a deny-listed or a not-allow-listed IP: `lockout_status` (429
///   by default) with `Retry-After` (seconds left, rounded up) when the lock
///   ends by itself, an HTML page, or JSON
///   `{"error":"locked_out","retry_after":N,"message":"…"}` (`retry_after`
///   is `null` without an end) when [`prefers_json`]; or a 303 redirect to
///   `lockout_url` when that is set;
/// - a store that cannot answer (`on_store_error = "deny"`): 503 with
///   `Retry-After: 5` and `"error":"unavailable"`.
///
/// Every response has `Cache-Control: no-store`. [`LockoutPages::respond`]
/// gives the same bytes, rendered once.
pub fn lockout_response(
    policy: &Policy,
    lockout: &Lockout,
    request_headers: &HeaderMap,
) -> Response<Bytes> {
    respond(policy, lockout, Answer::of(request_headers), None)
}

/// The JSON lockout response whatever the request accepts, and never a
/// redirect: for JSON APIs (the admin API) that always answer JSON.
/// Same status, headers and body as [`lockout_response`] gives a client
/// that asks for JSON.
pub fn lockout_json(policy: &Policy, lockout: &Lockout) -> Response<Bytes> {
    respond(policy, lockout, Answer::Json, None)
}

/// What kind of answer a refusal gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Negotiated: HTML, or JSON when preferred; `lockout_url` redirects.
    Page { json: bool },
    /// Always JSON, never a redirect.
    Json,
}

impl Answer {
    fn of(request_headers: &HeaderMap) -> Answer {
        Answer::Page {
            json: prefers_json(request_headers),
        }
    }
}

/// The lockout bodies for a lock without an end, rendered once (per layer,
/// middleware or proxy route): under attack most refusals are exactly this.
///
/// A lock with an end says how long is left, so its page changes once a
/// second; the last page rendered of each kind (HTML, JSON) is kept and
/// sent again while the wait and the message are the same.
#[derive(Debug, Clone)]
pub struct LockoutPages {
    message: String,
    html: Bytes,
    json: Bytes,
    recent: Arc<Mutex<[Option<Recent>; 2]>>,
}

/// A page rendered for a lock with an end.
#[derive(Debug)]
struct Recent {
    retry_after: Option<u64>,
    message: String,
    body: Bytes,
}

impl LockoutPages {
    /// Renders the pages for `policy`'s `lockout_message`.
    pub fn new(policy: &Policy) -> LockoutPages {
        let message = policy.lockout_message.clone();
        LockoutPages {
            html: render(false, LOCKED_CODE, LOCKED_TITLE, &message, None),
            json: render(true, LOCKED_CODE, LOCKED_TITLE, &message, None),
            message,
            recent: Arc::default(),
        }
    }

    /// The page for `message` with `retry_after`: the one rendered last
    /// when it is the same, else rendered now and kept.
    fn timed(&self, json: bool, message: &str, retry_after: Option<u64>) -> Bytes {
        let slot = usize::from(json);
        let mut recent = self.recent.lock();
        if let Some(r) = &recent[slot] {
            if r.retry_after == retry_after && r.message == message {
                return r.body.clone();
            }
        }
        let body = render(json, LOCKED_CODE, LOCKED_TITLE, message, retry_after);
        recent[slot] = Some(Recent {
            retry_after,
            message: message.to_owned(),
            body: body.clone(),
        });
        body
    }

    /// [`lockout_response`], with the pages rendered by [`new`](Self::new)
    /// when they are this very body.
    pub fn respond(
        &self,
        policy: &Policy,
        lockout: &Lockout,
        request_headers: &HeaderMap,
    ) -> Response<Bytes> {
        respond(policy, lockout, Answer::of(request_headers), Some(self))
    }
}

const LOCKED_CODE: &str = "locked_out";
const LOCKED_TITLE: &str = "Too many login attempts";

fn respond(
    policy: &Policy,
    lockout: &Lockout,
    answer: Answer,
    cache: Option<&LockoutPages>,
) -> Response<Bytes> {
    let json = answer != Answer::Page { json: false };
    if lockout.reason == LockReason::StoreUnavailable {
        let message = "Login is temporarily unavailable. Please try again in a few seconds.";
        let body = render(
            json,
            "unavailable",
            "Login temporarily unavailable",
            message,
            Some(UNAVAILABLE_RETRY_AFTER_SECS),
        );
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(UNAVAILABLE_RETRY_AFTER_SECS),
            json,
            body,
        );
    }
    let retry_after = lockout.retry_after_secs();
    let redirect = policy
        .lockout_url
        .as_ref()
        .filter(|_| answer != Answer::Json);
    if let Some(url) = redirect {
        if let Ok(location) = HeaderValue::from_str(url) {
            let mut res = Response::new(Bytes::new());
            *res.status_mut() = StatusCode::SEE_OTHER;
            res.headers_mut().insert(header::LOCATION, location);
            add_common(res.headers_mut(), retry_after);
            return res;
        }
    }
    let status =
        StatusCode::from_u16(policy.lockout_status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
    let body = match cache {
        Some(c) if retry_after.is_none() && c.message == lockout.message => {
            if json {
                c.json.clone()
            } else {
                c.html.clone()
            }
        }
        Some(c) => c.timed(json, &lockout.message, retry_after),
        None => render(
            json,
            LOCKED_CODE,
            LOCKED_TITLE,
            &lockout.message,
            retry_after,
        ),
    };
    page(status, retry_after, json, body)
}

/// 400 with a plain message, e.g. "username is longer than 256 characters"
/// (HTML or JSON `{"error":"bad_request",…}` by `Accept`).
pub fn bad_request(message: &str, request_headers: &HeaderMap) -> Response<Bytes> {
    let json = prefers_json(request_headers);
    let body = render(json, "bad_request", "Bad request", message, None);
    page(StatusCode::BAD_REQUEST, None, json, body)
}

/// 413 for a body over `limit` bytes (`body_limit`).
pub fn too_large(limit: usize, request_headers: &HeaderMap) -> Response<Bytes> {
    let json = prefers_json(request_headers);
    let message = format!("The request body is larger than {limit} bytes.");
    let body = render(
        json,
        "payload_too_large",
        "Request too large",
        &message,
        None,
    );
    page(StatusCode::PAYLOAD_TOO_LARGE, None, json, body)
}

/// What a proxy answers when its upstream fails: 504 when the upstream
/// did not answer in time, else 502 (unreachable, connection refused or
/// reset). HTML or JSON by `Accept`; `message` says what happened.
pub fn upstream_error(
    timed_out: bool,
    message: &str,
    request_headers: &HeaderMap,
) -> Response<Bytes> {
    let json = prefers_json(request_headers);
    let (status, code, title) = if timed_out {
        (
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "The application did not answer in time",
        )
    } else {
        (
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            "The application is unavailable",
        )
    };
    page(status, None, json, render(json, code, title, message, None))
}

/// The answer to bad input: [`too_large`] or [`bad_request`].
pub fn bad_input_response(error: &BodyError, request_headers: &HeaderMap) -> Response<Bytes> {
    match error {
        BodyError::TooLarge { limit } => too_large(*limit, request_headers),
        BodyError::Bad(message) => bad_request(message, request_headers),
    }
}

/// The body: `{"error":code,"retry_after":N,"message":…}` or a small HTML page.
fn render(json: bool, code: &str, title: &str, message: &str, retry_after: Option<u64>) -> Bytes {
    if json {
        let value =
            serde_json::json!({ "error": code, "retry_after": retry_after, "message": message });
        return Bytes::from(value.to_string());
    }
    let mut html = String::with_capacity(256 + 2 * title.len() + message.len());
    html.push_str(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
    );
    html.push_str(title);
    html.push_str("</title></head>\n<body><main><h1>");
    html.push_str(title);
    html.push_str("</h1><p>");
    escape_into(&mut html, message);
    html.push_str("</p></main></body></html>\n");
    Bytes::from(html)
}

fn page(status: StatusCode, retry_after: Option<u64>, json: bool, body: Bytes) -> Response<Bytes> {
    let content_type = if json {
        "application/json"
    } else {
        "text/html; charset=utf-8"
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_common(res.headers_mut(), retry_after);
    res
}

fn add_common(headers: &mut HeaderMap, retry_after: Option<u64>) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two refusals of a lock with a cool-off, one second apart.
    async fn timed_lockouts() -> (Policy, Lockout, Lockout) {
        use loginguard_core::{Attempt, Decision, FakeClock, Guard, MemoryStore, Verdict};
        use std::sync::Arc;
        use std::time::Duration;
        let policy = Policy::builder()
            .failure_limit(1)
            .cool_off(Duration::from_secs(60))
            .reset_cool_off_on_failure_during_lockout(false)
            .build()
            .unwrap();
        let clock = FakeClock::new();
        let guard = Guard::builder(policy.clone(), Arc::new(MemoryStore::new()))
            .clock(clock.clone())
            .build();
        let attempt = || Attempt::new("POST", "/login").ip("192.0.2.1".parse().unwrap());
        let Ok(Decision::Proceed(ticket)) = guard.begin(attempt()).await else {
            panic!()
        };
        let Verdict::LockedOut(first) = guard.failure(ticket).await else {
            panic!()
        };
        clock.advance(Duration::from_secs(1));
        let Ok(Decision::Refused(second)) = guard.begin(attempt()).await else {
            panic!()
        };
        (policy, first, second)
    }

    #[tokio::test]
    async fn a_timed_page_is_rendered_again_only_when_it_changes() {
        let (policy, first, second) = timed_lockouts().await;
        let pages = LockoutPages::new(&policy);
        let html = HeaderMap::new();
        let body = |l: &Lockout| pages.respond(&policy, l, &html).into_body();
        let a = body(&first);
        assert_eq!(body(&first), a, "the same wait gives the same page");
        assert_eq!(
            a,
            render(false, LOCKED_CODE, LOCKED_TITLE, &first.message, Some(60))
        );
        let b = body(&second);
        assert_ne!(a, b);
        assert_eq!(
            b,
            render(false, LOCKED_CODE, LOCKED_TITLE, &second.message, Some(59))
        );
        let json = crate::test_headers(&[("accept", "application/json")]);
        let j = pages.respond(&policy, &first, &json).into_body();
        assert!(
            String::from_utf8_lossy(&j).contains("\"retry_after\":60"),
            "{j:?}"
        );
    }

    #[test]
    fn html_is_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "<b>\"x\" & 'y'</b>");
        assert_eq!(out, "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
    }
}
