//! The responses the layer writes itself: the lockout response (HTML, JSON
//! or a redirect), 503 when the store is down, and 400/413 for bad input.
//!
//! None of them mentions the username or whether it exists: a locked-out
//! attempt on an unknown user gets the very same bytes as one on a real user.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use loginguard_core::{LockReason, Lockout, Policy};

use crate::negotiate::prefers_json;

/// The `Retry-After` (seconds) sent with a 503 when the store cannot answer
/// and `on_store_error = "deny"`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The response to a refused attempt, as the layer sends it; handlers
/// that drive the engine themselves send it too
/// ([`LoginGuardHandle::lockout_response`](crate::LoginGuardHandle::lockout_response)).
///
/// - a lock, a deny-listed or a not-allow-listed IP: `lockout_status` (429
///   by default) with `Retry-After` (seconds left, rounded up) when the lock
///   ends by itself, an HTML page, or JSON
///   `{"error":"locked_out","retry_after":N,"message":"…"}` (`retry_after`
///   is `null` without an end) when [`prefers_json`]; or a 303 redirect to
///   `lockout_url` when that is set;
/// - a store that cannot answer (`on_store_error = "deny"`): 503 with
///   `Retry-After: 5` and `"error":"unavailable"`.
pub fn lockout_response(
    policy: &Policy,
    lockout: &Lockout,
    request_headers: &HeaderMap,
) -> Response {
    respond(policy, lockout, request_headers, None)
}

/// The lockout bodies for a lock without an end, rendered once per layer:
/// under attack most refusals are exactly this.
#[derive(Debug, Clone)]
pub(crate) struct Prerendered {
    message: String,
    html: Bytes,
    json: Bytes,
}

impl Prerendered {
    pub(crate) fn new(policy: &Policy) -> Prerendered {
        let message = policy.lockout_message.clone();
        Prerendered {
            html: render(false, LOCKED_CODE, LOCKED_TITLE, &message, None),
            json: render(true, LOCKED_CODE, LOCKED_TITLE, &message, None),
            message,
        }
    }
}

const LOCKED_CODE: &str = "locked_out";
const LOCKED_TITLE: &str = "Too many login attempts";

/// [`lockout_response`], using `cache` when it holds this very body.
pub(crate) fn respond(
    policy: &Policy,
    lockout: &Lockout,
    request_headers: &HeaderMap,
    cache: Option<&Prerendered>,
) -> Response {
    let json = prefers_json(request_headers);
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
    if let Some(url) = &policy.lockout_url {
        if let Ok(location) = HeaderValue::from_str(url) {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::SEE_OTHER;
            res.headers_mut().insert(header::LOCATION, location);
            add_common(&mut res, retry_after);
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
        _ => render(
            json,
            LOCKED_CODE,
            LOCKED_TITLE,
            &lockout.message,
            retry_after,
        ),
    };
    page(status, retry_after, json, body)
}

/// 400 with a plain message, e.g. "username is longer than 256 characters".
pub(crate) fn bad_request(message: &str, request_headers: &HeaderMap) -> Response {
    let json = prefers_json(request_headers);
    let body = render(json, "bad_request", "Bad request", message, None);
    page(StatusCode::BAD_REQUEST, None, json, body)
}

/// 413 for a body over `body_limit`.
pub(crate) fn too_large(limit: usize, request_headers: &HeaderMap) -> Response {
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

fn page(status: StatusCode, retry_after: Option<u64>, json: bool, body: Bytes) -> Response {
    let content_type = if json {
        "application/json"
    } else {
        "text/html; charset=utf-8"
    };
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_common(&mut res, retry_after);
    res
}

fn add_common(res: &mut Response, retry_after: Option<u64>) {
    let headers = res.headers_mut();
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

    #[test]
    fn html_is_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "<b>\"x\" & 'y'</b>");
        assert_eq!(out, "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
    }
}
