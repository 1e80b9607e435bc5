//! Admin sessions: random ids kept in memory, each with its CSRF token.
//!
//! Sessions live in the serving process: a restart signs everyone out. A
//! session ends after `idle` without a request, or on sign-out. At most
//! `max` sessions are kept; the least recently used goes first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use parking_lot::Mutex;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "loginguard_admin";

#[derive(Debug)]
struct Session {
    csrf: String,
    last_seen: Instant,
}

/// The live sessions.
#[derive(Debug)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
    max: usize,
}

impl Sessions {
    pub(crate) fn new(idle: Duration, max: usize) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
            max: max.max(1),
        }
    }

    pub(crate) fn idle(&self) -> Duration {
        self.idle
    }

    /// Starts a session; returns its id.
    pub(crate) fn create(&self) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut map = self.map.lock();
        map.retain(|_, s| now.duration_since(s.last_seen) < self.idle);
        while map.len() >= self.max {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            id.clone(),
            Session {
                csrf: random_token(),
                last_seen: now,
            },
        );
        id
    }

    /// The CSRF token of a live session, marking it used; `None` when the
    /// session is unknown or has expired.
    pub(crate) fn touch(&self, id: &str) -> Option<String> {
        let now = Instant::now();
        let mut map = self.map.lock();
        let alive = map
            .get(id)
            .is_some_and(|s| now.duration_since(s.last_seen) < self.idle);
        if !alive {
            map.remove(id);
            return None;
        }
        let session = map.get_mut(id)?;
        session.last_seen = now;
        Some(session.csrf.clone())
    }

    /// Ends a session.
    pub(crate) fn remove(&self, id: &str) {
        self.map.lock().remove(id);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// 32 random bytes from the operating system, hex-encoded.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The `Set-Cookie` value starting a session.
pub(crate) fn set_cookie(id: &str, path: &str, secure: bool, max_age: Duration) -> String {
    format!(
        "{COOKIE}={id}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value ending a session.
pub(crate) fn clear_cookie(path: &str, secure: bool) -> String {
    format!(
        "{COOKIE}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
    }

    #[test]
    fn sessions_start_touch_and_end() {
        let s = Sessions::new(Duration::from_secs(3600), 10);
        let id = s.create();
        let csrf = s.touch(&id).unwrap();
        assert_eq!(s.touch(&id).unwrap(), csrf);
        assert!(s.touch("forged").is_none());
        s.remove(&id);
        assert!(s.touch(&id).is_none());
    }

    #[test]
    fn idle_sessions_expire() {
        let s = Sessions::new(Duration::ZERO, 10);
        let id = s.create();
        assert!(s.touch(&id).is_none());
    }

    #[test]
    fn session_count_is_bounded() {
        let s = Sessions::new(Duration::from_secs(3600), 3);
        let first = s.create();
        for _ in 0..5 {
            s.create();
        }
        assert_eq!(s.len(), 3);
        assert!(s.touch(&first).is_none());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            "cookie",
            HeaderValue::from_static("a=1; loginguard_admin=abc"),
        );
        h.append("cookie", HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
