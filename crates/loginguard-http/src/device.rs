//! Device cookies on the wire: reading the request's cookie for the
//! engine, and setting the one [`Guard::success`](loginguard_core::Guard::success)
//! issues on the response, the same way in every integration.

use http::header::{HeaderValue, SET_COOKIE};
use http::HeaderMap;
use loginguard_core::{DeviceCookie, Policy};

use crate::HeaderLookup;

/// The device cookie of a request (`device_cookie_name`), when device
/// cookies are on; every `Cookie` header is read (HTTP/2 may send several).
pub fn device_cookie(policy: &Policy, headers: &impl HeaderLookup) -> Option<String> {
    if !policy.trusts_devices() {
        return None;
    }
    let mut found = None;
    for raw in headers.values("cookie") {
        let Ok(text) = std::str::from_utf8(raw) else {
            continue;
        };
        if let Some(value) = loginguard_core::device::cookie_value(text, &policy.device_cookie_name)
        {
            if found.is_some() {
                // Given twice: the code cannot tell which one the browser meant.
                return None;
            }
            found = Some(value.to_owned());
        }
    }
    found
}

/// Whether a request came over HTTPS: its URI says so, or a trusted
/// proxy (`peer_trusted`) said so in `X-Forwarded-Proto`.
pub fn is_https(scheme: Option<&str>, headers: &impl HeaderLookup, peer_trusted: bool) -> bool {
    if scheme.is_some_and(|s| s.eq_ignore_ascii_case("https")) {
        return true;
    }
    peer_trusted
        && headers
            .first("x-forwarded-proto")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Appends the `Set-Cookie` of `cookie`: `Path=/`, `Max-Age`, `HttpOnly`,
/// `SameSite=Lax`, and `Secure` when the request came over HTTPS.
pub fn set_device_cookie(headers: &mut HeaderMap, cookie: &DeviceCookie, secure: bool) {
    // Names and values are checked ASCII: the value cannot fail to parse.
    if let Ok(value) = HeaderValue::from_str(&set_cookie_line(cookie, secure)) {
        headers.append(SET_COOKIE, value);
    }
}

/// The `Set-Cookie` value of `cookie` (see [`set_device_cookie`]), for a
/// framework with header types of its own.
pub fn set_cookie_line(cookie: &DeviceCookie, secure: bool) -> String {
    format!(
        "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        cookie.name,
        cookie.value,
        cookie.max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_headers;

    fn policy() -> Policy {
        Policy::builder()
            .secret(Some(loginguard_core::Secret::new("s".repeat(32)).unwrap()))
            .device_cookies(true)
            .build()
            .unwrap()
    }

    #[test]
    fn the_cookie_is_read_from_every_cookie_header_once() {
        let p = policy();
        let h = test_headers(&[("cookie", "a=1"), ("cookie", "loginguard_device=v1.x; b=2")]);
        assert_eq!(device_cookie(&p, &h).as_deref(), Some("v1.x"));
        let twice = test_headers(&[
            ("cookie", "loginguard_device=1"),
            ("cookie", "loginguard_device=2"),
        ]);
        assert_eq!(device_cookie(&p, &twice), None);
        assert_eq!(
            device_cookie(&Policy::default(), &h),
            None,
            "off by default"
        );
    }

    #[test]
    fn secure_only_over_https() {
        let h = test_headers(&[("x-forwarded-proto", "https")]);
        assert!(is_https(Some("https"), &HeaderMap::new(), false));
        assert!(is_https(None, &h, true));
        assert!(
            !is_https(None, &h, false),
            "an untrusted client's header is ignored"
        );
        assert!(!is_https(None, &HeaderMap::new(), true));
    }
}
