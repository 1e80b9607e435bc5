//! Device cookies (OWASP "Slow Down Online Guessing Attacks with Device
//! Cookies"): a browser that has logged in as a user carries a signed
//! cookie binding that username to a random nonce, and its attempts for
//! that user count on the device's own key.
//!
//! The value is `v1.<issued>.<nonce>.<mac>`: the issue time in Unix
//! seconds, 16 random bytes and 16 bytes of HMAC-SHA256 over the scope,
//! the username, the time and the nonce, in hex. It is checked against the
//! current secret and every previous one, and refused once older than
//! `device_cookie_max_age` whatever the browser keeps.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use loginguard_core::device::{issue, verify};
//! use loginguard_core::Secret;
//!
//! let secret = Secret::new("0123456789abcdef0123456789abcdef")?;
//! let now = SystemTime::now();
//! let cookie = issue(&secret, "login", "alice", now);
//! let month = Duration::from_secs(30 * 86_400);
//! assert!(verify([&secret], "login", "alice", &cookie, now, month).is_some());
//! assert!(verify([&secret], "login", "bob", &cookie, now, month).is_none());
//! # Ok::<(), loginguard_core::SecretError>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use crate::secret::{hex, Secret};

/// How far in the future an issue time may lie (servers' clocks differ).
const CLOCK_SKEW: Duration = Duration::from_secs(300);

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A new device cookie value for `username` in `scope`, issued at `now`.
pub fn issue(secret: &Secret, scope: &str, username: &str, now: SystemTime) -> String {
    use rand::RngCore;
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = hex(&nonce);
    let issued = unix_secs(now).to_string();
    let mac = secret.device_mac(scope, username, &issued, &nonce);
    format!("v1.{issued}.{nonce}.{}", hex(&mac))
}

/// The device's nonce when `value` is a cookie issued for `username` in
/// `scope` by one of `secrets`, no older than `max_age`; `None` for
/// anything else (forged, expired, another user's, an unknown secret's).
pub fn verify<'a>(
    secrets: impl IntoIterator<Item = &'a Secret>,
    scope: &str,
    username: &str,
    value: &str,
    now: SystemTime,
    max_age: Duration,
) -> Option<String> {
    let mut parts = value.split('.');
    let (Some("v1"), Some(issued), Some(nonce), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let issued_at: u64 = issued.parse().ok()?;
    if issued != issued_at.to_string()
        || nonce.len() != 32
        || !nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        || mac.len() != 32
    {
        return None;
    }
    let now = unix_secs(now);
    if issued_at > now.saturating_add(CLOCK_SKEW.as_secs())
        || now.saturating_sub(issued_at) > max_age.as_secs()
    {
        return None;
    }
    let matches = secrets.into_iter().any(|secret| {
        let expected = hex(&secret.device_mac(scope, username, issued, nonce));
        bool::from(expected.as_bytes().ct_eq(mac.as_bytes()))
    });
    matches.then(|| nonce.to_owned())
}

/// The value of the cookie `name` in a `Cookie` header, if it is there
/// once (given twice, it is ignored: the code cannot tell which the
/// browser meant, so the attempt counts on the shared key).
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for pair in header.split(';') {
        let Some((k, v)) = pair.trim().split_once('=') else {
            continue;
        };
        if k.trim() == name {
            if found.is_some() {
                return None;
            }
            found = Some(v.trim().trim_matches('"'));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(c: char) -> Secret {
        Secret::new(c.to_string().repeat(32)).unwrap()
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn forged_expired_other_user_and_unknown_secret_cookies_are_worth_nothing() {
        let (a, b) = (secret('a'), secret('b'));
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cookie = issue(&a, "login", "alice", now);
        let nonce = verify([&a], "login", "alice", &cookie, now, DAY).unwrap();
        assert_eq!(nonce.len(), 32);
        assert_ne!(
            issue(&a, "login", "alice", now),
            cookie,
            "a fresh nonce each time"
        );
        // Rotation: an old secret still verifies while listed.
        assert!(verify([&b, &a], "login", "alice", &cookie, now, DAY).is_some());
        assert!(verify([&b], "login", "alice", &cookie, now, DAY).is_none());
        assert!(verify([&a], "login", "bob", &cookie, now, DAY).is_none());
        assert!(verify([&a], "otp", "alice", &cookie, now, DAY).is_none());
        assert!(verify(
            [&a],
            "login",
            "alice",
            &cookie,
            now + DAY + Duration::from_secs(1),
            DAY
        )
        .is_none());
        assert!(verify(
            [&a],
            "login",
            "alice",
            &cookie,
            now - Duration::from_secs(3_600),
            DAY
        )
        .is_none());
        // Any change to any part breaks the signature.
        let parts: Vec<&str> = cookie.split('.').collect();
        let issued: u64 = parts[1].parse().unwrap();
        for forged in [
            format!("v1.{}.{}.{}", issued + 1, parts[2], parts[3]),
            format!("v1.{}.{}{}.{}", parts[1], &parts[2][..31], "0", parts[3]),
            format!("v1.{}.{}.{}", parts[1], parts[2], "0".repeat(32)),
            format!("v2.{}.{}.{}", parts[1], parts[2], parts[3]),
            format!("{cookie}.x"),
            format!("v1.0{}.{}.{}", parts[1], parts[2], parts[3]),
            String::new(),
        ] {
            if forged != cookie {
                assert!(
                    verify([&a], "login", "alice", &forged, now, DAY).is_none(),
                    "{forged}"
                );
            }
        }
    }

    #[test]
    fn the_cookie_header_is_read_strictly() {
        assert_eq!(cookie_value("a=1; lg=v1.x; b=2", "lg"), Some("v1.x"));
        assert_eq!(cookie_value("lg=\"v\"", "lg"), Some("v"));
        assert_eq!(cookie_value("lg=1; lg=2", "lg"), None);
        assert_eq!(cookie_value("xlg=1", "lg"), None);
    }
}
