//! Cookie sessions: a random 256-bit id, kept in memory, mapped to the
//! username. The id is unguessable, so it needs no signature.

use std::collections::HashMap;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::http::{header, HeaderMap, HeaderValue};
use parking_lot::Mutex;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "loginguard_demo_session";

/// Live sessions.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<String, String>>,
}

impl Sessions {
    /// Opens a session for `username`; returns its `Set-Cookie` value.
    pub(crate) fn open(&self, username: &str) -> HeaderValue {
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        self.by_id.lock().insert(id.clone(), username.to_owned());
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax");
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The user of the request's session, if any.
    pub(crate) fn user(&self, headers: &HeaderMap) -> Option<String> {
        let id = session_id(headers)?;
        self.by_id.lock().get(&id).cloned()
    }

    /// Ends the request's session; returns the `Set-Cookie` that clears it.
    pub(crate) fn close(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(id) = session_id(headers) {
            self.by_id.lock().remove(&id);
        }
        HeaderValue::from_static(
            "loginguard_demo_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        )
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_finds_its_user_until_closed() {
        let sessions = Sessions::default();
        let set = sessions.open("alice");
        let set = set.to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
        let pair = set.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, format!("other=1; {pair}").parse().unwrap());
        assert_eq!(sessions.user(&headers).as_deref(), Some("alice"));
        sessions.close(&headers);
        assert_eq!(sessions.user(&headers), None);
    }
}
